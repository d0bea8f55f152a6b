#!/bin/sh
# mixdesk benchmark: the buses' built-in effects offline, against peers on the same material in the same run.
# Reverb: sox's `reverb` (Freeverb: 8 parallel combs + 4 series allpasses per output side) on a mono source,
# dry + wet, stereo out, against `mixdesk render` of a session whose one mono strip (fader 0, centre) sends
# post-fader into a reverb bus (16-line feedback delay network, two-band decay, stereo out); both set to about
# 2 s RT60 at 1 kHz (sox reverberance 55 measures 2.0 s by T30 on an impulse; mixdesk decay 2 s).
# Delay: ffmpeg's `aecho` on a stereo source, one echo at 375 ms of gain 0.35, dry + echo, against a session
# whose one stereo strip sends at -9.12 dB (x0.35) into a delay bus (375 ms both sides, feedback 35 %, its loop
# filters opened to 20 Hz .. 20 kHz): its first echo is aecho's, then it repeats (35 % each time), which aecho
# does not. Not the same algorithms: similar settings, not the same sound or the same work.
# Each command is timed whole (best of RUNS runs: wall seconds, and CPU seconds of user + system); the renders
# use --bits 24 -q --tail 0 (sox and ours write BENCH_SECONDS, aecho adds its 375 ms) and also measure true
# peak and loudness and normalize, which the peers do not; the CPU seconds come from the shell's `times`, in
# 10 ms steps under dash. So it also prints the effect alone: the peer's time minus
# the same command without the effect, against the render's engine time (its --report "dsp") minus that of
# the same session with fx none. Prints peer / ours for each. The render runs the fx bus once per engine; a
# session of one strip (under 4) runs one engine (on 2 threads: measuring overlaps the engine).
# sox or ffmpeg missing: that peer is skipped (the material comes from sox, else ffmpeg).
# Environment: MIXDESK_BIN (set by tests/bench/run.sh), BENCH_SECONDS (default 60), RUNS (default 3),
# BENCH_KEEP=1 keeps the work folder. docs/BENCHMARKS.md records the figures.
set -u
bin=${MIXDESK_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/mixdesk}
secs=${BENCH_SECONDS:-60}
runs=${RUNS:-3}
[ -x "$bin" ] || { echo "bench_fx: no mixdesk program at $bin (make build/mixdesk)"; exit 1; }
dir=$(mktemp -d /tmp/mixdesk-bench-fx.XXXXXX)
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

now() { date +%s.%N; }
have() { command -v "$1" >/dev/null 2>&1; }

# the material: pink noise and a 220 Hz tone, about -17 dBFS RMS, 16-bit, mono and stereo
if have sox; then
	sox -n -r 48000 -c 1 -b 16 mono.wav synth "$secs" pinknoise synth "$secs" sine mix 220 gain -14 2>/dev/null &&
		sox -n -r 48000 -c 2 -b 16 stereo.wav synth "$secs" pinknoise synth "$secs" sine mix 220 gain -14 \
			2>/dev/null || { echo "bench_fx: sox could not write the material"; exit 1; }
elif have ffmpeg; then
	for c in 1 2; do
		ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "anoisesrc=c=pink:r=48000:a=0.25:d=$secs" \
			-f lavfi -i "sine=f=220:r=48000:d=$secs" -filter_complex "amix=inputs=2:normalize=0,volume=0.5" \
			-ac $c -c:a pcm_s16le "src$c.wav" || { echo "bench_fx: ffmpeg could not write the material"; exit 1; }
	done
	mv src1.wav mono.wav && mv src2.wav stereo.wav
else
	echo "bench_fx: neither sox nor ffmpeg is installed (apt-get install sox ffmpeg): no material, no peers; skipped"
	exit 0
fi

# the sessions: each effect, and the same console with fx none
session() { # source stereo send_db fx_json
	printf '{"format":"mixdesk-session","version":1,"sample_rate":48000,\n"strips":[{"name":"Src","stereo":%s,' "$2"
	printf '"source":"%s","fader":0,"sends":[{"bus":"Fx","level":%s,"pre":false}]}],\n' "$1" "$3"
	printf '"buses":[{"name":"Fx","fx":%s}],\n"render":{"headroom":-6,"bits":24,"tail":0}}\n' "$4"
}
session mono.wav false 0 '{"type":"reverb","decay":2,"predelay":0,"low_decay":1,"low_cut":20}' >rev.json
session mono.wav false 0 '{"type":"none"}' >rev_none.json
session stereo.wav true -9.12 \
	'{"type":"delay","time_l":375,"time_r":375,"feedback":35,"cross":0,"low_cut":20,"high_cut":20000}' >dly.json
session stereo.wav true -9.12 '{"type":"none"}' >dly_none.json

# best of $runs runs of a command: prints "wall cpu dsp" (seconds; dsp: the best engine time of a render's
# --report $1.report.json, else 0), or FAILED
best() {
	tag=$1
	shift
	bw=""
	bc=""
	bd=""
	k=0
	while [ $k -lt "$runs" ]; do
		t0=$(now)
		c=$( ("$@" >/dev/null 2>>errors.log || exit 1; times) | awk 'NR == 2 {
			split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
		t1=$(now)
		[ -n "$c" ] || { echo "FAILED"; return; }
		d=0
		[ -f "$tag.report.json" ] && d=$(awk -F'[:,]' '/"dsp"/ { print $2 }' "$tag.report.json")
		bw=$(echo "$t0 $t1 ${bw:-}" | awk '{ d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3 }')
		bc=$(echo "$c ${bc:-}" | awk '{ if ($2 == "" || $1 < $2) print $1; else print $2 }')
		bd=$(echo "$d ${bd:-}" | awk '{ if ($2 == "" || $1 < $2) print $1; else print $2 }')
		k=$((k + 1))
	done
	echo "$bw $bc $bd"
}

render() { "$bin" render "$1.json" -o "$1.wav" --bits 24 -q --tail 0 --report "$1.report.json"; }
sox_rev() { sox mono.wav -b 24 -c 2 sox_rev.wav reverb 55 50 100 100 0 0; }
sox_plain() { sox mono.wav -b 24 -c 2 sox_plain.wav; }
ff_dly() { ffmpeg -nostdin -hide_banner -loglevel error -y -i stereo.wav -af aecho=1:1:375:0.35 -c:a pcm_s24le ff_dly.wav; }
ff_plain() { ffmpeg -nostdin -hide_banner -loglevel error -y -i stereo.wav -c:a pcm_s24le ff_plain.wav; }

# a render must have written a stereo file that is not silent
check() {
	if have sox; then
		ch=$(soxi -c "$1.wav" 2>/dev/null)
		rms=$(sox "$1.wav" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }')
		[ "$ch" = 2 ] && echo "$rms" | awk '{ exit !($1 > -60) }' ||
			{ echo "bench_fx: $1.wav is broken (channels ${ch:-?}, RMS ${rms:-?} dBFS)"; exit 1; }
	else
		[ -s "$1.wav" ] || { echo "bench_fx: no $1.wav"; exit 1; }
	fi
}

ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }'; }
row() { # label wall cpu ratio_wall ratio_cpu
	printf "%-42s %8.3f %8.3f %10s %10s\n" "$1" "$2" "$3" "$4" "$5"
}

echo "bench_fx.sh: ${secs} s of 48 kHz material, 24-bit WAV out, best of $runs runs each (wall and CPU seconds)"
printf "%-42s %8s %8s %10s %10s\n" "command" "wall s" "cpu s" "peer/ours" "(cpu)"
status=0
summary=""
for pair in rev dly; do
	if [ $pair = rev ]; then
		peer=sox short="sox reverb" label="sox reverb 55 (Freeverb), mono in"
	else
		peer=ffmpeg short="ffmpeg aecho" label="ffmpeg aecho 375 ms x0.35, stereo"
	fi
	ours=$(best $pair render $pair)
	none=$(best ${pair}_none render ${pair}_none)
	case "$ours $none" in *FAILED*) echo "bench_fx: mixdesk render failed:"; head -n 5 errors.log; exit 1 ;; esac
	check $pair
	set -- $ours $none
	ow=$1 oc=$2 od=$3 odn=$6
	engines=$(awk -F'[:,]' '/"engines"/ { print $2 }' $pair.report.json | tr -d ' ')
	threads=$(awk -F'[:,]' '/"threads"/ { print $2 }' $pair.report.json | tr -d ' ')
	ofx=$(echo "$od $odn" | awk '{ printf "%.3f", $1 - $2 }')
	if [ $pair = rev ]; then what="mixdesk render, reverb bus"; else what="mixdesk render, delay bus (fb 35 %)"; fi
	if have $peer; then
		if [ $pair = rev ]; then p=$(best x sox_rev) q=$(best x sox_plain); else p=$(best x ff_dly) q=$(best x ff_plain); fi
		case "$p $q" in
		*FAILED*) echo "$label: FAILED"; head -n 3 errors.log ;;
		*)
			set -- $p $q
			pw=$1 pc=$2 qw=$4
			row "$label" "$pw" "$pc" "$(ratio "$pw" "$ow")" "$(ratio "$pc" "$oc")"
			row "$what" "$ow" "$oc" "1.00" "1.00"
			pfx=$(echo "$pw $qw" | awk '{ printf "%.3f", $1 - $2 }')
			echo "$pfx $pw $qw $ofx $od $odn" | awk -v p=$peer '{ printf "  the effect alone: %s %.3f s" \
				" (%.3f minus %.3f for the same command without it), mixdesk %.3f s (engine time %.3f minus" \
				" %.3f with fx none)\n", p, $1, $2, $3, $4, $5, $6 }'
			summary="$summary $short: whole command $(ratio "$pw" "$ow") (cpu $(ratio "$pc" "$oc")), effect alone $(ratio "$pfx" "$ofx");"
			;;
		esac
	else
		row "$what" "$ow" "$oc" "-" "-"
		echo "  $peer: not installed (apt-get install $peer): no peer figures; mixdesk's effect alone $ofx s"
	fi
	echo "  mixdesk: $engines engine(s), $threads threads; where its time goes (the last run):$(awk -F'[:,]' \
		'/"(read|dsp|true_peak_loudness|pass1_wall|write|total)"/ { gsub(/[ "]/, "", $1); printf " %s %.3f s", $1, $2 }' \
		$pair.report.json)"
done
[ -n "$summary" ] && echo "peer / mixdesk (no target; above 1: the peer took longer):$summary" | sed 's/;$//'
[ -s errors.log ] && { echo "errors:"; head -n 5 errors.log; }
exit $status
