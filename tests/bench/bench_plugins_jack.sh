#!/bin/sh
# mixdesk benchmark: the JACK DSP load of swh GVerb on 4 aux buses hosted by mixdesk (4 buses, each with GVerb
# in its first insert slot, no strips) against jalv hosting the same 4 GVerbs (4 jalv processes, the LV2
# reference host) on the same private dummy server at 256- and 64-frame periods. Both feed the reverbs
# silence, which costs GVerb as much as sound. The load is jack_cpu_load's average over MEASURE seconds; the
# added load is each host's minus the idle server's.
# Environment: MIXDESK_BIN (set by tests/bench/run.sh), MEASURE (default 8).
set -u
bin=${MIXDESK_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/mixdesk}
measure=${MEASURE:-8}
server=mdbenchp-$$
dir=$(mktemp -d /tmp/mixdesk-bench-plugins.XXXXXX)
jackd_pid=""
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	[ -n "$jackd_pid" ] && kill $jackd_pid 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
have() { command -v "$1" >/dev/null 2>&1; }
have jackd && have jack_cpu_load || { echo "bench_plugins_jack: jackd and jack_cpu_load are needed"; exit 1; }
have jalv || { echo "bench_plugins_jack: jalv is needed (make bench installs it: sh tools/deps.sh --bench)"; exit 1; }
gverb=http://plugin.org.uk/swh-plugins/gverb
cat >"$dir/console.json" <<JSON
{"format":"mixdesk-session","version":1,"sample_rate":48000,"strips":[],"buses":[
{"name":"Verb 1","inserts":[{"plugin":"$gverb"}]},{"name":"Verb 2","inserts":[{"plugin":"$gverb"}]},
{"name":"Verb 3","inserts":[{"plugin":"$gverb"}]},{"name":"Verb 4","inserts":[{"plugin":"$gverb"}]}]}
JSON
"$bin" check "$dir/console.json" >"$dir/check.log" 2>&1 || { echo "bench_plugins_jack: the session does not load:"; cat "$dir/check.log"; exit 1; }
rt=--no-realtime
[ "$(id -u)" = 0 ] && rt=-R

load() {
	JACK_DEFAULT_SERVER=$server timeout $((measure + 1)) jack_cpu_load 2>/dev/null |
		awk 'NR > 1 { s += $4; n++; if ($4 > m) m = $4 } END { if (n) printf "%.2f %.2f", s / n, m; else print "- -" }'
}

printf "bench_plugins_jack: 4 x swh GVerb, 48 kHz, dummy backend (jackd %s), %ss each\n" "$rt" "$measure"
printf "%-7s %10s %22s %22s %16s\n" period "idle %" "mixdesk % (max)" "jalv x4 % (max)" "added: jalv/md"
for period in 256 64; do
	jackd $rt -n $server -d dummy -r 48000 -p $period >"$dir/jackd.log" 2>&1 &
	jackd_pid=$!
	i=0
	until JACK_DEFAULT_SERVER=$server jack_lsp >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "bench_plugins_jack: jackd did not start"; exit 1; }
		sleep 0.1
	done
	idle=$(load)
	"$bin" --server $server --osc-port 0 "$dir/console.json" >"$dir/mixdesk.log" 2>&1 &
	md=$!
	sleep 2
	ours=$(load)
	kill $md
	wait $md 2>/dev/null
	pids=""
	for k in 1 2 3 4; do
		# jalv's console reads commands from stdin: a pipe that stays open keeps it running
		(sleep $((measure + 30)) | JACK_DEFAULT_SERVER=$server exec jalv -n gverb$k $gverb >"$dir/jalv$k.log" 2>&1) &
		pids="$pids $!"
	done
	sleep 3
	peer=$(load)
	for p in $pids; do kill "$p" 2>/dev/null; done
	pkill -f "jalv -n gverb" 2>/dev/null
	pids=""
	kill $jackd_pid
	wait $jackd_pid 2>/dev/null
	jackd_pid=""
	set -- $idle
	il=$1
	set -- $ours
	o=$1
	om=$2
	set -- $peer
	p=$1
	pm=$2
	ratio=$(awk -v p="$p" -v o="$o" -v i="$il" 'BEGIN { a = o - i; b = p - i; if (a > 0 && b > 0) printf "%.2f - %.2f: %.2f", b, a, b / a; else print "-" }')
	printf "%-7s %10s %22s %22s %16s\n" "$period" "$il" "$o ($om)" "$p ($pm)" "$ratio"
done
