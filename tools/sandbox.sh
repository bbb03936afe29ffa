# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Veth sandboxes for the demo and the tests: "VMs" are network namespaces
# whose eth0 is the far end of a veth pair; the near end plays the VM's tap.
# Source this file; every name starts with $SB so parallel or leftover
# sandboxes never collide, and sb_cleanup removes exactly what was made.

SB=${SB:-mdt$(printf '%04x' $((RANDOM)))}
SB_MADE_NETNS=()

# sb_netns NAME: a namespace with lo up.
sb_netns() {
	ip netns add "$1" && SB_MADE_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# sb_vm VM TAP IP [TAP_NETNS] [MAC]: namespace VM with eth0 = IP/24, wired
# to TAP (in TAP_NETNS, or the host). The guest reaches 169.254.169.254
# on-link, so it ARPs for it, as guests with a link-local route do. IP
# "none" makes a guest with only its IPv6 link-local address.
sb_vm() {
	local vm=$1 tap=$2 ip=$3 tapns=${4:-} mac=${5:-}
	local nsopt=()
	[ -n "$tapns" ] && nsopt=(-n "$tapns")
	sb_netns "$vm"
	ip "${nsopt[@]}" link add "$tap" type veth peer name eth0 netns "$vm"
	[ -n "$mac" ] && ip -n "$vm" link set eth0 address "$mac"
	# No duplicate address detection: the link-local address is usable at
	# once, as it is on a cloud image once its network is up.
	ip netns exec "$vm" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
	if [ "$ip" != none ]; then
		ip -n "$vm" addr add "$ip/24" dev eth0
	fi
	# Guest first: with the tap up first, a veth pair between two named
	# namespaces can come up without carrier on this kernel.
	ip -n "$vm" link set eth0 up
	ip "${nsopt[@]}" link set "$tap" up
	if [ "$ip" != none ]; then
		ip -n "$vm" route add 169.254.169.254/32 dev eth0
	fi
}

# sb_vm_via VM TAP IP VIA: as sb_vm, but the guest's only route to
# 169.254.169.254 goes via the gateway VIA (DHCP option 121, as under OVN:
# the metadata port's IP), so it ARPs for VIA, never for 169.254.169.254.
sb_vm_via() {
	sb_vm "$1" "$2" "$3"
	ip -n "$1" route replace 169.254.169.254/32 via "$4" dev eth0
}

# sb_vm_link_local VM: the IPv6 link-local address of VM's eth0.
sb_vm_link_local() {
	ip -n "$1" -6 -o addr show dev eth0 scope link |
		awk '{print $4}' | cut -d/ -f1
}

# sb_vm_on_switch VM SWITCH_NS PORT IP: a VM plugged into the bridge br0 of
# SWITCH_NS; it reaches metadata through the gateway 10.0.0.2 (the DHCP
# port), as guests of an isolated Neutron network do.
sb_vm_on_switch() {
	local vm=$1 sw=$2 port=$3 ip=$4
	sb_netns "$vm"
	ip -n "$sw" link add "$port" type veth peer name eth0 netns "$vm"
	ip -n "$sw" link set "$port" master br0 up
	ip -n "$vm" addr add "$ip/24" dev eth0
	ip -n "$vm" link set eth0 up
	ip -n "$vm" route add 169.254.169.254/32 via 10.0.0.2
}

# sb_network SWITCH_NS DHCP_NS TAP: a bridge, and a qdhcp-like namespace
# whose TAP (10.0.0.2/24) is plugged into it: the interface to attach.
sb_network() {
	local sw=$1 dhcp=$2 tap=$3
	sb_netns "$sw"
	sb_netns "$dhcp"
	ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	ip -n "$dhcp" link add "$tap" type veth peer name "${tap}p" netns "$sw"
	ip -n "$sw" link set "${tap}p" master br0 up
	ip -n "$dhcp" addr add 10.0.0.2/24 dev "$tap"
	ip -n "$dhcp" link set "$tap" up
}

# sb_in VM CMD...: run a command inside a VM.
sb_in() {
	local vm=$1
	shift
	ip netns exec "$vm" "$@"
}

# sb_make_metadata DIR ID NAME: sample OpenStack- and EC2-style metadata for
# one instance under DIR/ID (what the local backend serves).
sb_make_metadata() {
	local dir=$1/$2 id=$2 name=$3
	mkdir -p "$dir/openstack/latest" "$dir/latest/meta-data"
	cat >"$dir/openstack/latest/meta_data.json" <<-JSON
	{"uuid": "$id", "name": "$name", "hostname": "$name.example",
	 "availability_zone": "nova", "project_id": "demo-project"}
	JSON
	printf '#cloud-config\nhostname: %s\n' "$name" >"$dir/openstack/latest/user_data"
	printf '%s\n' "$id" >"$dir/latest/meta-data/instance-id"
	printf '%s\n' "$name.example" >"$dir/latest/meta-data/hostname"
	printf '%s\n' "10.0.0.5" >"$dir/latest/meta-data/local-ipv4"
}

# sb_cleanup: everything the sandbox and mdredir made, whatever happened.
sb_cleanup() {
	local ns
	"${MDREDIR:-mdredir}" unload >/dev/null 2>&1 || true
	for ns in "${SB_MADE_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	# Host-side taps die with their peers' namespaces; this is belt and braces.
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' |
		sed 's/@.*//' | grep "^$SB" || true); do
		ip link del "$l" 2>/dev/null || true
	done
	SB_MADE_NETNS=()
}
