#!/bin/sh
# mk/version.sh DIR FALLBACK: the version of the source tree DIR (see
# mk/version.mk): `git describe` over vX.Y.Z tags without the "v" when DIR is
# the top of a git checkout, FALLBACK-dev-g<commit> when no tag is reachable,
# FALLBACK outside a checkout.
dir=$1 fallback=$2
top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) || { echo "$fallback"; exit 0; }
[ "$top" = "$(cd "$dir" && pwd -P)" ] || { echo "$fallback"; exit 0; }
d=$(git -C "$dir" describe --tags --always --dirty --match 'v[0-9]*' 2>/dev/null) || { echo "$fallback"; exit 0; }
case $d in
v[0-9]*) echo "${d#v}" ;;
*) echo "$fallback-dev-g$d" ;;
esac
