#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/build/clone.sh: the repository as a new user gets it. Clones the
# committed HEAD into an empty directory (nothing beside the clone), then
# there: runs the no-outside-references check, builds with `make CFLAGS=-O1`
# (how distribution packaging calls make) and checks that a real compile line
# and the link line still carry the project's flags, then runs `make check`,
# or with --full the README's test command, `make test` (as root: it installs
# what it needs; about 10 minutes). Not part of a tier itself (it would run
# make test inside make test): run it before a release or after changing the
# build.
#   tests/build/clone.sh [--full]
# One line per check; the last line is "N passed, M failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
full=0
[ "${1:-}" = --full ] && full=1
parent=$(mktemp -d /tmp/hw-clone.XXXXXX)
trap 'rm -rf "$parent"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
flunk() { failed=$((failed + 1)); echo "FAIL $*"; }

git clone -q "$root" "$parent/hookwarden" || { flunk "git clone"; echo "0 passed, 1 failed"; exit 1; }
cd "$parent/hookwarden" || exit 1
if [ "$(ls -A "$parent")" = hookwarden ]; then
	pass "cloned $(git rev-parse --short HEAD) into an empty directory"
else
	flunk "the clone's parent holds more than the clone: $(ls -A "$parent" | tr '\n' ' ')"
fi

if tests/build/alone.sh >"$parent/alone.log" 2>&1; then
	pass "no tracked file reaches outside the clone"
else
	flunk "files reach outside the clone:"
	sed 's/^/    /' "$parent/alone.log" | head -20
fi

if make --no-print-directory CFLAGS=-O1 all >"$parent/build.log" 2>&1; then
	obj=$(grep -m1 -- ' -c -o build/obj/handler.o ' "$parent/build.log")
	link=$(grep -m1 -- ' -o build/hookwarden ' "$parent/build.log")
	miss=""
	for t in -std=c11 -pthread -Wall -Wextra -Wpedantic -Werror -fstack-protector-strong \
		-fstack-clash-protection -fPIE -D_FORTIFY_SOURCE=2 -O1 $(pkg-config --cflags libmicrohttpd gnutls jansson libssl libcrypto yaml-0.1); do
		[[ " $obj " == *" $t "* ]] || miss="$miss $t"
	done
	for t in -pthread -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack; do
		[[ " $link " == *" $t "* ]] || miss="$miss (link)$t"
	done
	if [ -n "$obj" ] && [ -n "$link" ] && [ -z "$miss" ]; then
		pass "make CFLAGS=-O1 builds; handler.o's compile line and the link line keep the project's flags"
		echo "     $obj"
	else
		flunk "make CFLAGS=-O1: lines lack${miss:- (no compile or link line found)}"
	fi
else
	flunk "make CFLAGS=-O1 all:"
	tail -5 "$parent/build.log" | sed 's/^/    /'
fi

tier=check
[ $full = 1 ] && tier="test"
make --no-print-directory clean >/dev/null
start=$(date +%s)
if make --no-print-directory "$tier" >"$parent/$tier.log" 2>&1; then
	pass "make $tier passes in the clone ($(($(date +%s) - start)) s from a clean tree)"
else
	flunk "make $tier in the clone ($(($(date +%s) - start)) s):"
	grep -E '^(FAIL|not ok)|Error|error:' "$parent/$tier.log" | head -20 | sed 's/^/    /'
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
