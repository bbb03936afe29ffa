#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole suite: unit tests (HTTP parsing, header rewriting, BPF programs
# through bpf_prog_test_run) then the bats sandboxes. Ends with one line
# "N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
passed=0 failed=0

for t in "$OUT"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== unit: ${t##*/}"
	out=$("$t" 2>&1); rc=$?
	echo "$out" | grep -v '^ok ' || true
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		echo "not ok - ${t##*/} printed no summary (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
	passed=$((passed + p)); failed=$((failed + f))
	[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || failed=$((failed + 1))
done

echo "== bats"
tap=$(mktemp)
bats --tap tests/bats | tee "$tap"
bp=$(grep -c '^ok ' "$tap" || true)
bf=$(grep -c '^not ok ' "$tap" || true)
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
rm -f "$tap"
passed=$((passed + bp)); failed=$((failed + bf))
# A crash mid-run leaves tests unreported: count them as failed.
if [ -n "$planned" ] && [ $((bp + bf)) -lt "$planned" ]; then
	failed=$((failed + planned - bp - bf))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
