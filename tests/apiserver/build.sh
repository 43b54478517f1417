#!/bin/sh
# Build admission-sim from Debian's Go packages only (no module proxy).
#   tests/apiserver/build.sh [OUTPUT]      default OUTPUT: ./admission-sim
#   tests/apiserver/build.sh --test        run its Go unit tests instead
# Installs golang-go, golang-github-evanphx-json-patch-dev,
# golang-k8s-sigs-yaml-dev and golang-k8s-sigs-json-dev with apt-get when
# they are missing (needs root).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
MODE=build
if [ "${1:-}" = --test ]; then
	MODE=test
	shift
fi
OUT=${1:-./admission-sim}
case "$OUT" in
/*) ;;
*) OUT="$(pwd)/$OUT" ;;
esac

PKGS="golang-go golang-github-evanphx-json-patch-dev golang-k8s-sigs-yaml-dev golang-k8s-sigs-json-dev"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: missing Debian packages:$missing (run as root, or install them)" >&2
		exit 1
	fi
	echo "build.sh: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
fi

# Debian's go (1.19 on bookworm) first; any other go on PATH works as well.
GO=/usr/bin/go
[ -x "$GO" ] || GO=$(command -v go || echo go)
WORK=$(mktemp -d /tmp/admission-sim-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
# GOPATH mode against /usr/share/gocode, where Debian's -dev packages put
# their sources: the tree is laid out as the package "admission-sim" (its
# typed model as "admission-sim/k8s/v1"). Nothing is fetched.
mkdir -p "$WORK/src/admission-sim/k8s/v1" "$WORK/src/schema"
cp "$HERE"/*.go "$WORK/src/admission-sim/"
cp "$HERE"/k8s/v1/*.go "$WORK/src/admission-sim/k8s/v1/"
cp "$HERE"/schema/*.json "$WORK/src/schema/"
ln -s "$WORK/src/schema" "$WORK/src/admission-sim/schema"
if [ -d "$HERE/testdata" ]; then
	cp -r "$HERE/testdata" "$WORK/src/admission-sim/"
fi

if [ -z "${GOCACHE:-}" ]; then
	if [ -n "${HOME:-}" ] && [ -w "${HOME:-/nonexistent}" ]; then
		GOCACHE="$HOME/.cache/go-build"
	else
		GOCACHE="$WORK/gocache"
	fi
fi
cd "$WORK/src/admission-sim"
export GO111MODULE=off GOPATH="$WORK:/usr/share/gocode" GOPROXY=off GOFLAGS= GOCACHE CGO_ENABLED=0
if [ "$MODE" = test ]; then
	exec "$GO" test -count=1 "$@" ./...
fi
"$GO" build -trimpath -o "$OUT" .
echo "build.sh: built $OUT" >&2
