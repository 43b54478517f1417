#!/usr/bin/env bash
# run.sh - benchmark ONE webhook server under the standard hookwarden load.
#
# usage: run.sh [-n NAME] [-s https|http] [-u /path] PORT -- SERVER_CMD [ARG...]
#
# Starts SERVER_CMD (cwd = this directory, tests/bench; it must listen on
# 127.0.0.1:PORT and stay in the foreground), waits until a POST of $BODY
# answers 200, then:
#   1. closed loop : wrk -t$THREADS -c$CONNS -d${DURATION}s, keep-alive, POST $BODY
#                    (after a ${WARMUP}s warm-up run)          -> req/s, p50, p99
#   2. fixed rate  : h2load --h1 -c$RATE_CLIENTS, $RATE req/s in total for
#                    ${RATE_DURATION}s, keep-alive, POST $BODY  -> p50, p99
#   3. server      : idle RSS (sum of VmRSS over the process tree once it has
#                    answered its first request, before the load), peak RSS
#                    (sum of VmHWM), CPU used during run 1 (% of one core, and
#                    CPU-us per request), the busiest threads' CPU% (to spot
#                    thread-pool imbalance)
# then stops the server (SIGTERM to its PID, SIGKILL after 5 s).
#
# Prints a human line plus a "RESULT k=v ..." line, appends a row to $RESULTS.
# Only 127.0.0.1 is ever targeted; every load phase is bounded in time.
#
# env (defaults): DURATION=10 WARMUP=3 THREADS=2 CONNS=32 RATE=500
#   RATE_CLIENTS=4 RATE_DURATION=10 BODY=tests/data/bench/review-4k.json
#   SERVER_CPUS= CLIENT_CPUS= (taskset lists, e.g. 0 and 1; empty = unpinned)
#   RESULTS=$BENCH_DIR/results.tsv  TAG= (free text stored in the TSV row)
#   BENCH_DIR=/tmp/hwbench: where certificates, results and scratch files go
#   (the source tree may be read-only)
# TLS: the clients offer TLS 1.3 only, suites in Go crypto/tls order
# (client-openssl.cnf / --tls13-ciphers), like kube-apiserver.
# tests/bench/bench.sh (`make bench`) drives it; it came with the team's
# benchmark kit written before hookwarden (see tests/bench/README.md).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
NAME="" SCHEME=https URLPATH=/mutate
while getopts "n:s:u:h" o; do
  case $o in
    n) NAME=$OPTARG ;; s) SCHEME=$OPTARG ;; u) URLPATH=$OPTARG ;;
    *) sed -n '2,30p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] && [ "$2" = -- ] || { sed -n '2,30p' "$0"; exit 2; }
PORT=$1; shift 2
NAME=${NAME:-$(basename "$1")}
DURATION=${DURATION:-10} WARMUP=${WARMUP:-3} THREADS=${THREADS:-2} CONNS=${CONNS:-32}
RATE=${RATE:-500} RATE_CLIENTS=${RATE_CLIENTS:-4} RATE_DURATION=${RATE_DURATION:-10}
BODY=$(cd "$HERE" && realpath "${BODY:-../data/bench/review-4k.json}")
SERVER_CPUS=${SERVER_CPUS:-} CLIENT_CPUS=${CLIENT_CPUS:-}
BENCH_DIR=${BENCH_DIR:-/tmp/hwbench}
RESULTS=${RESULTS:-$BENCH_DIR/results.tsv} TAG=${TAG:-}
URL="$SCHEME://127.0.0.1:$PORT$URLPATH"
TLS13="TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
HZ=$(getconf CLK_TCK)
mkdir -p /tmp/hwbench "$(dirname "$RESULTS")"
TMP=$(mktemp -d /tmp/hwbench/run.XXXXXX)
"$HERE/gen-cert.sh" "$BENCH_DIR/certs"

CL=()
[ -n "$CLIENT_CPUS" ] && CL=(taskset -c "$CLIENT_CPUS")
SV=()
[ -n "$SERVER_CPUS" ] && SV=(taskset -c "$SERVER_CPUS")

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "run.sh: port $PORT already in use" >&2; exit 1
fi

# --- process-tree helpers (server PID + descendants, e.g. nginx workers) ---
tree() { local p=$1 c; echo "$p"; for c in $(pgrep -P "$p"); do tree "$c"; done; }
# per-thread "tid ticks" lines for the whole tree
thread_ticks() {
  local p t s
  for p in $(tree "$SPID"); do
    for t in /proc/"$p"/task/*; do
      s=$(cat "$t/stat" 2>/dev/null) || continue
      s=${s##*) }; set -- $s
      echo "${t##*/} $(( ${12} + ${13} ))"
    done
  done
}
# process-level CPU ticks (include threads that already exited, e.g. thread-per-connection)
proc_ticks() {
  local p s sum=0
  for p in $(tree "$SPID"); do
    s=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    s=${s##*) }; set -- $s
    sum=$(( sum + ${12} + ${13} ))
  done
  echo $sum
}
# rss_kib VmHWM|VmRSS: summed over the process tree
rss_kib() {
  local p sum=0 v
  for p in $(tree "$SPID"); do
    v=$(awk -v k="$1:" '$1 == k {print $2}' /proc/"$p"/status 2>/dev/null); sum=$((sum + ${v:-0}))
  done
  echo $sum
}
peak_rss_kib() { rss_kib VmHWM; }
stop_server() {
  [ -n "${SPID:-}" ] || return 0
  local pids; pids=$(tree "$SPID")
  kill -TERM "$SPID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SPID" 2>/dev/null && kill -KILL "$SPID" 2>/dev/null
  wait "$SPID" 2>/dev/null
  for p in $pids; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  SPID=""
}
trap 'stop_server; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# --- start the server and wait for a 200 ---
( cd "$HERE" && exec "${SV[@]}" "$@" ) >"$TMP/server.log" 2>&1 &
SPID=$!
code=000
for _ in $(seq 100); do
  kill -0 "$SPID" 2>/dev/null || { echo "run.sh: server exited:"; cat "$TMP/server.log"; exit 1; } >&2
  code=$(curl -sk -m 2 -o "$TMP/probe" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
         --data-binary @"$BODY" "$URL" 2>/dev/null)
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || { echo "run.sh: $URL never answered 200 (last: $code)" >&2; cat "$TMP/server.log" >&2; exit 1; }
RESP_BYTES=$(stat -c %s "$TMP/probe")
# Idle: started, one request answered, nothing else going on.
sleep 0.5
IDLE_RSS=$(rss_kib VmRSS)

WRK=(env OPENSSL_CONF="$HERE/client-openssl.cnf" BODY="$BODY" "${CL[@]}"
     wrk --timeout 5s -t"$THREADS" -c"$CONNS" -s "$HERE/post.lua")

# --- 1. closed loop ---
"${WRK[@]}" -d"$WARMUP"s "$URL" >/dev/null 2>&1
thread_ticks >"$TMP/t0"; c0=$(proc_ticks); t0=$(date +%s.%N)
/usr/bin/time -f 'CLIENTCPU %U %S' -o "$TMP/wrk.time" "${WRK[@]}" -d"$DURATION"s "$URL" >"$TMP/wrk.out" 2>&1
t1=$(date +%s.%N); c1=$(proc_ticks); thread_ticks >"$TMP/t1"
kill -0 "$SPID" 2>/dev/null || { echo "run.sh: server died during load" >&2; cat "$TMP/server.log" >&2; exit 1; }
W=$(grep '^WRKRESULT' "$TMP/wrk.out") || { echo "run.sh: wrk failed:" >&2; cat "$TMP/wrk.out" >&2; exit 1; }
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $W"; }
RPS=$(kv rps) P50=$(kv p50_us) P99=$(kv p99_us) REQS=$(kv requests)
ERRS=$(( $(kv err_connect) + $(kv err_read) + $(kv err_write) + $(kv err_status) + $(kv err_timeout) ))
read -r _ cu cs <"$TMP/wrk.time"
# server CPU during the measured window, total and per thread
SRV=$(awk -v hz="$HZ" -v wall="$(echo "$t1 - $t0" | bc)" -v reqs="$REQS" -v ccpu="$(echo "$cu + $cs" | bc)" \
          -v tot="$((c1 - c0))" '
  NR==FNR { a[$1]=$2; next }
  { d = $2 - a[$1]; if (d > 0) th[n++] = d }
  END {
    # busiest threads first
    for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (th[j] > th[i]) { x = th[i]; th[i] = th[j]; th[j] = x }
    s = "-"
    for (i = 0; i < n && i < 4; i++) {
      v = sprintf("%.0f", 100 * th[i] / hz / wall)
      if (i == 0) s = v; else s = s "," v
    }
    us = 0; if (reqs > 0) us = 1e6 * tot / hz / reqs
    printf "%.0f %.1f %s %.0f", 100 * tot / hz / wall, us, s, 100 * ccpu / wall
  }' "$TMP/t0" "$TMP/t1")
read -r CPU_PCT CPU_US THREADS_PCT CLIENT_PCT <<<"$SRV"

# --- 2. fixed rate ---
PER_CLIENT=$(( (RATE + RATE_CLIENTS - 1) / RATE_CLIENTS ))
"${CL[@]}" h2load --h1 -t1 -c"$RATE_CLIENTS" --rps="$PER_CLIENT" -D "$RATE_DURATION" --warm-up-time=1 \
  --tls13-ciphers="$TLS13" -d "$BODY" -H 'content-type: application/json' \
  --log-file="$TMP/h2.log" "$URL" >"$TMP/h2.out" 2>&1
RBAD=$(awk '$2 != 200 { b++ } END { print b + 0 }' "$TMP/h2.log")
read -r RN RP50 RP99 <<<"$(awk '{ print $3 }' "$TMP/h2.log" | sort -n | awk '{ v[NR] = $1 }
  END { if (NR == 0) { print 0, 0, 0; exit }
        i50 = int(0.50 * NR + 0.999999); i99 = int(0.99 * NR + 0.999999); print NR, v[i50], v[i99] }')"
[ "$RN" -gt 0 ] || { echo "run.sh: h2load produced no requests:" >&2; cat "$TMP/h2.out" >&2; }
RATE_RPS=$(awk -v n="$RN" -v d="$RATE_DURATION" 'BEGIN { printf "%.0f", n / d }')

# --- 3. memory, stop ---
RSS=$(peak_rss_kib)
stop_server

ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
printf '%-24s %9.0f req/s  p50 %6s ms  p99 %6s ms | @%4s/s p50 %6s ms p99 %6s ms | RSS idle %5.1f peak %5.1f MiB | srv CPU %3s%% (%s us/req; threads %s) wrk CPU %s%% | err %s/%s resp %sB\n' \
  "$NAME" "$RPS" "$(ms "$P50")" "$(ms "$P99")" "$RATE_RPS" "$(ms "$RP50")" "$(ms "$RP99")" \
  "$(awk -v k="$IDLE_RSS" 'BEGIN{print k/1024}')" "$(awk -v k="$RSS" 'BEGIN{print k/1024}')" \
  "$CPU_PCT" "$CPU_US" "$THREADS_PCT" "$CLIENT_PCT" "$ERRS" "$RBAD" "$RESP_BYTES"
echo "RESULT name=$NAME rps=$RPS p50_us=$P50 p99_us=$P99 rate_rps=$RATE_RPS rate_p50_us=$RP50 rate_p99_us=$RP99 peak_rss_kib=$RSS idle_rss_kib=$IDLE_RSS srv_cpu_pct=$CPU_PCT srv_cpu_us_per_req=$CPU_US threads_cpu_pct=$THREADS_PCT client_cpu_pct=$CLIENT_PCT errors=$ERRS rate_errors=$RBAD resp_bytes=$RESP_BYTES"
[ -s "$RESULTS" ] || printf 'time\tname\ttag\trps\tp50_us\tp99_us\trate_rps\trate_p50_us\trate_p99_us\tpeak_rss_kib\tsrv_cpu_pct\tsrv_cpu_us_per_req\tthreads_cpu_pct\tclient_cpu_pct\terrors\trate_errors\tresp_bytes\tthreads\tconns\tduration\tbody\tserver_cpus\tclient_cpus\tcmd\tidle_rss_kib\n' >"$RESULTS"
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
  "$(date -Is)" "$NAME" "$TAG" "$RPS" "$P50" "$P99" "$RATE_RPS" "$RP50" "$RP99" "$RSS" "$CPU_PCT" "$CPU_US" \
  "$THREADS_PCT" "$CLIENT_PCT" "$ERRS" "$RBAD" "$RESP_BYTES" "$THREADS" "$CONNS" "$DURATION" "$(basename "$BODY")" \
  "${SERVER_CPUS:--}" "${CLIENT_CPUS:--}" "$*" "$IDLE_RSS" >>"$RESULTS"
