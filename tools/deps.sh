#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs what building, testing and demonstrating mdredir needs, from
# Debian's packages, and only what is missing (a no-op on a ready machine).
# What building needs is the package's Build-Depends (debian/control, with
# build-essential), the one list of it; here are only what the tests, the
# checks and the demo need besides.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	clang-format					# make format-check
	libclang-rt-14-dev				# libFuzzer, sanitizers (make fuzz)
	git						# make deb's copy of the tree
	lintian						# the package's check
	openssl						# test CAs
	iproute2 iputils-ping procps curl jq python3	# sandboxes and tests
	strace						# syscall-count tests
	prometheus					# promtool and a server (metrics tests)
	man-db groff-base systemd			# manuals, unit checks
	openvswitch-switch				# ovsdb-server for the OVSDB tests
	python3-openvswitch				# the OVN agent's IDL (tools/ovn-bench.sh)
	ovn-central					# ovn-northd, OVN schemas (OVN tests)
	cloud-init					# its EC2 and OpenStack datasources (token tests)
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
# dpkg-checkbuilddeps (dpkg-dev, which build-essential brings) names the
# unmet ones; without it, nothing of the build can be there yet.
build_missing=
if ! command -v dpkg-checkbuilddeps >/dev/null; then
	build_missing="build-essential and debian/control's Build-Depends"
elif ! unmet=$(dpkg-checkbuilddeps debian/control 2>&1); then
	build_missing=${unmet#*Unmet build dependencies: }
fi
[ ${#missing[@]} -eq 0 ] && [ -z "$build_missing" ] && exit 0
what=${missing[*]}
[ -z "$build_missing" ] || what+="${what:+; }to build: $build_missing"

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing $what; run as root to install them" >&2
	exit 1
fi
echo "deps: installing $what" >&2
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
# build-dep on the tree itself (apt reads ./debian/control) installs the
# Build-Depends and build-essential.
if [ -n "$build_missing" ]; then
	apt-get build-dep -y -qq --no-install-recommends ./ >/dev/null
fi
if [ ${#missing[@]} -gt 0 ]; then
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
