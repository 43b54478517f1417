# shellcheck shell=bash
# Abuse, limits and TLS defaults on the real binary (issue #6): protocol
# garbage and plaintext on the TLS port, old TLS versions and non-AEAD
# suites refused, a body declaring 100 MiB, a body that never finishes,
# JSON nested 100,000 deep, 100,000 keys, invalid UTF-8 and NUL bytes, more
# connections than the limit, slowloris, client certificates
# (--client-ca-file), and what reaches the log. After each group the server
# must still answer, and its memory must come back (VmRSS, see rss_check).
# The hostile clients are tests/e2e/abuse/*.py; docs/security.md explains
# the threat model behind each case.
#
# A check that fails because of a bug already reported to src/'s owners is
# written with known_open: it prints "OPEN" (not counted as a failure, so
# the suite stays usable) unless HW_E2E_STRICT=1; when the bug is fixed it
# prints "ok" and says so. HW_E2E_QUICK=1 (the sanitizer run) skips the
# slow cases (slowloris, 100 MiB streamed, the 8 MiB key-dense body) with a
# note.

AB_DIR="$HERE/abuse"
AB_BODIES="$HW_TMP/abuse-bodies"
AB_CANARY="HWCANARY-$$-7f3a"
AB_OPEN=${AB_OPEN:-0}
python3 "$AB_DIR/bodies.py" "$AB_BODIES" "$AB_CANARY"

ab() { python3 "$AB_DIR/abuse.py" "$HW_PORT" "$HW_CERTS/ca.crt" "$@"; }
# jtest JSON EXPR: EXPR is a Python expression over d, the parsed JSON.
jtest() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else "no: " + sys.argv[2] + " in " + sys.argv[1][:600])' "$1" "$2"; }
jcheck() { local d=$1 j=$2 e=$3; check "$d" jtest "$j" "$e"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
skip() { printf 'skip %s\n' "$*"; }
known_open() { # known_open ID DESCRIPTION command...
  local id=$1 d=$2; shift 2
  if "$@" >"$HW_TMP/check.out" 2>&1; then
    ok "$d (was open finding $id: fixed?)"
  elif [ "${HW_E2E_STRICT:-0}" = 1 ]; then
    fail "$d [open finding $id]"; sed 's/^/     | /' "$HW_TMP/check.out" | head -20
  else
    AB_OPEN=$((AB_OPEN + 1))
    printf 'OPEN %s [reported finding %s; HW_E2E_STRICT=1 makes it fail]\n' "$d" "$id"
    sed 's/^/     | /' "$HW_TMP/check.out" | head -8
  fi
}
serving() { # the server answers a valid admission request
  local out
  out=$(ab warm 3) && jtest "$out" 'd["ok"] == 3'
}
metric() { hw_curl /metrics --max-time 5 | awk -v m="$1" '$1 == m {print $2}'; }
# ab_stop: SIGTERM, then SIGKILL after 10 s (a deadlocked worker blocks a
# clean stop). Returns the exit code, or 124 when it had to be killed.
ab_stop() {
  [ -n "${HW_PID:-}" ] || return 0
  local rc=0
  kill -TERM "$HW_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$HW_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$HW_PID" 2>/dev/null; then
    kill -KILL "$HW_PID" 2>/dev/null; wait "$HW_PID" 2>/dev/null; HW_PID=; return 124
  fi
  wait "$HW_PID" || rc=$?
  HW_PID=
  return $rc
}

# ---------------------------------------------------------------------------
# One worker: each worker thread has its own malloc arena, and which worker
# gets a large request varies, so with one the memory rounds compare alike.
hw_start abuse --connection-limit 64 --idle-timeout 3 --threads 1 || { fail "abuse server starts"; return; }
AB_PID=$HW_PID
out=$(ab warm 200)
jcheck "warm-up: 200 valid requests answered" "$out" 'd["ok"] == 200'
AB_RSS0=$(rss_kb "$AB_PID")

# ---- protocol garbage on the TLS port: the connection is closed ----
ab_garbage() {
  out=$(ab raw http)
  jcheck "plaintext HTTP on the TLS port: closed, no HTTP answer" "$out" 'd["closed"] and not d["http_answer"] and d["seconds"] < 2'
  out=$(ab raw random)
  jcheck "16 KiB of random bytes: closed, no HTTP answer" "$out" 'd["closed"] and not d["http_answer"] and d["seconds"] < 2'
  out=$(ab raw tls-record)
  jcheck "a TLS record that never completes: closed by the idle timeout (3 s)" "$out" 'd["closed"] and not d["http_answer"] and d["seconds"] < 6'
}
ab_garbage

# ---- TLS versions and suites (GnuTLS priorities: 1.2/1.3, ECDHE, AEAD) ----
tls_try() { # tls_try openssl-args...: prints "Protocol version: ..." and "Ciphersuite: ..." on success
  timeout 10 openssl s_client -brief -connect "127.0.0.1:$HW_PORT" -servername hookwarden.hookwarden.svc \
    -CAfile "$HW_CERTS/ca.crt" "$@" </dev/null 2>&1
}
tls_ok() { # tls_ok PROTOCOL SUITE openssl-args...
  local proto=$1 suite=$2; shift 2
  local o; o=$(tls_try "$@")
  if printf '%s\n' "$o" | grep -q "^Protocol version: $proto" && printf '%s\n' "$o" | grep -q "^Ciphersuite: $suite"; then
    return 0
  fi
  printf '%s\n' "$o"
  return 1
}
tls_refused() { # the client offered (SECLEVEL=0 lets OpenSSL 3 send old versions) and got no session
  local o; o=$(tls_try "$@")
  ! printf '%s\n' "$o" | grep -q '^Protocol version:' || { printf '%s\n' "$o"; return 1; }
}
check "TLS 1.3 is served (TLS_AES_128_GCM_SHA256)" tls_ok TLSv1.3 TLS_AES_128_GCM_SHA256 -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
check "TLS 1.3 is served (TLS_CHACHA20_POLY1305_SHA256)" tls_ok TLSv1.3 TLS_CHACHA20_POLY1305_SHA256 -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
check "TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 is served" tls_ok TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
check "TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305 is served" tls_ok TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305 -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
check "TLS 1.1 is refused" tls_refused -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'
check "TLS 1.0 is refused" tls_refused -tls1 -cipher 'DEFAULT@SECLEVEL=0'
check "TLS 1.2 with a CBC suite (ECDHE-ECDSA-AES128-SHA256) is refused" tls_refused -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA256@SECLEVEL=0'
check "TLS 1.2 with a CBC/SHA-1 suite (ECDHE-ECDSA-AES256-SHA) is refused" tls_refused -tls1_2 -cipher 'ECDHE-ECDSA-AES256-SHA@SECLEVEL=0'

# ---- bodies: too large, never finished, hostile JSON ----
ab_bodies() {
  out=$(ab declare 104857600)
  jcheck "a body declaring 100 MiB: 413 before it is sent, naming the limit, connection closed" "$out" \
    'd["status"] == 413 and "over the limit of 8388608 bytes" in d["body"] and "\"code\":413" in d["body"] and d["closed_after"]'
  local inflight0
  inflight0=$(metric hookwarden_inflight_requests)
  out=$(ab stall 10 1000)
  jcheck "a body that never finishes: closed by the idle timeout (3 s)" "$out" 'd["closed"] and 2 <= d["seconds"] < 6'
  check "no request is left in flight after it (hookwarden_inflight_requests as before)" \
    test "$(metric hookwarden_inflight_requests)" = "$inflight0"
  out=$(ab post "$AB_BODIES/deep-arrays")
  jcheck "arrays nested 100,000 deep: 400 naming the depth limit" "$out" 'd["status"] == 400 and "maximum parsing depth reached" in d["body"] and "\"kind\":\"Status\"" in d["body"]'
  out=$(ab post "$AB_BODIES/deep-objects")
  jcheck "objects nested 100,000 deep: 400 naming the depth limit" "$out" 'd["status"] == 400 and "maximum parsing depth reached" in d["body"]'
  if [ "${1:-}" != small ]; then
    out=$(ab post "$AB_BODIES/keys-100k")
    jcheck "100,000 labels in one object (1.4 MB, ~19 MiB of JSON values): 413 naming the memory budget" "$out" \
      'd["status"] == 413 and "per-request memory budget of 8388608 bytes" in d["body"] and "\"code\":413" in d["body"]'
    out=$(ab post "$AB_BODIES/ann-100k")
    jcheck "100,000 annotations: 200, only the four the policy reads are decoded" "$out" 'd["status"] == 200 and "\"allowed\":true" in d["body"]'
    out=$(ab post "$AB_BODIES/keys-30k")
    jcheck "30,000 keys in one object: 200 within the 10 s webhook timeout" "$out" 'd["status"] == 200 and d["ms"] < 10000'
    check "30,000 annotations: the patch adds single keys, never replaces the map" python3 - "$out" <<'PY'
import base64, json, sys
r = json.loads(json.loads(sys.argv[1])["body"])["response"]
ops = json.loads(base64.b64decode(r["patch"]))
paths = [o["path"] for o in ops]
assert "/metadata/annotations/helm.sh~1hook" in paths, paths
assert "/metadata/annotations" not in paths, paths
PY
  fi
  out=$(ab post "$AB_BODIES/bad-utf8")
  jcheck "invalid UTF-8 in a string: 400 naming the byte" "$out" 'd["status"] == 400 and "unable to decode byte 0xff" in d["body"]'
  out=$(ab post "$AB_BODIES/overlong-utf8")
  jcheck "overlong UTF-8 in a string: 400" "$out" 'd["status"] == 400 and "unable to decode byte 0xc0" in d["body"]'
  out=$(ab post "$AB_BODIES/bad-utf8-key")
  jcheck "invalid UTF-8 in a key: 400" "$out" 'd["status"] == 400 and "unable to decode byte 0xff" in d["body"]'
  out=$(ab post "$AB_BODIES/raw-nul")
  jcheck "a raw NUL byte in a string: 400 naming it" "$out" 'd["status"] == 400 and "a NUL byte at offset" in d["body"]'
  out=$(ab post "$AB_BODIES/raw-nul-after-literal")
  jcheck "a raw NUL byte after a literal (jansson would skip it): 400 naming it" "$out" 'd["status"] == 400 and "a NUL byte at offset" in d["body"]'
  out=$(ab post "$AB_BODIES/lone-surrogate")
  jcheck "a lone UTF-16 surrogate escape: 400 naming it" "$out" 'd["status"] == 400 and "invalid Unicode" in d["body"]'
  out=$(ab post "$AB_BODIES/escaped-nul")
  jcheck "an escaped NUL (\\u0000) in an annotation value: valid JSON, 200 with a patch" "$out" 'd["status"] == 200 and "\"patchType\":\"JSONPatch\"" in d["body"]'
}
ab_bodies
# Headers past MHD's per-connection memory (32 KiB), and a long path.
got=$(hw_curl /healthz --max-time 10 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)")
check "a 40 KB request header (past the 32 KiB per-connection memory): 431" test "$got" = 431
got=$(hw_curl "/$(head -c 20000 /dev/zero | tr '\0' b)" --max-time 10 -o "$HW_TMP/long.body" -w '%{http_code}')
check "a 20 KB request path: 404 with the path cut short in the message" \
  bash -c '[ "$1" = 404 ] && grep -q "no such path /bbbb" "$2" && [ "$(wc -c <"$2")" -lt 1024 ]' _ "$got" "$HW_TMP/long.body"
check "no log line is longer than 4 KiB (the 20 KB path is logged whole)" \
  awk 'length > 4096 { print "line " NR ": " length " bytes"; bad = 1 } END { exit bad }' "$HW_LOG"
out=$(ab post "$AB_BODIES/uid-nul")
check "a request.uid with \\u0000 is echoed byte for byte (or refused with 400)" \
  jtest "$out" 'd["status"] == 400 or "abc\\u0000def" in d["body"]'
check "the server still answers admission requests after the hostile bodies" serving
check "the server process is still running" kill -0 "$AB_PID"

# ---- memory: back to the baseline, and no growth when it all happens again ----
# glibc keeps memory freed by the worker thread in its arena instead of
# returning it to the kernel unless it lies at the top of the heap, so after
# a big parse RSS may stay near its high-water mark (or not, depending on
# what else sits at the top of the heap then) although nothing leaks:
# calling malloc_trim(0) in the process gives it back. Leaks themselves are
# LeakSanitizer's job in the sanitizer run. So the checks are: (1) RSS after
# every round stays within the retention of the largest transient
# allocation of the whole set: no request's JSON values may pass the
# per-request memory budget (8 MiB with these flags), and the 100,000-key
# review reaches it before its 413 (one worker, so one arena, see hw_start
# above); 48 MiB allows that with room; (2) two more rounds of every case
# but the large-key ones grow RSS by at most 2 MiB.
AB_RSS1=$(rss_kb "$AB_PID")
ab_garbage >/dev/null; ab_bodies small >/dev/null; ab warm 100 >/dev/null
AB_RSS2=$(rss_kb "$AB_PID")
ab_garbage >/dev/null; ab_bodies small >/dev/null; ab warm 100 >/dev/null
AB_RSS3=$(rss_kb "$AB_PID")
echo "     | VmRSS: baseline ${AB_RSS0} kB, after rounds 1, 2, 3: ${AB_RSS1}, ${AB_RSS2}, ${AB_RSS3} kB (peak $(hwm_kb "$AB_PID") kB)"
if [ "${HW_E2E_QUICK:-0}" = 1 ]; then
  # Under ASan, RSS is mostly its quarantine and shadow memory; leaks are
  # LeakSanitizer's job, checked when the server exits below.
  skip "memory: RSS rounds (HW_E2E_QUICK=1, the sanitizer run: LeakSanitizer checks leaks at exit instead)"
else
  check "memory: RSS after each round within 48 MiB of the baseline (allocator retention, see above)" \
    test "$(printf '%s\n' "$AB_RSS1" "$AB_RSS2" "$AB_RSS3" | sort -n | tail -1)" -le $((AB_RSS0 + 49152))
  check "memory: rounds 2 and 3 of every case but the large-key ones grow RSS by at most 2 MiB" \
    test $((AB_RSS3 - AB_RSS1)) -le 2048
fi

# ---- what reaches the log ----
ab post "$AB_BODIES/canary-valid" >/dev/null
ab post "$AB_BODIES/canary-truncated" >/dev/null
ab post "$AB_BODIES/uid-long-utf8" >/dev/null
check "the log carries no object body (canary from a valid review's env and annotations)" \
  bash -c "! grep -q 'postgres://u:' '$HW_LOG'"
check "the log carries no key material" bash -c "! grep -q -- '-----BEGIN\|PRIVATE KEY' '$HW_LOG' && ! grep -qF \"\$(sed -n 2p '$HW_CERTS/tls.key')\" '$HW_LOG'"
check "the log carries no fragment of an invalid body (jansson's \"near '...'\" token)" \
  bash -c "! grep -q '$AB_CANARY' '$HW_LOG'"
log_lines_ok() { # every line is UTF-8 JSON; admission lines keep their fields
  python3 - "$HW_LOG" <<'PY'
import json, sys
for n, raw in enumerate(open(sys.argv[1], "rb"), 1):
    try:
        line = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        sys.exit("line %d is not UTF-8 JSON (%s): %r" % (n, e, raw[:160]))
    if line.get("msg") == "admission" and ("uid" not in line or "log_error" in line):
        sys.exit("line %d lost its fields: %r" % (n, raw[:160]))
PY
}
check "every log line is valid UTF-8 JSON with its fields (a 70-byte uid is cut at 63 bytes)" \
  log_lines_ok

# ---- slow cases ----
if [ "${HW_E2E_QUICK:-0}" = 1 ]; then
  skip "a 100 MiB chunked body streamed (HW_E2E_QUICK=1: slow under sanitizers)"
  skip "a key-dense 8 MiB body against the Deployment's 64 MiB memory limit (HW_E2E_QUICK=1)"
else
  out=$(ab stream 104857600)
  jcheck "a 100 MiB chunked body: cut off after at most 2 x 8 MiB + 1 MiB, or 413" "$out" \
    '(d["cut_off"] and d["sent"] <= 17 * 1048576 + 4 * 1048576) or d["status"] == 413'
  check "the server still answers after the 100 MiB body" serving
  before=$(hwm_kb "$AB_PID")
  out=$(ab post "$AB_BODIES/keys-8m")
  peak=$(hwm_kb "$AB_PID")
  echo "     | key-dense 8 MiB review: $(jtest "$out" 'True' && python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("status", d["status"], "in", d["ms"], "ms")' "$out"), VmHWM ${before} -> ${peak} kB"
  # Was open finding parse-memory-amplification (peaks near 140 MB before
  # the per-request memory budget).
  jcheck "a key-dense 8 MiB body: 413 from the memory budget" "$out" 'd["status"] == 413 and "memory budget" in d["body"]'
  check "a key-dense 8 MiB body stays under 64 MiB of peak RSS (was parse-memory-amplification: ~140 MB)" \
    test "$peak" -lt 65536
fi
if ab_stop >/dev/null 2>&1; then ok "abuse server: SIGTERM exit 0 (no leaks under ASan)"; else fail "abuse server exit code on SIGTERM was not 0: $(tail -3 "$HW_LOG")"; fi

# ---- more connections than the limit ----
# Bursts of idle TCP connections against --connection-limit 64: the
# acceptor closes those past the limit at once, the idle timeout (2 s)
# frees the rest, and the server answers after each burst. A daemon pushed
# past libmicrohttpd's own limit would deadlock (abuse/mhd_limit_deadlock.c
# shows it on the linked library), so the limit must be exact.
flood_rounds() {
  local out
  for i in 1 2 3 4 5; do
    out=$(ab flood 400)
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["held"] <= 64 else 1)' "$out" ||
      { echo "burst $i: more than 64 held: $out"; return 1; }
    sleep 3
    serving || { echo "burst $i: the server stopped answering ($out); its sockets:"; \
      ss -tan | awk -v p=":$HW_PORT" '$4 ~ p"$" {print $1}' | sort | uniq -c; return 1; }
  done
}
hw_start flood --connection-limit 64 --idle-timeout 2 || { fail "flood server starts"; return; }
out=$(ab flood 200)
echo "     | first burst: $out"
jcheck "200 connections against a limit of 64: 64 held, the excess closed at once" "$out" 'd["held"] <= 64 and d["closed_by_server"] >= 136'
rej=$(metric hookwarden_connections_rejected_total)
check "refused connections are counted in hookwarden_connections_rejected_total" test "${rej:-0}" -ge 136
sleep 3
check "5 bursts of 400 connections: never more than 64 held, and the server answers after each" flood_rounds
ab_stop >/dev/null 2>&1; rc=$?
check "after the bursts, SIGTERM stops the server with exit 0 within 10 s" test "$rc" -eq 0
# shellcheck disable=SC2046 # pkg-config output is meant to split
if cc -std=c11 -o "$HW_TMP/mhd_limit_deadlock" "$AB_DIR/mhd_limit_deadlock.c" \
     $(pkg-config --cflags --libs libmicrohttpd 2>/dev/null) -pthread 2>"$HW_TMP/mhdcc.log"; then
  echo "     | linked libmicrohttpd, connections queued past a daemon's own limit: $(timeout 20 "$HW_TMP/mhd_limit_deadlock")"
fi

# ---- slowloris ----
if [ "${HW_E2E_QUICK:-0}" = 1 ]; then
  skip "slowloris: 300 connections sending headers a byte at a time, below and at the limit (HW_E2E_QUICK=1: slow)"
else
  # Below the limit: the slow connections cost memory, never service.
  hw_start slowloris --connection-limit 512 --idle-timeout 5 || { fail "slowloris server starts"; return; }
  out=$(ab slowloris 300 20)
  echo "     | below the limit: $out"
  jcheck "slowloris, 300 connections under a limit of 512: all cut by the 10 s header deadline" "$out" 'd["established"] == 300 and d["still_dripping"] == 0'
  jcheck "slowloris, 300 connections under a limit of 512: every real request answered, within 1 s" "$out" \
    'd["keepalive_fail"] == 0 and d["fresh_fail"] == 0 and d["keepalive_ok"] >= 20 and d["fresh_ok"] >= 20 and d["max_latency_ms"] < 1000'
  sleep 1
  check "the server still answers after the slowloris" serving
  ab_stop >/dev/null 2>&1 || true
  # At the limit: connections the apiserver already holds keep working, and a
  # new one takes the place of the oldest connection that has waited a second
  # without sending a request header (server.c evict_one; docs/security.md).
  hw_start slowloris-full --connection-limit 64 --idle-timeout 5 || { fail "slowloris-full server starts"; return; }
  out=$(ab slowloris 200 15)
  echo "     | at the limit: $out"
  jcheck "slowloris at the limit (200 slow connections, limit 64): the limit holds" "$out" 'd["established"] <= 64 + 16 and d["refused"] >= 100'
  jcheck "slowloris at the limit: an established keep-alive connection keeps being answered" "$out" 'd["keepalive_fail"] == 0 and d["keepalive_ok"] >= 20'
  jcheck "slowloris at the limit: new connections are answered too (slow ones give way after 1 s)" "$out" \
    'd["fresh_ok"] >= 30 and d["fresh_fail"] <= 5'
  sleep 1
  check "once the slowloris stops, new connections are answered again" serving
  ab_stop >/dev/null 2>&1 || true
fi

# ---- client certificates: --client-ca-file ----
if "$AB_DIR/client-certs.sh" "$HW_TMP/mtls" >"$HW_TMP/mtls.log" 2>&1; then
  M="$HW_TMP/mtls"
  hw_start mtls --client-ca-file "$M/client-ca.crt" || { fail "mtls server starts"; return; }
  job="$HW_TMP/mtls-job.json"
  hw_label "$HW_DATA/jobs/mastodon-migrate.json" >"$job"
  ns=$(python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get("metadata") or {}).get("namespace") or "default")' "$job")
  if hw_sim --cert "$M/client.crt" --key "$M/client.key" -n "$ns" -f "$job" >"$HW_TMP/mtls.out" 2>"$HW_TMP/mtls.err"; then
    ok "client CA: a certificate it signed gets the admission answer (admission-sim)"
  else
    fail "client CA: signed certificate refused: $(tr '\n' ' ' <"$HW_TMP/mtls.err")"
  fi
  mt() { # mt PATH curl-args...: prints status and body
    hw_curl "$1" -o "$HW_TMP/mt.body" -w '%{http_code}' "${@:2}" -H 'Content-Type: application/json' \
      --data-binary @"$AB_BODIES/canary-valid"; echo " $(head -c 300 "$HW_TMP/mt.body")"; }
  out=$(mt /mutate)
  check "client CA: no certificate: 401 with a Status naming it" bash -c '[[ "$1" == 401\ * && "$1" == *"a client certificate is required"* && "$1" == *"\"code\":401"* ]]' _ "$out"
  out=$(mt /mutate --cert "$M/rogue.crt" --key "$M/rogue.key")
  check "client CA: a certificate from another CA with the same name: 401" bash -c '[[ "$1" == 401\ * && "$1" == *"client certificate rejected"* ]]' _ "$out"
  out=$(mt /mutate --cert "$M/selfsigned.crt" --key "$M/selfsigned.key")
  check "client CA: a self-signed certificate: 401" bash -c '[[ "$1" == 401\ * ]]' _ "$out"
  out=$(mt /mutate --cert "$M/client.crt" --key "$M/client.key")
  check "client CA: the signed certificate with curl: 200" bash -c '[[ "$1" == 200\ * && "$1" == *"\"allowed\":true"* ]]' _ "$out"
  for p in /healthz /readyz /metrics; do
    got=$(hw_curl "$p" -o /dev/null -w '%{http_code}')
    check "client CA: $p stays open without a certificate (the kubelet has none)" test "$got" = 200
  done
  check "client CA: the client key never reaches the log" bash -c "! grep -qF \"\$(sed -n 2p '$M/client.key')\" '$HW_LOG'"
  if ab_stop >/dev/null 2>&1; then ok "mtls server: SIGTERM exit 0"; else fail "mtls server exit code on SIGTERM was not 0"; fi
else
  fail "client certificates could not be made with openssl: $(tail -3 "$HW_TMP/mtls.log")"
fi

[ "$AB_OPEN" -eq 0 ] || echo "abuse: $AB_OPEN open findings (reported; docs/security.md, tests/fuzz/README.md)"
