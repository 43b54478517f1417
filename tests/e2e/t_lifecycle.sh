# shellcheck shell=bash
# A labelled Job's life in a cluster, chained through admission-sim's
# --stored/--old: created through the webhook, relabelled (kubectl label),
# given the garbage collector's finalizer, marked for deletion and freed of
# the finalizer; every step an UPDATE kube-apiserver validates against the
# stored Job (spec.template immutable). Then the same Job created before the
# webhook was installed (no webhook at all), as the object later UPDATEs of
# such a Job start from.

hw_start lifecycle --image-pull-secret registry-credentials || { fail "server starts"; return; }
L="$HW_TMP/life"
mkdir -p "$L"
hw_label "$HW_DATA/jobs/temporal-migrate.json" >"$L/job.json"
ns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"].get("namespace") or "default")' "$L/job.json")

# step NAME FROM-STORED PYTHON-EDIT [extra admission-sim args]: o is the stored
# object; the edited object is sent as an UPDATE; the new stored object is
# $L/NAME.stored.
step() {
  local name=$1 from=$2 edit=$3; shift 3
  python3 - "$from" "$L/$name.json" "$edit" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(o, open(sys.argv[2], "w"))
PY
  hw_sim -n "$ns" --operation UPDATE --old "$from" -f "$L/$name.json" --stored "$L/$name.stored" "$@" \
    >"$L/$name.out" 2>"$L/$name.err"
}

if hw_sim -n "$ns" -f "$L/job.json" --stored "$L/create.stored" >"$L/create.out" 2>"$L/create.err"; then
  ok "create: admitted through the webhook, valid, stored"
else
  fail "create: $(tr '\n' ' ' <"$L/create.err")"
fi
check "create: the cluster added the generated selector and job-name/controller-uid labels" python3 -c '
import json, sys
o = json.load(open(sys.argv[1])); uid = o["metadata"]["uid"]
assert o["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}, o["spec"]["selector"]
l = o["spec"]["template"]["metadata"]["labels"]
assert l["controller-uid"] == uid and l["batch.kubernetes.io/job-name"] == o["metadata"]["name"], l
assert o["metadata"]["generation"] == 1 and o["metadata"]["resourceVersion"]
' "$L/create.stored"

if step relabel "$L/create.stored" 'o["metadata"]["labels"]["team"] = "payments"' --reinvoke; then
  ok "relabel: an UPDATE of the labels is admitted and valid"
else
  fail "relabel: $(tr '\n' ' ' <"$L/relabel.err")"
fi
if step finalizer "$L/relabel.stored" 'o["metadata"]["finalizers"] = ["foregroundDeletion"]'; then
  ok "finalizer: the garbage collector's finalizer is added"
else
  fail "finalizer: $(tr '\n' ' ' <"$L/finalizer.err")"
fi
# kubectl delete --cascade=foreground: the stored Job gets deletionTimestamp
# (no admission on that write); the GC then removes its finalizer by UPDATE.
python3 - "$L/finalizer.stored" "$L/deleting.stored" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
o["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
o["metadata"]["deletionGracePeriodSeconds"] = 0
json.dump(o, open(sys.argv[2], "w"))
PY
if step unfinalize "$L/deleting.stored" 'o["metadata"]["finalizers"] = []'; then
  ok "delete: the finalizer is removed from the Job being deleted"
else
  fail "delete: $(tr '\n' ' ' <"$L/unfinalize.err")"
fi
step refinalize "$L/deleting.stored" 'o["metadata"]["finalizers"] = ["foregroundDeletion", "example.com/late"]'
check "delete: no new finalizer on a Job being deleted (422 from the stand-in)" \
  grep -q 'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted' "$L/refinalize.err"
check "the template never changed across the life of the Job" python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["spec"]["template"] == b["spec"]["template"]
' "$L/create.stored" "$L/unfinalize.stored"

# The same Job created while no webhook was installed: only valid because
# the chart sets restartPolicy OnFailure; then it lives on under the webhook.
if "$HW_SIM" review -n "$ns" -f "$L/job.json" --stored "$L/pre.stored" >/dev/null 2>"$L/pre.err"; then
  ok "a Job created before the webhook was installed (no webhook call) is stored unchanged"
else
  fail "pre-install create: $(tr '\n' ' ' <"$L/pre.err")"
fi
check "that Job kept the chart's restartPolicy, pull secrets and annotations" python3 -c '
import json, sys
o, m = (json.load(open(p)) for p in sys.argv[1:3])
ps = o["spec"]["template"]["spec"]
assert ps["restartPolicy"] == "OnFailure", ps["restartPolicy"]
assert "registry-credentials" not in json.dumps(ps.get("imagePullSecrets"))
assert o["metadata"].get("annotations") == m["metadata"].get("annotations")
' "$L/pre.stored" "$L/job.json"
hw_stop >/dev/null 2>&1 || true

# ---- Jobs that predate hookwarden or its current policy (issue #11) ----
# Each UPDATE goes through the webhook and kube-apiserver's Job validation
# (admission-sim): spec.template must come out exactly as stored.
E="$HW_TMP/existing"
mkdir -p "$E"
# edit IN OUT PYTHON: o is IN's object; OUT is written.
edit() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(o, open(sys.argv[2], "w"))
PY
}
# same_template A B: the two stored Jobs have the same pod template.
same_template() {
  python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:3]); assert a["spec"]["template"]==b["spec"]["template"], "template changed"' "$1" "$2"
}
# update NAME STORED EDIT [admission-sim args...]: UPDATE through the webhook
# of STORED edited by EDIT; the result is stored in $E/NAME.stored.
update() {
  local name=$1 from=$2 code
  edit "$from" "$E/$name.json" "$3"; shift 3
  hw_sim -n airflow --operation UPDATE --old "$from" -f "$E/$name.json" --stored "$E/$name.stored" "$@" \
    >"$E/$name.out" 2>"$E/$name.err"
  code=$?
  return $code
}
no_webhook() { "$HW_SIM" review -n airflow "$@"; }

# A legacy Job: created before hookwarden (OnFailure, no pull secret).
edit "$HW_DATA/jobs/airflow-migrate.json" "$E/legacy.json" 'o["metadata"]["namespace"] = "airflow"'
no_webhook -f "$E/legacy.json" --stored "$E/legacy.stored" >/dev/null 2>"$E/legacy.err" \
  && ok "legacy Job created with no webhook installed" || fail "legacy create: $(tr '\n' ' ' <"$E/legacy.err")"

hw_start existing --image-pull-secret registry-credentials || { fail "server starts"; return; }
if update relabel "$E/legacy.stored" 'o["metadata"]["labels"]["hookwarden.io/migration"] = "true"' --reinvoke; then
  ok "legacy Job relabelled into hookwarden's scope: admitted and valid (no 'field is immutable')"
else
  fail "legacy relabel: $(tr '\n' ' ' <"$E/relabel.err")"
fi
check "legacy relabel: the stored pod template is unchanged" same_template "$E/legacy.stored" "$E/relabel.stored"
check "legacy relabel: the hook annotations still go on the metadata" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["metadata"]["annotations"]
assert a["helm.sh/hook"] == "pre-install,pre-upgrade", a' "$E/relabel.stored"
check "legacy relabel: one warning says the template predates the policy and how to apply it" \
  grep -qx 'Warning: pod template predates the policy (restartPolicy,imagePullSecrets): it is immutable; recreate the Job to apply it' "$E/relabel.err"
update finalize "$E/relabel.stored" 'o["metadata"]["finalizers"] = ["foregroundDeletion"]' \
  && ok "legacy Job: the garbage collector adds its finalizer" || fail "legacy finalizer: $(tr '\n' ' ' <"$E/finalize.err")"
edit "$E/finalize.stored" "$E/deleting.stored" 'o["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"; o["metadata"]["deletionGracePeriodSeconds"] = 0'
if update unfinalize "$E/deleting.stored" 'o["metadata"]["finalizers"] = []' -v; then
  ok "legacy Job being deleted: the finalizer is removed (not stuck in Terminating)"
else
  fail "legacy unfinalize: $(tr '\n' ' ' <"$E/unfinalize.err")"
fi
check "a Job being deleted gets no patch and no warning" \
  bash -c "grep -q 'allowed, no patch' '$E/unfinalize.err' && ! grep -q '^Warning:' '$E/unfinalize.err'"
check "legacy Job: the template never changed" same_template "$E/legacy.stored" "$E/unfinalize.stored"

# Helm 3's three-way merge re-asserts the chart's OnFailure on a Job
# hookwarden made Never at creation.
hw_label "$E/legacy.json" >"$E/fresh.json"
hw_sim -n airflow -f "$E/fresh.json" --stored "$E/fresh.stored" >/dev/null 2>"$E/fresh.err" \
  && ok "a labelled Job is created through the webhook" || fail "fresh create: $(tr '\n' ' ' <"$E/fresh.err")"
if update reassert "$E/fresh.stored" 'o["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"'; then
  ok "Helm 3 re-asserting restartPolicy OnFailure: admitted and valid"
else
  fail "Helm 3 re-assert: $(tr '\n' ' ' <"$E/reassert.err")"
fi
check "Helm 3 re-assert: the stored Never is put back, the template is as stored" same_template "$E/fresh.stored" "$E/reassert.stored"
check "Helm 3 re-assert: the warning says the stored value was kept" \
  grep -q '^Warning: restartPolicy OnFailure kept as Never: the pod template of an existing Job cannot change' "$E/reassert.err"
hw_stop >/dev/null 2>&1 || true

# A policy that has grown a second pull secret since the Job was created.
hw_start second --image-pull-secret registry-credentials --image-pull-secret mirror-credentials || { fail "server starts"; return; }
if update second "$E/fresh.stored" 'o["metadata"]["labels"]["team"] = "data"' --reinvoke; then
  ok "a Job mutated under an older policy (one secret), updated under two: admitted and valid"
else
  fail "second secret: $(tr '\n' ' ' <"$E/second.err")"
fi
check "second secret: the stored pull secrets are kept" same_template "$E/fresh.stored" "$E/second.stored"
check "second secret: the warning names imagePullSecrets" \
  grep -q '^Warning: pod template predates the policy (imagePullSecrets)' "$E/second.err"
# A chart that left restartPolicy out arrives with the default Always.
edit "$E/fresh.json" "$E/norestart.json" 'del o["spec"]["template"]["spec"]["restartPolicy"]'
no_webhook -f "$E/norestart.json" >/dev/null 2>"$E/norestart-plain.err"
check "without the webhook, a Job with no restartPolicy is refused (defaulted to Always)" \
  grep -q 'is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' "$E/norestart-plain.err"
if hw_sim -n airflow -f "$E/norestart.json" >"$E/norestart.out" 2>"$E/norestart.err"; then
  check "a chart that omitted restartPolicy: Always replaced by Never, valid" \
    grep -q '^Warning: restartPolicy Always replaced by Never' "$E/norestart.err"
else
  fail "omitted restartPolicy: $(tr '\n' ' ' <"$E/norestart.err")"
fi
# "Never\u0000x" is not Never: replaced, so the Job is valid.
edit "$E/fresh.json" "$E/nul.json" 'o["spec"]["template"]["spec"]["restartPolicy"] = "Never\u0000x"'
if hw_sim -n airflow -f "$E/nul.json" >"$E/nul.out" 2>"$E/nul.err"; then
  check "restartPolicy \"Never\\u0000x\" is taken for what it is and replaced by Never" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["spec"]["template"]["spec"]["restartPolicy"] == "Never"' "$E/nul.out"
else
  fail "NUL restartPolicy: $(tr '\n' ' ' <"$E/nul.err")"
fi
hw_stop >/dev/null 2>&1 || true

# not-a-hook: deny, against a release Job that predates the rule.
echo '{"rules":{"not-a-hook":"deny"}}' >"$E/deny.json"
edit "$E/legacy.json" "$E/release.json" 'o["metadata"]["annotations"] = {"meta.helm.sh/release-name": "airflow", "meta.helm.sh/release-namespace": "airflow"}; o["metadata"]["labels"]["hookwarden.io/migration"] = "true"'
no_webhook -f "$E/release.json" --stored "$E/release.stored" >/dev/null 2>&1 \
  && ok "a labelled release Job stored before the rule was set to deny" || fail "release create without webhook"
hw_start deny --config "$E/deny.json" || { fail "server starts"; return; }
if update release-up "$E/release.stored" 'o["metadata"]["labels"]["team"] = "data"'; then
  ok "not-a-hook deny: an UPDATE of that Job is allowed (ratcheting)"
else
  fail "not-a-hook ratchet: $(tr '\n' ' ' <"$E/release-up.err")"
fi
check "not-a-hook deny, UPDATE: warned, and told why it is not denied" bash -c "
  grep -q '^Warning: not a Helm hook: Helm installed it as a release resource' '$E/release-up.err' &&
  grep -q '^Warning: rule not-a-hook is not enforced on this update: the stored Job already broke it' '$E/release-up.err'"
hw_sim -n airflow -f "$E/release.json" >/dev/null 2>"$E/release-create.err"
code=$?
check "not-a-hook deny: the same Job created now is denied" bash -c "
  [ $code = 3 ] && grep -q 'denied the request: Job \"airflow/airflow-run-airflow-migrations\" violates rule not-a-hook' '$E/release-create.err'"
# A release Job whose helm.sh/hook came too late (Helm 3 post-renderer,
# webhook, edit) is not a hook (issue #18).
edit "$E/release.json" "$E/inert.json" 'o["metadata"]["annotations"]["helm.sh/hook"] = "pre-install,pre-upgrade"'
hw_sim -n airflow -f "$E/inert.json" >/dev/null 2>"$E/inert.err"
code=$?
check "a release Job with helm.sh/hook is denied on CREATE under not-a-hook deny, the hook named inert" bash -c "
  [ $code = 3 ] && grep -q 'any helm.sh/hook on it is inert; set the hook in the chart. Fix: ' '$E/inert.err'"
edit "$E/inert.json" "$E/hook.json" 'del o["metadata"]["annotations"]["meta.helm.sh/release-name"]; del o["metadata"]["annotations"]["meta.helm.sh/release-namespace"]'
hw_sim -n airflow -f "$E/hook.json" >/dev/null 2>"$E/hook.err" \
  && check "a hook (helm.sh/hook, no release stamp) is not flagged" bash -c "! grep -q 'not a Helm hook' '$E/hook.err'" \
  || fail "hook create: $(tr '\n' ' ' <"$E/hook.err")"
hw_stop >/dev/null 2>&1 || true
hw_start default-policy || { fail "server starts"; return; }
hw_sim -n airflow -f "$E/inert.json" >/dev/null 2>"$E/inert-warn.err" \
  && check "default policy: the release Job with an inert helm.sh/hook is warned about" \
    grep -q '^Warning: not a Helm hook: Helm installed it as a release resource, and any helm.sh/hook on it is inert; set the hook in the chart' "$E/inert-warn.err" \
  || fail "inert warn: $(tr '\n' ' ' <"$E/inert-warn.err")"
hw_stop >/dev/null 2>&1 || true
