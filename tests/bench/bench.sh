#!/usr/bin/env bash
# tests/bench/bench.sh - `make bench` and `make bench-scaling` (issues #7, #14).
#
# usage: tests/bench/bench.sh [main|scaling|all]       (default: main)
#
# main     hookwarden, libmicrohttpd alone (mhd-fixed), nginx (the TLS limit of this
#          machine) and the Go peer, all on
#          127.0.0.1, each driven with the same load by tests/bench/run.sh:
#          closed loop (wrk) at 4 and 32 connections and a fixed rate (h2load,
#          $RATE req/s), with the 4 KB and 8 KB CREATE reviews and a 4 KB UPDATE
#          review (object + oldObject), in $ROUNDS interleaved rounds (medians).
#          One markdown table: req/s, p50, p99, fixed-rate p50/p99, server
#          CPU-us per request, idle and peak RSS, and hookwarden's ratios to
#          mhd-fixed (CPU/req: the price of the work above the transport;
#          fixed-rate p99 difference; idle RSS), to the Go peer (req/s) and to
#          nginx; then issue #14's targets, met or missed, for each scenario.
#          hookwarden runs with its default flags: the request log at info.
# scaling  hookwarden only (issue #7 part 4): req/s and CPU/req as the body grows
#          (4 KB, 64 KB, 256 KB, 1 MiB, 32 conns), peak RSS as connections grow
#          (32, 256, 1000, 2000, 4 KB body).
# all      both, one after the other.
#
# Servers (main): hookwarden     labelled Jobs (hookwarden.io/migration: "true"):
#                                the real work, policy + patch, default flags (the
#                                request log at info); the row that counts
#                 hookwarden-warn  the same with --log-level warn (no request log;
#                                not in the default list)
#                 hookwarden-nolabel  the bench bodies as they are: allowed unchanged
#                 mhd-fixed      peers/mhd-fixed: libmicrohttpd + GnuTLS reading the body
#                                and sending a fixed answer, 2 single-thread epoll
#                                daemons on SO_REUSEPORT (the transport alone)
#                 nginx-tls-2w   nginx-serve.sh 2 workers, TLS, body read
#                 go-json        peers/go-webhook (its fixed JSON work)
# The peers get the labelled bodies too, so every server reads the same bytes.
# Bodies: tests/data/bench/ (review-4k.json, review-8k.json, response-600.json).
#
# env (defaults):
#   DURATION=5 WARMUP=2 RATE=500 RATE_DURATION=5 THREADS=2 RATE_CLIENTS=4 ROUNDS=3
#   SERVERS="hookwarden hookwarden-nolabel mhd-fixed nginx-tls-2w go-json"  (main mode)
#   SCENARIOS=.            grep -E filter on scenario names (main mode), e.g. 'c32$'
#   SCALE_SERVER=hookwarden   (or go-json / nginx-tls-2w, to try the scaling mode)
#   SCALE_SIZES="4096 65536 262144 1048576"  SCALE_CONNS="32 256 1000 2000"  SCALE_ROUNDS=1
#   SCALE_BODY_CONNS=32  SCALE_RATE=50 (fixed-rate phase of the scaling runs; runs with
#   1000+ conns measure for at least 10 s)
#   HOOKWARDEN_BIN=<repo>/build/hookwarden  MHD_FIXED_BIN=<repo>/build/bench/mhd-fixed
#   (both built by `make bench`)
#   BENCH_DIR=a new /tmp/hookwarden-bench.XXXXXX: certificates, bodies, logs, results
#   PORT_BASE=18400  SERVER_CPUS= CLIENT_CPUS= (taskset lists for run.sh; empty = unpinned)
#
# Output: the table(s) on stdout and in $BENCH_DIR/bench-table.md; progress and
# run.sh's raw RESULT lines on stderr and in $BENCH_DIR/results-raw.txt; run.sh's
# TSV rows in $BENCH_DIR/results-MODE.tsv; one log per run in $BENCH_DIR/logs/.
# A server that fails (does not start, dies, never answers 200) is reported as
# "failed" in its row and the run goes on. Loopback only; every phase is bounded.
# Missing tools are installed from Debian with apt-get when run as root.
set -u
MODE=${1:-main}
case $MODE in
  main | scaling | all) ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2 ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DATA=$TOP/tests/data/bench
HW_BIN=${HOOKWARDEN_BIN:-$TOP/build/hookwarden}
MHD_BIN=${MHD_FIXED_BIN:-$TOP/build/bench/mhd-fixed}
PATH=$PATH:/usr/sbin:/sbin

export DURATION=${DURATION:-5} WARMUP=${WARMUP:-2} RATE=${RATE:-500}
export RATE_DURATION=${RATE_DURATION:-5} THREADS=${THREADS:-2} RATE_CLIENTS=${RATE_CLIENTS:-4}
export SERVER_CPUS=${SERVER_CPUS:-} CLIENT_CPUS=${CLIENT_CPUS:-}
ROUNDS=${ROUNDS:-3} SCALE_ROUNDS=${SCALE_ROUNDS:-1}
SERVERS=${SERVERS:-hookwarden hookwarden-nolabel mhd-fixed nginx-tls-2w go-json}
SCENARIOS=${SCENARIOS:-.}
SCALE_SERVER=${SCALE_SERVER:-hookwarden}
SCALE_SIZES=${SCALE_SIZES:-4096 65536 262144 1048576}
SCALE_CONNS=${SCALE_CONNS:-32 256 1000 2000}
SCALE_BODY_CONNS=${SCALE_BODY_CONNS:-32}
SCALE_RATE=${SCALE_RATE:-50}
PORT_BASE=${PORT_BASE:-18400}
if [ -z "${BENCH_DIR:-}" ]; then
  BENCH_DIR=$(mktemp -d /tmp/hookwarden-bench.XXXXXX) || exit 1
fi
export BENCH_DIR
mkdir -p "$BENCH_DIR/logs" "$BENCH_DIR/bodies" || exit 1
RAW=$BENCH_DIR/results-raw.txt FAIL=$BENCH_DIR/failures.tsv
CERT=$BENCH_DIR/certs/server.crt KEY=$BENCH_DIR/certs/server.key

log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- tools
# tool -> Debian package. nginx and go are needed only by their servers.
need_tools() {
  local t pkgs=() missing=()
  local -A pkg=([wrk]=wrk [h2load]=nghttp2-client [curl]=curl [bc]=bc [python3]=python3
                [openssl]=openssl [pgrep]=procps [/usr/bin/time]=time [nginx]=nginx [go]=golang-go)
  local tools=(wrk h2load curl bc python3 openssl pgrep /usr/bin/time)
  want nginx-tls-2w && tools+=(nginx)
  want go-json && tools+=(go)
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null 2>&1 || { missing+=("$t"); pkgs+=("${pkg[$t]}"); }
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${pkgs[*]} (missing: ${missing[*]})"
    local had_nginx_pid=""
    [ -s /run/nginx.pid ] && had_nginx_pid=$(cat /run/nginx.pid)
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${pkgs[@]}"; } >"$BENCH_DIR/logs/apt.log" 2>&1 ||
      log "apt-get failed, see $BENCH_DIR/logs/apt.log"
    # Debian's postinst may start the nginx service (port 80) where no policy-rc.d stops it.
    if [ -s /run/nginx.pid ] && [ "$(cat /run/nginx.pid)" != "$had_nginx_pid" ]; then
      kill -QUIT "$(cat /run/nginx.pid)" 2>/dev/null
    fi
  fi
  for t in wrk h2load curl bc python3 openssl pgrep /usr/bin/time; do
    command -v "$t" >/dev/null 2>&1 || { log "$t is missing (Debian package ${pkg[$t]}); run as root to install it"; exit 1; }
  done
}
want() {
  { [ "$MODE" != scaling ] && [[ " $SERVERS " == *" $1 "* ]]; } ||
    { [ "$MODE" != main ] && [ "$SCALE_SERVER" = "$1" ]; }
}

# ---------------------------------------------------------------- servers
# server_cmd NAME PORT CONNS -> CMD array, or SKIP=reason when it cannot run
server_cmd() {
  SKIP="" CMD=()
  case $1 in
    hookwarden | hookwarden-nolabel | hookwarden-warn)
      [ -x "$HW_BIN" ] || { SKIP="$HW_BIN not built (make all)"; return; }
      CMD=("$HW_BIN" serve --tls-cert-file "$CERT" --tls-private-key-file "$KEY"
           --bind-address 127.0.0.1 --port "$2")
      [ "$1" = hookwarden-warn ] && CMD+=(--log-level warn)
      # Optional flags, used only when this build has them (see hw_flags).
      [ -n "$HW_GRACE" ] && CMD+=(--shutdown-grace-period 0)
      [ -n "$HW_CONNLIMIT" ] && [ $(($3 + 64)) -gt "$HW_CONNLIMIT" ] &&
        CMD+=(--connection-limit $(($3 + 64))) ;;
    mhd-fixed)
      [ -x "$MHD_BIN" ] || { SKIP="$MHD_BIN not built (make bench builds it)"; return; }
      CMD=("$MHD_BIN" -p "$2" -m reuseport -n 2 -H fixed -r "$DATA/response-600.json"
           -c "$CERT" -k "$KEY") ;;
    nginx-tls-2w)
      command -v nginx >/dev/null 2>&1 || { SKIP="nginx not installed"; return; }
      CMD=("$HERE/nginx-serve.sh" 2 "$2" tls read) ;;
    go-json)
      [ -x "$BENCH_DIR/go-webhook" ] || { SKIP="Go peer not built (see logs/go-build.log)"; return; }
      CMD=("$BENCH_DIR/go-webhook" -addr "127.0.0.1:$2" -cert "$CERT" -key "$KEY") ;;
    *) SKIP="unknown server" ;;
  esac
}

# hookwarden's optional serve flags, from its --help:
#   --shutdown-grace-period 0: run.sh stops servers with SIGTERM and a SIGKILL 5 s later;
#     the default grace period (readyz failing while still serving) would cost every
#     run those 5 s and end in SIGKILL;
#   --connection-limit: raised above its default for the runs with more connections.
hw_flags() {
  local help
  HW_GRACE="" HW_CONNLIMIT=""
  [ -x "$HW_BIN" ] || return 0
  help=$("$HW_BIN" --help 2>&1)
  grep -q -- '--shutdown-grace-period' <<<"$help" && HW_GRACE=1
  grep -q -- '--connection-limit' <<<"$help" &&
    HW_CONNLIMIT=$(sed -n 's/.*--connection-limit.*(default \([0-9]*\)).*/\1/p' <<<"$help" | head -n1)
  [ -n "$HW_CONNLIMIT" ] || HW_CONNLIMIT=""
}

# The Go peer, with Debian's Go: GOPATH mode, offline (it imports the standard library
# only), caches in $BENCH_DIR because the source tree may be read-only.
build_go_peer() {
  want go-json || return 0
  command -v go >/dev/null 2>&1 || return 0
  (cd "$HERE/peers/go-webhook" && GO111MODULE=off GOFLAGS='' GOPROXY=off GOPATH="$BENCH_DIR/gopath" \
     GOCACHE="$BENCH_DIR/gocache" go build -o "$BENCH_DIR/go-webhook" .) >"$BENCH_DIR/logs/go-build.log" 2>&1 ||
    log "Go peer build failed, see $BENCH_DIR/logs/go-build.log"
}

# ---------------------------------------------------------------- one run
# run_one MODE SCENARIO SERVER PORT BODY CONNS [RATE]: run.sh once; a failure becomes a row in $FAIL
CUR_PID=""
trap '[ -n "$CUR_PID" ] && kill -TERM "$CUR_PID" 2>/dev/null; exit 130' INT TERM
RUN_NO=0
run_one() {
  local mode=$1 scen=$2 name=$3 port=$4 body=$5 conns=$6 rate=${7:-$RATE} round=${ROUND:-1}
  local id="$scen-$name-r$round" rc reason
  RUN_NO=$((RUN_NO + 1))
  log "[$RUN_NO/$RUNS] $scen $name (round $round, $(stat -c %s "$body") B, $conns conns)"
  server_cmd "$name" "$port" "$conns"
  if [ -n "$SKIP" ]; then
    printf '%s\t%s\t%s\n' "$scen" "$name" "$SKIP" >>"$FAIL"; log "  skipped: $SKIP"; return
  fi
  if [ "$(ulimit -n)" -lt $((conns + 64)) ]; then
    reason="ulimit -n $(ulimit -n) too low for $conns conns"
    printf '%s\t%s\t%s\n' "$scen" "$name" "$reason" >>"$FAIL"; log "  skipped: $reason"; return
  fi
  local dur=${RUN_DURATION:-$DURATION} try
  for try in 1 2; do
    # run.sh is bounded itself; timeout only guards against a hang (it signals run.sh's
    # whole process group, so run.sh's EXIT trap still stops the server).
    BODY=$body CONNS=$conns RATE=$rate DURATION=$dur RESULTS="$BENCH_DIR/results-$mode.tsv" \
      TAG="$scen r$round" timeout -k 10 $((WARMUP + dur + RATE_DURATION + 60)) \
      "$HERE/run.sh" -n "$name" "$port" -- "${CMD[@]}" >"$BENCH_DIR/logs/$id.out" 2>"$BENCH_DIR/logs/$id.err" &
    CUR_PID=$!
    wait "$CUR_PID"; rc=$?
    CUR_PID=""
    # A TERM/INT that did not come from us (someone's pkill on a shared machine): once more.
    case $rc in 130 | 143) [ $try = 1 ] && log "  run.sh was killed from outside (exit $rc); again" ;; *) break ;; esac
  done
  grep -v '^RESULT' "$BENCH_DIR/logs/$id.out" | sed 's/^/  /' >&2
  if [ $rc -eq 0 ] && grep -q '^RESULT' "$BENCH_DIR/logs/$id.out"; then
    grep '^RESULT' "$BENCH_DIR/logs/$id.out" | sed "s/^RESULT /RESULT scenario=$scen round=$round /" | tee -a "$RAW" >&2
  else
    # run.sh's first complaint, and when it ends in ":" the first line it quotes (server log, wrk)
    reason=$(awk '/^run\.sh: / && !r { r = substr($0, 9); if (r !~ /:$/) exit; next }
                  r && NF { r = r " " $0; exit } END { print r }' "$BENCH_DIR/logs/$id.err")
    case $rc in
      124 | 137) reason="timed out${reason:+: $reason}" ;;
      130 | 143) reason="killed by a signal from outside the bench (exit $rc)" ;;
    esac
    reason=${reason:-exit $rc}
    printf '%s\t%s\t%s\n' "$scen" "$name" "${reason:0:100}" >>"$FAIL"
    log "  FAILED ($reason); see $BENCH_DIR/logs/$id.err"
  fi
}

# ---------------------------------------------------------------- bodies
variant() { python3 "$HERE/bodies.py" variant "$@" || exit 1; }
B=$BENCH_DIR/bodies

# ---------------------------------------------------------------- plans
# main: "scenario|conns|labelled body|unlabelled body"
main_plan() {
  variant "$DATA/review-4k.json" "$B/create-4k.json" --label
  variant "$DATA/review-8k.json" "$B/create-8k.json" --label
  variant "$DATA/review-4k.json" "$B/update-4k.json" --label --update
  variant "$DATA/review-4k.json" "$B/update-4k-nolabel.json" --update
  local c k
  PLAN=()
  for c in 4 32; do
    for k in create-4k create-8k update-4k; do
      case $k in
        create-4k) PLAN+=("$k-c$c|$c|$B/create-4k.json|$DATA/review-4k.json") ;;
        create-8k) PLAN+=("$k-c$c|$c|$B/create-8k.json|$DATA/review-8k.json") ;;
        update-4k) PLAN+=("$k-c$c|$c|$B/update-4k.json|$B/update-4k-nolabel.json") ;;
      esac
    done
  done
  local sel=() p
  for p in "${PLAN[@]}"; do grep -qE -- "$SCENARIOS" <<<"${p%%|*}" && sel+=("$p"); done
  PLAN=("${sel[@]}")
}

# scaling: "scenario|conns|body"; bodies from make-review.py, labelled, at most SIZE bytes
scaling_plan() {
  local s c base
  PLAN=()
  for s in $SCALE_SIZES; do
    python3 "$HERE/bodies.py" size "$HERE/make-review.py" $((s - 64)) "$B/size-$s-nolabel.json" || exit 1
    variant "$B/size-$s-nolabel.json" "$B/size-$s.json" --label
    PLAN+=("body-$s-c$SCALE_BODY_CONNS|$SCALE_BODY_CONNS|$B/size-$s.json")
  done
  base=$(set -- $SCALE_SIZES; echo "$1")
  for c in $SCALE_CONNS; do
    # the smallest body at SCALE_BODY_CONNS was measured above
    [ "$c" = "$SCALE_BODY_CONNS" ] && continue
    PLAN+=("body-$base-c$c|$c|$B/size-$base.json")
  done
}

raise_nofile() {
  local maxc=$1 want hard
  want=$((maxc + 1024)); hard=$(ulimit -Hn)
  [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ] && want=$hard
  [ "$(ulimit -n)" -lt "$want" ] && ulimit -n "$want" 2>/dev/null
  log "ulimit -n $(ulimit -n) (largest run: $maxc conns)"
}

# ---------------------------------------------------------------- the run
need_tools
"$HERE/gen-cert.sh" "$BENCH_DIR/certs" || exit 1
build_go_peer
# Run a copy of the binary: the same one for every run, even if the tree is rebuilt meanwhile.
if [ -x "$HW_BIN" ]; then
  log "hookwarden: $HW_BIN ($(stat -c %y "$HW_BIN" | cut -d. -f1)), run as $BENCH_DIR/hookwarden"
  cp "$HW_BIN" "$BENCH_DIR/hookwarden" && HW_BIN=$BENCH_DIR/hookwarden
fi
hw_flags
: >"$RAW"; : >"$FAIL"
TABLE=$BENCH_DIR/bench-table.md; : >"$TABLE"
PER_RUN=$((WARMUP + DURATION + RATE_DURATION + 3))
T0=$(date +%s)
log "BENCH_DIR=$BENCH_DIR"

if [ "$MODE" = main ] || [ "$MODE" = all ]; then
  main_plan
  read -ra SRV <<<"$SERVERS"
  RUNS=$(( ${#PLAN[@]} * ${#SRV[@]} * ROUNDS ))
  raise_nofile 64
  log "main: ${#PLAN[@]} scenarios x ${#SRV[@]} servers x $ROUNDS round(s) = $RUNS runs, about $((RUNS * PER_RUN / 60 + 1)) min"
  : >"$BENCH_DIR/results-main.tsv"; : >"$BENCH_DIR/plan-main.tsv"
  RUN_NO=0
  for ROUND in $(seq "$ROUNDS"); do
    for p in "${PLAN[@]}"; do
      IFS='|' read -r scen conns body body_nl <<<"$p"
      i=0
      for s in "${SRV[@]}"; do
        b=$body; [ "$s" = hookwarden-nolabel ] && b=$body_nl
        [ "$ROUND" = 1 ] && printf '%s\t%s\t%s\t%s\n' "$scen" "$s" "$(stat -c %s "$b")" "$conns" >>"$BENCH_DIR/plan-main.tsv"
        run_one main "$scen" "$s" $((PORT_BASE + i)) "$b" "$conns"
        i=$((i + 1))
      done
    done
  done
fi

if [ "$MODE" = scaling ] || [ "$MODE" = all ]; then
  scaling_plan
  RUNS=$(( ${#PLAN[@]} * SCALE_ROUNDS ))
  maxc=0; for c in $SCALE_CONNS $SCALE_BODY_CONNS; do [ "$c" -gt "$maxc" ] && maxc=$c; done
  raise_nofile "$maxc"
  log "scaling: $SCALE_SERVER, $RUNS runs, about $((RUNS * PER_RUN / 60 + 1)) min"
  : >"$BENCH_DIR/results-scaling.tsv"; : >"$BENCH_DIR/plan-scaling.tsv"
  RUN_NO=0
  for ROUND in $(seq "$SCALE_ROUNDS"); do
    for p in "${PLAN[@]}"; do
      IFS='|' read -r scen conns body <<<"$p"
      [ "$ROUND" = 1 ] && printf '%s\t%s\t%s\t%s\n' "$scen" "$SCALE_SERVER" "$(stat -c %s "$body")" "$conns" >>"$BENCH_DIR/plan-scaling.tsv"
      # Opening 1000+ TLS connections at once takes seconds on 2 cores (more on a busy
      # machine): a shorter window can end before the first response, and report 0 req/s.
      RUN_DURATION=$DURATION
      [ "$conns" -ge 1000 ] && [ "$DURATION" -lt 10 ] && RUN_DURATION=10
      run_one scaling "$scen" "$SCALE_SERVER" "$PORT_BASE" "$body" "$conns" "$SCALE_RATE"
      RUN_DURATION=
    done
  done
fi

log "done in $(( $(date +%s) - T0 )) s"
for m in main scaling; do
  [ -s "$BENCH_DIR/plan-$m.tsv" ] || continue
  [ "$MODE" = all ] || [ "$MODE" = "$m" ] || continue
  r=$ROUNDS; [ "$m" = scaling ] && r=$SCALE_ROUNDS
  ROUNDS=$r SCALE_RATE=$SCALE_RATE python3 "$HERE/table.py" "$m" "$BENCH_DIR" >>"$TABLE" || exit 1
  echo >>"$TABLE"
done
cat "$TABLE"
log "table: $TABLE  raw RESULT lines: $RAW  logs: $BENCH_DIR/logs"
