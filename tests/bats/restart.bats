#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Restarts, crashes, vanishing interfaces and racing commands lose nothing.

load helpers

setup() {
	common_setup
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-1 vm-one
	sb_make_metadata "$md" inst-2 vm-two
}
teardown() { common_teardown; }

attached() { mdredir list --json | jq -r '.[].ifname' | sort | xargs; }
attached_is() { [ "$(attached)" = "$1" ]; }

# wait_attached NAMES: up to 3 s for exactly NAMES to be attached.
wait_attached() {
	wait_until 3 attached_is "$1" && return 0
	echo "attached: '$(attached)', wanted '$1'" >&2
	return 1
}

@test "SIGKILL and restart: no re-attach, counters kept, served again" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	run metadata "$SB-vm1" / -m 2
	assert_failure 7	# refused at once while nobody listens
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	assert_equal "$(stat_of "${SB}t1" .requests)" 2
	assert_equal "$(attached)" "${SB}t1"
}

@test "deleting an attached interface removes its attachment" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
	start_daemon --backend "local:$md"
	ip link del "${SB}t1"
	wait_attached "${SB}t2"
	run metadata "$SB-vm2" /latest/meta-data/instance-id
	assert_output inst-2
	ip link del "${SB}t2"
	wait_attached ""
	# The last one took the link veth with it.
	wait_until 3 bash -c "! ip -o link show | grep -q mdr-link"
	run grep -c "is gone: detached" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 2
}

@test "an interface deleted while the daemon was down is cleaned up at start" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
	ip link del "${SB}t1"
	assert_equal "$(attached)" "${SB}t1"
	start_daemon --backend "local:$md"
	wait_attached ""
}

@test "deleting the namespace of attached interfaces removes them" {
	sb_network "$SB-sw" "$SB-dhcp" "${SB}d"
	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id net-1
	start_daemon --backend "local:$md"
	wait_until 3 bash -c "ip -n mdredir -o link show | grep -q mdr-l"
	ip netns del "$SB-dhcp"
	wait_attached ""
	wait_until 3 bash -c "! ip -n mdredir -o link show | grep -q mdr-l"
}

@test "concurrent attaches and detaches never corrupt state" {
	for i in $(seq 1 16); do
		ip link add "${SB}c$i" type veth peer name "${SB}e$i"
	done
	pids=()
	for i in $(seq 1 16); do
		"$MDREDIR" attach "${SB}c$i" --network-id "net-$i" 3>&- &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	run mdredir list --json
	run jq -r 'length, ([.[].service_addr] | unique | length), ([.[].ifname] | unique | length)' <<<"$output"
	assert_output "$(printf '16\n16\n16')"
	# One link veth for the host namespace, used by all sixteen.
	run bpftool map dump pinned /sys/fs/bpf/mdredir/mdr_link
	assert_output --partial '"users": 16'

	pids=()
	for i in $(seq 1 16); do
		if [ $((i % 2)) = 0 ]; then
			"$MDREDIR" detach "${SB}c$i" 3>&- &
		else
			"$MDREDIR" attach "${SB}c$i" --router-id "r-$i" 3>&- &
		fi
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	run mdredir list --json
	run jq -r 'length, ([.[] | select(.router_id != null)] | length)' <<<"$output"
	assert_output "$(printf '8\n8')"
	run bpftool map dump pinned /sys/fs/bpf/mdredir/mdr_link
	assert_output --partial '"users": 8'
	for i in $(seq 1 16); do
		run tc filter show dev "${SB}c$i" ingress
		if [ $((i % 2)) = 0 ]; then refute_output --partial mdr_tap; else assert_output --partial mdr_tap; fi
	done
}

# watched NS: whether the proxy namespace has an id for NS (the watcher
# makes sure it has, to hear NS's link events).
watched() { ip -n mdredir netns list-id | grep -q "name: $1)"; }
# sockets: how many sockets the daemon holds.
sockets() { find "/proc/$DAEMON_PID/fd" -lname 'socket:*' | wc -l; }

@test "one event socket watches every namespace: a tap deleted in any of them is detached" {
	local i before
	for i in 1 2 3; do
		sb_netns "$SB-n$i"
		ip -n "$SB-n$i" link add "${SB}t$i" type veth peer name "${SB}p$i"
		ip -n "$SB-n$i" link set "${SB}t$i" up
	done
	mdredir attach "${SB}t1" --netns "$SB-n1" --network-id net-1
	start_daemon --backend "local:$md"
	wait_until 3 watched "$SB-n1"
	before=$(sockets)
	mdredir attach "${SB}t2" --netns "$SB-n2" --network-id net-2
	mdredir attach "${SB}t3" --netns "$SB-n3" --network-id net-3
	wait_until 3 watched "$SB-n2"
	wait_until 3 watched "$SB-n3"
	# Two more namespaces watched (the watcher rescans every second), not
	# one more socket. A sleep, not a poll: nothing shows that a rescan
	# added no socket but a rescan having passed.
	sleep 1.5
	assert_equal "$(sockets)" "$before"
	ip -n "$SB-n2" link del "${SB}t2"
	wait_attached "${SB}t1 ${SB}t3"
	run grep -c "is gone: detached" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 1
}

@test "a daemon started over another build's programs puts its own in their place" {
	local pins=/sys/fs/bpf/mdredir id
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	run grep -c "another build" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 0
	stop_daemon
	# What an upgrade leaves behind, played by another of our programs:
	# pinned as the tap program and running on the tap, where it breaks
	# the guest's metadata.
	id=$(bpftool prog show pinned "$pins/mdr_link_ingress" --json | jq .id)
	rm "$pins/mdr_tap_ingress"
	bpftool prog pin id "$id" "$pins/mdr_tap_ingress"
	tc filter replace dev "${SB}t1" ingress pref 28004 handle 0x6d64 \
		bpf direct-action pinned "$pins/mdr_tap_ingress"
	run metadata "$SB-vm1" /latest/meta-data/instance-id -m 2
	assert_failure
	start_daemon --backend "local:$md"
	run grep "another build" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output --partial "were another build's: replaced by this build's, 1 attachments and 1 link veths moved over"
	run bpftool prog show pinned "$pins/mdr_tap_ingress" --json
	assert_equal "$(jq -r .name <<<"$output")" mdr_tap_ingress
	run tc filter show dev "${SB}t1" ingress
	assert_output --partial mdr_tap_ingress
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	# A second start finds nothing to replace.
	stop_daemon
	start_daemon --backend "local:$md"
	run grep -c "another build" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 0
}

@test "in XDP mode the replacement moves the XDP program over too" {
	local pins=/sys/fs/bpf/mdredir id before after
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1 --mode xdp
	before=$(ip -j link show "${SB}t1" | jq '.[0].xdp.prog.id')
	[ "$before" != null ]
	# Another build's programs, as far as the tags go.
	id=$(bpftool prog show pinned "$pins/mdr_link_ingress" --json | jq .id)
	rm "$pins/mdr_proxy_egress"
	bpftool prog pin id "$id" "$pins/mdr_proxy_egress"
	start_daemon --backend "local:$md"
	run grep "another build" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output --partial "1 attachments and 1 link veths moved over"
	after=$(ip -j link show "${SB}t1" | jq '.[0].xdp.prog.id')
	[ "$after" != "$before" ] || fail "XDP program still $before"
	run bpftool prog show id "$after" --json
	assert_equal "$(jq -r .name <<<"$output")" mdr_tap_xdp
	assert_equal "$(mdredir list --json | jq -r '.[0].mode')" xdp-generic
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
}

@test "pins of a build without mdr_next_hop are read as they are, then completed and moved over" {
	local pins=/sys/fs/bpf/mdredir id
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm_via "$SB-vm2" "${SB}t2" 10.0.0.6 10.0.0.2
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
	# What an older build leaves: no mdr_next_hop pin, and its own tap
	# program (played by another of ours) pinned and on the tap.
	rm "$pins/mdr_next_hop"
	id=$(bpftool prog show pinned "$pins/mdr_link_ingress" --json | jq .id)
	rm "$pins/mdr_tap_ingress"
	bpftool prog pin id "$id" "$pins/mdr_tap_ingress"
	tc filter replace dev "${SB}t1" ingress pref 28004 handle 0x6d64 \
		bpf direct-action pinned "$pins/mdr_tap_ingress"
	# Reading needs nothing the older build lacks.
	run mdredir list --json
	assert_success
	run jq -r 'map("\(.ifname) \(.metadata_via)") | join(",")' <<<"$output"
	assert_output "${SB}t1 null,${SB}t2 null"
	# The load that creates the missing map leaves the older programs
	# pinned, so the daemon still knows to replace them and move the hooks.
	start_daemon --backend "local:$md"
	[ -e "$pins/mdr_next_hop" ]
	run grep "another build" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output --partial "2 attachments and 1 link veths moved over"
	run tc filter show dev "${SB}t1" ingress
	assert_output --partial mdr_tap_ingress
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	# The new map is the one the running programs read.
	mdredir attach "${SB}t2" --instance-id inst-2 --metadata-via 10.0.0.2
	run metadata "$SB-vm2" /latest/meta-data/instance-id
	assert_output inst-2
}

@test "pins of a build before guest_syn_rate: counters read as zero, then the new maps pinned and every program moved over" {
	local pins=/sys/fs/bpf/mdredir
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
	# What that build leaves: no per-guest maps, and its counters in an
	# mdr_pkt_stats of 11 (88 bytes), which this build cannot reuse. Its
	# programs are ours by tag, but count into a map no longer pinned.
	rm "$pins/mdr_pkt_stats2" "$pins/mdr_guest_limit" "$pins/mdr_guest_syn"
	bpftool map create "$pins/mdr_pkt_stats" type percpu_array key 4 \
		value 88 entries 4097 name mdr_pkt_stats
	run mdredir stats --json
	assert_success
	assert_equal "$(jq '.attachments[0].dropped.guest_syn_rate' <<<"$output")" 0
	start_daemon --backend "local:$md"
	[ -e "$pins/mdr_pkt_stats2" ] && [ -e "$pins/mdr_guest_limit" ] &&
		[ -e "$pins/mdr_guest_syn" ]
	[ ! -e "$pins/mdr_pkt_stats" ] || fail "the older counters are still pinned"
	run grep "another build" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output --partial "1 attachments and 1 link veths moved over"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	# The running programs count into the new map, and limit guests.
	[ "$(stat_of "${SB}t1" .packets.to_proxy)" -gt 0 ]
	[ "$(stat_of "${SB}t1" .packets.to_guest)" -gt 0 ]
	run bpftool -j map dump pinned "$pins/mdr_guest_syn"
	assert_equal "$(jq 'length' <<<"$output")" 1
}
