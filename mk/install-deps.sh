#!/bin/sh
# Installs the Debian (bookworm) packages hookwarden needs that are missing.
#   mk/install-deps.sh [build|test]    default: test (build + test tools)
# Installs nothing when everything is there; needs root otherwise.
set -eu

BUILD="gcc make pkg-config libmicrohttpd-dev libgnutls28-dev libjansson-dev libssl-dev libyaml-dev check"
# Tests: valgrind, curl, python3, openssl and gnutls-cli for TLS probes,
# clang + compiler-rt for libFuzzer and sanitizers, Go for admission-sim
# (tests/apiserver; its build.sh installs the Go packages it needs), kubectl
# and npm for deploy/, promtool (in prometheus) and python3-yaml for
# deploy/monitoring.
TEST="valgrind curl python3 openssl gnutls-bin clang libclang-rt-14-dev golang-go \
golang-github-evanphx-json-patch-dev golang-k8s-sigs-yaml-dev golang-k8s-sigs-json-dev nodejs \
prometheus python3-yaml"

want=$BUILD
[ "${1:-test}" = build ] || want="$BUILD $TEST"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages:$missing" >&2
	echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
