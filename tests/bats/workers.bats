#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Two workers (workers = 2), each a thread with its own loop and its own
# SO_REUSEPORT listener: guests' connections spread over both, yet each
# guest keeps its own identity, the connection caps and the rate limit are
# exact for the daemon as a whole, and a reload reaches every worker
# before `mdredir reload` returns.

load helpers

METRICS_PORT=19104

setup() { two_guests_setup; }

teardown() {
	stop_backend_b
	common_teardown
}

# conf LINES...: the configuration, two workers and metrics always.
conf() {
	printf '%s\n' '[mdredir]' 'workers = 2' \
		"metrics_listen = 127.0.0.1:$METRICS_PORT" "$@" >"$CONF"
}

# accepted WORKER: guest connections that worker accepted so far.
accepted() {
	curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		sed -n "s/^mdredir_worker_connections_total{worker=\"$1\"} //p"
}

# requests GUEST N PREFIX: N GETs of PREFIX/i, each on a new connection
# (so a new source port, and the kernel's pick of listener); prints each
# status code.
requests() {
	sb_in "$1" python3 -c '
import socket, sys
for i in range(int(sys.argv[1])):
    s = socket.create_connection(("169.254.169.254", 80), timeout=5)
    s.sendall(b"GET %s/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
              % (sys.argv[2].encode(), i))
    resp = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        resp += data
    print(resp.split(b" ")[1].decode())
    s.close()' "$2" "$3"
}

# hold GUEST N: opens N connections and keeps them open, sending nothing;
# prints "admitted refused": a refused one was answered 503 at once, an
# admitted one hears nothing (it waits for a request head).
hold() {
	sb_in "$1" python3 -c '
import select, socket, sys, time
held = [socket.create_connection(("169.254.169.254", 80), timeout=5)
        for _ in range(int(sys.argv[1]))]
time.sleep(1)
refused = 0
for s in held:
    if select.select([s], [], [], 0)[0] and s.recv(64).startswith(b"HTTP/1.1 503"):
        refused += 1
print(len(held) - refused, refused)
open(sys.argv[2], "w").close()
time.sleep(3)' "$2" "$BATS_TEST_TMPDIR/held.$1"
}

@test "workers = 2: guests spread over both workers, each keeps its own identity" {
	conf "backend = neutron:unix:$A_SOCK"
	start_daemon --config "$CONF"
	grep -q 'listening on port 80 .*, 2 workers, backend' "$BATS_TEST_TMPDIR/daemon.log"
	requests "$SB-vm1" 60 /g1 >"$BATS_TEST_TMPDIR/codes.1" &
	local one=$!
	requests "$SB-vm2" 60 /g2 >"$BATS_TEST_TMPDIR/codes.2"
	wait "$one"
	assert_equal "$(grep -c '^200$' "$BATS_TEST_TMPDIR"/codes.1 "$BATS_TEST_TMPDIR"/codes.2 | awk -F: '{ n += $2 } END { print n }')" 120
	# Both workers took some.
	local w0 w1
	w0=$(accepted 0) w1=$(accepted 1)
	echo "worker 0: $w0, worker 1: $w1" >&3
	[ "$w0" -gt 0 ] && [ "$w1" -gt 0 ]
	assert_equal $((w0 + w1)) 120
	# Whichever worker served it, the backend saw the guest's identity.
	run jq -r -s 'map(select(.path | startswith("/g1/"))
		| [(.headers[] | select(.[0] == "X-Forwarded-For") | .[1]),
		   (.headers[] | select(.[0] == "X-Neutron-Network-ID") | .[1])]
		| join(" ")) | group_by(.) | map("\(.[0]) \(length)") | .[]' "$RECORD"
	assert_output '10.0.0.5 net-1 60'
	run jq -r -s 'map(select(.path | startswith("/g2/"))
		| [(.headers[] | select(.[0] == "X-Forwarded-For") | .[1]),
		   (.headers[] | select(.[0] == "X-Neutron-Network-ID") | .[1])]
		| join(" ")) | group_by(.) | map("\(.[0]) \(length)") | .[]' "$RECORD"
	assert_output '10.0.0.6 net-2 60'
}

@test "workers = 2: connection caps are exact whichever worker accepted" {
	conf "backend = neutron:unix:$A_SOCK" 'max_connections = 30' \
		'max_connections_per_attachment = 20'
	start_daemon --config "$CONF"
	# One attachment: 26 held, exactly 20 admitted over both workers.
	run hold "$SB-vm1" 26
	assert_output '20 6'
	[ "$(accepted 0)" -gt 0 ] && [ "$(accepted 1)" -gt 0 ]
	# Both attachments, 18 each: exactly 30 in all, whichever guest.
	hold "$SB-vm1" 18 >"$BATS_TEST_TMPDIR/held.1" &
	local one=$!
	hold "$SB-vm2" 18 >"$BATS_TEST_TMPDIR/held.2"
	wait "$one"
	run awk '{ a += $1; r += $2 } END { print a, r }' \
		"$BATS_TEST_TMPDIR/held.1" "$BATS_TEST_TMPDIR/held.2"
	assert_output '30 6'
}

@test "workers = 2: the rate limit is exact whichever worker served" {
	conf "backend = neutron:unix:$A_SOCK" \
		'[metadata_rate_limiting]' 'rate_limit_enabled = true' \
		'base_window_duration = 60' 'base_query_rate_limit = 10' \
		'burst_window_duration = 60' 'burst_query_rate_limit = 10'
	start_daemon --config "$CONF"
	run requests "$SB-vm1" 40 /r
	assert_success
	assert_equal "$(grep -c '^200$' <<<"$output")" 10
	assert_equal "$(grep -c '^429$' <<<"$output")" 30
	[ "$(accepted 0)" -gt 0 ] && [ "$(accepted 1)" -gt 0 ]
	# The other guest has its own count.
	run requests "$SB-vm2" 3 /r
	assert_output "$(printf '200\n200\n200')"
}

@test "workers = 2: once mdredir reload returns, every worker serves the new backend" {
	conf "backend = neutron:unix:$A_SOCK"
	start_daemon --config "$CONF"
	requests "$SB-vm1" 10 /before >/dev/null
	backend_b
	conf "backend = neutron:unix:$B_SOCK"
	run "$MDREDIR" reload
	assert_success
	local w0 w1
	w0=$(accepted 0) w1=$(accepted 1)
	run requests "$SB-vm1" 40 /after
	assert_output "$(yes 200 | head -40)"
	# Every one on B, served by both workers.
	assert_equal "$(jq -s 'map(select(.path | startswith("/after/"))) | length' "$B_RECORD")" 40
	assert_equal "$(jq -s 'map(select(.path | startswith("/after/"))) | length' "$RECORD")" 0
	[ "$(accepted 0)" -gt "$w0" ] && [ "$(accepted 1)" -gt "$w1" ]
	# A reload that would change the workers is refused.
	printf '%s\n' '[mdredir]' 'workers = 3' "backend = neutron:unix:$B_SOCK" \
		"metrics_listen = 127.0.0.1:$METRICS_PORT" >"$CONF"
	run "$MDREDIR" reload
	assert_failure
	assert_output --partial 'workers: cannot change on reload: 2 workers run'
}

@test "workers = auto: a reload is not refused for CPUs the daemon lost since" {
	[ "$(nproc)" -ge 2 ] || skip "auto makes one worker on one CPU"
	printf '%s\n' '[mdredir]' "backend = neutron:unix:$A_SOCK" \
		"metrics_listen = 127.0.0.1:$METRICS_PORT" >"$CONF"
	start_daemon --config "$CONF"
	grep -q "listening on port 80 .*, $(nproc) workers, backend" "$BATS_TEST_TMPDIR/daemon.log"
	# As AllowedCPUs= or taskset would: auto would count one CPU now,
	# but the setting did not change, so neither do the workers.
	taskset -a -p -c 0 "$DAEMON_PID" >/dev/null
	run "$MDREDIR" reload
	assert_success
	run requests "$SB-vm1" 4 /after
	assert_output "$(yes 200 | head -4)"
}
