#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Reload (SIGHUP, `mdredir reload`): the configuration read again while
# guests keep asking, with no request lost; what changed applies to new
# requests, a request under way ends as it began, and a configuration that
# cannot be taken is refused whole.

load helpers

setup() { two_guests_setup; }

teardown() {
	[ -z "${LOOPS:-}" ] || stop_loops
	stop_backend_b
	common_teardown
}

# conf LINES...: the [mdredir] section, then whatever else LINES say
# (each a line, sections included).
conf() {
	printf '%s\n' "$@" >"$CONF"
}

saw() { jq -s 'length' "$1"; }
saw_path() { jq -s --arg p "$2" 'map(select(.path == $p)) | length' "$1"; }
# saw_count RECORD PATH N: the backend of RECORD saw PATH N times.
saw_count() { [ "$(saw_path "$1" "$2")" = "$3" ]; }

log_has() { grep -q -- "$1" "$BATS_TEST_TMPDIR/daemon.log"; }

# A daemon's reload count as its status file says it.
generation() { awk '$1 == "generation" { print $2 }' /run/mdredir/reload.status; }
generation_past() { [ "$(generation)" -gt "$1" ]; }

# hup_and_wait: SIGHUP, then wait for the daemon to report the reload.
hup_and_wait() {
	local before
	before=$(generation)
	kill -HUP "$DAEMON_PID"
	wait_until 5 generation_past "$before"
	grep -qx 'result ok' /run/mdredir/reload.status
}

# start_loops: each guest asks continuously, one fresh connection a
# request and one kept-alive connection of many, writing each request's
# status to $BATS_TEST_TMPDIR/codes.* (000: curl failed: no answer).
start_loops() {
	local vm
	LOOPS=()
	: >"$BATS_TEST_TMPDIR/stop"
	rm -f "$BATS_TEST_TMPDIR/stop"
	for vm in "$SB-vm1" "$SB-vm2"; do
		ip netns exec "$vm" bash -c '
			while [ ! -e "$1" ]; do
				curl -s -o /dev/null -m 10 -w "%{http_code}\n" \
					http://169.254.169.254/fresh
			done' _ "$BATS_TEST_TMPDIR/stop" \
			>>"$BATS_TEST_TMPDIR/codes.fresh.$vm" 2>&1 3>&- &
		LOOPS+=($!)
		# 50 requests on one connection each time (curl reuses it).
		ip netns exec "$vm" bash -c '
			urls=()
			for i in $(seq 50); do urls+=(-o /dev/null http://169.254.169.254/kept); done
			while [ ! -e "$1" ]; do
				curl -s -m 20 -w "%{http_code} %{num_connects}\n" "${urls[@]}"
			done' _ "$BATS_TEST_TMPDIR/stop" \
			>>"$BATS_TEST_TMPDIR/codes.kept.$vm" 2>&1 3>&- &
		LOOPS+=($!)
	done
}

stop_loops() {
	touch "$BATS_TEST_TMPDIR/stop"
	wait "${LOOPS[@]}" 2>/dev/null || true
	LOOPS=
}

@test "requests flow across SIGHUP and mdredir reload: not one fails" {
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK"
	start_daemon --config "$CONF"
	start_loops
	sleep 0.5
	for i in 1 2 3 4 5 6; do
		# Each reload changes something the proxy uses.
		conf '[mdredir]' "backend = neutron:unix:$A_SOCK" \
			"max_connections = $((1000 + i))" "cache_ttl = $((i % 2))" \
			"backend_keepalive = $([ $((i % 2)) = 0 ] && echo true || echo false)" \
			'[metadata_haproxy]' "timeout_client = $((30 + i))"
		if [ $((i % 2)) = 0 ]; then
			hup_and_wait
		else
			run "$MDREDIR" reload
			assert_success
			assert_output "reloaded (generation $i)"
		fi
		sleep 0.3
	done
	stop_loops
	# Enough requests that a reload fell among them, and every one 200.
	total=$(cat "$BATS_TEST_TMPDIR"/codes.* | wc -l)
	failed=$(cat "$BATS_TEST_TMPDIR"/codes.* | grep -cv '^200' || true)
	echo "requests: $total, failed: $failed" >&3
	[ "$total" -gt 200 ]
	assert_equal "$failed" 0
	# Keep-alive connections were kept across reloads, not cut: one
	# connect for each run of 50 requests, on its first.
	for f in "$BATS_TEST_TMPDIR"/codes.kept.*; do
		run awk '($2 == 1) != ((NR - 1) % 50 == 0) { bad++ }
			END { print NR, bad + 0 }' "$f"
		assert_output --regexp '^[0-9]+ 0$'
	done
	run grep -c 'reload [0-9]*: done' "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 6
}

@test "a new backend takes new requests; one under way ends on the old" {
	backend_b
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK"
	start_daemon --config "$CONF"
	metadata "$SB-vm1" /before >/dev/null
	# A request under way to A across the reload, on a connection that
	# carries a second request after it.
	ip netns exec "$SB-vm1" curl -sS -m 10 -w ' %{http_code} %{num_connects}\n' \
		http://169.254.169.254/slow/1.5 http://169.254.169.254/after-slow \
		>"$BATS_TEST_TMPDIR/slow.out" 2>&1 3>&- &
	slow=$!
	wait_until 5 saw_count "$RECORD" /slow/1.5 1
	conf '[mdredir]' "backend = neutron:unix:$B_SOCK"
	run "$MDREDIR" reload
	assert_success
	metadata "$SB-vm2" /after >/dev/null
	wait "$slow"
	run cat "$BATS_TEST_TMPDIR/slow.out"
	assert_line --index 0 "slow"
	assert_line --index 1 " 200 1"
	assert_line --index 2 --partial '"path": "/after-slow"'
	assert_line --index 2 --partial '} 200 0'
	# The request under way ended on A; everything after the reload went
	# to B, the kept-alive connection's next request included.
	assert_equal "$(saw_path "$RECORD" /after)" 0
	assert_equal "$(saw_path "$B_RECORD" /after)" 1
	assert_equal "$(saw_path "$RECORD" /after-slow)" 0
	assert_equal "$(saw_path "$B_RECORD" /after-slow)" 1
	log_has "reload 1: done, backend neutron:unix:$B_SOCK"
}

@test "a broken configuration is refused with FILE:LINE and the old one stays" {
	backend_b
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'cache_ttl = 0'
	start_daemon --config "$CONF"
	# A syntax error.
	conf '[mdredir]' "backend = neutron:unix:$B_SOCK" 'this is not ini'
	run "$MDREDIR" reload
	assert_failure 1
	assert_output --partial "error: $CONF:3: "
	assert_output --partial 'reload refused (generation 1)'
	log_has "$CONF:3: "
	log_has 'reload 1: refused, the settings in force are unchanged'
	# A bad value, --json this time.
	conf '[mdredir]' "backend = neutron:unix:$B_SOCK" '[metadata_haproxy]' \
		'timeout_server = soon'
	run "$MDREDIR" reload --json
	assert_failure 1
	assert_equal "$(jq -r .result <<<"$output")" failed
	assert_equal "$(jq -r .generation <<<"$output")" 2
	jq -e --arg f "$CONF:4: " '.errors | any(startswith($f))' <<<"$output"
	# A backend that cannot be: refused too, before anything changed.
	conf '[mdredir]' 'backend = neutron:ftp://nowhere'
	run "$MDREDIR" reload
	assert_failure 1
	assert_output --partial "bad backend"
	# Requests still reach the old backend, A.
	metadata "$SB-vm1" /still-a >/dev/null
	assert_equal "$(saw_path "$RECORD" /still-a)" 1
	assert_equal "$(saw "$B_RECORD")" 0
	# And a good configuration is taken again afterwards.
	conf '[mdredir]' "backend = neutron:unix:$B_SOCK"
	run "$MDREDIR" reload --json
	assert_success
	assert_equal "$(jq -r .result <<<"$output")" ok
	metadata "$SB-vm1" /now-b >/dev/null
	assert_equal "$(saw_path "$B_RECORD" /now-b)" 1
}

# code VM PATH: the status a guest gets.
code() { metadata "$1" "$2" -o /dev/null -w '%{http_code}'; }

@test "rate limits, timeouts and the cache change on reload" {
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK"
	start_daemon --config "$CONF"
	for _ in 1 2 3 4; do assert_equal "$(code "$SB-vm1" /r)" 200; done

	# Neutron's rate limiting turned on: the third request in the window
	# is refused.
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" \
		'[metadata_rate_limiting]' 'rate_limit_enabled = true' \
		'base_window_duration = 60' 'base_query_rate_limit = 2' \
		'burst_window_duration = 60' 'burst_query_rate_limit = 2'
	hup_and_wait
	assert_equal "$(code "$SB-vm1" /r)" 200
	assert_equal "$(code "$SB-vm1" /r)" 200
	assert_equal "$(code "$SB-vm1" /r)" 429
	# A reload that leaves the limits alone keeps the counts.
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'max_connections = 999' \
		'[metadata_rate_limiting]' 'rate_limit_enabled = true' \
		'base_window_duration = 60' 'base_query_rate_limit = 2' \
		'burst_window_duration = 60' 'burst_query_rate_limit = 2'
	hup_and_wait
	assert_equal "$(code "$SB-vm1" /r)" 429
	# ...and off again.
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK"
	hup_and_wait
	for _ in 1 2 3 4; do assert_equal "$(code "$SB-vm1" /r)" 200; done

	# timeout_server 1 s: the backend's 2 s answer now times out (504).
	assert_equal "$(code "$SB-vm1" /slow/1.5)" 200
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" \
		'[metadata_haproxy]' 'timeout_server = 1'
	hup_and_wait
	assert_equal "$(code "$SB-vm1" /slow/1.5)" 504

	# The cache turned on: a repeat no longer reaches the backend.
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'cache_ttl = 30'
	hup_and_wait
	metadata "$SB-vm1" /cached >/dev/null
	metadata "$SB-vm1" /cached >/dev/null
	assert_equal "$(saw_path "$RECORD" /cached)" 1
	# A reload that leaves the cache alone keeps what it holds...
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'cache_ttl = 30' \
		'max_connections = 999'
	hup_and_wait
	metadata "$SB-vm1" /cached >/dev/null
	assert_equal "$(saw_path "$RECORD" /cached)" 1
	# ...one that turns it off asks the backend again.
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK"
	hup_and_wait
	metadata "$SB-vm1" /cached >/dev/null
	assert_equal "$(saw_path "$RECORD" /cached)" 2
}

# A field of the pinned mdr_config (or of MAP), as bpftool prints it (BTF).
config_field() {
	bpftool -j map dump pinned "/sys/fs/bpf/mdredir/${2:-mdr_config}" |
		jq -r ".[0].formatted.value.$1"
}

@test "the BPF side's settings change on reload" {
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK"
	start_daemon --config "$CONF"
	assert_equal "$(config_field reply_ttl)" 0
	assert_equal "$(config_field syn_interval_ns)" 10000 # the default
	# 25,000/s with bursts of 5,000: the per-guest defaults.
	assert_equal "$(config_field syn_interval_ns mdr_guest_limit)" 40000
	assert_equal "$(config_field syn_burst_ns mdr_guest_limit)" 199960000
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'reply_ttl = 1' \
		'new_connection_rate = 100' 'new_connection_burst = 5' \
		'new_connection_rate_per_guest = 10' \
		'new_connection_burst_per_guest = 3'
	run "$MDREDIR" reload
	assert_success
	assert_equal "$(config_field reply_ttl)" 1
	assert_equal "$(config_field syn_interval_ns)" 10000000
	assert_equal "$(config_field syn_burst_ns)" 40000000
	assert_equal "$(config_field syn_interval_ns mdr_guest_limit)" 100000000
	assert_equal "$(config_field syn_burst_ns mdr_guest_limit)" 200000000
	assert_equal "$(code "$SB-vm1" /ttl)" 200
	# A flag wins over the files, at a reload as at start.
	stop_daemon
	start_daemon --config "$CONF" --reply-ttl 3
	assert_equal "$(config_field reply_ttl)" 3
	run "$MDREDIR" reload
	assert_success
	assert_equal "$(config_field reply_ttl)" 3
}

@test "the service pools and the proxy namespace cannot change on reload" {
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK"
	start_daemon --config "$CONF"
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'service_pool = 100.101.0.0/16'
	run "$MDREDIR" reload
	assert_failure 1
	assert_output --partial "$CONF:3: [mdredir] service_pool: cannot change on reload: interfaces are attached"
	assert_output --partial 'detach them'
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'service_pool6 = fd00:1::/64'
	run "$MDREDIR" reload
	assert_failure 1
	assert_output --partial '[mdredir] service_pool6: cannot change on reload'
	# With nothing attached, still refused: the listener lives there.
	mdredir detach "${SB}t1"
	mdredir detach "${SB}t2"
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'proxy_netns = elsewhere'
	run "$MDREDIR" reload
	assert_failure 1
	assert_output --partial '[mdredir] proxy_netns: cannot change on reload: the listener lives in proxy namespace'
	assert_output --partial 'restart the daemon'
	run ip netns list
	refute_output --partial elsewhere
	# The same pools, written out, are no change.
	conf '[mdredir]' "backend = neutron:unix:$A_SOCK" 'service_pool = 100.100.0.0/16' \
		'proxy_netns = mdredir'
	run "$MDREDIR" reload
	assert_success
}

attachment() {
	"$MDREDIR" list --json |
		jq -r --arg i "$1" ".[] | select(.ifname == \$i) | .$2"
}
attached_by() { [ "$(attachment "$1" source)" = "$2" ]; }
detached() { [ -z "$(attachment "$1" id)" ]; }

@test "attach_from changed on reload starts a source, and stops it detaching nothing" {
	MD=$BATS_TEST_TMPDIR/md
	mkdir -p "$MD/$SB-net/10.0.0.5"
	echo "guest of $SB-net" >"$MD/$SB-net/10.0.0.5/who"
	sb_network "$SB-sw1" "qdhcp-$SB-net" "tap${SB}"
	sb_vm_on_switch "$SB-vm3" "$SB-sw1" "${SB}p3" 10.0.0.5
	conf '[mdredir]' "backend = local:$MD"
	start_daemon --config "$CONF"
	sleep 1.5 # two of the watcher's scans: nothing comes of the namespace
	assert_equal "$(attachment "tap${SB}" source)" ""

	conf '[mdredir]' "backend = local:$MD" 'attach_from = neutron-namespaces'
	run "$MDREDIR" reload
	assert_success
	wait_until 5 attached_by "tap${SB}" neutron-namespaces
	run metadata "$SB-vm3" /who
	assert_output "guest of $SB-net"
	log_has "the sources' settings changed"

	# Requests keep flowing while the source stops: its attachment stays.
	conf '[mdredir]' "backend = local:$MD"
	run "$MDREDIR" reload
	assert_success
	sleep 1.5
	assert_equal "$(attachment "tap${SB}" source)" neutron-namespaces
	run metadata "$SB-vm3" /who
	assert_output "guest of $SB-net"
	# The watcher itself still runs: a deleted tap is still detached.
	ip -n "qdhcp-$SB-net" link del "tap${SB}"
	wait_until 5 detached "tap${SB}"
}

@test "mdredir reload without a daemon says so" {
	run "$MDREDIR" reload
	assert_failure 1
	assert_output --partial 'no mdredir daemon is running'
}
