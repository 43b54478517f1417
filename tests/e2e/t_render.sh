# shellcheck shell=bash
# hookwarden render and lint end to end. For every shared fixture Job
# (labelled), written as YAML by an independent writer (tests/data/render/
# gen.py): `hookwarden render` must give the same object as the webhook
# gives through admission-sim for the same file, the same warnings, and
# no change on a second pass. Render works on the manifest as written and
# the webhook on the object kube-apiserver decoded and defaulted, so the
# agreement is: render's output, applied without the webhook (read by
# sigs.k8s.io/yaml, typed and defaulted by admission-sim), is the object
# the webhook gives. Kubernetes' own YAML typing thus judges the emitter. Then: mixed helm-template streams where only
# the labelled Job may change, a typing torture Job, lint's line format and
# exit codes, denials, malformed YAML with line and column, a large chart.

RD="$HW_TMP/render"
RDATA="$HERE/../data/render"
SECRET=registry-credentials
mkdir -p "$RD"
printf '[]\n' >"$RD/no-patch.json"

# sim_read FILE: sigs.k8s.io/yaml's reading of a one-document YAML/JSON file, as JSON.
sim_read() { "$HW_SIM" patch -f "$1" --patch "$RD/no-patch.json"; }
# sim_applied FILE: FILE as kube-apiserver would hold it (read, typed, defaulted).
sim_applied() { "$HW_SIM" default -f "$1"; }

cat >"$RD/same.py" <<'PY'
import json, sys
# same.py A B [SENT]: A and B are the same JSON value (1 == 1.0). When SENT
# (the manifest) has no metadata.namespace, admission-sim filled one in;
# it is dropped from both sides.
a, b = (json.load(open(p)) for p in sys.argv[1:3])
# The one documented difference: a Job that leaves render as a hook loses
# the chart's own meta.helm.sh/release-* (Helm never stamps hooks), which
# the webhook, seeing the stamp, keeps.
ann_a = (a.get("metadata") or {}).get("annotations") or {}
if "helm.sh/hook" in ann_a and "meta.helm.sh/release-name" not in ann_a:
    for k in ("meta.helm.sh/release-name", "meta.helm.sh/release-namespace"):
        ((b.get("metadata") or {}).get("annotations") or {}).pop(k, None)
if len(sys.argv) > 3:
    sent = json.load(open(sys.argv[3]))
    if not (sent.get("metadata") or {}).get("namespace"):
        for o in (a, b):
            (o.get("metadata") or {}).pop("namespace", None)
if a != b:
    def walk(x, y, p=""):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k, "<absent>"), y.get(k, "<absent>"), p + "/" + k)
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, "%s/%d" % (p, i))
        elif x != y:
            print("%s: %s != %s" % (p or "/", json.dumps(x)[:200], json.dumps(y)[:200]))
    walk(a, b)
    sys.exit(1)
PY
cat >"$RD/segments.py" <<'PY'
import re, sys
# segments.py IN OUT: the documents of a helm-template stream ("---" lines)
# other than Jobs must be byte-identical; each Job must have changed.
text = [open(p, encoding="utf-8").read() for p in sys.argv[1:3]]
split = [re.split(r"(?m)^(?=---\s*$)", t) for t in text]
if len(split[0]) != len(split[1]):
    sys.exit("document count %d -> %d" % (len(split[0]), len(split[1])))
for i, (a, b) in enumerate(zip(*split)):
    job = re.search(r"(?m)^kind: Job$", a) is not None
    if job and a == b:
        sys.exit("document %d (the Job) did not change" % i)
    if not job and a != b:
        sys.exit("document %d changed:\n%s\n---- became ----\n%s" % (i, a, b))
PY

hw_start render --image-pull-secret "$SECRET" || { fail "webhook starts for the render comparison"; return; }

# ---- every fixture: render = webhook ----
for f in "$HW_DATA"/jobs/*.json; do
  n=$(basename "$f" .json)
  J="$RD/$n"
  hw_label "$f" >"$J.json"
  python3 "$RDATA/gen.py" yaml "$J.json" >"$J.yaml"
  sim_read "$J.yaml" >"$J.yaml-read.json" 2>&1
  check "$n: the YAML form reads back as the JSON fixture" python3 "$RD/same.py" "$J.json" "$J.yaml-read.json"

  hw_sim -f "$J.yaml" >"$J.webhook.json" 2>"$J.webhook.err"
  "$HW_BIN" render -f "$J.yaml" --image-pull-secret "$SECRET" >"$J.out.yaml" 2>"$J.render.err"
  sim_applied "$J.out.yaml" >"$J.out.json" 2>&1
  check "$n: render of the YAML, applied, equals the webhook's object" python3 "$RD/same.py" "$J.out.json" "$J.webhook.json" "$J.json"

  sed -n 's/^Warning: //p' "$J.webhook.err" | sort >"$J.webhook.warn"
  sed -n 's/^[^ ]*: warning: //p' "$J.render.err" | sort >"$J.render.warn"
  check "$n: render warns as the webhook does" diff "$J.webhook.warn" "$J.render.warn"

  "$HW_BIN" render -f "$J.json" --image-pull-secret "$SECRET" >"$J.fromjson.yaml" 2>/dev/null
  sim_applied "$J.fromjson.yaml" >"$J.fromjson.json" 2>&1
  check "$n: render of the JSON writes YAML that, applied, equals the webhook's object" \
    python3 "$RD/same.py" "$J.fromjson.json" "$J.webhook.json" "$J.json"

  "$HW_BIN" render -f "$J.out.yaml" --image-pull-secret "$SECRET" >"$J.again.yaml" 2>"$J.again.err"
  check "$n: render changes nothing in its own output" cmp "$J.out.yaml" "$J.again.yaml"
done

# ---- the typing torture Job: hookwarden's YAML reading is sigs.k8s.io/yaml's ----
T="$RD/typing"
# x-typing is no Job field, so typed decoding would drop it: the object
# goes to the webhook as written (--literal) and both sides are compared as
# sigs.k8s.io/yaml reads them.
hw_sim --literal -f "$RDATA/yaml/typing-job.yaml" >"$T.webhook.json" 2>/dev/null
"$HW_BIN" render -f "$RDATA/yaml/typing-job.yaml" --image-pull-secret "$SECRET" >"$T.out.yaml" 2>/dev/null
sim_read "$T.out.yaml" >"$T.out.json" 2>&1
check "every scalar form is typed as sigs.k8s.io/yaml types it" python3 "$RD/same.py" "$T.out.json" "$T.webhook.json"

# ---- helm-template streams: only the labelled Job changes ----
for c in "$RDATA"/charts/*.yaml; do
  n=$(basename "$c" .yaml)
  "$HW_BIN" render -f "$c" --image-pull-secret "$SECRET" >"$RD/chart-$n.yaml" 2>/dev/null
  check "chart $n: ConfigMap, Service, Deployment byte-identical, Job changed" \
    python3 "$RD/segments.py" "$c" "$RD/chart-$n.yaml"
done
if command -v kubectl >/dev/null 2>&1; then
  mkdir -p "$RD/kustomize"
  cat "$RD"/chart-*.yaml >"$RD/kustomize/all.yaml"
  printf 'resources:\n- all.yaml\n' >"$RD/kustomize/kustomization.yaml"
  check "kubectl kustomize reads every rendered chart" kubectl kustomize "$RD/kustomize"
fi
"$HW_BIN" render --image-pull-secret "$SECRET" <"$RDATA/atlas/input.yaml" >"$RD/atlas.yaml" 2>"$RD/atlas.err"
check "render reads stdin and writes the golden Atlas output" cmp "$RD/atlas.yaml" "$RDATA/atlas/expected.yaml"
check "the Atlas Job is now a pre-install,pre-upgrade hook" \
  grep -q '^    helm.sh/hook: pre-install,pre-upgrade$' "$RD/atlas.yaml"

# ---- lint ----
LINE='^[^:]+:[0-9]+(\.items\[[0-9]+\])?:[A-Za-z]+/[^:]+: [a-z-]+: (warn|deny): .+$'
lint_rc() { local rc=0; "$HW_BIN" lint "$@" >"$RD/lint.out" 2>"$RD/lint.err" || rc=$?; echo "$rc"; }
rc=$(lint_rc --strict -f "$RDATA/lint/clean.yaml")
check "lint --strict: a clean Job exits 0 and prints nothing" bash -c "[ $rc = 0 ] && [ ! -s '$RD/lint.out' ]"
rc=$(lint_rc -f "$RDATA/atlas/input.yaml")
check "lint: warnings alone exit 0" test "$rc" = 0
check "lint: every line is file:document:kind/name: rule: action: message" \
  bash -c "[ -s '$RD/lint.out' ] && ! grep -Evq '$LINE' '$RD/lint.out'"
check "lint: a plain labelled Job is reported as not a hook" \
  grep -q "atlas/input.yaml:2:Job/shop-migrate: not-a-hook: warn: not a Helm hook" "$RD/lint.out"
rc=$(lint_rc --strict -f "$RDATA/atlas/input.yaml")
check "lint --strict: a warning exits 1" test "$rc" = 1
rc=$(lint_rc --config "$RDATA/policy-deny.json" -f "$RDATA/lint/bad-hook.yaml")
check "lint: a denial exits 1" test "$rc" = 1
check "lint: the denial names rule and fix" \
  grep -q "bad-hook.yaml:2:Job/shop-migrate: unknown-hook-value: deny: .*Fix: " "$RD/lint.out"
rc=$("$HW_BIN" render --image-pull-secret "$SECRET" -f "$RDATA/atlas/input.yaml" 2>/dev/null |
  "$HW_BIN" lint --strict >/dev/null 2>&1; echo $?)
check "lint --strict passes render's output (the Helm 4 post-renderer path)" test "$rc" = 0
rc=0; "$HW_BIN" lint -f - <"$RDATA/charts/kong.yaml" >"$RD/lint.out" 2>/dev/null || rc=$?
check "lint reads helm template output on stdin" grep -q '^<stdin>:4:Job/' "$RD/lint.out"

# ---- the Helm 4 plugin, run the way Helm's subprocess runtime runs it ----
PLUGIN="$HERE/../../deploy/helm-plugin"
sim_read "$PLUGIN/plugin.yaml" >"$RD/plugin.json" 2>&1
check "plugin.yaml is a valid Helm 4 postrenderer/v1 manifest" python3 - "$RD/plugin.json" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))
# internal/plugin/metadata_v1.go Validate(), schema for postrenderer/v1, subprocess runtime
assert m["apiVersion"] == "v1" and m["type"] == "postrenderer/v1" and m["runtime"] == "subprocess", m
assert re.match(r"^[A-Za-z0-9_-]+$", m["name"]) and re.match(r"^\d+\.\d+\.\d+$", m["version"]), m
assert m["runtimeConfig"]["platformCommand"][0]["command"].startswith("${HELM_PLUGIN_DIR}/"), m
PY
plugin_cmd=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runtimeConfig"]["platformCommand"][0]["command"])' "$RD/plugin.json")
plugin_cmd=${plugin_cmd//\$\{HELM_PLUGIN_DIR\}/$PLUGIN}
HELM_PLUGIN_NAME=hookwarden HELM_PLUGIN_DIR="$PLUGIN" HOOKWARDEN_BIN="$HW_BIN" \
  "$plugin_cmd" --image-pull-secret "$SECRET" <"$RDATA/atlas/input.yaml" >"$RD/plugin.out" 2>/dev/null
check "the plugin command turns the Atlas Job into a hook (--post-renderer-args passed on)" \
  cmp "$RD/plugin.out" "$RDATA/atlas/expected.yaml"
HELM_PLUGIN_DIR="$PLUGIN" HOOKWARDEN_BIN="$HW_BIN" "$plugin_cmd" \
  <"$RDATA/helm4/postrender-input.yaml" >"$RD/plugin4.yaml" 2>/dev/null
check "the plugin keeps Helm 4's postrender-filename annotation and adds the hook" python3 - "$RD/plugin4.yaml" <<'PY'
import re, sys
job = open(sys.argv[1]).read().split("\n---\n")[1]
assert "postrenderer.helm.sh/postrender-filename: shop/templates/migrate-job.yaml" in job, job
assert re.search(r"(?m)^    helm.sh/hook: pre-install,pre-upgrade$", job), job
PY
rc=0; HELM_PLUGIN_DIR="$PLUGIN" HOOKWARDEN_BIN="$HW_BIN" HOOKWARDEN_POLICY="$RDATA/policy-deny.json" \
  HOOKWARDEN_LOG="$RD/plugin.log" "$plugin_cmd" <"$RDATA/lint/bad-hook.yaml" >"$RD/plugin.out" 2>/dev/null || rc=$?
check "the plugin fails on a denial, with the message in HOOKWARDEN_LOG" \
  bash -c "[ $rc = 1 ] && [ ! -s '$RD/plugin.out' ] && grep -q 'violates rule unknown-hook-value' '$RD/plugin.log'"
# A policy.yaml in the plugin's directory is its policy (before a policy.json).
mkdir -p "$RD/plugin-dir"
cp "$PLUGIN"/* "$RD/plugin-dir/"
printf 'rules:\n  unknown-hook-value: deny   # a YAML comment\n' >"$RD/plugin-dir/policy.yaml"
printf '{"rules": {"unknown-hook-value": "off"}}\n' >"$RD/plugin-dir/policy.json"
rc=0; HELM_PLUGIN_DIR="$RD/plugin-dir" HOOKWARDEN_BIN="$HW_BIN" "$RD/plugin-dir/hookwarden-render.sh" \
  <"$RDATA/lint/bad-hook.yaml" >"$RD/plugin.out" 2>"$RD/plugin.err" || rc=$?
check "the plugin reads policy.yaml from its directory" \
  bash -c "[ $rc = 1 ] && grep -q 'violates rule unknown-hook-value' '$RD/plugin.err'"

# ---- the Helm 3 wrapper: Helm 3 execs the post-renderer after it sorted
# hooks, with no plugin environment; only what takes effect may change ----
HOOKWARDEN_BIN="$HW_BIN" "$PLUGIN/helm3-post-renderer.sh" --image-pull-secret "$SECRET" \
  <"$RDATA/atlas/input.yaml" >"$RD/helm3.yaml" 2>/dev/null
check "the Helm 3 wrapper adds no hook annotations but sets Never and the pull secret" python3 - "$RD/helm3.yaml" <<'PY'
import re, sys
job = [d for d in open(sys.argv[1]).read().split("\n---\n") if re.search(r"(?m)^kind: Job$", d)][0]
assert "helm.sh/hook" not in job, job
assert re.search(r"(?m)^      restartPolicy: Never$", job), job
assert "registry-credentials" in job, job
PY
HOOKWARDEN_BIN="$HW_BIN" "$PLUGIN/helm3-post-renderer.sh" <"$RDATA/charts/posthog.yaml" >"$RD/helm3-posthog.yaml" 2>/dev/null
check "the Helm 3 wrapper keeps a release Job's meta.helm.sh/release-name (it stays a release resource)" \
  grep -q 'meta.helm.sh/release-name: posthog' "$RD/helm3-posthog.yaml"

# ---- failures ----
rc=0; "$HW_BIN" render --config "$RDATA/policy-deny.json" -f "$RDATA/lint/bad-hook.yaml" \
  >"$RD/deny.out" 2>"$RD/deny.err" || rc=$?
check "render: a denial exits 1 and writes nothing" bash -c "[ $rc = 1 ] && [ ! -s '$RD/deny.out' ]"
check "render: the denial carries the webhook's message" \
  grep -q 'denied: Job "shop/shop-migrate" violates rule unknown-hook-value' "$RD/deny.err"
for cmd in render lint; do
  rc=0; "$HW_BIN" "$cmd" <"$RDATA/malformed.yaml" >"$RD/bad.out" 2>"$RD/bad.err" || rc=$?
  check "$cmd: malformed YAML exits 1 with line and column" bash -c "[ $rc = 1 ] && \
    grep -qx '<stdin>:5:2: did not find expected key (while parsing a block mapping at line 1, column 1)' '$RD/bad.err'"
done

# ---- a large chart ----
if [ -z "${HW_E2E_QUICK:-}" ]; then
  for _ in $(seq 150); do cat "$RDATA"/charts/*.yaml; done >"$RD/large.yaml"
  start=$(date +%s%N)
  rc=0; "$HW_BIN" render -f "$RD/large.yaml" --image-pull-secret "$SECRET" >"$RD/large.out" 2>/dev/null || rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "     large chart: $(wc -c <"$RD/large.yaml") bytes, $(grep -c '^---' "$RD/large.yaml") documents, ${ms} ms"
  check "render handles a large chart (all documents kept, under 20 s)" \
    bash -c "[ $rc = 0 ] && [ $ms -lt 20000 ] && [ \$(grep -c '^---' '$RD/large.out') = \$(grep -c '^---' '$RD/large.yaml') ]"
fi

# Documents without a namespace are judged in --namespace, else $HELM_NAMESPACE.
printf 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: m\n  labels: {hookwarden.io/migration: "true"}\nspec:\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers: [{name: m, image: x}]\n' >"$HW_TMP/ns-job.yaml"
echo '{"namespaces":{"exclude":["prod"]}}' >"$HW_TMP/ns-policy.json"
check "render --namespace: an excluded namespace leaves the Job alone" \
  bash -c "'$HW_BIN' render -f '$HW_TMP/ns-job.yaml' --config '$HW_TMP/ns-policy.json' --namespace prod | grep -q 'restartPolicy: OnFailure'"
check "render --namespace: another namespace gets the policy" \
  bash -c "'$HW_BIN' render -f '$HW_TMP/ns-job.yaml' --config '$HW_TMP/ns-policy.json' --namespace dev 2>/dev/null | grep -q 'restartPolicy: Never'"
check "render: \$HELM_NAMESPACE is the default namespace" \
  bash -c "HELM_NAMESPACE=prod '$HW_BIN' render -f '$HW_TMP/ns-job.yaml' --config '$HW_TMP/ns-policy.json' | grep -q 'restartPolicy: OnFailure'"
