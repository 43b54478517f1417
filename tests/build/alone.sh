#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/build/alone.sh (`make check-alone`, part of `make check`): the
# repository stands alone. A user clones it with nothing beside it, so no
# tracked file may name the team's reference folder that sat beside the
# repository while it was written (a sibling directory called "shared",
# reached through a parent path or its absolute location): test data, tools
# and figures the project needs live in the repository as its own (see
# tests/data/SOURCES.md, tests/bench/README.md). Outside a git checkout
# (an unpacked tarball) it searches every file but build outputs.
# Prints each offending line; the last line is "N passed, M failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
# Written so that this file does not match itself.
pattern='([.][.]|/wor[k])/shared([^A-Za-z0-9_-]|$)'

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	list() { git ls-files -z; }
	what="tracked files"
else
	list() { find . -path ./build -prune -o -name node_modules -prune -o -name .git -prune -o -type f -print0; }
	what="files"
fi
n=$(list | tr -cd '\0' | wc -c)
hits=$(list | xargs -0 grep -I -n -E "$pattern" -- 2>/dev/null)
if [ "$n" -eq 0 ]; then
	echo "FAIL no $what found under $root"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ -z "$hits" ]; then
	echo "ok   none of $n $what reaches outside the repository for a sibling shared folder"
	echo "1 passed, 0 failed"
	exit 0
fi
files=$(cut -d: -f1 <<<"$hits" | sort -u)
echo "FAIL $(wc -l <<<"$files") of $n $what reach outside the repository for a sibling shared folder;"
echo "     copy what they need into the repository (noting where it came from):"
while IFS= read -r f; do
	awk -v f="$f" -F: '$1 == f' <<<"$hits" | head -3 | cut -c1-160 | sed 's/^/     /'
done <<<"$files"
echo "0 passed, 1 failed"
exit 1
