#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The demo: two "VMs" with the same IP behind two taps, one mdredir daemon
# on the embedded local backend, each VM fetching its own metadata. Builds
# nothing itself (run it through `make demo`) and leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
MDREDIR=${MDREDIR:-$PWD/${OUT:-build}/mdredir}
export MDREDIR
. tools/sandbox.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

if [ "$("$MDREDIR" list --json)" != "[]" ]; then
	echo "demo: mdredir already has attachments on this machine; the demo" \
	     "would disturb them (see \`mdredir list\`)" >&2
	exit 1
fi

work=$(mktemp -d)
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	sb_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

step "Sample metadata for two instances (local backend directory)"
sb_make_metadata "$work/metadata" 11111111-aaaa-4aaa-8aaa-111111111111 vm-one
sb_make_metadata "$work/metadata" 22222222-bbbb-4bbb-8bbb-222222222222 vm-two
(cd "$work/metadata" && find . -type f | sort)

step "Two VMs, both 10.0.0.5, behind taps ${SB}t1 and ${SB}t2"
sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
sb_vm "$SB-vm2" "${SB}t2" 10.0.0.5
show "$MDREDIR" attach "${SB}t1" --instance-id 11111111-aaaa-4aaa-8aaa-111111111111 \
	--project-id demo-project --ip 10.0.0.5
show "$MDREDIR" attach "${SB}t2" --instance-id 22222222-bbbb-4bbb-8bbb-222222222222 \
	--project-id demo-project --ip 10.0.0.5

step "The daemon, on the embedded local backend"
"$MDREDIR" daemon --backend "local:$work/metadata" 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 50); do
	grep -q listening "$work/daemon.log" && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log"; exit 1; }
	sleep 0.1
done
cat "$work/daemon.log"

for vm in 1 2; do
	step "VM $vm (10.0.0.5) asks http://169.254.169.254/"
	show sb_in "$SB-vm$vm" curl -sS -m 5 http://169.254.169.254/openstack/latest/meta_data.json
	show sb_in "$SB-vm$vm" curl -sS -m 5 http://169.254.169.254/openstack/latest/user_data
	show sb_in "$SB-vm$vm" curl -sS -m 5 http://169.254.169.254/latest/meta-data/
	show sb_in "$SB-vm$vm" curl -sS -m 5 http://169.254.169.254/latest/meta-data/instance-id
done

step "What mdredir knows"
show "$MDREDIR" list
show "$MDREDIR" stats
step "The same, straight from the pinned BPF maps"
show bpftool map dump pinned /sys/fs/bpf/mdredir/mdr_attach | sed -n 1,34p
show bpftool map dump pinned /sys/fs/bpf/mdredir/mdr_neigh

step "Access log"
grep access "$work/daemon.log" || true

step "Tearing everything down"
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
show "$MDREDIR" unload
echo "demo: done"
