#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs what building, testing and demonstrating mdredir needs, from
# Debian's packages, and only what is missing (a no-op on a ready machine).
set -euo pipefail

packages=(
	make gcc clang llvm pkg-config linux-libc-dev	# build
	clang-format					# make format-check
	scdoc						# the manual pages
	libclang-rt-14-dev				# libFuzzer, sanitizers (make fuzz)
	libbpf-dev bpftool libelf-dev zlib1g-dev	# BPF loader
	libmnl-dev					# netlink
	libjansson-dev					# OVSDB's JSON-RPC (control plane)
	libsystemd-dev					# sd_notify (Type=notify unit)
	libssl-dev openssl				# HMAC and TLS to Nova; test CAs
	iproute2 iputils-ping procps curl jq python3	# sandboxes and tests
	strace						# syscall-count tests
	prometheus					# promtool and a server (metrics tests)
	man-db groff-base systemd			# manuals, unit checks
	openvswitch-switch				# ovsdb-server for the OVSDB tests
	python3-openvswitch				# the OVN agent's IDL (tools/ovn-bench.sh)
	ovn-central					# ovn-northd, OVN schemas (OVN tests)
	bats bats-assert bats-support
)

missing=()
for pkg in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
# python3 may come from elsewhere than Debian (pyenv, say): that is fine.
if command -v python3 >/dev/null; then
	missing=("${missing[@]/python3}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Packages install, their services never start: openvswitch-switch would
# start a system ovsdb-server and an ovs-vswitchd (which needs a kernel
# datapath), ovn-central its NB and SB servers and ovn-northd (it has no
# init script; deb-systemd-invoke asks policy-rc.d too), prometheus its
# server on :9090, and the tests run their own instead.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
