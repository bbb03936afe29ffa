#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/ovn-bench.sh: the ovn attachment source's speed and scale (issue #11,
# point 4), on real OVN databases and ovn-northd on unix sockets, with veth
# taps and guest namespaces of its own; prints a table. Run as root:
#
#   tools/ovn-bench.sh
#
# 1. Bound -> served: a port made and plugged, its tap wired to a guest;
#    the clock starts when the binding is written to the Southbound; stops
#    when the daemon logs the attachment ("attached") and when the guest's
#    first request succeeds ("served"). Run on the loaded host of 2.
# 2. Scale: BENCH_TOTAL ports over BENCH_NETWORKS networks in Northbound,
#    BENCH_PORTS of them bound to our chassis and plugged (veth taps), the
#    rest bound to chassis `other`; the daemon's time from start to all
#    attached, and its memory; then again with no other chassis' ports.
# 3. Restart: SIGKILL the daemon with BENCH_PORTS attached and BENCH_GUESTS
#    guests requesting in a loop; the new daemon's resync, its detaches and
#    attaches, and the guests' failed requests.
# 4. The anchor's design (the OVN metadata agent replicates the whole
#    Port_Binding table): build/tests/ovsdb_watch following all of
#    Port_Binding against only our chassis' rows.
#
# Knobs (environment): BENCH_PORTS (1000), BENCH_TOTAL (10000),
# BENCH_NETWORKS (100), BENCH_LATENCY_RUNS (100), BENCH_REPS (3: scale,
# restart and anchor repetitions; the table gives medians), BENCH_GUESTS
# (5), BENCH_KEEP=1 keeps the raw output directory, BENCH_PERF=1 profiles
# the first start of each setup (perf, call graphs; in the raw output).
#
# It holds /tmp/mdredir-suite.lock for its whole run (BPF pins, netns) and
# removes everything it made on exit, Ctrl-C included.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PORTS=${BENCH_PORTS:-1000}
TOTAL=${BENCH_TOTAL:-10000}
NETWORKS=${BENCH_NETWORKS:-100}
LAT_RUNS=${BENCH_LATENCY_RUNS:-100}
REPS=${BENCH_REPS:-3}
GUESTS=${BENCH_GUESTS:-5}
PERF=${BENCH_PERF:-}
MDREDIR=$ROOT/build/mdredir
WATCH=$ROOT/build/tests/ovsdb_watch
export MDREDIR
# Short: interface names are SB + t + 5 digits (+ p) within 15 bytes.
SB=ob$(printf '%04x' $((RANDOM)))
. "$ROOT/tools/sandbox.sh"
WORK=
DAEMON_PID=
FOLLOW_PID=
PERF_PID=
GUEST_PIDS=()
VETHS=0
T0=$(date +%s)
STATUS=/run/mdredir/source-ovn

say() { printf '[ovn-bench %4ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
now_ms() { local t=$EPOCHREALTIME; echo $((${t/./} / 1000)); }
# wait_for WHAT CMD...: until CMD succeeds, 60 s at most.
wait_for() {
	local what=$1 end=$(($(now_ms) + 60000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt $end ] || die "$what: not in 60 s"
		sleep 0.002
	done
}

if [ "$(id -u)" != 0 ]; then
	echo "tools/ovn-bench.sh: run as root" >&2
	exit 1
fi
# The whole run under the suite's lock: it loads BPF and makes namespaces.
if [ -z "${OVN_BENCH_LOCKED:-}" ]; then
	OVN_BENCH_LOCKED=1 exec flock /tmp/mdredir-suite.lock "$0" "$@"
fi
[ $((PORTS + LAT_RUNS)) -le 4000 ] || die "BENCH_PORTS + BENCH_LATENCY_RUNS > 4000 (mdredir attaches 4096 at most)"
[ "$PORTS" -le "$TOTAL" ] || die "BENCH_PORTS > BENCH_TOTAL"
[ "$GUESTS" -le "$PORTS" ] || die "BENCH_GUESTS > BENCH_PORTS"
# Port g is on network g % NETWORKS, host 10 + g / NETWORKS of its /24.
[ $(((TOTAL + LAT_RUNS) / NETWORKS)) -lt 240 ] ||
	die "more than 240 ports a network: raise BENCH_NETWORKS"
[ "$NETWORKS" -le 65000 ] || die "BENCH_NETWORKS > 65000"

# ---------------------------------------------------------------- cleanup

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
}

stop_guests() {
	[ "${#GUEST_PIDS[@]}" -gt 0 ] || return 0
	kill "${GUEST_PIDS[@]}" 2>/dev/null || true
	wait "${GUEST_PIDS[@]}" 2>/dev/null || true
	GUEST_PIDS=()
}

# ovn_down: stops the OVN processes of the current setup (the harness's
# ovn_stop), removes its taps.
ovn_down() {
	[ -n "${OVN:-}" ] || return 0
	ovn_stop
	del_veths
	OVN=
}

# del_veths: the plain taps of the current setup, in one request each batch.
del_veths() {
	[ "$VETHS" -gt 0 ] || return 0
	local i
	for ((i = GUESTS; i < VETHS; i++)); do
		printf 'link del %st%05d\n' "$SB" "$i"
	done | ip -force -batch - 2>/dev/null || true
	VETHS=0
}

cleanup() {
	set +e
	trap - EXIT INT TERM
	stop_guests
	stop_daemon
	[ -z "$FOLLOW_PID" ] || kill "$FOLLOW_PID" 2>/dev/null
	[ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null
	"$MDREDIR" unload >/dev/null 2>&1
	ovn_down
	sb_cleanup
	if [ -n "$WORK" ]; then
		if [ -n "${BENCH_KEEP:-}" ]; then
			say "raw output kept in $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup

missing=()
for c in ovsdb-server ovn-northd ovs-vsctl curl jq ${PERF:+perf}; do
	command -v "$c" >/dev/null || missing+=("$c")
done
[ "${#missing[@]}" -eq 0 ] || die "missing ${missing[*]}: run tools/deps.sh"
say "building mdredir"
make -s >/dev/null || die "make"
"$MDREDIR" unload >/dev/null 2>&1 || true
WORK=$(mktemp -d /tmp/mdredir-ovnbench.XXXXXX)
RAW=$WORK/raw
mkdir -p "$RAW" "$WORK/md"

# The ids of port g (0 <= g < TOTAL + LAT_RUNS) and network n, uuid-like.
port_of() { printf 'port-%05d' "$1"; }
dev_of() { printf '1e%06x-0000-4000-8000-00000000b0b0' "$1"; }
net_of() { printf '5e%06x-0000-4000-8000-00000000b0b0' "$1"; }
PROJECT=7b0b0000-0000-4000-8000-00000000b0b0
mac_of() { printf 'fa:16:3e:%02x:%02x:%02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
ip_of() { local n=$(($1 % NETWORKS)); echo "10.$((n / 256)).$((n % 256)).$((10 + $1 / NETWORKS))"; }
meta_ip_of() { echo "10.$(($1 / 256)).$(($1 % 256)).2"; }
tap_of() { printf '%st%05d' "$SB" "$1"; }
guest_of() { printf '%sg%d' "$SB" "$1"; }

# port_ids NET DEVICE OWNER CIDRS [MTU]: the set of Neutron's
# external_ids the bats' harness gives a logical switch port, on one line
# (an argument of in_batches).
port_ids() {
	local ids
	ids=$(ovn_port_ids "$1" "$2" "$PROJECT" "$3" "$4" "${5:-}")
	ids=${ids//$'\n'/}
	echo "external_ids={${ids//$'\t'/}}"
}

sb_transact() { ovsdb-client transact "unix:$OVN/sb.sock" "$1" >/dev/null; }
. "$ROOT/tools/ovsdb.sh"
. "$ROOT/tests/bats/ovn_helpers.bash"

# ovn_up NAME: the harness's compute host in $WORK/NAME (the local vswitch
# database, NB, SB, ovn-northd; chassis compute-1, ours, and `other`).
# Sets OVN, CH_US, CH_OTHER.
ovn_up() {
	ovn_start "$WORK/$1" compute-1 2>>"$WORK/start.err" ||
		die "ovn_start: $(cat "$WORK/start.err")"
	OVN=$OVN_DIR
	CH_US=$(sb_chassis_uuid compute-1)
	CH_OTHER=$(sb_chassis_uuid other)
}

# in_batches SIZE CMD...: runs CMD with the lines of stdin as arguments
# (each line one argument), about SIZE at a time, cut only before a "--"
# (a command of ovn-nbctl's or ovs-vsctl's is never split).
in_batches() {
	local size=$1 args=() line
	shift
	while IFS= read -r line; do
		if [ "$line" = -- ] && [ "${#args[@]}" -ge "$size" ]; then
			"$@" "${args[@]}" >/dev/null
			args=()
		fi
		args+=("$line")
	done
	[ "${#args[@]}" -eq 0 ] || "$@" "${args[@]}" >/dev/null
}

# nb_networks: NETWORKS logical switches as Neutron makes them, each with
# its metadata port (a localport holding 10.N.N.2).
nb_networks() {
	local n net ip
	for ((n = 0; n < NETWORKS; n++)); do
		net=$(net_of $n) ip=$(meta_ip_of $n)
		printf '%s\n' -- ls-add "neutron-$net" -- set Logical_Switch \
			"neutron-$net" 'external_ids={"neutron:network_name"="bench", "neutron:mtu"="1442", "neutron:revision_number"="1"}' \
			-- lsp-add "neutron-$net" "meta-$n" -- lsp-set-type "meta-$n" localport \
			-- lsp-set-addresses "meta-$n" "fa:16:3f:00:00:$(printf %02x $((n % 256))) $ip" \
			-- set Logical_Switch_Port "meta-$n" \
			"$(port_ids "$net" "ovnmeta-$net" network:distributed "$ip/24" 1442)"
	done | in_batches 2000 ovn_nbctl
}

# nb_ports FROM TO: VM ports FROM..TO-1, as Neutron makes them.
nb_ports() {
	local g net spec
	for ((g = $1; g < $2; g++)); do
		net=$(net_of $((g % NETWORKS)))
		spec="$(mac_of $g) $(ip_of $g)"
		printf '%s\n' -- lsp-add "neutron-$net" "$(port_of $g)" \
			-- lsp-set-addresses "$(port_of $g)" "$spec" \
			-- lsp-set-port-security "$(port_of $g)" "$spec" \
			-- set Logical_Switch_Port "$(port_of $g)" \
			"$(port_ids "$net" "$(dev_of $g)" compute:nova "$(ip_of $g)/24")"
	done | in_batches 2500 ovn_nbctl
}

# bind_op G CHASSIS_UUID: one SB update op, as ovn-controller's binding.
bind_op() {
	printf '{"op":"update","table":"Port_Binding","where":[["logical_port","==","%s"]],"row":{"chassis":["uuid","%s"],"up":true}}' \
		"$(port_of "$1")" "$2"
}

# sb_bind FROM TO CHASSIS_UUID: binds ports FROM..TO-1, 500 a transaction.
sb_bind() {
	local g ops=
	for ((g = $1; g < $2; g++)); do
		ops+=,$(bind_op $g "$3")
		if [ $(((g - $1 + 1) % 500)) -eq 0 ] || [ $((g + 1)) -eq "$2" ]; then
			sb_transact "[\"OVN_Southbound\"$ops]"
			ops=
		fi
	done
}

# plug FROM TO: os-vif's plug of ports FROM..TO-1 (their taps named tap_of).
plug() {
	local g
	for ((g = $1; g < $2; g++)); do
		printf '%s\n' -- add-port br-int "$(tap_of $g)" -- set Interface \
			"$(tap_of $g)" "external_ids:iface-id=$(port_of $g)" \
			"external_ids:attached-mac=$(mac_of $g)" \
			"external_ids:vm-uuid=$(dev_of $g)" external_ids:iface-status=active
	done | in_batches 2000 ovs_vsctl
}

# guest G: a guest namespace on tap_of G with port G's MAC and IP, its
# route to 169.254.169.254 via its network's metadata port (OVN's DHCP
# option 121), and its metadata in the local backend's directory.
guest() {
	local g=$1 vm
	vm=$(guest_of "$g")
	sb_vm "$vm" "$(tap_of "$g")" "$(ip_of "$g")" "" "$(mac_of "$g")"
	ip -n "$vm" route replace 169.254.169.254/32 via \
		"$(meta_ip_of $((g % NETWORKS)))" dev eth0
	sb_make_metadata "$WORK/md" "$(dev_of "$g")" "vm-$g"
}

# veths FROM TO: plain taps (veth pairs in the host namespace, up).
veths() {
	local g
	for ((g = $1; g < $2; g++)); do
		printf 'link add %s type veth peer name %sp\nlink set %s up\n' \
			"$(tap_of $g)" "$(tap_of $g)" "$(tap_of $g)"
	done | ip -batch - || die "ip -batch (veths)"
	VETHS=$2
}

# setup NAME TOTAL [LATENCY]: a host with PORTS bound here and plugged (the first
# GUESTS of them real guests), TOTAL - PORTS bound to `other`, and the
# LATENCY ports of the latency runs in NB (unbound, unplugged). Times
# each step.
setup() {
	local name=$1 total=$2 lat=${3:-0} t g
	say "setup $name: $total ports over $NETWORKS networks, $PORTS ours"
	ovn_up "$name"
	t=$(now_ms)
	nb_networks
	nb_ports 0 "$total"
	[ "$lat" -eq 0 ] || nb_ports "$TOTAL" $((TOTAL + lat))
	echo "$(($(now_ms) - t))" >"$RAW/$name-nb-ms"
	t=$(now_ms)
	ovn_nbctl --timeout=600 --wait=sb sync || die "ovn-northd did not catch up"
	echo "$(($(now_ms) - t))" >"$RAW/$name-northd-ms"
	say "setup $name: NB $(cat "$RAW/$name-nb-ms") ms, northd $(cat "$RAW/$name-northd-ms") ms"
	t=$(now_ms)
	sb_bind 0 "$PORTS" "$CH_US"
	sb_bind "$PORTS" "$total" "$CH_OTHER"
	echo "$(($(now_ms) - t))" >"$RAW/$name-bind-ms"
	t=$(now_ms)
	plug 0 "$PORTS"
	echo "$(($(now_ms) - t))" >"$RAW/$name-plug-ms"
	t=$(now_ms)
	for ((g = 0; g < GUESTS; g++)); do guest $g; done
	veths "$GUESTS" "$PORTS"
	echo "$(($(now_ms) - t))" >"$RAW/$name-veth-ms"
	say "setup $name: bind $(cat "$RAW/$name-bind-ms") ms, plug $(cat "$RAW/$name-plug-ms") ms, taps $(cat "$RAW/$name-veth-ms") ms"
	# What the Southbound holds, for the report.
	ovn_sbctl --bare --columns=chassis list Port_Binding |
		grep -v '^$' | sed -e "s/^$CH_US\$/compute-1/" -e "s/^$CH_OTHER\$/other/" |
		sort | uniq -c | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}' \
		>"$RAW/$name-sb-bindings"
	echo ", $(ovn_sbctl --bare --columns=_uuid list Port_Binding | grep -c .) rows in all" \
		>>"$RAW/$name-sb-bindings"
}

# ---------------------------------------------------------------- the daemon

# start_daemon LOG: the daemon, the ovn source following $OVN.
start_daemon() {
	"$MDREDIR" daemon --backend "local:$WORK/md" --config "$OVN_INI" \
		--attach-from ovn 2>>"$1" &
	DAEMON_PID=$!
}

# attached_count LOG: the attachments the daemon's log says it made.
attached_count() { grep -c "ovn: attached '" "$1" || true; }

# wait_attached LOG N: waits (60 s) until LOG says N attached; prints when.
wait_attached() {
	local end=$(($(now_ms) + 60000))
	while [ "$(attached_count "$1")" -lt "$2" ]; do
		kill -0 "$DAEMON_PID" 2>/dev/null || die "daemon died: $(tail -5 "$1")"
		[ "$(now_ms)" -lt $end ] || die "not all attached in 60 s: $(attached_count "$1") of $2"
		sleep 0.005
	done
	now_ms
}

mem_of() { # PID: "VmRSS VmHWM" in KiB
	awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {print r, h}' "/proc/$1/status"
}

# perf_start WHAT / perf_stop WHAT: with BENCH_PERF=1, the whole machine's
# CPU samples (call graphs) while WHAT runs; where they went in the daemon
# in $RAW/WHAT.perf, by command and object in $RAW/WHAT.perf-comm.
perf_start() {
	perf record -q -a -g -o "$RAW/$1.data" 2>/dev/null &
	PERF_PID=$!
	sleep 0.5
}
perf_stop() {
	kill -INT "$PERF_PID"
	wait "$PERF_PID" 2>/dev/null || true
	PERF_PID=
	perf report -i "$RAW/$1.data" --no-children --sort comm,dso --stdio 2>/dev/null |
		grep -v -e '^#' -e '^$' | head -20 >"$RAW/$1.perf-comm" || true
	perf report -i "$RAW/$1.data" --no-children --comms mdredir --sort sym \
		--stdio -g none 2>/dev/null | grep -v -e '^#' -e '^$' |
		head -40 >"$RAW/$1.perf" || true
	rm -f "$RAW/$1.data"
}

# scale NAME REP: from a fresh start (nothing attached) to all PORTS
# attached; one JSON line in scale.jsonl.
scale() {
	local name=$1 rep=$2 log=$RAW/$1-scale-$2.log t0 t1 n mem
	"$MDREDIR" unload >/dev/null 2>&1 || true
	: >"$log"
	[ -z "$PERF" ] || [ "$rep" -ne 1 ] || perf_start "$name-scale"
	t0=$(now_ms)
	start_daemon "$log"
	t1=$(wait_attached "$log" "$PORTS")
	[ -z "$PERF" ] || [ "$rep" -ne 1 ] || perf_stop "$name-scale"
	# Settled: no more rows to read; then its memory.
	sleep 2
	mem=$(mem_of "$DAEMON_PID")
	n=$("$MDREDIR" list --json | jq '[.[] | select(.source == "ovn")] | length')
	[ "$n" -eq "$PORTS" ] || die "$name: list shows $n ovn attachments, not $PORTS"
	"$MDREDIR" stats --json >"$RAW/$name-stats-$rep.json"
	jq -e '.sources.ovn.synced == true' "$RAW/$name-stats-$rep.json" >/dev/null ||
		die "$name: not synced: $(jq -c .sources.ovn "$RAW/$name-stats-$rep.json")"
	printf '{"setup":"%s","rep":%s,"attach_ms":%s,"rss_kib":%s,"hwm_kib":%s}\n' \
		"$name" "$rep" $((t1 - t0)) "${mem% *}" "${mem#* }" >>"$RAW/scale.jsonl"
	say "$name #$rep: $PORTS attached in $((t1 - t0)) ms; VmRSS ${mem% *} KiB, VmHWM ${mem#* } KiB"
	stop_daemon
}

# ---------------------------------------------------------------- latency

# latency: LAT_RUNS times, with the daemon running and PORTS attached: a
# port (made in NB by setup) plugged, its tap wired to a guest, then bound
# here: from the binding's write to the attachment in the daemon's log,
# and to the guest's first answered request.
latency() {
	local i g vm t0 ta ts url log=$1
	for ((i = 0; i < LAT_RUNS; i++)); do
		g=$((TOTAL + i))
		guest "$g"
		plug "$g" $((g + 1))
		vm=$(guest_of "$g")
		url=http://169.254.169.254/openstack/latest/meta_data.json
		t0=$(now_ms)
		sb_transact "[\"OVN_Southbound\",$(bind_op "$g" "$CH_US")]"
		until grep -q "ovn: attached '$(tap_of "$g")'" "$log"; do
			[ $(($(now_ms) - t0)) -lt 10000 ] || die "latency run $i: not attached in 10 s"
			sleep 0.001
		done
		ta=$(now_ms)
		until ip netns exec "$vm" curl -sf -o /dev/null --max-time 0.2 "$url"; do
			[ $(($(now_ms) - t0)) -lt 10000 ] || die "latency run $i: not served in 10 s"
		done
		ts=$(now_ms)
		printf '{"run":%s,"attached_ms":%s,"served_ms":%s}\n' "$i" $((ta - t0)) $((ts - t0)) \
			>>"$RAW/latency.jsonl"
	done
}

# ---------------------------------------------------------------- restart

# guest_loop G OUT: the guest's requests, one after another, each line
# "END_MS OK" in OUT (OK 1 answered, 0 failed).
guest_loop() {
	local vm url=http://169.254.169.254/openstack/latest/meta_data.json
	vm=$(guest_of "$1")
	# shellcheck disable=SC2016 # expanded by the guest's shell
	ip netns exec "$vm" bash -c '
		while :; do
			if curl -sf -o /dev/null --max-time 0.5 "$1"; then ok=1; else ok=0; fi
			t=$EPOCHREALTIME
			echo "$((${t/./} / 1000)) $ok"
			sleep 0.01
		done' _ "$url" >"$2" &
	GUEST_PIDS+=($!)
}

# restart NAME REP: the daemon, PORTS attached and GUESTS guests asking in
# a loop, SIGKILLed and started again.
restart() {
	local name=$1 rep=$2 log=$RAW/$1-restart-$2.log t_kill t_start t_listen
	local t_sync st m ok fail late gap g t
	# (The profile of an unload with PORTS attached, with BENCH_PERF.)
	[ -z "$PERF" ] || [ "$rep" -ne 1 ] || perf_start "$name-unload"
	t=$(now_ms)
	"$MDREDIR" unload >/dev/null 2>&1 || true
	echo "$(($(now_ms) - t))" >"$RAW/$name-unload-$rep-ms"
	[ -z "$PERF" ] || [ "$rep" -ne 1 ] || perf_stop "$name-unload"
	: >"$log"
	start_daemon "$log"
	wait_attached "$log" "$PORTS" >/dev/null
	wait_for "daemon listening" grep -q 'listening on' "$log"
	sleep 1
	for ((g = 0; g < GUESTS; g++)); do guest_loop $g "$RAW/$name-guest-$rep-$g"; done
	sleep 2
	: >"$log"
	t_kill=$(now_ms)
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	t_start=$(now_ms)
	start_daemon "$log"
	t_listen='' t_sync=''
	while [ -z "$t_sync" ]; do
		[ -n "$t_listen" ] || ! grep -q 'listening on' "$log" || t_listen=$(now_ms)
		# The status file the new daemon rewrites once it has converged
		# (the killed one's stays until then).
		if [ "$(stat -c %.3Y "$STATUS" 2>/dev/null | tr -d .)" -ge "$t_start" ] 2>/dev/null &&
			grep -qx 'synced 1' "$STATUS"; then
			t_sync=$(now_ms)
		fi
		[ $(($(now_ms) - t_start)) -lt 30000 ] || die "$name: no resync in 30 s: $(tail -5 "$log")"
		sleep 0.002
	done
	if [ -z "$t_listen" ]; then
		wait_for "daemon listening" grep -q 'listening on' "$log"
		t_listen=$(now_ms)
	fi
	sleep 2
	stop_guests
	st=$("$MDREDIR" stats --json | jq -c .sources.ovn)
	jq -e '.synced == true' <<<"$st" >/dev/null || die "$name: not synced after restart: $st"
	# The guests' outage: the longest wait of one guest between two
	# answers, around the kill.
	m=$(for f in "$RAW/$name-guest-$rep"-*; do
		awk -v k="$t_kill" -v l="$t_listen" '
			$2 == 0 && $1 >= k { fail++; if ($1 > l) late++ }
			$2 == 1 { ok++; if (prev && $1 > k && $1 - prev > gap) gap = $1 - prev; prev = $1 }
			END { printf "%d %d %d %d\n", ok, fail, late, gap }' "$f"
	done | awk '{ ok += $1; fail += $2; late += $3; if ($4 > gap) gap = $4 }
		END { printf "%d %d %d %d", ok, fail, late, gap }')
	read -r ok fail late gap <<<"$m"
	printf '{"setup":"%s","rep":%s,"listen_ms":%s,"sync_ms":%s,"attached":%s,"updated":%s,"detached":%s,"requests_ok":%s,"requests_failed":%s,"failed_after_listen":%s,"longest_gap_ms":%s,"attachments":%s}\n' \
		"$name" "$rep" $((t_listen - t_kill)) $((t_sync - t_kill)) \
		"$(grep -c "ovn: attached '" "$log" || true)" \
		"$(grep -c "ovn: updated '" "$log" || true)" \
		"$(grep -c "ovn: detached '" "$log" || true)" "$ok" "$fail" "$late" "$gap" \
		"$("$MDREDIR" list --json | jq '[.[] | select(.source == "ovn")] | length')" \
		>>"$RAW/restart.jsonl"
	say "$name restart #$rep: $(tail -1 "$RAW/restart.jsonl")"
	stop_daemon
}

# ---------------------------------------------------------------- anchor

# follow NAME REP WHAT [--where JSON]: ovsdb_watch following Port_Binding
# (all rows, or our chassis' only) until synced; its time and memory.
follow() {
	local name=$1 rep=$2 what=$3 out=$RAW/$1-watch-$3-$2 pid t0 t1 mem rows
	shift 3
	: >"$out"
	t0=$(now_ms)
	"$WATCH" "unix:$OVN/sb.sock" OVN_Southbound Port_Binding \
		--columns logical_port,type,chassis,additional_chassis,datapath,mac,external_ids \
		"$@" >"$out" &
	pid=$!
	FOLLOW_PID=$pid
	wait_for "ovsdb_watch $what synced" grep -qx synced "$out"
	t1=$(now_ms)
	sleep 0.5
	mem=$(mem_of $pid)
	kill $pid
	wait $pid 2>/dev/null || true
	FOLLOW_PID=
	rows=$(grep -c '^insert ' "$out" || true)
	printf '{"setup":"%s","rep":%s,"what":"%s","rows":%s,"sync_ms":%s,"rss_kib":%s,"hwm_kib":%s}\n' \
		"$name" "$rep" "$what" "$rows" $((t1 - t0)) "${mem% *}" "${mem#* }" >>"$RAW/anchor.jsonl"
	rm -f "$out"
}

# follow_idl NAME REP WHAT [CHASSIS_UUID]: the agent's own replica
# (tools/bench/ovn_idl_follow.py), whole or conditioned as mdredir's.
follow_idl() {
	local name=$1 rep=$2 what=$3 out=$RAW/$1-idl-$3-$2 pid mem rows ms before
	shift 3
	: >"$out"
	/usr/bin/python3 tools/bench/ovn_idl_follow.py "unix:$OVN/sb.sock" \
		/usr/share/ovn/ovn-sb.ovsschema compute-1 "$@" >"$out" &
	pid=$!
	FOLLOW_PID=$pid
	wait_for "ovn_idl_follow.py $what synced" grep -q '^synced ' "$out"
	sleep 0.5
	mem=$(mem_of $pid)
	kill $pid
	wait $pid 2>/dev/null || true
	FOLLOW_PID=
	read -r _ rows ms before <"$out"
	printf '{"setup":"%s","rep":%s,"what":"%s","rows":%s,"sync_ms":%s,"rss_kib":%s,"hwm_kib":%s,"rss_before_kib":%s}\n' \
		"$name" "$rep" "$what" "$rows" "$ms" "${mem% *}" "${mem#* }" "$before" >>"$RAW/idl.jsonl"
	rm -f "$out"
}

anchor() {
	local name=$1 rep
	for ((rep = 1; rep <= REPS; rep++)); do
		follow "$name" "$rep" all
		follow "$name" "$rep" ours --where "[[\"chassis\",\"==\",[\"uuid\",\"$CH_US\"]]]"
		follow_idl "$name" "$rep" all
		follow_idl "$name" "$rep" ours "$CH_US"
	done
}

# ---------------------------------------------------------------- the runs

{
	printf '{"date":"%s",' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf '"kernel":"%s","nproc":%s,' "$(uname -r)" "$(nproc)"
	printf '"mem":"%s",' "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	printf '"cpu":"%s",' "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
	printf '"ovs":"%s","ovn":"%s",' "$(ovsdb-server --version | awk 'NR==1 {print $NF}')" \
		"$(ovn-northd --version | awk 'NR==1 {print $NF}')"
	printf '"mdredir":"%s","ports":%s,"total":%s,"networks":%s,"latency_runs":%s,"reps":%s,"guests":%s}\n' \
		"$(git describe --always --dirty 2>/dev/null || echo unknown)" \
		"$PORTS" "$TOTAL" "$NETWORKS" "$LAT_RUNS" "$REPS" "$GUESTS"
} >"$RAW/meta.json"

# Only our ports in the Southbound: the daemon's memory without others'.
setup ours "$PORTS"
for ((rep = 1; rep <= REPS; rep++)); do scale ours $rep; done
anchor ours
say "setup ours: done, tearing down"
ovn_down
"$MDREDIR" unload >/dev/null 2>&1 || true
sb_cleanup

# The issue's host: TOTAL ports in the Southbound, PORTS of them ours.
setup all "$TOTAL" "$LAT_RUNS"
for ((rep = 1; rep <= REPS; rep++)); do scale all $rep; done
for ((rep = 1; rep <= REPS; rep++)); do restart all $rep; done
anchor all
say "latency: $LAT_RUNS ports bound one after another, $PORTS attached"
"$MDREDIR" unload >/dev/null 2>&1 || true
: >"$RAW/latency.log"
start_daemon "$RAW/latency.log"
wait_attached "$RAW/latency.log" "$PORTS" >/dev/null
[ -z "$PERF" ] || perf_start latency
latency "$RAW/latency.log"
[ -z "$PERF" ] || perf_stop latency
stop_daemon

# ---------------------------------------------------------------- the table

python3 - "$RAW" <<-'EOF'
	import json, os, statistics, sys
	raw = sys.argv[1]
	def rows(f):
	    p = os.path.join(raw, f)
	    return [json.loads(l) for l in open(p)] if os.path.exists(p) else []
	meta = json.load(open(os.path.join(raw, "meta.json")))
	med = statistics.median
	def pct(v, q):
	    v = sorted(v)
	    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]
	print(f"machine: {meta['cpu']}, {meta['nproc']} CPUs, {meta['mem']}, kernel {meta['kernel']}; "
	      f"OVS {meta['ovs']}, OVN {meta['ovn']}; mdredir {meta['mdredir']}; {meta['date']}")
	P, T = meta["ports"], meta["total"]
	for name in ("ours", "all"):
	    f = lambda k: open(os.path.join(raw, f"{name}-{k}-ms")).read().strip()
	    print(f"setup '{name}' ({P if name == 'ours' else T} ports in SB): NB {f('nb')} ms, "
	          f"northd {f('northd')} ms, SB bind {f('bind')} ms, plug {f('plug')} ms, taps {f('veth')} ms; "
	          f"SB Port_Binding rows bound to: {open(os.path.join(raw, name + '-sb-bindings')).read().strip()}")
	print()
	print("| measure | figure | target | |")
	print("|---|---|---|---|")
	lat = rows("latency.jsonl")
	if lat:
	    for k in ("attached_ms", "served_ms"):
	        v = [r[k] for r in lat]
	        print(f"| bound → {k[:-3]} (ms), {len(v)} runs, {P} attached, {T} in SB | "
	              f"p50 {pct(v, 50)}, p90 {pct(v, 90)}, p99 {pct(v, 99)}, max {max(v)} | p99 < 100 | "
	              f"{'met' if pct(v, 99) < 100 else 'missed'} |")
	sc = rows("scale.jsonl")
	by = {n: [r for r in sc if r["setup"] == n] for n in ("ours", "all")}
	for n, what in (("all", f"{T} in SB"), ("ours", f"{P} in SB")):
	    v = [r["attach_ms"] for r in by[n]]
	    if v:
	        print(f"| start → all {P} attached (ms), {what} | median {med(v)} (runs {', '.join(map(str, v))}) | < 2000 | "
	              f"{'met' if med(v) < 2000 else 'missed'} |")
	for k in ("rss_kib", "hwm_kib"):
	    a = [r[k] for r in by["all"]]; o = [r[k] for r in by["ours"]]
	    if a and o:
	        ok = med(a) <= med(o) * 1.05 + 512
	        print(f"| daemon {'VmRSS' if k == 'rss_kib' else 'VmHWM'} (KiB): {T} in SB vs {P} | "
	              f"{med(a)} vs {med(o)} ({med(a) / med(o):.2f}×) | no growth | {'met' if ok else 'missed'} |")
	rs = rows("restart.jsonl")
	if rs:
	    s = [r["sync_ms"] for r in rs]; l = [r["listen_ms"] for r in rs]
	    d = sum(r["detached"] for r in rs); a = sum(r["attached"] + r["updated"] for r in rs)
	    print(f"| restart: SIGKILL → resynced (ms) | median {med(s)} (runs {', '.join(map(str, s))}) | < 1000 | "
	          f"{'met' if med(s) < 1000 else 'missed'} |")
	    print(f"| restart: SIGKILL → listening (ms) | median {med(l)} | | |")
	    print(f"| restart: detaches / re-attaches or updates, {len(rs)} restarts | {d} / {a} | 0 | "
	          f"{'met' if d == 0 and a == 0 else 'missed'} |")
	    f = [r["requests_failed"] for r in rs]; o = [r["requests_ok"] for r in rs]
	    late = [r["failed_after_listen"] for r in rs]
	    b = [r["longest_gap_ms"] for r in rs]
	    print(f"| restart: guests' requests failed / answered, per restart | {', '.join(f'{x}/{y}' for x, y in zip(f, o))} | | |")
	    print(f"| restart: of those failed, after the new daemon listened (the resync's) | {', '.join(map(str, late))} | 0 | "
	          f"{'met' if sum(late) == 0 else 'missed'} |")
	    print(f"| restart: a guest's longest wait between two answers (ms) | median {med(b)} (runs {', '.join(map(str, b))}) | served throughout | "
	          f"{'met' if sum(f) == 0 else 'missed while no listener'} |")
	def side(rows_, label, keys):
	    for n in ("all", "ours"):
	        A = [r for r in rows_ if r["setup"] == n and r["what"] == "all"]
	        O = [r for r in rows_ if r["setup"] == n and r["what"] == "ours"]
	        if not (A and O):
	            continue
	        for k, unit in keys:
	            x = med([k(r) for r in A]); y = med([k(r) for r in O])
	            print(f"| {label}, {T if n == 'all' else P} in SB: whole Port_Binding ({A[0]['rows']} rows) "
	                  f"vs our chassis' ({O[0]['rows']}): {unit} | {x} vs {y} ({x / max(y, 1):.1f}×) | | |")
	side(rows("anchor.jsonl"), "mdredir's OVSDB client (ovsdb_watch)",
	     ((lambda r: r["sync_ms"], "start → synced (ms)"), (lambda r: r["hwm_kib"], "VmHWM (KiB)")))
	side(rows("idl.jsonl"), "the agent's replica (python ovs.db.idl)",
	     ((lambda r: r["sync_ms"], "connect → replica whole (ms)"),
	      (lambda r: r["rss_kib"] - r["rss_before_kib"], "VmRSS growth (KiB)"),
	      (lambda r: r["rss_kib"], "VmRSS (KiB)")))
EOF
