// SPDX-License-Identifier: GPL-2.0-only
/* The mdredir command line: one binary, `ip`-style subcommands. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "lib/values.h"
#include "control/attach.h"
#include "cli/batch.h"
#include "daemon/daemon.h"
#include "daemon/settings.h"
#include "datapath/links.h"
#include "lib/log.h"
#include "datapath/netns.h"
#include "cli/reload.h"
#include "cli/show.h"
#include "control/unload.h"
#include "lib/version.h"

static int status(int err)
{
	return err ? EXIT_FAIL : EXIT_OK;
}

static int add_config(const struct cli_command *cmd,
		      const struct cli_option *opt, const char *where,
		      void *out, const char *value)
{
	struct mdr_daemon_options *opts = out;

	(void)opt;
	_Static_assert(MDR_DAEMON_MAX_CONFIG == 8, "the message says 8");
	if (opts->n_config == MDR_DAEMON_MAX_CONFIG)
		return cli_usage_error(cmd, where, "too many --config%s",
				       " (at most 8)");
	opts->config[opts->n_config++] = value;
	return 0;
}

static const struct cli_option daemon_options[] = {
	{ "backend", 0, "SPEC",
	  "where requests go (default " MDR_SETTINGS_DEFAULT_BACKEND "):\n"
	  "  local:DIR                  files served by mdredir\n"
	  "  neutron:unix:PATH          the neutron-metadata-agent\n"
	  "  neutron:http://HOST:PORT\n"
	  "  nova:http[s]://HOST:PORT   Nova, requests signed\n"
	  "  nova                       Nova, at nova_metadata_host/port/protocol",
	  cli_set_string, offsetof(struct mdr_daemon_options, backend) },
	{ "config", 0, "FILE",
	  "INI settings; Neutron's metadata_agent.ini and the OVN\n"
	  "metadata agent's ini work as they are (see\n"
	  "tools/mdredir.ini.sample). Repeatable: later files win;\n"
	  "flags override them all",
	  add_config, 0 },
	{ "proxy-netns", 0, "NAME",
	  "namespace of the listener (default " MDR_DEFAULT_PROXY_NETNS ")",
	  cli_set_string, offsetof(struct mdr_daemon_options, proxy_netns) },
	{ "reply-ttl", 0, "N",
	  "TTL / hop limit of metadata replies (1: nothing\n"
	  "behind the guest can reach metadata through it)",
	  cli_set_string, offsetof(struct mdr_daemon_options, reply_ttl) },
	{ "attach-from", 0, "SOURCES",
	  "where attachments come from besides attach commands,\n"
	  "comma-separated: ovn (VM taps, from OVN's databases\n"
	  "named in [ovs] and [ovn]), neutron-namespaces\n"
	  "(qdhcp-/qrouter- namespaces)",
	  cli_set_string, offsetof(struct mdr_daemon_options, attach_from) },
	{ "imds-tokens", 0, "MODE",
	  "IMDSv2 session tokens: off (default), optional, or\n"
	  "required (then every request needs one, and replies\n"
	  "leave with TTL 1 unless --reply-ttl says otherwise)",
	  cli_set_string, offsetof(struct mdr_daemon_options, imds_tokens) },
	{}
};

static int cmd_daemon(const struct cli_command *cmd, int argc, char **argv)
{
	struct mdr_daemon_options opts = {};
	int rc;

	rc = cli_parse(cmd, argc, argv, NULL, &opts);
	rc = rc < 0 ? cli_no_more(cmd, NULL, argc, argv) : rc;
	return rc < 0 ? status(mdr_daemon_run(&opts)) : rc;
}

/* attach's flags land here: the request, and --batch's file. */
struct attach_args {
	struct mdr_attach_request req;
	const char *batch;
	unsigned int n_flags; /* --batch takes no other */
};

static int set_attach_string(const struct cli_command *cmd,
			     const struct cli_option *opt, const char *where,
			     void *out, const char *value)
{
	((struct attach_args *)out)->n_flags++;
	return cli_set_string(cmd, opt, where, out, value);
}

static int set_mac(const struct cli_command *cmd, const struct cli_option *opt,
		   const char *where, void *out, const char *value)
{
	struct attach_args *a = out;

	(void)opt;
	a->n_flags++;
	if (mdr_parse_mac(value, a->req.vm_mac))
		return cli_usage_error(cmd, where, "invalid MAC address '%s'",
				       value);
	a->req.has_vm_mac = true;
	return 0;
}

static int set_ip(const struct cli_command *cmd, const struct cli_option *opt,
		  const char *where, void *out, const char *value)
{
	struct mdr_attach_request *req = &((struct attach_args *)out)->req;

	(void)opt;
	((struct attach_args *)out)->n_flags++;
	if (req->n_fixed_ips == MDR_MAX_FIXED_IPS)
		return cli_usage_error(cmd, where,
				       "too many --ip (at most 8)%s", "");
	if (mdr_parse_fixed_ip(value, &req->fixed_ips[req->n_fixed_ips++]))
		return cli_usage_error(cmd, where, "invalid IP address '%s'",
				       value);
	return 0;
}

static int set_metadata_via(const struct cli_command *cmd,
			    const struct cli_option *opt, const char *where,
			    void *out, const char *value)
{
	struct attach_args *a = out;
	struct in_addr addr;
	const char *unfit;
	char why[160];

	(void)opt;
	a->n_flags++;
	if (inet_pton(AF_INET, value, &addr) != 1)
		return cli_usage_error(cmd, where,
				       "--metadata-via takes an IPv4 address, "
				       "not '%s'",
				       value);
	unfit = mdr_next_hop4_unfit(addr.s_addr);
	if (unfit) {
		snprintf(why, sizeof(why), "--metadata-via %s: %s", value,
			 unfit);
		return cli_usage_error(cmd, where, "%s", why);
	}
	a->req.next_hop4 = addr.s_addr;
	return 0;
}

static int set_mode(const struct cli_command *cmd, const struct cli_option *opt,
		    const char *where, void *out, const char *value)
{
	struct attach_args *a = out;

	(void)opt;
	a->n_flags++;
	if (strcmp(value, "tc") && strcmp(value, "xdp"))
		return cli_usage_error(cmd, where,
				       "--mode is tc or xdp, not '%s'", value);
	a->req.xdp = !strcmp(value, "xdp");
	return 0;
}

static int set_batch(const struct cli_command *cmd,
		     const struct cli_option *opt, const char *where, void *out,
		     const char *value)
{
	struct attach_args *a = out;

	(void)opt;
	/* A batch file's lines are labelled: there, --batch would nest. */
	if (where)
		return cli_usage_error(cmd, where, "--batch cannot be nested%s",
				       "");
	a->batch = value;
	return 0;
}

#define ATTACH_ID(field) offsetof(struct attach_args, req.field)

static const struct cli_option attach_options[] = {
	{ "netns", 0, "NS",
	  "IFNAME is in namespace NS (/run/netns/NS); default host",
	  set_attach_string, ATTACH_ID(netns) },
	{ "network-id", 0, "ID",
	  "the network IFNAME serves (qdhcp/ovnmeta tap)", set_attach_string,
	  ATTACH_ID(network_id) },
	{ "router-id", 0, "ID", "the router IFNAME serves (qrouter tap)",
	  set_attach_string, ATTACH_ID(router_id) },
	{ "instance-id", 0, "ID", "the instance behind IFNAME (a VM's own tap)",
	  set_attach_string, ATTACH_ID(instance_id) },
	{ "project-id", 0, "ID", "the instance's project", set_attach_string,
	  ATTACH_ID(project_id) },
	{ "mac", 0, "MAC", "the guest's MAC address", set_mac, 0 },
	{ "ip", 0, "ADDR", "a fixed IP of the guest (repeatable, up to 8)",
	  set_ip, 0 },
	{ "metadata-via", 0, "IPV4",
	  "the guest's route to 169.254.169.254 goes via IPV4\n"
	  "(DHCP option 121; under OVN the metadata port's IP):\n"
	  "its ARP is answered too, with IFNAME's MAC",
	  set_metadata_via, 0 },
	{ "mode", 0, "MODE",
	  "tc (default) or xdp: native XDP where the driver has\n"
	  "it, else generic XDP (said so when it happens)",
	  set_mode, 0 },
	{ "batch", 0, "FILE",
	  "attach many at once: one attach's arguments per\n"
	  "line (IFNAME and options as above), '-' for stdin;\n"
	  "blank lines and '#' comments skipped. Every line\n"
	  "and interface is checked before anything is done",
	  set_batch, 0 },
	{}
};

static int check_id(const char *where, const char *flag, const char *value)
{
	if (!value[0] || mdr_parse_id(value) == 0)
		return 0;
	fprintf(stderr,
		"mdredir: %s%sinvalid %s '%s': use 1-%d letters, digits, '-', "
		"'_', '.' or ':'\n",
		where ?: "", where ? ": " : "", flag, value, MDR_ID_LEN - 1);
	return EXIT_USAGE;
}

/*
 * Parses one attachment's arguments into @a (which points into @argv).
 * @where is NULL for the command line, else the batch line's label.
 * Returns -1 when the arguments are complete, or an exit status to stop
 * with (--help, usage errors).
 */
static int parse_attach(const struct cli_command *cmd, int argc, char **argv,
			const char *where, struct attach_args *a)
{
	struct mdr_attach_request *req = &a->req;
	int rc;

	*a = (struct attach_args){ .req = {
					   .netns = "",
					   .network_id = "",
					   .router_id = "",
					   .instance_id = "",
					   .project_id = "",
				   } };
	rc = cli_parse(cmd, argc, argv, where, a);
	if (rc >= 0)
		return rc;
	if (a->batch) {
		if (a->n_flags || optind < argc)
			return cli_usage_error(cmd, where,
					       "--batch takes no "
					       "other arguments%s",
					       "");
		return -1;
	}
	if (optind >= argc)
		return cli_usage_error(cmd, where, "missing IFNAME%s", "");
	req->ifname = argv[optind++];
	rc = cli_no_more(cmd, where, argc, argv);
	if (rc >= 0)
		return rc;
	if (!req->ifname[0] || strlen(req->ifname) >= MDR_IFNAME_LEN ||
	    strchr(req->ifname, '/'))
		return cli_usage_error(
			cmd, where, "invalid interface name '%s'", req->ifname);
	if (req->netns[0] && mdr_netns_valid_name(req->netns))
		return cli_usage_error(
			cmd, where, "invalid namespace name '%s'", req->netns);
	if (req->network_id[0] && req->router_id[0])
		return cli_usage_error(cmd, where,
				       "--network-id and --router-id "
				       "exclude each other%s",
				       "");
	rc = check_id(where, "--network-id", req->network_id);
	rc = rc ?: check_id(where, "--router-id", req->router_id);
	rc = rc ?: check_id(where, "--instance-id", req->instance_id);
	rc = rc ?: check_id(where, "--project-id", req->project_id);
	return rc ?: -1;
}

/* attach --batch FILE: every line parsed first, then one mdr_attach_many(). */
static int attach_batch(const struct cli_command *cmd, const char *path)
{
	struct mdr_attach_request *reqs = NULL;
	struct mdr_batch batch;
	struct attach_args line;
	uint32_t *ids = NULL;
	size_t done = 0;
	int rc, err;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		pr_err("cannot open %s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	err = mdr_batch_read(f, strcmp(path, "-") ? path : "stdin", &batch);
	if (f != stdin)
		fclose(f);
	if (err) {
		pr_err("cannot read %s: %s", path, strerror(-err));
		return EXIT_FAIL;
	}
	reqs = calloc(batch.n ?: 1, sizeof(*reqs));
	ids = calloc(batch.n ?: 1, sizeof(*ids));
	if (!reqs || !ids) {
		pr_err("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	/* Every line is checked, so one run reports every mistake. */
	rc = EXIT_OK;
	for (size_t i = 0; i < batch.n; i++) {
		struct mdr_batch_line *l = &batch.lines[i];

		if (parse_attach(cmd, l->argc, l->argv, l->argv[0], &line) >= 0)
			rc = EXIT_USAGE;
		reqs[i] = line.req;
	}
	if (rc != EXIT_OK)
		goto out;
	err = mdr_attach_many(reqs, batch.n, ids);
	for (size_t i = 0; i < batch.n; i++)
		done += ids[i] != 0;
	if (err && done)
		pr_err("attached %zu of %zu interfaces", done, batch.n);
	rc = status(err);
out:
	free(ids);
	free(reqs);
	mdr_batch_free(&batch);
	return rc;
}

static int cmd_attach(const struct cli_command *cmd, int argc, char **argv)
{
	struct attach_args a;
	uint32_t id;
	int rc, err;

	rc = parse_attach(cmd, argc, argv, NULL, &a);
	if (rc >= 0)
		return rc;
	if (a.batch)
		return attach_batch(cmd, a.batch);
	err = mdr_attach(&a.req, &id);
	if (!err)
		pr_debug("attached %s as %u", a.req.ifname, id);
	return status(err);
}

static const struct cli_option detach_options[] = {
	{ "netns", 0, "NS", "IFNAME is in namespace NS; default host",
	  cli_set_string, 0 },
	{}
};

static int cmd_detach(const struct cli_command *cmd, int argc, char **argv)
{
	const char *netns = "";
	int rc;

	rc = cli_parse(cmd, argc, argv, NULL, &netns);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error(cmd, NULL, "missing IFNAME%s", "");
	optind++;
	rc = cli_no_more(cmd, NULL, argc, argv);
	return rc < 0 ? status(mdr_detach(argv[optind - 1], netns)) : rc;
}

/* list and stats take the same flags. */
static const struct cli_option show_options[] = {
	{ "json", 'j', NULL, "print JSON, for machines", cli_set_true, 0 },
	{}
};

static int cmd_show(const struct cli_command *cmd, int argc, char **argv,
		    int (*show)(bool json))
{
	bool json = false;
	int rc;

	rc = cli_parse(cmd, argc, argv, NULL, &json);
	rc = rc < 0 ? cli_no_more(cmd, NULL, argc, argv) : rc;
	return rc < 0 ? status(show(json)) : rc;
}

static int cmd_list(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_show(cmd, argc, argv, mdr_show_list);
}

static int cmd_stats(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_show(cmd, argc, argv, mdr_show_stats);
}

static int cmd_unload(const struct cli_command *cmd, int argc, char **argv)
{
	int rc;

	rc = cli_parse(cmd, argc, argv, NULL, NULL);
	rc = rc < 0 ? cli_no_more(cmd, NULL, argc, argv) : rc;
	return rc < 0 ? status(mdr_unload()) : rc;
}

static int cmd_reload(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_show(cmd, argc, argv, mdr_reload);
}

/* `mdredir version` and `mdredir --version` say the same. */
static int print_version(void)
{
	printf("mdredir %s\n", mdr_version);
	return EXIT_OK;
}

static int cmd_version(const struct cli_command *cmd, int argc, char **argv)
{
	int rc;

	rc = cli_parse(cmd, argc, argv, NULL, NULL);
	rc = rc < 0 ? cli_no_more(cmd, NULL, argc, argv) : rc;
	return rc < 0 ? print_version() : rc;
}

static const struct cli_command commands[] = {
	{ "daemon", "run the metadata proxy in the foreground",
	  "Usage: mdredir daemon [--backend SPEC] [--config FILE] [--proxy-netns NAME]\n"
	  "                      [--reply-ttl N] [--attach-from SOURCES]\n",
	  "Runs the proxy in the foreground until SIGINT or SIGTERM, logging to\n"
	  "stderr. The data path keeps working without it; guests' connections\n"
	  "are refused while it is stopped. SIGHUP (or `mdredir reload`) reads\n"
	  "the same files and flags again.\n",
	  daemon_options,
	  "The shared secret for Nova comes from the config file\n"
	  "(metadata_proxy_shared_secret, or [mdredir] shared_secret_file), never\n"
	  "from the command line.\n",
	  cmd_daemon },
	{ "attach", "redirect metadata traffic arriving on an interface",
	  "Usage: mdredir attach IFNAME [--netns NS] [--network-id ID | --router-id ID]\n"
	  "                      [--instance-id ID] [--project-id ID] [--mac MAC]\n"
	  "                      [--ip ADDR]... [--metadata-via IPV4] [--mode tc|xdp]\n"
	  "       mdredir attach --batch FILE\n",
	  "Redirects metadata traffic arriving on IFNAME. Attaching an attached\n"
	  "interface again updates it.\n",
	  attach_options,
	  "With --mac and/or --ip, metadata traffic from any other MAC or address\n"
	  "is dropped (and counted) in the BPF program.\n",
	  cmd_attach },
	{ "detach", "stop redirecting on an interface",
	  "Usage: mdredir detach IFNAME [--netns NS]\n",
	  "Stops redirecting on IFNAME and restores it as it was.\n",
	  detach_options, NULL, cmd_detach },
	{ "list", "show attached interfaces", "Usage: mdredir list [--json]\n",
	  "Shows attached interfaces and their identities.\n", show_options,
	  NULL, cmd_list },
	{ "stats", "show per-attachment counters",
	  "Usage: mdredir stats [--json]\n",
	  "Shows per-attachment counters: requests, responses by status class,\n"
	  "bytes, and packets passed and dropped by reason.\n",
	  show_options, NULL, cmd_stats },
	{ "unload", "remove everything mdredir made", "Usage: mdredir unload\n",
	  "Stops the daemon and removes every program, map, pin, veth and\n"
	  "namespace mdredir made.\n",
	  NULL, NULL, cmd_unload },
	{ "reload", "make the daemon read its configuration again",
	  "Usage: mdredir reload [--json]\n",
	  "Sends SIGHUP to the running daemon, which reads the same --config\n"
	  "files and flags again, and waits for its answer: \"reloaded\", or\n"
	  "the errors (FILE:LINE: ...) that made it keep the settings in force,\n"
	  "and exit status 1. New requests take the new settings; requests under\n"
	  "way end with theirs, and no guest connection is dropped.\n",
	  show_options,
	  "The proxy namespace and the service pools cannot change on reload\n"
	  "(see the README, \"Reload\").\n",
	  cmd_reload },
	{ "version", "print the version", "Usage: mdredir version\n",
	  "Prints the build's version: the git describe of the checkout it was\n"
	  "built from, or its package's version.\n",
	  NULL, NULL, cmd_version },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_main_usage(FILE *f)
{
	fputs("Usage: mdredir [-v] COMMAND [ARGS]\n"
	      "\n"
	      "Redirects guests' metadata traffic (169.254.169.254:80) with BPF to one\n"
	      "local proxy that adds their identity and forwards to a backend.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\n"
	      "Options:\n"
	      "  -v, --verbose  debug messages (libbpf's too)\n"
	      "  -V, --version  print the version\n"
	      "  -h, --help     this text; `mdredir COMMAND --help` for a command\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum mdr_log_level level = MDR_LOG_INFO;
	int c;

	while ((c = getopt_long(argc, argv, "+vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': level = MDR_LOG_DEBUG; break;
		case 'V': return print_version();
		case 'h': print_main_usage(stdout); return EXIT_OK;
		default: print_main_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	mdr_log_init(level);
	if (mdr_netns_init()) {
		pr_err("cannot open /proc/self/ns/net: %s", strerror(errno));
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			argv += optind;
			argc -= optind;
			/* cli_parse() resets optind to 0, not 1: GNU getopt
			 * then forgets the "+" mode above. */
			return commands[i].run(&commands[i], argc, argv);
		}
	}
	if (!strcmp(argv[optind], "help")) {
		print_main_usage(stdout);
		return EXIT_OK;
	}
	fprintf(stderr, "mdredir: unknown command '%s'\n\n", argv[optind]);
	print_main_usage(stderr);
	return EXIT_USAGE;
}
