# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# ovsdb-server (and its kin, ovn-northd) run by hand outside their packaged
# paths, for the tests (tests/bats/helpers.bash) and tools/ovn-bench.sh.
# Source this file.

# pid_running PID: the process exists and is not a zombie. Daemons that
# detach (ovsdb-server, ovn-northd) are reparented to an init that may reap
# them late, and kill -0 succeeds on a zombie.
pid_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# stop_pidfile PIDFILE: stops the daemon PIDFILE names and waits until it
# is gone (SIGKILL after 5 s); a missing PIDFILE is nothing to stop. A
# daemon a test stopped (SIGSTOP) is continued, to act on the SIGTERM.
stop_pidfile() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	rm -f "$1"
	kill "$pid" 2>/dev/null || return 0
	kill -CONT "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		pid_running "$pid" || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.1
	! pid_running "$pid" || { echo "$1: pid $pid outlived SIGKILL" >&2; return 1; }
}

# ovsdb_serve DB SOCK [ARGS...]: serves the database file DB on the unix
# socket SOCK, ARGS added (an SSL remote, say). Outside its packaged paths
# ovsdb-server needs every path given; its pidfile, control socket and log
# go next to DB (DB without .db, plus .pid, .ctl, .log). Returns once the
# server listens. fd 3 is bats' own: a daemon holding it would hang bats.
ovsdb_serve() {
	local base=${1%.db}
	ovsdb-server "$1" --remote="punix:$2" --unixctl="$base.ctl" \
		--pidfile="$base.pid" --log-file="$base.log" --detach --no-chdir \
		"${@:3}" 3>&-
}

# ovsdb_unserve DB: stops the server ovsdb_serve started for DB.
ovsdb_unserve() {
	stop_pidfile "${1%.db}.pid"
}
