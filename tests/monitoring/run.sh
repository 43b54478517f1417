#!/usr/bin/env bash
# tests/monitoring/run.sh: checks deploy/monitoring (make test-monitoring).
#
# 1. hookwarden.rules.yaml passes `promtool check rules` and has the alerts
#    docs/operations.md lists; prometheusrule.yaml carries exactly its groups
#    and passes promtool too once unwrapped;
# 2. `promtool test rules tests/monitoring/rules.test.yaml`: every alert fires
#    on its series, with its labels and annotations, and not on look-alikes;
# 3. the Grafana dashboard is JSON, every panel has queries, and every query
#    is valid PromQL (promtool checks them as recording rules);
# 4. against a running hookwarden: every hookwarden_* metric the rules and the
#    dashboard query exists in /metrics, and docs/operations.md's metric table
#    names exactly the metrics /metrics serves.
#
# One line per check; the last line is "N passed, M failed". HOOKWARDEN
# overrides the binary (default build/hookwarden).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
hw=${HOOKWARDEN:-$root/build/hookwarden}
mon=deploy/monitoring
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
flunk() { failed=$((failed + 1)); echo "FAIL $*"; }
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		flunk "$name"
		printf '%s\n' "$out" | sed 's/^/    /' | head -40
	fi
}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

for tool in promtool python3 curl; do
	command -v "$tool" >/dev/null || { flunk "tool $tool is installed (mk/install-deps.sh)"; echo "$passed passed, $failed failed"; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || { flunk "python3-yaml is installed"; echo "$passed passed, $failed failed"; exit 1; }

# ---------------------------------------------------------------- 1. rules ----
check "promtool check rules $mon/hookwarden.rules.yaml" promtool check rules "$mon/hookwarden.rules.yaml"
check "the rules hold every alert docs/operations.md promises (9)" python3 - "$mon/hookwarden.rules.yaml" <<'PY'
import sys, yaml
alerts = [r["alert"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
want = ["HookwardenWebhookErrors", "HookwardenWebhookCallsFailing", "HookwardenDeniedJobs",
        "HookwardenLatencyOverBudget", "HookwardenCallLatencyOverBudget", "HookwardenCertificateExpiresSoon",
        "HookwardenReloadFailed", "HookwardenNoReadyReplica", "HookwardenConnectionsRejected"]
doc = open("docs/operations.md").read()
missing = [a for a in want if a not in alerts]
undocumented = [a for a in alerts if "`%s`" % a not in doc]
if missing or undocumented or sorted(alerts) != sorted(want):
    sys.exit("missing %s, undocumented %s, found %s" % (missing, undocumented, alerts))
PY
check "prometheusrule.yaml carries exactly the groups of hookwarden.rules.yaml" python3 - "$mon" "$tmp/unwrapped.yaml" <<'PY'
import sys, yaml
d = sys.argv[1]
plain = yaml.safe_load(open(d + "/hookwarden.rules.yaml"))
cr = yaml.safe_load(open(d + "/prometheusrule.yaml"))
assert cr["apiVersion"] == "monitoring.coreos.com/v1" and cr["kind"] == "PrometheusRule", cr.get("kind")
if cr["spec"]["groups"] != plain["groups"]:
    sys.exit("prometheusrule.yaml and hookwarden.rules.yaml differ")
yaml.safe_dump({"groups": cr["spec"]["groups"]}, open(sys.argv[2], "w"))
PY
check "promtool check rules on prometheusrule.yaml's spec" promtool check rules "$tmp/unwrapped.yaml"
check "promtool test rules tests/monitoring/rules.test.yaml" promtool test rules "$here/rules.test.yaml"
# The tests bite: a rule with a changed threshold must fail them.
sed 's/< 14 \* 86400/< 7 * 86400/' "$mon/hookwarden.rules.yaml" >"$tmp/broken.rules.yaml"
sed "s#../../deploy/monitoring/hookwarden.rules.yaml#$tmp/broken.rules.yaml#" "$here/rules.test.yaml" >"$tmp/broken.test.yaml"
if promtool test rules "$tmp/broken.test.yaml" >/dev/null 2>&1; then
	flunk "negative: the rule tests fail when the certificate threshold changes"
else
	pass "negative: the rule tests fail when the certificate threshold changes"
fi

# ------------------------------------------------------------ 2. dashboard ----
check "the dashboard's queries are valid PromQL (as recording rules, promtool)" python3 - "$mon/hookwarden-dashboard.json" "$tmp/dash.rules.yaml" <<'PY'
import json, sys, yaml
d = json.load(open(sys.argv[1]))
assert d.get("uid") and d.get("title") and d.get("panels"), "uid, title, panels"
rules = []
for p in d["panels"]:
    t = p.get("targets") or []
    assert t and all(x.get("expr") for x in t), "panel %r has no query" % p.get("title")
    for x in t:
        expr = x["expr"].replace("$__rate_interval", "5m")
        assert "$" not in expr, "unknown variable in %r" % expr
        rules.append({"record": "dashboard:panel_%d_%s" % (p["id"], x["refId"]), "expr": expr})
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
print(len(rules), "queries")
PY
check "promtool check rules on the dashboard's queries" promtool check rules "$tmp/dash.rules.yaml"

# ------------------------------------------------ 3. against a live server ----
if [ ! -x "$hw" ]; then
	flunk "a running hookwarden serves every metric queried (no binary $hw: run make)"
	echo "$passed passed, $failed failed"
	exit 1
fi
"$hw" gen-certs --dir "$tmp/certs" --service hookwarden --namespace hookwarden --loopback >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$hw" serve --tls-cert-file "$tmp/certs/tls.crt" --tls-private-key-file "$tmp/certs/tls.key" \
	--bind-address 127.0.0.1 --port "$port" --shutdown-grace-period 0 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 100); do
	curl -sf --cacert "$tmp/certs/ca.crt" "https://127.0.0.1:$port/metrics" >"$tmp/metrics" 2>/dev/null && break
	sleep 0.05
done
check "hookwarden serves /metrics" test -s "$tmp/metrics"
check "every hookwarden_* metric the rules and the dashboard query exists in /metrics" python3 - "$tmp/metrics" \
	"$mon/hookwarden.rules.yaml" "$mon/hookwarden-dashboard.json" <<'PY'
import re, sys
served = set()
for line in open(sys.argv[1]):
    m = re.match(r"(hookwarden_[a-z_]+)[{ ]", line)
    if m:
        served.add(m.group(1))
used = set()
for f in sys.argv[2:]:
    used |= set(re.findall(r"\bhookwarden_[a-z_]+", open(f).read()))
used -= {"hookwarden_dashboard"}
missing = sorted(used - served)
if missing:
    sys.exit("queried but not served: %s" % missing)
print(len(used), "metrics queried, all served")
PY
check "docs/operations.md's metric table names exactly the metrics /metrics serves" python3 - "$tmp/metrics" docs/operations.md <<'PY'
import re, sys
families = set(re.findall(r"^# TYPE (hookwarden_[a-z_]+) ", open(sys.argv[1]).read(), re.M))
doc = set(re.findall(r"^\| `(hookwarden_[a-z_]+)` \|", open(sys.argv[2]).read(), re.M))
if families != doc:
    sys.exit("served, not documented: %s; documented, not served: %s" % (sorted(families - doc), sorted(doc - families)))
PY
check "the HELP texts docs/operations.md quotes are the ones /metrics serves" python3 - "$tmp/metrics" docs/operations.md <<'PY'
import re, sys
served = set(l.rstrip("\n") for l in open(sys.argv[1]) if l.startswith("# HELP "))
quoted = set(re.findall(r"^(# HELP hookwarden_.*)$", open(sys.argv[2]).read(), re.M))
if not quoted or quoted - served:
    sys.exit("quoted HELP lines not served: %s" % sorted(quoted - served))
PY
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
