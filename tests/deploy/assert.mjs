// Assert hookwarden's safety properties, field by field, on one rendered
// overlay (the output of `kubectl kustomize`). The reasons for each property
// are in docs/install.md; this file makes them true of what is installed, not
// only of what the YAML in deploy/ intends.
//
//   node assert.mjs --label L --failure-policy Fail|Ignore
//                   --ca none|cert-manager|bundle [--policy-out FILE] RENDERED.yaml
//
// --ca none:         no caBundle and no injection (the bare base);
// --ca cert-manager: cainjector annotation naming a rendered Certificate whose
//                    Secret the pods mount and whose names match the Service;
// --ca bundle:       a caBundle of PEM certificates and the TLS Secret present.
// --policy-out writes the ConfigMap's policy.yaml to FILE (for hookwarden --check).
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { Reporter, loadObjects, fail, eq } from "./lib.mjs";

const { values: opt, positionals } = parseArgs({
  options: {
    label: { type: "string" },
    "failure-policy": { type: "string" },
    ca: { type: "string" },
    "policy-out": { type: "string" },
  },
  allowPositionals: true,
});
if (!opt.label || !["Fail", "Ignore"].includes(opt["failure-policy"]) ||
    !["none", "cert-manager", "bundle"].includes(opt.ca) || positionals.length !== 1) {
  console.error("usage: node assert.mjs --label L --failure-policy Fail|Ignore --ca none|cert-manager|bundle [--policy-out FILE] FILE");
  process.exit(2);
}

const OPT_IN_KEY = "hookwarden.io/migration";
const OPT_IN_VALUE = "true";
const CONTAINER_PORT = 8443;
const TLS_SECRET = "hookwarden-tls";
const MAX_TIMEOUT = 5; // seconds: "small", far below the apiserver's 30 s ceiling
const MAX_MEMORY_REQUEST = 32 * 1024 * 1024; // a C server asks for a few MiB
const MAX_MEMORY_LIMIT = 128 * 1024 * 1024;

const r = new Reporter(`safety ${opt.label}`);
const objects = loadObjects(positionals[0]);

const all = (kind) => objects.filter((o) => o.kind === kind);
function one(kind) {
  const found = all(kind);
  if (found.length !== 1) fail(`expected exactly one ${kind}, found ${found.length}`);
  return found[0];
}
function get(kind) {
  try { return one(kind); } catch { return undefined; }
}

// Kubernetes quantities to bytes / millicores (the forms used in manifests).
function bytes(q) {
  const m = String(q).match(/^([0-9.]+)(Ki|Mi|Gi|k|M|G)?$/);
  if (!m) fail(`cannot read memory quantity ${JSON.stringify(q)}`);
  const mult = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[m[2]] ?? 1;
  return Number(m[1]) * mult;
}
function millicores(q) {
  const m = String(q).match(/^([0-9.]+)(m)?$/);
  if (!m) fail(`cannot read cpu quantity ${JSON.stringify(q)}`);
  return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
}
function selects(selector, labels) {
  const ml = selector?.matchLabels ?? {};
  if (Object.keys(ml).length === 0 && !(selector?.matchExpressions?.length)) return false;
  if (selector?.matchExpressions?.length) return false; // not used here; refuse to guess
  return Object.entries(ml).every(([k, v]) => labels?.[k] === v);
}

const mwc = get("MutatingWebhookConfiguration");
const wh = mwc?.webhooks?.[0];
const dep = get("Deployment");
const pod = dep?.spec?.template?.spec;
const podLabels = dep?.spec?.template?.metadata?.labels ?? {};
const ctr = pod?.containers?.find((c) => c.name === "hookwarden");
const svc = get("Service");
const ns = svc?.metadata?.namespace;
const sa = get("ServiceAccount");
const cm = get("ConfigMap");

// ---- MutatingWebhookConfiguration -----------------------------------------
r.check("exactly one MutatingWebhookConfiguration with exactly one webhook", () => {
  one("MutatingWebhookConfiguration");
  eq(mwc.webhooks?.length, 1, "webhooks");
  if (all("ValidatingWebhookConfiguration").length) fail("unexpected ValidatingWebhookConfiguration");
});
r.check("webhook name is fully qualified (jobs.hookwarden.io)", () => eq(wh.name, "jobs.hookwarden.io", "name"));
r.check("rules: only batch/v1 jobs, CREATE and UPDATE, Namespaced, no wildcard", () => {
  eq(wh.rules?.length, 1, "number of rules");
  const rule = wh.rules[0];
  eq(rule.apiGroups, ["batch"], "apiGroups");
  eq(rule.apiVersions, ["v1"], "apiVersions");
  eq(rule.resources, ["jobs"], "resources (no subresources, no *)");
  eq([...rule.operations].sort(), ["CREATE", "UPDATE"], "operations");
  eq(rule.scope, "Namespaced", "scope");
});
r.check(`objectSelector: only Jobs labelled ${OPT_IN_KEY}=${OPT_IN_VALUE}`, () => {
  eq(wh.objectSelector?.matchLabels, { [OPT_IN_KEY]: OPT_IN_VALUE }, "objectSelector.matchLabels");
  if (wh.objectSelector?.matchExpressions?.length) fail("objectSelector has matchExpressions that could widen or narrow it");
});
r.check("namespaceSelector excludes kube-system, kube-public, kube-node-lease and hookwarden's own namespace", () => {
  const sel = wh.namespaceSelector ?? {};
  if (sel.matchLabels && Object.keys(sel.matchLabels).length) fail("namespaceSelector.matchLabels is set");
  const exprs = sel.matchExpressions ?? [];
  const notIn = exprs.filter((e) => e.key === "kubernetes.io/metadata.name" && e.operator === "NotIn");
  if (notIn.length !== 1) fail(`expected one NotIn on kubernetes.io/metadata.name, found ${notIn.length}`);
  if (exprs.length !== 1) fail(`unexpected extra expressions: ${JSON.stringify(exprs)}`);
  if (!ns) fail("no Service namespace rendered");
  for (const n of ["kube-system", "kube-public", "kube-node-lease", ns]) {
    if (!notIn[0].values?.includes(n)) fail(`namespace ${n} is not excluded (values ${JSON.stringify(notIn[0].values)})`);
  }
});
r.check("sideEffects: None", () => eq(wh.sideEffects, "None", "sideEffects"));
r.check("admissionReviewVersions: [v1, v1beta1]", () => eq(wh.admissionReviewVersions, ["v1", "v1beta1"], "admissionReviewVersions"));
r.check(`timeoutSeconds set and small (1..${MAX_TIMEOUT})`, () => {
  const t = wh.timeoutSeconds;
  if (!Number.isInteger(t) || t < 1 || t > MAX_TIMEOUT) fail(`timeoutSeconds is ${JSON.stringify(t)}`);
});
r.check("reinvocationPolicy: IfNeeded", () => eq(wh.reinvocationPolicy, "IfNeeded", "reinvocationPolicy"));
r.check("matchPolicy: Equivalent", () => eq(wh.matchPolicy, "Equivalent", "matchPolicy"));
r.check(`failurePolicy: ${opt["failure-policy"]}`, () => eq(wh.failurePolicy, opt["failure-policy"], "failurePolicy"));
r.check("no matchConditions (the selectors are the whole contract)", () => {
  if (wh.matchConditions?.length) fail("matchConditions present");
});
r.check("clientConfig: the rendered Service, port 443, path /mutate, no URL", () => {
  const s = wh.clientConfig?.service;
  if (wh.clientConfig?.url) fail("clientConfig.url is set");
  if (!s) fail("no clientConfig.service");
  eq(s.name, svc.metadata.name, "service.name");
  eq(s.namespace, ns, "service.namespace");
  eq(s.port, 443, "service.port");
  eq(s.path, "/mutate", "service.path");
});
r.check("MutatingWebhookConfiguration carries the app label (found by uninstall checks)", () =>
  eq(mwc.metadata?.labels?.["app.kubernetes.io/name"], "hookwarden", "label"));

// ---- CA handling ------------------------------------------------------------
const annotations = mwc?.metadata?.annotations ?? {};
const inject = annotations["cert-manager.io/inject-ca-from"];
if (opt.ca === "none") {
  r.check("no caBundle and no CA injection in the bare base", () => {
    if (wh.clientConfig?.caBundle) fail("caBundle present");
    if (inject) fail("inject-ca-from present");
  });
} else if (opt.ca === "cert-manager") {
  r.check("cert-manager: inject-ca-from names a rendered serving Certificate in the Service namespace", () => {
    if (wh.clientConfig?.caBundle) fail("static caBundle present: cainjector owns it");
    if (!inject) fail("no cert-manager.io/inject-ca-from annotation");
    const [cns, cname] = inject.split("/");
    eq(cns, ns, "annotation namespace");
    const cert = all("Certificate").find((c) => c.metadata.name === cname && c.metadata.namespace === cns);
    if (!cert) fail(`Certificate ${inject} is not rendered`);
    eq(cert.spec.secretName, TLS_SECRET, "Certificate secretName");
    const svcName = svc.metadata.name;
    if (!cert.spec.dnsNames?.includes(`${svcName}.${ns}.svc`)) fail(`dnsNames lack ${svcName}.${ns}.svc`);
    if (cert.spec.isCA) fail("the serving Certificate is a CA");
    const issuer = all("Issuer").find((i) => i.metadata.name === cert.spec.issuerRef?.name);
    if (!issuer?.spec?.ca?.secretName) fail("serving Certificate is not issued by a CA Issuer");
    const ca = all("Certificate").find((c) => c.spec.secretName === issuer.spec.ca.secretName);
    if (!ca?.spec?.isCA) fail("the CA Issuer's Secret does not come from an isCA Certificate");
  });
  r.check("cert-manager: every Certificate renews at least 30 days before expiry; the CA keeps its key", () => {
    const hours = (d) => {
      const m = String(d).match(/^([0-9]+)h$/);
      if (!m) fail(`duration ${JSON.stringify(d)} not in hours`);
      return Number(m[1]);
    };
    for (const c of all("Certificate")) {
      const dur = hours(c.spec.duration), before = hours(c.spec.renewBefore);
      if (c.spec.isCA && c.spec.privateKey?.rotationPolicy !== "Never") fail(`${c.metadata.name}: a CA renewed with a new key orphans the serving certificate it signed`);
      if (before < 720 || before >= dur) fail(`${c.metadata.name}: renewBefore ${before}h vs duration ${dur}h (want 30 days or more, less than the duration)`);
    }
  });
} else {
  r.check("caBundle: base64 of PEM certificates, no cert-manager annotation", () => {
    const b = wh.clientConfig?.caBundle;
    if (!b) fail("no caBundle");
    const pem = Buffer.from(b, "base64").toString("utf8");
    if (Buffer.from(pem, "utf8").toString("base64") !== b) fail("caBundle is not canonical base64");
    if (!/^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n?$/.test(pem)) fail("caBundle is not PEM certificates");
    if (/PRIVATE KEY/.test(pem)) fail("caBundle contains a private key");
    if (inject) fail("inject-ca-from present together with a static caBundle");
  });
  r.check(`Secret ${TLS_SECRET} of type kubernetes.io/tls with tls.crt and tls.key`, () => {
    const s = all("Secret").find((x) => x.metadata.name === TLS_SECRET);
    if (!s) fail("not rendered");
    eq(s.type, "kubernetes.io/tls", "type");
    eq(s.metadata.namespace, ns, "namespace");
    for (const k of ["tls.crt", "tls.key"]) if (!s.data?.[k]) fail(`no ${k}`);
    if (s.data["ca.key"]) fail("the CA key is in the Secret");
  });
}

// ---- Namespace, ServiceAccount ---------------------------------------------
r.check("Namespace rendered, matching the Service's, Pod Security restricted", () => {
  const n = one("Namespace");
  eq(n.metadata.name, ns, "Namespace name");
  eq(n.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted", "enforce label");
});
r.check("ServiceAccount mounts no token", () => {
  eq(sa.automountServiceAccountToken, false, "ServiceAccount.automountServiceAccountToken");
  eq(pod.automountServiceAccountToken, false, "pod automountServiceAccountToken");
  eq(pod.serviceAccountName, sa.metadata.name, "serviceAccountName");
});
r.check("no RBAC objects (hookwarden calls no API)", () => {
  const rbac = objects.filter((o) => /^rbac\.authorization\.k8s\.io\//.test(o.apiVersion));
  if (rbac.length) fail(rbac.map((o) => o.kind).join(", "));
});
r.check("every namespaced object is in hookwarden's namespace", () => {
  const cluster = new Set(["Namespace", "MutatingWebhookConfiguration"]);
  for (const o of objects) {
    if (cluster.has(o.kind)) continue;
    if (o.metadata?.namespace !== ns) fail(`${o.kind} ${o.metadata?.name} in ${o.metadata?.namespace}`);
  }
});

// ---- Deployment --------------------------------------------------------------
r.check("Deployment: at least 2 replicas, no unavailable replica during rollout", () => {
  if (!(dep.spec.replicas >= 2)) fail(`replicas ${dep.spec.replicas}`);
  eq(dep.spec.strategy?.rollingUpdate?.maxUnavailable, 0, "maxUnavailable");
  if (!selects(dep.spec.selector, podLabels)) fail("selector does not select the pod template");
});
r.check("Deployment: pod anti-affinity across nodes", () => {
  const aa = pod.affinity?.podAntiAffinity;
  const terms = [
    ...(aa?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(aa?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => t.podAffinityTerm),
  ];
  if (!terms.some((t) => t?.topologyKey === "kubernetes.io/hostname" && selects(t.labelSelector, podLabels))) {
    fail("no anti-affinity term on kubernetes.io/hostname selecting these pods");
  }
});
r.check("PodDisruptionBudget keeps a replica through voluntary disruptions", () => {
  const pdb = one("PodDisruptionBudget");
  if (!selects(pdb.spec.selector, podLabels)) fail("PDB does not select the pods");
  const min = pdb.spec.minAvailable;
  if (!(Number.isInteger(min) && min >= 1 && min < dep.spec.replicas)) fail(`minAvailable ${JSON.stringify(min)} (must be 1..replicas-1)`);
});
r.check("container hookwarden listens on 8443 named https; image pinned (no :latest)", () => {
  if (!ctr) fail("no container named hookwarden");
  eq(pod.containers.length, 1, "containers");
  const p = ctr.ports?.find((x) => x.name === "https");
  eq(p?.containerPort, CONTAINER_PORT, "containerPort");
  if (!/:[^/]+$|@sha256:/.test(ctr.image) || /:latest$/.test(ctr.image)) fail(`image ${ctr.image}`);
});
function argValue(flag) {
  const a = ctr.args ?? [];
  const i = a.indexOf(flag);
  if (i >= 0) return a[i + 1];
  const eqForm = a.find((x) => x.startsWith(`${flag}=`));
  return eqForm?.slice(flag.length + 1);
}
r.check("container runs `serve` on --port 8443", () => {
  eq(ctr.command, undefined, "command (the image's entrypoint is used)");
  eq(ctr.args?.[0], "serve", "first argument");
  eq(argValue("--port"), String(CONTAINER_PORT), "--port");
});
r.check("terminationGracePeriodSeconds exceeds --shutdown-grace-period + --shutdown-timeout", () => {
  // The binary's defaults: 5 s with /readyz failing, then up to 10 s for requests in flight.
  const grace = Number(argValue("--shutdown-grace-period") ?? 5);
  const drain = Number(argValue("--shutdown-timeout") ?? 10);
  const term = pod.terminationGracePeriodSeconds ?? 30;
  if (!(Number.isInteger(grace) && grace >= 1)) fail(`--shutdown-grace-period ${grace}`);
  if (term < grace + drain + 5) fail(`terminationGracePeriodSeconds ${term} < ${grace} + ${drain} + 5`);
});
r.check("Service: 443 to the container's https port (8443), selecting the pods", () => {
  if (!selects({ matchLabels: svc.spec.selector }, podLabels)) fail("Service selector does not select the pods");
  const p = svc.spec.ports?.find((x) => x.port === 443);
  if (!p) fail("no port 443");
  const target = typeof p.targetPort === "string" ? ctr.ports.find((x) => x.name === p.targetPort)?.containerPort : p.targetPort;
  eq(target, CONTAINER_PORT, "targetPort resolves to");
});
function probe(name, path) {
  r.check(`${name} probe: HTTPS GET ${path} on the webhook port`, () => {
    const g = ctr[name]?.httpGet;
    if (!g) fail(`no ${name} httpGet probe`);
    eq(g.scheme, "HTTPS", "scheme");
    eq(g.path, path, "path");
    if (!(g.port === "https" || g.port === CONTAINER_PORT)) fail(`port ${g.port}`);
  });
}
probe("readinessProbe", "/readyz");
probe("livenessProbe", "/healthz");
r.check("resources: small requests (cpu, memory) and a memory limit", () => {
  const req = ctr.resources?.requests ?? {};
  const lim = ctr.resources?.limits ?? {};
  if (!req.cpu || !req.memory || !lim.memory) fail(`requests ${JSON.stringify(req)}, limits ${JSON.stringify(lim)}`);
  if (millicores(req.cpu) > 100) fail(`cpu request ${req.cpu}`);
  if (bytes(req.memory) > MAX_MEMORY_REQUEST) fail(`memory request ${req.memory}`);
  if (bytes(lim.memory) > MAX_MEMORY_LIMIT || bytes(lim.memory) < bytes(req.memory)) fail(`memory limit ${lim.memory}`);
});
r.check("securityContext: non-root (fixed uid), read-only root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault", () => {
  const ps = pod.securityContext ?? {};
  const cs = ctr.securityContext ?? {};
  const runAsNonRoot = cs.runAsNonRoot ?? ps.runAsNonRoot;
  const uid = cs.runAsUser ?? ps.runAsUser;
  eq(runAsNonRoot, true, "runAsNonRoot");
  if (!(Number.isInteger(uid) && uid > 0)) fail(`runAsUser ${uid}`);
  eq(cs.readOnlyRootFilesystem, true, "readOnlyRootFilesystem");
  eq(cs.allowPrivilegeEscalation, false, "allowPrivilegeEscalation");
  if (cs.privileged) fail("privileged");
  eq(cs.capabilities?.drop, ["ALL"], "capabilities.drop");
  if (cs.capabilities?.add?.length) fail(`capabilities.add ${cs.capabilities.add}`);
  eq((cs.seccompProfile ?? ps.seccompProfile)?.type, "RuntimeDefault", "seccompProfile.type");
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (pod[f]) fail(f);
  if (pod.initContainers?.length) fail("init containers");
});
r.check("Pod Security restricted: only restricted volume types, no hostPort, no hostPath", () => {
  const allowed = new Set(["name", "configMap", "secret", "projected", "emptyDir", "downwardAPI", "csi", "ephemeral", "persistentVolumeClaim"]);
  for (const v of pod.volumes ?? []) {
    for (const k of Object.keys(v)) if (!allowed.has(k)) fail(`volume ${v.name} of type ${k}`);
  }
  for (const p of ctr.ports ?? []) if (p.hostPort) fail(`hostPort ${p.hostPort}`);
});

// The files the arguments name must come from read-only mounts of the right
// Secret and ConfigMap keys.
function source(path) {
  for (const m of ctr.volumeMounts ?? []) {
    const prefix = m.mountPath.replace(/\/$/, "") + "/";
    if (!path.startsWith(prefix)) continue;
    const rel = path.slice(prefix.length);
    const vol = pod.volumes.find((v) => v.name === m.name);
    if (m.subPath) fail(`${path} is mounted with subPath (no live updates)`);
    const sources = vol?.projected?.sources ??
      [vol?.secret && { secret: { name: vol.secret.secretName, items: vol.secret.items } },
       vol?.configMap && { configMap: vol.configMap }].filter(Boolean);
    for (const s of sources) {
      const ref = s.secret ? { kind: "Secret", ...s.secret } : s.configMap ? { kind: "ConfigMap", ...s.configMap } : null;
      if (!ref) continue;
      const item = (ref.items ?? []).find((it) => it.path === rel);
      if (item) return { readOnly: m.readOnly === true, kind: ref.kind, name: ref.name, key: item.key };
      if (!ref.items && ref.kind && rel.indexOf("/") < 0) return { readOnly: m.readOnly === true, kind: ref.kind, name: ref.name, key: rel };
    }
  }
  fail(`${path} is not provided by any volume mount`);
}
r.check("certificate and key: --tls-*-file come read-only from Secret hookwarden-tls", () => {
  for (const [flag, key] of [["--tls-cert-file", "tls.crt"], ["--tls-private-key-file", "tls.key"]]) {
    const v = argValue(flag);
    if (!v) fail(`no ${flag}`);
    const s = source(v);
    eq([s.kind, s.name, s.key, s.readOnly], ["Secret", TLS_SECRET, key, true], `${flag} ${v}`);
  }
});
r.check("policy: --config comes read-only from the policy ConfigMap's policy.yaml", () => {
  const v = argValue("--config");
  if (!v) fail("no --config");
  if (!v.endsWith(".yaml")) fail(`--config ${v}: hookwarden reads a file named *.yaml as YAML, and this one holds YAML`);
  const s = source(v);
  eq([s.kind, s.name, s.key, s.readOnly], ["ConfigMap", cm.metadata.name, "policy.yaml", true], `--config ${v}`);
});
r.check("every volume mount is read-only", () => {
  for (const m of ctr.volumeMounts ?? []) if (m.readOnly !== true) fail(`${m.mountPath} is writable`);
});
r.check("key file mode not world-readable (defaultMode 0440 or stricter)", () => {
  for (const v of pod.volumes) {
    const mode = v.projected?.defaultMode ?? v.secret?.defaultMode;
    if (mode === undefined) continue;
    if (mode & 0o007) fail(`volume ${v.name} defaultMode ${mode.toString(8)}`);
  }
  if (pod.securityContext?.fsGroup === undefined) fail("no fsGroup: the non-root user could not read a 0440 key");
});

// ---- NetworkPolicy ------------------------------------------------------------
r.check("NetworkPolicy: only TCP 8443 in, nothing out", () => {
  const np = one("NetworkPolicy");
  if (!selects(np.spec.podSelector, podLabels)) fail("does not select the pods");
  eq([...np.spec.policyTypes].sort(), ["Egress", "Ingress"], "policyTypes");
  const ports = (np.spec.ingress ?? []).flatMap((i) => i.ports ?? [{ port: "ANY" }]);
  eq(ports, [{ port: CONTAINER_PORT, protocol: "TCP" }], "ingress ports");
  eq(np.spec.egress ?? [], [], "egress rules");
});

// ---- Policy ConfigMap ----------------------------------------------------------
r.check("policy ConfigMap: policy.yaml is YAML whose selector matches the objectSelector", () => {
  const text = cm.data?.["policy.yaml"];
  if (!text) fail("no policy.yaml key");
  // Read as hookwarden reads it: YAML 1.1, one document, no duplicate keys.
  const doc = YAML.parseDocument(text, { version: "1.1", uniqueKeys: true });
  if (doc.errors.length > 0) fail(`not YAML: ${doc.errors[0].message}`);
  const policy = doc.toJS();
  eq(policy.selector?.labelKey, OPT_IN_KEY, "selector.labelKey");
  eq(policy.selector?.labelValues, [OPT_IN_VALUE], "selector.labelValues");
  if (opt["policy-out"]) writeFileSync(opt["policy-out"], text);
});

process.exit(r.exitCode());
