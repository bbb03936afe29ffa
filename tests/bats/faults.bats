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
teardown() { common_teardown; }

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
	start_daemon --config "$(config)"
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
