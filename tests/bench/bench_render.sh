#!/bin/sh
# mixdesk benchmark: `mixdesk render` of a 16-strip, 3-minute, 48 kHz session (per-strip fader, pan and a
# 4-band EQ) against the same mix done by sox, ffmpeg and ecasound on the same generated sources, in the same
# run. Prints each peer's time divided by ours (best of RUNS runs each) and where our time goes (the render's
# own --report timings). docs/BENCHMARKS.md records the figures.
# Environment: MIXDESK_BIN (set by tests/bench/run.sh), BENCH_SECONDS (default 180), RUNS (default 2),
# BENCH_KEEP=1 keeps the work folder.
set -u
bin=${MIXDESK_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/mixdesk}
secs=${BENCH_SECONDS:-180}
runs=${RUNS:-2}
n=16
dir=$(mktemp -d /tmp/mixdesk-bench-render.XXXXXX)
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

now() { date +%s.%N; }
have() { command -v "$1" >/dev/null 2>&1; }
have sox || { echo "bench_render: sox is needed to generate the sources"; exit 1; }

# sources: pink noise with a different tone under each, 16-bit mono (ecasound reads no WAVE_FORMAT_EXTENSIBLE,
# which sox writes for 24 bits)
i=0
while [ $i -lt $n ]; do
	sox -n -r 48000 -c 1 -b 16 "s$i.wav" synth "$secs" pinknoise synth "$secs" sine mix $((110 + 37 * i)) gain -14 \
		2>/dev/null || exit 1
	i=$((i + 1))
done

# the mix: strip i has fader -6 + (i mod 5) dB, pan -0.9 .. +0.9, and the same 4-band EQ (so that peers
# that apply one EQ to every channel do the same work); pan law -3 dB (sin/cos)
eq='{"on":true,"bands":[
 {"type":"lowshelf","freq":100.0,"gain":2.0,"q":0.7,"on":true},
 {"type":"peak","freq":500.0,"gain":-3.0,"q":1.0,"on":true},
 {"type":"peak","freq":3000.0,"gain":2.0,"q":1.4,"on":true},
 {"type":"highshelf","freq":10000.0,"gain":-2.0,"q":0.7,"on":true}]}'
awk -v n=$n -v eq="$eq" 'BEGIN {
	printf "{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":48000,\"pan_law\":-3.0,\n\"strips\":[\n"
	for (i = 0; i < n; i++) {
		fader = -6 + (i % 5); pan = -0.9 + 1.8 * i / (n - 1)
		printf "{\"name\":\"S%d\",\"source\":\"s%d.wav\",\"fader\":%.1f,\"pan\":%.4f,\"eq\":%s}%s\n", i, i, fader, pan, eq, i < n - 1 ? "," : ""
	}
	printf "],\n\"render\":{\"headroom\":-6.0,\"bits\":24,\"tail\":0.0}}\n"
}' >session.json
# per-strip linear gains (fader x pan law) for the peers
awk -v n=$n 'BEGIN {
	for (i = 0; i < n; i++) {
		fader = -6 + (i % 5); pan = -0.9 + 1.8 * i / (n - 1); g = exp(fader / 20 * log(10))
		th = (pan + 1) * 3.14159265358979 / 4
		printf "%d %.6f %.6f %.4f\n", i, g * cos(th), g * sin(th), (pan + 1) * 50
	}
}' >gains.txt

best() { # best of $runs timings of a command; prints seconds
	b=""
	k=0
	while [ $k -lt "$runs" ]; do
		t0=$(now)
		"$@" >/dev/null 2>>errors.log || { echo "FAILED"; return; }
		t1=$(now)
		b=$(echo "$t0 $t1 ${b:-}" | awk '{ d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3 }')
		k=$((k + 1))
	done
	echo "$b"
}

run_ours() { "$bin" render session.json -o ours.wav --report ours.json -q; }

run_sox() {
	left=""
	right=""
	while read -r i gl gr pp; do
		left="$left${left:+,}$((i + 1))v$gl"
		right="$right${right:+,}$((i + 1))v$gr"
	done <gains.txt
	set --
	i=0
	while [ $i -lt $n ]; do set -- "$@" "s$i.wav"; i=$((i + 1)); done
	sox -M "$@" -b 24 sox.wav bass +2 100 0.7q equalizer 500 1q -3 equalizer 3000 1.4q +2 treble -2 10000 0.7q \
		remix "$left" "$right"
}

run_ffmpeg() {
	args=""
	graph=""
	mixin=""
	while read -r i gl gr pp; do
		args="$args -i s$i.wav"
		graph="$graph[$i]lowshelf=f=100:g=2:t=q:w=0.7,equalizer=f=500:t=q:w=1:g=-3,equalizer=f=3000:t=q:w=1.4:g=2,highshelf=f=10000:g=-2:t=q:w=0.7,pan=stereo|c0=$gl*c0|c1=$gr*c0[a$i];"
		mixin="$mixin[a$i]"
	done <gains.txt
	# shellcheck disable=SC2086
	ffmpeg -nostdin -hide_banner -loglevel error -y $args -filter_complex "${graph}${mixin}amix=inputs=$n:normalize=0" \
		-c:a pcm_s24le ffmpeg.wav
}

run_ecasound() {
	# ecasound has no shelving or peaking EQ without LADSPA plugins (none installed): its chains use four
	# built-in second-order filters instead (high-pass, band-pass, band-reject, low-pass): the same amount of
	# filtering work, not the same sound
	set --
	while read -r i gl gr pp; do
		set -- "$@" -a:$((i + 1)) -i "s$i.wav" -ea:"$(awk -v a="$gl" -v b="$gr" 'BEGIN { printf "%.3f", 100 * sqrt(a * a + b * b) }')" \
			-epp:"$pp" -efh:30 -efb:3000,2000 -efr:500,200 -efl:16000
	done <gains.txt
	chains=$(awk -v n=$n 'BEGIN { for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? "," : ""), i }')
	ecasound -q -z:mixmode,sum -f:s24_le,2,48000 "$@" -a:"$chains" -f:s24_le,2,48000 -o ecasound.wav
}

echo "render bench: $n mono strips x ${secs} s at 48 kHz, fader + pan + 4-band EQ per strip; best of $runs"
ours=$(best run_ours)
peers=""
for p in sox ffmpeg ecasound; do
	if have $p; then
		t=$(best run_$p)
		peers="$peers $p:$t"
	else
		peers="$peers $p:missing"
	fi
done
printf "%-10s %9s %10s\n" tool seconds "peer/ours"
printf "%-10s %9.2f %10s\n" mixdesk "$ours" "1.00"
fastest=""
for pt in $peers; do
	p=${pt%%:*}
	t=${pt#*:}
	case "$t" in
	missing | FAILED) printf "%-10s %9s %10s\n" "$p" "$t" "-" ;;
	*)
		printf "%-10s %9.2f %10.2f\n" "$p" "$t" "$(echo "$t $ours" | awk '{ print $1 / $2 }')"
		fastest=$(echo "$t ${fastest:-}" | awk '{ if ($2 == "" || $1 < $2) print $1; else print $2 }')
		;;
	esac
done
# where our time goes (the last run's own timings)
awk -F'[:,]' '/"(read|dsp|mix_spool|true_peak_loudness|pass1_wall|write|total)"/ { gsub(/[ "]/, "", $1); printf "  %s %.3f s", $1, $2 } END { print "" }' ours.json |
	sed 's/^/mixdesk time:/'
status=0
if [ -n "$fastest" ]; then
	ratio=$(echo "$fastest $ours" | awk '{ printf "%.2f", $1 / $2 }')
	echo "fastest peer / mixdesk = $ratio (target >= 2)"
	echo "$ratio" | awk '{ exit !($1 >= 2.0) }' || echo "bench_render: below the 2x target"
fi
[ -s errors.log ] && { echo "errors:"; head -n 5 errors.log; }
exit $status
