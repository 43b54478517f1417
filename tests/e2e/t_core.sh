# shellcheck shell=bash
# The core issue end to end: every fixture Job through admission-sim with
# --reinvoke (idempotency), unlabelled Jobs and other kinds untouched,
# UPDATE restoring Never, v1beta1, DELETE, and every bad input answered
# with its status while the server keeps serving.

hw_start core --image-pull-secret registry-credentials || { fail "server starts"; return; }
FIX="$HW_DATA"
ns_of() { python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get("metadata") or {}).get("namespace") or "default")' "$1"; }

for f in "$FIX"/jobs/*.json; do
  n=$(basename "$f" .json)
  ns=$(ns_of "$f")
  hw_label "$f" >"$HW_TMP/$n.json"
  # What the webhook receives: the manifest as kube-apiserver defaults it.
  hw_default "$HW_TMP/$n.json" -n "$ns" >"$HW_TMP/$n.def"
  hw_default "$f" -n "$ns" >"$HW_TMP/$n.pdef"
  if hw_sim --server-name hookwarden.hookwarden.svc --reinvoke -n "$ns" -f "$HW_TMP/$n.json" \
       >"$HW_TMP/$n.out" 2>"$HW_TMP/$n.err"; then
    check "$n: labelled Job comes back safe and identical on reinvocation" \
      python3 "$HERE/check_job.py" "$HW_TMP/$n.def" "$HW_TMP/$n.out" --namespace "$ns" --secret registry-credentials
  else
    fail "$n: admission-sim rejected the answer: $(tr '\n' ' ' <"$HW_TMP/$n.err")"
  fi
  # Unlabelled: untouched by the webhook; a chart Job that omits
  # restartPolicy (defaulted to Always) is then refused by Job validation,
  # as a cluster refuses it.
  if hw_sim -n "$ns" -f "$f" >"$HW_TMP/$n.plain" 2>"$HW_TMP/$n.perr"; then
    check "$n: unlabelled Job comes back untouched" python3 "$HERE/check_job.py" "$HW_TMP/$n.pdef" "$HW_TMP/$n.plain" --namespace "$ns" --unchanged
  elif grep -q 'spec.template.spec.restartPolicy: Required value' "$HW_TMP/$n.perr" &&
       python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["spec"]["template"]["spec"].get("restartPolicy") in (None, "Always") else 1)' "$f"; then
    ok "$n: unlabelled Job without restartPolicy: refused by Job validation, as a cluster refuses it"
  else
    fail "$n: unlabelled call failed: $(tr '\n' ' ' <"$HW_TMP/$n.perr")"
  fi
done

# Warnings reach the user the way kubectl prints them.
hw_sim -n airflow -f "$HW_TMP/airflow-migrate.json" >/dev/null 2>"$HW_TMP/warn.err"
check "OnFailure replaced by Never is announced in a warning" \
  grep -q '^Warning: restartPolicy OnFailure replaced by Never' "$HW_TMP/warn.err"
hw_sim -n posthog -f "$HW_TMP/posthog-migrate.json" >/dev/null 2>"$HW_TMP/warn2.err"
check "a release Job that is not a hook gets the not-a-hook warning" \
  grep -q '^Warning: not a Helm hook: Helm installed it as a release resource, and any helm.sh/hook on it is inert' "$HW_TMP/warn2.err"

# UPDATE: Helm's three-way merge re-asserts OnFailure on the stored Job (the
# Job created through the webhook, as the cluster stored it).
hw_sim -n default -f "$HW_TMP/airflow-migrate.json" --stored "$HW_TMP/upd-old.json" >/dev/null 2>"$HW_TMP/upd-create.err" ||
  fail "UPDATE: creating the stored Job: $(tr '\n' ' ' <"$HW_TMP/upd-create.err")"
python3 - "$HW_TMP/upd-old.json" "$HW_TMP/upd-new.json" <<'PY'
import json, sys
new = json.load(open(sys.argv[1]))
new["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
json.dump(new, open(sys.argv[2], "w"))
PY
if hw_sim --reinvoke -n default --operation UPDATE --old "$HW_TMP/upd-old.json" -f "$HW_TMP/upd-new.json" \
     >"$HW_TMP/upd.out" 2>"$HW_TMP/upd.err"; then
  check "UPDATE restores Never and reproduces the stored template exactly" python3 -c '
import json, sys
def bare(v):  # the stored file keeps typed encoding'"'"'s creationTimestamp: null
    if isinstance(v, dict):
        return {k: bare(x) for k, x in v.items() if x is not None}
    return [bare(x) for x in v] if isinstance(v, list) else v
old = json.load(open(sys.argv[1])); out = json.load(open(sys.argv[2]))
assert bare(out["spec"]["template"]) == bare(old["spec"]["template"]), "template differs from the stored one"
' "$HW_TMP/upd-old.json" "$HW_TMP/upd.out"
else
  fail "UPDATE: $(tr '\n' ' ' <"$HW_TMP/upd.err")"
fi

# The real-shaped reviews, replayed as kube-apiserver would send them.
python3 - "$FIX/reviews/update-airflow-v1.json" "$HW_TMP" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["request"]
json.dump(r["oldObject"], open(sys.argv[2] + "/rv-old.json", "w"))
json.dump(r["object"], open(sys.argv[2] + "/rv-new.json", "w"))
PY
if hw_sim -n airflow --operation UPDATE --old "$HW_TMP/rv-old.json" -f "$HW_TMP/rv-new.json" >"$HW_TMP/rv.out" 2>"$HW_TMP/rv.err"; then
  check "fixture update-airflow-v1: the template ends exactly as stored" python3 -c '
import json, sys
old = json.load(open(sys.argv[1])); out = json.load(open(sys.argv[2]))
assert out["spec"]["template"] == old["spec"]["template"], "template differs from the stored one"
' "$HW_TMP/rv-old.json" "$HW_TMP/rv.out"
else
  fail "fixture update-airflow-v1: $(tr '\n' ' ' <"$HW_TMP/rv.err")"
fi

if hw_sim --version v1beta1 --reinvoke -n kong -f "$HW_TMP/kong-migrate.json" >"$HW_TMP/b1.out" 2>"$HW_TMP/b1.err"; then
  check "v1beta1 reviews are answered in v1beta1 and mutate the same way" \
    python3 "$HERE/check_job.py" "$HW_TMP/kong-migrate.def" "$HW_TMP/b1.out" --namespace kong --secret registry-credentials
else
  fail "v1beta1: $(tr '\n' ' ' <"$HW_TMP/b1.err")"
fi
hw_sim --version v1beta1 --raw -n kong -f "$HW_TMP/kong-migrate.json" >"$HW_TMP/b1.raw" 2>/dev/null
check "v1beta1 answer carries apiVersion admission.k8s.io/v1beta1" \
  python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["apiVersion"] == "admission.k8s.io/v1beta1"' "$HW_TMP/b1.raw"

if hw_sim --operation DELETE -n kong -f "$HW_TMP/kong-migrate.json" >/dev/null 2>"$HW_TMP/del.err"; then
  ok "DELETE is allowed with no patch"
else
  fail "DELETE: $(tr '\n' ' ' <"$HW_TMP/del.err")"
fi
hw_sim --dry-run -n temporal -f "$HW_TMP/temporal-migrate.json" >/dev/null 2>"$HW_TMP/dry.err" \
  && ok "dryRun requests are answered" || fail "dryRun: $(tr '\n' ' ' <"$HW_TMP/dry.err")"

cat >"$HW_TMP/deploy.json" <<'JSON'
{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"hookwarden.io/migration":"true"}},
 "spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}
JSON
hw_sim -n default -f "$HW_TMP/deploy.json" >"$HW_TMP/deploy.out" 2>"$HW_TMP/deploy.err" \
  && check "a labelled Deployment is not a Job and comes back untouched" python3 "$HERE/check_job.py" "$HW_TMP/deploy.json" "$HW_TMP/deploy.out" --namespace default --unchanged \
  || fail "Deployment: $(tr '\n' ' ' <"$HW_TMP/deploy.err")"

# ---- bad input: status, a JSON Status naming the problem, still serving ----
# expect_status DESC STATUS MESSAGE-PART curl-args...
expect_status() {
  local d=$1 want=$2 part=$3; shift 3
  local got
  got=$(hw_curl /mutate -o "$HW_TMP/bad.body" -w '%{http_code}' "$@")
  if [ "$got" = "$want" ] && grep -q -- "$part" "$HW_TMP/bad.body"; then
    ok "$d: $want"
  else
    fail "$d: want $want with \"$part\", got $got: $(head -c 300 "$HW_TMP/bad.body")"
  fi
}
JSONCT=(-H 'Content-Type: application/json')
got=$(hw_curl /nope -o "$HW_TMP/bad.body" -w '%{http_code}')
[ "$got" = 404 ] && grep -q 'no such path /nope' "$HW_TMP/bad.body" && ok "unknown path: 404" || fail "unknown path: $got"
expect_status "GET /mutate" 405 "use POST" -X GET
expect_status "PUT /mutate" 405 "use POST" -X PUT "${JSONCT[@]}" --data '{}'
expect_status "text/plain body" 415 "Content-Type text/plain is not supported" -H 'Content-Type: text/plain' --data '{}'
expect_status "no Content-Type" 415 "Content-Type (missing)" -H 'Content-Type:' --data-binary '{}'
head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$HW_TMP/big.json"
expect_status "9 MiB declared body" 413 "over the limit of 8388608 bytes" "${JSONCT[@]}" --data-binary @"$HW_TMP/big.json"
expect_status "9 MiB chunked body" 413 "over the limit of 8388608 bytes" "${JSONCT[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$HW_TMP/big.json"
expect_status "empty body" 400 "request body is empty" "${JSONCT[@]}" --data-binary ''
expect_status "invalid JSON" 400 "invalid JSON at line 1" "${JSONCT[@]}" --data-binary '{"apiVersion":'
expect_status "not an object" 400 "body is not a JSON object" "${JSONCT[@]}" --data-binary '[1,2]'
expect_status "wrong apiVersion" 400 'apiVersion \\"admission.k8s.io/v2\\" is not supported' "${JSONCT[@]}" --data-binary '{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview"}'
expect_status "missing kind" 400 "kind (missing) is not supported" "${JSONCT[@]}" --data-binary '{"apiVersion":"admission.k8s.io/v1"}'
expect_status "missing request" 400 "AdmissionReview has no request" "${JSONCT[@]}" --data-binary '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}'
expect_status "missing uid" 400 "request.uid is missing" "${JSONCT[@]}" --data-binary '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}'
expect_status "object of the wrong type" 400 "request.object must be an object" "${JSONCT[@]}" --data-binary '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":"x"}}'
expect_status "annotations of the wrong type" 400 "/metadata/annotations is a string" "${JSONCT[@]}" --data-binary '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"group":"batch","version":"v1","kind":"Job"},"object":{"metadata":{"name":"j","labels":{"hookwarden.io/migration":"true"},"annotations":"x"}}}}'
hw_sim -n airflow -f "$HW_TMP/airflow-migrate.json" >/dev/null 2>&1 \
  && ok "the server still answers admission requests after the bad input" || fail "server stopped answering after bad input"
check "the server process is still running" kill -0 "$HW_PID"

# ---- answers on the wire: one TLS record for a small answer (serverhttp.c
# cork()), sent at once on a kept-alive connection, whatever the order of
# large and small answers, and whole before any close ----
check "answers on one kept-alive connection come at once, small and large in either order, and whole on every kind of close" \
  python3 - "$HW_PORT" "$HW_CERTS/ca.crt" "$HW_DATA/reviews/create-airflow-v1.json" <<'PY'
import http.client, json, os, socket, ssl, sys, time
port, ca, body = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "rb").read()
ctx = ssl.create_default_context(cafile=ca); ctx.check_hostname = False
uid = json.loads(body)["request"]["uid"]
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
t0 = time.monotonic()
for i in range(30):
    c.request("POST", "/mutate", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["response"]["uid"] == uid, "answer %d" % i
    if i == 0:
        sock = c.sock
# An answer held back by the socket's TCP_CORK waits 200 ms for the kernel.
took = time.monotonic() - t0
assert took < 3, "30 answers on one connection took %.1f s" % took
c.request("GET", "/metrics"); r = c.getresponse(); m = r.read()
assert r.status == 200 and len(m) > 4096 and m.endswith(b"\n"), "a large answer, not corked"
c.request("POST", "/mutate", body, {"Content-Type": "application/json"}); r = c.getresponse()
assert r.status == 200 and json.loads(r.read())["response"]["uid"] == uid and c.sock is sock
# A first answer of over 1400 bytes, corked by hookwarden, is one
# libmicrohttpd sends without corking the socket; small ones follow.
review = json.loads(body); review["request"]["uid"] = "u" * 1200
big = json.dumps(review)
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
t0 = time.monotonic()
c.request("POST", "/mutate", big, {"Content-Type": "application/json"}); r = c.getresponse(); a = r.read()
assert r.status == 200 and 1400 < len(a) < 4096, "a %d-byte answer" % len(a)
for i in range(20):
    c.request("POST", "/mutate", body, {"Content-Type": "application/json"}); r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["response"]["uid"] == uid, "answer %d after a large one" % i
took = time.monotonic() - t0
assert took < 2, "21 answers, the first large, took %.1f s" % took
head = b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
for close in ("Connection: close", "HTTP/1.0", "write side shut"):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    h = head + b"Connection: close\r\n" if close == "Connection: close" else head
    if close == "HTTP/1.0":
        h = h.replace(b"HTTP/1.1", b"HTTP/1.0")
    s.sendall(h + b"\r\n" + body)
    if close == "write side shut":
        socket.socket(fileno=os.dup(s.fileno())).shutdown(socket.SHUT_WR)
    s.settimeout(10)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    hdr, _, rest = got.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in hdr.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    assert hdr.startswith(b"HTTP/1.1 200") and len(rest) == n, "%s: %r" % (close, got[:80])
    assert json.loads(rest)["response"]["uid"] == uid, close
PY

# ---- the request log: one JSON line per request, never the body ----
check "each admission is logged with uid, operation, decision, ops and duration" python3 - "$HW_LOG" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
adm = [l for l in lines if l["msg"] == "admission"]
assert adm, "no admission lines"
m = [l for l in adm if l.get("decision") == "mutated"][0]
for k in ("uid", "operation", "kind", "namespace", "name", "decision", "patch_ops", "duration_ms", "time", "level"):
    assert k in m, "missing " + k
bad = [l for l in lines if l.get("status") == 415]
assert bad and "Content-Type" in bad[0]["error"], "415 not logged with its reason"
PY
check "the object body never reaches the log" bash -c "! grep -q 'AIRFLOW__\|atlas\|argocd.argoproj.io' '$HW_LOG'"
if hw_stop; then ok "SIGTERM: the server drains and exits 0 (no leaks under ASan)"; else fail "server exit code on SIGTERM was not 0: $(tail -5 "$HW_LOG")"; fi
