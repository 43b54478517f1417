# shellcheck shell=bash
# Limits that answer early, and memory under crafted bodies (issues #16,
# #17):
# - a client that writes a whole 9 MiB body without waiting (Go's HTTP
#   client, curl -H 'Expect:') reads the early 413 in 20 of 20 tries, and
#   a 431 after a 40 KB header too (the lingering close: before it, the
#   socket was closed with the body unread and the client got a reset);
# - with the Deployment's flags (2 workers, 3.5 MiB reviews), 4 concurrent
#   crafted bodies of each shape (tiny env entries, 400,000 top-level keys,
#   230,000 annotations; each also forced through jansson's full parse) are
#   all answered 200/400/413, the server keeps serving, and peak RSS grows
#   by at most 32 MiB. Memory is measured (VmHWM), never timed.

LM_BODIES="$HW_TMP/limits-bodies"
python3 "$HERE/abuse/bodies.py" "$LM_BODIES"
lm() { python3 "$HERE/abuse/abuse.py" "$HW_PORT" "$HW_CERTS/ca.crt" "$@"; }
lm_jtest() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else "no: " + sys.argv[2] + " in " + sys.argv[1][:600])' "$1" "$2"; }
lm_serving() { local out; out=$(lm warm 5) && lm_jtest "$out" 'd["ok"] == 5'; }
lm_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# ---- early answers reach a client that is still sending ----
if hw_start limits-early; then
  out=$(lm early 20 9437184)
  check "a 9 MiB body sent without waiting: the early 413 read in 20 of 20 tries ($out)" \
    lm_jtest "$out" 'd["statuses"] == {"413": 20} and d["lost"] == 0'
  out=$(lm early 20 9437184 big-header)
  check "a 40 KB header and a 9 MiB body sent without waiting: the 431 read in 20 of 20 tries ($out)" \
    lm_jtest "$out" 'd["statuses"] == {"431": 20} and d["lost"] == 0'
  head -c 9437184 /dev/zero | tr '\0' ' ' >"$HW_TMP/limits-9m.json"
  curl_413s() {
    local n=0 code
    for _ in $(seq 20); do
      code=$(hw_curl /mutate -o /dev/null -w '%{http_code}' -H 'Expect:' -H 'Content-Type: application/json' \
        --data-binary @"$HW_TMP/limits-9m.json")
      [ "$code" = 413 ] && n=$((n + 1))
    done
    echo "$n of 20"
    [ "$n" = 20 ]
  }
  check "curl -H 'Expect:' with a 9 MiB body reads the 413 in 20 of 20 tries" curl_413s
  check "the server still answers after the early answers" lm_serving
  hw_stop >/dev/null 2>&1
else
  fail "limits server starts"
fi

# ---- memory: 4 concurrent crafted bodies under the Deployment's flags ----
if hw_start limits-memory --threads 2 --max-request-bytes 3670016 --connection-limit 256; then
  LM_PID=$HW_PID
  lm warm 100 >/dev/null
  hw_curl /metrics >"$HW_TMP/limits-m0.txt"
  rss0=$(lm_kb "$LM_PID" VmRSS)
  bad="" hwm=0
  for shape in env-empty env-empty-full top-400k top-400k-full ann-230k ann-230k-full; do
    f="$LM_BODIES/$shape"
    out=$(lm concurrent "$f" "$f" "$f" "$f")
    # The kernel syncs per-thread RSS counters lazily: keep the largest seen.
    h=$(lm_kb "$LM_PID" VmHWM); [ "$h" -gt "$hwm" ] && hwm=$h
    echo "     | 4 x $shape ($(wc -c <"$f") bytes): $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["statuses"])' "$out"), VmHWM $h kB"
    lm_jtest "$out" 'all(s in (200, 400, 413) for s in d["statuses"])' >/dev/null || bad="$bad $shape:$out"
    lm_serving || bad="$bad $shape:not-serving"
  done
  h=$(lm_kb "$LM_PID" VmHWM); [ "$h" -gt "$hwm" ] && hwm=$h
  hw_curl /metrics >"$HW_TMP/limits-m1.txt"
  check "every answer to the crafted bodies is 200, 400 or 413, and the server serves after each shape" test -z "$bad"
  over=$(( $(awk '$1 == "hookwarden_memory_budget_exceeded_total" {print $2}' "$HW_TMP/limits-m1.txt") - \
           $(awk '$1 == "hookwarden_memory_budget_exceeded_total" {print $2}' "$HW_TMP/limits-m0.txt") ))
  # The -full variants: jansson parses them whole. The fast decoder builds
  # only the annotations the policy reads, so ann-230k fits its budget.
  check "the budget refused the 12 bodies past it (the -full variants), and counted them ($over)" test "$over" = 12
  if [ "${HW_E2E_QUICK:-0}" = 1 ]; then
    printf 'skip memory: peak RSS growth (HW_E2E_QUICK=1, the sanitizer run: RSS is ASan shadow and quarantine)\n'
  else
    check "peak RSS grew by at most 32 MiB ($(( (hwm - rss0) / 1024 )) MiB: VmRSS ${rss0} kB before, VmHWM ${hwm} kB)" \
      test $(( hwm - rss0 )) -le 32768
  fi
  hw_stop >/dev/null 2>&1
else
  fail "limits memory server starts"
fi
