#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Prometheus metrics ([mdredir] metrics_listen): valid exposition format,
# counters that move by what guests did, an endpoint no guest can reach,
# and a real Prometheus server scraping it.

load helpers

PORT=19100
PROM_PORT=19090

setup() {
	common_setup
	SOCK=$BATS_TEST_TMPDIR/agent.sock
	PROM_PID=
	SCRAPE=$BATS_TEST_TMPDIR/scrape.txt
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1 --ip 10.0.0.5
}
teardown() {
	if [ -n "$PROM_PID" ]; then
		kill "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	fi
	common_teardown
}

# config LISTEN: a neutron backend with the cache on and a rate limit of
# 5 requests a minute per guest, metrics on LISTEN.
config() {
	local ini=$BATS_TEST_TMPDIR/mdredir.ini
	cat >"$ini" <<-INI
		[mdredir]
		backend = neutron:unix:$SOCK
		cache_ttl = 60
		metrics_listen = $1
		[metadata_rate_limiting]
		rate_limit_enabled = true
		base_window_duration = 60
		base_query_rate_limit = 5
		burst_window_duration = 60
		burst_query_rate_limit = 5
	INI
	echo "$ini"
}

# status PATH: the status a guest's GET of PATH gets.
status() { metadata "$SB-vm1" "$1" -o /dev/null -w '%{http_code}'; }

# value NAME [TEXT...]: the one sample of NAME in $SCRAPE whose line holds
# every TEXT (labels, say); fails unless exactly one matches.
value() {
	local name=$1 lines
	shift
	lines=$(grep -E "^$name(\{| )" "$SCRAPE" || true)
	for t in "$@"; do
		lines=$(grep -F -- "$t" <<<"$lines" || true)
	done
	[ "$(grep -c . <<<"$lines")" -eq 1 ] || {
		echo "want one $name $* in the scrape, got: $lines" >&2
		return 1
	}
	echo "${lines##* }"
}

# The guests' part: 2 misses and 2 hits of the cache, a fifth request
# and a sixth over the rate limit, and a SYN from an address that is not
# the guest's (dropped in BPF as spoofed_ip).
guest_traffic() {
	assert_equal "$(status /a)" 200
	assert_equal "$(status /a)" 200
	assert_equal "$(status /b)" 200
	assert_equal "$(status /b)" 200
	assert_equal "$(status /c)" 200
	assert_equal "$(status /c)" 429
	ip -n "$SB-vm1" addr add 10.0.0.9/24 dev eth0
	sb_in "$SB-vm1" python3 -c '
import socket
s = socket.socket()
s.bind(("10.0.0.9", 0))
s.settimeout(0.2)
try:
    s.connect(("169.254.169.254", 80))
except OSError:
    pass'
}

# check_scrape: promtool accepts $SCRAPE, and it holds what guest_traffic
# did to attachment ${SB}t1.
check_scrape() {
	local att="ifname=\"${SB}t1\""
	run promtool check metrics <"$SCRAPE"
	assert_success
	assert_equal "$(value mdredir_requests_total "$att" 'code="2xx"')" 5
	assert_equal "$(value mdredir_requests_total "$att" 'code="4xx"')" 1
	assert_equal "$(value mdredir_requests_total "$att" 'code="5xx"')" 0
	assert_equal "$(value mdredir_request_bytes_total "$att")" \
		"$(stat_of "${SB}t1" .bytes_in)"
	assert_equal "$(value mdredir_response_bytes_total "$att")" \
		"$(stat_of "${SB}t1" .bytes_out)"
	[ "$(value mdredir_request_bytes_total "$att")" -gt 0 ]
	assert_equal "$(value mdredir_request_duration_seconds_count "$att")" 6
	assert_equal "$(value mdredir_request_duration_seconds_bucket "$att" 'le="+Inf"')" 6
	[ "$(value mdredir_bpf_drops_total "$att" 'reason="spoofed_ip"')" -ge 1 ]
	assert_equal "$(value mdredir_bpf_drops_total "$att" 'reason="spoofed_mac"')" 0
	[ "$(value mdredir_bpf_packets_total "$att" 'kind="to_proxy"')" -gt 0 ]
	assert_equal "$(value mdredir_rate_limited_total)" 1
	assert_equal "$(value mdredir_cache_misses_total)" 3
	assert_equal "$(value mdredir_cache_hits_total)" 2
	assert_equal "$(value mdredir_backend_errors_total)" 0
	# The last guest connection may be closing still as we scrape.
	[ "$(value mdredir_connections_open)" -le 1 ]
	assert_equal "$(value mdredir_attachments 'source="cli"')" 1
	assert_equal "$(value mdredir_source_running 'source="ovn"')" 0
	# The README's bound on the series holds them all, to the last one:
	# with one attachment, every series it counts is there.
	read -r per host < <(sed -n '/At most `/{N;s/.*At most `\([0-9]*\) × attachments +\n*\([0-9]*\) + workers`.*/\1 \2/p}' "$ROOT/README.md")
	[ -n "$per" ] || fail "README's Metrics states no bound on the series"
	# As many workers as CPUs we may run on (workers = auto), each counted.
	assert_equal "$(grep -c '^mdredir_worker_connections_total{' "$SCRAPE")" "$(nproc)"
	assert_equal "$(grep -vc '^#' "$SCRAPE")" $((per + host + $(nproc)))
	# The README's Metrics names every metric served.
	desc=$(sed -n '/^### Metrics/,/^### Hardening/p' "$ROOT/README.md")
	for name in $(sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$SCRAPE"); do
		grep -qF "\`$name" <<<"$desc" ||
			fail "README's Metrics does not name $name"
	done
}

@test "metrics on 127.0.0.1:PORT: promtool accepts them, counters move by what guests did" {
	start_backend --unix "$SOCK"
	start_daemon --config "$(config "127.0.0.1:$PORT")"
	guest_traffic
	curl -sS -m 5 -D "$BATS_TEST_TMPDIR/head" -o "$SCRAPE" "http://127.0.0.1:$PORT/metrics"
	run grep -i '^content-type:' "$BATS_TEST_TMPDIR/head"
	assert_output --partial 'text/plain; version=0.0.4'
	check_scrape
	# Other paths and methods, and garbage: answered, and still serving.
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/"
	assert_output 404
	run curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics"
	assert_output 405
	run python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $PORT), timeout=5)
s.sendall(b'nonsense\\r\\n\\r\\n')
print(s.recv(100).decode())"
	assert_output --partial 'HTTP/1.1 400'
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics"
	assert_output 200
}

@test "metrics count a backend that is down as backend errors and 5xx" {
	start_daemon --config "$(config "127.0.0.1:$PORT")"
	assert_equal "$(status /a)" 503
	curl -sS -m 5 -o "$SCRAPE" "http://127.0.0.1:$PORT/metrics"
	assert_equal "$(value mdredir_backend_errors_total)" 1
	assert_equal "$(value mdredir_requests_total "ifname=\"${SB}t1\"" 'code="5xx"')" 1
	assert_equal "$(value mdredir_cache_hits_total)" 0
}

@test "metrics on unix:PATH, and the socket file goes with the daemon" {
	local path=$BATS_TEST_TMPDIR/metrics.sock
	start_backend --unix "$SOCK"
	start_daemon --config "$(config "unix:$path")"
	guest_traffic
	curl -sS -m 5 --unix-socket "$path" -o "$SCRAPE" http://localhost/metrics
	check_scrape
	stop_daemon
	[ ! -e "$path" ]
}

@test "no guest reaches the metrics endpoint, and it is not in the proxy namespace" {
	start_backend --unix "$SOCK"
	start_daemon --config "$(config "127.0.0.1:$PORT")"
	# The host has an address on the guest's link, and the guest reaches it.
	ip addr add 10.0.0.1/24 dev "${SB}t1"
	sb_in "$SB-vm1" ping -c 1 -W 2 10.0.0.1 >/dev/null
	assert_equal "$(status /)" 200
	run sb_in "$SB-vm1" curl -sS -m 2 "http://10.0.0.1:$PORT/metrics"
	assert_failure
	run sb_in "$SB-vm1" curl -sS -m 2 "http://169.254.169.254:$PORT/metrics"
	assert_failure
	# Listening in the host's namespace, not in the proxy's.
	run ss -ltnH "sport = :$PORT"
	assert_output --partial "127.0.0.1:$PORT"
	run ip netns exec mdredir ss -ltnH "sport = :$PORT"
	assert_output ""
	run ip netns exec mdredir ss -ltnH "sport = :80"
	assert_output --partial ":80"
}

@test "a Prometheus server scrapes the endpoint: target up, a counter that moved" {
	local dir=$BATS_TEST_TMPDIR/prom api=http://127.0.0.1:$PROM_PORT/api/v1
	start_backend --unix "$SOCK"
	start_daemon --config "$(config "127.0.0.1:$PORT")"
	assert_equal "$(status /a)" 200
	assert_equal "$(status /b)" 200
	mkdir -p "$dir"
	cat >"$dir/prometheus.yml" <<-YML
		global:
		  scrape_interval: 1s
		scrape_configs:
		  - job_name: mdredir
		    static_configs:
		      - targets: ["127.0.0.1:$PORT"]
	YML
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" >"$dir/log" 2>&1 3>&- &
	PROM_PID=$!
	target_up() {
		curl -s "$api/targets" |
			jq -e '.data.activeTargets[] | select(.labels.job == "mdredir") | .health == "up"' >/dev/null
	}
	wait_until 20 target_up || { cat "$dir/log" >&2; false; }
	query="mdredir_requests_total{ifname=\"${SB}t1\",code=\"2xx\"}"
	two_requests() {
		[ "$(curl -s "$api/query" --data-urlencode "query=$query" |
			jq -r '.data.result[0].value[1]')" = 2 ]
	}
	wait_until 20 two_requests
	kill "$PROM_PID"
	wait "$PROM_PID" || true
	PROM_PID=
	run pgrep -f "web.listen-address=127.0.0.1:$PROM_PORT"
	assert_failure
}

@test "metrics_listen: a bad value is refused at start, with where it was" {
	printf '[mdredir]\nmetrics_listen = localhost:9100\n' >"$BATS_TEST_TMPDIR/bad.ini"
	run "$MDREDIR" daemon --config "$BATS_TEST_TMPDIR/bad.ini"
	assert_failure
	assert_output --partial "$BATS_TEST_TMPDIR/bad.ini:2: [mdredir] metrics_listen: 'localhost:9100' is not ADDRESS:PORT"
}
