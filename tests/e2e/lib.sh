# shellcheck shell=bash
# Shared helpers for the end-to-end parts (tests/e2e/t_*.sh). Sourced by
# run.sh, which sets:
#   HW_BIN     the hookwarden binary under test
#   HW_SIM     the admission-sim binary (tests/apiserver: kube-apiserver's part
#              around the webhook call: defaulting, the call, validation, store)
#   HW_CERTS   a directory made by `hookwarden gen-certs` (ca.crt, tls.crt, tls.key)
#   HW_DATA    tests/data (chart Jobs, reviews)
#   HW_TMP     a scratch directory removed at the end
# A part reports each check with ok/fail and never exits early on a
# failed check; run.sh counts them.

HW_PASS=${HW_PASS:-0}
HW_FAIL=${HW_FAIL:-0}

ok()   { HW_PASS=$((HW_PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { HW_FAIL=$((HW_FAIL + 1)); printf 'FAIL %s\n' "$*"; }
check() { # check "description" command...
  local d=$1; shift
  if "$@" >"$HW_TMP/check.out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/     | /' "$HW_TMP/check.out" | head -20; fi
}

# A free loopback port.
hw_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# hw_start NAME [serve flags...]: starts the server on a free port, waits
# for /healthz, sets HW_PORT, HW_URL (…/mutate), HW_PID, HW_LOG.
hw_start() {
  local name=$1; shift
  HW_PORT=$(hw_free_port)
  HW_LOG="$HW_TMP/server-$name.log"
  "$HW_BIN" serve --tls-cert-file "$HW_CERTS/tls.crt" --tls-private-key-file "$HW_CERTS/tls.key" \
    --bind-address 127.0.0.1 --port "$HW_PORT" --shutdown-grace-period 0 "$@" 2>"$HW_LOG" &
  HW_PID=$!
  HW_URL="https://127.0.0.1:$HW_PORT/mutate"
  for _ in $(seq 100); do
    if curl -sf --cacert "$HW_CERTS/ca.crt" "https://127.0.0.1:$HW_PORT/healthz" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$HW_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "server $name did not start:"; cat "$HW_LOG"
  return 1
}

# hw_stop: SIGTERM with a zero grace period and waits; returns the exit code.
hw_stop() {
  [ -n "${HW_PID:-}" ] || return 0
  kill -TERM "$HW_PID" 2>/dev/null
  local rc=0
  wait "$HW_PID" || rc=$?
  HW_PID=
  return $rc
}

# hw_curl PATH [curl args...]: HTTPS to the running server, trusting the CA.
hw_curl() {
  local path=$1; shift
  curl -s --cacert "$HW_CERTS/ca.crt" "$@" "https://127.0.0.1:$HW_PORT$path"
}

# hw_sim [admission-sim review args...]: calls the webhook like kube-apiserver
# (the object is defaulted before the call and validated after it).
hw_sim() {
  "$HW_SIM" review --url "$HW_URL" --ca "$HW_CERTS/ca.crt" "$@"
}

# hw_label FILE: the Job in FILE with the opt-in label added, on stdout.
hw_label() {
  python3 - "$1" "${2:-hookwarden.io/migration}" "${3:-true}" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
meta = job.setdefault("metadata", {})
labels = meta.get("labels") or {}
labels[sys.argv[2]] = sys.argv[3]
meta["labels"] = labels
json.dump(job, sys.stdout)
PY
}

# hw_default FILE [-n NS]: FILE as kube-apiserver holds it after decoding and
# defaulting (what the webhook receives), on stdout.
hw_default() {
  local f=$1; shift
  "$HW_SIM" default -f "$f" "$@"
}
