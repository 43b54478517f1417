#!/usr/bin/env bash
# tests/deploy/run.sh: check everything that installs hookwarden, with the real
# tools (kubectl kustomize, the Kubernetes schemas from the kubernetes-models npm
# packages, openssl, the hookwarden binary, make install).
#
#   tests/deploy/run.sh            (or: make test-deploy)
#
# 1. every kustomization under deploy/ renders (components over the base and
#    over the cert-manager overlay), every object validates against the schemas
#    and the safety properties hold field by field (assert.mjs);
# 2. the validator and the assertions reject deliberately broken input;
# 3. the policy ConfigMap passes `hookwarden --check`;
# 4. certs/make-overlay.sh makes overlays that render, validate and carry a CA
#    that signed the Secret's certificate, and rotates with overlap;
# 5. hookwarden serves /healthz and /readyz with exactly the rendered
#    Deployment's arguments and files, and stops cleanly on SIGTERM; then
#    admission-sim (tests/apiserver) calls it as kube-apiserver would from the
#    rendered MutatingWebhookConfiguration (caBundle, Service name, rules,
#    selectors, failurePolicy) of the make-overlay and failure-policy-ignore
#    overlays;
# 6. `make install DESTDIR=... PREFIX=/usr` gives a binary that runs --version;
# 7. the image build, emulated: the .dockerignore context builds, and the binary
#    runs (--version, then serve with the Deployment's paths) as uid 65532 in a
#    chroot holding only what the runtime image holds.
#
# One line per check; the last line is "N passed, M failed"; exit 1 on any
# failure. HOOKWARDEN overrides the binary (default build/hookwarden).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
hw=${HOOKWARDEN:-$root/build/hookwarden}

passed=0
failed=0
pass() {
	passed=$((passed + 1))
	echo "PASS $*"
}
flunk() {
	failed=$((failed + 1))
	echo "FAIL $*"
}
# check NAME CMD...: one line for the outcome of a command; its output is shown
# only when it fails. Returns the command's success, so standalone calls end in
# `|| :` (set -e).
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		flunk "$name"
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /' | head -40
		return 1
	fi
}
# tally FILE RC WHAT: count the PASS/FAIL lines a node script printed; a
# non-zero exit without any FAIL line (a crash) is a failure of its own.
tally() {
	local file=$1 rc=$2 what=$3 line nfail=0
	while IFS= read -r line; do
		case $line in
		"PASS "*) passed=$((passed + 1)); echo "$line" ;;
		"FAIL "*) failed=$((failed + 1)); nfail=$((nfail + 1)); echo "$line" ;;
		*) echo "    $line" ;;
		esac
	done <"$file"
	if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
		flunk "$what: exited $rc without reporting a failed check"
	fi
}
finish() {
	echo "$passed passed, $failed failed"
	if [ "$failed" -eq 0 ]; then exit 0; fi
	exit 1
}

tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------- tools ----
for tool in kubectl node npm openssl curl python3; do
	if ! command -v "$tool" >/dev/null; then
		flunk "tool $tool is installed"
		finish
	fi
done
if [ ! -d "$here/node_modules/kubernetes-models" ] ||
	[ ! -d "$here/node_modules/@kubernetes-models/cert-manager" ] ||
	[ ! -d "$here/node_modules/@kubernetes-models/prometheus-operator" ] ||
	[ ! -d "$here/node_modules/yaml" ]; then
	echo "installing the npm packages pinned in tests/deploy/package-lock.json" >&2
	if ! npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1; then
		flunk "npm ci --prefix tests/deploy"
		sed 's/^/    /' "$tmp/npm.log" | tail -20
		finish
	fi
fi

# render LABEL DIR OUT: kubectl kustomize DIR > OUT, one check line.
render() {
	check "render $1 (kubectl kustomize)" sh -c 'kubectl kustomize "$1" >"$2"' sh "$2" "$3"
}
# verify LABEL FILE FAILURE_POLICY CA [extra assert.mjs args]: schema + safety.
verify() {
	local label=$1 file=$2 fp=$3 ca=$4 rc
	shift 4
	rc=0
	node "$here/validate.mjs" "$label" "$file" >"$tmp/out" 2>&1 || rc=$?
	tally "$tmp/out" "$rc" "schema $label"
	rc=0
	node "$here/assert.mjs" --label "$label" --failure-policy "$fp" --ca "$ca" "$@" "$file" >"$tmp/out" 2>&1 || rc=$?
	tally "$tmp/out" "$rc" "safety $label"
}
# overlay DIR RESOURCE [COMPONENT]: a throwaway overlay referencing the tree.
overlay() {
	local dir=$1 res=$2 comp=${3:-}
	mkdir -p "$dir"
	{
		echo "apiVersion: kustomize.config.k8s.io/v1beta1"
		echo "kind: Kustomization"
		echo "resources:"
		echo "  - $(realpath --relative-to="$dir" "$res")"
		if [ -n "$comp" ]; then
			echo "components:"
			echo "  - $(realpath --relative-to="$dir" "$comp")"
		fi
	} >"$dir/kustomization.yaml"
}

# ------------------------------------------- 1. every overlay in deploy/ ----
# What each kustomization must render to: failurePolicy and CA handling. A new
# overlay without an entry here fails, so that nothing under deploy/ goes
# untested.
expect() {
	case $1 in
	deploy | deploy/base) echo "Fail none" ;;
	deploy/cert-manager) echo "Fail cert-manager" ;;
	deploy/failure-policy-ignore) echo "component Ignore" ;;
	deploy/monitoring) echo "monitoring" ;;
	*) echo "unknown" ;;
	esac
}
n=0
base_n=none
mon_n=none
while IFS= read -r kfile; do
	dir=${kfile%/kustomization.yaml}
	set -- $(expect "$dir")
	case $1 in
	unknown)
		flunk "deploy overlay $dir has expectations in tests/deploy/run.sh (add it to expect())"
		continue
		;;
	monitoring)
		# Not an install: checked against the base after the loop.
		n=$((n + 1))
		mon_n=$n
		render "$dir" "$dir" "$tmp/r$n.yaml" || mon_n=none
		continue
		;;
	component)
		# A component renders only inside an overlay: over the base and over
		# the cert-manager overlay.
		fp=$2
		for over in base cert-manager; do
			n=$((n + 1))
			overlay "$tmp/r$n" "deploy/$over" "$dir"
			label="$dir over deploy/$over"
			ca=none
			[ "$over" = cert-manager ] && ca=cert-manager
			render "$label" "$tmp/r$n" "$tmp/r$n.yaml" && verify "$label" "$tmp/r$n.yaml" "$fp" "$ca" || :
		done
		;;
	*)
		n=$((n + 1))
		[ "$dir" != deploy/base ] || base_n=$n
		render "$dir" "$dir" "$tmp/r$n.yaml" &&
			verify "$dir" "$tmp/r$n.yaml" "$1" "$2" --policy-out "$tmp/policy-$n.yaml" || :
		;;
	esac
done < <(find deploy -name kustomization.yaml | sort)
[ "$n" -gt 0 ] || flunk "found kustomizations under deploy/"

if [ "$mon_n" != none ] && [ "$base_n" != none ]; then
	rc=0
	node "$here/validate.mjs" deploy/monitoring "$tmp/r$mon_n.yaml" >"$tmp/out" 2>&1 || rc=$?
	tally "$tmp/out" "$rc" "schema deploy/monitoring"
	rc=0
	node "$here/monitoring.mjs" "$tmp/r$mon_n.yaml" "$tmp/r$base_n.yaml" >"$tmp/out" 2>&1 || rc=$?
	tally "$tmp/out" "$rc" "deploy/monitoring against the base"
fi

# The overlay install.md's "Customising" shows, written out as a user would
# (an image of their own, a policy file in configMapGenerator), over the
# cert-manager overlay: it renders, validates, runs their image and installs
# their policy, and nothing else changes.
cust=$tmp/my-cluster
mkdir -p "$cust"
python3 - docs/install.md "$cust" <<'PY2'
import re, sys
doc = open(sys.argv[1]).read()
m = re.search(r"```yaml\n(# my-cluster/kustomization.yaml\n.*?)```", doc, re.S)
if not m:
    sys.exit("docs/install.md has no '# my-cluster/kustomization.yaml' example")
text = m.group(1).replace("../deploy/cert-manager", sys.argv[3] if len(sys.argv) > 3 else "DEPLOY/cert-manager")
open(sys.argv[2] + "/kustomization.yaml", "w").write(text)
PY2
sed -i "s#DEPLOY/cert-manager#$(realpath --relative-to="$cust" deploy/cert-manager)#" "$cust/kustomization.yaml"
# As the page says: a copy of deploy/base/policy.yaml, edited.
sed 's/^  not-a-hook: warn$/  not-a-hook: deny/' deploy/base/policy.yaml >"$cust/policy.yaml"
check "Customising overlay: the edit changed the copy of deploy/base/policy.yaml" grep -qx '  not-a-hook: deny' "$cust/policy.yaml"
if render "docs/install.md Customising overlay" "$cust" "$tmp/cust.yaml"; then
	verify "docs/install.md Customising overlay" "$tmp/cust.yaml" Fail cert-manager --policy-out "$tmp/cust-policy.yaml"
	check "Customising overlay: runs the overlay's image and installs its policy.yaml" python3 - "$tmp/cust.yaml" "$cust/policy.yaml" <<'PY2'
import sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
dep = next(o for o in objs if o["kind"] == "Deployment")
image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
assert image == "registry.example.com/platform/hookwarden:0.1.0", image
cm = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("hookwarden-policy")]
assert len(cm) == 1 and cm[0]["metadata"]["name"] == "hookwarden-policy", [c["metadata"]["name"] for c in cm]
assert cm[0]["data"]["policy.yaml"] == open(sys.argv[2]).read(), cm[0]["data"]
PY2
fi

# The base's policy, as installed (every overlay carries the same ConfigMap).
policy=$tmp/policy.yaml
base_render=$tmp/r$base_n.yaml
base_policy=$tmp/policy-$base_n.yaml
if [ -f "$base_policy" ]; then
	cp "$base_policy" "$policy"
	same=1
	for f in "$tmp"/policy-*.yaml; do cmp -s "$f" "$policy" || same=0; done
	if [ "$same" = 1 ]; then pass "every overlay installs the same policy.yaml"; else flunk "every overlay installs the same policy.yaml"; fi
fi

# ------------------------------------------- 2. the checks themselves bite ----
rc=0
node "$here/validate.mjs" negative "$here/negative/schema-invalid.yaml" >"$tmp/neg" 2>&1 || rc=$?
nobj=$(grep -c '^kind: ' "$here/negative/schema-invalid.yaml")
nrej=$(grep -c '^FAIL schema negative: ' "$tmp/neg" || true)
if [ "$rc" -ne 0 ] && [ "$nrej" -eq "$nobj" ] &&
	grep -q 'replicas must be integer' "$tmp/neg" &&
	grep -q 'must have required property selector' "$tmp/neg" &&
	grep -q 'failurePolicy must be equal to one of the allowed values' "$tmp/neg" &&
	grep -q 'unknown field(s): spec.template.spec.containers\[0\].securityContext.readOnlyRootFileSystem' "$tmp/neg" &&
	grep -q 'duration must be string' "$tmp/neg" &&
	grep -q 'tls.crt must match format "byte"' "$tmp/neg" &&
	grep -q 'no schema for example.com/v1 Widget' "$tmp/neg"; then
	pass "negative: the validator rejects all $nobj broken objects in negative/schema-invalid.yaml, each for its reason"
else
	flunk "negative: the validator rejects all $nobj broken objects ($nrej rejected, exit $rc)"
	sed 's/^/    /' "$tmp/neg"
fi

if kubectl kustomize "$here/negative/unsafe-webhook" >"$tmp/unsafe.yaml" 2>"$tmp/unsafe.err"; then
	rc=0
	node "$here/assert.mjs" --label unsafe --failure-policy Fail --ca none "$tmp/unsafe.yaml" >"$tmp/neg" 2>&1 || rc=$?
	missing=
	for want in "rules: only batch/v1 jobs" "objectSelector: only Jobs" "namespaceSelector excludes" \
		"sideEffects: None" "timeoutSeconds set and small" "reinvocationPolicy: IfNeeded" \
		"ServiceAccount mounts no token" "Deployment: at least 2 replicas" "resources: small requests" "securityContext: non-root" \
		"every volume mount is read-only"; do
		grep -q "^FAIL safety unsafe: $want" "$tmp/neg" || missing="$missing [$want]"
	done
	if [ "$rc" -ne 0 ] && [ -z "$missing" ]; then
		pass "negative: the safety assertions flag each property broken in negative/unsafe-webhook"
	else
		flunk "negative: the safety assertions flag each broken property (exit $rc; not flagged:$missing)"
		sed 's/^/    /' "$tmp/neg"
	fi
else
	flunk "negative: render negative/unsafe-webhook"
	sed 's/^/    /' "$tmp/unsafe.err"
fi

# --------------------------------------------- binary-dependent checks ----
have_hw=1
if [ ! -x "$hw" ]; then
	have_hw=0
	need="needs $hw, which does not exist yet (run make)"
	flunk "policy ConfigMap passes hookwarden --check: $need"
	flunk "certs/make-overlay.sh: $need"
	flunk "hookwarden serves with the Deployment's arguments: $need"
fi

# ------------------------------------------- 3. the installed policy ----
if [ "$have_hw" = 1 ]; then
	if [ -f "$policy" ]; then
		check "policy ConfigMap's policy.yaml passes hookwarden --check --config" "$hw" --check --config "$policy" || :
		# And it is the policy the binary has built in, key for key.
		check "policy ConfigMap's policy.yaml is the built-in default policy" \
			cmp <("$hw" policy show --config "$policy" | grep -v '^  "//"') <("$hw" policy show | grep -v '^  "//"')
	else
		flunk "policy ConfigMap's policy.yaml passes hookwarden --check (no policy was extracted)"
	fi
	# And --check is a real check: an unknown key must be refused, at its line.
	{ cat "$policy"; printf 'restartPolicyy: {mode: enforce}\n'; } >"$tmp/bad-policy.yaml"
	bad_line=$(wc -l <"$tmp/bad-policy.yaml")
	if out=$("$hw" --check --config "$tmp/bad-policy.yaml" 2>&1); then
		flunk "negative: hookwarden --check refuses a policy with an unknown key (it accepted it)"
	elif printf '%s\n' "$out" | grep -q "bad-policy.yaml:$bad_line:1: unknown key \"restartPolicyy\""; then
		pass "negative: hookwarden --check refuses a policy with an unknown key, as FILE:LINE:COL"
	else
		flunk "negative: hookwarden --check reports FILE:LINE:COL for an unknown key"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
fi

# ------------------------------------------- 4. certs/make-overlay.sh ----
# cert_checks LABEL DIR SERVICE NAMESPACE RENDERED
cert_checks() {
	local label=$1 dir=$2 svc=$3 ns=$4 rendered=$5
	check "$label: no CA key left behind, tls.key private (0600)" sh -c '
		[ ! -e "$1/ca.key" ] || { echo "ca.key present"; exit 1; }
		m=$(stat -c %a "$1/tls.key"); [ "$m" = 600 ] || { echo "tls.key mode $m"; exit 1; }' sh "$dir" || :
	check "$label: tls.crt chains to ca.crt and names $svc.$ns.svc" sh -c '
		openssl verify -CAfile "$1/ca.crt" "$1/tls.crt" &&
		openssl x509 -in "$1/tls.crt" -noout -ext subjectAltName | grep -q "DNS:$2.$3.svc\(,\|$\)" &&
		openssl x509 -in "$1/tls.crt" -noout -checkend 86400' sh "$dir" "$svc" "$ns" || :
	if [ -f "$policy" ]; then
		check "$label: hookwarden --check accepts the pair with the policy" \
			"$hw" --check --config "$policy" --tls-cert-file "$dir/tls.crt" --tls-private-key-file "$dir/tls.key" || :
	fi
	check "$label: tls.key is the key of tls.crt" sh -c '
		a=$(openssl x509 -in "$1/tls.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
		b=$(openssl pkey -in "$1/tls.key" -pubout -outform DER | sha256sum)
		[ "$a" = "$b" ]' sh "$dir" || :
	# Pull the rendered caBundle and Secret out and compare with the files.
	if node --input-type=module -e '
		import { loadObjects } from "'"$here"'/lib.mjs";
		import { writeFileSync } from "node:fs";
		const [file, out] = process.argv.slice(1);
		const objs = loadObjects(file);
		const mwc = objs.find((o) => o.kind === "MutatingWebhookConfiguration");
		const sec = objs.find((o) => o.kind === "Secret" && o.metadata.name === "hookwarden-tls");
		writeFileSync(out + ".bundle", Buffer.from(mwc.webhooks[0].clientConfig.caBundle, "base64"));
		for (const k of ["tls.crt", "tls.key"]) writeFileSync(out + "." + k, Buffer.from(sec.data[k], "base64"));
	' "$rendered" "$tmp/x" 2>"$tmp/x.err"; then
		check "$label: rendered Secret carries exactly the generated tls.crt and tls.key" sh -c '
			cmp "$1.tls.crt" "$2/tls.crt" && cmp "$1.tls.key" "$2/tls.key"' sh "$tmp/x" "$dir" || :
		check "$label: rendered caBundle decodes to the generated CA (then the previous CA, if any)" sh -c '
			if [ -e "$2/previous-ca.crt" ]; then cat "$2/ca.crt" "$2/previous-ca.crt"; else cat "$2/ca.crt"; fi >"$1.want"
			cmp "$1.bundle" "$1.want" && openssl verify -CAfile "$1.bundle" "$2/tls.crt"' sh "$tmp/x" "$dir" || :
	else
		flunk "$label: read caBundle and Secret from the render"
		sed 's/^/    /' "$tmp/x.err"
	fi
}

if [ "$have_hw" = 1 ]; then
	ov=$tmp/ov-default
	if check "make-overlay.sh hookwarden hookwarden DIR runs" env HOOKWARDEN="$hw" certs/make-overlay.sh hookwarden hookwarden "$ov" &&
		render "make-overlay default" "$ov" "$tmp/ov-default.yaml"; then
		verify "make-overlay default" "$tmp/ov-default.yaml" Fail bundle
		cert_checks "make-overlay default" "$ov" hookwarden hookwarden "$tmp/ov-default.yaml"
		cp "$ov/ca.crt" "$tmp/first-ca.crt"

		# Rotation: the second run publishes new + previous CA; the third drops the oldest.
		if check "make-overlay.sh rotates on the same directory" env HOOKWARDEN="$hw" certs/make-overlay.sh hookwarden hookwarden "$ov" &&
			render "make-overlay rotated" "$ov" "$tmp/ov-rot.yaml"; then
			verify "make-overlay rotated" "$tmp/ov-rot.yaml" Fail bundle
			cert_checks "make-overlay rotated" "$ov" hookwarden hookwarden "$tmp/ov-rot.yaml"
			check "rotation: the caBundle keeps the first CA beside the new one" sh -c '
				cmp "$1/previous-ca.crt" "$2" && ! cmp -s "$1/ca.crt" "$2" &&
				[ "$(grep -c "BEGIN CERTIFICATE" "$3.bundle")" = 2 ]' sh "$ov" "$tmp/first-ca.crt" "$tmp/x" || :
			if env HOOKWARDEN="$hw" certs/make-overlay.sh hookwarden hookwarden "$ov" 2>/dev/null &&
				render "make-overlay rotated twice" "$ov" "$tmp/ov-rot2.yaml"; then
				cert_checks "make-overlay rotated twice" "$ov" hookwarden hookwarden "$tmp/ov-rot2.yaml"
				check "rotation: a second rotation drops the oldest CA" sh -c '
					[ "$(grep -c "BEGIN CERTIFICATE" "$2.bundle")" = 2 ] &&
					! cmp -s "$3/previous-ca.crt" "$1" && ! cmp -s "$3/ca.crt" "$1"' sh "$tmp/first-ca.crt" "$tmp/x" "$ov" || :
			fi
		fi
	fi

	# --image and --failure-policy-ignore are kept by a rotation run, and the
	# overlay renders after it is moved anywhere (the base is copied into it).
	ov=$tmp/ov-image
	img=registry.example.com:5000/platform/hookwarden:0.1.0
	if check "make-overlay.sh --image $img --failure-policy-ignore runs" env HOOKWARDEN="$hw" certs/make-overlay.sh --image "$img" --failure-policy-ignore hookwarden hookwarden "$ov" &&
		check "make-overlay.sh rotation without options" env HOOKWARDEN="$hw" certs/make-overlay.sh hookwarden hookwarden "$ov"; then
		mkdir -p "$tmp/elsewhere/deeper"
		mv "$ov" "$tmp/elsewhere/deeper/moved"
		ov=$tmp/elsewhere/deeper/moved
		if render "make-overlay moved after rotation" "$ov" "$tmp/ov-image.yaml"; then
			verify "make-overlay moved after rotation" "$tmp/ov-image.yaml" Ignore bundle
			check "make-overlay: the rotation kept --image and the failure policy" python3 - "$tmp/ov-image.yaml" "$img" <<'PY2'
import sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
dep = next(o for o in objs if o["kind"] == "Deployment")
image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
assert image == sys.argv[2], image
mwc = next(o for o in objs if o["kind"] == "MutatingWebhookConfiguration")
assert mwc["webhooks"][0]["failurePolicy"] == "Ignore", mwc["webhooks"][0]["failurePolicy"]
PY2
		fi
		if env HOOKWARDEN="$hw" certs/make-overlay.sh --image 'Not An Image' hookwarden hookwarden "$ov" >/dev/null 2>&1; then
			flunk "negative: make-overlay.sh refuses an invalid --image"
		else
			pass "negative: make-overlay.sh refuses an invalid --image"
		fi
	fi

	ov=$tmp/ov-custom
	if check "make-overlay.sh --failure-policy-ignore --days 30 hw webhooks DIR runs" env HOOKWARDEN="$hw" certs/make-overlay.sh --failure-policy-ignore --days 30 hw webhooks "$ov" &&
		render "make-overlay hw/webhooks Ignore" "$ov" "$tmp/ov-custom.yaml"; then
		verify "make-overlay hw/webhooks Ignore" "$tmp/ov-custom.yaml" Ignore bundle
		cert_checks "make-overlay hw/webhooks" "$ov" hw webhooks "$tmp/ov-custom.yaml"
		check "make-overlay --days 30: the serving certificate expires within 31 days" sh -c '
			! openssl x509 -in "$1/tls.crt" -noout -checkend $((31 * 86400)) >/dev/null' sh "$ov" || :
	fi

	mkdir -p "$tmp/foreign"
	echo "resources: []" >"$tmp/foreign/kustomization.yaml"
	if env HOOKWARDEN="$hw" certs/make-overlay.sh hookwarden hookwarden "$tmp/foreign" >/dev/null 2>&1; then
		flunk "negative: make-overlay.sh refuses to overwrite a kustomization it did not write"
	elif [ "$(cat "$tmp/foreign/kustomization.yaml")" = "resources: []" ] && [ ! -e "$tmp/foreign/tls.key" ]; then
		pass "negative: make-overlay.sh refuses to overwrite a kustomization it did not write"
	else
		flunk "negative: make-overlay.sh left the foreign directory untouched"
	fi
fi

# ------------------------------ 5. serve with the Deployment's own arguments ----
# deployment_args ETC PORT: the rendered Deployment's container args, one a
# line, with /etc/hookwarden moved to ETC, the given port and a 2 s shutdown
# grace period.
deployment_args() {
	node --input-type=module -e '
		import { loadObjects } from "'"$here"'/lib.mjs";
		const [file, etc, port] = process.argv.slice(1);
		const d = loadObjects(file).find((o) => o.kind === "Deployment");
		const a = d.spec.template.spec.containers.find((c) => c.name === "hookwarden").args;
		const out = a.map((x) => x.replace(/^\/etc\/hookwarden(?=\/)/, etc));
		const set = (flag, v) => { const i = out.indexOf(flag); if (i >= 0) out[i + 1] = v; else out.push(flag, v); };
		set("--port", port);
		set("--shutdown-grace-period", "2");
		console.log(out.join("\n"));
	' "$base_render" "$1" "$2"
}
# install_files ETC: policy.yaml and tls/ laid out as the Deployment's volume lays them.
install_files() {
	mkdir -p "$1/tls"
	cp "$policy" "$1/policy.yaml"
	cp "$tmp/ov-default/tls.crt" "$tmp/ov-default/tls.key" "$1/tls/"
}
# deployment_memory: "REQUEST_BYTES LIMIT_BYTES" of the rendered container.
deployment_memory() {
	node --input-type=module -e '
		import { loadObjects } from "'"$here"'/lib.mjs";
		const d = loadObjects(process.argv[1]).find((o) => o.kind === "Deployment");
		const r = d.spec.template.spec.containers.find((c) => c.name === "hookwarden").resources;
		const b = (q) => { const m = String(q).match(/^([0-9]+)(Ki|Mi|Gi)?$/); return Number(m[1]) * ({ Ki: 1024, Mi: 1048576, Gi: 1073741824 }[m[2]] ?? 1); };
		console.log(b(r.requests.memory), b(r.limits.memory));
	' "$base_render"
}
# An AdmissionReview to load the server with: the Airflow migration Job's
# CREATE, as kube-apiserver sends it (tests/data/reviews).
review=$tmp/review.json
cp "$root/tests/data/reviews/create-airflow-v1.json" "$review"
big_review=$tmp/big-review.json
python3 - "$review" "$big_review" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
req = r["request"]
req["operation"] = "UPDATE"
req["object"].setdefault("metadata", {}).setdefault("annotations", {})["padding"] = "x" * (1400 * 1024)
req["oldObject"] = req["object"]
json.dump(r, open(sys.argv[2], "w"))
PY
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# serve_smoke LABEL PORT CHECK_GRACE CMD...: start CMD (a hookwarden serve),
# then check /healthz and /readyz over TLS verified by the generated CA, memory
# under load, /readyz 503 after SIGTERM (when CHECK_GRACE is 1), and exit 0.
serve_smoke() {
	local label=$1 port=$2 check_grace=$3 up=0 rc code
	shift 3
	# The production pair names the Service only (gen-certs without
	# --loopback), as kube-apiserver calls it: curl resolves that name here.
	local url=https://hookwarden.hookwarden.svc:$port cacert=$tmp/ov-default/ca.crt
	local rs=(--resolve "hookwarden.hookwarden.svc:$port:127.0.0.1")
	"$@" >"$tmp/serve.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 50); do
		if curl "${rs[@]}" -fsS --max-time 2 --cacert "$cacert" "$url/healthz" >/dev/null 2>&1; then
			up=1
			break
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.2
	done
	if [ "$up" = 1 ]; then
		pass "$label: GET /healthz 200 over TLS verified by the generated CA"
		check "$label: GET /readyz 200 (the readiness probe's path)" \
			curl "${rs[@]}" -fsS --max-time 2 --cacert "$cacert" "$url/readyz" || :
		# Memory against the Deployment's request and limit: 8 keep-alive
		# connections x 50 AdmissionReviews, then the peak and current RSS.
		local urls=() i mem req lim hwm rss idle answered
		idle=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$server_pid/status")
		for i in $(seq 1 50); do urls+=("$url/mutate?timeout=5s"); done
		local loaders=()
		for i in $(seq 1 8); do
			curl "${rs[@]}" -sS --max-time 60 --cacert "$cacert" -H 'Content-Type: application/json' \
				--data-binary @"$review" "${urls[@]}" >"$tmp/load.$i" 2>&1 &
			loaders+=($!)
		done
		wait "${loaders[@]}" 2>/dev/null || true
		answered=$(cat "$tmp"/load.* | grep -o '"allowed": *true' | wc -l)
		read -r req lim < <(deployment_memory)
		hwm=$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$server_pid/status")
		rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$server_pid/status")
		mem="RSS $((idle / 1024)) KiB idle, peak $((hwm / 1024)) KiB, $((rss / 1024)) KiB after $answered/400 allowed reviews; request $((req / 1048576))Mi, limit $((lim / 1048576))Mi"
		if [ "$answered" -eq 400 ] && [ "$hwm" -lt "$lim" ] && [ "$rss" -lt "$req" ]; then
			pass "$label: memory under load fits the Deployment ($mem)"
		else
			flunk "$label: memory under load fits the Deployment: peak below the limit, idle below the request ($mem)"
		fi
		# Worst case: 8 UPDATE reviews at once, each carrying a Job at etcd's
		# ~1.5 MiB object limit twice (object and oldObject).
		loaders=()
		for i in $(seq 1 8); do
			curl "${rs[@]}" -sS --max-time 60 --cacert "$cacert" -H 'Content-Type: application/json' \
				--data-binary @"$big_review" "$url/mutate?timeout=5s" >"$tmp/load.$i" 2>&1 &
			loaders+=($!)
		done
		wait "${loaders[@]}" 2>/dev/null || true
		answered=$(cat "$tmp"/load.* | grep -o '"allowed": *true' | wc -l)
		hwm=$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$server_pid/status")
		mem="peak RSS $((hwm / 1024)) KiB after $answered/8 allowed $(($(stat -c %s "$big_review") / 1024)) KiB reviews; limit $((lim / 1048576))Mi"
		if [ "$answered" -eq 8 ] && [ "$hwm" -lt "$lim" ]; then
			pass "$label: 8 concurrent largest-possible reviews stay under the memory limit ($mem)"
		else
			flunk "$label: 8 concurrent largest-possible reviews stay under the memory limit ($mem)"
		fi
		kill -TERM "$server_pid"
		if [ "$check_grace" = 1 ]; then
			# Within the 2 s grace period: /readyz fails, the port still answers.
			sleep 0.3
			code=$(curl "${rs[@]}" -sS --max-time 1 -o /dev/null -w '%{http_code}' --cacert "$cacert" "$url/readyz" 2>"$tmp/curl.err" || true)
			if [ "$code" = 503 ]; then
				pass "$label: after SIGTERM, /readyz answers 503 during the grace period"
			else
				flunk "$label: after SIGTERM, /readyz answers 503 during the grace period (got $code: $(tr -d '\n' <"$tmp/curl.err"))"
				sed 's/^/    /' "$tmp/serve.log" | tail -4
			fi
		fi
		rc=124
		for _ in $(seq 1 100); do
			if ! kill -0 "$server_pid" 2>/dev/null; then
				rc=0
				wait "$server_pid" || rc=$?
				break
			fi
			sleep 0.1
		done
		if [ "$rc" = 0 ]; then
			pass "$label: SIGTERM drains and exits 0 after the grace period"
		else
			flunk "$label: SIGTERM drains and exits 0 after the grace period (status $rc)"
			sed 's/^/    /' "$tmp/serve.log" | tail -20
		fi
	else
		flunk "$label: GET /healthz 200 over TLS verified by the generated CA"
		sed 's/^/    /' "$tmp/serve.log" | tail -20
	fi
	if kill -0 "$server_pid" 2>/dev/null; then
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}

can_serve=0
if [ "$have_hw" = 1 ] && [ -f "$policy" ] && [ -f "$tmp/ov-default/tls.crt" ]; then
	can_serve=1
	install_files "$tmp/etc/hookwarden"
	port=$(free_port)
	mapfile -t args < <(deployment_args "$tmp/etc/hookwarden" "$port")
	echo "    hookwarden ${args[*]}"
	serve_smoke "serve with the rendered Deployment's arguments" "$port" 1 "$hw" "${args[@]}"
elif [ "$have_hw" = 1 ]; then
	flunk "serve with the rendered Deployment's arguments (no policy or overlay certificates from the steps above)"
fi

# ------------------- 5b. admission as kube-apiserver calls it (admission-sim) ----
# The rendered MutatingWebhookConfiguration decides: its caBundle is the only
# trusted root, TLS is verified for <service>.<namespace>.svc, and its rules,
# namespaceSelector and objectSelector pick the requests.
sim=
if [ "$can_serve" = 1 ]; then
	if sim=$("$root/tests/apiserver/cached.sh" "$root/build/tools" 2>"$tmp/sim-build.log"); then
		pass "admission-sim builds from tests/apiserver"
	else
		flunk "admission-sim builds from tests/apiserver"
		sed 's/^/    /' "$tmp/sim-build.log" | tail -20
		sim=
	fi
fi
# sim_serve TLS_DIR: hookwarden with the Deployment's arguments and TLS_DIR's
# pair; sets sim_port and server_pid.
sim_serve() {
	local etc=$tmp/etc-sim
	rm -rf "$etc"
	install_files "$etc"
	cp "$1/tls.crt" "$1/tls.key" "$etc/tls/"
	sim_port=$(free_port)
	mapfile -t args < <(deployment_args "$etc" "$sim_port")
	"$hw" "${args[@]}" >"$tmp/sim-serve.log" 2>&1 &
	server_pid=$!
	# The pair names the Service only: reach it by its .svc name, here.
	local svc
	svc=$(openssl x509 -in "$1/tls.crt" -noout -ext subjectAltName | grep -o 'DNS:[^,]*\.svc\b' | head -1)
	svc=${svc#DNS:}
	for _ in $(seq 1 50); do
		curl -fsS --max-time 2 --cacert "$1/ca.crt" --resolve "$svc:$sim_port:127.0.0.1" \
			"https://$svc:$sim_port/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.2
	done
	sed 's/^/    /' "$tmp/sim-serve.log" | tail -10
	return 1
}
sim_stop() {
	kill -TERM "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}
# sim_call CONFIG NS JOB: admission-sim review through CONFIG; stdout, stderr
# and the exit code in $tmp/sim.{out,err,rc}.
sim_call() {
	local rc=0
	"$sim" review --webhook-config "$1" --url "https://127.0.0.1:$sim_port" -n "$2" -f "$3" \
		>"$tmp/sim.out" 2>"$tmp/sim.err" || rc=$?
	echo "$rc" >"$tmp/sim.rc"
}
sim_expect() { # LABEL RC GREP-PATTERN-ON-STDERR (or "") PYTHON-CHECK-ON-STDOUT (or "")
	local label=$1 want=$2 pat=$3 py=$4 rc
	rc=$(cat "$tmp/sim.rc")
	if [ "$rc" = "$want" ] && { [ -z "$pat" ] || grep -q -- "$pat" "$tmp/sim.err"; } &&
		{ [ -z "$py" ] || python3 -c "import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if ($py) else 1)" "$tmp/sim.out"; }; then
		pass "$label"
	else
		flunk "$label (exit $rc, want $want)"
		sed 's/^/    /' "$tmp/sim.err" | head -10
	fi
}
if [ -n "$sim" ] && [ -f "$tmp/ov-default/tls.crt" ]; then
	kubectl kustomize "$tmp/ov-default" >"$tmp/mwc-now.yaml" 2>"$tmp/x.err" || flunk "render the make-overlay default overlay for admission-sim"
	python3 - "$root/tests/data/jobs/airflow-migrate.json" "$tmp" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
job["metadata"].pop("namespace", None)
json.dump(job, open(sys.argv[2] + "/sim-plain.json", "w"))
job["metadata"].setdefault("labels", {})["hookwarden.io/migration"] = "true"
json.dump(job, open(sys.argv[2] + "/sim-labelled.json", "w"))
PY
	if sim_serve "$tmp/ov-default"; then
		hook='o["spec"]["template"]["spec"]["restartPolicy"] == "Never" and "helm.sh/hook" in o["metadata"]["annotations"]'
		sim_call "$tmp/mwc-now.yaml" shop "$tmp/sim-labelled.json"
		sim_expect "admission-sim through the rendered webhook configuration: a labelled Job in a normal namespace is mutated (TLS verified by the caBundle for hookwarden.hookwarden.svc)" 0 "" "$hook"
		sim_call "$tmp/mwc-now.yaml" shop "$tmp/sim-plain.json"
		sim_expect "admission-sim: an unlabelled Job is not sent to the webhook (objectSelector)" 0 'not called: objectSelector' \
			'o["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure" and "annotations" not in o["metadata"]'
		for ns in kube-system hookwarden; do
			sim_call "$tmp/mwc-now.yaml" "$ns" "$tmp/sim-labelled.json"
			sim_expect "admission-sim: a labelled Job in $ns is not sent to the webhook (namespaceSelector)" 0 "not called: namespaceSelector does not match namespace \"$ns\"" \
				'"annotations" not in o["metadata"]'
		done
		# Another CA in the caBundle: the call fails and failurePolicy Fail refuses the Job.
		python3 - "$tmp/mwc-now.yaml" "$tmp/ov-custom/ca.crt" "$tmp/mwc-wrong-ca.yaml" <<'PY'
import base64, re, sys
text = open(sys.argv[1]).read()
ca = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
open(sys.argv[3], "w").write(re.sub(r"caBundle: \S+", "caBundle: " + ca, text))
PY
		sim_call "$tmp/mwc-wrong-ca.yaml" shop "$tmp/sim-labelled.json"
		sim_expect "admission-sim: a caBundle that did not sign the serving certificate fails the call, and failurePolicy Fail refuses the Job" 2 'x509: certificate signed by unknown authority' ""
		sim_stop
	else
		flunk "hookwarden serves for admission-sim with the Deployment's arguments"
	fi
	# The failure-policy-ignore overlay for service hw/webhooks, with its own pair.
	if [ -f "$tmp/ov-custom/tls.crt" ] && sim_serve "$tmp/ov-custom"; then
		sim_call "$tmp/ov-custom.yaml" shop "$tmp/sim-labelled.json"
		sim_expect "admission-sim through the failure-policy-ignore overlay: TLS verified for hw.webhooks.svc, the Job is mutated" 0 "" "$hook"
		sim_stop
		sim_call "$tmp/ov-custom.yaml" shop "$tmp/sim-labelled.json"
		sim_expect "admission-sim through the failure-policy-ignore overlay: no replica answers, the Job is admitted unchanged (fail open)" 0 'failurePolicy Ignore: failing open' \
			'o["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure" and "annotations" not in o["metadata"]'
	else
		flunk "hookwarden serves with the failure-policy-ignore overlay's certificate"
	fi
fi

# ------------------------------------------- 6. make install ----
dest=$tmp/destdir
if check "make install DESTDIR=... PREFIX=/usr" make --no-print-directory install DESTDIR="$dest" PREFIX=/usr; then
	want=$(make --no-print-directory -s version)
	release=$(sed -n 's/^VERSION *:= *//p' Makefile)
	if out=$("$dest/usr/bin/hookwarden" --version 2>&1) && [ "$out" = "hookwarden $want" ] &&
		[[ $want =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
		pass "installed \$DESTDIR/usr/bin/hookwarden --version: $out (make version)"
	else
		flunk "installed \$DESTDIR/usr/bin/hookwarden --version prints 'hookwarden $want' (got: $out)"
	fi
	tag=$(awk '/newTag:/ { gsub(/"/, "", $2); print $2 }' deploy/base/kustomization.yaml)
	if [ "$tag" = "$release" ] && grep -q "^## \[$release\]" CHANGELOG.md; then
		pass "deploy/base image tag $tag is the Makefile's VERSION and CHANGELOG.md's top entry"
	else
		flunk "deploy/base image tag '$tag', the Makefile's VERSION '$release' and CHANGELOG.md's entry agree"
	fi
	extra=$(cd "$dest" && find . -type f ! -path ./usr/bin/hookwarden)
	if [ -z "$extra" ]; then pass "make install installs only bin/hookwarden"; else flunk "make install installs only bin/hookwarden (also: $extra)"; fi
fi

# ------------------------------------------- 8. make dist ----
dist=$tmp/dist
dimage=registry.example.com/platform/hookwarden
if check "make dist IMAGE=$dimage" make --no-print-directory -s dist DIST="$dist" IMAGE="$dimage"; then
	v=$(make --no-print-directory -s version)
	tarball=$dist/hookwarden-$v-linux-amd64.tar.gz
	manifest=$dist/hookwarden-$v-install.yaml
	check "dist: SHA256SUMS verifies the tarball and the manifest" sh -c 'cd "$1" && sha256sum -c SHA256SUMS' sh "$dist" || :
	check "dist: the tarball holds the binary, LICENSE, README, CHANGELOG, docs, the Helm plugin and the manifest" sh -c '
		list=$(tar tzf "$1") || exit 1
		for f in bin/hookwarden LICENSE README.md CHANGELOG.md docs/install.md docs/releasing.md docs/chart-authors.md \
			helm-plugin/plugin.yaml helm-plugin/hookwarden-render.sh install.yaml; do
			printf "%s\n" "$list" | grep -qx "hookwarden-$2/$f" || { echo "missing $f"; exit 1; }
		done
		printf "%s\n" "$list" | grep -v "^hookwarden-$2/" && { echo "entries outside hookwarden-$2/"; exit 1; }
		exit 0' sh "$tarball" "$v" || :
	mkdir -p "$tmp/unpacked"
	tar xzf "$tarball" -C "$tmp/unpacked"
	check "dist: the packaged binary reports the version, the plugin carries it" sh -c '
		[ "$("$1/bin/hookwarden" --version)" = "hookwarden $2" ] &&
		grep -qx "version: $2" "$1/helm-plugin/plugin.yaml" && [ -x "$1/helm-plugin/hookwarden-render.sh" ] &&
		cmp "$1/install.yaml" "$3"' sh "$tmp/unpacked/hookwarden-$v" "$v" "$manifest" || :
	cp "$tarball" "$tmp/first.tar.gz"
	check "dist: a second make dist writes a byte-identical tarball" sh -c '
		make --no-print-directory -s dist DIST="$1" IMAGE="$2" >/dev/null 2>&1 && cmp "$1/$(basename "$3")" "$4"' \
		sh "$dist" "$dimage" "$tarball" "$tmp/first.tar.gz" || :
	verify "dist install manifest" "$manifest" Fail none
	check "dist install manifest: a MutatingWebhookConfiguration, and a Deployment running $dimage:$v" python3 - "$manifest" "$dimage:$v" <<'PY2'
import sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
kinds = [o["kind"] for o in objs]
assert kinds[0] == "Namespace", kinds
assert kinds.count("MutatingWebhookConfiguration") == 1, kinds
dep = next(o for o in objs if o["kind"] == "Deployment")
image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
assert image == sys.argv[2], image
# Server-side apply takes every object as it is: named, no status, no generateName,
# and no key material to end up anywhere.
for o in objs:
    assert o["metadata"].get("name") and "generateName" not in o["metadata"] and "status" not in o, o["kind"]
assert "Secret" not in kinds, kinds
PY2
fi

# ------------------------------------- 7. the container image, emulated ----
check "Dockerfile: runtime stage is distroless/base-debian12:nonroot, USER 65532, exec-form ENTRYPOINT, make install" sh -c '
	last_from=$(grep -E "^FROM " Dockerfile | tail -1)
	echo "$last_from" | grep -qE "^FROM gcr.io/distroless/base-debian12:nonroot(@sha256:[0-9a-f]+)?$" || { echo "runtime: $last_from"; exit 1; }
	grep -qE "^USER 65532(:65532)?$" Dockerfile || { echo "no USER 65532"; exit 1; }
	grep -qE "^ENTRYPOINT \[\"/usr/local/bin/hookwarden\"\]$" Dockerfile || { echo "ENTRYPOINT"; exit 1; }
	grep -q "make install DESTDIR=/rootfs PREFIX=/usr/local" Dockerfile || { echo "no make install"; exit 1; }
	grep -q "deploy/image/runtime-libs.sh" Dockerfile || { echo "no runtime-libs.sh"; exit 1; }' || :
check ".dockerignore is an allow-list that keeps certs/ and build/ out" sh -c '
	[ "$(grep -v "^#" .dockerignore | grep -v "^$" | head -1)" = "*" ] &&
	! grep -qE "^!(certs|build|tests|\.git)" .dockerignore' || :

# The context Docker would send: the allow-listed paths of .dockerignore.
ctx=$tmp/ctx
mkdir -p "$ctx"
ctx_ok=1
while IFS= read -r p; do
	p=${p#!}
	if [ -e "$p" ]; then
		mkdir -p "$ctx/$(dirname "$p")"
		cp -a "$p" "$ctx/$p"
	else
		ctx_ok=0
		echo "    .dockerignore allows $p, which does not exist"
	fi
done < <(grep -E '^!' .dockerignore)
rootfs=$tmp/rootfs
if [ "$ctx_ok" = 1 ] &&
	check "image build, emulated: the .dockerignore context runs make all && make install DESTDIR=/rootfs PREFIX=/usr/local" \
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL sh -c 'cd "$1" && make --no-print-directory -j2 all && make --no-print-directory install DESTDIR="$2" PREFIX=/usr/local' sh "$ctx" "$rootfs" &&
	check "image build, emulated: deploy/image/runtime-libs.sh collects the libraries" \
		sh -c '"$1/deploy/image/runtime-libs.sh" "$2/usr/local/bin/hookwarden" "$2" >"$3"' sh "$ctx" "$rootfs" "$tmp/libs"; then
	echo "    copied: $(tr '\n' ' ' <"$tmp/libs")"
	if [ "$(id -u)" != 0 ] || ! command -v chroot >/dev/null; then
		flunk "image runtime, emulated: needs root and chroot to run the binary in a distroless-like root"
	else
		# What distroless/base-debian12 adds: glibc (with the loader) and libssl3.
		while read -r soname path; do
			case $soname in
			libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
				libutil.so.* | libssl.so.3 | libcrypto.so.3) ;;
			*) continue ;;
			esac
			real=$(readlink -f "$path")
			mkdir -p "$rootfs$(dirname "$real")"
			cp "$real" "$rootfs$real"
			[ "$(basename "$real")" = "$soname" ] || ln -sf "$(basename "$real")" "$rootfs$(dirname "$real")/$soname"
		done < <(ldd "$rootfs/usr/local/bin/hookwarden" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
		interp=$(readelf -l "$rootfs/usr/local/bin/hookwarden" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
		real=$(readlink -f "$interp")
		mkdir -p "$rootfs$(dirname "$real")" "$rootfs$(dirname "$interp")"
		cp "$real" "$rootfs$real"
		[ -e "$rootfs$interp" ] || ln -s "$real" "$rootfs$interp"
		chmod -R a+rX "$rootfs"
		if out=$(chroot --userspec=65532:65532 "$rootfs" /usr/local/bin/hookwarden --version 2>&1) &&
			[[ $out =~ ^hookwarden\ [0-9] ]]; then
			pass "image runtime, emulated: --version as uid 65532 in a root of only glibc, libssl3 and the copied libraries ($out)"
		else
			flunk "image runtime, emulated: --version as uid 65532 in a root of only glibc, libssl3 and the copied libraries"
			printf '%s\n' "$out" | sed 's/^/    /'
		fi
		# And serve there, as the pod does: the Deployment's own paths, the key
		# group-readable only (0440, group 65532 as fsGroup makes it).
		if [ "$can_serve" = 1 ]; then
			install_files "$rootfs/etc/hookwarden"
			chown -R 0:65532 "$rootfs/etc/hookwarden"
			chmod 0440 "$rootfs/etc/hookwarden/policy.yaml" "$rootfs/etc/hookwarden/tls/"*
			port=$(free_port)
			mapfile -t args < <(deployment_args /etc/hookwarden "$port")
			serve_smoke "image runtime, emulated: serve as uid 65532 with the Deployment's paths" "$port" 0 \
				chroot --userspec=65532:65532 "$rootfs" /usr/local/bin/hookwarden "${args[@]}"
		else
			flunk "image runtime, emulated: serve (no policy or overlay certificates from the steps above)"
		fi
		if [ -e "$rootfs/bin/sh" ] || [ -e "$rootfs/usr/bin/sh" ]; then
			flunk "image runtime, emulated: no shell in the copied tree"
		else
			pass "image runtime, emulated: no shell in the copied tree"
		fi
	fi
fi

finish
