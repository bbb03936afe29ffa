#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# What the BPF program refuses before anything reaches the proxy: spoofed
# guests, SYN floods (per attachment and per guest); and the reply hop
# limit.

load helpers

setup() {
	common_setup
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-1 vm-one
	sb_make_metadata "$md" inst-2 vm-two
}
teardown() { common_teardown; }

@test "an attachment with --mac/--ip answers only that guest" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5 "" fa:16:3e:00:00:01
	mdredir attach "${SB}t1" --instance-id inst-1 --mac fa:16:3e:00:00:01 --ip 10.0.0.5
	start_daemon --backend "local:$md"
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	# IPv6 from the link-local address port security derives from the MAC.
	run ip netns exec "$SB-vm1" curl -sS -m 5 -g "http://[fe80::a9fe:a9fe%eth0]/latest/meta-data/instance-id"
	assert_output inst-1

	# Another source IP on the same guest is dropped in BPF.
	ip -n "$SB-vm1" addr add 10.0.0.9/24 dev eth0
	run ip netns exec "$SB-vm1" curl -sS -m 2 --interface 10.0.0.9 http://169.254.169.254/
	assert_failure
	[ "$(stat_of "${SB}t1" .dropped.spoofed_ip)" -ge 1 ]

	# Another MAC is dropped too, ARP included.
	ip -n "$SB-vm1" neigh flush dev eth0
	ip -n "$SB-vm1" link set eth0 address fa:16:3e:00:00:66
	run metadata "$SB-vm1" / -m 2
	assert_failure
	[ "$(stat_of "${SB}t1" .dropped.spoofed_mac)" -ge 1 ]
	assert_equal "$(stat_of "${SB}t1" .packets.arp_replied)" 1
	# Nothing spoofed ever reached the proxy.
	assert_equal "$(stat_of "${SB}t1" .requests)" 2
}

# syn_flood VM N SECS: up to N connection attempts from VM to metadata, as
# fast as it can send them for SECS seconds, then SECS more with them all
# open (the kernel sends their SYNs again meanwhile).
syn_flood() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
n, secs = int(sys.argv[1]), float(sys.argv[2])
socks = []
end = time.time() + secs
while time.time() < end and len(socks) < n:
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("169.254.169.254", 80))
    except BlockingIOError: pass
    socks.append(s)
time.sleep(secs)
' "$2" "$3"
}

# syn_dropped TAP: BPF has dropped SYNs of TAP over its rate.
syn_dropped() { [ "$(stat_of "$1" .dropped.syn_rate)" -gt 0 ]; }

@test "a SYN flood from one guest is cut in BPF while another guest is served" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
	conf=$BATS_TEST_TMPDIR/mdredir.ini
	printf '[mdredir]\nnew_connection_rate = 20\nnew_connection_burst = 10\n' >"$conf"
	start_daemon --config "$conf" --backend "local:$md"

	syn_flood "$SB-vm1" 3000 3 3>&- &
	flood=$!
	# Once BPF is cutting it, the other guest asks.
	wait_until 5 syn_dropped "${SB}t1"
	start=$(date +%s%N)
	run metadata "$SB-vm2" /latest/meta-data/instance-id
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_output inst-2
	[ "$elapsed_ms" -lt 500 ] || fail "the other guest waited ${elapsed_ms} ms"
	wait "$flood"
	dropped=$(stat_of "${SB}t1" .dropped.syn_rate)
	[ "$dropped" -gt 1000 ] || fail "only $dropped SYNs dropped"
	assert_equal "$(stat_of "${SB}t2" .dropped.syn_rate)" 0
}

# guest_syn_dropped TAP: BPF has dropped SYNs of a guest of TAP over the
# guest's own rate.
guest_syn_dropped() { [ "$(stat_of "$1" .dropped.guest_syn_rate)" -gt 0 ]; }

@test "one guest flooding a qdhcp tap spends its own SYN budget; its neighbour keeps being served" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	sb_network "$SB-sw" "$SB-dhcp" "${SB}d"
	sb_vm_on_switch "$SB-vm5" "$SB-sw" "${SB}p5" 10.0.0.5
	sb_vm_on_switch "$SB-vm6" "$SB-sw" "${SB}p6" 10.0.0.6
	# No --ip: the tap serves the whole network, as Neutron's qdhcp does.
	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id net-shared
	# The flood alone would spend the network's budget ten times over
	# (the test above); each guest gets a tenth of it.
	conf=$BATS_TEST_TMPDIR/mdredir.ini
	cat >"$conf" <<-EOF
		[mdredir]
		new_connection_rate = 200
		new_connection_burst = 100
		new_connection_rate_per_guest = 20
		new_connection_burst_per_guest = 10
	EOF
	start_daemon --config "$conf" --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"

	syn_flood "$SB-vm5" 4000 4 3>&- &
	flood=$!
	wait_until 5 guest_syn_dropped "${SB}d"
	# Ten requests in a row, each on a new connection: a SYN of the
	# neighbour's dropped would cost it the 1 s retransmit.
	for i in $(seq 10); do
		run ip netns exec "$SB-vm6" curl -sS -m 5 -o /dev/null \
			-w '%{http_code} %{time_total}' http://169.254.169.254/latest/meta-data/
		assert_success
		read -r code secs <<<"$output"
		assert_equal "$code" 200
		awk -v s="$secs" 'BEGIN { exit !(s < 0.5) }' ||
			fail "request $i of the neighbour took $secs s"
	done
	wait "$flood"
	dropped=$(stat_of "${SB}d" .dropped.guest_syn_rate)
	[ "$dropped" -gt 1000 ] || fail "only $dropped SYNs dropped"
	# Only what the flooder's own rate passed was charged to the network.
	assert_equal "$(stat_of "${SB}d" .dropped.syn_rate)" 0
}

@test "--reply-ttl sets the TTL of metadata replies" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1
	start_daemon --backend "local:$md"
	run reply_ttl "$SB-vm1"
	assert_output 64
	stop_daemon
	start_daemon --backend "local:$md" --reply-ttl 1
	run reply_ttl "$SB-vm1"
	assert_output 1
	# And the guest itself is still served.
	run metadata "$SB-vm1" /latest/meta-data/instance-id
	assert_output inst-1
	run timeout 5 "$MDREDIR" daemon --reply-ttl 300
	assert_failure 1
	assert_output --partial "reply_ttl"
}
