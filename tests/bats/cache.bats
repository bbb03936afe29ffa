#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The response cache: it answers the same guest's repeated GETs without the
# backend, never answers one guest with another's data, and forgets on time.

load helpers

NOVA_PORT=18777
SECRET=cache-secret

setup() {
	common_setup
	printf '%s' "$SECRET" >"$BATS_TEST_TMPDIR/secret"
	start_nova --listen "127.0.0.1:$NOVA_PORT" --secret-file "$BATS_TEST_TMPDIR/secret"
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.5
	mdredir attach "${SB}t1" --instance-id inst-1 --project-id p
	mdredir attach "${SB}t2" --instance-id inst-2 --project-id p
}
teardown() { common_teardown; }

# config TTL: a config file for Nova with the cache's TTL (0: off).
config() {
	local f=$BATS_TEST_TMPDIR/mdredir.ini
	printf '[DEFAULT]\nmetadata_proxy_shared_secret = %s\n[mdredir]\nbackend = nova:http://127.0.0.1:%s\ncache_ttl = %s\n' \
		"$SECRET" "$NOVA_PORT" "$1" >"$f"
	echo "$f"
}

backend_saw() { jq -s 'length' "$RECORD"; }

uuid_of() { metadata "$1" /openstack/latest/meta_data.json | jq -r .uuid; }

@test "without the cache every request reaches the backend" {
	start_daemon --config "$(config 0)"
	assert_equal "$(uuid_of "$SB-vm1")" inst-1
	assert_equal "$(uuid_of "$SB-vm1")" inst-1
	assert_equal "$(backend_saw)" 2
}

@test "with the cache a guest's repeats are answered without the backend" {
	start_daemon --config "$(config 2)"
	for _ in 1 2 3; do
		assert_equal "$(uuid_of "$SB-vm1")" inst-1
	done
	assert_equal "$(backend_saw)" 1
	run grep -c 'cache=hit' "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 2
	# Same guest address, same path, other attachment: its own answer.
	assert_equal "$(uuid_of "$SB-vm2")" inst-2
	assert_equal "$(uuid_of "$SB-vm2")" inst-2
	assert_equal "$(backend_saw)" 2
	# A hit carries the backend's headers, and keep-alive works on it.
	run metadata "$SB-vm1" /openstack/latest/meta_data.json -i
	assert_output --partial "Content-Type: application/json"
	assert_output --partial "Server: fake-nova"
	run ip netns exec "$SB-vm1" curl -sS -m 5 -w '%{num_connects} %{http_code}\n' \
		-o /dev/null http://169.254.169.254/openstack/latest/meta_data.json \
		-o /dev/null http://169.254.169.254/openstack/latest/meta_data.json
	assert_output "$(printf '1 200\n0 200')"
	# After the TTL (2 s) the backend is asked again. A sleep: the entry
	# growing old is the point.
	sleep 2.2
	assert_equal "$(uuid_of "$SB-vm1")" inst-1
	assert_equal "$(backend_saw)" 3
}

@test "the cache keeps only GET 200s" {
	start_daemon --config "$(config 5)"
	for _ in 1 2; do
		run metadata "$SB-vm1" /status/404 -o /dev/null -w '%{http_code}'
		assert_output 404
	done
	# Nova takes the first password and refuses a second: both asked.
	run metadata "$SB-vm1" /openstack/latest/password --data-binary pw -o /dev/null -w '%{http_code}'
	assert_output 200
	run metadata "$SB-vm1" /openstack/latest/password --data-binary pw -o /dev/null -w '%{http_code}'
	assert_output 409
	assert_equal "$(backend_saw)" 4
	run grep -c 'cache=hit' "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 0
}
