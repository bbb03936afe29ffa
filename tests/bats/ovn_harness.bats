#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The OVN harness itself (ovn_helpers.bash) against the real processes: what
# it makes in Northbound reaches Southbound through ovn-northd the way the
# ovn source will read it, bindings and plugs land where ovn-controller and
# os-vif put them, and nothing outlives ovn_stop. Touches no BPF and no
# namespace.

load helpers
load ovn_helpers

MAC=fa:16:3e:00:00:05

setup() {
	[ -x /usr/bin/ovn-northd ] || skip "ovn-central is not installed"
	ovn_start "$BATS_TEST_TMPDIR/ovn"
	ovn_network net1 10.0.0.0/24 10.0.0.2
	ovn_port net1 port1 "$MAC" 10.0.0.5,fd00::5 vm1 proj1
	ovn_wait_sb port1
}

teardown() {
	ovn_stop
}

@test "ovn harness: a bound port shows in Southbound with our chassis, addresses and ids" {
	assert_equal "$(sb_port port1 chassis)" ""
	ovn_bind port1
	assert_equal "$(ovs_vsctl get Open_vSwitch . external_ids:system-id)" \
		compute-1
	assert_equal "$(sb_port port1 chassis)" "$(sb_chassis_uuid compute-1)"
	assert_equal "$(sb_port_chassis port1)" compute-1
	assert_equal "$(sb_port port1 up)" true
	assert_equal "$(sb_port port1 mac)" "$MAC 10.0.0.5 fd00::5"
	assert_equal "$(sb_port_id port1 neutron:device_id)" vm1
	assert_equal "$(sb_port_id port1 neutron:project_id)" proj1
	assert_equal "$(sb_port_id port1 neutron:cidrs)" \
		"10.0.0.5/24 fd00::5/64"
	assert_equal "$(sb_port_id port1 neutron:device_owner)" \
		compute:nova
	assert_equal "$(sb_datapath_name net1)" neutron-net1
	assert_equal "$(sb_port port1 datapath)" "$(sb_port meta-net1 datapath)"

	ovn_unbind port1
	assert_equal "$(sb_port_chassis port1)" ""
	assert_equal "$(sb_port port1 up)" false
}

@test "ovn harness: the network's metadata port is a localport with its IP" {
	assert_equal "$(sb_port meta-net1 type)" localport
	assert_equal "$(sb_port meta-net1 mac)" "fa:16:3e:00:00:02 10.0.0.2"
	assert_equal "$(sb_port_id meta-net1 neutron:cidrs)" 10.0.0.2/24
	assert_equal "$(sb_port_id meta-net1 neutron:device_id)" \
		ovnmeta-net1
	assert_equal "$(sb_port_id meta-net1 neutron:device_owner)" \
		network:distributed
	assert_equal "$(sb_port meta-net1 chassis)" ""
}

@test "ovn harness: a live migration adds the destination as additional_chassis" {
	ovn_bind port1
	ovn_bind_additional port1 other
	assert_equal "$(sb_port port1 chassis)" "$(sb_chassis_uuid compute-1)"
	assert_equal "$(sb_port port1 additional_chassis)" \
		"$(sb_chassis_uuid other)"
	# The migration ends: the port lives on the destination alone.
	ovn_bind port1 other
	ovn_unbind_additional port1
	assert_equal "$(sb_port_chassis port1)" other
	assert_equal "$(sb_port port1 additional_chassis)" ""
}

@test "ovn harness: a plugged tap shows in the local Interface table" {
	ovs_plug tap1 port1 "$MAC" vm1
	run ovs_vsctl --bare --columns=name find Interface external_ids:iface-id=port1
	assert_output tap1
	assert_equal "$(ovs_vsctl get Interface tap1 external_ids:attached-mac)" \
		"\"$MAC\""
	assert_equal "$(ovs_vsctl get Interface tap1 external_ids:vm-uuid)" vm1
	ovs_unplug tap1
	run ovs_vsctl --bare --columns=name find Interface external_ids:iface-id=port1
	assert_output ""
}

@test "ovn harness: Southbound restarts with its data, northd catches up" {
	ovn_bind port1
	ovn_sb_stop
	run ovn_sbctl --timeout=1 list Chassis
	assert_failure
	ovn_port net1 port2 fa:16:3e:00:00:06 10.0.0.6 vm2 proj1
	ovn_sb_start
	ovn_wait_sb port2
	assert_equal "$(sb_port_chassis port1)" compute-1
	ovn_sb_restart
	assert_equal "$(sb_port_id port2 neutron:device_id)" vm2
}

@test "ovn harness: ovn_stop leaves no process and no directory" {
	run pgrep -f "$OVN_DIR/"
	assert_equal "${#lines[@]}" 4
	pids=("${lines[@]}")
	ovn_stop
	for pid in "${pids[@]}"; do
		run pid_running "$pid"
		assert_failure
	done
	run pgrep -f "$OVN_DIR/"
	assert_failure
	assert [ ! -e "$OVN_DIR" ]
}

@test "ovn harness: ovn_stop cleans up after a start that failed halfway" {
	ovn_stop
	# A chassis named like the harness's second one: registering it fails
	# after every process has started.
	if ovn_start "$BATS_TEST_TMPDIR/ovn2" other 2>/dev/null; then
		fail "ovn_start with chassis 'other' should have failed"
	fi
	run pgrep -f "$OVN_DIR/"
	assert_equal "${#lines[@]}" 4
	ovn_stop
	run pgrep -f "$OVN_DIR/"
	assert_failure
	assert [ ! -e "$OVN_DIR" ]
}
