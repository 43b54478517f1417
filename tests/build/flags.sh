#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/build/flags.sh (`make check-flags`, part of `make check`): the build
# keeps the project's flags whatever the user passes. Distribution packaging
# calls `make CFLAGS=-O1 CPPFLAGS=... LDFLAGS=...`; that must add to the
# project's flags, not replace them. From the recipes `make -n -B` prints
# (nothing is compiled) for every object and program the Makefile and mk/*.mk
# build (library, daemon, unit tests, SAN=1, fuzz targets, soak driver,
# bench-micro, the mhd-fixed bench peer), it checks that
#   - every compile line has -std=c11, -pthread, the warnings, -Werror,
#     pkg-config's include paths, the hardening flags, and the user's flags
#     after the project's;
#   - every link line has -pthread, -pie, full RELRO, a non-executable stack
#     and the user's LDFLAGS and LDLIBS;
#   - WERROR=0 drops -Werror and nothing else; -O0 drops _FORTIFY_SOURCE;
# and, really running make, that a library pkg-config cannot find stops the
# build before its first compile, naming the Debian package.
# One line per check; the last line is "N passed, M failed"; exit 1 on failure.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
tmp=$(mktemp -d /tmp/hw-flags.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The caller's make flags (-j, -n, -s) must not leak into the runs below.
unset MAKEFLAGS MFLAGS MAKELEVEL

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
flunk() { failed=$((failed + 1)); echo "FAIL $*"; }

# What a user (or dpkg-buildflags) passes; each token is looked for on the lines.
U_CFLAGS="-O1 -g -DHW_PROBE_CFLAGS"
U_CPPFLAGS="-DHW_PROBE_CPPFLAGS"
U_LDFLAGS="-Wl,--hw-probe-ldflags"
U_LDLIBS="-lhwprobeldlibs"
WARN="-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla"
HARDEN="-fstack-protector-strong -fstack-clash-protection -fPIE"
[ "$(uname -m)" = x86_64 ] && HARDEN="$HARDEN -fcf-protection"
LINK="-pthread -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack"
PKG=$(pkg-config --cflags libmicrohttpd gnutls jansson libssl libcrypto yaml-0.1)

# recipes FILE MAKE-ARGS...: the recipe lines of `make -n -B`, continuation
# lines joined, only the compiler calls (cc, gcc, clang...), one per line.
recipes() {
	local out=$1
	shift
	make --no-print-directory -n -B "$@" 2>"$out.err" |
		sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
		awk '{ n = split($1, p, "/") } p[n] ~ /^(cc|gcc|clang)(-[0-9]+)?$/' >"$out"
}

# missing LINE TOKEN...: prints the TOKENs that are not words of LINE.
missing() {
	local line=" $1 " t
	shift
	for t in "$@"; do
		[[ $line == *" $t "* ]] || printf '%s ' "$t"
	done
}

# after LINE A B: word A appears, and after the last occurrence of word B.
after() {
	awk -v a="$2" -v b="$3" '{
		for (i = 1; i <= NF; i++) { if ($i == a) la = i; if ($i == b) lb = i }
		exit !(la && lb && la > lb)
	}' <<<"$1"
}

# check_lines NAME FILE COMPILE-TOKENS | LINK-TOKENS: every compile line (-c)
# has the first set, every link line the second; the user's flags after ours.
check_lines() {
	local name=$1 file=$2 ctoks=$3 ltoks=$4 line miss bad=0 nc=0 nl=0 what
	while IFS= read -r line; do
		if [[ " $line " == *" -c "* ]]; then
			nc=$((nc + 1))
			# shellcheck disable=SC2086
			miss=$(missing "$line" $ctoks $U_CFLAGS $U_CPPFLAGS)
			after "$line" -DHW_PROBE_CFLAGS -std=c11 || miss="$miss(user CFLAGS before -std=c11) "
			after "$line" -DHW_PROBE_CPPFLAGS -Iinclude || miss="$miss(user CPPFLAGS before -Iinclude) "
		else
			nl=$((nl + 1))
			# shellcheck disable=SC2086
			miss=$(missing "$line" $ltoks $U_LDFLAGS $U_LDLIBS)
			after "$line" "$U_LDFLAGS" -Wl,-z,noexecstack || miss="$miss(user LDFLAGS before ours) "
		fi
		if [ -n "$miss" ]; then
			bad=$((bad + 1))
			what=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-o") { print $(i + 1); exit } }' <<<"$line")
			[ $bad -le 3 ] && echo "    $what lacks: $miss"
		fi
	done <"$file"
	if [ $nc -eq 0 ] || [ $nl -eq 0 ]; then
		flunk "$name: make -n printed $nc compile and $nl link lines (see $file.err)"
		sed 's/^/    /' "$file.err" | head -5
	elif [ $bad -eq 0 ]; then
		pass "$name: $nc compile and $nl link lines keep the project's flags, the user's after them"
	else
		flunk "$name: $bad of $((nc + nl)) lines lack project or user flags"
	fi
}

user=(CFLAGS="$U_CFLAGS" CPPFLAGS="$U_CPPFLAGS" LDFLAGS="$U_LDFLAGS" LDLIBS="$U_LDLIBS")
common="-std=c11 -pthread $WARN $PKG $HARDEN"
linked="$LINK -std=c11 -pthread $WARN $HARDEN"

recipes "$tmp/main" "${user[@]}" all build/check_hookwarden build/bench-micro build/soak/soakload
check_lines "library, daemon, unit tests, bench-micro, soak driver" "$tmp/main" \
	"$common -Werror -Iinclude -D_FORTIFY_SOURCE=2" "$linked -Werror"

recipes "$tmp/peer" "${user[@]}" build/bench/mhd-fixed
# The peer is one compile-and-link line: both sets at once.
if [ "$(wc -l <"$tmp/peer")" = 1 ] && line=$(cat "$tmp/peer") &&
	miss=$(missing "$line" $common -Werror -D_FORTIFY_SOURCE=2 $LINK $U_CFLAGS $U_CPPFLAGS $U_LDFLAGS $U_LDLIBS) &&
	[ -z "$miss" ]; then
	pass "mhd-fixed bench peer: one line with the project's flags and the user's"
else
	flunk "mhd-fixed bench peer: ${miss:-no single compiler line} (see $tmp/peer)"
fi

recipes "$tmp/san" SAN=1 "${user[@]}" build/san/hookwarden build/san/check_hookwarden
check_lines "SAN=1 daemon and unit tests" "$tmp/san" \
	"$common -Werror -Iinclude -fsanitize=address,undefined" "$linked -Werror -fsanitize=address,undefined"
# The sanitizer build keeps its -O1 after the user's flags, and has no _FORTIFY_SOURCE.
if grep -q -- '-D_FORTIFY_SOURCE' "$tmp/san"; then
	flunk "SAN=1 builds without _FORTIFY_SOURCE"
elif awk '{ l = u = 0; for (i = 1; i <= NF; i++) { if ($i == "-O1") l = i; if ($i == "-DHW_PROBE_CFLAGS") u = i } }
	!(u && l > u) { bad = 1 } END { exit bad }' "$tmp/san"; then
	pass "SAN=1 builds without _FORTIFY_SOURCE and keeps its -O1 after the user's CFLAGS"
else
	flunk "SAN=1: -O1 comes before the user's CFLAGS"
fi

recipes "$tmp/fuzz" "${user[@]}" fuzz-build
check_lines "fuzz targets (clang, libFuzzer)" "$tmp/fuzz" \
	"$common -Iinclude -fsanitize=address,undefined" "$LINK -std=c11 -pthread $HARDEN -fsanitize=address,undefined -fsanitize=fuzzer"

# -Werror: on by default; WERROR=0 drops it and nothing else.
recipes "$tmp/werror" "${user[@]}" all
recipes "$tmp/nowerror" WERROR=0 "${user[@]}" all
awk '{ for (i = 1; i <= NF; i++) if ($i != "-Werror") printf "%s ", $i; print "" }' "$tmp/werror" >"$tmp/werror.less"
awk '{ for (i = 1; i <= NF; i++) printf "%s ", $i; print "" }' "$tmp/nowerror" >"$tmp/nowerror.norm"
if grep -q -- '-Werror' "$tmp/nowerror"; then
	flunk "WERROR=0 drops -Werror"
elif [ "$(grep -c -- ' -Werror ' "$tmp/werror")" != "$(wc -l <"$tmp/werror")" ]; then
	flunk "-Werror is on every line by default"
elif diff -q "$tmp/werror.less" "$tmp/nowerror.norm" >/dev/null; then
	pass "-Werror is on by default; WERROR=0 drops it and changes nothing else"
else
	flunk "WERROR=0 changes more than -Werror:"
	diff "$tmp/werror.less" "$tmp/nowerror.norm" | head -4 | sed 's/^/    /'
fi

# _FORTIFY_SOURCE needs optimisation: on by default (-O2), off at -O0.
recipes "$tmp/default" all
recipes "$tmp/o0" CFLAGS="-O0 -g" all
if grep -q -- '-D_FORTIFY_SOURCE=2' "$tmp/default" && grep -q -- ' -O2 -g ' "$tmp/default" &&
	! grep -q -- '-D_FORTIFY_SOURCE' "$tmp/o0"; then
	pass "default CFLAGS are -O2 -g with _FORTIFY_SOURCE=2; CFLAGS=-O0 leaves it out"
else
	flunk "_FORTIFY_SOURCE with the default CFLAGS and without optimisation"
fi

# A library pkg-config cannot find: make stops before compiling, naming the
# Debian package. The search path holds every .pc file but yaml-0.1's.
mkdir -p "$tmp/pc"
IFS=: read -ra dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${dirs[@]}"; do
	[ -d "$d" ] && for f in "$d"/*.pc; do
		[ -e "$f" ] && [ "$(basename "$f")" != yaml-0.1.pc ] && ln -sf "$f" "$tmp/pc/"
	done
done
PKG_CONFIG_LIBDIR=$tmp/pc PKG_CONFIG_PATH='' make --no-print-directory BUILD="$tmp/b" all >"$tmp/nopc.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'cannot find yaml-0.1: install the Debian package libyaml-dev' "$tmp/nopc.out" &&
	! grep -q -e libmicrohttpd-dev -e libjansson-dev "$tmp/nopc.out" && [ ! -d "$tmp/b/obj" ]; then
	pass "without yaml-0.1.pc make stops before compiling: $(grep -m1 'cannot find' "$tmp/nopc.out")"
else
	flunk "without yaml-0.1.pc (exit $rc):"
	sed 's/^/    /' "$tmp/nopc.out" | head -5
fi
make --no-print-directory PKG_CONFIG=/nonexistent/pkg-config BUILD="$tmp/b" all >"$tmp/nopkgconf.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'install the Debian package pkg-config' "$tmp/nopkgconf.out" && [ ! -d "$tmp/b/obj" ]; then
	pass "without pkg-config make stops before compiling, naming the package pkg-config"
else
	flunk "without pkg-config (exit $rc):"
	sed 's/^/    /' "$tmp/nopkgconf.out" | head -5
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
