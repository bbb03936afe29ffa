#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Attach, detach, restart and unload leave every interface as they found it.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# Everything visible about an interface's TC and link state.
iface_state() {
	local ns=("${@:2}")
	ip "${ns[@]}" -d link show "$1" | sed 's/ promiscuity.*//'
	tc "${ns[@]}" qdisc show dev "$1"
	tc "${ns[@]}" filter show dev "$1" ingress
	tc "${ns[@]}" filter show dev "$1" egress
}

@test "detach restores the interface and keeps the others working" {
	mkdir -p "$BATS_TEST_TMPDIR/md/inst-2"
	echo two >"$BATS_TEST_TMPDIR/md/inst-2/who"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	before=$(iface_state "${SB}t1")
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	[ "$(iface_state "${SB}t1")" != "$before" ]

	run mdredir detach "${SB}t1"
	assert_success
	assert_equal "$(iface_state "${SB}t1")" "$before"
	run mdredir list --json
	run jq -r '.[].ifname' <<<"$output"
	assert_output "${SB}t2"
	# The guest behind the detached tap no longer reaches the proxy...
	run metadata "$SB-vm1" /who -m 2
	assert_failure
	# ...and the other one still does.
	run metadata "$SB-vm2" /who
	assert_output two

	# The last detach in a namespace takes its link veth away too.
	mdredir detach "${SB}t2"
	run ip -o link show
	refute_output --partial mdr-link
}

# The attachment ids of the guests the return path remembers, in order.
neigh_attach_ids() {
	bpftool -j map dump pinned /sys/fs/bpf/mdredir/mdr_neigh |
		jq -r '[.[].formatted.key.attach_id] | unique | map(tostring) | join(",")'
}

@test "detach forgets the guests it learnt, and only its own" {
	for i in 1 2; do
		mkdir -p "$BATS_TEST_TMPDIR/md/inst-$i"
		echo "$i" >"$BATS_TEST_TMPDIR/md/inst-$i/who"
	done
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	run metadata "$SB-vm1" /who
	assert_output 1
	run metadata "$SB-vm2" /who
	assert_output 2
	ids=$(mdredir list --json | jq -r 'map(.id | tostring) | join(",")')
	assert_equal "$(neigh_attach_ids)" "$ids"

	mdredir detach "${SB}t1"
	id2=$(mdredir list --json | jq -r '.[0].id')
	assert_equal "$(neigh_attach_ids)" "$id2"
}

@test "detach leaves a clsact qdisc and filters that were there before" {
	sb_netns "$SB-dhcp"
	ip -n "$SB-dhcp" link add "${SB}d" type veth peer name "${SB}e"
	tc -n "$SB-dhcp" qdisc add dev "${SB}d" clsact
	# A classic-BPF filter that never matches: someone else's, harmless.
	tc -n "$SB-dhcp" filter add dev "${SB}d" ingress pref 10 protocol all \
		bpf bytecode "1,6 0 0 0,"
	before=$(iface_state "${SB}d" -n "$SB-dhcp")

	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id n1
	run tc -n "$SB-dhcp" filter show dev "${SB}d" ingress
	assert_output --partial mdr_tap_ingress
	assert_output --partial "bytecode '1,6 0 0 0'"
	mdredir detach "${SB}d" --netns "$SB-dhcp"
	assert_equal "$(iface_state "${SB}d" -n "$SB-dhcp")" "$before"
}

@test "the data path survives a daemon restart with no re-attach" {
	mkdir -p "$BATS_TEST_TMPDIR/md/inst-1"
	echo one >"$BATS_TEST_TMPDIR/md/inst-1/who"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	run metadata "$SB-vm1" /who
	assert_output one
	stop_daemon
	run metadata "$SB-vm1" /who
	assert_failure 7	# refused while no daemon runs
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	run metadata "$SB-vm1" /who
	assert_output one
	# Counters live in pinned maps, so they span daemons.
	assert_equal "$(stat_of "${SB}t1" .requests)" 2
}

@test "stats --json counts requests, status classes, bytes and packets" {
	mkdir -p "$BATS_TEST_TMPDIR/md/inst-1"
	printf '0123456789' >"$BATS_TEST_TMPDIR/md/inst-1/ten"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	metadata "$SB-vm1" /ten >/dev/null
	metadata "$SB-vm1" /ten >/dev/null
	metadata "$SB-vm1" /missing >/dev/null
	run mdredir stats --json
	assert_success
	run jq -e --arg t "${SB}t1" '.attachments[0] | .ifname == $t and
		.requests == 3 and .responses["2xx"] == 2 and
		.responses["4xx"] == 1 and .responses["5xx"] == 0 and
		.bytes_in > 0 and .bytes_out > 20 and
		.packets.to_proxy > 0 and .packets.to_guest > 0 and
		.packets.arp_replied == 1 and .dropped.no_neigh == 0' <<<"$output"
	assert_success
}

@test "unload leaves nothing behind, whatever state mdredir is in" {
	mkdir -p "$BATS_TEST_TMPDIR/md"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_netns "$SB-dhcp"
	ip -n "$SB-dhcp" link add "${SB}d" type veth peer name "${SB}e"
	before_t1=$(iface_state "${SB}t1")
	before_d=$(iface_state "${SB}d" -n "$SB-dhcp")
	mdredir attach "${SB}t1" --network-id n1
	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id n2
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	metadata "$SB-vm1" / >/dev/null || true

	# Break the state on purpose: the pins vanish under a live data path.
	rm -rf /sys/fs/bpf/mdredir
	run mdredir unload
	assert_success
	# The daemon was stopped, ...
	run kill -0 "$DAEMON_PID"
	assert_failure
	DAEMON_PID=
	# ...and no program, pin, veth, namespace or file remains.
	assert_equal "$(iface_state "${SB}t1")" "$before_t1"
	assert_equal "$(iface_state "${SB}d" -n "$SB-dhcp")" "$before_d"
	[ ! -e /sys/fs/bpf/mdredir ]
	[ ! -e /run/mdredir ]
	run ip netns list
	refute_output --partial "mdredir"
	run ip -o link show
	refute_output --partial mdr-
	run ip -n "$SB-dhcp" -o link show
	refute_output --partial mdr-
	run bpftool prog show
	refute_output --partial mdr_
	# And a second unload is a no-op.
	run mdredir unload
	assert_success
}

# Unload used to ask the kernel about each interface's XDP program with a
# dump of every interface, quadratic in their number: 300 taps (600
# interfaces) took 3.8 s, 1,000 40 s. It now takes one dump for
# them all; the bound leaves room for a slow CI machine, not for that.
@test "unload is linear in the interfaces: 300 taps in one namespace" {
	local ns=$SB-taps n=300 i start ms
	local batch=$BATS_TEST_TMPDIR/batch
	sb_netns "$ns"
	for i in $(seq "$n"); do
		echo "link add ${SB}t$i type veth peer name ${SB}p$i"
	done | ip -n "$ns" -batch -
	# A third in XDP mode (generic, on a veth): XDP is what was quadratic.
	for i in $(seq "$n"); do
		echo "${SB}t$i --netns $ns --network-id n$i" \
			"$( ((i % 3)) || echo --mode xdp)"
	done >"$batch"
	"$MDREDIR" attach --batch "$batch" 2>/dev/null
	assert_equal "$(ip -n "$ns" -j link show |
		jq '[.[] | select(.xdp)] | length')" $((n / 3))
	assert_equal "$(tc -n "$ns" qdisc show | grep -c "clsact.* dev ${SB}t")" "$n"

	start=$(date +%s%N)
	run mdredir unload
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_success
	[ ! -e /sys/fs/bpf/mdredir ]
	assert_equal "$(ip -n "$ns" -j link show |
		jq '[.[] | select(.xdp)] | length')" 0
	run tc -n "$ns" qdisc show
	refute_output --partial clsact
	run ip -n "$ns" -o link show
	refute_output --partial mdr-
	[ "$ms" -lt 1500 ] || fail "unload took $ms ms for $n taps"
}
