#!/bin/sh
# mixdesk: run every libFuzzer target (BUILD/fuzz/fuzz_NAME) for SECONDS from its seeds (tests/fuzz/NAME/),
# growing a working corpus in BUILD/corpus/NAME; a crash leaves its input in BUILD/crashes/ (copy it into
# tests/fuzz/NAME/ once fixed: test_fuzz_corpus replays it from then on). Ends with "N passed, N failed".
# usage: tests/fuzz/run.sh BUILD SECONDS
build=$1
seconds=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
passed=0
failed=0
mkdir -p "$build/crashes"
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	mkdir -p "$build/corpus/$name"
	log="$build/fuzz-$name.log"
	# -rss_limit_mb: the machine has 24 GiB shared; -timeout: one input may not take a second
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$name-" "$build/corpus/$name" "tests/fuzz/$name" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok   fuzz_$name: ${runs:-?} inputs in ${seconds} s, nothing found"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz_$name (see $log; the input is in $build/crashes/)"
		grep -E 'ERROR|SUMMARY|runtime error|Assertion' "$log" | head -n 10 | sed 's/^/     /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
