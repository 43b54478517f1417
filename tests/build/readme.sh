#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/build/readme.sh (`make test-readme`, part of `make test`): README.md's
# "Try it" section works as printed. It serves hookwarden the way `make run`
# does (gen-certs certificates, 127.0.0.1, a free port instead of 8443, a
# temporary directory instead of certs/dev/), takes the curl command out of
# the README, runs it from the repository root and compares what comes back
# with what the README says it prints: the patch operations, the warning, the
# decoding one-liner. When tests/apiserver/ is in the tree it runs the
# stand-in example too (`make sim`, then the printed command). The example Job
# must stay the chart's Job plus the opt-in label.
#   tests/build/readme.sh [HOOKWARDEN]      (default build/hookwarden)
# One line per check; the last line is "N passed, M failed"; exit 1 on failure.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
hw=$(realpath "${1:-build/hookwarden}")
tmp=$(mktemp -d /tmp/hw-readme.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
flunk() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

# block FIRST-WORDS: the README code line starting with FIRST-WORDS (after the
# 4-space indent) and its continuation lines, indent removed.
block() {
	awk -v first="    $1" '
		!on && index($0, first) == 1 { on = 1 }
		on { sub(/^    /, ""); print; if ($0 !~ /\\$/) exit }' README.md
}
# as_here CMD: the README command pointed at this run's certificates and port.
as_here() {
	sed -e "s#certs/dev/#$tmp/certs/#g" -e "s#127\.0\.0\.1:8443#127.0.0.1:$port#g" <<<"$1"
}

curl_cmd=$(block "curl ")
[ -n "$curl_cmd" ] || { flunk "README.md has a curl command in an indented block"; finish; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$hw" gen-certs --dir "$tmp/certs" --service hookwarden --namespace hookwarden --loopback >"$tmp/gen.log" 2>&1 ||
	{ flunk "gen-certs: $(cat "$tmp/gen.log")"; finish; }
"$hw" serve --tls-cert-file "$tmp/certs/tls.crt" --tls-private-key-file "$tmp/certs/tls.key" \
	--bind-address 127.0.0.1 --port "$port" --shutdown-grace-period 0 >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -sf --cacert "$tmp/certs/ca.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.05
done

# 1. The curl command as printed: valid JSON out, and what the README says.
if bash -c "$(as_here "$curl_cmd")" >"$tmp/curl.out" 2>"$tmp/curl.err" && [ -s "$tmp/curl.out" ]; then
	pass "the README's curl command runs and prints JSON"
else
	flunk "the README's curl command: $(head -c 300 "$tmp/curl.err") $(head -3 "$tmp/serve.log")"
	finish
fi
python3 - "$tmp/curl.out" README.md tests/data/reviews/create-airflow-v1.json <<'PY' >"$tmp/claims" 2>&1
import base64, json, re, sys
doc = json.load(open(sys.argv[1]))
if "response" not in doc:
    sys.exit(f"the server sent no AdmissionReview response: {json.dumps(doc)[:200]}")
out = doc["response"]
readme = open(sys.argv[2]).read()
section = readme[readme.index("## Try it"):]
sent = json.load(open(sys.argv[3]))["request"]["uid"]
problems = []
if out.get("uid") != sent or out.get("allowed") is not True:
    problems.append(f"uid/allowed: {out.get('uid')} {out.get('allowed')}")
# The decoded operations the README lists: `op path [json value]`.
said = section[section.index("(decoded:"):section.index("and the warning")]
ops = []
for m in re.finditer(r"`(add|replace|remove) (\S+)(?: (.+?))?`", said):
    op = {"op": m.group(1), "path": m.group(2)}
    if m.group(3):
        op["value"] = json.loads(m.group(3))
    ops.append(op)
got = json.loads(base64.b64decode(out["patch"]))
if ops != got:
    problems.append(f"patch: the README says {ops}, the server sent {got}")
warn = re.search(r"the warning\s+`([^`]+)`", section).group(1)
if out.get("warnings") != [warn]:
    problems.append(f"warnings: the README says [{warn!r}], the server sent {out.get('warnings')}")
print("; ".join(problems) if problems else f"{len(ops)} patch operations and the warning as the README says")
sys.exit(1 if problems else 0)
PY
if [ $? -eq 0 ]; then pass "$(cat "$tmp/claims")"; else flunk "$(cat "$tmp/claims")"; fi

# 2. The decoding variant: the one-liner in place of `python3 -m json.tool`.
decode=$(sed -n 's/.*`\(| python3 -c .*\)`$/\1/p' README.md | head -1)
if [ -n "$decode" ] &&
	bash -c "$(as_here "${curl_cmd%%| python3 -m json.tool*}") $decode" >"$tmp/decoded" 2>"$tmp/decoded.err" &&
	python3 -c 'import base64, json, sys
got = json.load(open(sys.argv[1]))
want = json.loads(base64.b64decode(json.load(open(sys.argv[2]))["response"]["patch"]))
sys.exit(got != want)' "$tmp/decoded" "$tmp/curl.out"; then
	pass "the README's decoding one-liner prints the patch"
else
	flunk "the README's decoding one-liner (${decode:-not found}): $(head -c 300 "$tmp/decoded" "$tmp/decoded.err" 2>/dev/null)"
fi

# 3. The example Job is the chart's Job with the opt-in label, nothing else.
if python3 - tests/data/jobs/airflow-migrate.json tests/data/examples/airflow-migrate.json <<'PY'; then
import json, sys
job, example = (json.load(open(p)) for p in sys.argv[1:3])
for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
    labels["hookwarden.io/migration"] = "true"
sys.exit(job != example)
PY
	pass "tests/data/examples/airflow-migrate.json is tests/data/jobs/airflow-migrate.json plus the label"
else
	flunk "tests/data/examples/airflow-migrate.json drifted from tests/data/jobs/airflow-migrate.json"
fi

# 4. The stand-in example, when the stand-in is in this tree.
sim_cmd=$(block "build/tools/admission-sim ")
if [ ! -d tests/apiserver ]; then
	echo "skip the stand-in example: tests/apiserver/ is not in this tree (not counted)"
elif [ -z "$sim_cmd" ] || ! grep -q '^    make sim$' README.md; then
	flunk "README.md shows 'make sim' and a build/tools/admission-sim command"
elif ! make --no-print-directory sim >"$tmp/sim-build.log" 2>&1; then
	flunk "make sim: $(tail -3 "$tmp/sim-build.log")"
elif bash -c "$(as_here "$sim_cmd")" >"$tmp/sim.out" 2>"$tmp/sim.err" &&
	grep -qx 'Warning: restartPolicy OnFailure replaced by Never: a failed migration must not restart in place' "$tmp/sim.err" &&
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
a = j["metadata"].get("annotations", {})
sys.exit(not (a.get("helm.sh/hook") == "pre-install,pre-upgrade"
              and j["spec"]["template"]["spec"]["restartPolicy"] == "Never"))' "$tmp/sim.out"; then
	pass "the README's stand-in command prints the mutated Job and the warning"
else
	flunk "the README's stand-in command: $(head -c 300 "$tmp/sim.err")"
fi

kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
finish
