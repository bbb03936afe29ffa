#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The daemon as the systemd unit runs it: what it tells the NOTIFY_SOCKET a
# test listens on, as systemd would.

load helpers

setup() {
	common_setup
	LISTENER_PID=
	NOTES=$BATS_TEST_TMPDIR/notes
	mkdir -p "$BATS_TEST_TMPDIR/md/inst-1"
	echo one >"$BATS_TEST_TMPDIR/md/inst-1/who"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
}

teardown() {
	common_teardown
	[ -z "$LISTENER_PID" ] || kill "$LISTENER_PID" 2>/dev/null || true
}

# A unix datagram socket where systemd's would be: each message a line in
# $NOTES, "SECONDS MESSAGE" (monotonic; a message's lines joined by '|').
listen_notify() {
	NOTIFY_SOCKET=$BATS_TEST_TMPDIR/notify.sock
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w")
print("ready", flush=True)
while True:
    msg = s.recv(4096).decode().strip().replace("\n", "|")
    out.write("%.3f %s\n" % (time.monotonic(), msg))
    out.flush()
' "$NOTIFY_SOCKET" "$NOTES" >"$BATS_TEST_TMPDIR/listener.out" 2>&1 3>&- &
	LISTENER_PID=$!
	await_line "$LISTENER_PID" "$BATS_TEST_TMPDIR/listener.out" ready
}

# notified PATTERN: a message matching PATTERN (an ERE) has come.
notified() { grep -qE "^[0-9.]+ ($1)\$" "$NOTES"; }

# start_notifying_daemon ENV...: the daemon with NOTIFY_SOCKET and ENV,
# its pid known to its environment (WATCHDOG_PID is compared with it).
start_notifying_daemon() {
	local log=$BATS_TEST_TMPDIR/daemon.log
	(
		export NOTIFY_SOCKET "$@"
		[ "${WATCHDOG_PID:-}" != self ] || export WATCHDOG_PID=$BASHPID
		exec "$MDREDIR" daemon --backend "local:$BATS_TEST_TMPDIR/md" \
			--attach-from neutron-namespaces
	) 2>"$log" 3>&- &
	DAEMON_PID=$!
	await_line "$DAEMON_PID" "$log" 'listening on' || { DAEMON_PID=; return 1; }
}

@test "systemd hears READY=1 once the daemon serves, its status, and STOPPING=1" {
	listen_notify
	start_notifying_daemon
	wait_until 5 notified 'READY=1'
	# A guest is served the moment systemd is told.
	run metadata "$SB-vm1" /who
	assert_output one
	# The status says what is attached and how each source fares.
	wait_until 5 notified 'STATUS=serving 1 attachment; neutron-namespaces: synced \(0 attachments\)'
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t2" --instance-id inst-2
	wait_until 10 notified 'STATUS=serving 2 attachments; .*'
	# No watchdog was asked for: no pings.
	! notified 'WATCHDOG=1'
	! notified 'STOPPING=1'
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	DAEMON_PID=
	notified 'STOPPING=1'
	# READY=1 once, before anything else but the status.
	run grep -c 'READY=1' "$NOTES"
	assert_output 1
}

@test "WATCHDOG=1 comes at half of WATCHDOG_USEC, and only for the pid it names" {
	listen_notify
	start_notifying_daemon WATCHDOG_USEC=1000000 WATCHDOG_PID=self
	wait_until 5 notified 'READY=1'
	sleep 3
	# Every 0.5 s, give or take the loop's 200 ms turn.
	run awk '$2 == "WATCHDOG=1" { if (last) print $1 - last; last = $1 }' "$NOTES"
	[ "${#lines[@]}" -ge 4 ] || fail "only ${#lines[@]} intervals: $output"
	for gap in "${lines[@]}"; do
		awk -v g="$gap" 'BEGIN { exit !(g >= 0.49 && g <= 0.75) }' ||
			fail "a ping came after ${gap}s, not 0.5 s: $output"
	done
	stop_daemon

	# WATCHDOG_PID names another process: the watchdog is not ours.
	: >"$NOTES"
	start_notifying_daemon WATCHDOG_USEC=1000000 WATCHDOG_PID=1
	wait_until 5 notified 'READY=1'
	sleep 1.5
	! notified 'WATCHDOG=1'
}

