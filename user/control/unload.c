// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "control/attach.h"
#include "datapath/hooks.h"
#include "datapath/links.h"
#include "control/lock.h"
#include "lib/log.h"
#include "datapath/netlink.h"
#include "datapath/netns.h"
#include "control/pinned_state.h"
#include "control/unload.h"

static void stop_daemon(void)
{
	pid_t pid = mdr_daemon_pid();

	if (!pid)
		return;
	pr_info("stopping the daemon (pid %d)", pid);
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && mdr_daemon_pid(); i++)
		usleep(50 * 1000);
	if (mdr_daemon_pid()) {
		pr_warn("daemon %d did not stop in 5 s; killing it", pid);
		kill(pid, SIGKILL);
		for (int i = 0; i < 40 && mdr_daemon_pid(); i++)
			usleep(50 * 1000);
	}
}

/*
 * Everything in the current namespace: our links, and our filter on any
 * interface (the attachments map may be gone or wrong, so look).
 */
static void clean_netns_here(const char *label)
{
	struct mdr_nl_link *ifs;
	size_t n;
	int link;

	link = if_nametoindex(MDR_LINK_IFNAME);
	if (link && mdr_nl_link_del(link) == 0)
		pr_debug("deleted %s in %s", MDR_LINK_IFNAME, label);
	/*
	 * One dump says which interfaces have an XDP program: asking each
	 * interface in turn would be a dump each, quadratic in their number.
	 */
	if (mdr_nl_link_list(&ifs, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct mdr_nl_link *l = &ifs[i];
		uint32_t id = mdr_tc_prog_id(l->ifindex, BPF_TC_INGRESS);

		/*
		 * Whether we created its clsact is not known here (the map
		 * that said so may be gone); an empty clsact goes either way.
		 */
		if (id && mdr_prog_is_ours(id)) {
			mdr_tc_detach(l->ifindex, BPF_TC_INGRESS, true);
			pr_debug("detached from %s in %s", l->ifname, label);
		}
		if (l->xdp_prog_id && mdr_prog_is_ours(l->xdp_prog_id)) {
			mdr_xdp_detach(l->ifindex,
				       mdr_xdp_mode(l->xdp_attach_mode));
			pr_debug("detached XDP from %s in %s", l->ifname,
				 label);
		}
	}
	free(ifs);
}

struct unload_ctx {
	const char *proxy_netns;
};

static int clean_named_netns(const char *name, void *data)
{
	struct unload_ctx *ctx = data;
	struct mdr_netns_saved saved;

	if (ctx->proxy_netns && !strcmp(name, ctx->proxy_netns))
		return 0;
	if (mdr_netns_enter(name, &saved))
		return 0;
	clean_netns_here(name);
	mdr_netns_leave(&saved);
	return 0;
}

/* Detaches recorded attachments first: they know whose qdisc is whose. */
static int unhook_recorded(__u32 id, const struct mdr_attachment *att,
			   void *data)
{
	(void)id;
	(void)data;
	mdr_unhook(att);
	return 0;
}

int mdr_unload(void)
{
	struct unload_ctx ctx = { .proxy_netns = MDR_DEFAULT_PROXY_NETNS };
	char proxy_netns[MDR_NETNS_LEN] = MDR_DEFAULT_PROXY_NETNS;
	struct mdr_netns_saved saved;
	struct mdr_config cfg;
	struct mdr_state st;
	int lock, err = 0, e;

	stop_daemon();
	lock = mdr_lock();
	if (lock < 0)
		return lock;
	if (mdr_state_open(&st, MDR_STATE_READ) == 0) {
		if (!mdr_state_get_config(&st, &cfg) && cfg.proxy_netns[0] &&
		    !mdr_netns_valid_name(cfg.proxy_netns))
			snprintf(proxy_netns, sizeof(proxy_netns), "%s",
				 cfg.proxy_netns);
		mdr_state_for_each_attachment(&st, unhook_recorded, NULL);
		mdr_state_close(&st);
	}
	ctx.proxy_netns = proxy_netns;

	/*
	 * All link veths at once, from the proxy side: deleted one by one,
	 * each would wait for an RCU grace period of its own (20 ms).
	 */
	if (mdr_netns_exists(proxy_netns) &&
	    !mdr_netns_enter(proxy_netns, &saved)) {
		mdr_nl_link_del_group(MDR_LINK_GROUP);
		mdr_netns_leave(&saved);
	}
	clean_netns_here("the host namespace");
	mdr_netns_for_each(clean_named_netns, &ctx);
	/* The proxy namespace takes its veth ends with it. */
	if (mdr_netns_exists(proxy_netns)) {
		e = mdr_netns_delete(proxy_netns);
		if (e) {
			pr_err("cannot delete network namespace '%s': %s",
			       proxy_netns, strerror(-e));
			err = err ?: e;
		}
	}
	e = mdr_state_unpin();
	if (e) {
		pr_err("cannot remove the pins in %s: %s", MDR_PIN_DIR,
		       strerror(-e));
		err = err ?: e;
	}
	unlink(MDR_PID_FILE);
	unlink(MDR_TOKEN_KEY_FILE);
	unlink(MDR_RUN_DIR "/lock");
	mdr_unlock(lock);
	rmdir(MDR_RUN_DIR);
	return err;
}
