#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole suite: the tree's own rules (formatting, layering), unit tests
# (HTTP parsing, header rewriting, BPF programs through bpf_prog_test_run),
# a short run of each fuzz target, then the bats sandboxes. Ends with one line "N passed, N failed" and exits
# non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
passed=0 failed=0

# The tree's rules, a test each: .clang-format's style (make format fixes
# it) and tools/check-tree.py's layering.
for check in format-check tree-check; do
	echo "== check: $check"
	if out=$(make -s --no-print-directory OUT="$OUT" "$check" 2>&1); then
		echo "ok - $check"
		passed=$((passed + 1))
	else
		echo "$out" | head -20
		echo "not ok - $check"
		failed=$((failed + 1))
	fi
done

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

# Each libFuzzer target for a bounded time, all at once, from its seed
# corpus. New inputs go to a scratch corpus under $OUT, never into the
# repository's; a crashing input is saved as $OUT/fuzz/<target>-crash-*.
# One test per target.
fuzz_time=${FUZZ_TIME:-20}
fuzz_jobs=()
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	bin=$OUT/fuzz/$name
	if [ ! -x "$bin" ]; then
		echo "not ok - $name is not built (make fuzz)"
		failed=$((failed + 1))
		continue
	fi
	rm -rf "$OUT/fuzz/work-$name"
	mkdir -p "$OUT/fuzz/work-$name"
	"$bin" -max_total_time="$fuzz_time" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$OUT/fuzz/$name-" "$OUT/fuzz/work-$name" \
		"tests/fuzz/corpus/$name" >"$OUT/fuzz/$name.log" 2>&1 &
	fuzz_jobs+=("$!:$name")
done
for job in "${fuzz_jobs[@]}"; do
	name=${job#*:}
	log=$OUT/fuzz/$name.log
	echo "== fuzz: $name"
	if wait "${job%%:*}"; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "ok - $name: ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}"
		passed=$((passed + 1))
	else
		grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -5
		echo "not ok - $name failed: see $log"
		failed=$((failed + 1))
	fi
done

# run_bats LABEL FILES...: one bats run, its tally added to ours.
run_bats() {
	local label=$1 tap bp bf planned
	shift
	echo "== bats: $label"
	tap=$(mktemp)
	bats --tap "$@" | tee "$tap"
	bp=$(grep -c '^ok ' "$tap" || true)
	bf=$(grep -c '^not ok ' "$tap" || true)
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
	rm -f "$tap"
	passed=$((passed + bp)); failed=$((failed + bf))
	# A crash mid-run leaves tests unreported: count them as failed.
	if [ -n "$planned" ] && [ $((bp + bf)) -lt "$planned" ]; then
		failed=$((failed + planned - bp - bf))
	fi
}

run_bats "all, TC mode" tests/bats
# The data path must pass the same tests in XDP mode.
MDR_TEST_MODE=xdp run_bats "data path again, XDP mode" \
	tests/bats/datapath.bats tests/bats/ipv6.bats tests/bats/identity.bats \
	tests/bats/guard.bats tests/bats/proxy.bats tests/bats/nova-daemon.bats \
	tests/bats/metadata-via.bats

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
