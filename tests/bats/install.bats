#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# make install: what it puts where, the manual pages, the systemd unit.
# Nothing here touches BPF or namespaces: everything goes under a DESTDIR.

load helpers

setup() {
	D=$BATS_TEST_TMPDIR/root
	make -s --no-print-directory -C "$ROOT" OUT="${OUT:-build}" install \
		DESTDIR="$D" >/dev/null
}

@test "make install DESTDIR puts exactly the binary, config, unit, manuals and state dir" {
	run bash -c "cd '$D' && find . -mindepth 1 \\( -type f -o -type d -empty \\) -printf '%m %p\\n' | LC_ALL=C sort"
	assert_success
	assert_output "$(printf '%s\n' \
		'644 ./etc/mdredir/mdredir.ini' \
		'644 ./lib/systemd/system/mdredir.service' \
		'644 ./usr/share/man/man5/mdredir.ini.5' \
		'644 ./usr/share/man/man8/mdredir.8' \
		'755 ./usr/sbin/mdredir' \
		'755 ./var/lib/mdredir/metadata')"
	cmp "$D/etc/mdredir/mdredir.ini" "$ROOT/tools/mdredir.ini.sample"
	run "$D/usr/sbin/mdredir" --version
	assert_success
	# PREFIX and SYSCONFDIR move the binary and config, and the unit follows.
	make -s --no-print-directory -C "$ROOT" OUT="${OUT:-build}" install \
		DESTDIR="$D/local" PREFIX=/usr/local SYSCONFDIR=/usr/local/etc
	run grep '^ExecStart=' "$D/local/lib/systemd/system/mdredir.service"
	assert_output "ExecStart=/usr/local/sbin/mdredir daemon --config /usr/local/etc/mdredir/mdredir.ini"
	[ -x "$D/local/usr/local/sbin/mdredir" ]
	[ -f "$D/local/usr/local/etc/mdredir/mdredir.ini" ]
	make -s --no-print-directory -C "$ROOT" OUT="${OUT:-build}" uninstall \
		DESTDIR="$D"
	run find "$D" -path "$D/local" -prune -o -type f -print
	assert_output ""
}

@test "both manual pages render without a warning" {
	for page in man8/mdredir.8 man5/mdredir.ini.5; do
		run groff -ww -z -man "$D/usr/share/man/$page"
		assert_success
		assert_output ""
		run env MANWIDTH=80 man -l "$D/usr/share/man/$page"
		assert_success
		# troff's and scdoc's complaints, not the text's own words
		refute_output --regexp "warning:|error:|Error at"
		assert_output --partial "SEE ALSO"
	done
	# Where man looks, once installed.
	run env MANPATH="$D/usr/share/man" man -w mdredir.ini
	assert_output "$D/usr/share/man/man5/mdredir.ini.5"
}

@test "mdredir.ini(5) documents every option of the sample, under its section" {
	local page section opt
	page=$(MANWIDTH=200 man -l "$D/usr/share/man/man5/mdredir.ini.5" 2>&1)
	while read -r line; do
		case $line in
		\[*\]) section=$line ;;
		\#[a-z]*=*)
			opt=${line#\#}
			opt=${opt%% *}
			# The option's line follows its section's heading.
			grep -qE "^ +$opt = " <<<"$(sed -n "/^   \\$section\$/,/^   \\[/p" <<<"$page")" ||
				fail "mdredir.ini(5) lacks $section $opt"
			;;
		esac
	done <"$ROOT/tools/mdredir.ini.sample"
	[ -n "$opt" ]
}

@test "mdredir(8) names every command and each of its flags, and no other" {
	local src=$ROOT/man/mdredir.8.scd cmds cmd flag help section
	cmds=$(mdredir --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
	[ -n "$cmds" ]
	for cmd in $cmds; do
		section=$(sed -n "/^## mdredir $cmd\$/,/^#/p" "$src")
		[ -n "$section" ] || fail "mdredir(8) has no section '## mdredir $cmd'"
		help=$(mdredir "$cmd" --help)
		for flag in $(grep -oE -- '--[a-z-]+' <<<"$help" | sort -u); do
			[ "$flag" = --help ] && continue
			grep -qF -- "*$flag*" <<<"$section" ||
				fail "mdredir(8) lacks $cmd $flag"
		done
		for flag in $(grep -oE -- '^\*--[a-z-]+\*' <<<"$section" | tr -d '*'); do
			grep -qE -- "^ +(-[a-z], )?$flag( |\$)" <<<"$help" ||
				fail "mdredir(8) documents $cmd $flag, which --help does not have"
		done
	done
	# And every command section is a command.
	for cmd in $(sed -n 's/^## mdredir \([a-z]*\)$/\1/p' "$src"); do
		grep -qx "$cmd" <<<"$cmds" || fail "mdredir(8) documents '$cmd', no command"
	done
}

@test "systemd-analyze verify passes the installed unit, binary and manuals included" {
	# verify checks that ExecStart's binary exists at its path and that
	# man finds the Documentation= pages: the DESTDIR's sbin stands in for
	# /usr/sbin, in a mount namespace of this test's own.
	run unshare -m sh -c "mount --bind '$D/usr/sbin' /usr/sbin &&
		MANPATH='$D/usr/share/man' systemd-analyze verify \
		'$D/lib/systemd/system/mdredir.service'"
	assert_success
	assert_output ""
	grep -qx 'Type=notify' "$D/lib/systemd/system/mdredir.service"
	grep -qx 'ExecStart=/usr/sbin/mdredir daemon --config /etc/mdredir/mdredir.ini' \
		"$D/lib/systemd/system/mdredir.service"
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' \
		"$D/lib/systemd/system/mdredir.service"
	# verify only warns about a misspelt key: it must say so here too.
	sed 's/^ProtectHome=/ProtectHme=/' "$D/lib/systemd/system/mdredir.service" \
		>"$BATS_TEST_TMPDIR/mdredir.service"
	run unshare -m sh -c "mount --bind '$D/usr/sbin' /usr/sbin &&
		MANPATH='$D/usr/share/man' systemd-analyze verify \
		'$BATS_TEST_TMPDIR/mdredir.service'"
	assert_output --partial "Unknown key 'ProtectHme'"
}
