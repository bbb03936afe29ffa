#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The daemon as the systemd unit runs it: what it tells the NOTIFY_SOCKET a
# test listens on, as systemd would, and the capabilities the unit leaves it.

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

# run_with_caps CAP... -- CMD...: CMD as root with only the named
# capabilities (CAP_X), as CapabilityBoundingSet= leaves a unit's root.
run_with_caps() {
	local bset=-all
	while [ "$1" != -- ]; do
		[ -z "$1" ] || bset+=",+$(tr 'A-Z' 'a-z' <<<"${1#CAP_}")"
		shift
	done
	shift
	exec setpriv --bounding-set "$bset" --inh-caps -all -- "$@"
}

@test "the daemon serves with only the capabilities the unit leaves it, and needs each" {
	local caps log=$BATS_TEST_TMPDIR/daemon.log
	local -A why=(
		[CAP_SYS_ADMIN]="cannot enter network namespace 'mdredir': Operation not permitted"
		[CAP_NET_ADMIN]="cannot bring lo up: Operation not permitted"
		[CAP_NET_BIND_SERVICE]="cannot listen on port 80 in namespace 'mdredir': Permission denied"
	)
	read -ra caps < <(sed -n 's/^CapabilityBoundingSet=//p' "$ROOT/systemd/mdredir.service")
	[ "${#caps[@]}" -ge 3 ]
	run_with_caps "${caps[@]}" -- "$MDREDIR" daemon \
		--backend "local:$BATS_TEST_TMPDIR/md" 2>"$log" 3>&- &
	DAEMON_PID=$!
	await_line "$DAEMON_PID" "$log" 'listening on'
	run metadata "$SB-vm1" /who
	assert_output one
	# It ran with those and no other.
	run capsh --decode="$(awk '$1 == "CapEff:" { print $2 }' "/proc/$DAEMON_PID/status")"
	assert_equal "$(sed 's/^0x[0-9a-f]*=//' <<<"$output" | tr , '\n' | sort)" \
		"$(printf '%s\n' "${caps[@]}" | tr 'A-Z' 'a-z' | sort)"
	stop_daemon
	# No RLIMIT_MEMLOCK to raise (BPF memory is charged to the cgroup), so
	# no CAP_SYS_RESOURCE: libbpf would have said it failed to.
	run grep -i memlock "$log"
	assert_failure
	# Without any one of them (CAP_DAC_OVERRIDE is for a socket of
	# another user's, which this test has not), it cannot start.
	for drop in CAP_SYS_ADMIN CAP_NET_ADMIN CAP_NET_BIND_SERVICE; do
		run run_with_caps "${caps[@]/$drop/}" -- "$MDREDIR" daemon \
			--backend "local:$BATS_TEST_TMPDIR/md"
		assert_failure
		assert_output --partial "${why[$drop]}"
	done
}

@test "CAP_DAC_OVERRIDE is what reaches an agent socket of the neutron user's" {
	local caps sock=$BATS_TEST_TMPDIR/agent.sock log=$BATS_TEST_TMPDIR/daemon.log
	start_backend --unix "$sock"
	# As Neutron leaves it: the neutron user's, writable by it alone.
	chown nobody "$sock"
	chmod 0644 "$sock"
	read -ra caps < <(sed -n 's/^CapabilityBoundingSet=//p' "$ROOT/systemd/mdredir.service")
	for without in "" CAP_DAC_OVERRIDE; do
		run_with_caps "${caps[@]/$without/}" -- "$MDREDIR" daemon \
			--backend "neutron:unix:$sock" 2>"$log" 3>&- &
		DAEMON_PID=$!
		await_line "$DAEMON_PID" "$log" 'listening on'
		run metadata "$SB-vm1" /latest/meta-data/ -o /dev/null -w '%{http_code}'
		stop_daemon
		if [ -z "$without" ]; then
			assert_output 200
		else
			assert_output 503
		fi
	done
}
