#!/usr/bin/env bash
# Soak: REQUESTS admission requests (80 % valid, 20 % invalid) against the
# real binary on 127.0.0.1, over keep-alive connections (100 requests each)
# and fresh ones (every 10th connection carries one request, a full TLS
# handshake), from tests/soak/soakload.c. Passes when no request failed (a
# valid one not answered 200 with its uid, or an invalid one not answered
# with its status) and RSS is flat: end minus start (after a warm-up) within
# SOAK_RSS_TOLERANCE_KB, default 4 MiB.
#   usage: tests/soak/soak.sh [REQUESTS=1000000] [BINARY=build/hookwarden]
#   env:   SOAK_THREADS=8 SOAK_KEEPALIVE=100 SOAK_FRESH_EVERY=10 SOAK_RSS_TOLERANCE_KB=4096
# The server runs with --log-level warn: a million info lines would fill
# the disk; any warn/error line it writes is shown and fails the run.
# The report is printed and kept in build/soak/report-REQUESTS.txt.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REQUESTS=${1:-1000000}
BIN=$(realpath "${2:-$ROOT/build/hookwarden}")
LOAD="$ROOT/build/soak/soakload"
THREADS=${SOAK_THREADS:-8}
KEEPALIVE=${SOAK_KEEPALIVE:-100}
FRESH_EVERY=${SOAK_FRESH_EVERY:-10}
TOL=${SOAK_RSS_TOLERANCE_KB:-4096}
TMP=$(mktemp -d /tmp/hw-soak.XXXXXX)
REPORT="$ROOT/build/soak/report-$REQUESTS.txt"
PID=
SAMPLER=
cleanup() {
  [ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null
  [ -z "$PID" ] || kill -KILL "$PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "soak: $*" >&2; exit 1; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }

[ -x "$LOAD" ] || die "$LOAD is missing (make soak builds it)"
"$BIN" gen-certs --dir "$TMP/certs" --service hookwarden --namespace hookwarden --loopback >/dev/null || die "gen-certs failed"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$BIN" serve --tls-cert-file "$TMP/certs/tls.crt" --tls-private-key-file "$TMP/certs/tls.key" \
  --bind-address 127.0.0.1 --port "$PORT" --shutdown-grace-period 0 --log-level warn 2>"$TMP/server.log" &
PID=$!
for _ in $(seq 100); do
  curl -sf --cacert "$TMP/certs/ca.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
kill -0 "$PID" 2>/dev/null || die "server did not start: $(cat "$TMP/server.log")"

# Warm-up: TLS, allocator arenas and MHD pools reach their working size.
"$LOAD" "$PORT" "$TMP/certs/ca.crt" 20000 "$THREADS" "$KEEPALIVE" "$FRESH_EVERY" >"$TMP/warm.txt" ||
  die "warm-up failed: $(cat "$TMP/warm.txt")"
RSS0=$(rss)
( t=0; while kill -0 "$PID" 2>/dev/null; do echo "$t $(rss)"; sleep 2; t=$((t + 2)); done ) >"$TMP/rss.tsv" 2>/dev/null &
SAMPLER=$!
LIMIT=$((REQUESTS / 1000 + 120))
timeout "$LIMIT" "$LOAD" "$PORT" "$TMP/certs/ca.crt" "$REQUESTS" "$THREADS" "$KEEPALIVE" "$FRESH_EVERY" >"$TMP/load.txt"
LOAD_RC=$?
RSS1=$(rss)
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; SAMPLER=
kill -TERM "$PID"
SRV_RC=0
wait "$PID" || SRV_RC=$?
PID=

read -r MIN MAX < <(awk '{ if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 } END { print min, max }' "$TMP/rss.tsv")
mkdir -p "$(dirname "$REPORT")"
{
  echo "soak: $REQUESTS requests, $THREADS connections at a time, $KEEPALIVE per keep-alive connection, every ${FRESH_EVERY}th connection fresh (one request)"
  cat "$TMP/load.txt"
  echo "server RSS: start ${RSS0} kB (after a 20000-request warm-up), end ${RSS1} kB, delta $((RSS1 - RSS0)) kB; during the run min ${MIN:-?} kB, max ${MAX:-?} kB (samples every 2 s: $(wc -l <"$TMP/rss.tsv"))"
  echo "server: exit code $SRV_RC on SIGTERM; warn/error log lines: $(grep -c . "$TMP/server.log")"
} | tee "$REPORT"
rc=0
[ "$LOAD_RC" -eq 0 ] || { echo "soak: FAILED: requests failed or the run did not finish in ${LIMIT} s (soakload exit $LOAD_RC)"; rc=1; }
[ $((RSS1 - RSS0)) -le "$TOL" ] || { echo "soak: FAILED: RSS grew by $((RSS1 - RSS0)) kB (tolerance $TOL kB)"; rc=1; }
[ "$SRV_RC" -eq 0 ] || { echo "soak: FAILED: server exit code $SRV_RC"; rc=1; }
if [ -s "$TMP/server.log" ]; then
  echo "soak: FAILED: the server logged warnings or errors:"; head -5 "$TMP/server.log"; rc=1
fi
[ "$rc" -ne 0 ] || echo "soak: passed"
exit "$rc"
