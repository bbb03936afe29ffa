# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Shared by every bats file: the built binary, the sandbox library, and
# helpers that start a daemon or a test backend and wait until they serve.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
MDREDIR=${MDREDIR:-$ROOT/${OUT:-build}/mdredir}
export MDREDIR

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
# ovsdb-server run by hand (ovsdb.bats, the OVN harness).
. "$ROOT/tools/ovsdb.sh"

# MDR_TEST_MODE=xdp runs a file's attachments in XDP mode: the data path
# must pass the same tests either way. The attach's stderr is kept: bats
# shows it when a test fails, and a failed attach must say why. On a veth
# it also warns "using generic XDP"; no test of the files run in XDP mode
# reads an attach's output, so the warning costs nothing there.
mdredir() {
	if [ "$1" = attach ] && [ -n "${MDR_TEST_MODE:-}" ]; then
		"$MDREDIR" "$@" --mode "$MDR_TEST_MODE"
	else
		"$MDREDIR" "$@"
	fi
}

# Each test gets its own sandbox prefix, and starts and ends with mdredir
# unloaded, so no test sees another's state.
common_setup() {
	SB=mdt$(printf '%04x' $((RANDOM)))
	. "$ROOT/tools/sandbox.sh"
	DAEMON_PID=
	BACKEND_PID=
	"$MDREDIR" unload >/dev/null 2>&1 || true
}

common_teardown() {
	stop_daemon
	stop_backend
	sb_cleanup
}

# await_line PID FILE PATTERN [LOG]: up to 5 s for a background process to
# print PATTERN into FILE; shows LOG (default FILE) if it died or never did.
await_line() {
	local pid=$1 file=$2 pattern=$3 log=${4:-$2}
	for _ in $(seq 100); do
		grep -q "$pattern" "$file" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$log" >&2
	return 1
}

# wait_until SECONDS CMD...: runs CMD until it succeeds, for up to SECONDS
# (whole seconds); says what it waited for if CMD never did. For "wait until
# X has happened": a fixed sleep is either too short on a loaded machine or
# longer than it needs to be.
wait_until() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		if [ "$(date +%s%N)" -ge "$end" ]; then
			echo "gave up waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# start_daemon ARGS...: runs `mdredir daemon ARGS` until it listens; under
# $DAEMON_WRAP when set, a command that ends by exec'ing its arguments
# (prlimit --nofile=64:64 --), so that DAEMON_PID is still the daemon's.
start_daemon() {
	local log=$BATS_TEST_TMPDIR/daemon.log
	# fd 3 is bats' own: a background child holding it would hang bats.
	# shellcheck disable=SC2086 # DAEMON_WRAP is words
	${DAEMON_WRAP:-} "$MDREDIR" daemon "$@" 2>"$log" 3>&- &
	DAEMON_PID=$!
	await_line "$DAEMON_PID" "$log" 'listening on' || { DAEMON_PID=; return 1; }
}

stop_daemon() {
	[ -n "${DAEMON_PID:-}" ] || return 0
	kill "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
}

# start_server SCRIPT ARGS...: one of tests/backend/*.py, recording each
# request in $RECORD (a JSON object a line), once it says it is ready.
start_server() {
	local script=$1 out=$BATS_TEST_TMPDIR/backend.out
	shift
	RECORD=$BATS_TEST_TMPDIR/record.jsonl
	: >"$RECORD"
	python3 "$ROOT/tests/backend/$script" --record "$RECORD" "$@" \
		>"$out" 2>&1 3>&- &
	BACKEND_PID=$!
	await_line "$BACKEND_PID" "$out" ready
}

# start_backend ARGS...: the neutron-metadata-agent stand-in (--unix PATH
# or --listen HOST:PORT).
start_backend() { start_server record_backend.py "$@"; }

# start_nova ARGS...: the fake Nova metadata API.
start_nova() { start_server nova_backend.py "$@"; }

# backend_b: a second recording backend, on $B_SOCK, recording in
# $B_RECORD; stop_backend_b stops it.
backend_b() {
	B_RECORD=$BATS_TEST_TMPDIR/b.jsonl
	: >"$B_RECORD"
	python3 "$ROOT/tests/backend/record_backend.py" --unix "$B_SOCK" \
		--record "$B_RECORD" >"$BATS_TEST_TMPDIR/b.out" 2>&1 3>&- &
	B_PID=$!
	await_line "$B_PID" "$BATS_TEST_TMPDIR/b.out" ready
}

stop_backend_b() {
	[ -n "${B_PID:-}" ] || return 0
	kill "$B_PID" 2>/dev/null || true
	wait "$B_PID" 2>/dev/null || true
	B_PID=
}

# two_guests_setup: the sandbox of the tests that switch backends under
# guests (reload, workers): backend A running on $A_SOCK, backend B's
# socket path in $B_SOCK (backend_b starts it), $CONF for the daemon's
# configuration, and two guests, 10.0.0.5 behind ${SB}t1 (net-1) and
# 10.0.0.6 behind ${SB}t2 (net-2), attached.
two_guests_setup() {
	common_setup
	A_SOCK=$BATS_TEST_TMPDIR/a.sock
	B_SOCK=$BATS_TEST_TMPDIR/b.sock
	CONF=$BATS_TEST_TMPDIR/mdredir.ini
	B_PID=
	start_backend --unix "$A_SOCK"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --network-id net-1
	mdredir attach "${SB}t2" --network-id net-2
}

stop_backend() {
	[ -n "${BACKEND_PID:-}" ] || return 0
	kill "$BACKEND_PID" 2>/dev/null || true
	wait "$BACKEND_PID" 2>/dev/null || true
	BACKEND_PID=
}

# recorded_header N NAME: header NAME of the N-th recorded request (1-based),
# every value joined by '|' when sent more than once; empty when absent.
recorded_header() {
	jq -r --arg n "$2" --argjson i "$1" -s '
		.[$i - 1].headers | map(select(.[0] | ascii_downcase ==
		($n | ascii_downcase)) | .[1]) | join("|")' "$RECORD"
}

# metadata GUEST PATH [CURL ARGS...]: what a guest gets from metadata.
metadata() {
	local vm=$1 path=$2
	shift 2
	ip netns exec "$vm" curl -sS -m 5 "$@" "http://169.254.169.254$path"
}

# reply_ttl GUEST: the TTL of the SYN-ACK a guest gets from metadata.
reply_ttl() {
	ip netns exec "$1" python3 -c '
import socket
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
raw.settimeout(3)
c = socket.create_connection(("169.254.169.254", 80), timeout=3)
while True:
    frame = raw.recv(2048)
    ip = frame[14:]
    if ip[9] == 6 and ip[12:16] == bytes([169, 254, 169, 254]):
        print(ip[8]); break'
}

# A pinned-map counter of one attachment, from `stats --json`.
stat_of() {
	"$MDREDIR" stats --json |
		jq -r --arg name "$1" ".attachments[] | select(.ifname == \$name) | $2"
}

# test_ca DIR NAME: a throwaway P-256 CA, made at test time, never kept.
test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/$2.key" -out "$1/$2.crt" -days 1 -subj "/CN=$2" \
		2>/dev/null
}

# test_cert DIR NAME CA SAN: a key and certificate for SAN signed by CA.
test_cert() {
	local d=$1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/$2.key" -out "$d/$2.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=%s\n' "$4" >"$d/$2.ext"
	openssl x509 -req -in "$d/$2.csr" -CA "$d/$3.crt" -CAkey "$d/$3.key" \
		-CAcreateserial -days 1 -extfile "$d/$2.ext" -out "$d/$2.crt" \
		2>/dev/null
}

