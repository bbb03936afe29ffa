#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# What the proxy refuses so one guest cannot hurt another, through the whole
# data path: request rate limits, connection caps, slow and idle clients,
# and requests two HTTP parsers could read differently.

load helpers

setup() {
	common_setup
	md=$BATS_TEST_TMPDIR/md
	conf=$BATS_TEST_TMPDIR/mdredir.ini
	sb_make_metadata "$md" inst-1 vm-one
	sb_make_metadata "$md" inst-2 vm-two
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
}
teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	common_teardown
}

# code GUEST PATH: the status a guest gets.
code() { metadata "$1" "$2" -o /dev/null -w '%{http_code}'; }

# timed_code GUEST PATH: "STATUS MILLISECONDS" of one request.
timed_code() {
	local start end status
	start=$(date +%s%N)
	status=$(code "$1" "$2")
	end=$(date +%s%N)
	echo "$status $(((end - start) / 1000000))"
}

# probe GUEST BYTES: sends BYTES (Python escapes) on one connection, then
# prints every status line the proxy answered and how the connection ended:
# "eof" when the proxy closed it, "open" when it was still open after 3 s.
probe() {
	sb_in "$1" python3 -c '
import re, socket, sys
s = socket.create_connection(("169.254.169.254", 80), timeout=3)
s.sendall(sys.argv[1].encode("latin-1").decode("unicode_escape").encode("latin-1"))
data, end = b"", "open"
while True:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionResetError:
        end = "reset"; break
    if not chunk:
        end = "eof"; break
    data += chunk
for m in re.findall(rb"HTTP/1\.[01] [0-9]{3}", data):
    print(m.decode())
print(end)' "$2"
}

# hold GUEST N READY: opens N connections to metadata and keeps them idle,
# all but the first sending one byte of a request head every second (the
# slowest of slow clients), until killed. Writes READY once every
# connection is established and none was refused.
hold() {
	# Not through sb_in: $! must be python itself (ip netns exec execs it).
	ip netns exec "$1" python3 -c '
import resource, selectors, socket, sys, time
n, ready = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 64)), hard))
socks = []
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("169.254.169.254", 80))
    socks.append(s)
sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_WRITE)
pending, deadline = n, time.time() + 20
while pending and time.time() < deadline:
    for key, _ in sel.select(1):
        sel.unregister(key.fileobj)
        if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            sys.exit("connect failed")
        pending -= 1
if pending:
    sys.exit("%d connections never established" % pending)
# A while for a wrong answer or close to arrive: an absence cannot be
# polled for.
time.sleep(0.3)
for s in socks:  # nothing may have been answered: all are being served
    try:
        if s.recv(1) == b"":
            sys.exit("a held connection was closed")
        sys.exit("a held connection was answered")
    except BlockingIOError:
        pass
open(ready, "w").write("%d\n" % n)
head = b"GET /latest/meta-data/instance-id HTTP/1.1\r\n"
i = 0
while True:
    for s in socks[1:]:
        try:
            s.send(head[i % len(head):i % len(head) + 1])
        except BlockingIOError:
            pass
    i += 1
    time.sleep(1)' "$2" "$3" 3>&- &
	HOLDER=$!
	for _ in $(seq 300); do
		[ -s "$3" ] && return 0
		kill -0 "$HOLDER" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# established: guest connections the daemon holds (in the default proxy
# namespace).
established() {
	ip netns exec mdredir ss -Htn state established '( sport = :80 )' | wc -l
}

# all_closed: the daemon has closed every guest connection (none is still
# established, none closed by the guest and still open on our side).
all_closed() {
	[ "$(ip netns exec mdredir ss -Htn state established state close-wait \
		'( sport = :80 )' | wc -l)" = 0 ]
}

@test "a guest over its request rate gets 429 while other guests are served" {
	cat >"$conf" <<-EOF
	[metadata_rate_limiting]
	rate_limit_enabled = true
	base_window_duration = 60
	base_query_rate_limit = 10
	burst_window_duration = 2
	burst_query_rate_limit = 3
	EOF
	start_daemon --config "$conf" --backend "local:$md"

	for _ in 1 2 3; do
		run code "$SB-vm1" /latest/meta-data/instance-id
		assert_output 200
	done
	# The burst window's limit: refused, told when to come back.
	run metadata "$SB-vm1" /latest/meta-data/instance-id -i
	assert_output --partial "HTTP/1.1 429 Too Many Requests"
	assert_output --regexp $'Retry-After: [1-9][0-9]*\r'
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 429

	# Another attachment's guest, and this guest over IPv6 (only IPv4
	# is limited by default, as in Neutron), are not affected.
	for _ in 1 2 3; do
		run code "$SB-vm2" /latest/meta-data/instance-id
		assert_output 200
	done
	run ip netns exec "$SB-vm1" curl -sS -m 5 -g -o /dev/null -w '%{http_code}' \
		"http://[fe80::a9fe:a9fe%eth0]/latest/meta-data/instance-id"
	assert_output 200

	# Refused requests are logged and counted as 4xx.
	run grep -c '"GET /latest/meta-data/instance-id" 429 .*error=rate limited' \
		"$BATS_TEST_TMPDIR/daemon.log"
	assert_output 2
	assert_equal "$(stat_of "${SB}t1" '.responses["4xx"]')" 2
	assert_equal "$(stat_of "${SB}t2" '.responses["4xx"]')" 0

	# Once the burst window has passed, within the base limit again. A
	# sleep: the time passing is the point. Two burst windows, as the
	# sliding estimate weighs the previous window in until the next one
	# ends, and a margin.
	sleep 4.2
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 200
}

@test "past its connection cap a guest gets a prompt 503, other attachments are served" {
	printf '[mdredir]\nmax_connections_per_attachment = 5\n' >"$conf"
	start_daemon --config "$conf" --backend "local:$md"
	hold "$SB-vm1" 5 "$BATS_TEST_TMPDIR/ready"

	run timed_code "$SB-vm1" /latest/meta-data/instance-id
	[ "${lines[0]% *}" = 503 ] || fail "sixth connection: $output"
	[ "${lines[0]#* }" -lt 500 ] || fail "the 503 took ${lines[0]#* } ms"
	run probe "$SB-vm1" 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
	assert_output "$(printf 'HTTP/1.1 503\neof')"
	run timed_code "$SB-vm2" /latest/meta-data/instance-id
	[ "${lines[0]% *}" = 200 ] || fail "other attachment: $output"
	[ "${lines[0]#* }" -lt 500 ] || fail "the other guest waited ${lines[0]#* } ms"
	run grep -c 'vm=10.0.0.5 "- -" 503 .*error=too many connections from this attachment' \
		"$BATS_TEST_TMPDIR/daemon.log"
	assert_output 2
	assert_equal "$(stat_of "${SB}t1" '.responses["5xx"]')" 2

	# Closing them gives the slots back, as soon as the daemon has seen
	# them close (within 5 s; its timeouts are 30 s, so slots that came
	# back only by a timeout would still fail this).
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null || true
	HOLDER=
	wait_until 5 all_closed
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 200
}

@test "past max_connections guests get a prompt 503, never a wait in the accept queue" {
	printf '[mdredir]\nmax_connections = 3\n' >"$conf"
	start_daemon --config "$conf" --backend "local:$md"
	hold "$SB-vm1" 3 "$BATS_TEST_TMPDIR/ready"
	run timed_code "$SB-vm2" /latest/meta-data/instance-id
	[ "${lines[0]% *}" = 503 ] || fail "fourth connection: $output"
	[ "${lines[0]#* }" -lt 500 ] || fail "the 503 took ${lines[0]#* } ms"
	grep -q 'vm=10.0.0.6 "- -" 503 .*error=too many connections$' \
		"$BATS_TEST_TMPDIR/daemon.log"
}

@test "1000 idle and byte-a-second connections from one guest do not slow another" {
	cat >"$conf" <<-EOF
	[mdredir]
	new_connection_rate = 100000
	new_connection_burst = 100000
	max_connections_per_attachment = 2000
	EOF
	start_daemon --config "$conf" --backend "local:$md"
	hold "$SB-vm1" 1000 "$BATS_TEST_TMPDIR/ready" ||
		fail "could not hold 1000 connections"
	held=$(established)
	[ "$held" -ge 1000 ] || fail "the daemon holds only $held connections"

	worst=0
	for _ in $(seq 10); do
		run timed_code "$SB-vm2" /latest/meta-data/instance-id
		[ "${lines[0]% *}" = 200 ] || fail "other guest: $output"
		ms=${lines[0]#* }
		[ "$ms" -gt "$worst" ] && worst=$ms
		# Samples spread over a second of the holder's byte-a-second
		# sends, not bunched between two of them.
		sleep 0.1
	done
	echo "# worst of 10 requests beside 1000 held connections: ${worst} ms" >&3
	[ "$worst" -lt 500 ] || fail "the other guest waited ${worst} ms"
	# The holder is still there, and nothing was shed.
	kill -0 "$HOLDER"
	run grep -c 'too many connections' "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 0
}

@test "smuggling material gets 400 and a closed connection, and nothing after it is read" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	start_daemon --backend "neutron:unix:$BATS_TEST_TMPDIR/agent.sock"
	H='GET / HTTP/1.1\r\nHost: x\r\n'
	P='POST / HTTP/1.1\r\nHost: x\r\n'
	cases=(
		"${P}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		"${P}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
		"${P}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
		"${P}Content-Length: 5, 5\r\n\r\nhello"
		"${P}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
		"${P}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		"${H}X-A: b\r\n X-Instance-ID: inst-2\r\n\r\n"
		"${H}X-A: b\rX-Instance-ID: inst-2\r\n\r\n"
		"${H}X-A: b\nX-Instance-ID: inst-2\r\n\r\n"
		'GET / HTTP/1.1\nHost: x\n\n'
		"${H}X-A: b\x00c\r\n\r\n"
		'GET /a\x00 HTTP/1.1\r\nHost: x\r\n\r\n'
		"${H}Host: y\r\n\r\n"
		'GET http://169.254.169.254/ HTTP/1.1\r\nHost: x\r\n\r\n'
		# Python's int(x, 16), as in many a backend, takes "0x5".
		"${P}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"
	)
	for c in "${cases[@]}"; do
		# A request the proxy would forward follows each: it must
		# never be parsed, by the proxy or the backend.
		run probe "$SB-vm1" "${c}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		[ "$output" = "$(printf 'HTTP/1.1 400\neof')" ] ||
			fail "case '$c': $output"
	done

	# Over the size limits: 414 and 431, closed all the same.
	run probe "$SB-vm1" "GET /$(printf 'a%.0s' $(seq 9000)) HTTP/1.1\r\nHost: x\r\n\r\n"
	assert_output "$(printf 'HTTP/1.1 414\neof')"
	run probe "$SB-vm1" "${H}$(printf 'X-%d: y\\r\\n' $(seq 101))\r\n"
	assert_output "$(printf 'HTTP/1.1 431\neof')"
	run probe "$SB-vm1" "${H}X-Big: $(printf 'v%.0s' $(seq 17000))\r\n\r\n"
	assert_output "$(printf 'HTTP/1.1 431\neof')"

	# Nothing smuggled reached anyone; the daemon still serves and
	# counted every refusal.
	run grep -c smuggled "$RECORD" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output "$(printf '%s:0\n%s:0' "$RECORD" "$BATS_TEST_TMPDIR/daemon.log")"
	run code "$SB-vm1" /headers
	assert_output 200
	assert_equal "$(stat_of "${SB}t1" '.responses["4xx"]')" $((${#cases[@]} + 3))
}
