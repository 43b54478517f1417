# shellcheck shell=bash
# Policy files end to end: every rule as warn and deny, every mode, flags
# over the file, --check with positions, and live reload through a
# Kubernetes-style ..data symlink swap, with a broken file refused while
# the old policy keeps answering.

PDIR="$HW_TMP/policy"
mkdir -p "$PDIR"
# Mount the policy the way the kubelet does: policy.json -> ..data/policy.json,
# ..data -> a timestamped directory, swapped atomically by rename.
publish() { # publish JSON-TEXT
  local gen="$PDIR/..$(date +%s%N)"
  mkdir -p "$gen"
  printf '%s\n' "$1" >"$gen/policy.json"
  ln -sfn "$(basename "$gen")" "$PDIR/..data_tmp"
  mv -T "$PDIR/..data_tmp" "$PDIR/..data"
  [ -L "$PDIR/policy.json" ] || ln -s ..data/policy.json "$PDIR/policy.json"
}
metric() { hw_curl /metrics | awk -v m="$1" '$1 == m { print $2 }'; }
# job VARIANT: a labelled Atlas-like Job in namespace shop, on stdout.
job() {
  python3 - "$1" <<'PY'
import json, sys
v = sys.argv[1]
ann = {"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}
spec = {"backoffLimit": 1, "activeDeadlineSeconds": 120, "template": {"spec": {"restartPolicy": "Never",
        "containers": [{"name": "migrate", "image": "arigaio/atlas:0.30",
                        "args": ["migrate", "apply", "--dir", "file:///src/", "-u", "$(DB_URL)"]}]}}}
if v == "release":     ann = {"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"}
if v == "unknown":     ann["helm.sh/hook"] = "pre-instal"
if v == "ttl":         spec["ttlSecondsAfterFinished"] = 0
if v == "delete":      ann["helm.sh/hook-delete-policy"] = "hook-succeeded"
if v == "deadline":    del spec["activeDeadlineSeconds"]
if v == "sidecar":     spec["template"]["spec"]["containers"].append({"name": "cloud-sql-proxy", "image": "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.8"})
if v == "posthook":    ann["helm.sh/hook"] = "post-install"
if v == "onfailure":   spec["template"]["spec"]["restartPolicy"] = "OnFailure"
if v == "bare":        ann = {}; del spec["backoffLimit"]; spec["template"]["spec"]["imagePullSecrets"] = [{"name": "chart-own"}]
print(json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "shop-migrate", "namespace": "shop",
                  "labels": {"hookwarden.io/migration": "true"}, "annotations": ann}, "spec": spec}))
PY
}
for v in clean release unknown ttl delete deadline sidecar posthook onfailure bare; do job "$v" >"$HW_TMP/job-$v.json"; done

publish '{"rules":{"not-a-hook":"warn"}}'
hw_start policy --config "$PDIR/policy.json" || { fail "server starts with a policy file"; return; }

# wait_for DESC COMMAND...: retries for up to 5 s (reload polls every second).
wait_for() {
  local d=$1; shift
  for _ in $(seq 50); do "$@" >/dev/null 2>&1 && { ok "$d"; return 0; }; sleep 0.1; done
  fail "$d"; "$@" 2>&1 | sed 's/^/     | /' | head -5
}
sim_rc() { # sim_rc VARIANT: exit code of admission-sim; stderr in $HW_TMP/sim.err
  hw_sim --webhook-name hookwarden.hookwarden.svc -n shop -f "$HW_TMP/job-$1.json" >"$HW_TMP/sim.out" 2>"$HW_TMP/sim.err"
}
warns() { sim_rc "$1" && grep -q "^Warning: .*$2" "$HW_TMP/sim.err"; }
denies() { local rc=0; sim_rc "$1" || rc=$?; [ "$rc" = 3 ] && grep -q "$2" "$HW_TMP/sim.err"; }
quiet() { sim_rc "$1" && ! grep -q Warning "$HW_TMP/sim.err"; }

sim_rc clean && check "a clean Job passes with no warning" bash -c "! grep -q Warning '$HW_TMP/sim.err'"

# Every rule: warn shows a Warning line, deny exits 3 with kubectl's message.
rules="not-a-hook:release:not a Helm hook: Helm installed it as a release resource
unknown-hook-value:unknown:helm.sh/hook has unknown event \"pre-instal\"
ttl-after-finished:ttl:ttlSecondsAfterFinished 0 may delete the Job
delete-policy:delete:hook-delete-policy lacks before-hook-creation
active-deadline:deadline:activeDeadlineSeconds is not set
long-lived-sidecar:sidecar:container cloud-sql-proxy looks like a long-lived sidecar"
rules_json() { # rules_json RULE ACTION: that rule set, not-a-hook off unless it is the rule
  if [ "$1" = not-a-hook ]; then echo "{\"rules\":{\"$1\":\"$2\"}}"
  else echo "{\"rules\":{\"not-a-hook\":\"off\",\"$1\":\"$2\"}}"; fi
}
while IFS=: read -r rule variant text; do
  publish "$(rules_json "$rule" warn)"
  wait_for "rule $rule as warn: the chart author sees a warning" warns "$variant" "$text"
  publish "$(rules_json "$rule" deny)"
  wait_for "rule $rule as deny: exit 3, message names Job, rule and fix" denies "$variant" \
    "Error from server (Forbidden): error when creating .*admission webhook \"hookwarden.hookwarden.svc\" denied the request: Job \"shop/shop-migrate\" violates rule $rule: $text.*Fix: "
  publish "$(rules_json "$rule" off)"
  wait_for "rule $rule off: no finding" quiet "$variant"
done <<<"$rules"

# Modes, through the final object admission-sim prints.
final() { # final VARIANT PYTHON-EXPR: the expression holds for the final object o
  sim_rc "$1" && python3 -c "import json,sys; o=json.load(open(sys.argv[1])); a=o['metadata'].get('annotations',{}); p=o['spec']['template']['spec']; sys.exit(0 if ($2) else 1)" "$HW_TMP/sim.out"
}
publish '{"hook":{"events":{"mode":"enforce"}},"rules":{"not-a-hook":"off"}}'
wait_for "hook events enforce: post-install replaced by pre-install,pre-upgrade" final posthook "a['helm.sh/hook'] == 'pre-install,pre-upgrade'"
check "hook events enforce: the replacement is announced" grep -q '^Warning: helm.sh/hook post-install replaced by pre-install,pre-upgrade' "$HW_TMP/sim.err"
publish '{"hook":{"events":{"mode":"add"}},"rules":{"not-a-hook":"off"}}'
wait_for "hook events add: the chart's post-install is kept" final posthook "a['helm.sh/hook'] == 'post-install'"
publish '{"hook":{"events":{"mode":"off"},"deletePolicy":{"mode":"off"},"weight":{"mode":"add","value":"-5"}},"rules":{"not-a-hook":"off"}}'
wait_for "hook off + weight add: no hook added, weight -5 added" final bare "'helm.sh/hook' not in a and a.get('helm.sh/hook-weight') == '-5'"
publish '{"restartPolicy":{"mode":"add"},"rules":{"not-a-hook":"off"}}'
wait_for "restartPolicy add: the chart's OnFailure is kept" final onfailure "p['restartPolicy'] == 'OnFailure'"
publish '{"restartPolicy":{"mode":"enforce"},"rules":{"not-a-hook":"off"}}'
wait_for "restartPolicy enforce: OnFailure becomes Never" final onfailure "p['restartPolicy'] == 'Never'"
publish '{"imagePullSecrets":{"mode":"merge","names":["registry-credentials","chart-own"]},"rules":{"not-a-hook":"off"}}'
wait_for "imagePullSecrets merge: appended after the chart's, never twice" final bare "[s['name'] for s in p['imagePullSecrets']] == ['chart-own','registry-credentials']"
publish '{"imagePullSecrets":{"mode":"off","names":["registry-credentials"]},"rules":{"not-a-hook":"off"}}'
wait_for "imagePullSecrets off: left alone" final bare "[s['name'] for s in p['imagePullSecrets']] == ['chart-own']"
publish '{"job":{"backoffLimit":{"mode":"enforce","value":0},"activeDeadlineSeconds":{"mode":"add","value":240},"ttlSecondsAfterFinished":{"mode":"enforce","value":600}},"rules":{"not-a-hook":"off"}}'
wait_for "Job settings: backoffLimit enforced, activeDeadlineSeconds kept, ttl enforced" final ttl "o['spec']['backoffLimit'] == 0 and o['spec']['activeDeadlineSeconds'] == 120 and o['spec']['ttlSecondsAfterFinished'] == 600"
check "Job settings: enforcement is announced" grep -q '^Warning: backoffLimit 1 replaced by 0 (platform policy)' "$HW_TMP/sim.err"
publish '{"namespaces":{"exclude":["shop"]}}'
wait_for "namespaces exclude: a Job in an excluded namespace is left alone" final onfailure "p['restartPolicy'] == 'OnFailure'"
publish '{"selector":{"labelKey":"example.com/migrate","labelValues":["yes"]}}'
wait_for "selector: another opt-in label means this Job is not selected" final onfailure "p['restartPolicy'] == 'OnFailure'"

# A broken file is refused; the old policy keeps answering.
publish '{"restartPolicy":{"mode":"enforce"},"rules":{"not-a-hook":"off"}}'
wait_for "reload: a valid policy is picked up" final onfailure "p['restartPolicy'] == 'Never'"
fails_before=$(metric 'hookwarden_reloads_total{what="policy",result="failure"}')
publish '{"restartPolicy":{"mode":"sometimes"}'
wait_for "reload: a broken file is counted as a failed reload" \
  bash -c "[ \"\$(curl -s --cacert '$HW_CERTS/ca.crt' https://127.0.0.1:$HW_PORT/metrics | awk '\$1 == \"hookwarden_reloads_total{what=\\\"policy\\\",result=\\\"failure\\\"}\" {print \$2}')\" -gt ${fails_before:-0} ]"
check "reload: the broken file is logged with its position" grep -Eq "policy reload refused.*policy.json:[0-9]+:[0-9]+: " "$HW_LOG"
final onfailure "p['restartPolicy'] == 'Never'" && ok "reload: the old policy keeps answering after a broken file" \
  || fail "reload: answers changed after a broken file"
check "reload: the server is still ready" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$HW_CERTS/ca.crt' https://127.0.0.1:$HW_PORT/readyz)\" = 200 ]"
publish '{"restartPolicy":{"mode":"add"},"rules":{"not-a-hook":"off"}}'
kill -HUP "$HW_PID"
wait_for "SIGHUP: the file is re-read at once" final onfailure "p['restartPolicy'] == 'OnFailure'"
check "SIGHUP is logged" grep -q 'SIGHUP' "$HW_LOG"
hw_stop

# Flags override the file.
printf '%s\n' '{"imagePullSecrets":{"names":["from-file"]},"selector":{"labelKey":"other.io/x"}}' >"$HW_TMP/flags.json"
hw_start flags --config "$HW_TMP/flags.json" --image-pull-secret from-flag --label hookwarden.io/migration=true \
  || { fail "server starts with flags"; return; }
final bare "[s['name'] for s in p['imagePullSecrets']] == ['chart-own','from-flag']" \
  && ok "--image-pull-secret and --label override the file" || fail "flags did not override the file"
hw_stop

# --check reports every problem with its position.
printf '{\n  "selektor": {},\n  "hook": {"events": {"value": "pre-upgrad"}}\n}\n' >"$HW_TMP/bad.json"
"$HW_BIN" --check --config "$HW_TMP/bad.json" >"$HW_TMP/check.txt" 2>&1; rc=$?
check "--check exits 1 on a broken file" test "$rc" = 1
check "--check names every problem with line and column" bash -c "grep -q 'bad.json:2:3: unknown key \"selektor\"' '$HW_TMP/check.txt' && grep -q 'bad.json:3:23: hook events \"pre-upgrad\"' '$HW_TMP/check.txt'"
"$HW_BIN" --check --config "$HERE/../../docs/policy-example.json" >"$HW_TMP/check2.txt" 2>&1
check "--check accepts the documented example policy" grep -q ': ok$' "$HW_TMP/check2.txt"
"$HW_BIN" serve --tls-cert-file "$HW_CERTS/tls.crt" --tls-private-key-file "$HW_CERTS/tls.key" \
  --port "$(hw_free_port)" --bind-address 127.0.0.1 --config "$HW_TMP/bad.json" >/dev/null 2>"$HW_TMP/badstart.log"; rc=$?
check "serve refuses to start on a broken policy, naming file and position" \
  bash -c "[ $rc -ne 0 ] && grep -q 'bad.json:2:3: unknown key' '$HW_TMP/badstart.log'"
