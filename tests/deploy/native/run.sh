#!/usr/bin/env bash
# tests/deploy/native/run.sh: the native admission policies that `hookwarden
# export admission-policy` writes, proven equal to the webhook (issue #19).
#
#   tests/deploy/native/run.sh [BINARY]        (or: make test-native)
#   NATIVE_ONLY=SUBSTRING                      only the cases whose name has it
#
# For the built-in default policy, every policy in tests/deploy/native/policies
# and every golden case's policy.json:
# 1. export the policies; every object validates against the Kubernetes v1
#    schemas (kubernetes-models, ../validate.mjs, unknown fields refused);
# 2. serve the same policy with the webhook;
# 3. native.mjs puts every case (cases.mjs) through both, admission-sim
#    playing kube-apiserver, and compares final Jobs, verdicts, denial texts,
#    rule warnings and audit annotations.
# Then the command's refusals and notes. One line per check; the last line is
# "N passed, M failed"; exit 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
deploy=$root/tests/deploy
hw=$(realpath "${1:-$root/build/hookwarden}")
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
flunk() { failed=$((failed + 1)); echo "FAIL $*"; }

work=$(mktemp -d /tmp/hw-native.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

sim=$("$root/tests/apiserver/cached.sh" "$root/build/tools") || { echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$deploy/node_modules/@bufbuild/cel" ] || [ ! -d "$deploy/node_modules/kubernetes-models" ]; then
	if ! npm ci --prefix "$deploy" --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1; then
		cat "$work/npm.log"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
"$hw" gen-certs --dir "$work/certs" --service hookwarden --namespace hookwarden --loopback >/dev/null || exit 1

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# serve POLICY-OR-default: starts the webhook with that policy; sets URL.
serve() {
	local port log flags=()
	port=$(free_port)
	log="$work/serve-$port.log"
	[ "$1" = default ] || flags=(--config "$1")
	"$hw" serve --tls-cert-file "$work/certs/tls.crt" --tls-private-key-file "$work/certs/tls.key" \
		--bind-address 127.0.0.1 --port "$port" --shutdown-grace-period 0 --log-level off "${flags[@]}" \
		>/dev/null 2>"$log" &
	pids+=($!)
	for _ in $(seq 100); do
		curl -sf --cacert "$work/certs/ca.crt" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		sleep 0.05
	done
	URL="https://127.0.0.1:$port/mutate"
}

policy_args=()
i=0
for p in default "$here"/policies/*.json "$here"/policies/*.yaml "$root"/tests/data/review/*/policy.json; do
	i=$((i + 1))
	yaml=$work/export-$i.yaml
	flags=()
	[ "$p" = default ] || flags=(--config "$p")
	label=${p#"$root"/}
	if ! "$hw" export admission-policy "${flags[@]}" >"$yaml" 2>"$work/notes-$i"; then
		flunk "export $label: $(cat "$work/notes-$i")"
		continue
	fi
	if node "$deploy/validate.mjs" "native $label" "$yaml" >"$work/schema-$i" 2>&1; then
		pass "export $label: $(grep -c '^PASS' "$work/schema-$i") checks against the v1 schemas"
	else
		flunk "export $label: schema"
		grep -v '^PASS' "$work/schema-$i" | sed 's/^/     | /'
	fi
	serve "$p"
	policy_args+=(--policy "$p=$URL,$yaml")
done

mkdir -p "$work/cases"
node "$here/native.mjs" --sim "$sim" --ca "$work/certs/ca.crt" --data "$root/tests/data" \
	--work "$work/cases" ${NATIVE_ONLY:+--only "$NATIVE_ONLY"} "${policy_args[@]}" >"$work/native.out" 2>&1
rc=$?
grep -v '^[0-9]* passed, [0-9]* failed$' "$work/native.out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/native.out" | tail -1)
if [ -n "$line" ]; then
	passed=$((passed + ${line%% *}))
	f=${line#*, }
	failed=$((failed + ${f%% *}))
fi
[ -n "$line" ] || flunk "native.mjs did not finish (exit $rc)"

# The command itself: what it refuses, and the notes it prints.
if "$hw" export admission-policy --name Bad_Name >/dev/null 2>"$work/err"; then
	flunk "an invalid --name is refused"
else
	grep -q -- "--name Bad_Name: not a valid name" "$work/err" && pass "an invalid --name is refused, naming the flag" ||
		flunk "invalid --name message: $(cat "$work/err")"
fi
if "$hw" export >/dev/null 2>"$work/err"; then
	flunk "export with nothing to export is refused"
else
	grep -q "export needs what to write: hookwarden export admission-policy" "$work/err" &&
		pass "export with nothing to export says what it writes" || flunk "bare export: $(cat "$work/err")"
fi
"$hw" export admission-policy >/dev/null 2>"$work/err"
grep -q '^note: a MutatingAdmissionPolicy has no warning channel' "$work/err" &&
	pass "the export notes what has no native twin (the replaced-by warnings)" ||
	flunk "no warning-channel note: $(cat "$work/err")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
