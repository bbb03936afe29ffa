#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Injected faults in what the daemon is known by: its pins removed, or its
# proxy namespace's name deleted, while it runs. Guests stay served, and
# the daemon puts the names back itself, losing no attachment, and says so.

load helpers

PINS=/sys/fs/bpf/mdredir

setup() {
	common_setup
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-1 vm-one
	sb_make_metadata "$md" inst-2 vm-two
}
teardown() { common_teardown; }

# What every later command reads: the attachments, ids and addresses.
listing() { mdredir list --json | jq -c 'map({id, ifname, service_addr})'; }
# The kernel's ids of the pinned objects: the same ones, not a new load.
pinned_ids() {
	local f
	for f in "$PINS"/mdr_*; do
		[ -e "$f" ] || continue
		bpftool prog show pinned "$f" --json 2>/dev/null ||
			bpftool map show pinned "$f" --json
	done | jq -r 'select(.id) | "\(.name) \(.id) \(if .tag then "program" else "map" end)"' | sort
}
pinned_ids_are() { [ "$(pinned_ids 2>/dev/null)" = "$1" ]; }

# remove_pins_test HOW: the test below, with the pins removed by HOW.
remove_pins_test() {
	local before ids maps progs
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	before=$(listing)
	ids=$(pinned_ids)
	maps=$(grep -c ' map$' <<<"$ids")
	progs=$(grep -c ' program$' <<<"$ids")

	"$@"
	[ ! -e "$PINS/mdr_attach" ]
	# The data path never needed the pins.
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	# Pinned again from the daemon's own objects, not loaded anew.
	wait_until 3 pinned_ids_are "$ids"
	assert_equal "$(listing)" "$before"
	run grep "pins under $PINS removed" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output --partial "re-pinned $maps maps and $progs programs from the running daemon's objects"

	# Attach and detach work on the same state.
	mdredir attach "${SB}t2" --instance-id inst-2
	run metadata "$SB-vm2" /latest/meta-data/instance-id
	assert_output inst-2
	# A crash and a restart keep everything.
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	run metadata "$SB-vm2" /latest/meta-data/instance-id
	assert_output inst-2
	assert_equal "$(stat_of "${SB}t1" .requests)" 3
	assert_equal "$(mdredir list --json | jq -r 'map(.ifname) | join(" ")')" \
		"${SB}t1 ${SB}t2"
	mdredir detach "${SB}t1"
	run tc filter show dev "${SB}t1" ingress
	refute_output --partial mdr_tap
}

rm_pins() { rm -f "$PINS"/*; }
rm_pin_dir() { rm -rf "$PINS"; }

@test "pins removed under a running daemon are pinned again, every attachment kept" {
	remove_pins_test rm_pins
}

@test "the pin directory removed under a running daemon is made again" {
	remove_pins_test rm_pin_dir
}

@test "an attach while the pins are missing waits for the daemon to pin them again" {
	local ids
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$md"
	ids=$(pinned_ids)
	rm -rf "$PINS"
	# Not a second, empty set of maps and programs of its own, whose
	# egress program would take the proxy's replies from every guest.
	run mdredir attach "${SB}t2" --instance-id inst-2
	assert_success
	assert_output --partial "waiting for the daemon (pid $DAEMON_PID) to pin its objects again"
	assert_equal "$(pinned_ids)" "$ids"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	run metadata "$SB-vm2" /latest/meta-data/instance-id
	assert_output inst-2
}
