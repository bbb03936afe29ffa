#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The OVSDB client (user/control/ovsdb.c) against a real ovsdb-server with
# Open vSwitch's schema, on a unix socket of its own: rows added, changed
# and deleted the way os-vif plugs a tap, followed with a server-side
# condition, through a server restart. Touches no BPF and no namespace.

load helpers

WATCH=$ROOT/${OUT:-build}/tests/ovsdb_watch
# Interfaces whose iface-id is port-1 or port-2 (a condition's clauses
# are alternatives).
WHERE='[["external_ids","includes",["map",[["iface-id","port-1"]]]],
	["external_ids","includes",["map",[["iface-id","port-2"]]]]]'

setup() {
	[ -x /usr/sbin/ovsdb-server ] || skip "openvswitch-switch is not installed"
	D=$BATS_TEST_TMPDIR
	SOCK=$D/db.sock
	WATCH_PID=
	FAKE_PID=
	ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	start_ovsdb
	vsctl init
	vsctl add-br br-int
}

teardown() {
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	stop_ovsdb
	true
}

# Outside its packaged paths ovsdb-server needs every path given.
start_ovsdb() {
	ovsdb-server "$D/conf.db" --remote="punix:$SOCK" \
		--unixctl="$D/ovsdb.ctl" --pidfile="$D/ovsdb.pid" \
		--log-file="$D/ovsdb.log" --detach --no-chdir
}

stop_ovsdb() {
	local pid
	pid=$(cat "$D/ovsdb.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$D/ovsdb.pid"
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

start_watch() {
	"$WATCH" "unix:$SOCK" Open_vSwitch Interface \
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
	ovsdb-tool transact "$D/conf.db" '["Open_vSwitch",
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
