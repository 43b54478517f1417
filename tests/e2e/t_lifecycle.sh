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
