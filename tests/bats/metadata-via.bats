#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Guests routed to metadata through a next hop (DHCP option 121:
# 169.254.169.254/32 via the metadata port's IP, as under OVN): the tap
# answers ARP for the address --metadata-via names.

load helpers

setup() {
	common_setup
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-1 vm-one
}
teardown() { common_teardown; }

tap_mac() { ip -j link show "$1" | jq -r '.[0].address'; }
# The guest's neighbour entry for 10.0.0.2: its MAC, or its state if none.
next_hop_neigh() {
	ip -n "$1" -j neigh show 10.0.0.2 dev eth0 |
		jq -r '.[0] | .lladdr // .state[0] // "none"'
}
attachment() { mdredir list --json | jq -r ".[0] | $1"; }

@test "a guest routed via the metadata port's IP is served with --metadata-via" {
	sb_vm_via "$SB-vm1" "${SB}t1" 10.0.0.5 10.0.0.2
	# Nothing on-link to 169.254.0.0/16: the next hop is the only way.
	run ip -n "$SB-vm1" route get 169.254.169.254
	assert_output --partial "via 10.0.0.2 dev eth0"
	mdredir attach "${SB}t1" --instance-id inst-1 --metadata-via 10.0.0.2
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_success
	assert_output inst-1
	# The next hop resolved to the tap's own MAC, as 169.254.169.254 would.
	assert_equal "$(next_hop_neigh "$SB-vm1")" "$(tap_mac "${SB}t1")"
	run ip -n "$SB-vm1" neigh show 169.254.169.254
	assert_output ""
	assert_equal "$(stat_of "${SB}t1" .packets.arp_replied)" 1
	assert_equal "$(attachment .metadata_via)" 10.0.0.2
	run grep -c "attach=${SB}t1 vm=10.0.0.5 \"GET /latest/meta-data/instance-id\" 200" \
		"$BATS_TEST_TMPDIR/daemon.log"
	assert_output 1
}

@test "without --metadata-via the same guest is not served: its ARP goes unanswered" {
	sb_vm_via "$SB-vm1" "${SB}t1" 10.0.0.5 10.0.0.2
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id -m 3
	assert_failure
	run next_hop_neigh "$SB-vm1"
	assert_output --regexp '^(FAILED|INCOMPLETE)$'
	assert_equal "$(stat_of "${SB}t1" .packets.arp_replied)" 0
	assert_equal "$(stat_of "${SB}t1" .packets.to_proxy)" 0
	assert_equal "$(attachment .metadata_via)" null
}

@test "--metadata-via changes in place: same attachment, same service address" {
	sb_vm_via "$SB-vm1" "${SB}t1" 10.0.0.5 10.0.0.2
	start_daemon --backend "local:$md"
	# Through a batch line too: it is the same attach.
	"$MDREDIR" attach --batch - <<<"${SB}t1 --instance-id inst-1 \
		--metadata-via 10.0.0.9 ${MDR_TEST_MODE:+--mode $MDR_TEST_MODE}"
	id=$(attachment .id)
	svc=$(attachment .service_addr)
	assert_equal "$(attachment .metadata_via)" 10.0.0.9
	run metadata "$SB-vm1" /latest/meta-data/instance-id -m 3
	assert_failure
	mdredir attach "${SB}t1" --instance-id inst-1 --metadata-via 10.0.0.2
	assert_equal "$(attachment .id)" "$id"
	assert_equal "$(attachment .service_addr)" "$svc"
	assert_equal "$(attachment .metadata_via)" 10.0.0.2
	ip -n "$SB-vm1" neigh flush dev eth0
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	# Attached again without it: none, and the guest's next ARP unanswered.
	mdredir attach "${SB}t1" --instance-id inst-1
	assert_equal "$(attachment .id)" "$id"
	assert_equal "$(attachment .metadata_via)" null
	ip -n "$SB-vm1" neigh flush dev eth0
	run metadata "$SB-vm1" /latest/meta-data/instance-id -m 3
	assert_failure
}

@test "detach clears the next hop: a reused attachment id starts without one" {
	local pins=/sys/fs/bpf/mdredir
	sb_vm_via "$SB-vm1" "${SB}t1" 10.0.0.5 10.0.0.2
	mdredir attach "${SB}t1" --metadata-via 10.0.0.2
	id=$(attachment .id)
	run bpftool map lookup pinned "$pins/mdr_next_hop" key "$id" 0 0 0 --json
	assert_equal "$(jq -r '.formatted.value.addr4' <<<"$output")" "$(printf '%d' 0x0200000a)"
	mdredir detach "${SB}t1"
	run bpftool map lookup pinned "$pins/mdr_next_hop" key "$id" 0 0 0 --json
	assert_equal "$(jq -r '.formatted.value.addr4' <<<"$output")" 0
	mdredir attach "${SB}t1"
	assert_equal "$(attachment .id)" "$id"
	assert_equal "$(attachment .metadata_via)" null
}
