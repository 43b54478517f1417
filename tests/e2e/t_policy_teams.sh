# shellcheck shell=bash
# One hookwarden for many teams (issue #15): the worked example of
# docs/policy.md, docs/policy-teams.yaml, served once as YAML and once in
# its JSON form (tests/data/policy/teams.json). Labelled Jobs go through
# admission-sim in several namespaces: each team namespace gets only its
# own pull Secret, release Jobs are denied in prod-* and payments and
# warned about elsewhere, and both forms give byte-identical answers. Then
# the answer and the log name the overrides, an UPDATE of a Job that
# predates an override stays valid, a live reload changes an override,
# --check accepts the file and refuses a misspelt key inside an override at
# its line, policy show prints a namespace's secrets and render applies the
# override of --namespace.

T="$HW_TMP/teams"
mkdir -p "$T"
TEAMS_YAML="$HERE/../../docs/policy-teams.yaml"
TEAMS_JSON="$HW_DATA/policy/teams.json"

# team_job KIND NS: a labelled Job in NS; KIND hook (a Helm hook) or release
# (a release resource: Helm's stamp, no helm.sh/hook).
team_job() {
  python3 - "$1" "$2" <<'PY'
import json, sys
kind, ns = sys.argv[1:]
ann = {"helm.sh/hook": "pre-install,pre-upgrade"} if kind == "hook" else \
      {"meta.helm.sh/release-name": "app", "meta.helm.sh/release-namespace": ns}
print(json.dumps({"apiVersion": "batch/v1", "kind": "Job",
                  "metadata": {"name": "migrate", "namespace": ns, "labels": {"hookwarden.io/migration": "true"},
                               "annotations": ann},
                  "spec": {"template": {"spec": {"restartPolicy": "Never",
                           "containers": [{"name": "migrate", "image": "arigaio/atlas:0.30"}]}}}}))
PY
}
namespaces="dev team-a-api team-b-web prod-shop payments team-a-prod payments-eu"
for ns in $namespaces; do
  team_job hook "$ns" >"$T/hook-$ns.json"
  team_job release "$ns" >"$T/release-$ns.json"
done

# admit FORM KIND NS: through admission-sim; the final object, stderr (kubectl's
# lines), the raw answer and the exit code go to $T/FORM-KIND-NS.*.
admit() {
  local out="$T/$1-$2-$3" rc=0
  hw_sim -n "$3" --uid 6b1c1a52-0000-4000-8000-00000000f00d -f "$T/$2-$3.json" >"$out.obj" 2>"$out.err" || rc=$?
  echo "$rc" >"$out.rc"
  hw_sim -n "$3" --uid 6b1c1a52-0000-4000-8000-00000000f00d -f "$T/$2-$3.json" --raw >"$out.raw" 2>/dev/null || :
}
for form in yaml json; do
  if [ "$form" = yaml ]; then file=$TEAMS_YAML; else file=$TEAMS_JSON; fi
  hw_start "teams-$form" --config "$file" || { fail "server starts with the $form form of the teams policy"; continue; }
  for ns in $namespaces; do admit "$form" hook "$ns"; admit "$form" release "$ns"; done
  cp "$HW_LOG" "$T/$form.log"
  hw_stop
done

# pulls FORM NS: the final hook Job's imagePullSecrets names, comma-separated.
pulls() {
  python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(",".join(s["name"] for s in o["spec"]["template"]["spec"].get("imagePullSecrets", [])))' "$T/$1-hook-$2.obj"
}
for form in yaml json; do
  while read -r ns want; do
    check "$form: a Job in $ns gets exactly $want" test "$(pulls "$form" "$ns")" = "$want"
  done <<'EOF'
dev regcred
team-a-api team-a-pull
team-b-web team-b-pull,regcred
prod-shop regcred
payments regcred
team-a-prod team-a-pull
payments-eu regcred
EOF
  for ns in prod-shop payments team-a-prod; do
    check "$form: a release Job in $ns is denied (exit 3, kubectl's message)" bash -c \
      "[ \"\$(cat '$T/$form-release-$ns.rc')\" = 3 ] && grep -q 'denied the request: Job \"$ns/migrate\" violates rule not-a-hook' '$T/$form-release-$ns.err'"
  done
  for ns in dev team-a-api team-b-web payments-eu; do
    check "$form: a release Job in $ns is admitted with a warning" bash -c \
      "[ \"\$(cat '$T/$form-release-$ns.rc')\" = 0 ] && grep -q '^Warning: not a Helm hook' '$T/$form-release-$ns.err'"
  done
done
same=1
for ns in $namespaces; do
  for kind in hook release; do
    for ext in raw obj err rc; do
      cmp -s "$T/yaml-$kind-$ns.$ext" "$T/json-$kind-$ns.$ext" || { same=0; echo "     differs: $kind-$ns.$ext"; }
    done
  done
done
if [ "$same" = 1 ]; then ok "the YAML file and its JSON form answer identically (answers, objects, messages)"
else fail "the YAML file and its JSON form answer identically"; fi

check "the answer's audit annotation names the overrides that applied (team-a-prod: 0,2)" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["response"]
assert r["auditAnnotations"]["overrides"] == "0,2", r
assert r["auditAnnotations"]["finding.not-a-hook"] == "deny", r
' "$T/yaml-release-team-a-prod.raw"
check "no override, no overrides annotation (dev)" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["response"]
assert "overrides" not in r.get("auditAnnotations", {}), r
' "$T/yaml-hook-dev.raw"
check "the admission log line names the overrides" grep -q '"namespace":"team-a-prod".*"overrides":\[0,2\]' "$T/yaml.log"
check "the admission log line has no overrides field where none applied" \
  bash -c "grep '\"msg\":\"admission\".*\"namespace\":\"dev\"' '$T/yaml.log' | grep -vq overrides"

# Jobs that exist when an override changes: a Job created under the base
# layer, then updated under the override, keeps its pod template (immutable)
# and the release rule ratchets; the stand-in validates the UPDATE.
PDIR="$T/mnt"
mkdir -p "$PDIR"
publish_yaml() { # publish_yaml TEXT: as the kubelet swaps a ConfigMap's ..data
  local gen="$PDIR/..$(date +%s%N)"
  mkdir -p "$gen"
  printf '%s\n' "$1" >"$gen/policy.yaml"
  ln -sfn "$(basename "$gen")" "$PDIR/..data_tmp"
  mv -T "$PDIR/..data_tmp" "$PDIR/..data"
  [ -L "$PDIR/policy.yaml" ] || ln -s ..data/policy.yaml "$PDIR/policy.yaml"
}
publish_yaml 'imagePullSecrets: {names: [regcred]}'
hw_start teams-reload --config "$PDIR/policy.yaml" || { fail "server starts with a mounted YAML policy"; return; }
team_job release prod-x >"$T/old.json"
if hw_sim -n prod-x -f "$T/old.json" --stored "$T/old.stored" >/dev/null 2>"$T/old.err"; then
  ok "before the override: a release Job in prod-x is created (warned)"
else
  fail "before the override: a release Job in prod-x is created: $(tr '\n' ' ' <"$T/old.err")"
fi
publish_yaml "$(cat "$TEAMS_YAML")
  - namespaces: [prod-x]
    imagePullSecrets: {names: [prod-pull]}"
reloaded() { grep -q '"msg":"policy reloaded"' "$HW_LOG"; }
for _ in $(seq 50); do reloaded && break; sleep 0.1; done
check "live reload: the YAML file with overrides is picked up" reloaded
python3 -c '
import json, sys
o = json.load(open(sys.argv[1])); o["metadata"]["labels"]["tier"] = "db"; json.dump(o, open(sys.argv[2], "w"))' \
  "$T/old.stored" "$T/old-update.json"
rc=0; hw_sim -n prod-x --operation UPDATE --old "$T/old.stored" -f "$T/old-update.json" >"$T/upd.obj" 2>"$T/upd.err" || rc=$?
check "UPDATE after the override: admitted and valid, the stored template kept, the denial waived" bash -c \
  "[ $rc = 0 ] && grep -q 'pod template predates the policy (imagePullSecrets)' '$T/upd.err' && grep -q 'rule not-a-hook is not enforced on this update' '$T/upd.err'"
check "UPDATE after the override: the pod template is as stored (regcred, not prod-pull)" python3 -c '
import json, sys
a, b = (json.load(open(f))["spec"]["template"]["spec"] for f in sys.argv[1:])
assert a == b and a["imagePullSecrets"] == [{"name": "regcred"}], (a, b)' "$T/upd.obj" "$T/old.stored"
rc=0; hw_sim -n prod-x -f "$T/old.json" >"$T/new.obj" 2>"$T/new.err" || rc=$?
check "CREATE after the override: the same Job is denied in prod-x" bash -c "[ $rc = 3 ] && grep -q 'violates rule not-a-hook' '$T/new.err'"
publish_yaml "$(cat "$TEAMS_YAML")
  - namespaces: [prod-x]
    imagePullSecret: {names: [prod-pull]}"
for _ in $(seq 50); do grep -q 'policy reload refused' "$HW_LOG" && break; sleep 0.1; done
check "live reload: a misspelt key in an override is refused at its line; the old policy keeps serving" bash -c \
  "grep -q 'policy reload refused.*policy.yaml:3[0-9]:5: unknown key \\\\\"imagePullSecret\\\\\" in /overrides/3' '$HW_LOG'"
hw_stop

# --check, policy show, render.
check "--check accepts the YAML file" "$HW_BIN" check --config "$TEAMS_YAML"
{ cat "$TEAMS_YAML"; printf '  - namespaces: ["team-c-*"]\n    imagePullSecret:\n      names: [team-c-pull]\n'; } >"$T/typo.yaml"
line=$(($(wc -l <"$TEAMS_YAML") + 2))
rc=0; "$HW_BIN" check --config "$T/typo.yaml" >"$T/typo.out" 2>&1 || rc=$?
check "--check refuses a misspelt key inside an override, naming its line" bash -c \
  "[ $rc = 1 ] && grep -qxF '$T/typo.yaml:$line:5: unknown key \"imagePullSecret\" in /overrides/3' '$T/typo.out'"
"$HW_BIN" policy show --config "$TEAMS_YAML" --namespace team-b-web >"$T/show.json" 2>"$T/show.err"
check "policy show --namespace team-b-web prints its effective secrets" python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
assert p["imagePullSecrets"] == {"mode": "merge", "names": ["team-b-pull", "regcred"]}, p["imagePullSecrets"]
assert p["rules"]["not-a-hook"] == "warn", p["rules"]
assert "overrides 1 (" in p["//"], p["//"]' "$T/show.json"
"$HW_BIN" policy show --config "$TEAMS_YAML" --namespace payments >"$T/show2.json" 2>/dev/null
check "policy show --namespace payments prints the denial" python3 -c '
import json, sys; p = json.load(open(sys.argv[1])); assert p["rules"]["not-a-hook"] == "deny", p' "$T/show2.json"
python3 -c '
import json, sys
o = json.load(open(sys.argv[1])); del o["metadata"]["namespace"]; json.dump(o, open(sys.argv[2], "w"))' \
  "$T/hook-dev.json" "$T/render-in.json"
"$HW_BIN" render --config "$TEAMS_YAML" --namespace team-a-api -f "$T/render-in.json" >"$T/render.yaml" 2>"$T/render.err"
check "render --namespace team-a-api applies team A's override" python3 - "$T/render.yaml" <<'PY'
import sys, yaml
o = yaml.safe_load(open(sys.argv[1]))
assert [s["name"] for s in o["spec"]["template"]["spec"]["imagePullSecrets"]] == ["team-a-pull"], o
PY
