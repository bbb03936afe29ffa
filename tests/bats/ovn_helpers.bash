# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# OVN the way a compute host sees it, for the ovn attachment source's tests
# (load after helpers): the local Open_vSwitch database, the Northbound and
# Southbound databases and ovn-northd, each a real process serving a unix
# socket in one directory of the test's, and functions that make networks,
# ports and bindings the way Neutron's OVN driver, ovn-controller and os-vif
# do. No ovn-controller and no ovs-vswitchd run: the tests bind ports in the
# Southbound database themselves and plug taps with --no-wait.
#
#	ovn_start "$BATS_TEST_TMPDIR/ovn"
#	ovn_network net1 10.0.0.0/24 10.0.0.2
#	ovn_port net1 port1 fa:16:3e:00:00:05 10.0.0.5 vm1 proj1
#	ovn_wait_sb port1
#	ovn_bind port1
#	ovs_plug tap1 port1 fa:16:3e:00:00:05 vm1
#	... mdredir daemon with $OVN_INI ...
#	ovn_stop			# in teardown

# The chassis the compute host is, unless ovn_start is told otherwise.
OVN_CHASSIS_DEFAULT=compute-1

# ovn_start DIR [CHASSIS]: makes DIR (it must not exist yet: ovn_stop removes
# it) and starts in it the local vswitch ovsdb-server (br-int, and
# external_ids:system-id=CHASSIS on the Open_vSwitch row), the NB and SB
# ovsdb-servers and ovn-northd; registers CHASSIS and a second chassis
# `other` in SB. Sets (exports) OVN_DIR, OVS_SOCK, NB_SOCK, SB_SOCK,
# CHASSIS and OVN_INI, an ini naming the databases as the OVN metadata
# agent's does. Per test (setup) or per file (setup_file) alike.
# On failure what did start keeps running: call ovn_stop (teardown does).
ovn_start() {
	# sun_path holds 107 bytes and a longer path fails obscurely.
	if [ ${#1} -gt 90 ]; then
		echo "ovn_start: $1 is too long for unix socket paths" >&2
		return 1
	fi
	if [ -e "$1" ]; then
		echo "ovn_start: $1 exists; give a fresh directory" >&2
		return 1
	fi
	mkdir -p "$1" || return 1
	OVN_DIR=$1
	CHASSIS=${2:-$OVN_CHASSIS_DEFAULT}
	OVS_SOCK=$OVN_DIR/ovs.sock
	NB_SOCK=$OVN_DIR/nb.sock
	SB_SOCK=$OVN_DIR/sb.sock
	OVN_INI=$OVN_DIR/ovn.ini
	# Exported: a setup_file's variables reach the tests only so.
	export OVN_DIR CHASSIS OVS_SOCK NB_SOCK SB_SOCK OVN_INI

	ovsdb-tool create "$OVN_DIR/ovs.db" \
		/usr/share/openvswitch/vswitch.ovsschema || return 1
	ovsdb-tool create "$OVN_DIR/nb.db" /usr/share/ovn/ovn-nb.ovsschema ||
		return 1
	ovsdb-tool create "$OVN_DIR/sb.db" /usr/share/ovn/ovn-sb.ovsschema ||
		return 1
	ovsdb_serve "$OVN_DIR/ovs.db" "$OVS_SOCK" || return 1
	ovsdb_serve "$OVN_DIR/nb.db" "$NB_SOCK" || return 1
	ovn_sb_start || return 1
	ovn-northd --ovnnb-db="unix:$NB_SOCK" --ovnsb-db="unix:$SB_SOCK" \
		--unixctl="$OVN_DIR/northd.ctl" --pidfile="$OVN_DIR/northd.pid" \
		--log-file="$OVN_DIR/northd.log" --detach --no-chdir 3>&- ||
		return 1

	ovs_vsctl init -- add-br br-int -- \
		set Open_vSwitch . external_ids:system-id="$CHASSIS" || return 1
	ovn_sbctl chassis-add "$CHASSIS" geneve 127.0.0.1 -- \
		chassis-add other geneve 127.0.0.2 || return 1
	cat >"$OVN_INI" <<-EOF
		[ovs]
		ovsdb_connection = unix:$OVS_SOCK

		[ovn]
		ovn_sb_connection = unix:$SB_SOCK
	EOF
}

# ovn_stop: stops every process ovn_start started, whichever did start, and
# removes OVN_DIR. Fails if one of them would not go.
ovn_stop() {
	local rc=0
	[ -n "${OVN_DIR:-}" ] && [ -d "$OVN_DIR" ] || return 0
	stop_pidfile "$OVN_DIR/northd.pid" || rc=1
	ovsdb_unserve "$OVN_DIR/sb.db" || rc=1
	ovsdb_unserve "$OVN_DIR/nb.db" || rc=1
	ovsdb_unserve "$OVN_DIR/ovs.db" || rc=1
	[ $rc -eq 0 ] && rm -rf "$OVN_DIR"
	return $rc
}

# ovn_sb_stop / ovn_sb_start / ovn_sb_restart: the Southbound server goes
# away and comes back on the same socket, its database file kept, for
# reconnect tests; ovn-northd reconnects by itself.
ovn_sb_stop() { ovsdb_unserve "$OVN_DIR/sb.db"; }
ovn_sb_start() { ovsdb_serve "$OVN_DIR/sb.db" "$SB_SOCK"; }
ovn_sb_restart() { ovn_sb_stop && ovn_sb_start; }

# ovs_vsctl / ovn_nbctl / ovn_sbctl ARGS...: the usual clients against this
# harness's databases. No ovs-vswitchd runs, so ovs-vsctl must not wait for
# one.
ovs_vsctl() { ovs-vsctl --db="unix:$OVS_SOCK" --no-wait "$@"; }
ovn_nbctl() { ovn-nbctl --db="unix:$NB_SOCK" "$@"; }
ovn_sbctl() { ovn-sbctl --db="unix:$SB_SOCK" "$@"; }

# ovn_network NET_ID CIDR META_IP [PROJECT_ID]: network NET_ID as Neutron's
# OVN driver makes it: logical switch neutron-NET_ID with its external_ids
# and other_config, and the network's metadata port ovn_meta_port NET_ID
# (a localport holding META_IP, the guests' route to 169.254.169.254). CIDR
# gives the prefix length of addresses ovn_port is given without one.
ovn_network() {
	local net=$1 cidr=$2 ip=$3 project=${4:-project-$1}
	local ls=neutron-$1 meta
	meta=$(ovn_meta_port "$net")
	ovn_nbctl ls-add "$ls" -- set Logical_Switch "$ls" \
		"external_ids={\"neutron:network_name\"=\"name-$net\",
		\"neutron:mtu\"=\"1442\", \"neutron:revision_number\"=\"1\",
		\"neutron:availability_zone_hints\"=\"\",
		\"neutron:provnet-network-type\"=geneve}" \
		'other_config={mcast_snoop="false",
		mcast_flood_unregistered="false", vlan-passthru="false"}' \
		-- lsp-add "$ls" "$meta" \
		-- lsp-set-type "$meta" localport \
		-- lsp-set-addresses "$meta" "$(ovn_mac_of "$ip") $ip" \
		-- set Logical_Switch_Port "$meta" \
		"external_ids={$(ovn_port_ids "$net" "ovnmeta-$net" "$project" \
			network:distributed "$ip/${cidr#*/}" 1442)}" || return 1
	# The prefix length of the network, for ovn_port.
	printf '%s\n' "$cidr" >"$OVN_DIR/net-$net.cidr"
}

# ovn_meta_port NET_ID: the name of network NET_ID's metadata port (Neutron
# names it by its port id, a uuid; a test needs to know it).
ovn_meta_port() { echo "meta-$1"; }

# ovn_mac_of IPV4: a Neutron-like MAC (fa:16:3e:…) made from the last three
# bytes of IPV4, so the metadata ports of different networks differ.
ovn_mac_of() {
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	printf 'fa:16:3e:%02x:%02x:%02x' "$2" "$3" "$4"
}

# ovn_port_ids NET_ID DEVICE_ID PROJECT_ID DEVICE_OWNER CIDRS [MTU]: the
# external_ids entries Neutron gives a logical switch port (MTU only on a
# localport), ready to go inside an ovn-nbctl map literal.
ovn_port_ids() {
	printf '"neutron:cidrs"="%s", "neutron:device_id"="%s",
	"neutron:device_owner"="%s", "neutron:network_name"="neutron-%s",
	"neutron:port_name"="", "neutron:project_id"="%s", "neutron:mtu"="%s",
	"neutron:revision_number"="1", "neutron:security_group_ids"="",
	"neutron:subnet_pool_addr_scope4"="", "neutron:subnet_pool_addr_scope6"="",
	"neutron:vnic_type"=normal, "neutron:port_capabilities"=""' \
		"$5" "$2" "$4" "$1" "$3" "${6:-}"
}

# ovn_port NET_ID PORT_ID MAC IPS DEVICE_ID PROJECT_ID: a VM's port as
# Neutron makes it: logical switch port PORT_ID on neutron-NET_ID, addresses
# and port_security "MAC IP…", external_ids with the instance (DEVICE_ID),
# project, device_owner compute:nova and cidrs. IPS is comma-separated; an
# address without /LEN gets the network's prefix length (IPv6: 64).
ovn_port() {
	local net=$1 port=$2 mac=$3 dev=$5 project=$6 ip ips=() cidrs=() len4
	len4=$(cat "$OVN_DIR/net-$net.cidr" 2>/dev/null) || {
		echo "ovn_port: no network $net (ovn_network first)" >&2
		return 1
	}
	len4=${len4#*/}
	for ip in ${4//,/ }; do
		case $ip in
		*/*) ;;
		*:*) ip=$ip/64 ;;
		*) ip=$ip/$len4 ;;
		esac
		ips+=("${ip%/*}")
		cidrs+=("$ip")
	done
	ovn_nbctl lsp-add "neutron-$net" "$port" \
		-- lsp-set-addresses "$port" "$mac ${ips[*]}" \
		-- lsp-set-port-security "$port" "$mac ${ips[*]}" \
		-- set Logical_Switch_Port "$port" "external_ids={$(ovn_port_ids \
			"$net" "$dev" "$project" compute:nova "${cidrs[*]}")}"
}

# ovn_wait_sb [PORT]: waits (10 s at most) until ovn-northd has brought the
# Southbound database up to date with everything made so far in Northbound,
# and, given PORT, that PORT's Port_Binding is there.
ovn_wait_sb() {
	ovn_nbctl --timeout=10 --wait=sb sync || {
		echo "ovn_wait_sb: ovn-northd did not catch up" >&2
		return 1
	}
	[ -z "${1:-}" ] || [ -n "$(sb_port "$1" _uuid)" ] || {
		echo "ovn_wait_sb: no Port_Binding for $1" >&2
		return 1
	}
}

# ovn_bind PORT [CHASSIS]: what ovn-controller does when a VM's tap shows up:
# sets Port_Binding.chassis (default: our chassis) and up. A port bound
# elsewhere moves. (ovn-sbctl lsp-bind does the first half and refuses a
# bound port.) The get prints the chassis' uuid: not this function's output.
ovn_bind() {
	ovn_sbctl -- --id=@c get Chassis "${2:-$CHASSIS}" _uuid \
		-- set Port_Binding "$1" chassis=@c up=true >/dev/null
}

# ovn_unbind PORT: the VM's tap went away: Port_Binding.chassis cleared.
ovn_unbind() {
	ovn_sbctl clear Port_Binding "$1" chassis -- set Port_Binding "$1" up=false
}

# ovn_bind_additional PORT CHASSIS: live migration under way: CHASSIS, the
# destination, is added to Port_Binding.additional_chassis while the source
# stays in chassis. ovn_unbind_additional PORT clears it again.
ovn_bind_additional() {
	ovn_sbctl -- --id=@c get Chassis "$2" _uuid \
		-- add Port_Binding "$1" additional_chassis @c >/dev/null
}
ovn_unbind_additional() {
	ovn_sbctl clear Port_Binding "$1" additional_chassis
}

# ovs_plug TAP PORT_ID MAC VM_UUID: the way os-vif plugs a VM's tap into
# br-int (iface-id is the logical port). ovs_unplug TAP unplugs it.
ovs_plug() {
	ovs_vsctl add-port br-int "$1" -- set Interface "$1" \
		external_ids:iface-id="$2" external_ids:attached-mac="$3" \
		external_ids:vm-uuid="$4" external_ids:iface-status=active
}
ovs_unplug() {
	ovs_vsctl del-port br-int "$1"
}

# sb_port PORT COLUMN: COLUMN of PORT's Port_Binding, as ovn-sbctl --bare
# prints it; empty when there is no such row.
sb_port() {
	ovn_sbctl --bare --columns="$2" find Port_Binding logical_port="$1"
}

# sb_port_id PORT KEY: external_ids:KEY of PORT's Port_Binding, unquoted.
sb_port_id() {
	local v
	v=$(ovn_sbctl get Port_Binding "$1" "external_ids:\"$2\"") || return 1
	v=${v#\"}
	echo "${v%\"}"
}

# sb_chassis_uuid NAME: the uuid of Chassis NAME.
sb_chassis_uuid() {
	ovn_sbctl --bare --columns=_uuid find Chassis name="$1"
}

# sb_port_chassis PORT: the name of the chassis PORT is bound to; empty
# when it is unbound.
sb_port_chassis() {
	local uuid
	uuid=$(sb_port "$1" chassis)
	[ -z "$uuid" ] || ovn_sbctl --bare get Chassis "$uuid" name
}

# sb_datapath_name NET_ID: external_ids:name of the Datapath_Binding that
# ovn-northd made for network NET_ID, found through the Port_Binding of the
# network's metadata port.
sb_datapath_name() {
	local dp
	dp=$(sb_port "$(ovn_meta_port "$1")" datapath)
	[ -n "$dp" ] && ovn_sbctl --bare get Datapath_Binding "$dp" \
		external_ids:name
}
