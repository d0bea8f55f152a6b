#!/bin/sh
# mixdesk benchmark: the JACK DSP load of the 64-strip console (every strip stereo with HPF 24, LPF 24,
# 4 EQ bands, gate and compressor on, 4 aux buses, 4 sends per strip) on a private dummy server, beside
# ecasound running 64 comparable chains (its nearest built-in filters, noise gate, compressor and gain; no
# sends, so it does less) on the same server, at 256- and 64-frame periods. Both get silence, so every unit
# runs but the compressors do not reduce. The load is jack_cpu_load's average over MEASURE seconds.
# Environment: MIXDESK_BIN (set by tests/bench/run.sh), MEASURE (default 8).
set -u
bin=${MIXDESK_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/mixdesk}
measure=${MEASURE:-8}
server=mdbench-$$
dir=$(mktemp -d /tmp/mixdesk-bench-jack.XXXXXX)
jackd_pid=""
cleanup() {
	[ -n "$jackd_pid" ] && kill $jackd_pid 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
have() { command -v "$1" >/dev/null 2>&1; }
have jackd && have jack_cpu_load || { echo "bench_jackload: jackd and jack_cpu_load are needed"; exit 1; }

# the console as a session
awk 'BEGIN {
	printf "{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":48000,\"strips\":[\n"
	for (s = 1; s <= 64; s++) {
		printf "{\"name\":\"Ch %d\",\"stereo\":true,\"fader\":-20.0,", s
		printf "\"hpf\":{\"on\":true,\"freq\":80.0,\"slope\":24},\"lpf\":{\"on\":true,\"freq\":16000.0,\"slope\":24},"
		printf "\"eq\":{\"on\":true,\"bands\":[{\"gain\":3.0},{\"gain\":-4.0},{\"gain\":2.0},{\"gain\":-3.0}]},"
		printf "\"comp\":{\"on\":true},\"gate\":{\"on\":true},\"sends\":["
		for (b = 1; b <= 4; b++)
			printf "{\"bus\":\"Aux %d\",\"level\":-10.0,\"pre\":%s}%s", b, b <= 2 ? "true" : "false", b < 4 ? "," : ""
		printf "]}%s\n", s < 64 ? "," : ""
	}
	printf "],\"buses\":[{\"name\":\"Aux 1\"},{\"name\":\"Aux 2\"},{\"name\":\"Aux 3\"},{\"name\":\"Aux 4\"}]}\n"
}' >"$dir/console.json"
"$bin" check "$dir/console.json" >/dev/null || { echo "bench_jackload: the console session does not load"; exit 1; }

# average DSP load (percent) over $measure seconds, after one second to settle
load() {
	JACK_DEFAULT_SERVER=$server timeout $((measure + 1)) jack_cpu_load 2>/dev/null |
		awk 'NR > 1 { s += $4; n++; if ($4 > m) m = $4 } END { if (n) printf "%.1f %.1f", s / n, m; else print "- -" }'
}

ecasound_chains() {
	set -- -q -z:mixmode,sum -f:f32,2,48000
	i=1
	while [ $i -le 64 ]; do
		set -- "$@" -a:$i -i:null -efh:80 -efh:80 -efl:16000 -efl:16000 -efb:100,50 -efb:400,200 \
			-efr:3000,1000 -efb:10000,5000 -enm:1,0,1,20,100 -eca:69,0.12,1,1 -ea:80
		i=$((i + 1))
	done
	list=$(seq -s, 1 64)
	JACK_DEFAULT_SERVER=$server exec ecasound "$@" -a:$list -o:jack
}

printf "bench_jackload: 64 stereo strips, every unit on, 4 buses x 4 sends, 48 kHz, dummy backend, %ss each\n" "$measure"
printf "%-8s %14s %20s %20s %12s\n" period "server idle %" "mixdesk % (max)" "ecasound % (max)" "eca/mixdesk"
for period in 256 64; do
	jackd --no-realtime -n $server -d dummy -r 48000 -p $period >"$dir/jackd.log" 2>&1 &
	jackd_pid=$!
	i=0
	until JACK_DEFAULT_SERVER=$server jack_lsp >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "bench_jackload: jackd did not start"; exit 1; }
		sleep 0.1
	done
	idle=$(load)
	"$bin" --server $server --osc-port 0 "$dir/console.json" >"$dir/mixdesk.log" 2>&1 &
	md=$!
	sleep 2
	ours=$(load)
	kill $md
	wait $md 2>/dev/null
	peer="- -"
	if have ecasound; then
		ecasound_chains >"$dir/ecasound.log" 2>&1 &
		eca=$!
		sleep 3
		peer=$(load)
		kill $eca 2>/dev/null
		wait $eca 2>/dev/null
	fi
	kill $jackd_pid
	wait $jackd_pid 2>/dev/null
	jackd_pid=""
	set -- $ours
	o=$1
	om=$2
	set -- $peer
	p=$1
	pm=$2
	ratio=$(awk -v p="$p" -v o="$o" 'BEGIN { if (p + 0 > 0 && o + 0 > 0) printf "%.2f", p / o; else print "-" }')
	printf "%-8s %14s %20s %20s %12s\n" "$period" "${idle%% *}" "$o ($om)" "$p ($pm)" "$ratio"
done
