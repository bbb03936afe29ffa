#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The ovn source (attach_from = ovn) on a compute host: real Open vSwitch
# and OVN databases and ovn-northd (ovn_helpers.bash), ports made the way
# Neutron makes them, bound the way ovn-controller binds them and plugged
# the way os-vif plugs them, taps that are veths to guest namespaces, and
# the daemon given nothing but the OVN metadata agent's ini.

load helpers
load ovn_helpers

NET1=11111111-1111-4111-8111-111111111111
NET2=22222222-2222-4222-8222-222222222222
VM1=aaaaaaaa-0000-4000-8000-000000000001
VM2=aaaaaaaa-0000-4000-8000-000000000002
PROJ=bbbbbbbb-0000-4000-8000-00000000000b
MAC1=fa:16:3e:00:01:05
MAC2=fa:16:3e:00:02:05

setup() {
	[ -x /usr/bin/ovn-northd ] || skip "ovn-central is not installed"
	common_setup
	MD=$BATS_TEST_TMPDIR/md
	for vm in "$VM1" "$VM2"; do
		mkdir -p "$MD/$vm"
		echo "I am $vm" >"$MD/$vm/who"
	done
	TAP1=t${SB}a
	TAP2=t${SB}b
	ovn_start "$BATS_TEST_TMPDIR/ovn"
	ovn_network "$NET1" 10.0.0.0/24 10.0.0.2
	ovn_network "$NET2" 10.0.0.0/24 10.0.0.3
}

teardown() {
	common_teardown
	ovn_stop
}

attachment() {
	"$MDREDIR" list --json |
		jq -r --arg i "$1" ".[] | select(.ifname == \$i) | .$2"
}

is_attached() { [ "$(attachment "$1" source)" = ovn ]; }
# attachment_is IFNAME FIELD VALUE (for wait_until: evaluated each time)
attachment_is() { [ "$(attachment "$1" "$2")" = "$3" ]; }
is_detached() { [ -z "$(attachment "$1" id)" ]; }
log_has() { grep -q -- "$1" "$BATS_TEST_TMPDIR/daemon.log"; }
# (a function: a bare `! cmd` would not fail the test)
log_lacks() { ! log_has "$1"; }
ovn_synced() {
	"$MDREDIR" stats --json | jq -e '.sources.ovn.synced' >/dev/null
}

# vm_port NET PORT MAC IP VM TAP: a VM's port made, bound here and
# plugged, its tap wired to a guest namespace named VM's tap.
vm_port() {
	ovn_port "$1" "$2" "$3" "$4" "$5" "$PROJ"
	ovn_wait_sb "$2"
	ovn_bind "$2"
	ovs_plug "$6" "$2" "$3" "$5"
	sb_vm "g$6" "$6" "$4" "" "$3"
}

start_ovn_daemon() {
	start_daemon --backend "local:$MD" --config "$OVN_INI" \
		--attach-from ovn "$@"
}

@test "a port bound here is attached with its identity and serves its guest" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	start_ovn_daemon
	wait_until 5 is_attached "$TAP1"
	assert_equal "$(attachment "$TAP1" netns)" null
	assert_equal "$(attachment "$TAP1" instance_id)" "$VM1"
	assert_equal "$(attachment "$TAP1" project_id)" "$PROJ"
	assert_equal "$(attachment "$TAP1" network_id)" "$NET1"
	assert_equal "$(attachment "$TAP1" vm_mac)" "$MAC1"
	assert_equal "$(attachment "$TAP1" 'fixed_ips | join(",")')" 10.0.0.5
	assert_equal "$(attachment "$TAP1" metadata_via)" 10.0.0.2
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	wait_until 2 ovn_synced
	run "$MDREDIR" stats --json
	run jq -c '.sources.ovn | {running, connected, synced, attachments}' \
		<<<"$output"
	assert_output '{"running":true,"connected":true,"synced":true,"attachments":1}'
}

@test "a guest routed via the metadata port's IP (OVN's usual DHCP) is served" {
	ovn_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$PROJ"
	ovn_wait_sb port1
	ovn_bind port1
	ovs_plug "$TAP1" port1 "$MAC1" "$VM1"
	# DHCP option 121: 169.254.169.254/32 via the metadata port, 10.0.0.2.
	sb_vm_via "g$TAP1" "$TAP1" 10.0.0.5 10.0.0.2
	ip -n "g$TAP1" link set eth0 address "$MAC1"
	start_ovn_daemon
	wait_until 5 is_attached "$TAP1"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	# The tap answered the guest's ARP for 10.0.0.2, with its own MAC.
	run ip -n "g$TAP1" neigh show 10.0.0.2
	assert_output --partial "lladdr $(cat "/sys/class/net/$TAP1/address")"
	# The metadata port moves, and has an address on another subnet
	# first: the one on the guest's subnet is followed, in place.
	id=$(attachment "$TAP1" id)
	ovn_nbctl set Logical_Switch_Port "$(ovn_meta_port "$NET1")" \
		external_ids:neutron\\:cidrs="10.1.0.2/24 10.0.0.4/24"
	wait_until 5 attachment_is "$TAP1" metadata_via 10.0.0.4
	assert_equal "$(attachment "$TAP1" id)" "$id"
}

@test "two ports with the same IP on two networks are two instances" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	vm_port "$NET2" port2 "$MAC2" 10.0.0.5 "$VM2" "$TAP2"
	start_ovn_daemon
	wait_until 5 is_attached "$TAP1"
	wait_until 5 is_attached "$TAP2"
	assert_equal "$(attachment "$TAP2" network_id)" "$NET2"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	run metadata "g$TAP2" /who
	assert_output "I am $VM2"
}

@test "a port bound to another chassis is left alone, until it migrates here" {
	ovn_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$PROJ"
	ovn_wait_sb port1
	ovn_bind port1 other
	ovs_plug "$TAP1" port1 "$MAC1" "$VM1"
	sb_vm "g$TAP1" "$TAP1" 10.0.0.5 "" "$MAC1"
	start_ovn_daemon
	wait_until 2 ovn_synced
	is_detached "$TAP1"
	# Live migration: this host is the additional chassis.
	ovn_bind_additional port1 "$CHASSIS"
	wait_until 5 is_attached "$TAP1"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	# It went back: not ours any more.
	ovn_unbind_additional port1
	wait_until 5 is_detached "$TAP1"
}

@test "unbinding, unplugging or deleting the tap detaches; the tap may come last" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	start_ovn_daemon
	wait_until 5 is_attached "$TAP1"
	ovn_unbind port1
	wait_until 5 is_detached "$TAP1"
	ovn_bind port1
	wait_until 5 is_attached "$TAP1"
	ovs_unplug "$TAP1"
	wait_until 5 is_detached "$TAP1"
	ovs_plug "$TAP1" port1 "$MAC1" "$VM1"
	wait_until 5 is_attached "$TAP1"
	ip link del "$TAP1"
	wait_until 5 is_detached "$TAP1"

	# Bound and plugged first, QEMU's tap last: attached when it appears.
	ip netns del "g$TAP1"
	sb_vm "g$TAP1" "$TAP1" 10.0.0.5 "" "$MAC1"
	wait_until 5 is_attached "$TAP1"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	log_has "detached '$TAP1' (instance $VM1): no longer bound here or plugged"
}

@test "an IP change updates the attachment in place" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	start_ovn_daemon
	wait_until 5 is_attached "$TAP1"
	id=$(attachment "$TAP1" id)
	addr=$(attachment "$TAP1" service_addr)
	ovn_nbctl lsp-set-addresses port1 "$MAC1 10.0.0.6" -- \
		lsp-set-port-security port1 "$MAC1 10.0.0.6"
	wait_until 5 attachment_is "$TAP1" 'fixed_ips | join(",")' 10.0.0.6
	assert_equal "$(attachment "$TAP1" id)" "$id"
	assert_equal "$(attachment "$TAP1" service_addr)" "$addr"
	# The old address is now a spoof; the new one is served (the guest's
	# ARP for the metadata IP from the old one was dropped too: forget it).
	run metadata "g$TAP1" /who --max-time 2
	assert_failure
	ip -n "g$TAP1" addr del 10.0.0.5/24 dev eth0
	ip -n "g$TAP1" addr add 10.0.0.6/24 dev eth0
	ip -n "g$TAP1" route replace 169.254.169.254/32 dev eth0
	ip -n "g$TAP1" neigh flush all
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	log_has "updated '$TAP1'"
	log_lacks "detached"
}

@test "the Interface must name the binding's instance" {
	ovn_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$PROJ"
	ovn_wait_sb port1
	ovn_bind port1
	ovs_plug "$TAP1" port1 "$MAC1" "$VM2"
	sb_vm "g$TAP1" "$TAP1" 10.0.0.5 "" "$MAC1"
	start_ovn_daemon
	wait_until 2 ovn_synced
	is_detached "$TAP1"
	log_has "tap '$TAP1' belongs to VM $VM2 but port port1 to instance $VM1: not attached"
	# libvirt's name for it works as well.
	ovs_vsctl remove Interface "$TAP1" external_ids vm-uuid -- \
		set Interface "$TAP1" external_ids:vm-id="$VM1"
	wait_until 5 is_attached "$TAP1"
}

@test "what an operator attached by hand stays theirs" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	mdredir attach "$TAP1" --instance-id manual-vm --project-id p
	start_ovn_daemon
	wait_until 2 ovn_synced
	assert_equal "$(attachment "$TAP1" source)" cli
	assert_equal "$(attachment "$TAP1" instance_id)" manual-vm
	log_has "'$TAP1' was attached by hand: the ovn source leaves it alone"
	ovn_unbind port1
	sleep 0.5
	assert_equal "$(attachment "$TAP1" source)" cli
}

@test "the Southbound going away keeps every attachment; it resyncs on return" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	vm_port "$NET2" port2 "$MAC2" 10.0.0.5 "$VM2" "$TAP2"
	start_ovn_daemon
	wait_until 5 is_attached "$TAP1"
	wait_until 5 is_attached "$TAP2"
	id1=$(attachment "$TAP1" id)
	ovn_sb_stop
	wait_until 5 log_has "Southbound database unix:$SB_SOCK: .*attachments kept"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	run "$MDREDIR" stats --json
	assert_equal "$(jq -c '.sources.ovn | [.connected, .synced]' <<<"$output")" \
		'[false,false]'
	# While the daemon is away, port2 is unbound (on a socket of its own).
	ovsdb_serve "$OVN_DIR/sb.db" "$OVN_DIR/side.sock"
	ovn-sbctl --db="unix:$OVN_DIR/side.sock" clear Port_Binding port2 chassis
	ovsdb_unserve "$OVN_DIR/sb.db"
	ovn_sb_start
	wait_until 10 is_detached "$TAP2"
	wait_until 5 ovn_synced
	assert_equal "$(attachment "$TAP1" id)" "$id1"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	# Nothing else came and went.
	assert_equal "$(grep -c "detached" "$BATS_TEST_TMPDIR/daemon.log")" 1
}

@test "a daemon killed and restarted detaches nothing" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	vm_port "$NET2" port2 "$MAC2" 10.0.0.5 "$VM2" "$TAP2"
	start_ovn_daemon
	wait_until 5 is_attached "$TAP1"
	wait_until 5 is_attached "$TAP2"
	before=$("$MDREDIR" list --json | jq -c 'map({id, ifname, service_addr})')
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	start_ovn_daemon
	wait_until 5 ovn_synced
	assert_equal "$("$MDREDIR" list --json | jq -c 'map({id, ifname, service_addr})')" \
		"$before"
	run metadata "g$TAP2" /who
	assert_output "I am $VM2"
	log_lacks "detached"
	log_lacks "ovn: attached"
	log_lacks "ovn: updated"
}

@test "a database that talks garbage is left for the next remote" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	# A "Southbound" that answers anything with bytes that are not JSON.
	python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"\x00\xff garbage }}}]]]")
    c.close()
' "$OVN_DIR/garbage.sock" >"$BATS_TEST_TMPDIR/garbage.out" 3>&- &
	GARBAGE_PID=$!
	await_line "$GARBAGE_PID" "$BATS_TEST_TMPDIR/garbage.out" ready
	printf '[ovn]\novn_sb_connection = unix:%s,unix:%s\n' \
		"$OVN_DIR/garbage.sock" "$SB_SOCK" >"$BATS_TEST_TMPDIR/sb.ini"
	start_ovn_daemon --config "$BATS_TEST_TMPDIR/sb.ini"
	wait_until 10 is_attached "$TAP1"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	log_has "Southbound database unix:$OVN_DIR/garbage.sock: .*trying the next remote"
	kill "$GARBAGE_PID"
}

# sb_ssl: the Southbound served over ssl: too (a port of its choosing in
# $SB_SSL_PORT), with a CA, server and client certificates made now.
sb_ssl() {
	local d=$OVN_DIR
	test_ca "$d" ca
	test_ca "$d" wrong-ca
	test_cert "$d" server ca "DNS:ovn-sb"
	test_cert "$d" client ca "DNS:compute-1"
	ovn_sb_stop
	ovsdb_serve "$d/sb.db" "$SB_SOCK" --remote=pssl:0:127.0.0.1 \
		--private-key="$d/server.key" --certificate="$d/server.crt" \
		--ca-cert="$d/ca.crt"
	SB_SSL_PORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' \
		"$d/sb.log" | tail -1)
	[ -n "$SB_SSL_PORT" ]
}

# ssl_ini CA [KEY]: the agent's [ovn] for ssl:, trusting CA.
ssl_ini() {
	printf '[ovn]\novn_sb_connection = ssl:127.0.0.1:%s\n' "$SB_SSL_PORT"
	printf 'ovn_sb_private_key = %s\n' "${2:-$OVN_DIR/client.key}"
	printf 'ovn_sb_certificate = %s\novn_sb_ca_cert = %s\n' \
		"$OVN_DIR/client.crt" "$OVN_DIR/$1.crt"
}

@test "an ssl: Southbound is followed, its certificate checked" {
	vm_port "$NET1" port1 "$MAC1" 10.0.0.5 "$VM1" "$TAP1"
	sb_ssl
	ssl_ini ca >"$BATS_TEST_TMPDIR/ssl.ini"
	start_ovn_daemon --config "$BATS_TEST_TMPDIR/ssl.ini"
	wait_until 5 is_attached "$TAP1"
	run metadata "g$TAP1" /who
	assert_output "I am $VM1"
	stop_daemon

	# A server whose certificate our CA did not sign: never believed.
	"$MDREDIR" unload
	ssl_ini wrong-ca >"$BATS_TEST_TMPDIR/ssl.ini"
	start_ovn_daemon --config "$BATS_TEST_TMPDIR/ssl.ini"
	wait_until 5 log_has "certificate verify failed"
	is_detached "$TAP1"
	stop_daemon

	# A key that is not there stops the start, saying which.
	ssl_ini ca "$OVN_DIR/nowhere.key" >"$BATS_TEST_TMPDIR/ssl.ini"
	run "$MDREDIR" daemon --config "$OVN_INI" \
		--config "$BATS_TEST_TMPDIR/ssl.ini" --attach-from ovn
	assert_failure
	assert_output --partial "$OVN_DIR/nowhere.key"
}
