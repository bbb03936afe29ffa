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
	-H "X_Forwarded_For: 8.8.8.8"
	-H "Forwarded: for=6.6.6.6;proto=https;host=evil"
	-H "x_forwarded_PROTO: https"
	-H "X-Forwarded_Host: evil"
	-H "X_FORWARDED_PREFIX: /evil"
	-H "X-Neutron-Network-ID: evil-net"
	-H "x-neutron-router-id: evil-router"
	-H "X_Neutron_Network_Id: evil-net"
	-H "X-NEUTRON-Anything: evil"
	-H "X-OVN-Network-ID: evil-ovn"
	-H "x_ovn_network_ID: evil-ovn"
	-H "X-Instance-ID: evil-instance"
	-H "X_Instance_ID: evil-instance"
	-H "X-Instance-ID-Signature: deadbeef"
	-H "x-tenant-id: evil-tenant"
	-H "X_TENANT_ID: evil-tenant"
	-H "X-Metadata-Provider: evil-provider"
	-H "x_metadata_provider_SIGNATURE: deadbeef"
	-H "Connection: keep-alive, X-Keep-Me"
)

# Every header whose name, as a WSGI environ reads it (case and '_' or '-'
# alike), starts like an identity or provenance header, as received.
identity_headers() {
	jq -r -s --argjson i "$1" '.[$i - 1].headers[] |
		select(.[0] | ascii_downcase | gsub("_"; "-") |
			test("^(forwarded$|x-forwarded-|x-neutron-|x-ovn-|x-instance-id|x-tenant-id|x-metadata-provider)"))
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

# The daemon keeps the attachments it read (issue 14); attach and detach
# bump a generation that makes it read them again. The same tap, service
# address and guest, a new identity each time, asked for at once.
@test "re-attached on the same id: the very next request carries the new identity" {
	local id
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --network-id net-0
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"
	id=$("$MDREDIR" list --json | jq '.[0].id')

	run metadata "$SB-vm1" /a
	assert_success
	for i in 1 2 3 4 5; do
		mdredir detach "${SB}t1"
		mdredir attach "${SB}t1" --network-id "net-$i"
		assert_equal "$("$MDREDIR" list --json | jq '.[0].id')" "$id"
		run metadata "$SB-vm1" /a
		assert_success
		assert_equal "$(recorded_header $((i + 1)) X-Neutron-Network-ID)" "net-$i"
	done
	# An update in place (same id, no detach) is seen at once too.
	mdredir attach "${SB}t1" --network-id net-6 --instance-id inst-6
	run metadata "$SB-vm1" /a
	assert_success
	assert_equal "$(recorded_header 7 X-Neutron-Network-ID)" net-6
}

# The fake Nova reads headers as Nova's handler does, lookups included (see
# tests/backend/nova_backend.py): another tenant's instance inst-other sits
# at the guest's own address behind metadata provider edge-1, and at
# 10.0.0.9. Each case below is headers a guest sends, '|' between them, in
# mixed case and with '_' for '-'; sent straight to that Nova, each makes it
# answer otherwise than with the guest's own instance.
NOVA_PORT=18778
SECRET=s3cr3t-shared
OWN='{"uuid": "inst-1", "project_id": "proj-1", "application_url": "http://127.0.0.1:18778"}'

sign() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1; }

# nova_guest [ARGS...]: guest 10.0.0.5 attached as inst-1 of proj-1, the
# daemon talking to the fake Nova on $NOVA_PORT, started with ARGS.
nova_guest() {
	printf '%s' "$SECRET" >"$BATS_TEST_TMPDIR/secret"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1 --project-id proj-1
	start_nova --listen "127.0.0.1:$NOVA_PORT" --secret-file "$BATS_TEST_TMPDIR/secret" \
		--proxy-headers --provider edge-1:10.0.0.5=inst-other/proj-other \
		--instance 10.0.0.5=inst-1/proj-1 --instance 10.0.0.9=inst-other/proj-other "$@"
	printf '[mdredir]\nbackend = nova:http://127.0.0.1:%s\nshared_secret_file = %s\n' \
		"$NOVA_PORT" "$BATS_TEST_TMPDIR/secret" >"$BATS_TEST_TMPDIR/mdredir.ini"
	start_daemon --config "$BATS_TEST_TMPDIR/mdredir.ini"
}

# headers CASE: curl -H arguments for the '|'-separated headers of CASE.
headers() {
	local h hs
	IFS='|' read -ra hs <<<"$1"
	for h in "${hs[@]}"; do printf '%s\0%s\0' -H "$h"; done
}

# guest_gets_own CASES...: through mdredir, each case gets the guest's own
# instance; then no identity or provenance header but ours reached Nova; then
# the same cases, straight to Nova after our own four headers, do not.
guest_gets_own() {
	local c args=() ours i=0
	ours=(-H "X-Forwarded-For: 10.0.0.5" -H "X-Instance-ID: inst-1"
		-H "X-Tenant-ID: proj-1" -H "X-Instance-ID-Signature: $(sign inst-1)")
	for c in "$@"; do
		mapfile -d '' args < <(headers "$c")
		run metadata "$SB-vm1" /openstack/latest/meta_data.json "${args[@]}"
		assert_success
		assert_output "$OWN"
	done
	for c in "$@"; do
		i=$((i + 1))
		run identity_headers "$i"
		assert_output "$(printf 'X-Forwarded-For: 10.0.0.5\nX-Instance-ID: inst-1\nX-Tenant-ID: proj-1\nX-Instance-ID-Signature: %s' "$(sign inst-1)")"
	done
	for c in "$@"; do
		mapfile -d '' args < <(headers "$c")
		run curl -sS -m 5 "${args[@]}" "${ours[@]}" \
			"http://127.0.0.1:$NOVA_PORT/openstack/latest/meta_data.json"
		[ "$output" != "$OWN" ] || fail "Nova ignores $c: this case tests nothing"
	done
}

@test "Nova's lookups: a guest naming another instance, provider or origin gets its own" {
	nova_guest
	guest_gets_own \
		"x_METADATA_provider: edge-1|X-Metadata-Provider_Signature: $(sign edge-1)" \
		"X_Metadata-Provider: edge-1" \
		"X_Instance_Id: inst-other|x-instance-id_SIGNATURE: $(sign inst-other)" \
		"x-INSTANCE-id: inst-other" \
		"X_TENANT_id: proj-other" \
		"FORWARDED: for=10.0.0.9;proto=https;host=evil.example" \
		"x_forwarded_HOST: evil.example" \
		"X-Forwarded_Proto: https" \
		"x_Forwarded_Prefix: /evil"
}

@test "Nova looking instances up by address: Forwarded or X-Forwarded-For from a guest change nothing" {
	nova_guest --no-service-metadata-proxy
	guest_gets_own \
		"forwarded: for=10.0.0.9" \
		"X_FORWARDED_FOR: 10.0.0.9" \
		"x-forwarded-for: 10.0.0.9"
}
