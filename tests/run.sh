#!/bin/sh
# mixdesk: run every test program, add up cmocka's counts, end with "N passed, N failed".
# usage: tests/run.sh BUILD_DIR TEST_BINARY...   (TEST_FILTER=substring runs only the matching programs)
build=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
export MIXDESK_TOP="$top"
export MIXDESK_BIN="$top/$build/mixdesk"
export MIXDESK_BUILD="$top/$build"
export CMOCKA_MESSAGE_OUTPUT=stdout
passed=0
failed=0
log_dir="$top/$build/test-logs"
mkdir -p "$log_dir"
for t in "$@"; do
	name=$(basename "$t")
	case "$name" in *"${TEST_FILTER:-}"*) ;; *) continue ;; esac
	log="$log_dir/$name.log"
	timeout -k 10 300 "$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or timed out before cmocka could count
		echo "$name: exited with status $rc before reporting (see $log)"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -eq 0 ]; then
		echo "ok   $name ($p)"
	else
		echo "FAIL $name ($p passed, $f failed)"
		lines=$(grep -E '^\[ +(FAILED|ERROR) +\]|error:|Failure|failed' "$log" | head -n 20)
		[ -n "$lines" ] || lines=$(tail -n 20 "$log") # nothing recognisable: the end of the log
		# how the machine ran it: the test client's scheduling and the xruns it saw, when it says so
		notes=$(grep -E 'scheduling|xrun' "$log" | tail -n 3)
		[ -z "$notes" ] || lines=$(printf '%s\n%s' "$lines" "$notes")
		printf '%s\n' "$lines" | sed 's/^/     /'
		cp "$log" "$log.failed" # kept: a later run overwrites the log
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
