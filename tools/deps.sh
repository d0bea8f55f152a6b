#!/bin/sh
# mixdesk: install the Debian packages the build, the tests and the benchmarks need, when missing.
# As root it installs them (apt-get update first); otherwise it prints the exact command to run.
set -e
PKGS="build-essential pkg-config jackd2 libjack-jackd2-dev liblo-dev liblo-tools libjson-c-dev \
libsndfile1-dev libebur128-dev libsamplerate0-dev libcmocka-dev clang libclang-rt-dev \
liblilv-dev lv2-dev swh-lv2 mda-lv2 lv2-examples"
# the benchmarks' peers (sh tools/deps.sh --bench): jalv, the LV2 reference host (it pulls in GTK and Qt, so
# the build and the tests do without it)
[ "$1" = "--bench" ] && PKGS="$PKGS jalv" && shift
missing=""
for p in $PKGS; do
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$1" = "--print" ] || [ "$(id -u)" != 0 ]; then
	echo "mixdesk needs these Debian packages:$missing" >&2
	echo "install them with:  sudo sh -c '$cmd'" >&2
	[ "$1" = "--print" ] && exit 0
	exit 1
fi
echo "mixdesk: installing$missing" >&2
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
