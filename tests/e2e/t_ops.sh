# shellcheck shell=bash
# Operating it end to end: probes, exact metric deltas, the plain metrics
# listener, certificate rotation under a steady stream (zero failures, new
# fingerprint, keep-alive kept), a broken pair refused while serving goes
# on, and SIGTERM during a stream (readiness first, no failure, exit 0).

metric_of() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }
delta() { # delta NAME: after - before for one series
  echo $(( $(metric_of "$HW_TMP/m1.txt" "$1" | cut -d. -f1) - $(metric_of "$HW_TMP/m0.txt" "$1" | cut -d. -f1) ))
}
expect_delta() { # expect_delta SERIES N
  local got; got=$(delta "$1")
  [ "$got" = "$2" ] && ok "metric $1 moved by $2" || fail "metric $1 moved by $got, expected $2"
}
fingerprint() {
  openssl s_client -connect "127.0.0.1:$HW_PORT" -servername hookwarden.hookwarden.svc </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 | cut -d= -f2 | tr -d :
}
file_fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d :; }

# Serving material mounted like a Secret volume: tls.crt -> ..data/tls.crt.
TLS="$HW_TMP/tls"
mkdir -p "$TLS"
new_leaf() { # new_leaf DAYS DIR: a serving pair signed by the test CA
  mkdir -p "$2"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2/tls.key" \
    -subj "/CN=hookwarden.hookwarden.svc" -out "$2/tls.csr" 2>/dev/null
  printf 'subjectAltName=DNS:hookwarden.hookwarden.svc,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$2/ext"
  openssl x509 -req -in "$2/tls.csr" -CA "$HW_CERTS/ca.crt" -CAkey "$HW_CERTS/ca.key" -CAcreateserial \
    -days "$1" -extfile "$2/ext" -out "$2/tls.crt" 2>/dev/null
}
swap_in() { # swap_in DIR: atomically point ..data at DIR, as the kubelet does
  ln -sfn "$(basename "$1")" "$TLS/..data_tmp" && mv -T "$TLS/..data_tmp" "$TLS/..data"
}
new_leaf 30 "$TLS/..gen1"
swap_in "$TLS/..gen1"
ln -s ..data/tls.crt "$TLS/tls.crt"
ln -s ..data/tls.key "$TLS/tls.key"

PDIR="$HW_TMP/ops-policy.json"
echo '{"rules":{"ttl-after-finished":"deny"}}' >"$PDIR"
MPORT=$(hw_free_port)
HW_PORT=$(hw_free_port)
HW_LOG="$HW_TMP/server-ops.log"
"$HW_BIN" serve --tls-cert-file "$TLS/tls.crt" --tls-private-key-file "$TLS/tls.key" --bind-address 127.0.0.1 \
  --port "$HW_PORT" --config "$PDIR" --image-pull-secret registry-credentials \
  --metrics-bind-address "127.0.0.1:$MPORT" --shutdown-grace-period 5 2>"$HW_LOG" &
HW_PID=$!
HW_URL="https://127.0.0.1:$HW_PORT/mutate"
for _ in $(seq 100); do hw_curl /healthz >/dev/null 2>&1 && break; sleep 0.05; done

# ---- a certificate kube-apiserver could never verify is refused at start ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=hookwarden.hookwarden.svc \
  -keyout "$HW_TMP/nosan.key" -out "$HW_TMP/nosan.crt" 2>/dev/null
"$HW_BIN" serve --tls-cert-file "$HW_TMP/nosan.crt" --tls-private-key-file "$HW_TMP/nosan.key" --bind-address 127.0.0.1 \
  --port "$(hw_free_port)" 2>"$HW_TMP/nosan.log"; rc=$?
check "serve refuses a certificate without subjectAltName, naming the file" \
  bash -c "[ $rc -ne 0 ] && grep -q 'nosan.crt has no subjectAltName' '$HW_TMP/nosan.log'"

# ---- probes ----
check "/healthz answers 200 ok" bash -c "[ \"\$(curl -s --cacert '$HW_CERTS/ca.crt' https://127.0.0.1:$HW_PORT/healthz)\" = ok ]"
check "/readyz answers 200 when the policy is loaded and the certificate valid" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$HW_CERTS/ca.crt' https://127.0.0.1:$HW_PORT/readyz)\" = 200 ]"
check "the startup log names subject, SANs, expiry and SHA-256 fingerprint" python3 - "$HW_LOG" "$(file_fingerprint "$TLS/tls.crt")" <<'PY'
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if '"serving certificate loaded"' in x][0]
assert l["subject"] == "CN=hookwarden.hookwarden.svc", l
assert "DNS:hookwarden.hookwarden.svc" in l["sans"] and "IP:127.0.0.1" in l["sans"], l
assert l["sha256"].replace(":", "") == sys.argv[2], (l["sha256"], sys.argv[2])
assert l["not_after"] > 0
PY

# ---- metrics: exact deltas over a known set of requests ----
hw_curl /metrics >"$HW_TMP/m0.txt"
hw_label "$HW_DATA/jobs/airflow-migrate.json" >"$HW_TMP/ops-job.json"
for _ in 1 2 3; do hw_sim -n default -f "$HW_TMP/ops-job.json" >/dev/null 2>&1; done
hw_sim -n default -f "$HW_DATA/jobs/airflow-migrate.json" >/dev/null 2>&1
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["spec"]["ttlSecondsAfterFinished"]=0; json.dump(j,sys.stdout)' \
  "$HW_TMP/ops-job.json" >"$HW_TMP/ops-ttl.json"
hw_sim -n default -f "$HW_TMP/ops-ttl.json" >/dev/null 2>&1
hw_curl /mutate -H 'Content-Type: application/json' --data-binary '{' >/dev/null
hw_curl /mutate -H 'Content-Type: text/plain' --data-binary '{}' >/dev/null
hw_curl /nowhere >/dev/null
hw_curl /metrics >"$HW_TMP/m1.txt"
expect_delta 'hookwarden_admission_requests_total{operation="CREATE",decision="mutated"}' 3
expect_delta 'hookwarden_admission_requests_total{operation="CREATE",decision="allowed"}' 1
expect_delta 'hookwarden_admission_requests_total{operation="CREATE",decision="denied"}' 1
expect_delta 'hookwarden_admission_requests_total{operation="none",decision="error"}' 1
expect_delta 'hookwarden_admission_duration_seconds_count' 6
expect_delta 'hookwarden_patch_operations_total' 12
expect_delta 'hookwarden_warnings_total' 4  # 3 mutated + the denied one's
expect_delta 'hookwarden_policy_findings_total{rule="ttl-after-finished",action="deny"}' 1
expect_delta 'hookwarden_http_errors_total{code="400"}' 1
expect_delta 'hookwarden_http_errors_total{code="415"}' 1
expect_delta 'hookwarden_http_errors_total{code="404"}' 1
check "inflight admissions gauge is back to 0 (scrapes are not admissions)" test "$(metric_of "$HW_TMP/m1.txt" hookwarden_inflight_requests)" = 0
check "certificate expiry gauge equals the certificate's notAfter" python3 - "$HW_TMP/m1.txt" "$TLS/tls.crt" <<'PY'
import subprocess, sys, calendar, time
m = {l.split()[0]: l.split()[1] for l in open(sys.argv[1]) if l[0] != "#"}
end = subprocess.check_output(["openssl", "x509", "-in", sys.argv[2], "-noout", "-enddate"]).decode().strip().split("=", 1)[1]
want = calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y %Z"))
assert int(m["hookwarden_certificate_expiry_timestamp_seconds"]) == want, (m["hookwarden_certificate_expiry_timestamp_seconds"], want)
PY
check "build_info carries the version" grep -q "^hookwarden_build_info{version=\"$("$HW_BIN" --version | cut -d' ' -f2)\"} 1$" "$HW_TMP/m1.txt"
check "every metric has HELP and TYPE" python3 - "$HW_TMP/m1.txt" <<'PY'
import sys
helps, types, names = set(), set(), set()
for l in open(sys.argv[1]):
    if l.startswith("# HELP "): helps.add(l.split()[2])
    elif l.startswith("# TYPE "): types.add(l.split()[2])
    elif l.strip(): names.add(l.split("{")[0].split()[0])
base = {n[:-7] if n.endswith("_bucket") else n[:-4] if n.endswith(("_sum")) else n[:-6] if n.endswith("_count") else n for n in names}
missing = [n for n in base if n not in helps or n not in types]
assert not missing, missing
PY
check "the plain-HTTP listener serves /metrics" bash -c "curl -sf http://127.0.0.1:$MPORT/metrics | grep -q '^hookwarden_build_info'"
check "the plain-HTTP listener refuses /mutate with 404" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data '{}' http://127.0.0.1:$MPORT/mutate)\" = 404 ]"

# ---- rotation under a steady stream ----
old_fp=$(fingerprint)
check "the first certificate is served" test "$old_fp" = "$(file_fingerprint "$TLS/tls.crt")"
python3 "$HERE/stream.py" --url "$HW_URL" --ca "$HW_CERTS/ca.crt" --body "$HW_DATA/reviews/create-airflow-v1.json" \
  --seconds 60 --workers 4 --fresh-every 10 --until-file "$HW_TMP/stop-rot" >"$HW_TMP/rot.json" &
SPID=$!
sleep 1
new_leaf 90 "$TLS/..gen2"
swap_in "$TLS/..gen2"
new_fp=$(file_fingerprint "$TLS/tls.crt")
for _ in $(seq 50); do [ "$(fingerprint)" = "$new_fp" ] && break; sleep 0.1; done
check "a new connection sees the new certificate within seconds" test "$(fingerprint)" = "$new_fp"
# A broken pair: a new certificate with the old generation's key.
mkdir -p "$TLS/..gen3"; new_leaf 90 "$HW_TMP/other"
cp "$HW_TMP/other/tls.crt" "$TLS/..gen3/tls.crt"; cp "$TLS/..gen1/tls.key" "$TLS/..gen3/tls.key"
swap_in "$TLS/..gen3"
for _ in $(seq 50); do grep -q 'certificate reload refused' "$HW_LOG" && break; sleep 0.1; done
check "a mismatched pair is refused and logged, naming the problem" grep -q 'certificate reload refused.*does not match certificate' "$HW_LOG"
check "after the refusal the previous good certificate is still served" test "$(fingerprint)" = "$new_fp"
sleep 1
touch "$HW_TMP/stop-rot"; wait "$SPID"
check "zero requests failed during rotation and the refused pair" python3 - "$HW_TMP/rot.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["requests"] > 100 and s["failed"] == 0, s
assert len(s["fingerprints"]) == 2, s["fingerprints"]
PY
hw_curl /metrics >"$HW_TMP/m2.txt"
check "reloads are counted: one success, one failure" bash -c "
  grep -q '^hookwarden_reloads_total{what=\"certificate\",result=\"success\"} 1$' '$HW_TMP/m2.txt' &&
  grep -q '^hookwarden_reloads_total{what=\"certificate\",result=\"failure\"} 1$' '$HW_TMP/m2.txt'"
check "the expiry gauge follows the new certificate" bash -c "
  [ \"\$(awk '\$1==\"hookwarden_certificate_expiry_timestamp_seconds\"{print \$2}' '$HW_TMP/m2.txt')\" -gt \"\$(awk '\$1==\"hookwarden_certificate_expiry_timestamp_seconds\"{print \$2}' '$HW_TMP/m1.txt')\" ]"

# An established keep-alive connection survives a real rotation, while a
# new handshake gets the new certificate; probes keep their connection too.
new_leaf 60 "$TLS/..gen4"
check "an established keep-alive connection is not cut by a rotation" python3 - "$HW_PORT" "$HW_CERTS/ca.crt" "$HW_DATA/reviews/create-airflow-v1.json" "$TLS" "$(file_fingerprint "$TLS/..gen4/tls.crt")" <<'PY'
import hashlib, http.client, os, ssl, sys, time
port, ca, body, tls, want = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read(), sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca); ctx.check_hostname = False
def fp(c): return hashlib.sha256(c.sock.getpeercert(binary_form=True)).hexdigest().upper()
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
def post():
    c.request("POST", "/mutate", body, {"Content-Type": "application/json"}); r = c.getresponse(); r.read(); return r.status
assert post() == 200
sock, before = c.sock, fp(c)
os.symlink("..gen4", tls + "/..data_tmp2"); os.replace(tls + "/..data_tmp2", tls + "/..data")
for _ in range(50):
    n = http.client.HTTPSConnection("127.0.0.1", port, context=ctx); n.request("GET", "/healthz"); n.getresponse().read()
    if fp(n) == want: break
    time.sleep(0.1)
assert fp(n) == want, "new handshakes did not get the new certificate"
assert post() == 200 and c.sock is sock and fp(c) == before, "the old connection was cut or changed"
# Probes answer on a kept-alive connection.
n.request("GET", "/readyz"); r = n.getresponse(); r.read(); s1 = n.sock
n.request("GET", "/healthz"); r = n.getresponse(); r.read()
assert r.status == 200 and n.sock is s1, "probe closed the connection"
PY

# ---- SIGTERM during a stream ----
python3 "$HERE/stream.py" --url "$HW_URL" --ca "$HW_CERTS/ca.crt" --body "$HW_DATA/reviews/create-airflow-v1.json" \
  --seconds 60 --workers 4 --fresh-every 10 --until-file "$HW_TMP/stop-term" >"$HW_TMP/term.json" &
SPID=$!
sleep 1
kill -TERM "$HW_PID"
sleep 0.2
check "after SIGTERM /readyz answers 503 at once" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$HW_CERTS/ca.crt' https://127.0.0.1:$HW_PORT/readyz)\" = 503 ]"
hw_curl /metrics >"$HW_TMP/m3.txt"
check "while shutting down, the ready gauge is 0 and the 503 is counted" bash -c "
  grep -q '^hookwarden_ready 0$' '$HW_TMP/m3.txt' && ! grep -q '^hookwarden_http_errors_total{code=\"503\"} 0$' '$HW_TMP/m3.txt'"
check "during the grace period /mutate still answers" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$HW_CERTS/ca.crt' -H 'Content-Type: application/json' --data-binary @'$HW_DATA/reviews/create-airflow-v1.json' https://127.0.0.1:$HW_PORT/mutate)\" = 200 ]"
# Endpoints drop the pod: the stream ends well inside the 5 s grace period.
sleep 1.5
touch "$HW_TMP/stop-term"; wait "$SPID"
rc=0; wait "$HW_PID" || rc=$?
HW_PID=
check "the server exits 0 after draining" test "$rc" = 0
check "zero requests failed across SIGTERM" python3 -c '
import json, sys; s = json.load(open(sys.argv[1])); assert s["requests"] > 50 and s["failed"] == 0, s' "$HW_TMP/term.json"
check "shutdown is logged in order: readiness off, draining, stopped" python3 - "$HW_LOG" <<'PY'
import json, sys
msgs = [json.loads(l)["msg"] for l in open(sys.argv[1]) if l.startswith("{")]
i = msgs.index("shutting down: readiness off, still serving"); j = msgs.index("draining requests in flight"); k = msgs.index("stopped")
assert i < j < k
PY
