#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# make deb: the package's contents and lintian's word on it, then an
# install and a purge on this machine. Removing the package runs `mdredir
# unload` (BPF pins, namespaces): like every file, run it under the suite's
# lock.

load helpers

setup_file() {
	git -C "$ROOT" status --porcelain >"$BATS_FILE_TMPDIR/status.before"
	make -s --no-print-directory -C "$ROOT" OUT="${OUT:-build}" deb >/dev/null
}

setup() {
	VER=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
	DEBS=$ROOT/${OUT:-build}/deb
	DEB=$DEBS/mdredir_${VER}_$(dpkg --print-architecture).deb
}

teardown() {
	# A test that failed half way leaves neither the package nor the
	# namespace it made.
	if [ -e "$BATS_TEST_TMPDIR/installed" ]; then
		dpkg --purge mdredir >/dev/null 2>&1 || true
		ip netns del mdredir 2>/dev/null || true
	fi
	[ -z "${POLICY_RC_D:-}" ] || rm -f /usr/sbin/policy-rc.d
}

@test "make deb builds the binary, unit, config, manuals, state dir and docs, from a clean tree" {
	[ -f "$DEB" ]
	git -C "$ROOT" status --porcelain | diff "$BATS_FILE_TMPDIR/status.before" -
	run bash -c "dpkg-deb -c '$DEB' | awk '{ print \$1, \$2, \$6 }'"
	assert_success
	assert_output "$(printf '%s\n' \
		'drwxr-xr-x root/root ./' \
		'drwxr-xr-x root/root ./etc/' \
		'drwxr-xr-x root/root ./etc/mdredir/' \
		'-rw-r--r-- root/root ./etc/mdredir/mdredir.ini' \
		'drwxr-xr-x root/root ./lib/' \
		'drwxr-xr-x root/root ./lib/systemd/' \
		'drwxr-xr-x root/root ./lib/systemd/system/' \
		'-rw-r--r-- root/root ./lib/systemd/system/mdredir.service' \
		'drwxr-xr-x root/root ./usr/' \
		'drwxr-xr-x root/root ./usr/sbin/' \
		'-rwxr-xr-x root/root ./usr/sbin/mdredir' \
		'drwxr-xr-x root/root ./usr/share/' \
		'drwxr-xr-x root/root ./usr/share/doc/' \
		'drwxr-xr-x root/root ./usr/share/doc/mdredir/' \
		'-rw-r--r-- root/root ./usr/share/doc/mdredir/README.md.gz' \
		'-rw-r--r-- root/root ./usr/share/doc/mdredir/changelog.gz' \
		'-rw-r--r-- root/root ./usr/share/doc/mdredir/copyright' \
		'drwxr-xr-x root/root ./usr/share/lintian/' \
		'drwxr-xr-x root/root ./usr/share/lintian/overrides/' \
		'-rw-r--r-- root/root ./usr/share/lintian/overrides/mdredir' \
		'drwxr-xr-x root/root ./usr/share/man/' \
		'drwxr-xr-x root/root ./usr/share/man/man5/' \
		'-rw-r--r-- root/root ./usr/share/man/man5/mdredir.ini.5.gz' \
		'drwxr-xr-x root/root ./usr/share/man/man8/' \
		'-rw-r--r-- root/root ./usr/share/man/man8/mdredir.8.gz' \
		'drwxr-xr-x root/root ./var/' \
		'drwxr-xr-x root/root ./var/lib/' \
		'drwxr-xr-x root/root ./var/lib/mdredir/' \
		'drwxr-xr-x root/root ./var/lib/mdredir/metadata/')"
	run dpkg-deb -f "$DEB" Package Version Section Depends
	assert_success
	assert_line "Package: mdredir"
	assert_line "Version: $VER"
	assert_line "Section: net"
	# iproute2 for the unit's `ip netns add`, the libraries from shlibs.
	assert_line --regexp '^Depends: iproute2, .*libbpf1.*libsystemd0'
	run dpkg-deb -I "$DEB" conffiles
	assert_output /etc/mdredir/mdredir.ini
	dpkg-deb -I "$DEB" prerm | grep -qx '	/usr/sbin/mdredir unload ||'
	# The build's flags reached the binary (dpkg-buildflags' hardening).
	readelf -d "$DEBS/src/build/mdredir" | grep -q 'BIND_NOW'
	nm -D "$DEBS/src/build/mdredir" | grep -q '__[a-z]*_chk'
}

@test "lintian finds neither an error nor a warning" {
	run lintian --fail-on error,warning --pedantic -I "$DEBS/mdredir_${VER}_$(dpkg --print-architecture).changes"
	assert_success
	refute_output --regexp '^[EW]: '
}

# paths_now: what the package could touch, and what systemd's helpers
# keep, as a sorted list (dpkg's own records and caches left out).
paths_now() {
	find /etc /lib/systemd /usr/sbin /usr/share/doc /usr/share/man /var/lib \
		-path /var/lib/dpkg -prune -o -path /var/lib/apt -prune -o -print |
		LC_ALL=C sort
}

@test "the package installs and enables the unit without starting it here, and purge leaves nothing" {
	if dpkg-query -W -f='${Status}' mdredir 2>/dev/null | grep -q ' installed$'; then
		skip "mdredir's own package is installed here: a test does not replace it"
	fi
	for f in /usr/sbin/mdredir /etc/mdredir /lib/systemd/system/mdredir.service \
		/var/lib/mdredir /run/netns/mdredir; do
		[ ! -e "$f" ] || skip "$f exists (make install? a daemon?): a test does not touch it"
	done
	# Without /run/systemd/system (no systemd as PID 1, as on the test
	# machines) the maintainer scripts enable the unit but start nothing;
	# with it, policy-rc.d keeps deb-systemd-invoke from starting it.
	if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_RC_D=1
	fi
	paths_now >"$BATS_TEST_TMPDIR/before"
	# The package's paths, and which of them were here already (/etc, say).
	dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed -e 's|^\.||' -e 's|/$||' |
		grep . | LC_ALL=C sort >"$BATS_TEST_TMPDIR/paths"
	while read -r f; do
		[ ! -e "$f" ] || echo "$f"
	done <"$BATS_TEST_TMPDIR/paths" >"$BATS_TEST_TMPDIR/existed"

	touch "$BATS_TEST_TMPDIR/installed"
	run dpkg -i "$DEB"
	assert_success
	run diff "$BATS_TEST_TMPDIR/paths" <(dpkg -L mdredir | grep -vx /. | LC_ALL=C sort)
	assert_success
	while read -r f; do
		[ -e "$f" ] || fail "the package has $f, which is not there"
	done <"$BATS_TEST_TMPDIR/paths"
	run /usr/sbin/mdredir --version
	assert_output "mdredir $VER"
	run dpkg-query -W -f='${Conffiles}\n' mdredir
	assert_output --regexp '^ /etc/mdredir/mdredir.ini [0-9a-f]{32}$'
	[ -L /etc/systemd/system/multi-user.target.wants/mdredir.service ]
	run pgrep -x mdredir
	assert_failure
	run systemd-analyze verify /lib/systemd/system/mdredir.service
	assert_success
	assert_output ""
	run env MANWIDTH=80 man mdredir.ini
	assert_output --partial "SEE ALSO"

	# remove unloads what mdredir made (here the proxy namespace, as the
	# unit's ExecStartPre makes it) and keeps the configuration; purge
	# takes that and everything else.
	ip netns add mdredir
	run dpkg -r mdredir
	assert_success
	[ ! -e /run/netns/mdredir ] || fail "removing the package did not unload mdredir"
	[ ! -e /usr/sbin/mdredir ]
	[ -f /etc/mdredir/mdredir.ini ]
	run dpkg --purge mdredir
	assert_success
	rm "$BATS_TEST_TMPDIR/installed"
	while read -r f; do
		[ ! -e "$f" ] || grep -qxF "$f" "$BATS_TEST_TMPDIR/existed" ||
			fail "purge left $f"
	done <"$BATS_TEST_TMPDIR/paths"
	[ ! -e /etc/mdredir ] && [ ! -e /var/lib/mdredir ]
	run diff "$BATS_TEST_TMPDIR/before" <(paths_now)
	assert_success
}
