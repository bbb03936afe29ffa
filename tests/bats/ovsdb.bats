#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The OVSDB client (user/control/ovsdb.c) against a real ovsdb-server with
# Open vSwitch's schema, on a unix socket of its own: rows added, changed
# and deleted the way os-vif plugs a tap, followed with a server-side
# condition, through a server restart; over SSL with a throwaway CA made
# here; and the inactivity probe against a stopped server and a quiet one.
# Touches no BPF and no namespace.

load helpers

WATCH=$ROOT/${OUT:-build}/tests/ovsdb_watch
# Interfaces whose iface-id is port-1 or port-2 (a condition's clauses
# are alternatives).
WHERE='[["external_ids","includes",["map",[["iface-id","port-1"]]]],
	["external_ids","includes",["map",[["iface-id","port-2"]]]]]'

setup_file() {
	local d=$BATS_FILE_TMPDIR

	test_ca "$d" ca
	test_ca "$d" wrong-ca
	# ovsdb-server's certificate names nothing the client checks (OVS
	# checks no names), as those of ovs-pki rarely do.
	test_cert "$d" server ca "DNS:ovsdb-server"
	test_cert "$d" client ca "DNS:ovn-metadata"
	test_cert "$d" stranger wrong-ca "DNS:ovn-metadata"
}

setup() {
	[ -x /usr/sbin/ovsdb-server ] || skip "openvswitch-switch is not installed"
	D=$BATS_TEST_TMPDIR
	SOCK=$D/db.sock
	WATCH_PID=
	FAKE_PID=
	ovsdb-tool create "$D/ovsdb.db" /usr/share/openvswitch/vswitch.ovsschema
	start_ovsdb
	vsctl init
	vsctl add-br br-int
}

teardown() {
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
	[ -n "$WATCH_PID" ] && wait "$WATCH_PID" 2>/dev/null
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	stop_ovsdb
	true
}

# start_ovsdb [ARGS...]: ARGS added, e.g. an SSL remote. Its pidfile,
# control socket and log are $D/ovsdb.{pid,ctl,log}.
start_ovsdb() {
	ovsdb_serve "$D/ovsdb.db" "$SOCK" "$@"
}

stop_ovsdb() {
	ovsdb_unserve "$D/ovsdb.db"
}

# Restarts the server with an SSL remote too, on a free port of its
# choosing (set in $SSL_PORT, read from its log), requiring a client
# certificate signed by our CA as ovsdb-server's pssl: always does.
start_ovsdb_ssl() {
	local f=$BATS_FILE_TMPDIR
	stop_ovsdb
	start_ovsdb --remote=pssl:0:127.0.0.1 --private-key="$f/server.key" \
		--certificate="$f/server.crt" --ca-cert="$f/ca.crt"
	SSL_PORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$D/ovsdb.log" | tail -1)
	[ -n "$SSL_PORT" ] || { cat "$D/ovsdb.log" >&2; return 1; }
}

# ssl_args [CLIENT [CA]]: the watcher's SSL files (client, ca by default).
ssl_args() {
	local f=$BATS_FILE_TMPDIR c=${1:-client}
	echo --private-key "$f/$c.key" --certificate "$f/$c.crt" \
		--ca-cert "$f/${2:-ca}.crt"
}

vsctl() {
	ovs-vsctl --db="unix:$SOCK" --no-wait "$@"
}

# plug TAP PORT: the way os-vif plugs a VM's tap into br-int.
plug() {
	vsctl add-port br-int "$1" -- set Interface "$1" \
		external_ids:iface-id="$2" external_ids:attached-mac=fa:16:3e:00:00:01 \
		external_ids:vm-uuid="vm-$1"
}

# start_watch [ARGS...]; $REMOTE instead of the unix socket if set.
start_watch() {
	"$WATCH" "${REMOTE:-unix:$SOCK}" Open_vSwitch Interface \
		--columns name,external_ids --where "$WHERE" "$@" \
		>"$D/watch.out" 2>&1 &
	WATCH_PID=$!
}

# uuid_of TAP: its Interface row's uuid.
uuid_of() {
	vsctl get Interface "$1" _uuid
}

# seen N PATTERN: the watcher printed PATTERN at least N times.
seen() {
	local n=$1 pattern=$2
	for _ in $(seq 100); do
		[ "$(grep -c -- "$pattern" "$D/watch.out")" -ge "$n" ] && return 0
		sleep 0.05
	done
	cat "$D/watch.out" >&2
	return 1
}

@test "ovsdb: monitor_cond gives the matching rows, then their inserts, modifies and deletes" {
	plug tap1 port-1
	plug tap9 port-9
	start_watch
	seen 1 '^synced$'
	u1=$(uuid_of tap1)
	run grep -c '^insert ' "$D/watch.out"
	assert_output 1
	assert grep -q "^insert Interface $u1 .*\"name\":\"tap1\"" "$D/watch.out"

	plug tap2 port-2
	plug tap3 port-3
	u2=$(uuid_of tap2)
	seen 1 "^insert Interface $u2 .*\"iface-id\",\"port-2\""
	vsctl set Interface tap1 external_ids:attached-mac=fa:16:3e:00:00:99
	seen 1 "^modify Interface $u1 .*fa:16:3e:00:00:99"
	# Out of the condition is a delete; a deleted port too.
	vsctl set Interface tap2 external_ids:iface-id=port-3
	seen 1 "^delete Interface $u2 {}"
	vsctl del-port tap1
	seen 1 "^delete Interface $u1 {}"

	# Nothing of the rows the condition leaves out.
	run grep -E 'tap3|tap9|br-int' "$D/watch.out"
	assert_failure
	kill -0 "$WATCH_PID"
}

@test "ovsdb: a server that goes away is a clear error, not a crash" {
	plug tap1 port-1
	start_watch
	seen 1 '^synced$'
	stop_ovsdb
	run wait "$WATCH_PID"
	WATCH_PID=
	assert_equal "$status" 1
	assert grep -qx 'error: the server closed the connection' "$D/watch.out"
}

@test "ovsdb: after a server restart, only what changed meanwhile is reported" {
	plug tap1 port-1
	plug tap2 port-2
	start_watch --reconnect
	seen 1 '^synced$'
	u1=$(uuid_of tap1)
	u2=$(uuid_of tap2)
	stop_ovsdb
	seen 1 '^error: the server closed the connection'
	# Changed while the server is down, in the database file itself.
	ovsdb-tool transact "$D/ovsdb.db" '["Open_vSwitch",
		{"op": "mutate", "table": "Interface",
		 "where": [["name", "==", "tap1"]],
		 "mutations": [["external_ids", "insert",
				["map", [["migrated", "yes"]]]]]}]'
	start_ovsdb
	seen 2 '^synced$'
	assert grep -q "^modify Interface $u1 .*\"migrated\",\"yes\"" "$D/watch.out"
	run grep -c "Interface $u2" "$D/watch.out"
	assert_output 1
	run grep -c "Interface $u1" "$D/watch.out"
	assert_output 2
}

@test "ovsdb: garbage from the server is an error, and the watcher lives on" {
	python3 - "$D/fake.sock" <<-'PY' &
		import socket, sys
		s = socket.socket(socket.AF_UNIX)
		s.bind(sys.argv[1])
		s.listen(1)
		for _ in range(2):
		    c, _ = s.accept()
		    c.recv(65536)
		    c.sendall(b'{"id": 1, "result": {"tables": {}}, "error": null}'
		              b' not json at all')
		    c.recv(65536)
		    c.close()
	PY
	FAKE_PID=$!
	for _ in $(seq 100); do [ -S "$D/fake.sock" ] && break; sleep 0.05; done
	"$WATCH" "unix:$D/fake.sock" Open_vSwitch Interface --reconnect \
		>"$D/watch.out" 2>&1 &
	WATCH_PID=$!
	seen 2 '^error: garbage where a message should start'
	kill -0 "$WATCH_PID"
}

@test "ovsdb over ssl: the server's certificate checked against our CA, ours presented, rows followed" {
	start_ovsdb_ssl
	plug tap1 port-1
	REMOTE=ssl:127.0.0.1:$SSL_PORT start_watch $(ssl_args)
	seen 1 '^synced$'
	u1=$(uuid_of tap1)
	assert grep -q "^insert Interface $u1 .*\"name\":\"tap1\"" "$D/watch.out"
	plug tap2 port-2
	u2=$(uuid_of tap2)
	seen 1 "^insert Interface $u2 "
	run grep -c '^error' "$D/watch.out"
	assert_output 0
}

@test "ovsdb over ssl: a wrong CA, a client certificate refused, a missing key, no files: each said clearly" {
	start_ovsdb_ssl
	r=ssl:127.0.0.1:$SSL_PORT
	f=$BATS_FILE_TMPDIR

	# Our CA did not sign the server's certificate.
	run "$WATCH" "$r" Open_vSwitch Interface $(ssl_args client wrong-ca)
	assert_failure 1
	assert_output --partial 'error: TLS handshake failed: certificate verify failed ('

	# The server's CA did not sign ours: the server says so.
	run "$WATCH" "$r" Open_vSwitch Interface $(ssl_args stranger)
	assert_failure 1
	assert_output --regexp '^error: TLS error from the server: .*unknown ca$'

	run "$WATCH" "$r" Open_vSwitch Interface --private-key "$f/nokey.pem" \
		--certificate "$f/client.crt" --ca-cert "$f/ca.crt"
	assert_failure 1
	assert_output "error: client key '$f/nokey.pem' is not readable: No such file or directory"

	run "$WATCH" "$r" Open_vSwitch Interface
	assert_failure 1
	assert_output --partial "error: remote \"$r\" needs a private key, a certificate and a CA certificate"

	# A plain client on the SSL port.
	run "$WATCH" "tcp:127.0.0.1:$SSL_PORT" Open_vSwitch Interface
	assert_failure 1
	assert_output 'error: the server closed the connection'
}

@test "ovsdb probe: a server that stops answering is declared dead within two intervals" {
	plug tap1 port-1
	start_watch --probe 200
	seen 1 '^synced$'
	kill -STOP "$(cat "$D/ovsdb.pid")"
	SECONDS=0
	# Here, not under run: a subshell cannot wait for a running child.
	st=0
	wait "$WATCH_PID" || st=$?
	WATCH_PID=
	assert_equal "$st" 1
	[ "$SECONDS" -le 2 ] || fail "took ${SECONDS}s to notice"
	ms=$(sed -n 's/^error: no answer for \([0-9]*\) ms: peer is dead$/\1/p' "$D/watch.out")
	[ -n "$ms" ] || fail "$(cat "$D/watch.out")"
	[ "$ms" -ge 400 ] && [ "$ms" -lt 1000 ] || fail "dead after $ms ms"
}

@test "ovsdb probe: a quiet server over ssl answers the echoes and keeps the connection" {
	start_ovsdb_ssl
	ovs-appctl -t "$D/ovsdb.ctl" vlog/set jsonrpc:file:dbg
	plug tap1 port-1
	REMOTE=ssl:127.0.0.1:$SSL_PORT start_watch $(ssl_args) --probe 200
	seen 1 '^synced$'
	sleep 1.5 # seven intervals without a change
	kill -0 "$WATCH_PID"
	run grep -c '^error' "$D/watch.out"
	assert_output 0
	n=$(grep -c 'ssl:127.0.0.1:[0-9]*: received request, method="echo"' "$D/ovsdb.log")
	[ "$n" -ge 4 ] || fail "$n echoes reached the server"
	plug tap2 port-2
	seen 1 "^insert Interface $(uuid_of tap2) "
}

@test "ovsdb probe: a TLS server that accepts and never answers is given up on" {
	python3 - "$D/port" <<-'PY' &
		import socket, sys, time
		s = socket.socket()
		s.bind(("127.0.0.1", 0))
		s.listen(1)
		open(sys.argv[1], "w").write(str(s.getsockname()[1]))
		c, _ = s.accept()
		time.sleep(30)
	PY
	FAKE_PID=$!
	for _ in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.05; done
	run timeout 5 "$WATCH" "ssl:127.0.0.1:$(cat "$D/port")" Open_vSwitch \
		Interface $(ssl_args) --probe 200
	assert_failure 1
	assert_output --regexp '^error: TLS handshake: no answer for [0-9]+ ms$'
}
