#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# IMDSv2-style session tokens ([mdredir] imds_tokens): issued by the proxy,
# bound to one guest, required or not, never seen by a backend; and what
# cloud-init's own datasource code gets in each mode.

load helpers

CLIENT=$ROOT/tests/helpers/cloudinit_client.py
TOKEN_URL=http://169.254.169.254/latest/api/token

setup() {
	common_setup
	md=$BATS_TEST_TMPDIR/md
	for i in 1 2; do
		sb_make_metadata "$md" inst-$i vm-$i
		# As Nova: values without a newline (cloud-init reads lines as
		# a list), the EC2 tree under its oldest version too, which
		# cloud-init falls back to, and the identity document it reads
		# on AWS.
		printf 'inst-%s' "$i" >"$md/inst-$i/latest/meta-data/instance-id"
		mkdir -p "$md/inst-$i/latest/dynamic/instance-identity"
		printf '{"instanceId": "inst-%s"}\n' "$i" \
			>"$md/inst-$i/latest/dynamic/instance-identity/document"
		cp -r "$md/inst-$i/latest" "$md/inst-$i/2009-04-04"
	done
	sb_vm "$SB-vm1" "${SB}t1" 10.0.0.5
	sb_vm "$SB-vm2" "${SB}t2" 10.0.0.6
	mdredir attach "${SB}t1" --instance-id inst-1
	mdredir attach "${SB}t2" --instance-id inst-2
}
teardown() { common_teardown; }

# config MODE [MORE]: a config for the local backend with imds_tokens MODE.
config() {
	local f=$BATS_TEST_TMPDIR/mdredir.ini
	printf '[mdredir]\nbackend = local:%s\nimds_tokens = %s\n%s' \
		"$md" "$1" "${2:-}" >"$f"
	echo "$f"
}

# token GUEST [TTL] [CURL ARGS...]: a token for GUEST (TTL 60 s).
token() {
	local vm=$1 ttl=${2:-60}
	shift 2 || shift
	ip netns exec "$vm" curl -sS -m 5 -X PUT "$@" \
		-H "X-aws-ec2-metadata-token-ttl-seconds: $ttl" "$TOKEN_URL"
}

# code GUEST PATH [CURL ARGS...]: the status GUEST gets for PATH.
code() {
	local vm=$1 path=$2
	shift 2
	metadata "$vm" "$path" -o /dev/null -w '%{http_code}' "$@"
}

@test "tokens off: /latest/api/token is a path like any other" {
	start_daemon --config "$(config off)"
	# PUT is no method of the metadata API: 405, as without tokens.
	run code "$SB-vm1" /latest/api/token -X PUT \
		-H 'X-aws-ec2-metadata-token-ttl-seconds: 60'
	assert_output 405
	run code "$SB-vm1" /latest/meta-data/instance-id \
		-H 'X-aws-ec2-metadata-token: anything'
	assert_output 200
	run reply_ttl "$SB-vm1"
	assert_output 64
}

@test "tokens optional: the proxy issues them; a wrong one is refused, none is fine" {
	start_daemon --config "$(config optional)"
	run token "$SB-vm1" 21600 -i
	assert_success
	assert_line --partial 'HTTP/1.1 200 OK'
	assert_line --partial 'X-Aws-Ec2-Metadata-Token-Ttl-Seconds: 21600'
	t=$(token "$SB-vm1")
	[[ "$t" =~ ^[A-Za-z0-9_-]{55}$ ]] || fail "token '$t'"
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 200
	run metadata "$SB-vm1" /latest/meta-data/instance-id \
		-H "X-aws-ec2-metadata-token: $t"
	assert_output inst-1
	# Its last character changed (A and Q both leave base64's two spare
	# bits zero): a token ending in A must not be sent back unchanged.
	if [ "${t: -1}" = A ]; then bad=${t%?}Q; else bad=${t%?}A; fi
	run code "$SB-vm1" /latest/meta-data/instance-id \
		-H "X-aws-ec2-metadata-token: $bad"
	assert_output 401
	grep -q '"GET /latest/meta-data/instance-id" 401 .*error=token not issued to this guest' \
		"$BATS_TEST_TMPDIR/daemon.log"
	run code "$SB-vm1" /latest/meta-data/instance-id \
		-H "X-aws-ec2-metadata-token: $t" -H "X-aws-ec2-metadata-token: $t"
	assert_output 401
	run reply_ttl "$SB-vm1"
	assert_output 64
}

@test "a token request is refused as AWS refuses it" {
	start_daemon --config "$(config optional)"
	for ttl in 0 21601 -1 60s ''; do
		run code "$SB-vm1" /latest/api/token -X PUT \
			-H "X-aws-ec2-metadata-token-ttl-seconds: $ttl"
		assert_output 400
	done
	run code "$SB-vm1" /latest/api/token -X PUT
	assert_output 400
	run code "$SB-vm1" /latest/api/token -X PUT \
		-H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
		-H 'X-aws-ec2-metadata-token-ttl-seconds: 60'
	assert_output 400
	# A proxy in the guest relaying for someone else gets no token.
	run code "$SB-vm1" /latest/api/token -X PUT \
		-H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
		-H 'X-Forwarded-For: 192.0.2.1'
	assert_output 403
	run code "$SB-vm1" /latest/api/token -X PUT \
		-H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
		-H 'x_forwarded_for: 192.0.2.1'
	assert_output 403
	run metadata "$SB-vm1" /latest/api/token -i
	assert_line --partial '405 Method Not Allowed'
	assert_line --partial 'Allow: PUT'
}

# metric NAME: its value from the daemon's metrics endpoint.
metric() {
	curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk -v n="$1" '$1 == n { print $2 }'
}
METRICS_PORT=19213

@test "tokens required: each guest needs its own valid token, replies leave with TTL 1" {
	start_daemon --config "$(config required "metrics_listen = 127.0.0.1:$METRICS_PORT")"
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 401
	run code "$SB-vm1" /openstack/latest/meta_data.json -X POST -d x
	assert_output 401
	t1=$(token "$SB-vm1")
	t2=$(token "$SB-vm2")
	run metadata "$SB-vm1" /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $t1"
	assert_output inst-1
	run metadata "$SB-vm2" /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $t2"
	assert_output inst-2
	# Another guest's token, on another attachment: refused.
	run code "$SB-vm2" /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $t1"
	assert_output 401
	# Another address behind the same attachment: refused too.
	ip -n "$SB-vm1" addr add 10.0.0.9/24 dev eth0
	run code "$SB-vm1" /latest/meta-data/instance-id --interface 10.0.0.9 \
		-H "X-aws-ec2-metadata-token: $t1"
	assert_output 401
	# A token lives its TTL, no longer.
	short=$(token "$SB-vm1" 1)
	run code "$SB-vm1" /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $short"
	assert_output 200
	sleep 2
	run code "$SB-vm1" /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $short"
	assert_output 401
	grep -q 'error=expired token' "$BATS_TEST_TMPDIR/daemon.log"
	grep -q 'error=no token' "$BATS_TEST_TMPDIR/daemon.log"
	# AWS's hop limit: nothing behind the guest gets a reply.
	run reply_ttl "$SB-vm1"
	assert_output 1
	assert_equal "$(metric mdredir_imds_tokens_issued_total)" 3
	assert_equal "$(metric mdredir_imds_token_refused_total)" 5

	# A restarted daemon takes the tokens it issued; a reply_ttl the
	# operator set stands.
	stop_daemon
	start_daemon --config "$(config required)" --reply-ttl 7
	run metadata "$SB-vm1" /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $t1"
	assert_output inst-1
	run reply_ttl "$SB-vm1"
	assert_output 7
	# Unloaded, the key goes with the attachments it served.
	stop_daemon
	[ -f /run/mdredir/imds-token.key ]
	mdredir unload
	[ ! -e /run/mdredir/imds-token.key ]
}

@test "token headers never reach the backend, in any mode" {
	start_backend --unix "$BATS_TEST_TMPDIR/agent.sock"
	for mode in off optional required; do
		printf '[mdredir]\nbackend = neutron:unix:%s\nimds_tokens = %s\n' \
			"$BATS_TEST_TMPDIR/agent.sock" "$mode" >"$BATS_TEST_TMPDIR/n.ini"
		start_daemon --config "$BATS_TEST_TMPDIR/n.ini"
		t=forged
		[ "$mode" = off ] || t=$(token "$SB-vm1")
		run code "$SB-vm1" /latest/meta-data/ \
			-H "X-aws-ec2-metadata-token: $t" \
			-H 'X_aws_ec2_metadata_token_ttl_seconds: 60' \
			-H 'X-AWS-EC2-METADATA-TOKEN-TTL-SECONDS: 60'
		assert_output 200
		# The underscore spelling is a token too (WSGI reads it so).
		[ "$mode" = off ] || t=$(token "$SB-vm1")
		run code "$SB-vm1" /latest/meta-data/ -H "X_aws_ec2_metadata_token: $t"
		assert_output 200
		stop_daemon
	done
	# Six GETs, and no token request, ever reached it.
	assert_equal "$(jq -s 'length' "$RECORD")" 6
	assert_equal "$(jq -s '[.[] | select(.path == "/latest/api/token")] | length' "$RECORD")" 0
	for i in 1 2 3 4 5 6; do
		run jq -r -s --argjson i $i \
			'.[$i - 1].headers[][0] | ascii_downcase' "$RECORD"
		assert_line host
		refute_output --partial token
		assert_equal "$(recorded_header $i X-Forwarded-For)" 10.0.0.5
	done
}

@test "a reload turns tokens on and off" {
	cfg=$(config off)
	start_daemon --config "$cfg"
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 200
	config required >/dev/null
	run "$MDREDIR" reload
	assert_success
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 401
	t=$(token "$SB-vm1")
	run code "$SB-vm1" /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $t"
	assert_output 200
	run reply_ttl "$SB-vm1"
	assert_output 1
	config off >/dev/null
	run "$MDREDIR" reload
	assert_success
	run code "$SB-vm1" /latest/meta-data/instance-id
	assert_output 200
	run reply_ttl "$SB-vm1"
	assert_output 64
}

# cloud GUEST WHAT: cloud-init's own code in GUEST (cloudinit_client.py),
# with the Python cloud-init is Debian's package for.
cloud() {
	ip netns exec "$1" /usr/bin/python3 "$CLIENT" "$2" \
		2>"$BATS_TEST_TMPDIR/cloud-init.log"
}

@test "cloud-init: tokens required serve its Ec2 datasource on AWS, not its OpenStack one" {
	start_daemon --config "$(config required)"
	run cloud "$SB-vm1" ec2-aws
	assert_success
	assert_output 'instance-id inst-1 token yes'
	run cloud "$SB-vm2" ec2-aws
	assert_output 'instance-id inst-2 token yes'
	# Elsewhere (an OpenStack guest's DMI) its Ec2 datasource sends no
	# token, and neither does the OpenStack datasource.
	run cloud "$SB-vm1" ec2
	assert_failure
	grep -q 'instance-id.* failed .*: bad status code \[401\]' \
		"$BATS_TEST_TMPDIR/cloud-init.log"
	run cloud "$SB-vm1" openstack
	assert_failure
	assert_output --partial 'Missing mandatory path'
	grep -q 'meta_data.json due to: 401 Client Error: Unauthorized' \
		"$BATS_TEST_TMPDIR/cloud-init.log"
}

@test "cloud-init: tokens optional serve all three" {
	start_daemon --config "$(config optional)"
	run cloud "$SB-vm1" ec2-aws
	assert_output 'instance-id inst-1 token yes'
	run cloud "$SB-vm1" ec2
	assert_output 'instance-id inst-1 token no'
	run cloud "$SB-vm1" openstack
	assert_output 'uuid inst-1'
}

@test "cloud-init: tokens off serve its OpenStack and non-AWS Ec2 datasources" {
	start_daemon --config "$(config off)"
	run cloud "$SB-vm1" ec2
	assert_output 'instance-id inst-1 token no'
	run cloud "$SB-vm1" openstack
	assert_output 'uuid inst-1'
	# On AWS it insists on a token, and the PUT is refused, as by Neutron.
	run cloud "$SB-vm1" ec2-aws
	assert_failure
	grep -q 'Fatal error while requesting Ec2 IMDSv2 API tokens' \
		"$BATS_TEST_TMPDIR/cloud-init.log"
}
