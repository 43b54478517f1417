#!/bin/sh
# Prints the path of an admission-sim built from this tree, building it once
# per source hash (test files excluded), and points CACHE/admission-sim at it.
#   tests/apiserver/cached.sh [CACHE_DIR]     default CACHE_DIR: <repo>/build/tools
# The build log goes to stderr only when the build fails.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-$HERE/../../build/tools}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
HASH=$(cd "$HERE" && ls build.sh *.go k8s/v1/*.go schema/*.json | grep -v '_test\.go$' | xargs cat | sha256sum | cut -c1-12)
BIN=$CACHE/admission-sim-$HASH
if [ ! -x "$BIN" ]; then
	LOG=$(mktemp /tmp/admission-sim-build.log.XXXXXX)
	if ! "$HERE/build.sh" "$BIN.tmp.$$" >"$LOG" 2>&1; then
		cat "$LOG" >&2
		rm -f "$LOG" "$BIN.tmp.$$"
		exit 1
	fi
	rm -f "$LOG"
	mv "$BIN.tmp.$$" "$BIN"
fi
ln -sfn "admission-sim-$HASH" "$CACHE/admission-sim"
echo "$BIN"
