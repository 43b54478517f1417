# shellcheck shell=bash
# Commands, help and the admission log line, as an operator meets them
# (issue #13): every command's --help, `help`, a misspelt command or flag
# answered with the nearest one, --version; docs/operations.md's serve flag
# table against `serve --help`; the `admission` line of a denied and of a
# warned Job naming the rules and, on denial, the message the user saw; probe
# answers keeping their connection.

ROOT=${ROOT:-$(cd "$HERE/../.." && pwd)}

for cmd in serve gen-certs check render lint version; do
  if out=$("$HW_BIN" "$cmd" --help 2>&1) && printf '%s\n' "$out" | head -1 | grep -q "^usage: hookwarden $cmd"; then
    ok "hookwarden $cmd --help: exit 0, usage first"
  else
    fail "hookwarden $cmd --help: exit 0, usage first"; printf '%s\n' "$out" | head -5 | sed 's/^/     | /'
  fi
done
check "hookwarden help gen-certs: flags with ranges and defaults" sh -c \
  '"$1" help gen-certs | grep -q -- "--days N .*(1-3650, default 365)"' sh "$HW_BIN"
check "hookwarden help: lists every command" sh -c \
  'out=$("$1" help) && for c in serve gen-certs check render lint version help; do printf "%s\n" "$out" | grep -q "^  hookwarden $c" || exit 1; done' sh "$HW_BIN"
check "hookwarden bogus: exit 2, names the commands" sh -c \
  '"$1" bogus 2>&1 >/dev/null | grep -q "unknown command \"bogus\""; [ "$("$1" bogus >/dev/null 2>&1; echo $?)" = 2 ]' sh "$HW_BIN"
check "hookwarden srve: did you mean serve?" sh -c '"$1" srve 2>&1 | grep -q "did you mean serve?"' sh "$HW_BIN"
check "hookwarden serve --tls-cert: did you mean --tls-cert-file?" sh -c \
  '"$1" serve --tls-cert x 2>&1 | grep -q -- "did you mean --tls-cert-file?"' sh "$HW_BIN"
check "hookwarden --version: hookwarden X.Y.Z[-suffix]" sh -c \
  '"$1" --version | grep -Eqx "hookwarden [0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?"' sh "$HW_BIN"
check "gen-certs refuses an invalid Service name" sh -c \
  '! "$1" gen-certs --dir "$2/x" --service Hook_Warden --namespace ns 2>"$2/gc.err" && grep -q "not a valid Service name" "$2/gc.err" && [ ! -e "$2/x" ]' sh "$HW_BIN" "$HW_TMP"

check "docs/operations.md's serve flag table is serve --help's flags, with the same defaults" python3 - "$HW_BIN" "$ROOT/docs/operations.md" <<'PY'
import re, subprocess, sys
help = subprocess.run([sys.argv[1], "serve", "--help"], capture_output=True, text=True, check=True).stdout
flags = {}
for line in help.splitlines():
    m = re.match(r"  (--[a-z-]+)", line)
    if m:
        d = re.search(r"default ([^,)]+)\)$", line)
        flags[m.group(1)] = d.group(1) if d else None
doc = open(sys.argv[2]).read()
table = doc[doc.index("## `serve` flags"):doc.index("## Debugging")]
rows = {}
for m in re.finditer(r"^\| `(--[a-z-]+)[^`]*` \| ([^|]*) \|", table, re.M):
    rows[m.group(1)] = m.group(2).strip().strip("`")
if set(rows) != set(flags):
    sys.exit("help only: %s; doc only: %s" % (sorted(set(flags) - set(rows)), sorted(set(rows) - set(flags))))
for f, d in flags.items():
    if d and d[0].isdigit() and rows[f] != d:
        sys.exit("%s: help says default %s, the doc %s" % (f, d, rows[f]))
PY

# The admission line of a denied Job: the rule and the message the user saw.
case_dir="$ROOT/tests/data/review/create-zitadel-ttl-zero-denied"
if hw_start cli-deny --config "$case_dir/policy.json"; then
  hw_curl /mutate -H 'Content-Type: application/json' --data-binary @"$case_dir/request.json" >"$HW_TMP/deny.json"
  sleep 0.2
  check "denied admission: its log line names the rule and carries the message sent" python3 - "$HW_LOG" "$HW_TMP/deny.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"msg":"admission"' in l]
resp = json.load(open(sys.argv[2]))["response"]
assert resp["allowed"] is False, resp
line = lines[-1]
assert line["decision"] == "denied", line
assert line["rules"].get("ttl-after-finished") == "deny", line
assert line["message"] == resp["status"]["message"], (line["message"], resp["status"]["message"])
assert "ttl-after-finished" in line["message"], line["message"]
PY
  check "/readyz answers without Connection: close while serving (probes keep their connection)" sh -c \
    'h=$(curl -si --cacert "$1/ca.crt" "https://127.0.0.1:$2/readyz") && printf "%s" "$h" | grep -q "^HTTP/1.1 200" && ! printf "%s" "$h" | grep -qi "^connection: close"' \
    sh "$HW_CERTS" "$HW_PORT"
  hw_stop
fi
if hw_start cli-warn; then
  hw_curl /mutate -H 'Content-Type: application/json' \
    --data-binary @"$ROOT/tests/data/review/create-posthog-not-a-hook-warns/request.json" >"$HW_TMP/warn.json"
  sleep 0.2
  check "warned admission: its log line names the rule and action, and no message" python3 - "$HW_LOG" <<'PY'
import json, sys
line = [json.loads(l) for l in open(sys.argv[1]) if '"msg":"admission"' in l][-1]
assert line["decision"] in ("allowed", "mutated"), line
assert line["rules"] == {"not-a-hook": "warn"}, line
assert "message" not in line, line
PY
  hw_stop
fi
