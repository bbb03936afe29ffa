#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Injected faults on the proxy's side: a backend that dies mid-response,
# the daemon out of file descriptors, at its cgroup's memory cap, stopped
# and continued. In each the well-behaved guests are served (or are again,
# by the daemon alone), no attachment is lost, and the log says what
# happened and what the daemon did.

load helpers

BACKEND_PORT=18779
METRICS_PORT=19102

setup() {
	common_setup
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
	ATTACHED=$(mdredir list --json)
	LOG=$BATS_TEST_TMPDIR/daemon.log
}
teardown() {
	# A guest's flood, if the test ended before it did.
	[ -z "${FLOOD_PID:-}" ] || kill "$FLOOD_PID" 2>/dev/null || true
	common_teardown
	[ -z "${CG:-}" ] || rmdir "$CG" 2>/dev/null || true
}

# config [LINES...]: a config for the TCP test backend, with LINES added
# to [mdredir].
config() {
	local f=$BATS_TEST_TMPDIR/mdredir.ini
	printf '[mdredir]\nbackend = neutron:http://127.0.0.1:%s\n' \
		"$BACKEND_PORT" >"$f"
	printf '%s\n' "$@" >>"$f"
	echo "$f"
}

# The attachments are those the test started with.
assert_attachments_kept() {
	assert_equal "$(mdredir list --json)" "$ATTACHED"
}

code_of() { metadata "$1" "$2" -o /dev/null -w '%{http_code}'; }

@test "a backend that dies mid-body: the guest's connection is reset, nothing is cached" {
	start_backend --listen "127.0.0.1:$BACKEND_PORT" --cut body:/size/65536 --cut-exit
	start_daemon --config "$(config 'cache_ttl = 60' "metrics_listen = 127.0.0.1:$METRICS_PORT")"
	# The head (Content-Length: 65536) and half of the body, then a reset:
	# the guest must not take the half for the whole.
	run metadata "$SB-vm1" /size/65536 -o "$BATS_TEST_TMPDIR/half"
	assert_failure
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/half")" -lt 65536 ]
	run grep "attach=${SB}t1 vm=10.0.0.5 \"GET /size/65536\" 200 .*error=backend died mid-response" "$LOG"
	assert_success
	# The backend is down: a prompt 503 until it is back, then served.
	assert_equal "$(code_of "$SB-vm2" /headers)" 503
	start_backend --listen "127.0.0.1:$BACKEND_PORT"
	assert_equal "$(code_of "$SB-vm2" /headers)" 200
	# The half answer was not cached: the backend is asked again.
	run metadata "$SB-vm1" /size/65536 -o /dev/null -w '%{size_download}'
	assert_output 65536
	assert_equal "$(jq -s 'map(select(.path == "/size/65536")) | length' "$RECORD")" 1
	# Two backend errors: the death, and the 503 while it was down.
	run curl -sS "http://127.0.0.1:$METRICS_PORT/metrics"
	assert_line 'mdredir_backend_errors_total 2'
	assert_attachments_kept
}

@test "a backend that dies mid-chunk: an HTTP/1.0 guest sees a reset, not an end" {
	start_backend --listen "127.0.0.1:$BACKEND_PORT" --cut chunked:/chunked/65536
	start_daemon --config "$(config)"
	# HTTP/1.0 cannot take chunks: the body is sent bare and ends with
	# the connection. A FIN would present the half as all of it.
	run metadata "$SB-vm1" /chunked/65536 --http1.0 -o "$BATS_TEST_TMPDIR/half"
	assert_failure
	run grep "\"GET /chunked/65536\" 200 .*error=backend died mid-response" "$LOG"
	assert_success
	run metadata "$SB-vm1" /chunked/65536 --http1.0 -o /dev/null -w '%{size_download}'
	assert_output 65536
	assert_attachments_kept
}

@test "a backend that dies mid-head on a kept-alive connection: 502, and the pool lets it go" {
	start_backend --listen "127.0.0.1:$BACKEND_PORT" --cut head:/status/200
	# One worker: the idle pool is per worker, and each step below is to
	# find the connection the one before it pooled.
	start_daemon --config "$(config 'workers = 1')"
	# A pooled connection first, which the cut then happens on.
	assert_equal "$(code_of "$SB-vm1" /headers)" 200
	assert_equal "$(code_of "$SB-vm1" /status/200)" 502
	run grep "attach=${SB}t1 .*\"GET /status/200\" 502 .*error=backend closed the connection mid-head" "$LOG"
	assert_success
	# The next request from any guest gets a fresh backend connection,
	# which is pooled in turn: the cut one never serves again.
	assert_equal "$(code_of "$SB-vm2" /headers)" 200
	assert_equal "$(code_of "$SB-vm1" /status/200)" 200
	run jq -r .conn "$RECORD"
	assert_output "$(printf '1\n1\n2\n2')"
	assert_attachments_kept
}

# cpu_ticks PID: the user and system time PID has used, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

@test "out of file descriptors: no spin, guests refused with 503 and told once, served again after" {
	local md=$BATS_TEST_TMPDIR/md hold=$BATS_TEST_TMPDIR/hold
	sb_make_metadata "$md" inst-2 vm-two
	DAEMON_WRAP="prlimit --nofile=64:64 --" \
		start_daemon --config "$(config "backend = local:$md" \
			"metrics_listen = 127.0.0.1:$METRICS_PORT")"
	grep -q 'open-file limit is 64, below the .* that max_connections = 4096 needs' "$LOG"
	# A guest holds 100 connections, more than the daemon has
	# descriptors, until $hold goes.
	touch "$hold"
	sb_in "$SB-vm1" python3 -c '
import os, socket, sys, time
held = [socket.socket() for _ in range(100)]
for s in held:
    s.setblocking(False)
    s.connect_ex(("169.254.169.254", 80))
while os.path.exists(sys.argv[1]):
    time.sleep(0.05)' "$hold" 3>&- &
	FLOOD_PID=$!
	wait_until 5 grep -q 'out of file descriptors (accept: Too many open files' "$LOG"
	# A well-behaved guest meanwhile: a prompt 503, not a wait.
	run metadata "$SB-vm2" /latest/meta-data/hostname -w ' %{http_code}'
	assert_output "$(printf 'out of file descriptors\n 503')"
	# Level-triggered, a listener with a connection queued that cannot
	# be accepted would wake its thread for good: the proxy refuses it
	# instead, the metrics thread waits a turn, and neither spins.
	metadata "$SB-vm2" /latest/meta-data/hostname >/dev/null 2>&1 &
	local guest=$!
	curl -s -m 3 "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null 2>&1 &
	local scrape=$!
	local before
	before=$(cpu_ticks "$DAEMON_PID")
	sleep 2
	local used=$(($(cpu_ticks "$DAEMON_PID") - before))
	[ "$used" -lt 30 ] || fail "the daemon used $used ticks in 2 s out of descriptors"
	grep -q 'metrics: cannot accept a scrape (accept: Too many open files); pausing' "$LOG"
	wait "$guest" "$scrape" || true
	# The flood ends and the daemon recovers by itself.
	rm "$hold"
	wait "$FLOOD_PID"
	FLOOD_PID=
	# (A 503 is an answer too: wait for the one served, since with
	# workers the queued flood can still be draining on another.)
	wait_until 5 metadata "$SB-vm2" /latest/meta-data/hostname -f -o /dev/null
	run metadata "$SB-vm2" /latest/meta-data/hostname
	assert_output vm-two.example
	run grep -c 'out of file descriptors (accept' "$LOG"
	assert_output 1
	grep -q 'accepting guests again after [0-9.]* s ([0-9]* refused with 503' "$LOG"
	assert_attachments_kept
}

@test "SIGSTOP for 5 s, then SIGCONT: what guests sent meanwhile is served, and the stall logged" {
	local md=$BATS_TEST_TMPDIR/md d=$BATS_TEST_TMPDIR
	sb_make_metadata "$md" inst-1 vm-one
	sb_make_metadata "$md" inst-2 vm-two
	printf '[mdredir]\nbackend = local:%s\n[metadata_haproxy]\ntimeout_http_keep_alive = 2\n' \
		"$md" >"$d/stop.ini"
	start_daemon --config "$d/stop.ini"
	# 100 kept-alive connections, more than one epoll_wait reports: each
	# answered once, then each sends again while the daemon is stopped,
	# past the 2 s keep-alive timeout. Those requests came in time: a
	# timer that ran out while we were stopped must not close them.
	sb_in "$SB-vm1" python3 -c '
import http.client, os, sys, time
d = sys.argv[1]
conns = [http.client.HTTPConnection("169.254.169.254", timeout=20)
         for _ in range(100)]
for c in conns:
    c.request("GET", "/latest/meta-data/hostname")
    c.getresponse().read()
open(d + "/ready", "w").close()
while not os.path.exists(d + "/go"):
    time.sleep(0.01)
for c in conns:
    c.request("GET", "/latest/meta-data/hostname")
ok = 0
for c in conns:
    try:
        ok += c.getresponse().read() == b"vm-one.example\n"
    except Exception as e:
        print(type(e).__name__, e)
print(ok)' "$d" >"$d/kept" 2>&1 3>&- &
	local kept=$!
	wait_until 10 test -e "$d/ready"
	kill -STOP "$DAEMON_PID"
	touch "$d/go"
	# New connections meanwhile wait in the accept queue.
	metadata "$SB-vm2" /latest/meta-data/hostname -m 20 >"$d/new2" 2>&1 3>&- &
	local new2=$!
	metadata "$SB-vm1" /latest/meta-data/hostname -m 20 >"$d/new1" 2>&1 3>&- &
	local new1=$!
	sleep 5
	kill -CONT "$DAEMON_PID"
	wait "$kept" "$new1" "$new2"
	run cat "$d/kept"
	assert_output 100
	assert_equal "$(cat "$d/new1")" vm-one.example
	assert_equal "$(cat "$d/new2")" vm-two.example
	grep -q 'proxy: the loop stalled for [4-6]\.[0-9] s (the daemon was stopped' "$LOG"
	assert_attachments_kept
}

# memcg_make: a memory cgroup of our own, $CG, under the one this test
# runs in: cgroup v2 (memory.max, memory.events) or v1 (limit_in_bytes,
# failcnt, oom_control). Fails when neither can be made here.
memcg_make() {
	local parent
	if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		CG_V=2
		parent=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
		grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null ||
			echo +memory >"$parent/cgroup.subtree_control" || return 1
	elif [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		CG_V=1
		parent=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
	else
		return 1
	fi
	mkdir "$parent/$SB" || return 1
	CG=$parent/$SB
}

memcg_limit() {
	if [ "$CG_V" = 2 ]; then echo "$1" >"$CG/memory.max"
	else echo "$1" >"$CG/memory.limit_in_bytes"; fi
}

# memcg_count max|oom_kill: how often the cap was reached; OOM kills.
memcg_count() {
	if [ "$CG_V" = 2 ]; then
		awk -v k="$1" '$1 == k {print $2}' "$CG/memory.events"
	elif [ "$1" = max ]; then
		cat "$CG/memory.failcnt"
	else
		awk '$1 == "oom_kill" {print $2}' "$CG/memory.oom_control"
	fi
}

@test "at its cgroup's memory cap the daemon bounds itself and serves on, never OOM-killed" {
	local md=$BATS_TEST_TMPDIR/md d=$BATS_TEST_TMPDIR hold=$BATS_TEST_TMPDIR/hold
	memcg_make || fail "no memory cgroup can be made here (needs cgroup v2" \
		"with the memory controller, or v1's memory hierarchy)"
	memcg_limit $((32 << 20))
	sb_make_metadata "$md" inst-2 vm-two
	# 48 MiB, out of the page cache: served, it is read in and charged
	# to the daemon's cgroup, which it fills.
	python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
for _ in range(48):
    os.write(fd, b"x" * (1 << 20))
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$md/inst-2/latest/meta-data/big"
	printf '#!/bin/sh\necho $$ >"%s/cgroup.procs" && exec "$@"\n' "$CG" >"$d/in-cgroup"
	chmod +x "$d/in-cgroup"
	# Half the connections for one attachment: more than the cap leaves.
	DAEMON_WRAP=$d/in-cgroup start_daemon --config "$(config "backend = local:$md" \
		'max_connections_per_attachment = 2048')"
	grep -q 'max_connections = 4096 could take 512 MiB of buffers, more than the cgroup.s memory limit (32 MiB, .*serving at most [0-9]* connections at once, [0-9]* per attachment' "$LOG"
	# A guest opens 1500 connections, each with 24,000 bytes of a request
	# head it never ends: 35 MiB in the daemon's buffers, if it took them.
	touch "$hold"
	sb_in "$SB-vm1" python3 -c '
import os, resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
held = []
for _ in range(1500):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("169.254.169.254", 80))
        s.sendall(b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 24000)
    except OSError:
        pass
    held.append(s)
open(sys.argv[1] + ".sent", "w").close()
while os.path.exists(sys.argv[1]):
    time.sleep(0.05)' "$hold" 3>&- &
	FLOOD_PID=$!
	wait_until 60 test -e "$hold.sent"
	# Meanwhile a neighbour reads 48 MiB, and the cap is reached.
	run metadata "$SB-vm2" /latest/meta-data/big -m 30 -o /dev/null -w '%{http_code} %{size_download}'
	assert_output "200 $((48 << 20))"
	[ "$(memcg_count max)" -gt 0 ] || fail "the cgroup's memory cap was never reached"
	assert_equal "$(memcg_count oom_kill)" 0
	kill -0 "$DAEMON_PID"
	grep -q 'vm=10.0.0.5 "- -" 503 .*error=too many connections from this attachment$' "$LOG"
	rm "$hold"
	wait "$FLOOD_PID"
	FLOOD_PID=
	run metadata "$SB-vm2" /latest/meta-data/hostname
	assert_output vm-two.example
	assert_attachments_kept
}
