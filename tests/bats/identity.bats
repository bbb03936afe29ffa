#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# A guest never chooses its own identity: whatever it sends, the backend
# sees only the identity the attachment gives it.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

forged=(
	-H "X-Forwarded-For: 6.6.6.6"
	-H "x-forwarded-for: 7.7.7.7"
	-H "X-Neutron-Network-ID: evil-net"
	-H "x-neutron-router-id: evil-router"
	-H "X-NEUTRON-Anything: evil"
	-H "X-OVN-Network-ID: evil-ovn"
	-H "X-Instance-ID: evil-instance"
	-H "X-Instance-ID-Signature: deadbeef"
	-H "x-tenant-id: evil-tenant"
	-H "Connection: keep-alive, X-Keep-Me"
)

# Every header whose name starts like an identity header, as received.
identity_headers() {
	jq -r -s --argjson i "$1" '.[$i - 1].headers[] |
		select(.[0] | ascii_downcase | test("^x-(forwarded-for|neutron-|ovn-|instance-id|tenant-id)"))
		| "\(.[0]): \(.[1])"' "$RECORD"
}

@test "forged identity headers never reach the backend (network, unix socket)" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --network-id net-real
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"

	run metadata "$SB-vm1" /latest/meta-data/ "${forged[@]}"
	assert_success
	run identity_headers 1
	assert_output "$(printf 'X-Forwarded-For: 10.0.0.5\nX-Neutron-Network-ID: net-real')"
}

@test "forged identity headers never reach the backend (router, HTTP, POST)" {
	start_backend --listen 127.0.0.1:18776
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.7
	mdredir attach "${SB}t1" --router-id router-real
	start_daemon --backend "neutron:http://127.0.0.1:18776"

	run metadata "$SB-vm1" /openstack/latest/password "${forged[@]}" --data-binary secret-pw
	assert_success
	assert_output secret-pw	# the test backend echoes POST bodies
	run identity_headers 1
	assert_output "$(printf 'X-Forwarded-For: 10.0.0.7\nX-Neutron-Router-ID: router-real')"
	run jq -r -s '.[0].method, .[0].body_len' "$RECORD"
	assert_output "$(printf 'POST\n9')"
}

@test "keep-alive: several requests on one guest connection each carry our identity" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --network-id net-ka
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"

	run sb_in "$SB-vm1" curl -sS -m 5 -H "X-Forwarded-For: 1.2.3.4" \
		-w '%{num_connects}\n' -o /dev/null http://169.254.169.254/a \
		-o /dev/null http://169.254.169.254/b -o /dev/null http://169.254.169.254/c
	assert_success
	# One connection made for the first URL, reused for the next two.
	assert_output "$(printf '1\n0\n0')"
	for i in 1 2 3; do
		assert_equal "$(recorded_header $i X-Forwarded-For)" 10.0.0.5
		assert_equal "$(recorded_header $i X-Neutron-Network-ID)" net-ka
	done
}
