#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The operator interface: help, bad input, clear errors, nothing half-done.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# Nothing of mdredir exists: no pins, no proxy namespace, no links.
assert_nothing_left() {
	[ ! -e /sys/fs/bpf/mdredir ]
	! ip netns list | grep -qw mdredir
	! ip -o link show | grep -q 'mdr-'
}

@test "every subcommand has --help" {
	for cmd in daemon attach detach list stats unload reload version; do
		run mdredir "$cmd" --help
		assert_success
		assert_output --partial "Usage: mdredir $cmd"
	done
	run mdredir --help
	assert_success
	assert_output --partial "Commands:"
}

@test "--version and version print the build's git describe" {
	local want
	want=$(git -C "$ROOT" describe --always --dirty)
	run mdredir --version
	assert_success
	# The tree may have changed since the build: same commit, at least.
	assert_output --regexp "^mdredir ${want%-dirty}(-dirty)?\$"
	run mdredir version
	assert_success
	assert_output --regexp "^mdredir ${want%-dirty}(-dirty)?\$"
	run mdredir version extra
	assert_equal "$status" 2
}

@test "unknown commands and flags exit 2 with usage" {
	run mdredir frobnicate
	assert_equal "$status" 2
	assert_output --partial "unknown command 'frobnicate'"
	for cmd in daemon attach detach list stats unload reload version; do
		run mdredir "$cmd" --no-such-flag
		assert_equal "$status" 2
		assert_output --partial "Usage: mdredir $cmd"
	done
	run mdredir list extra
	assert_equal "$status" 2
	assert_output --partial "unexpected argument 'extra'"
}

@test "attach validates ids, MACs and addresses before touching anything" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	run mdredir attach "${SB}t1" --network-id 'bad id'
	assert_equal "$status" 2
	assert_output --partial "invalid --network-id"
	run mdredir attach "${SB}t1" --instance-id "$(printf 'a\r\nX-Evil: 1')"
	assert_equal "$status" 2
	run mdredir attach "${SB}t1" --project-id "$(printf 'x%.0s' {1..64})"
	assert_equal "$status" 2
	run mdredir attach "${SB}t1" --network-id n1 --router-id r1
	assert_equal "$status" 2
	assert_output --partial "exclude each other"
	run mdredir attach "${SB}t1" --mac 00:11:22:33:44
	assert_equal "$status" 2
	assert_output --partial "invalid MAC address"
	run mdredir attach "${SB}t1" --ip 10.0.0.300
	assert_equal "$status" 2
	assert_output --partial "invalid IP address"
	# --metadata-via: a unicast IPv4 next hop, not 169.254.169.254 itself.
	local -A via_error=(
		[fd00::2]="takes an IPv4 address, not 'fd00::2'"
		[10.0.0.300]="takes an IPv4 address, not '10.0.0.300'"
		[10.0.0]="takes an IPv4 address, not '10.0.0'"
		[0.0.0.0]="0.0.0.0: 0.0.0.0 is nobody's address"
		[169.254.169.254]="169.254.169.254: 169.254.169.254 is answered anyway"
		[224.0.0.251]="224.0.0.251: a multicast address is no next hop"
		[255.255.255.255]="255.255.255.255: the broadcast address is no next hop"
	)
	for via in "${!via_error[@]}"; do
		run mdredir attach "${SB}t1" --metadata-via "$via"
		assert_equal "$status" 2
		assert_output --partial "mdredir: --metadata-via ${via_error[$via]}"
	done
	run mdredir attach
	assert_equal "$status" 2
	assert_output --partial "missing IFNAME"
	assert_nothing_left
}

@test "attach to a missing interface or namespace fails clearly and leaves nothing" {
	run mdredir attach "${SB}nope"
	assert_failure 1
	assert_output --partial "no interface '${SB}nope' in the host namespace"
	run mdredir attach eth0 --netns "$SB-nowhere"
	assert_failure 1
	assert_output --partial "network namespace '$SB-nowhere' not found"
	run mdredir attach lo
	assert_failure 1
	assert_output --partial "not an Ethernet interface"
	assert_nothing_left
}

@test "attach --batch checks every line and interface first, and does nothing on a mistake" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	batch=$BATS_TEST_TMPDIR/batch
	printf '%s\n' "${SB}t1 --network-id n1" '' "${SB}t2 --mac 00:11:22" \
		"${SB}t2 --frob" "# ${SB}t2 --mac bad, a comment" \
		"${SB}t2 --batch x" >"$batch"
	run mdredir attach --batch "$batch"
	assert_equal "$status" 2
	assert_output --partial "$batch:3: invalid MAC address '00:11:22'"
	assert_output --partial "$batch:4: unrecognized option '--frob'"
	assert_output --partial "$batch:6: --batch cannot be nested"
	refute_output --partial "$batch:5"
	refute_output --partial "Usage:"
	assert_nothing_left

	# Well formed, but one interface is missing: still nothing done.
	printf '%s\n' "${SB}t1 --network-id n1" "${SB}nope --network-id n2" >"$batch"
	run mdredir attach --batch "$batch"
	assert_failure 1
	assert_output --partial "no interface '${SB}nope' in the host namespace"
	assert_nothing_left

	run mdredir attach "${SB}t1" --batch "$batch"
	assert_equal "$status" 2
	assert_output --partial "--batch takes no other arguments"
	run mdredir attach --batch "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	assert_output --partial "cannot open $BATS_TEST_TMPDIR/missing"
	run mdredir attach --batch /dev/null
	assert_success
	assert_nothing_left

	printf '%s\n' "${SB}t1 --network-id n1" "${SB}t2 --router-id r2" >"$batch"
	run mdredir attach --batch "$batch"
	assert_success
	assert_output ""
	run mdredir list --json
	run jq -r 'map("\(.ifname) \(.network_id) \(.router_id)") | join(",")' <<<"$output"
	assert_output "${SB}t1 n1 null,${SB}t2 null r2"
	# Typed in by an operator: theirs, whatever a source may find later.
	run mdredir list --json
	run jq -r 'map(.source) | join(",")' <<<"$output"
	assert_output "cli,cli"
}

@test "list and stats with nothing attached" {
	run mdredir list --json
	assert_success
	assert_output "[]"
	run mdredir list
	assert_success
	assert_output "no interfaces attached"
	run mdredir stats --json
	assert_success
	run jq -e '.attachments == []' <<<"$output"
	assert_success
	run mdredir detach "${SB}t1"
	assert_failure 1
	assert_output --partial "is not attached"
	run mdredir unload
	assert_success
}

# The counter names come from one list (MDR_PKT_COUNTERS in
# include/mdredir.h); scripts read them, so their shape is pinned here
# byte for byte, and the README must describe every one.
@test "stats names every packet counter, and the README describes each" {
	run mdredir stats --json
	assert_success
	assert_output '{"attachments": [], "unattributed": {"packets": {"arp_replied": 0, "ndp_replied": 0, "to_proxy": 0, "to_guest": 0}, "dropped": {"no_neigh": 0, "no_attach": 0, "rewrite": 0, "not_ours": 0, "spoofed_mac": 0, "spoofed_ip": 0, "syn_rate": 0, "guest_syn_rate": 0}}, "sources": {}}'
	names=$(jq -r '.unattributed | (.packets, .dropped) | keys_unsorted[]' <<<"$output")
	# The README's paragraph on `stats --json`, up to the next item.
	desc=$(sed -n '/^- `stats --json`/,/^- `unload`/p' "$ROOT/README.md")
	[ -n "$desc" ]
	for name in $names; do
		grep -qF "\`$name\`" <<<"$desc" ||
			fail "README's stats description does not name $name"
	done
}

@test "list --json describes each attachment; attaching again updates it" {
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_netns "$SB-dhcp"
	ip -n "$SB-dhcp" link add "${SB}d" type veth peer name "${SB}p"
	mdredir attach "${SB}t1" --instance-id inst-1 --project-id proj-1 \
		--mac fa:16:3e:00:00:01 --ip 10.0.0.5 --ip fd00::5
	mdredir attach "${SB}d" --netns "$SB-dhcp" --network-id net-1
	run mdredir list --json
	assert_success
	run jq -e --arg t "${SB}t1" --arg d "${SB}d" --arg ns "$SB-dhcp" '
		length == 2 and
		(.[0] | .ifname == $t and .netns == null and .mode == "tc" and
		 .instance_id == "inst-1" and .project_id == "proj-1" and
		 .network_id == null and .router_id == null and
		 .service_addr == "100.100.0.1" and .vm_mac == "fa:16:3e:00:00:01"
		 and .fixed_ips == ["10.0.0.5", "fd00::5"] and
		 .metadata_via == null) and
		(.[1] | .ifname == $d and .netns == $ns and
		 .network_id == "net-1" and .service_addr == "100.100.0.2")' <<<"$output"
	assert_success

	mdredir attach "${SB}d" --netns "$SB-dhcp" --router-id router-9
	run mdredir list --json
	run jq -e --arg d "${SB}d" 'length == 2 and (.[1] | .ifname == $d and
		.router_id == "router-9" and .network_id == null and
		.service_addr == "100.100.0.2")' <<<"$output"
	assert_success
	# The maps are the source of truth, readable with bpftool.
	run bpftool map dump pinned /sys/fs/bpf/mdredir/mdr_attach
	assert_success
	assert_output --partial '"instance_id": "inst-1"'
	assert_output --partial '"router_id": "router-9"'
}

@test "daemon refuses to start with a bad backend, a busy port or a twin" {
	run timeout 5 "$MDREDIR" daemon --backend bogus:thing
	assert_failure 1
	assert_output --partial "bad backend"
	run timeout 5 "$MDREDIR" daemon --backend "local:$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	run timeout 5 "$MDREDIR" daemon --config "$BATS_TEST_TMPDIR/missing.ini"
	assert_failure 1
	assert_output --partial "missing.ini"

	mkdir -p "$BATS_TEST_TMPDIR/md"
	start_daemon --backend "local:$BATS_TEST_TMPDIR/md"
	run timeout 5 "$MDREDIR" daemon --backend "local:$BATS_TEST_TMPDIR/md"
	assert_failure 1
	assert_output --partial "another mdredir daemon is running (pid $DAEMON_PID)"
	stop_daemon

	# Something else holds port 80 in the proxy namespace.
	ip netns exec mdredir python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(); print("bound", flush=True); time.sleep(30)' \
		>"$BATS_TEST_TMPDIR/squat.out" 3>&- &
	squatter=$!
	await_line "$squatter" "$BATS_TEST_TMPDIR/squat.out" bound
	run timeout 5 "$MDREDIR" daemon --backend "local:$BATS_TEST_TMPDIR/md"
	kill "$squatter"
	assert_failure 1
	assert_output --partial "cannot listen on port 80"
}
