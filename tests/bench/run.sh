#!/bin/sh
# mixdesk benchmarks: run every benchmark program (build/bench/*) and script (tests/bench/bench_*.sh).
# Each prints its own table with ratios against its peers; docs/BENCHMARKS.md records the figures.
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
export MIXDESK_TOP="$top" MIXDESK_BIN="$top/$build/mixdesk" MIXDESK_BUILD="$top/$build"
status=0
for b in "$top/$build"/bench/* "$top"/tests/bench/bench_*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b")"
	case "$b" in
	*.sh) sh "$b" || status=1 ;;
	*) "$b" || status=1 ;;
	esac
done
exit $status
