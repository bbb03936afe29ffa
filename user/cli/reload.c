// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/json.h"
#include "cli/reload.h"
#include "control/lock.h"
#include "daemon/reload_status.h"
#include "lib/log.h"
#include "lib/clock.h"

/* Long enough for a reload that restarts the sources (a second or so). */
#define MDR_RELOAD_WAIT_MS 10000
#define POLL_MS		   20

/*
 * The status @pid wrote after @after (a generation), waiting for it until
 * @deadline. A daemon writes generation 0 once it handles SIGHUP, so
 * after = -1 waits for a starting daemon to be ready.
 */
static int wait_status(pid_t pid, long after, long long deadline,
		       struct mdr_reload_status *rs)
{
	for (;;) {
		if (!mdr_reload_status_read(rs) && rs->pid == pid &&
		    (long)rs->generation > after)
			return 0;
		if (kill(pid, 0) && errno == ESRCH)
			return -ESRCH;
		if (mdr_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(POLL_MS * 1000);
	}
}

static void print_json(const struct mdr_reload_status *rs)
{
	const char *line = rs->errors, *end;
	const char *sep = "";

	printf("{\"pid\":%d,\"generation\":%lu,\"result\":\"%s\",\"errors\":[",
	       (int)rs->pid, rs->generation, rs->ok ? "ok" : "failed");
	for (; *line; line = *end ? end + 1 : end) {
		char one[1024];

		end = strchrnul(line, '\n');
		snprintf(one, sizeof(one), "%.*s", (int)(end - line), line);
		printf("%s", sep);
		mdr_json_str(stdout, one);
		sep = ",";
	}
	printf("]}\n");
}

int mdr_reload(bool json)
{
	long long deadline = mdr_now_ms() + MDR_RELOAD_WAIT_MS;
	struct mdr_reload_status rs;
	pid_t pid = mdr_daemon_pid();
	const char *line, *end;
	int err;

	if (!pid) {
		pr_err("no mdredir daemon is running (%s is not locked)",
		       MDR_PID_FILE);
		return -ESRCH;
	}
	/* Before its handler is in place, SIGHUP would end the daemon. */
	err = wait_status(pid, -1, deadline, &rs);
	if (!err && kill(pid, SIGHUP))
		err = -errno;
	if (!err)
		err = wait_status(pid, (long)rs.generation, deadline, &rs);
	if (err == -ETIMEDOUT) {
		pr_err("the daemon (pid %d) did not report on the reload within "
		       "%d s; its log says more",
		       (int)pid, MDR_RELOAD_WAIT_MS / 1000);
		return err;
	}
	if (err) {
		pr_err("cannot reload the daemon (pid %d): %s", (int)pid,
		       strerror(-err));
		return err;
	}
	if (json)
		print_json(&rs);
	if (rs.ok) {
		if (!json)
			printf("reloaded (generation %lu)\n", rs.generation);
		return 0;
	}
	if (!json) {
		for (line = rs.errors; *line; line = *end ? end + 1 : end) {
			end = strchrnul(line, '\n');
			fprintf(stderr, "mdredir: error: %.*s\n",
				(int)(end - line), line);
		}
		pr_err("reload refused (generation %lu): the daemon keeps the "
		       "settings in force",
		       rs.generation);
	}
	return -EINVAL;
}
