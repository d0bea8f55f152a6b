#!/bin/sh
# mixdesk `make run`: start a JACK server of our own when none is reachable, then the engine on the demo
# session, and say what to connect. Ctrl-C stops the engine, and the server if we started it.
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/$build/mixdesk"
session="$top/sessions/demo.json"
jackd_pid=""

stop() {
	[ -n "$engine_pid" ] && kill "$engine_pid" 2>/dev/null && wait "$engine_pid" 2>/dev/null
	if [ -n "$jackd_pid" ]; then
		kill "$jackd_pid" 2>/dev/null
		wait "$jackd_pid" 2>/dev/null
		echo "mixdesk run: stopped the JACK server (pid $jackd_pid)"
	fi
}
trap 'stop; exit 0' INT TERM

if jack_lsp >/dev/null 2>&1; then
	echo "mixdesk run: using the JACK server that is already running"
else
	echo "mixdesk run: no JACK server is running; starting one (dummy backend, 48 kHz, 256 frames, 12 capture ports)"
	jackd --no-realtime -d dummy -r 48000 -p 256 -C 12 -P 2 >/tmp/mixdesk-jackd.log 2>&1 &
	jackd_pid=$!
	i=0
	until jack_lsp >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$jackd_pid" 2>/dev/null; then
			echo "mixdesk run: jackd did not start; see /tmp/mixdesk-jackd.log" >&2
			exit 1
		fi
		sleep 0.1
	done
fi

args=""
if [ -f "$session" ] && "$bin" check "$session" >/dev/null 2>&1; then
	# the demo's strips play their sources from disk: the transport rolls, and loops over the song
	args="--play --loop $session"
else
	echo "mixdesk run: no loadable demo session; starting with 8 empty strips"
fi
"$bin" $args &
engine_pid=$!
sleep 1
if ! kill -0 "$engine_pid" 2>/dev/null; then
	stop
	exit 1
fi
cat <<'TXT'

mixdesk is running. Its JACK ports (qjackctl's Connections window shows them too):
TXT
jack_lsp -c mixdesk: 2>/dev/null | sed 's/^/  /'
first_in=$(jack_lsp mixdesk: 2>/dev/null | grep -m1 '_in' || echo mixdesk:Ch1_in)
cat <<TXT

The demo band plays from its source files, the JACK transport rolling and looping over the song (stop and
locate it from qjackctl's transport buttons). The master goes to system:playback_1/2 when they exist; to
feed a strip from a JACK port instead, set its input (/ch/N/input jack, or both) and connect it, e.g.:
  jack_connect system:capture_1 $first_in
  jack_connect mixdesk:master_out_L system:playback_1
  jack_connect mixdesk:master_out_R system:playback_2
Move a fader over OSC (127.0.0.1:9000):  $build/mixdesk-osc set /ch/1/fader -6
Ctrl-C stops it.
TXT
wait "$engine_pid"
stop
