#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench.sh: mdredir against Neutron's haproxy, side by side in one run,
# on a veth sandbox of its own; writes BENCHMARKS.md. Run as root; usage()
# below (`tools/bench.sh --help`) tells the parts and the knobs.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tools/bench.sh [--only PART]    (as root)

  (no PART)        everything (about 20 minutes); rewrites BENCHMARKS.md
  --only requests  the per-request cost only: every design's req/s and
                   server core µs/req, both styles, BENCH_RUNS rounds
                   (about 8 minutes at the defaults; BENCH_DURATION=3
                   BENCH_RUNS=3 for a quick look)
  --only workers   mdredir with 1 and 2 workers only, and what the locks
                   they share cost a request (about 8 minutes);
                   skipped, saying so, if the daemon does not know
                   `[mdredir] workers`
  --only storm     the boot-storm scenario only (about 15 s)
  (or: storm)

With --only, BENCHMARKS.md is left alone: the report goes to the raw
output directory, which is kept, and its issue-14 tables to stdout.
`--only storm` with BENCH_FROM=DIR (the kept raw output of an earlier
full run) adds its data to DIR and regenerates BENCHMARKS.md from DIR,
so the file still holds every section.

Knobs (environment): BENCH_DURATION (s per wrk run, 10), BENCH_CONNS (32),
BENCH_RUNS (rounds, 5), BENCH_RETRIES (times a disturbed run is run
again, 2), BENCH_RETRY_BUDGET (such retries in the whole run, 12),
BENCH_SCALES ("10 100 1000"), BENCH_STORM_GUESTS
(200), BENCH_STORM_DELAY_MS (the backend's answer time, 50), BENCH_OUTPUT
(BENCHMARKS.md), BENCH_JSON (where to copy the figures as JSON, besides
summary.json in the raw output), BENCH_KEEP=1 keeps the raw output
directory, BENCH_ONLY (= --only), BENCH_FROM (see above).
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DUR=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-32}
RUNS=${BENCH_RUNS:-5}
RETRIES=${BENCH_RETRIES:-2}
RETRY_BUDGET=${BENCH_RETRY_BUDGET:-12}
OTHER_MAX_PCT=5	# see measure_style
SHARED_COST_RUNS=3	# see the workers part
SCALES=${BENCH_SCALES:-10 100 1000}
OUTPUT=${BENCH_OUTPUT:-$ROOT/BENCHMARKS.md}
JSON_OUT=${BENCH_JSON:-}
ONLY=${BENCH_ONLY:-}
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--only) [ $# -ge 2 ] || { usage >&2; exit 2; }; ONLY=$2; shift 2 ;;
	--only=*) ONLY=${1#--only=}; shift ;;
	storm) ONLY=storm; shift ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $ONLY in
"" | all) ONLY= ;;
storm | requests | workers) ;;
*) echo "tools/bench.sh: no part '$ONLY' (requests, workers or storm)" >&2; exit 2 ;;
esac
# part NAME: whether this run measures part NAME (every part without --only).
part() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
FROM=${BENCH_FROM:-}
if [ -n "$FROM" ]; then
	[ "$ONLY" = storm ] || { echo "BENCH_FROM goes with 'storm' only" >&2; exit 2; }
	[ -f "$FROM/meta.json" ] || { echo "BENCH_FROM=$FROM: no meta.json, not a kept bench run" >&2; exit 2; }
	FROM=$(cd "$FROM" && pwd)
fi
STORM_GUESTS=${BENCH_STORM_GUESTS:-200}
STORM_DELAY_MS=${BENCH_STORM_DELAY_MS:-50}
MDREDIR=$ROOT/build/mdredir
export MDREDIR
SB=mdb$(printf '%04x' $((RANDOM)))
. "$ROOT/tools/sandbox.sh"
WORK=$(mktemp -d /tmp/mdredir-bench.XXXXXX)
RAW=$WORK/raw
mkdir -p "$RAW"
SOCK=$WORK/agent.sock
NET_ID=4f1c8a52-6d0e-4b8e-9a55-2d5c0e7f3b11
SERVER_CPU=0
CLIENT_CPU=1
WRK=(wrk -t1 "-c$CONNS" "-d${DUR}s" --latency)
NGINX_PID=
DAEMON_PID=
STORM_BACKEND_PID=
SCALE_NS=()
T0=$(date +%s)

say() { printf '[bench %4ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup

haproxy_pids() { cat "$WORK"/hap*/pid 2>/dev/null || true; }

# start_haproxy NAME NETNS TAP NET_ID SOCK STDERR: Neutron's haproxy for
# one network, as its agent starts it: bound to 169.254.169.254 on the
# namespace's tap, on the server core, its files in $WORK/NAME (a hap*
# name, so that stop_haproxies finds its pid).
start_haproxy() {
	local dir=$WORK/$1 ns=$2 tap=$3 net=$4 sock=$5 err=$6

	mkdir -p "$dir"
	sed -e "s|@ID@|$net|g" -e "s|@PIDFILE@|$dir/pid|" -e "s|@SOCK@|$sock|" \
		tools/bench/haproxy.cfg.in >"$dir/haproxy.cfg"
	ip -n "$ns" addr add 169.254.169.254/32 dev "$tap"
	ip netns exec "$ns" taskset -c $SERVER_CPU haproxy -f "$dir/haproxy.cfg" \
		2>"$err" || die "haproxy: $(cat "$err")"
}

stop_haproxies() {
	local pids p
	pids=$(haproxy_pids)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null || true
	for p in $pids; do
		while [ -d "/proc/$p" ]; do sleep 0.02; done
	done
	rm -f "$WORK"/hap*/pid
}

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
}

del_scale_ns() {
	[ "${#SCALE_NS[@]}" -gt 0 ] || return 0
	printf 'netns del %s\n' "${SCALE_NS[@]}" | ip -force -batch - 2>/dev/null || true
	SCALE_NS=()
}

cleanup() {
	set +e
	trap - EXIT INT TERM
	stop_haproxies
	stop_daemon
	"$MDREDIR" unload >/dev/null 2>&1
	if [ -n "$NGINX_PID" ]; then
		kill "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
	fi
	if [ -n "$STORM_BACKEND_PID" ]; then
		kill "$STORM_BACKEND_PID" 2>/dev/null
		wait "$STORM_BACKEND_PID" 2>/dev/null
	fi
	del_scale_ns
	sb_cleanup
	# A part alone keeps its report there (BENCHMARKS.md is left alone).
	if [ -n "${BENCH_KEEP:-}" ] || { [ -n "$ONLY" ] && [ -z "$FROM" ]; }; then
		say "raw output kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup

[ "$(id -u)" = 0 ] || die "run as root"
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v perf >/dev/null || missing+=(linux-perf)
command -v strace >/dev/null || missing+=(strace)
command -v bpftool >/dev/null || missing+=(bpftool)
if [ "${#missing[@]}" -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
		# perf is optional: profiling is skipped without it.
		{ apt-get install -y -q "${missing[@]/linux-perf/}" >/dev/null || die "apt-get install ${missing[*]}"; }
fi
say "building mdredir"
make -s >/dev/null 2>&1 || { tools/deps.sh && make -s; } || die "make"
"$MDREDIR" unload >/dev/null 2>&1 || true

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }	# utime+stime, ticks

# group_ticks PID: the CPU ticks of PID's threads and child processes (a
# daemon's workers may be either); 0 without a PID (the limit has no proxy).
group_ticks() {
	local p t=0
	[ -n "$1" ] || { echo 0; return; }
	for p in $1 $(pgrep -P "$1" || true); do
		t=$((t + $(cpu_of "$p" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# task_ticks PID: "TID TICKS" for each thread of PID and of its children
# (the name in stat may hold spaces: fields are counted after its ')').
task_ticks() {
	local p
	[ -n "$1" ] || return 0
	for p in $1 $(pgrep -P "$1" || true); do
		cat /proc/"$p"/task/*/stat 2>/dev/null || true
	done | awk '{s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print $1, f[12] + f[13]}'
}

# task_delta BEFORE AFTER: the ticks each task used in between, of those
# that used any, comma-separated.
task_delta() {
	awk 'NR == FNR {a[$1] = $2; next}
		$2 > a[$1] {printf "%s%d", sep, $2 - a[$1]; sep = ","}' "$1" "$2"
}

# The daemon runs on DAEMON_CPUS (the server core, unless the workers'
# runs give it both).
DAEMON_CPUS=$SERVER_CPU
start_daemon() {
	: >"$WORK/daemon.log"
	taskset -c "$DAEMON_CPUS" "$MDREDIR" daemon "$@" 2>>"$WORK/daemon.log" &
	DAEMON_PID=$!
	for _ in $(seq 200); do
		grep -q 'listening on' "$WORK/daemon.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	die "daemon did not start: $(cat "$WORK/daemon.log")"
}

# kconfig: the running kernel's configuration, if it can be read.
kconfig() { zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null || true; }

if [ "$ONLY" != storm ]; then
# (Every part but the storm: the sandbox, the backend, the measuring.)

# The machine and the versions, for the report. How the kernel counts CPU
# time decides the precision of the CPU figures (see report.py).
{
	printf '{"date":"%s",' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf '"kernel":"%s","nproc":%s,' "$(uname -r)" "$(nproc)"
	printf '"mem":"%s",' "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	printf '"cpu":"%s",' "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
	printf '"haproxy":"%s",' "$(haproxy -v | awk 'NR==1 {print $3}')"
	printf '"nginx":"%s",' "$(nginx -v 2>&1 | sed 's/.*nginx\///')"
	printf '"wrk":"%s",' "$(wrk -v 2>&1 | awk 'NR==1 {print $2}')"
	printf '"mdredir":"%s",' "$(git describe --always --dirty 2>/dev/null || echo unknown)"
	printf '"kernel_hz":"%s",' "$(kconfig | awk -F= '$1 == "CONFIG_HZ" {print $2}')"
	printf '"cpu_accounting":"%s",' "$(kconfig | awk -F= '$2 == "y" && $1 ~ /^CONFIG_(TICK_CPU|VIRT_CPU|IRQ_TIME)_ACCOUNTING(_GEN|_NATIVE)?$/ {sub(/^CONFIG_/, "", $1); printf "%s%s", s, $1; s = " "}')"
	printf '"only":"%s","other_max_pct":%s,"retries":%s,"retry_budget":%s,' \
		"${ONLY:-all}" "$OTHER_MAX_PCT" "$RETRIES" "$RETRY_BUDGET"
	printf '"duration":%s,"conns":%s,"runs":%s}\n' "$DUR" "$CONNS" "$RUNS"
} >"$WORK/meta.json"

# ~500 bytes of OpenStack-like meta_data.json, the same for every design.
BODY='{"uuid": "d8e02d56-2648-415b-9e6c-6fd1ee6eb4b4", "meta": {"role": "webserver"}, "hostname": "bench-vm.novalocal", "name": "bench-vm", "launch_index": 0, "availability_zone": "nova", "random_seed": "q4Xv8y0tW9bX2mJpS7kQeR3nU6zL1cH5aF0dG8iK2oP4rT7wY9xB3vN6mQ1sE5uA", "project_id": "f7ac731cc11f40efbc03a9f9e1d1d21f", "devices": [], "keys": [{"name": "bench", "type": "ssh", "data": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBenchBench bench"}], "public_keys": {"bench": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBench"}}'
printf '%s' "$BODY" >"$WORK/body"

# The network: a bridge, a qdhcp-like namespace on it (10.0.0.2, the
# interface to attach, where haproxy and the backend run), and one VM
# (10.0.0.5) reaching 169.254.169.254 through 10.0.0.2.
say "sandbox $SB"
DHCP=$SB-dhcp
VM=$SB-vm
TAP=${SB}d
sb_network "$SB-sw" "$DHCP" "$TAP"
sb_vm_on_switch "$VM" "$SB-sw" "${SB}p" 10.0.0.5

# The one backend: nginx on a unix socket (haproxy, mdredir) and on
# 10.0.0.2:8080 (the limit), one worker on the server CPU.
sed -e "s|@DIR@|$WORK|g" -e "s|@SOCK@|$SOCK|g" -e "s|@ADDR@|10.0.0.2:8080|g" \
	-e "s|@BODY@|$(sed 's/[&|]/\\&/g' "$WORK/body")|" \
	tools/bench/nginx.conf.in >"$WORK/nginx.conf"
ip netns exec "$DHCP" taskset -c $SERVER_CPU nginx -c "$WORK/nginx.conf" \
	-p "$WORK" 2>"$WORK/nginx.stderr" &
NGINX_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || die "nginx did not start: $(cat "$WORK/nginx.stderr" "$WORK/nginx.err" 2>/dev/null)"
chmod 666 "$SOCK"

# ---------------------------------------------------------------- throughput

# check URL WANT_NETWORK: one request from the VM; the body must be ours and
# the backend must have seen the identity headers (when WANT_NETWORK is set).
check() {
	local url=$1 want=$2 hdrs
	hdrs=$(ip netns exec "$VM" curl -sS -m 5 -D - -o "$WORK/got" "$url") ||
		die "curl $url"
	grep -q '^HTTP/1.[01] 200' <<<"$hdrs" || die "$url: $(head -1 <<<"$hdrs")"
	cmp -s "$WORK/got" "$WORK/body" || die "$url: wrong body"
	if [ -n "$want" ]; then
		grep -qi "^X-Seen-Network-ID: $want" <<<"$hdrs" ||
			die "$url: backend did not see X-Neutron-Network-ID $want"
		grep -qi "^X-Seen-Forwarded-For: 10.0.0.5" <<<"$hdrs" ||
			die "$url: backend did not see X-Forwarded-For 10.0.0.5"
	fi
}

busy() { awk '/^cpu / {print $2+$3+$4+$7+$8; exit}' /proc/stat; }
# stolen: ticks the hypervisor gave our CPUs to someone else (all CPUs).
stolen() { awk '/^cpu / {print $9; exit}' /proc/stat; }
# core_busy N: busy ticks of CPU N alone (user, nice, system, irq, softirq).
core_busy() { awk -v c="cpu$1" '$1 == c {print $2+$3+$4+$7+$8; exit}' /proc/stat; }
# core_tasks N: the ticks of CPU N in tasks (user, nice, system), not in
# interrupts: less the proxy's and the backend's, what other tasks took
# of the server core (at least: those two are charged some interrupts).
core_tasks() { awk -v c="cpu$1" '$1 == c {print $2+$3+$4; exit}' /proc/stat; }
# core_idle N: idle, iowait and steal ticks of CPU N. Idle is not sampled
# at ticks but kept exact when the CPU sleeps (NO_HZ), so the wall time
# less these is the core's busy time without the ticks' sampling error.
core_idle() { awk -v c="cpu$1" '$1 == c {print $5+$6+$9; exit}' /proc/stat; }
now_ns() { date +%s%N; }

# How wrk runs in the VM: pinned to the client core, unless the workers'
# runs let it compete for both.
CLIENT_PIN=(taskset -c "$CLIENT_CPU")
RESULTS=$WORK/results.jsonl

# A run whose server core gave other tasks (not the proxy, not nginx) more
# than OTHER_MAX_PCT % of its busy time was disturbed by other work on the
# machine: it is run again, up to RETRIES times (RETRY_BUDGET times in all,
# so that a busy machine cannot stretch the run without end), and the
# disturbed ones are kept apart (disturbed.jsonl). Only where the client
# has a core of its own (otherwise it is one of the other tasks).

# measure_style DESIGN STYLE URL PID RUN [KEY=VALUE...]: run RUN of one
# connection style (after a 1 s warm-up), one JSON line in $RESULTS:
# wrk's figures, the CPU ticks of the proxy PID (threads and children)
# and of each of its tasks that ran, of the backend (nginx), how busy
# each core was; the KEY=VALUEs as they are.
measure_style() {
	local design=$1 style=$2 url=$3 pid=$4 run=$5 hdr=() f line try
	local c0 c1 n0 n1 b0 b1 s0 s1 k0 k1 t0 t1 o0 o1 w0 w1 i0 i1
	shift 5
	if [ "$style" = close ]; then hdr=(-H "Connection: close"); fi
	ip netns exec "$VM" "${CLIENT_PIN[@]}" wrk -t1 "-c$CONNS" -d1s \
		"${hdr[@]}" "$url" >"$RAW/$design-$style-warmup-$run.txt"
	f=$RAW/$design-$style-$run.txt
	for try in $(seq 0 "$RETRIES"); do
		task_ticks "$pid" >"$WORK/tasks0"
		c0=$(group_ticks "$pid") n0=$(group_ticks "$NGINX_PID") b0=$(busy)
		s0=$(core_busy $SERVER_CPU) k0=$(core_busy $CLIENT_CPU) t0=$(stolen)
		o0=$(core_tasks $SERVER_CPU) i0=$(core_idle $SERVER_CPU) w0=$(now_ns)
		ip netns exec "$VM" "${CLIENT_PIN[@]}" "${WRK[@]}" "${hdr[@]}" \
			"$url" >"$f"
		c1=$(group_ticks "$pid") n1=$(group_ticks "$NGINX_PID") b1=$(busy)
		s1=$(core_busy $SERVER_CPU) k1=$(core_busy $CLIENT_CPU) t1=$(stolen)
		o1=$(core_tasks $SERVER_CPU) i1=$(core_idle $SERVER_CPU) w1=$(now_ns)
		task_ticks "$pid" >"$WORK/tasks1"
		line=$(python3 tools/bench/wrk2json.py "design=$design" "style=$style" \
			"run=$run" "try=$try" "proxy_ticks=$((c1 - c0))" \
			"backend_ticks=$((n1 - n0))" \
			"task_ticks=$(task_delta "$WORK/tasks0" "$WORK/tasks1")" \
			"busy_ticks=$((b1 - b0))" "hz=$(getconf CLK_TCK)" \
			"server_core_ticks=$((s1 - s0))" \
			"client_core_ticks=$((k1 - k0))" \
			"server_core_task_ticks=$((o1 - o0))" \
			"server_core_idle_ticks=$((i1 - i0))" \
			"secs=$(((w1 - w0) / 1000000000)).$(printf %03d $(((w1 - w0) / 1000000 % 1000)))" \
			"stolen_ticks=$((t1 - t0))" "ncpu=$(nproc)" "$@" <"$f" |
			jq -c --argjson max "$OTHER_MAX_PCT" --argjson own "${#CLIENT_PIN[@]}" '
				.other_ticks = ([.server_core_task_ticks - .proxy_ticks - .backend_ticks, 0] | max) |
				.disturbed = ($own > 0 and .other_ticks * 100 > $max * .server_core_ticks)')
		say "$design $style #$run: $(jq -r '"\(.rps|floor) req/s p99 \(.p99_ms) ms, server core \(.server_core_ticks * 1e6 / .hz / (.requests // 1) * 10 | round / 10) µs/req (proxy \(.proxy_ticks * 1e6 / .hz / (.requests // 1) * 10 | round / 10), other tasks \(.other_ticks * 1e6 / .hz / (.requests // 1) * 10 | round / 10)), non2xx \(.non2xx) sockerr \(.sock_err)" + (if .disturbed then ", DISTURBED" else "" end)' <<<"$line")"
		if [ "$try" = "$RETRIES" ] || [ "$RETRY_BUDGET" -le 0 ] ||
			[ "$(jq .disturbed <<<"$line")" = false ]; then
			break
		fi
		RETRY_BUDGET=$((RETRY_BUDGET - 1))
		printf '%s\n' "$line" >>"$WORK/disturbed.jsonl"
	done
	printf '%s\n' "$line" >>"$RESULTS"
	# The daemon's access log: keep what is not an access line.
	if [ "$pid" = "${DAEMON_PID:-}" ]; then
		grep -v ' access ' "$WORK/daemon.log" >>"$WORK/daemon.notes" || true
		grep ' access ' "$WORK/daemon.log" | grep -vc '" 200 ' \
			>"$RAW/$design-$style-$run.non200" || true
		: >"$WORK/daemon.log"
	fi
}

# measure_run DESIGN URL PROXY_PID RUN: run RUN of each connection style.
measure_run() {
	local style
	for style in close keepalive; do measure_style "$1" "$style" "$2" "$3" "$4"; done
}

# profile DESIGN URL PID: syscalls per request (strace -c on the proxy over
# a short run of each style) and, for mdredir, where the CPU goes (perf).
profile() {
	local design=$1 url=$2 pid=$3 style hdr sp
	for style in close keepalive; do
		hdr=()
		[ "$style" = close ] && hdr=(-H "Connection: close")
		strace -c -f -p "$pid" -o "$RAW/strace-$design-$style.txt" &
		sp=$!
		sleep 0.5
		ip netns exec "$VM" taskset -c $CLIENT_CPU wrk -t1 "-c$CONNS" -d5s \
			"${hdr[@]}" "$url" >"$RAW/strace-$design-$style.wrk"
		kill -INT "$sp"
		wait "$sp" 2>/dev/null || true
		if [ -n "$DAEMON_PID" ]; then : >"$WORK/daemon.log"; fi
		if command -v perf >/dev/null; then
			perf record -q -a -o "$WORK/perf.data" -- \
				ip netns exec "$VM" taskset -c $CLIENT_CPU wrk -t1 "-c$CONNS" \
				-d5s "${hdr[@]}" "$url" >"$RAW/perf-$design-$style.wrk" 2>/dev/null
			{ perf report -i "$WORK/perf.data" --sort comm,dso \
				--stdio 2>/dev/null | grep -v -e '^#' -e '^$' |
				head -20 >"$RAW/perf-$design-$style.comm"; } || true
			{ perf report -i "$WORK/perf.data" --sort sym \
				--comms "$(cat "/proc/$pid/comm")" --stdio 2>/dev/null |
				grep -v -e '^#' -e '^$' | head -30 >"$RAW/perf-$design-$style.sym"; } || true
			if [ -n "$DAEMON_PID" ]; then : >"$WORK/daemon.log"; fi
		fi
	done
}

MD_URL=http://169.254.169.254/openstack/latest/meta_data.json

LIMIT_URL=http://10.0.0.2:8080/openstack/latest/meta_data.json

# use DESIGN: what the VM reaches from now on.
use() {
	"$MDREDIR" detach "$TAP" --netns "$DHCP" >/dev/null 2>&1 || true
	case $1 in
	mdredir-tc)
		"$MDREDIR" attach "$TAP" --netns "$DHCP" --network-id "$NET_ID" \
			2>"$RAW/attach-tc.stderr" || die "attach (TC)" ;;
	mdredir-xdp)
		"$MDREDIR" attach "$TAP" --netns "$DHCP" --network-id "$NET_ID" \
			--mode xdp 2>"$RAW/attach-xdp.stderr" || die "attach (XDP)"
		"$MDREDIR" list --json | jq -r '.[0].mode' >"$RAW/xdp-mode" ;;
	esac
}
url_of() { if [ "$1" = limit ]; then echo "$LIMIT_URL"; else echo "$MD_URL"; fi; }
pid_of() {
	case $1 in
	limit) echo "" ;;	# no proxy: nginx is counted as the backend
	haproxy) echo "$HAP_PID" ;;
	*) echo "$DAEMON_PID" ;;
	esac
}

# bench_ini N: the daemon's configuration as it is benchmarked fairly: no
# SYN rate limits (the shipped defaults are measured separately below);
# N workers ([mdredir] workers, issue 14) if this daemon knows the option.
bench_ini() {
	printf '[mdredir]\nnew_connection_rate = 0\nnew_connection_rate_per_guest = 0\n'
	if [ -z "$WORKERS_SKIP" ]; then printf 'workers = %s\n' "$1"; fi
}

# Whether this daemon knows `[mdredir] workers`: it warns about an option
# it does not know, and goes on without it.
WORKERS_SKIP=
printf '[mdredir]\nworkers = 2\n' >"$WORK/trial.ini"
start_daemon --backend "neutron:unix:$SOCK" --config "$WORK/trial.ini"
if grep -q 'unknown option \[mdredir\] workers' "$WORK/daemon.log"; then
	WORKERS_SKIP="this mdredir ($(git describe --always --dirty 2>/dev/null)) does not know [mdredir] workers: its daemon warns \"unknown option [mdredir] workers (ignored)\""
fi
stop_daemon
fi	# [ "$ONLY" != storm ]

if part requests; then
# Every design is set up once, side by side: haproxy bound to
# 169.254.169.254 in the qdhcp-like namespace as Neutron does, and the
# mdredir daemon (one worker, on the server core like haproxy). Whether
# mdredir is attached (and how) decides which of them the VM reaches;
# the limit runs with nothing attached.
say "Neutron's haproxy and the mdredir daemon, side by side"
start_haproxy hap0 "$DHCP" "$TAP" "$NET_ID" "$SOCK" "$RAW/haproxy.stderr"
HAP_PID=$(cat "$WORK/hap0/pid")
ls "/proc/$HAP_PID/task" | wc -l >"$RAW/haproxy.threads"

bench_ini 1 >"$WORK/bench.ini"
start_daemon --backend "neutron:unix:$SOCK" --config "$WORK/bench.ini"
DESIGNS_RUN=(limit haproxy mdredir-tc mdredir-xdp)

# Each proxy passes the identity to the backend (the limit has no proxy).
for d in "${DESIGNS_RUN[@]}"; do
	use "$d"
	if [ "$d" = limit ]; then check "$LIMIT_URL" ""; else check "$MD_URL" "$NET_ID"; fi
done

# The designs take turns, run by run, so that a slow spell of this shared
# machine (see "CPU stolen") falls on all of them rather than on one.
for run in $(seq "$RUNS"); do
	for d in "${DESIGNS_RUN[@]}"; do
		use "$d"
		measure_run "$d" "$(url_of "$d")" "$(pid_of "$d")" "$run"
	done
done
"$MDREDIR" stats --json >"$RAW/stats-after-xdp.json"

if [ -z "$ONLY" ]; then
	for d in haproxy mdredir-tc; do
		use "$d"
		profile "$d" "$MD_URL" "$(pid_of "$d")"
	done
fi
use none
stop_haproxies
ip -n "$DHCP" addr del 169.254.169.254/32 dev "$TAP"
stop_daemon

if [ -z "$ONLY" ]; then
	say "mdredir TC mode, shipped defaults (SYN rate limit as shipped)"
	start_daemon --backend "neutron:unix:$SOCK"
	"$MDREDIR" attach "$TAP" --netns "$DHCP" --network-id "$NET_ID"
	check "$MD_URL" "$NET_ID"
	measure_run mdredir-tc-defaults "$MD_URL" "$DAEMON_PID" 1
	"$MDREDIR" stats --json >"$RAW/stats-defaults.json"
	stop_daemon
fi
"$MDREDIR" unload >/dev/null
fi	# part requests

# ---------------------------------------------------------------- workers

# place WHERE: cpu0 puts the server side (the daemon, nginx) on the server
# core and the client on the other, as above; both gives the server side
# both cores and lets the client compete for them (this machine has two:
# it cannot give the server both and the client its own).
place() {
	local cpus p
	case $1 in
	cpu0) cpus=$SERVER_CPU CLIENT_PIN=(taskset -c "$CLIENT_CPU") ;;
	both) cpus=$SERVER_CPU,$CLIENT_CPU CLIENT_PIN=() ;;
	esac
	DAEMON_CPUS=$cpus
	for p in $NGINX_PID $(pgrep -P "$NGINX_PID"); do
		taskset -a -p -c "$cpus" "$p" >/dev/null
	done
}

if part workers; then
if [ -n "$WORKERS_SKIP" ]; then
	say "workers: SKIPPED: $WORKERS_SKIP"
	printf '%s\n' "$WORKERS_SKIP" >"$WORK/workers.skipped"
else
	# 1 and 2 workers take turns like the designs above, in each
	# placement; the daemon is restarted for each (and checked: the
	# identity still reaches the backend), the attachment stays.
	# What the locks the workers share cost a request, uncontended and
	# with every CPU at them (tools/bench/shared_cost.c): with the
	# per-core figures below, what a many-core node would ask of them.
	# Before the runs, the daemon stopped: nothing else of ours wants
	# the CPUs. Nanoseconds are at the mercy of anything else running
	# (a neighbour's burst made one such run 60 times slower): it runs
	# SHARED_COST_RUNS times, and the report takes the fastest.
	say "workers: the shared locks' cost (shared_cost, $SHARED_COST_RUNS × 2 s)"
	for _ in $(seq "$SHARED_COST_RUNS"); do
		"$ROOT/build/tools/shared_cost" 2 >>"$WORK/shared_cost.jsonl" \
			2>"$WORK/shared_cost.stderr" ||
			die "shared_cost: $(cat "$WORK/shared_cost.stderr")"
		say "workers: shared locks: $(tail -1 "$WORK/shared_cost.jsonl")"
	done
	say "workers: 1 vs 2, TC mode, $RUNS rounds"
	RESULTS=$WORK/workers.jsonl
	bench_ini 1 >"$WORK/bench-w1.ini"
	bench_ini 2 >"$WORK/bench-w2.ini"
	attached=
	for run in $(seq "$RUNS"); do
		for where in cpu0 both; do
			for n in 1 2; do
				place "$where"
				stop_daemon
				start_daemon --backend "neutron:unix:$SOCK" --config "$WORK/bench-w$n.ini"
				if [ -z "$attached" ]; then use mdredir-tc; attached=1; fi
				check "$MD_URL" "$NET_ID"
				for style in close keepalive; do
					measure_style "w$n-$where" "$style" "$MD_URL" "$DAEMON_PID" \
						"$run" "workers=$n" "place=$where" \
						"tasks=$(task_ticks "$DAEMON_PID" | wc -l)"
				done
			done
		done
	done
	stop_daemon
	place cpu0
	RESULTS=$WORK/results.jsonl
	"$MDREDIR" unload >/dev/null
fi
fi	# part workers

if [ -z "$ONLY" ]; then
# (Scale and attach cost: the full run only.)

# ---------------------------------------------------------------- scale

used_kib() { awk '/MemTotal/ {t=$2} /MemAvailable/ {a=$2} END {print t - a}' /proc/meminfo; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
rss_kib() { awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup"; }
now_ms() { date +%s%3N; }

# bpf_kib: memlock of mdredir's maps (pinned under /sys/fs/bpf/mdredir, and
# the per-program .rodata/.bss maps) and of its programs.
bpf_kib() {
	bpftool -f map show --json >"$WORK/maps.json"
	bpftool prog show --json >"$WORK/progs.json"
	jq -n --slurpfile m "$WORK/maps.json" --slurpfile p "$WORK/progs.json" '
		($p[0] | map(select(.name | startswith("mdr_")))) as $mp |
		($mp | map(.map_ids // []) | add // [] | unique) as $ids |
		($m[0] | map(select(((.pinned // []) | any(startswith("/sys/fs/bpf/mdredir")))
			or (.id as $i | $ids | bsearch($i) >= 0)))) as $mm |
		{map_kib: (($mm | map(.bytes_memlock // 0) | add // 0) / 1024),
		 maps: ($mm | length),
		 prog_kib: (($mp | map(.bytes_memlock // 0) | add // 0) / 1024),
		 progs: ($mp | length),
		 jited_kib: (($mp | map(.bytes_jited // 0) | add // 0) / 1024)}'
}

settle() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1; }

for N in $SCALES; do
	say "scale N=$N: $N qdhcp-like namespaces"
	SCALE_NS=()
	for i in $(seq "$N"); do SCALE_NS+=("${SB}s$i"); done
	for i in $(seq "$N"); do
		echo "netns add ${SB}s$i"
		echo "link add ${SB}t$i netns ${SB}s$i type veth peer name ${SB}q$i netns ${SB}s$i"
	done | ip -batch - || die "creating namespaces"
	for i in $(seq "$N"); do
		printf 'link set lo up\nlink set %s up\nlink set %s up\naddr add 169.254.169.254/32 dev %s\n' \
			"${SB}q$i" "${SB}t$i" "${SB}t$i" | ip -n "${SB}s$i" -batch - ||
			die "namespace ${SB}s$i"
		mkdir -p "$WORK/hap$i"
		sed -e "s|@ID@|net-$i|g" -e "s|@PIDFILE@|$WORK/hap$i/pid|" -e "s|@SOCK@|$SOCK|" \
			tools/bench/haproxy.cfg.in >"$WORK/hap$i/haproxy.cfg"
	done

	# haproxy, as Neutron runs it: one daemon per namespace, not pinned.
	settle
	m0=$(used_kib)
	t0=$(now_ms)
	for i in $(seq "$N"); do
		ip netns exec "${SB}s$i" haproxy -f "$WORK/hap$i/haproxy.cfg" 2>/dev/null ||
			die "haproxy $i"
	done
	t1=$(now_ms)
	sleep 2
	m1=$(used_kib)
	pss=0 rss=0
	for p in $(haproxy_pids); do
		pss=$((pss + $(pss_kib "$p"))) rss=$((rss + $(rss_kib "$p")))
	done
	nhap=$(haproxy_pids | wc -l)
	hap_threads=$(ls "/proc/$(haproxy_pids | head -1)/task" | wc -l)
	stop_haproxies

	# mdredir: the daemon running, then the N attachments in one
	# `attach --batch` (what an agent resyncing a host would run; one
	# command per attachment is timed in "attach cost" below).
	for i in $(seq "$N"); do
		echo "${SB}t$i --netns ${SB}s$i --network-id net-$i"
	done >"$WORK/batch"
	settle
	m2=$(used_kib)
	start_daemon --backend "neutron:unix:$SOCK"
	t2=$(now_ms)
	"$MDREDIR" attach --batch "$WORK/batch" || die "attach --batch"
	t3=$(now_ms)
	sleep 2
	m3=$(used_kib)
	nattach=$("$MDREDIR" list --json | jq length)
	dpss=$(pss_kib "$DAEMON_PID") drss=$(rss_kib "$DAEMON_PID")
	dfds=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
	links=$(ip -n mdredir -o link show type veth | wc -l)
	bpf_kib >"$WORK/bpf.json"
	stop_daemon
	t4=$(now_ms)
	"$MDREDIR" unload >/dev/null
	t5=$(now_ms)
	del_scale_ns
	jq -nc --argjson n "$N" --argjson nhap "$nhap" --argjson hthreads "$hap_threads" \
		--argjson hap_ms $((t1 - t0)) --argjson hap_pss "$pss" --argjson hap_rss "$rss" \
		--argjson hap_sys $((m1 - m0)) --argjson att_ms $((t3 - t2)) \
		--argjson nattach "$nattach" --argjson d_pss "$dpss" --argjson d_rss "$drss" \
		--argjson d_fds "$dfds" --argjson links "$links" --slurpfile bpf "$WORK/bpf.json" \
		--argjson md_sys $((m3 - m2)) --argjson unload_ms $((t5 - t4)) \
		'{n:$n, nhap:$nhap, hap_threads:$hthreads, hap_start_ms:$hap_ms,
		  hap_pss_kib:$hap_pss, hap_rss_kib:$hap_rss, hap_sys_kib:$hap_sys,
		  attach_ms:$att_ms, nattach:$nattach, daemon_pss_kib:$d_pss,
		  daemon_rss_kib:$d_rss, daemon_fds:$d_fds, proxy_links:$links,
		  bpf:$bpf[0], md_sys_kib:$md_sys, unload_ms:$unload_ms}' \
		>>"$WORK/scale.jsonl"
	say "N=$N: $(tail -1 "$WORK/scale.jsonl")"
done

# ---------------------------------------------------------------- attach cost

# What one attach command costs, broken down: a do-nothing command (process
# start, pinned state opened), the first attach in a namespace (its link
# veth pair made), a second interface in the same namespace (filter and map
# entries only). M of each, daemon running.
M=20
say "attach cost breakdown, $M namespaces with 2 taps each"
SCALE_NS=()
for i in $(seq "$M"); do SCALE_NS+=("${SB}c$i"); done
for i in $(seq "$M"); do
	echo "netns add ${SB}c$i"
	echo "link add ${SB}a$i netns ${SB}c$i type veth peer name ${SB}A$i netns ${SB}c$i"
	echo "link add ${SB}b$i netns ${SB}c$i type veth peer name ${SB}B$i netns ${SB}c$i"
done | ip -batch - || die "creating namespaces"
for i in $(seq "$M"); do
	printf 'link set %s up\nlink set %s up\nlink set %s up\nlink set %s up\n' \
		"${SB}a$i" "${SB}A$i" "${SB}b$i" "${SB}B$i" | ip -n "${SB}c$i" -batch -
done
start_daemon --backend "neutron:unix:$SOCK"
t0=$(now_ms)
for i in $(seq "$M"); do "$MDREDIR" list >/dev/null; done
t1=$(now_ms)
for i in $(seq "$M"); do
	"$MDREDIR" attach "${SB}a$i" --netns "${SB}c$i" --network-id "net-a$i" || die "attach a$i"
done
t2=$(now_ms)
for i in $(seq "$M"); do
	"$MDREDIR" attach "${SB}b$i" --netns "${SB}c$i" --network-id "net-b$i" || die "attach b$i"
done
t3=$(now_ms)
for i in $(seq "$M"); do "$MDREDIR" detach "${SB}b$i" --netns "${SB}c$i"; done
t4=$(now_ms)
# The first attach in a fresh namespace, under strace: its system calls.
echo "netns add ${SB}c0" >"$WORK/c0"
echo "link add ${SB}a0 netns ${SB}c0 type veth peer name ${SB}A0 netns ${SB}c0" >>"$WORK/c0"
ip -batch "$WORK/c0"
SCALE_NS+=("${SB}c0")
ip -n "${SB}c0" link set "${SB}A0" up
ip -n "${SB}c0" link set "${SB}a0" up
strace -f -c -o "$RAW/strace-attach.txt" "$MDREDIR" attach "${SB}a0" --netns "${SB}c0" --network-id net-a0
perf stat -o "$RAW/perf-stat-attach.txt" -- "$MDREDIR" attach "${SB}b$M" --netns "${SB}c$M" --network-id "net-x" >/dev/null 2>&1 || true
stop_daemon
"$MDREDIR" unload >/dev/null
del_scale_ns
jq -nc --argjson m "$M" --argjson list $((t1 - t0)) --argjson first $((t2 - t1)) \
	--argjson second $((t3 - t2)) --argjson detach $((t4 - t3)) \
	'{m:$m, list_ms:$list, first_ms:$first, second_ms:$second, detach_ms:$detach}' \
	>"$WORK/attachcost.json"
say "attach cost: $(cat "$WORK/attachcost.json")"
fi	# [ -z "$ONLY" ]

# ---------------------------------------------------------------- boot storm

# STORM_GUESTS guests behind one qdhcp-like tap (one attachment for the
# whole network) boot at once and each crawl cloud-init's metadata paths
# (tools/bench/storm_crawl.py) twice, a new connection per request, from a
# backend that takes STORM_DELAY_MS per answer (tools/bench/storm_backend.py).
# In turn: Neutron's haproxy, mdredir without cache, mdredir with
# cache_ttl = 15 (Nova's metadata_cache_expiration).
if part storm; then
ST=$WORK/storm
mkdir -p "$ST"
STORM_SOCK=$WORK/storm.sock
STORM_NET=7d3e9b20-5c1a-4f6e-8b42-storm0000001
SSW=$SB-ssw
SDHCP=$SB-sdhcp
STAP=${SB}D
# Above the guests' count: on a qdhcp tap every guest of the network shares
# one attachment's cap (default 256); each guest holds one connection at a
# time here, closing ones linger a moment.
STORM_MAXCONN=$((STORM_GUESTS * 2 > 256 ? STORM_GUESTS * 2 : 256))
say "storm: $STORM_GUESTS guests on one bridge behind one qdhcp-like tap"
sb_network "$SSW" "$SDHCP" "$STAP"
# The guests are 10.0.1.3, 10.0.1.4, ... in 10.0.0.0/16: the qdhcp-like
# namespace needs the /16 to answer them (ARP, replies).
ip -n "$SDHCP" route add 10.0.0.0/16 dev "$STAP"
: >"$ST/guests"
for i in $(seq "$STORM_GUESTS"); do
	echo "$SB-g$i 10.0.$((i / 250 + 1)).$((i % 250 + 2))" >>"$ST/guests"
	SB_MADE_NETNS+=("$SB-g$i")
done
while read -r ns _; do echo "netns add $ns"; done <"$ST/guests" | ip -batch - ||
	die "storm: creating namespaces"
i=0
while read -r ns _; do
	i=$((i + 1))
	echo "link add ${SB}g$i netns $SSW type veth peer name eth0 netns $ns"
done <"$ST/guests" | ip -batch - || die "storm: creating veths"
for i in $(seq "$STORM_GUESTS"); do
	echo "link set ${SB}g$i master br0 up"
done | ip -n "$SSW" -batch - || die "storm: bridge ports"
while read -r ns ip; do
	printf 'link set lo up\naddr add %s/16 dev eth0\nlink set eth0 up\nroute add 169.254.169.254/32 via 10.0.0.2\n' \
		"$ip" | ip -n "$ns" -batch - || die "storm: guest $ns"
done <"$ST/guests"
G1=$(awk 'NR == 1 {print $1}' "$ST/guests")

taskset -c $SERVER_CPU python3 tools/bench/storm_backend.py "$STORM_SOCK" \
	"$STORM_DELAY_MS" 2>"$ST/backend.stderr" &
STORM_BACKEND_PID=$!
for _ in $(seq 100); do [ -S "$STORM_SOCK" ] && break; sleep 0.05; done
[ -S "$STORM_SOCK" ] || die "storm backend did not start: $(cat "$ST/backend.stderr")"
backend() { curl -sS -m 5 --unix-socket "$STORM_SOCK" "http://backend/__$1"; }

jq -n --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
	--arg mdredir "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	--arg haproxy "$(haproxy -v | awk 'NR==1 {print $3}')" \
	--argjson guests "$STORM_GUESTS" --argjson delay "$STORM_DELAY_MS" \
	--argjson maxconn "$STORM_MAXCONN" --arg kernel "$(uname -r)" \
	--argjson nproc "$(nproc)" \
	'{date:$date, mdredir:$mdredir, haproxy:$haproxy, guests:$guests,
	  delay_ms:$delay, max_connections_per_attachment:$maxconn,
	  kernel:$kernel, nproc:$nproc}' >"$ST/meta.json"

# storm_run CONFIG PROXY_PID: one check from the first guest, counters
# zeroed, then every guest crawls; what the backend and the proxy saw.
storm_run() {
	local cfg=$1 pid=$2 got c0 c1 b0 b1
	got=$(ip netns exec "$G1" curl -sS -m 5 http://169.254.169.254/storm-check) ||
		die "storm $cfg: the first guest cannot reach metadata"
	jq -e --arg ip "$(awk 'NR == 1 {print $2}' "$ST/guests")" --arg net "$STORM_NET" \
		'.forwarded_for == $ip and .network_id == $net' <<<"$got" >/dev/null ||
		die "storm $cfg: wrong identity at the backend: $got"
	backend reset >/dev/null
	if [ -n "$DAEMON_PID" ]; then : >"$WORK/daemon.log"; fi
	c0=$(cpu_of "$pid") b0=$(cpu_of "$STORM_BACKEND_PID")
	taskset -c $CLIENT_CPU python3 tools/bench/storm_crawl.py "$ST/guests" \
		"$STORM_NET" "$ST/crawl-$cfg.json" 2 2>"$ST/crawl-$cfg.stderr" ||
		die "storm $cfg: crawler: $(tail -5 "$ST/crawl-$cfg.stderr")"
	c1=$(cpu_of "$pid") b1=$(cpu_of "$STORM_BACKEND_PID")
	backend stats >"$ST/backend-$cfg.json"
	say "storm $cfg: $(head -1 "$ST/crawl-$cfg.stderr"), backend saw $(jq .total "$ST/backend-$cfg.json")"
	if grep -q '^  ' "$ST/crawl-$cfg.stderr"; then
		say "storm $cfg: ERRORS (first ones):"
		grep '^  ' "$ST/crawl-$cfg.stderr" | head -5 >&2
	fi
	local hits=0 lines=0 non200=0
	if [ -n "$DAEMON_PID" ]; then
		"$MDREDIR" stats --json >"$ST/stats-$cfg.json"
		cp "$WORK/daemon.log" "$ST/daemon-$cfg.log"
		lines=$(grep -c ' access ' "$WORK/daemon.log" || true)
		hits=$(grep ' access ' "$WORK/daemon.log" | grep -c ' cache=hit' || true)
		non200=$(grep ' access ' "$WORK/daemon.log" | grep -vc '" 200 ' || true)
	fi
	jq -nc --arg cfg "$cfg" --argjson ticks $((c1 - c0)) \
		--argjson bticks $((b1 - b0)) --argjson hz "$(getconf CLK_TCK)" \
		--argjson lines "$lines" --argjson hits "$hits" --argjson non200 "$non200" \
		'{config:$cfg, proxy_ticks:$ticks, backend_ticks:$bticks, hz:$hz, access_lines:$lines,
		  cache_hits:$hits, access_non200:$non200}' >>"$ST/storm.jsonl"
}

: >"$ST/storm.jsonl"
say "storm: Neutron's haproxy"
start_haproxy haps "$SDHCP" "$STAP" "$STORM_NET" "$STORM_SOCK" "$ST/haproxy.stderr"
storm_run haproxy "$(cat "$WORK/haps/pid")"
stop_haproxies
ip -n "$SDHCP" addr del 169.254.169.254/32 dev "$STAP"

for ttl in 0 15; do
	cfg=mdredir-ttl$ttl
	say "storm: mdredir, cache_ttl = $ttl"
	cat >"$ST/$cfg.ini" <<-EOF2
		[mdredir]
		cache_ttl = $ttl
		max_connections_per_attachment = $STORM_MAXCONN
	EOF2
	start_daemon --backend "neutron:unix:$STORM_SOCK" --config "$ST/$cfg.ini"
	"$MDREDIR" attach "$STAP" --netns "$SDHCP" --network-id "$STORM_NET" ||
		die "storm: attach"
	storm_run "$cfg" "$DAEMON_PID"
	stop_daemon
	"$MDREDIR" unload >/dev/null
done
kill "$STORM_BACKEND_PID" 2>/dev/null || true
wait "$STORM_BACKEND_PID" 2>/dev/null || true
STORM_BACKEND_PID=
fi	# part storm

# ---------------------------------------------------------------- report

if [ "$ONLY" = storm ] && [ -n "$FROM" ]; then
	# The earlier run's sections and this storm, in one report.
	rm -rf "$FROM/storm"
	cp -r "$ST" "$FROM/storm"
	say "storm data added to $FROM; writing $OUTPUT"
	python3 tools/bench/report.py "$FROM" "$OUTPUT"
elif [ -n "$ONLY" ]; then
	say "writing $WORK/BENCHMARKS-$ONLY.md (BENCHMARKS.md left alone: one part only)"
	python3 tools/bench/report.py "$WORK" "$WORK/BENCHMARKS-$ONLY.md" \
		--json "$WORK/summary.json" --print-issue14
else
	say "writing $OUTPUT"
	python3 tools/bench/report.py "$WORK" "$OUTPUT" --json "$WORK/summary.json"
fi
if [ -n "$JSON_OUT" ] && [ -f "$WORK/summary.json" ]; then
	cp "$WORK/summary.json" "$JSON_OUT"
fi
say "done in $(($(date +%s) - T0)) s"
