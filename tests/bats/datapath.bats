#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The data path end to end: real programs on real veths, a real daemon and
# a real backend process.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "two VMs with the same IP each get their own metadata (local backend)" {
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-one vm-one
	sb_make_metadata "$md" inst-two vm-two
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-one --project-id p
	mdredir attach "${SB}t2" --instance-id inst-two --project-id p
	start_daemon --backend "local:$md"

	run metadata "$SB-vm1" /openstack/latest/meta_data.json
	assert_success
	run jq -r .name <<<"$output"
	assert_output vm-one
	run metadata "$SB-vm2" /openstack/latest/meta_data.json
	assert_success
	run jq -r .name <<<"$output"
	assert_output vm-two
	run metadata "$SB-vm2" /latest/meta-data/instance-id
	assert_output inst-two
	run metadata "$SB-vm1" /latest/meta-data/
	assert_output "$(printf 'hostname\ninstance-id\nlocal-ipv4')"
	run metadata "$SB-vm1" /openstack/latest/nothing-here -o /dev/null -w '%{http_code}'
	assert_output 404
	run metadata "$SB-vm1" /openstack/latest/meta_data.json -o /dev/null -w '%{content_type}'
	assert_output --partial application/json
	# The access log names the attachment and the guest.
	run grep -c "attach=${SB}t2 vm=10.0.0.5 \"GET /latest/meta-data/instance-id\" 200" \
		"$BATS_TEST_TMPDIR/daemon.log"
	assert_output 1
}

@test "attach --batch: taps with the same ifindex in three namespaces each serve their own VM" {
	md=$BATS_TEST_TMPDIR/md
	for i in 1 2 3; do
		sb_make_metadata "$md" "inst-$i" "vm-$i"
		sb_netns "$SB-h$i"
		sb_vm "$SB-vm$i" tap0 10.0.0.5 "$SB-h$i"
	done
	# One program serves every namespace: the same ifindex in each must
	# still be three interfaces.
	idx=$(ip -n "$SB-h1" -o link show tap0 | cut -d: -f1)
	for i in 2 3; do
		assert_equal "$(ip -n "$SB-h$i" -o link show tap0 | cut -d: -f1)" "$idx"
	done
	# Each line picks its own mode, whatever MDR_TEST_MODE says.
	"$MDREDIR" attach --batch - <<-EOF
	# the hosts of three networks

	tap0 --netns $SB-h1 --instance-id inst-1
	tap0 --netns $SB-h2 --instance-id inst-2
	tap0	--netns $SB-h3   --instance-id inst-3 --mode xdp
	EOF
	run mdredir list --json
	run jq -r 'map("\(.netns) \(.instance_id) \(.mode)") | join(",")' <<<"$output"
	assert_output "$SB-h1 inst-1 tc,$SB-h2 inst-2 tc,$SB-h3 inst-3 xdp-generic"
	start_daemon --backend "local:$md"
	for i in 1 2 3; do
		run metadata "$SB-vm$i" /openstack/latest/meta_data.json
		assert_success
		run jq -r .name <<<"$output"
		assert_output "vm-$i"
	done
}

@test "two VMs with the same IP reach the neutron backend with their own identity" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.5
	mdredir attach "${SB}t1" --network-id net-aaa
	mdredir attach "${SB}t2" --router-id router-bbb
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"

	run metadata "$SB-vm1" /openstack/latest/meta_data.json
	assert_success
	run metadata "$SB-vm2" /latest/meta-data/
	assert_success
	assert_equal "$(recorded_header 1 X-Forwarded-For)" 10.0.0.5
	assert_equal "$(recorded_header 1 X-Neutron-Network-ID)" net-aaa
	assert_equal "$(recorded_header 1 X-Neutron-Router-ID)" ""
	assert_equal "$(recorded_header 2 X-Forwarded-For)" 10.0.0.5
	assert_equal "$(recorded_header 2 X-Neutron-Router-ID)" router-bbb
	assert_equal "$(recorded_header 2 X-Neutron-Network-ID)" ""
	run jq -r -s '.[0].path, .[1].path' "$RECORD"
	assert_output "$(printf '/openstack/latest/meta_data.json\n/latest/meta-data/')"
}

@test "with Connection: close we close first: the guest keeps no TIME_WAIT (local and neutron)" {
	md=$BATS_TEST_TMPDIR/md
	sb_make_metadata "$md" inst-one vm-one
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-one
	mdredir attach "${SB}t2" --network-id net-2
	start_daemon --backend "local:$md"
	for i in $(seq 20); do
		metadata "$SB-vm1" /latest/meta-data/instance-id -H 'Connection: close' >/dev/null
	done
	stop_daemon
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"
	for i in $(seq 20); do
		metadata "$SB-vm2" /latest/meta-data/ -H 'Connection: close' >/dev/null
	done
	# Our FIN leaves with the last bytes of each response, so the guest
	# never closes first (a guest that does holds a TIME_WAIT per
	# connection, and a storm of them slows its connect()s to a crawl).
	for vm in "$SB-vm1" "$SB-vm2"; do
		run ip netns exec "$vm" ss -Htan state time-wait
		assert_output ""
	done
	run ip netns exec mdredir ss -Htan state time-wait
	assert_equal "${#lines[@]}" 40
}

@test "ARP for 169.254.169.254 is answered with the tap's MAC" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --network-id net-1
	tap_mac=$(cat "/sys/class/net/${SB}t1/address")
	# arping is not assumed: a connection attempt makes the guest resolve.
	metadata "$SB-vm1" / -m 1 || true
	run ip -n "$SB-vm1" neigh show 169.254.169.254 dev eth0
	assert_output --partial "lladdr $tap_mac"
	assert_equal "$(stat_of "${SB}t1" .packets.arp_replied)" 1
}

@test "with no daemon running a guest's connection is refused in under 1 s" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --network-id net-1
	start=$(date +%s%N)
	run metadata "$SB-vm1" / -m 5
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_failure 7	# curl: could not connect
	[ "$elapsed_ms" -lt 1000 ] || fail "refusal took ${elapsed_ms} ms"
}

@test "many VMs behind one attached qdhcp-like tap each get their replies" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	sb_network "$SB-sw" "$SB-dhcp" "${SB}d"
	for i in 5 6 7; do
		sb_vm_on_switch "$SB-vm$i" "$SB-sw" "${SB}p$i" "10.0.0.$i"
	done
	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id net-shared
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"

	# Concurrently, so the replies interleave on the one tap; a few rounds,
	# since a slow guest and a fast backend race differently each time.
	want=$(python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(300000)))' | sha256sum)
	for round in 1 2 3 4 5; do
		pids=()
		for i in 5 6 7; do
			metadata "$SB-vm$i" /size/300000 >"$BATS_TEST_TMPDIR/out$i" &
			pids+=($!)
		done
		wait "${pids[@]}"
		for i in 5 6 7; do
			assert_equal "$(sha256sum <"$BATS_TEST_TMPDIR/out$i")" "$want"
		done
	done
	run jq -r -s 'map(.headers[] | select(.[0] == "X-Forwarded-For") | .[1]) | sort | join(" ")' "$RECORD"
	assert_output "$(printf '10.0.0.5 %.0s' 1 2 3 4 5)$(printf '10.0.0.6 %.0s' 1 2 3 4 5)$(printf '10.0.0.7 %.0s' 1 2 3 4 5 | sed 's/ $//')"
	run jq -r -s 'map(.headers[] | select(.[0] == "X-Neutron-Network-ID") | .[1]) | unique | join(" ")' "$RECORD"
	assert_output "net-shared"
}

@test "a response of several MB arrives intact (local and neutron backends)" {
	md=$BATS_TEST_TMPDIR/md
	mkdir -p "$md/inst-big/openstack"
	head -c 6000000 /dev/urandom >"$md/inst-big/openstack/blob"
	start_backend --listen 127.0.0.1:18775
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-big
	mdredir attach "${SB}t2" --network-id net-big

	start_daemon --backend "local:$md"
	run bash -c "ip netns exec $SB-vm1 curl -sS -m 10 http://169.254.169.254/openstack/blob | sha256sum"
	assert_output "$(sha256sum <"$md/inst-big/openstack/blob")"
	stop_daemon

	start_daemon --backend "neutron:http://127.0.0.1:18775"
	want=$(python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(5000000)))' | sha256sum)
	run bash -c "ip netns exec $SB-vm2 curl -sS -m 10 http://169.254.169.254/size/5000000 | sha256sum"
	assert_output "$want"
	run bash -c "ip netns exec $SB-vm2 curl -sS -m 10 http://169.254.169.254/chunked/4000000 | sha256sum"
	want=$(python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(4000000)))' | sha256sum)
	assert_output "$want"
	# And the other way: a 3 MB POST body, segmented by the guest's stack.
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/post"
	run bash -c "ip netns exec $SB-vm2 curl -sS -m 10 --data-binary @$BATS_TEST_TMPDIR/post http://169.254.169.254/upload | sha256sum"
	assert_output "$(sha256sum <"$BATS_TEST_TMPDIR/post")"
	run jq -r -s 'map(select(.method == "POST"))[0].body_sha256' "$RECORD"
	assert_output "$(sha256sum <"$BATS_TEST_TMPDIR/post" | cut -d' ' -f1)"
}

@test "traffic that is not ours passes unchanged" {
	# A qdhcp-like namespace that also has 169.254.169.254 itself, with
	# services on the ports we must not take.
	sb_network "$SB-sw" "$SB-dhcp" "${SB}d"
	sb_vm_on_switch "$SB-vm5" "$SB-sw" "${SB}p5" 10.0.0.5
	ip -n "$SB-dhcp" addr add 169.254.169.254/32 dev lo
	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id net-1
	mkdir -p "$BATS_TEST_TMPDIR/md"
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	ip netns exec "$SB-dhcp" python3 "$ROOT/tests/backend/sink.py" \
		--tcp 169.254.169.254:8080 --tcp 10.0.0.2:80 --udp 169.254.169.254:80 \
		--out "$BATS_TEST_TMPDIR/sink" >"$BATS_TEST_TMPDIR/sink.log" 2>&1 3>&- &
	sink=$!
	await_line "$sink" "$BATS_TEST_TMPDIR/sink.log" ready

	payload=$BATS_TEST_TMPDIR/payload
	head -c 200000 /dev/urandom >"$payload"
	sum=$(sha256sum <"$payload" | cut -d' ' -f1)
	before=$(stat_of "${SB}d" .packets.to_proxy)

	# TCP to another port of 169.254.169.254, and to port 80 elsewhere.
	run sb_in "$SB-vm5" curl -sS -m 5 --data-binary "@$payload" http://169.254.169.254:8080/x
	assert_output "$sum"
	run sb_in "$SB-vm5" curl -sS -m 5 --data-binary "@$payload" http://10.0.0.2/x
	assert_output "$sum"
	# UDP to 169.254.169.254:80.
	run sb_in "$SB-vm5" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"not-http-" * 100, ("169.254.169.254", 80))
print(s.recvfrom(2048)[0].decode())'
	assert_output "$(printf 'not-http-%.0s' {1..100} | sha256sum | cut -d' ' -f1)"
	# ICMP to 169.254.169.254 and to the DHCP port.
	run sb_in "$SB-vm5" ping -c 2 -W 2 -s 1200 169.254.169.254
	assert_success
	run sb_in "$SB-vm5" ping -c 1 -W 2 10.0.0.2
	assert_success
	kill "$sink"

	# None of it went near the proxy.
	assert_equal "$(stat_of "${SB}d" .packets.to_proxy)" "$before"
	# While metadata on port 80 still does.
	run metadata "$SB-vm5" /nothing -o /dev/null -w '%{http_code}'
	assert_output 404
}
