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

# served GUEST ID: GUEST gets its own instance id, ID.
served() {
	run metadata "$1" /latest/meta-data/instance-id
	assert_output "$2"
}

# start_with_one: two guests, the first behind a tap of the host's,
# attached and served by a daemon, the second behind a tap in namespace
# $SB-dhcp, not attached yet (attach_second).
start_with_one() {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_netns "$SB-dhcp"
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6 "$SB-dhcp"
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$md"
	served "$SB-vm1" inst-1
}
attach_second() { mdredir attach "${SB}t2" --netns "$SB-dhcp" --instance-id inst-2; }

# crash_and_restart: SIGKILL, and a daemon started again.
crash_and_restart() {
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	start_daemon --backend "local:$md"
}

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
	start_with_one
	before=$(listing)
	ids=$(pinned_ids)
	maps=$(grep -c ' map$' <<<"$ids")
	progs=$(grep -c ' program$' <<<"$ids")

	"$@"
	[ ! -e "$PINS/mdr_attach" ]
	# The data path never needed the pins.
	served "$SB-vm1" inst-1
	# Pinned again from the daemon's own objects, not loaded anew.
	wait_until 3 pinned_ids_are "$ids"
	assert_equal "$(listing)" "$before"
	run grep "pins under $PINS removed" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output --partial "re-pinned $maps maps and $progs programs from the running daemon's objects"

	# Attach and detach work on the same state.
	attach_second
	served "$SB-vm2" inst-2
	# A crash and a restart keep everything.
	crash_and_restart
	served "$SB-vm1" inst-1
	served "$SB-vm2" inst-2
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
	start_with_one
	ids=$(pinned_ids)
	rm -rf "$PINS"
	# Not a second, empty set of maps and programs of its own, whose
	# egress program would take the proxy's replies from every guest.
	run attach_second
	assert_success
	assert_output --partial "waiting for the daemon (pid $DAEMON_PID) to pin its objects under $PINS again"
	assert_equal "$(pinned_ids)" "$ids"
	served "$SB-vm1" inst-1
	served "$SB-vm2" inst-2
}

# The proxy namespace's inode: the same namespace, not one made anew.
proxy_ino() { stat -L -c %i /run/netns/mdredir 2>/dev/null; }
proxy_ino_is() { [ "$(proxy_ino)" = "$1" ]; }

@test "the proxy namespace deleted under a running daemon is named again, every attachment kept" {
	local ino
	start_with_one
	ino=$(proxy_ino)

	ip netns delete mdredir
	# Only the name went: the listener and link veths are still there.
	served "$SB-vm1" inst-1
	wait_until 3 proxy_ino_is "$ino"
	run ip netns list
	assert_line --regexp '^mdredir( |$)'
	run grep "the proxy's, was deleted" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output --partial "named again from the daemon's handle"
	assert_equal "$(mdredir list --json | jq -r 'map(.ifname) | join(" ")')" "${SB}t1"

	# A new namespace's link veth finds its far end by the name.
	attach_second
	served "$SB-vm2" inst-2
	# A crash and a restart find the same namespace, links and all.
	crash_and_restart
	assert_equal "$(proxy_ino)" "$ino"
	served "$SB-vm1" inst-1
	served "$SB-vm2" inst-2

	# And unload still takes everything away.
	mdredir unload
	run ip netns list
	refute_line --regexp '^mdredir( |$)'
	[ ! -e /sys/fs/bpf/mdredir ]
	run ip -o link show
	refute_output --partial mdr-link
	run ip -n "$SB-dhcp" -o link show
	refute_output --partial mdr-link
	run tc filter show dev "${SB}t1" ingress
	refute_output --partial mdr_tap
}

@test "an attach while the proxy namespace has no name waits for the daemon to name it again" {
	local ino
	start_with_one
	ino=$(proxy_ino)
	ip netns delete mdredir
	# Not a new, empty namespace of its own under the name, which the
	# daemon's listener is not in.
	run attach_second
	assert_success
	assert_output --partial "waiting for the daemon (pid $DAEMON_PID) to name network namespace 'mdredir' again"
	assert_equal "$(proxy_ino)" "$ino"
	served "$SB-vm1" inst-1
	served "$SB-vm2" inst-2
}

@test "a daemon whose mounts do not reach the host says how to name its namespace again" {
	local log=$BATS_TEST_TMPDIR/daemon.log ino cmd
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_netns "$SB-dhcp"
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6 "$SB-dhcp"
	mdredir attach "${SB}t1" --instance-id inst-1
	# As the systemd unit runs it: in a mount namespace of its own, whose
	# mounts are slaves of the host's.
	unshare -m --propagation slave "$MDREDIR" daemon --backend "local:$md" \
		2>"$log" 3>&- &
	DAEMON_PID=$!
	await_line "$DAEMON_PID" "$log" 'listening on'
	ino=$(proxy_ino)
	ip netns delete mdredir
	served "$SB-vm1" inst-1
	wait_until 3 grep -q "cannot be named again from here" "$log"
	# No empty file under the name, which nobody could enter.
	[ ! -e /run/netns/mdredir ]
	# Nor a new namespace made by an attach meanwhile.
	run attach_second
	assert_failure
	assert_output --partial "did not name network namespace 'mdredir' again within 3 s"
	[ ! -e /run/netns/mdredir ]
	# The log's command, run on the host, names it again.
	cmd=$(sed -n 's/.* name it from the host: //p' "$log")
	[ -n "$cmd" ]
	bash -c "$cmd"
	assert_equal "$(proxy_ino)" "$ino"
	wait_until 3 grep -q "has its name again" "$log"
	attach_second
	served "$SB-vm2" inst-2
	served "$SB-vm1" inst-1
}
