#!/usr/bin/env bash
# End-to-end suite: the real binary on 127.0.0.1 with certificates from
# `hookwarden gen-certs`, driven through admission-sim (the project's
# kube-apiserver stand-in, tests/apiserver: objects are defaulted before the
# call and validated after it) and curl. Runs every tests/e2e/t_*.sh part in
# order and ends with "N passed, M failed".
#   usage: tests/e2e/run.sh [BINARY]     (default build/hookwarden)
#   HW_E2E_QUICK=1 skips the slow parts (used for the sanitizer run).
#   HW_E2E_ONLY=PATTERN runs only the parts whose file name matches.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HW_BIN=$(realpath "${1:-$ROOT/build/hookwarden}")
HW_DATA="$ROOT/tests/data"
HW_TMP=$(mktemp -d /tmp/hw-e2e.XXXXXX)
export HW_BIN HW_DATA HW_TMP
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$HW_TMP"' EXIT

# admission-sim, built once from Debian's Go packages and cached by source hash.
HW_SIM=$("$ROOT/tests/apiserver/cached.sh" "${HW_SIM_CACHE:-$ROOT/build/tools}") || { echo "0 passed, 1 failed"; exit 1; }
export HW_SIM

HW_CERTS="$HW_TMP/certs"
"$HW_BIN" gen-certs --dir "$HW_CERTS" --service hookwarden --namespace hookwarden --loopback >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
export HW_CERTS

. "$HERE/lib.sh"
for part in "$HERE"/t_*.sh; do
  case "$(basename "$part")" in *${HW_E2E_ONLY:-}*) ;; *) continue ;; esac
  echo "== $(basename "$part")"
  # shellcheck disable=SC1090
  . "$part"
  hw_stop >/dev/null 2>&1 || true
done
echo "$HW_PASS passed, $HW_FAIL failed"
[ "$HW_FAIL" -eq 0 ]
