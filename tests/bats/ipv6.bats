#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# IPv6 metadata at fe80::a9fe:a9fe, as cloud-init races it against
# 169.254.169.254.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# metadata6 GUEST PATH [CURL ARGS...]
metadata6() {
	local vm=$1 path=$2
	shift 2
	ip netns exec "$vm" curl -sS -m 5 -g "$@" "http://[fe80::a9fe:a9fe%eth0]$path"
}

@test "a guest with only a link-local address gets its metadata over IPv6" {
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-6 vm-six
	sb_vm "$SB-vm1" "${SB}t1" none
	run ip -n "$SB-vm1" -o addr show dev eth0
	refute_output --partial "inet "	# no IPv4 at all
	mdredir attach "${SB}t1" --instance-id inst-6
	start_daemon --backend "local:$md"

	run metadata6 "$SB-vm1" /openstack/latest/meta_data.json
	assert_success
	run jq -r .uuid <<<"$output"
	assert_output inst-6
	# The guest learnt fe80::a9fe:a9fe from our Neighbor Advertisement.
	tap_mac=$(cat "/sys/class/net/${SB}t1/address")
	run ip -n "$SB-vm1" -6 neigh show fe80::a9fe:a9fe dev eth0
	assert_output --partial "lladdr $tap_mac"
	assert_equal "$(stat_of "${SB}t1" .packets.ndp_replied)" 1
	ll=$(sb_vm_link_local "$SB-vm1")
	run grep -c "vm=$ll \"GET /openstack/latest/meta_data.json\" 200" \
		"$BATS_TEST_TMPDIR/daemon.log"
	assert_output 1
}

@test "X-Forwarded-For carries the guest's IPv6 address; two guests, same address" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	# Same MAC, so the same EUI-64 link-local address behind both taps.
	sb_vm "$SB-vm1" "${SB}t1" none "" fa:16:3e:00:00:05
	sb_vm "$SB-vm2" "${SB}t2" none "" fa:16:3e:00:00:05
	mdredir attach "${SB}t1" --network-id net-v6a
	mdredir attach "${SB}t2" --network-id net-v6b
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"

	run metadata6 "$SB-vm1" /one -H "X-Forwarded-For: ::1"
	assert_success
	run metadata6 "$SB-vm2" /two
	assert_success
	assert_equal "$(recorded_header 1 X-Forwarded-For)" fe80::f816:3eff:fe00:5
	assert_equal "$(recorded_header 1 X-Neutron-Network-ID)" net-v6a
	assert_equal "$(recorded_header 2 X-Forwarded-For)" fe80::f816:3eff:fe00:5
	assert_equal "$(recorded_header 2 X-Neutron-Network-ID)" net-v6b
}

@test "IPv4 and IPv6 from one guest reach the same attachment" {
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-d vm-dual
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-d
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-d
	run metadata6 "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-d
	assert_equal "$(stat_of "${SB}t1" .requests)" 2
}

@test "other IPv6 traffic, other NDP included, passes untouched" {
	sb_network "$SB-sw" "$SB-dhcp" "${SB}d"
	sb_vm_on_switch "$SB-vm5" "$SB-sw" "${SB}p5" 10.0.0.5
	ip netns exec "$SB-vm5" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
	ip -n "$SB-dhcp" addr add fd00::2/64 dev "${SB}d" nodad
	ip -n "$SB-vm5" addr add fd00::5/64 dev eth0 nodad
	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id net-1
	mkdir -p "$BATS_TEST_TMPDIR/md"
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	ip netns exec "$SB-dhcp" python3 "$ROOT/tests/backend/sink.py" \
		--tcp "[fd00::2]:80" \
		>"$BATS_TEST_TMPDIR/sink.log" 2>&1 3>&- &
	sink=$!
	await_line "$sink" "$BATS_TEST_TMPDIR/sink.log" ready
	before=$(stat_of "${SB}d" .packets.to_proxy)

	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/payload"
	sum=$(sha256sum <"$BATS_TEST_TMPDIR/payload" | cut -d' ' -f1)
	# NDP for the DHCP port's address, then TCP port 80 to it.
	run sb_in "$SB-vm5" curl -sS -m 5 -g --data-binary "@$BATS_TEST_TMPDIR/payload" "http://[fd00::2]/x"
	assert_output "$sum"
	run sb_in "$SB-vm5" ping -6 -c 2 -W 2 fd00::2
	assert_success
	kill "$sink"
	assert_equal "$(stat_of "${SB}d" .packets.to_proxy)" "$before"
	assert_equal "$(stat_of "${SB}d" .packets.ndp_replied)" 0
}

@test "link-local guests behind taps in two namespaces are both answered" {
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-a vm-a
	sb_make_metadata "$md" inst-b vm-b
	sb_netns "$SB-hv"
	sb_vm "$SB-vm1" "${SB}t1" none
	sb_vm "$SB-vm2" "${SB}t2" none "$SB-hv"
	mdredir attach "${SB}t1" --instance-id inst-a
	mdredir attach "${SB}t2" --netns "$SB-hv" --instance-id inst-b
	start_daemon --backend "local:$md"
	# Each link has its own fe80::/64 route in the proxy namespace.
	run metadata6 "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-a
	run metadata6 "$SB-vm2" /latest/meta-data/instance-id
	assert_output inst-b
	run metadata6 "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-a
}
