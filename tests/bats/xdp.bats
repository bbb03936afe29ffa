#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# XDP mode itself: what attaching, switching and unloading do. (The data
# path tests run in XDP mode too: tests/run.sh runs them again with
# MDR_TEST_MODE=xdp.)

load helpers

setup() {
	common_setup
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-1 vm-one
	BPF_STATS_WAS=
}
teardown() {
	# A host-wide switch: back to what it was, whatever the test did.
	[ -z "$BPF_STATS_WAS" ] ||
		sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS"
	common_teardown
}

@test "--mode xdp on a veth says it uses generic XDP, and serves" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	run "$MDREDIR" attach "${SB}t1" --instance-id inst-1 --mode xdp
	assert_success
	assert_output --partial "is a veth"
	assert_output --partial "using generic XDP"
	run mdredir list --json
	run jq -r '.[0].mode' <<<"$output"
	assert_output xdp-generic
	run ip link show "${SB}t1"
	assert_output --partial "prog/xdp"
	assert_output --partial mdr_tap_xdp
	# TC stays as the net for what XDP cannot redirect (GSO frames).
	run tc filter show dev "${SB}t1" ingress
	assert_output --partial mdr_tap_ingress
	BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	assert_equal "$(stat_of "${SB}t1" .packets.arp_replied)" 1
	# The XDP program did run (it, not TC, answered and redirected).
	id=$(ip -j link show dev "${SB}t1" | jq '.[0].xdp.prog.id')
	run bash -c "bpftool prog show id $id --json | jq .run_cnt"
	[ "$output" -ge 5 ] || fail "XDP ran $output times"
}

@test "switching between tc and xdp leaves one program, and detach none" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	before=$(tc qdisc show dev "${SB}t1")
	mdredir attach "${SB}t1" --instance-id inst-1 --mode xdp
	mdredir attach "${SB}t1" --instance-id inst-1 --mode tc
	run ip link show "${SB}t1"
	refute_output --partial "prog/xdp"
	run tc filter show dev "${SB}t1" ingress
	assert_output --partial mdr_tap_ingress
	mdredir attach "${SB}t1" --instance-id inst-1 --mode xdp
	run ip link show "${SB}t1"
	assert_output --partial "prog/xdp"
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	mdredir detach "${SB}t1"
	run ip link show "${SB}t1"
	refute_output --partial "prog/xdp"
	assert_equal "$(tc qdisc show dev "${SB}t1")" "$before"
}

@test "an XDP program that is not ours is never replaced" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	# bpftool rather than `ip link ... obj`, which leaves directories in bpffs.
	pin=/sys/fs/bpf/$SB-xdp-pass
	bpftool prog load "$ROOT/${OUT:-build}/tests/xdp_pass.bpf.o" "$pin" type xdp
	bpftool net attach xdpgeneric pinned "$pin" dev "${SB}t1"
	rm -f "$pin"
	run "$MDREDIR" attach "${SB}t1" --instance-id inst-1 --mode xdp
	assert_failure 1
	assert_output --partial "another XDP program is attached"
	run ip link show "${SB}t1"
	assert_output --partial xdp_pass
	run mdredir list --json
	assert_output "[]"
	ip link set dev "${SB}t1" xdpgeneric off
}

@test "unload takes XDP programs off too, whatever the maps say" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1 --mode xdp
	rm -rf /sys/fs/bpf/mdredir
	run mdredir unload
	assert_success
	run ip link show "${SB}t1"
	refute_output --partial "prog/xdp"
}
