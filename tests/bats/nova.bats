#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The nova backend, through proxy_standalone (no BPF, no daemon) on
# loopback: signed requests, statuses seen from the guest, POST bodies, and
# HTTPS with a throwaway CA made here (server, wrong, client certificates).

load helpers

PX=${PROXY_STANDALONE:-$ROOT/${OUT:-build}/tests/proxy_standalone}
NOVA=$ROOT/tests/backend/nova_backend.py
SIG_INST1=439de97388f549a2dcc1028067b052f1128de208ae3ed06f3ef648f998988fbc

setup_file() {
	local d=$BATS_FILE_TMPDIR

	test_ca "$d" ca
	test_ca "$d" wrong-ca
	test_ca "$d" client-ca
	test_cert "$d" server ca "IP:127.0.0.1,DNS:localhost"
	test_cert "$d" other ca "DNS:other.example"
	test_cert "$d" client client-ca "DNS:mdredir"
	printf 's3cr3t' >"$BATS_FILE_TMPDIR/secret"
	printf 'not-the-secret' >"$BATS_FILE_TMPDIR/wrong-secret"
}

setup() {
	T=$BATS_FILE_TMPDIR
	NOVA_PID= PX_PID= EXTRA_PID=
	RECORD=$BATS_TEST_TMPDIR/record.jsonl
	PXLOG=$BATS_TEST_TMPDIR/px.log
}

teardown() {
	for pid in $PX_PID $NOVA_PID $EXTRA_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nova ARGS...: the fake Nova on $NOVA_PORT with the shared secret.
start_nova() {
	NOVA_PORT=$(free_port)
	: >"$RECORD"
	python3 "$NOVA" --listen "127.0.0.1:$NOVA_PORT" --record "$RECORD" \
		--secret-file "$T/secret" "$@" >"$BATS_TEST_TMPDIR/nova.out" 2>&1 3>&- &
	NOVA_PID=$!
	await_line "$NOVA_PID" "$BATS_TEST_TMPDIR/nova.out" ready
}

# launch_px ARGS...: proxy_standalone with only ARGS, once it listens.
launch_px() {
	PX_PORT=$(free_port)
	"$PX" --listen "127.0.0.1:$PX_PORT" "$@" \
		>"$BATS_TEST_TMPDIR/px.out" 2>"$PXLOG" 3>&- &
	PX_PID=$!
	await_line "$PX_PID" "$BATS_TEST_TMPDIR/px.out" 'listening on' "$PXLOG" ||
		{ PX_PID=; return 1; }
}

# start_px ARGS...: proxy_standalone for instance inst-1 of project proj-1.
start_px() {
	launch_px --ifname tap-nova --instance-id inst-1 --project-id proj-1 "$@"
}

# get PATH [CURL ARGS...]: what the guest gets.
get() {
	local path=$1
	shift
	curl -sS -m 10 "$@" "http://127.0.0.1:$PX_PORT$path"
}

code() { get "$@" -o /dev/null -w '%{http_code}'; }

# recorded N FIELD: a field of the N-th request Nova received (jq path).
recorded() { jq -r -s --argjson i "$1" ".[\$i - 1]$2" "$RECORD"; }

# identity_names N: the identity header names of request N, as received.
identity_names() {
	jq -r -s --argjson i "$1" '.[$i - 1].headers | map(.[0] | ascii_downcase |
		select(test("^(x-forwarded-for|x-instance-id.*|x-tenant-id|x-neutron-.*|x-ovn-.*)$")))
		| join(",")' "$RECORD"
}

@test "nova over http: signed, exactly our four identity headers, forged ones gone" {
	start_nova
	start_px --backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--network-id net-1
	run get /openstack/latest/meta_data.json \
		-H 'X-Instance-ID: evil' -H 'x-instance-id: evil2' -H 'X-TENANT-ID: evil' \
		-H 'X-Instance-ID-Signature: evil' -H 'X-Forwarded-For: 6.6.6.6' \
		-H 'X-Neutron-Network-ID: evil' -H 'x-ovn-network-id: evil'
	assert_success
	assert_output '{"uuid": "inst-1", "project_id": "proj-1"}'
	assert_equal "$(recorded 1 .signature_ok)" true
	assert_equal "$(identity_names 1)" "x-forwarded-for,x-instance-id,x-tenant-id,x-instance-id-signature"
	assert_equal "$(recorded_header 1 X-Forwarded-For)" 127.0.0.1
	assert_equal "$(recorded_header 1 X-Instance-ID)" inst-1
	assert_equal "$(recorded_header 1 X-Tenant-ID)" proj-1
	assert_equal "$(recorded_header 1 X-Instance-ID-Signature)" "$SIG_INST1"
	assert_equal "$(recorded_header 1 Host)" "127.0.0.1:$NOVA_PORT"
	run grep -c evil "$RECORD"
	assert_output 0
}

@test "nova: an interface without an instance gets 404 from us, Nova never asked" {
	start_nova
	launch_px --network-id net-1 \
		--backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret"
	run get /openstack/latest/meta_data.json -w '%{http_code}'
	assert_output "$(printf 'no instance is associated with this interface\n404')"
	[ ! -s "$RECORD" ] || fail "nova received: $(cat "$RECORD")"
}

@test "nova: every status the backend answers passes through with headers and body" {
	start_nova
	start_px --backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret"
	for s in 200 400 403 404 409 500 502 503 504; do
		run get "/status/$s" -i
		assert_line --partial "HTTP/1.1 $s "
		assert_line --partial "X-Test: kept"
		assert_line "status $s from nova"
	done
	run code /status/404 -I
	assert_output 404
	# A wrong secret: Nova's own 403, and its reason, reach the guest.
	kill "$PX_PID"; wait "$PX_PID" || true
	start_px --backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/wrong-secret"
	run get /openstack/latest/meta_data.json -w '%{http_code}'
	assert_output "$(printf 'Invalid proxy request signature.\n403')"
	assert_equal "$(recorded 11 .signature_ok)" false
	# No project id: Nova says which header is missing.
	kill "$PX_PID"; wait "$PX_PID" || true
	launch_px --instance-id inst-1 \
		--backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret"
	run get /openstack/latest/meta_data.json -w '%{http_code}'
	assert_output "$(printf 'X-Tenant-ID header is missing from request.\n400')"
}

@test "nova: our own statuses: 503 unreachable, 504 slow, 400 malformed, 405 method" {
	start_nova
	start_px --backend "nova:http://127.0.0.1:$(free_port)" --secret-file "$T/secret"
	start=$(date +%s%N)
	run code /openstack/latest/meta_data.json
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_output 503
	[ "$elapsed_ms" -lt 1000 ] || fail "503 took ${elapsed_ms} ms"
	kill "$PX_PID"; wait "$PX_PID" || true

	start_px --backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--timeout-server 500
	run code /slow/3
	assert_output 504
	run code /slow/0.1
	assert_output 200
	run code /openstack/latest/meta_data.json -X PUT
	assert_output 405
	run code /openstack/latest/meta_data.json -X DELETE
	assert_output 405
	run python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())' "$PX_PORT"
	assert_output "HTTP/1.1 400 Bad Request"
}

@test "nova: POST bodies pass intact; Nova's password limits come back unchanged" {
	start_nova
	start_px --backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret"
	pw=$(head -c 255 /dev/zero | tr '\0' p)
	run get /openstack/latest/password --data-binary "$pw" -w ' %{http_code}'
	assert_output "$pw 200"
	assert_equal "$(recorded 1 .body_len)" 255
	run get /openstack/latest/password
	assert_output "$pw"
	run code /openstack/latest/password --data-binary again
	assert_output 409
	run code /openstack/latest/password --data-binary "${pw}p"
	assert_output 400
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	want=$(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -c1-64)
	run sh -c "curl -sS -m 10 --data-binary @$BATS_TEST_TMPDIR/big http://127.0.0.1:$PX_PORT/echo | sha256sum | cut -c1-64"
	assert_output "$want"
	assert_equal "$(recorded 5 .body_sha256)" "$want"
	# Chunked from the guest, too.
	run sh -c "curl -sS -m 10 -H 'Transfer-Encoding: chunked' --data-binary @$BATS_TEST_TMPDIR/big http://127.0.0.1:$PX_PORT/echo | sha256sum | cut -c1-64"
	assert_output "$want"
}

@test "nova over https: verified against our CA, signed, big bodies both ways" {
	start_nova --tls-cert "$T/server.crt" --tls-key "$T/server.key"
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/ca.crt"
	run get /openstack/latest/meta_data.json
	assert_output '{"uuid": "inst-1", "project_id": "proj-1"}'
	assert_equal "$(recorded 1 .signature_ok)" true
	assert_equal "$(identity_names 1)" "x-forwarded-for,x-instance-id,x-tenant-id,x-instance-id-signature"
	run get /size/3000000 -o "$BATS_TEST_TMPDIR/size" -w '%{http_code} %{size_download}'
	assert_output "200 3000000"
	run python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(d != bytes(i % 251 for i in range(len(d))))' "$BATS_TEST_TMPDIR/size"
	assert_success
	head -c 2000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	want=$(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -c1-64)
	run sh -c "curl -sS -m 10 --data-binary @$BATS_TEST_TMPDIR/big http://127.0.0.1:$PX_PORT/echo | sha256sum | cut -c1-64"
	assert_output "$want"
	for s in 400 403 404 409 500 503; do
		run get "/status/$s" -i
		assert_line --partial "HTTP/1.1 $s "
		assert_line --partial "X-Test: kept"
	done
	# Later connections resume the first one's TLS session.
	assert_equal "$(recorded 1 .tls_resumed)" false
	assert_equal "$(recorded 3 .tls_resumed)" true
	# Kept alive toward the guest, a new TLS connection per request.
	run get /status/200 -w '%{num_connects}\n' -o /dev/null --next "http://127.0.0.1:$PX_PORT/status/200" -w '%{num_connects}\n' -o /dev/null
	assert_output "$(printf '1\n0')"
}

@test "nova over https by name: SNI and DNS name checked; bare nova set from configuration" {
	start_nova --tls-cert "$T/server.crt" --tls-key "$T/server.key"
	start_px --backend "nova:https://localhost:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/ca.crt"
	run code /openstack/latest/meta_data.json
	assert_output 200
	assert_equal "$(recorded_header 1 Host)" "localhost:$NOVA_PORT"
	kill "$PX_PID"; wait "$PX_PID" || true
	start_px --backend nova --nova-host 127.0.0.1 --nova-port "$NOVA_PORT" \
		--nova-protocol https --secret-file "$T/secret" --ca "$T/ca.crt"
	run code /openstack/latest/meta_data.json
	assert_output 200
	run grep "^backend nova:https://127.0.0.1:$NOVA_PORT\$" "$PXLOG"
	assert_success
}

@test "nova over https: wrong CA or wrong name gives 502 with OpenSSL's reason; --insecure passes" {
	start_nova --tls-cert "$T/server.crt" --tls-key "$T/server.key"
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/wrong-ca.crt"
	run code /openstack/latest/meta_data.json
	assert_output 502
	run grep 'access attach=tap-nova' "$PXLOG"
	assert_output --partial '" 502 '
	assert_output --partial 'error=TLS handshake with backend failed: certificate verify failed (unable to get local issuer certificate)'
	kill "$PX_PID"; wait "$PX_PID" || true
	# No CA given: the system's, which do not know ours.
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret"
	run code /openstack/latest/meta_data.json
	assert_output 502
	kill "$PX_PID"; wait "$PX_PID" || true
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/wrong-ca.crt" --insecure
	run get /openstack/latest/meta_data.json
	assert_output '{"uuid": "inst-1", "project_id": "proj-1"}'
	assert_equal "$(wc -l <"$RECORD")" 1 # the failed requests never reached Nova
	kill "$NOVA_PID"; wait "$NOVA_PID" || true
	kill "$PX_PID"; wait "$PX_PID" || true

	# A certificate valid for other.example only, reached as 127.0.0.1 or
	# localhost: the CA is right, the name is not.
	start_nova --tls-cert "$T/other.crt" --tls-key "$T/other.key"
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/ca.crt"
	run code /openstack/latest/meta_data.json
	assert_output 502
	run grep -c 'error=TLS handshake with backend failed: certificate verify failed (IP address mismatch)' "$PXLOG"
	assert_output 1
	kill "$PX_PID"; wait "$PX_PID" || true
	start_px --backend "nova:https://localhost:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/ca.crt"
	run code /openstack/latest/meta_data.json
	assert_output 502
	run grep -c 'error=TLS handshake with backend failed: certificate verify failed (hostname mismatch)' "$PXLOG"
	assert_output 1
}

@test "nova over https: TLS to a plain server, and a silent one, never hang" {
	start_nova
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/ca.crt"
	run code /openstack/latest/meta_data.json
	assert_output 502
	run grep -c 'error=TLS handshake with backend failed: wrong version number' "$PXLOG"
	assert_output 1
	kill "$PX_PID"; wait "$PX_PID" || true
	# Accepts TCP (the kernel does) and never says a word.
	port=$(free_port)
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
print("ready", flush=True); time.sleep(60)' "$port" >"$BATS_TEST_TMPDIR/mute.out" 3>&- &
	EXTRA_PID=$!
	await_line "$EXTRA_PID" "$BATS_TEST_TMPDIR/mute.out" ready
	start_px --backend "nova:https://127.0.0.1:$port" --secret-file "$T/secret" \
		--ca "$T/ca.crt" --timeout-connect 500
	start=$(date +%s%N)
	run code /openstack/latest/meta_data.json
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_output 504
	[ "$elapsed_ms" -lt 3000 ] || fail "504 took ${elapsed_ms} ms"
	run grep -c 'error=TLS handshake with backend timed out' "$PXLOG"
	assert_output 1
}

@test "nova over https: a client certificate when Nova requires one" {
	start_nova --tls-cert "$T/server.crt" --tls-key "$T/server.key" \
		--client-ca "$T/client-ca.crt"
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/ca.crt" --client-cert "$T/client.crt" --client-key "$T/client.key"
	run get /openstack/latest/meta_data.json
	assert_output '{"uuid": "inst-1", "project_id": "proj-1"}'
	assert_equal "$(recorded 1 .signature_ok)" true
	kill "$PX_PID"; wait "$PX_PID" || true
	# Without one, Nova's TLS refuses us: 502, and the reason logged.
	start_px --backend "nova:https://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--ca "$T/ca.crt"
	run code /openstack/latest/meta_data.json
	assert_output 502
	run grep 'access attach=tap-nova' "$PXLOG"
	assert_output --regexp 'error=TLS .*(certificate required|handshake failure)'
}

@test "nova: bad TLS files stop startup with a message naming the file" {
	port=$(free_port)
	run "$PX" --listen "127.0.0.1:$port" --backend "nova:https://127.0.0.1:$port" \
		--ca "$T/missing.crt"
	assert_failure 1
	assert_output --partial "CA file '$T/missing.crt' is not readable: No such file or directory"
	run "$PX" --listen "127.0.0.1:$port" --backend "nova:https://127.0.0.1:$port" \
		--ca "$T/secret"
	assert_failure 1
	assert_output --partial "CA file '$T/secret' holds no usable certificate"
	run "$PX" --listen "127.0.0.1:$port" --backend "nova:https://127.0.0.1:$port" \
		--ca "$T/ca.crt" --client-cert "$T/client.crt" --client-key "$T/server.key"
	assert_failure 1
	assert_output --partial "client key '$T/server.key' does not match client certificate '$T/client.crt'"
	run "$PX" --listen "127.0.0.1:$port" --backend nova
	assert_failure 1
	assert_output --partial "backend 'nova' has no endpoint"
	run "$PX" --listen "127.0.0.1:$port" --backend "nova:ftp://x"
	assert_failure 1
	assert_output --partial "unknown backend 'nova:ftp://x'"
}

@test "timeouts: a guest stalling mid-body is closed at timeout_client, never told 504" {
	start_nova
	start_px --backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--timeout-client 400 --timeout-server 5000
	run python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t = time.monotonic()
# A POST whose body stops after 3 of its 100 bytes: the guest is slow,
# not the backend.
s.sendall(b"POST /openstack/latest/password HTTP/1.1\r\nHost: x\r\n"
          b"Content-Length: 100\r\n\r\nabc")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(repr(data), round(time.monotonic() - t, 1))' "$PX_PORT"
	assert_output --regexp "^b'' 0\.[45]$"
	wait_until 2 grep -q '"POST /openstack/latest/password".*error=timeout' "$PXLOG"
	run grep -c ' 504 ' "$PXLOG"
	assert_output 0
}

@test "timeouts: http-request gives 408 mid-head, keep-alive idle closes quietly" {
	start_nova
	start_px --backend "nova:http://127.0.0.1:$NOVA_PORT" --secret-file "$T/secret" \
		--timeout-http-request 400 --timeout-keepalive 300 --timeout-client 5000
	run python3 -c '
import re, socket, sys, time
def more(s):
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("closed before the whole response")
    return chunk
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
t = time.monotonic()
s.sendall(b"GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: x\r\n")
print(s.recv(200).split(b"\r\n")[0].decode(), round(time.monotonic() - t, 1))
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /status/200 HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    data += more(s)
head, body = data.split(b"\r\n\r\n", 1)
length = int(re.search(rb"(?im)^content-length: *([0-9]+)", head).group(1))
while len(body) < length:
    body += more(s)
print(head.split(b"\r\n")[0].decode())
# Idle part of the keep-alive timeout (300 ms) before timing the rest:
# the close comes about 0.2 s later.
time.sleep(0.1)
t = time.monotonic()
print(repr(s.recv(100)), round(time.monotonic() - t, 1))' "$PX_PORT"
	assert_line --index 0 "HTTP/1.1 408 Request Timeout 0.4"
	assert_line --index 1 "HTTP/1.1 200 OK"
	assert_line --index 2 --regexp "^b'' 0\.[23]$"
}
