#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The daemon talking to Nova directly, configured the Neutron way, through
# the whole data path: signed requests over HTTP and HTTPS, IPv4 and IPv6,
# and every status a guest can see.

load helpers

NOVA_PORT=18775
SECRET=s3cr3t-shared

setup_file() {
	test_ca "$BATS_FILE_TMPDIR" ca
	test_cert "$BATS_FILE_TMPDIR" nova ca "IP:127.0.0.1,DNS:localhost"
}

setup() {
	common_setup
	T=$BATS_FILE_TMPDIR
	printf '%s' "$SECRET" >"$BATS_TEST_TMPDIR/secret"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1 --project-id proj-1
}
teardown() { common_teardown; }

# ini LINES...: a config file made of LINES; prints its path.
ini() {
	local f=$BATS_TEST_TMPDIR/metadata_agent.ini
	printf '%s\n' "$@" >"$f"
	echo "$f"
}

# https_config [CA]: Nova over HTTPS, trusting CA (the test CA by default).
https_config() {
	ini "[DEFAULT]" \
		"nova_metadata_host = 127.0.0.1" \
		"nova_metadata_port = $NOVA_PORT" \
		"nova_metadata_protocol = https" \
		"auth_ca_cert = ${1:-$T/ca.crt}" \
		"metadata_proxy_shared_secret = $SECRET" \
		"# Neutron options we have no use for are fine:" \
		"metadata_proxy_socket = \$state_path/metadata_proxy" \
		"[mdredir]" \
		"backend = nova"
}

@test "signed requests to Nova over HTTPS, from IPv4 and IPv6 link-local" {
	start_nova --listen "127.0.0.1:$NOVA_PORT" --tls-cert "$T/nova.crt" \
		--tls-key "$T/nova.key" --secret-file "$BATS_TEST_TMPDIR/secret"
	start_daemon --config "$(https_config)"

	run metadata "$SB-vm1" /openstack/latest/meta_data.json -H "X-Instance-ID: evil"
	assert_success
	run jq -r '.uuid, .project_id' <<<"$output"
	assert_output "$(printf 'inst-1\nproj-1')"
	run ip netns exec "$SB-vm1" curl -sS -m 5 -g \
		"http://[fe80::a9fe:a9fe%eth0]/openstack/latest/meta_data.json"
	assert_success
	run jq -r .uuid <<<"$output"
	assert_output inst-1

	want=$(printf '%s' inst-1 | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
	ll=$(sb_vm_link_local "$SB-vm1")
	for i in 1 2; do
		run jq -r -s --argjson i $i '.[$i - 1].signature_ok' "$RECORD"
		assert_output true
		assert_equal "$(recorded_header $i X-Instance-ID)" inst-1
		assert_equal "$(recorded_header $i X-Tenant-ID)" proj-1
		assert_equal "$(recorded_header $i X-Instance-ID-Signature)" "$want"
		assert_equal "$(recorded_header $i X-Neutron-Network-ID)" ""
	done
	assert_equal "$(recorded_header 1 X-Forwarded-For)" 10.0.0.5
	assert_equal "$(recorded_header 2 X-Forwarded-For)" "$ll"

	# The explicit form, by host name: SNI and name verification.
	stop_daemon
	start_daemon --config "$(https_config)" --backend "nova:https://localhost:$NOVA_PORT"
	run metadata "$SB-vm1" /openstack/latest/meta_data.json
	assert_success
	run jq -r -s '.[2].signature_ok' "$RECORD"
	assert_output true
}

@test "plain HTTP to Nova, secret from a file, POST of a password" {
	start_nova --listen "127.0.0.1:$NOVA_PORT" --secret-file "$BATS_TEST_TMPDIR/secret"
	conf=$(ini "[mdredir]" "backend = nova:http://127.0.0.1:$NOVA_PORT" \
		"shared_secret_file = $BATS_TEST_TMPDIR/secret")
	start_daemon --config "$conf"
	run metadata "$SB-vm1" /openstack/latest/password --data-binary 'pw-0123456789'
	assert_success
	run metadata "$SB-vm1" /openstack/latest/password -o /dev/null -w '%{http_code}' \
		--data-binary "$(printf 'x%.0s' {1..300})"
	assert_output 400	# Nova's own limit, passed through
	run jq -r -s '.[0].method, .[0].body_len, .[0].signature_ok' "$RECORD"
	assert_output "$(printf 'POST\n13\ntrue')"
}

@test "a wrong secret gets Nova's 403; a wrong CA gets 502; no instance gets 404" {
	printf 'not-the-secret' >"$BATS_TEST_TMPDIR/wrong"
	start_nova --listen "127.0.0.1:$NOVA_PORT" --tls-cert "$T/nova.crt" \
		--tls-key "$T/nova.key" --secret-file "$BATS_TEST_TMPDIR/wrong"
	start_daemon --config "$(https_config)"
	run metadata "$SB-vm1" /openstack/latest/meta_data.json -o /dev/null -w '%{http_code}'
	assert_output 403
	stop_daemon

	test_ca "$BATS_TEST_TMPDIR" other-ca
	start_daemon --config "$(https_config "$BATS_TEST_TMPDIR/other-ca.crt")"
	run metadata "$SB-vm1" / -o /dev/null -w '%{http_code}'
	assert_output 502
	run grep -c 'error=.*certificate' "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 1

	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t2" --network-id net-no-instance
	run metadata "$SB-vm2" / -i
	assert_output --partial "404"
	assert_output --partial "no instance"
}

@test "statuses seen by the guest: pass-through, 503, 504, 400, 405" {
	start_nova --listen "127.0.0.1:$NOVA_PORT" --secret-file "$BATS_TEST_TMPDIR/secret"
	conf=$(ini "[DEFAULT]" "nova_metadata_port = $NOVA_PORT" \
		"metadata_proxy_shared_secret = $SECRET" \
		"[metadata_haproxy]" "timeout_server = 1" \
		"[mdredir]" "backend = nova")
	start_daemon --config "$conf"
	for code in 200 400 403 404 409 500 503; do
		run metadata "$SB-vm1" "/status/$code" -i
		assert_output --partial "HTTP/1.1 $code"
		assert_output --partial "X-Test: kept"
	done
	run metadata "$SB-vm1" /slow/3 -o /dev/null -w '%{http_code}'
	assert_output 504
	run metadata "$SB-vm1" / -X PUT -o /dev/null -w '%{http_code}'
	assert_output 405
	run metadata "$SB-vm1" / -H "Content-Length: 1" -H "Transfer-Encoding: chunked" \
		-o /dev/null -w '%{http_code}'
	assert_output 400
	stop_backend
	start=$(date +%s%N)
	run metadata "$SB-vm1" / -o /dev/null -w '%{http_code}'
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_output 503
	[ "$elapsed_ms" -lt 1000 ] || fail "503 took ${elapsed_ms} ms"
}

@test "config errors stop the daemon naming the file, line and option" {
	run timeout 5 "$MDREDIR" daemon --config "$(ini "[DEFAULT]" "nova_metadata_port = http")"
	assert_failure 1
	assert_output --partial "metadata_agent.ini:2: [DEFAULT] nova_metadata_port"
	run timeout 5 "$MDREDIR" daemon --config "$(ini "[DEFAULT]" "nova_metadata_insecure = maybe")"
	assert_failure 1
	assert_output --partial "metadata_agent.ini:2: [DEFAULT] nova_metadata_insecure"
	run timeout 5 "$MDREDIR" daemon --config "$(ini "[mdredir]" "service_pool = 10.0.0.0/33")"
	assert_failure 1
	assert_output --partial "service_pool"
	run timeout 5 "$MDREDIR" daemon --config "$BATS_TEST_TMPDIR/nowhere.ini"
	assert_failure 1
	assert_output --partial "nowhere.ini"
	run timeout 5 "$MDREDIR" daemon --config "$(ini "[DEFAULT]" "auth_ca_cert = /nonexistent/ca.pem" \
		"nova_metadata_protocol = https" "[mdredir]" "backend = nova")"
	assert_failure 1
	assert_output --partial "/nonexistent/ca.pem"
	# An unknown option is only a warning.
	mkdir -p "$BATS_TEST_TMPDIR/md"
	start_daemon --config "$(ini "[DEFAULT]" "frobnicate = yes" "[mdredir]" \
		"backend = local:$BATS_TEST_TMPDIR/md")"
	run grep -c "metadata_agent.ini:2: unknown option \[DEFAULT\] frobnicate" \
		"$BATS_TEST_TMPDIR/daemon.log"
	assert_output 1
}

@test "flags override the file; pools and namespace come from [mdredir]" {
	mkdir -p "$BATS_TEST_TMPDIR/md/inst-1"
	echo from-flag >"$BATS_TEST_TMPDIR/md/inst-1/who"
	mdredir detach "${SB}t1"
	conf=$(ini "[mdredir]" "backend = neutron:unix:/nonexistent" \
		"service_pool = 100.64.8.0/24" "service_pool6 = fd00:1:2:3::/64" \
		"proxy_netns = $SB-px")
	start_daemon --config "$conf" --backend "local:$BATS_TEST_TMPDIR/md"
	mdredir attach "${SB}t1" --instance-id inst-1
	run metadata "$SB-vm1" /who
	assert_output from-flag
	run mdredir list --json
	run jq -r '.[0].service_addr' <<<"$output"
	assert_output 100.64.8.1
	run ip netns list
	assert_output --partial "$SB-px"
	# Moving the pool while something is attached is refused.
	stop_daemon
	run timeout 5 "$MDREDIR" daemon --backend "local:$BATS_TEST_TMPDIR/md"
	assert_failure 1
	assert_output --partial "before changing these"
}
