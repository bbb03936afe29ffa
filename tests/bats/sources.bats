#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Attachments that follow the control plane (attach_from): Neutron's
# qdhcp- and qrouter- namespaces on a network node, with no attach command.

load helpers

setup() {
	common_setup
	NET=$SB-net1
	ROUTER=$SB-router1
	MD=$BATS_TEST_TMPDIR/md
	# The local backend's files of a network (router) guest:
	# DIR/<network-or-router-id>/<guest ip>/<path>.
	mkdir -p "$MD/$NET/10.0.0.5" "$MD/$ROUTER/10.0.0.5"
	echo "guest of $NET" >"$MD/$NET/10.0.0.5/who"
	echo "guest of $ROUTER" >"$MD/$ROUTER/10.0.0.5/who"
}
teardown() { common_teardown; }

# attachment IFNAME FIELD: a field of IFNAME's attachment from list --json
# (empty when IFNAME is not attached).
attachment() {
	"$MDREDIR" list --json |
		jq -r --arg i "$1" ".[] | select(.ifname == \$i) | .$2"
}

is_attached_by() {
	[ "$(attachment "$1" source)" = "$2" ]
}

# has_nsid NS: NS has an id in the proxy namespace (its events reach us).
has_nsid() {
	ip -n mdredir netns list-id | grep -q "name: $1)"
}

is_detached() {
	[ -z "$(attachment "$1" id)" ]
}

@test "qdhcp- and qrouter- namespaces are attached by themselves and serve their guests" {
	# A network whose namespace exists before the daemon starts...
	sb_network "$SB-sw1" "qdhcp-$NET" "tap${SB}"
	sb_vm_on_switch "$SB-vm1" "$SB-sw1" "${SB}p1" 10.0.0.5
	start_daemon --backend "local:$MD" --attach-from neutron-namespaces
	wait_until 5 is_attached_by "tap${SB}" neutron-namespaces
	assert_equal "$(attachment "tap${SB}" netns)" "qdhcp-$NET"
	assert_equal "$(attachment "tap${SB}" network_id)" "$NET"
	assert_equal "$(attachment "tap${SB}" router_id)" null
	run metadata "$SB-vm1" /who
	assert_output "guest of $NET"

	# ...and a router whose namespace comes later: its qr- port only.
	sb_network "$SB-sw2" "qrouter-$ROUTER" "qr-${SB}"
	ip -n "qrouter-$ROUTER" link add "qg-${SB}" type veth peer name "qh-${SB}"
	sb_vm_on_switch "$SB-vm2" "$SB-sw2" "${SB}p2" 10.0.0.5
	wait_until 5 is_attached_by "qr-${SB}" neutron-namespaces
	assert_equal "$(attachment "qr-${SB}" router_id)" "$ROUTER"
	assert_equal "$(attachment "qr-${SB}" network_id)" null
	run metadata "$SB-vm2" /who
	assert_output "guest of $ROUTER"
	is_detached "qg-${SB}"
	is_detached "qh-${SB}"
	grep -q "attached 'qr-${SB}' in qrouter-$ROUTER (router $ROUTER)" \
		"$BATS_TEST_TMPDIR/daemon.log"
}

@test "a DHCP port added to a known namespace is attached at once" {
	sb_netns "qdhcp-$NET"
	start_daemon --backend "local:$MD" --attach-from neutron-namespaces
	# Followed from now on: it has an id in the proxy namespace.
	wait_until 5 has_nsid "qdhcp-$NET"
	# Under Linux bridge the DHCP port is ns-*. Its link event, not a scan
	# (a known namespace is looked at again only on an event), brings it in.
	ip -n "qdhcp-$NET" link add "ns-${SB}" type veth peer name "nt-${SB}"
	wait_until 2 is_attached_by "ns-${SB}" neutron-namespaces
	assert_equal "$(attachment "ns-${SB}" network_id)" "$NET"
	is_detached "nt-${SB}"
}

@test "what an operator attached by hand stays theirs" {
	sb_network "$SB-sw1" "qdhcp-$NET" "tap${SB}"
	mdredir attach "tap${SB}" --netns "qdhcp-$NET" --network-id by-hand
	id=$(attachment "tap${SB}" id)
	start_daemon --backend "local:$MD" --attach-from neutron-namespaces
	wait_until 5 grep -q "'tap${SB}' in qdhcp-$NET was attached by hand" \
		"$BATS_TEST_TMPDIR/daemon.log"
	assert_equal "$(attachment "tap${SB}" source)" cli
	assert_equal "$(attachment "tap${SB}" network_id)" by-hand
	assert_equal "$(attachment "tap${SB}" id)" "$id"
}

@test "a restart detaches nothing; a deleted namespace is detached" {
	sb_network "$SB-sw1" "qdhcp-$NET" "tap${SB}"
	sb_vm_on_switch "$SB-vm1" "$SB-sw1" "${SB}p1" 10.0.0.5
	start_daemon --backend "local:$MD" --attach-from neutron-namespaces
	wait_until 5 is_attached_by "tap${SB}" neutron-namespaces
	id=$(attachment "tap${SB}" id)

	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	start_daemon --backend "local:$MD" --attach-from neutron-namespaces
	# The guest is served throughout, by the attachment it had.
	run metadata "$SB-vm1" /who
	assert_output "guest of $NET"
	assert_equal "$(attachment "tap${SB}" id)" "$id"
	run grep -c "attached 'tap${SB}'" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 0

	ip netns del "qdhcp-$NET"
	wait_until 5 is_detached "tap${SB}"
}

@test "attach_from: nothing by default, a clear error for a bad value" {
	sb_network "$SB-sw1" "qdhcp-$NET" "tap${SB}"
	start_daemon --backend "local:$MD"
	run mdredir list --json
	assert_output "[]"
	stop_daemon

	printf '[mdredir]\nattach_from = neutron-namespaces, bogus\n' \
		>"$BATS_TEST_TMPDIR/bad.ini"
	run "$MDREDIR" daemon --config "$BATS_TEST_TMPDIR/bad.ini"
	assert_failure
	assert_output --partial "$BATS_TEST_TMPDIR/bad.ini:2: [mdredir] attach_from:"
	# The OVN metadata agent's remotes are checked at start too.
	printf '[ovn]\novn_sb_connection = tcp:ovn-sb.example:6642\n' \
		>"$BATS_TEST_TMPDIR/bad-ovn.ini"
	run "$MDREDIR" daemon --config "$BATS_TEST_TMPDIR/bad-ovn.ini" \
		--attach-from ovn
	assert_failure
	assert_output --partial "$BATS_TEST_TMPDIR/bad-ovn.ini:2: [ovn] ovn_sb_connection:"
	assert_output --partial "not a name"
	printf '[ovs]\novsdb_connection = tcp:127.0.0.1:1,tcp:127.0.0.1:2\n' \
		>"$BATS_TEST_TMPDIR/bad-ovn.ini"
	run "$MDREDIR" daemon --config "$BATS_TEST_TMPDIR/bad-ovn.ini" \
		--attach-from ovn
	assert_failure
	assert_output --partial "the local database is one unix:PATH or tcp:IP:PORT"
	printf '[ovn]\novn_sb_connection = ssl:127.0.0.1:6642\n' \
		>"$BATS_TEST_TMPDIR/bad-ovn.ini"
	run "$MDREDIR" daemon --config "$BATS_TEST_TMPDIR/bad-ovn.ini" \
		--attach-from ovn
	assert_failure
	assert_output --partial "set ovn_sb_private_key, ovn_sb_certificate and ovn_sb_ca_cert"
}

@test "stats tells how each source fares" {
	sb_network "$SB-sw1" "qdhcp-$NET" "tap${SB}"
	start_daemon --backend "local:$MD" --attach-from neutron-namespaces
	wait_until 5 is_attached_by "tap${SB}" neutron-namespaces
	run mdredir stats --json
	assert_success
	run jq -ce '.sources."neutron-namespaces" |
		(.last_sync | type) as $t | del(.last_sync) + {last_sync: $t}' \
		<<<"$output"
	assert_output '{"running":true,"connected":true,"synced":true,"attachments":1,"errors":0,"last_error":null,"last_sync":"number"}'
	run mdredir stats
	assert_output --partial "source neutron-namespaces: running, connected, synced, 1 attachments, 0 errors"

	# Stopped, it says nothing of itself; what it attached stays.
	stop_daemon
	run mdredir stats --json
	run jq -ce '.sources."neutron-namespaces" | [.running, .attachments]' \
		<<<"$output"
	assert_output '[false,1]'
}
