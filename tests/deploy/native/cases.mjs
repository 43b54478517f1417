// The cases native.mjs puts through the webhook and through the exported
// policies: every golden review of tests/data/review that carries a Job
// (kube-apiserver never sends the others), every chart Job of
// tests/data/jobs under each policy, the lives of Jobs through UPDATEs
// (relabelled, Helm 3's re-assertion, unlabelled, a finalizer, deletion;
// Jobs created before the webhook), and edge values for every rule and
// mode. A case is {name, policy, ns, op, object | edit+from, old | from,
// noWebhook}: `from` names an earlier case whose stored Job is the old
// object (and, with edit, the base of the new one).
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const LABEL = "hookwarden.io/migration";
const clone = (o) => JSON.parse(JSON.stringify(o));

function labelled(job, key = LABEL, value = "true") {
  const j = clone(job);
  j.metadata.labels = { ...(j.metadata.labels ?? {}), [key]: value };
  return j;
}

function edited(job, fn) {
  const j = clone(job);
  fn(j);
  return j;
}

function goldenCases(data) {
  const out = [];
  const dir = join(data, "review");
  for (const name of readdirSync(dir).sort()) {
    let review;
    try {
      review = JSON.parse(readFileSync(join(dir, name, "request.json"), "utf8"));
    } catch {
      continue; // not JSON: the webhook's own input checks
    }
    const r = review?.request;
    const job = r?.kind?.group === "batch" && r?.kind?.version === "v1" && r?.kind?.kind === "Job";
    const obj = r?.operation === "DELETE" ? r?.oldObject : r?.object;
    if (review.apiVersion !== "admission.k8s.io/v1" && review.apiVersion !== "admission.k8s.io/v1beta1") continue;
    if (!job || !r.uid || obj === null || typeof obj !== "object") continue;
    if (r.operation === "UPDATE" && (r.oldObject === null || typeof r.oldObject !== "object")) continue;
    if (typeof obj.metadata?.annotations === "string") continue;
    const policy = existsSync(join(dir, name, "policy.json")) ? join(dir, name, "policy.json") : null;
    out.push({
      name: `golden/${name}`,
      policy,
      ns: r.namespace,
      op: r.operation,
      object: obj,
      old: r.operation === "UPDATE" ? r.oldObject : undefined,
      dryRun: r.dryRun === true,
    });
  }
  return out;
}

function fixtures(data) {
  const dir = join(data, "jobs");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const job = JSON.parse(readFileSync(join(dir, f), "utf8"));
      return { chart: f.replace(/-migrate\.json$/, ""), job, ns: job.metadata.namespace ?? "default" };
    });
}

// A Job's life: created through the webhook, then UPDATEs of the stored Job.
function lifeCases(prefix, policy, f) {
  const c = `${prefix}/${f.chart}`;
  return [
    { name: `${c}/create`, policy, ns: f.ns, op: "CREATE", object: labelled(f.job) },
    { name: `${c}/relabel`, policy, ns: f.ns, op: "UPDATE", from: `${c}/create`, edit: (o) => (o.metadata.labels.team = "data") },
    {
      name: `${c}/helm3-reassert`, policy, ns: f.ns, op: "UPDATE", from: `${c}/relabel`,
      edit: (o) => (o.spec.template.spec.restartPolicy = f.job.spec.template.spec.restartPolicy ?? "OnFailure"),
    },
    { name: `${c}/unlabel`, policy, ns: f.ns, op: "UPDATE", from: `${c}/relabel`, edit: (o) => delete o.metadata.labels[LABEL] },
    { name: `${c}/finalizer`, policy, ns: f.ns, op: "UPDATE", from: `${c}/relabel`, edit: (o) => (o.metadata.finalizers = ["foregroundDeletion"]) },
    {
      name: `${c}/deleting`, policy, ns: f.ns, op: "UPDATE", from: `${c}/finalizer`,
      old: (o) => edited(o, (x) => { x.metadata.deletionTimestamp = "2030-01-01T00:00:00Z"; x.metadata.deletionGracePeriodSeconds = 0; }),
      edit: (o) => { o.metadata.finalizers = []; o.metadata.deletionTimestamp = "2030-01-01T00:00:00Z"; o.metadata.deletionGracePeriodSeconds = 0; },
    },
  ];
}

// Created with no webhook installed (the chart as rendered), then relabelled
// into hookwarden's scope, as Jobs that predate the policy are.
function legacyCases(prefix, policy, f) {
  const c = `${prefix}/${f.chart}`;
  return [
    { name: `${c}/legacy`, policy, ns: f.ns, op: "CREATE", object: f.job, noWebhook: true },
    { name: `${c}/legacy-relabel`, policy, ns: f.ns, op: "UPDATE", from: `${c}/legacy`, edit: (o) => (o.metadata.labels = { ...(o.metadata.labels ?? {}), [LABEL]: "true" }) },
  ];
}

const ann = (job, a) => edited(job, (o) => (o.metadata.annotations = { ...(o.metadata.annotations ?? {}), ...a }));
const spec = (job, s) => edited(job, (o) => Object.assign(o.spec, s));

// Values for every rule and mode, on one chart's Job.
function edgeCases(policy, f) {
  const base = labelled(f.job);
  const hook = (v) => ann(base, { "helm.sh/hook": v });
  const del = (v) => ann(base, { "helm.sh/hook": "pre-install", "helm.sh/hook-delete-policy": v });
  const release = { "meta.helm.sh/release-name": "r", "meta.helm.sh/release-namespace": f.ns };
  const withSidecar = (name, image, args) =>
    edited(base, (o) => o.spec.template.spec.containers.push({ name, image, ...(args ? { args } : {}) }));
  const longBad = "é".repeat(25) + "bogus";
  const list = [
    ["hook-case-spaces", hook("PRE-INSTALL , pre-upgrade")],
    ["hook-unknown", hook("pre-install,bogus")],
    ["hook-unknown-controls", hook("pre-install, \tbo\u0007g\u0085us\u0000x ,test")],
    ["hook-unknown-long-multibyte", hook(`pre-install,${longBad}`)],
    ["hook-empty-part", hook("pre-install,")],
    ["hook-empty", hook("")],
    ["hook-nbsp-is-not-space", hook("pre-install\u00a0")],
    ["delete-policy-missing-bhc", del("hook-succeeded")],
    ["delete-policy-unknown", del("Before-Hook-Creation, later")],
    ["weight-other", ann(base, { "helm.sh/hook-weight": "7" })],
    ["ttl-zero", spec(base, { ttlSecondsAfterFinished: 0 })],
    ["ttl-59", spec(base, { ttlSecondsAfterFinished: 59 })],
    ["ttl-3600", spec(base, { ttlSecondsAfterFinished: 3600 })],
    ["deadline-299", spec(base, { activeDeadlineSeconds: 299 })],
    ["deadline-300", spec(base, { activeDeadlineSeconds: 300 })],
    ["backoff-2", spec(base, { backoffLimit: 2 })],
    ["sidecar-istio", withSidecar("istio-proxy", "docker.io/istio/proxyv2:1.22")],
    ["sidecar-by-image", withSidecar("proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11")],
    ["sidecar-stops", withSidecar("cloud-sql-proxy", "gcr.io/cloud-sql-proxy:2", ["--quitquitquit"])],
    ["sidecar-long-name", withSidecar("a-very-long-container-name-for-the-istio-proxy-sidecar-x", "envoy")],
    ["sidecar-first-only", edited(base, (o) => (o.spec.template.spec.containers[0].name = "istio-proxy"))],
    ["release", ann(edited(base, (o) => delete o.metadata.annotations["helm.sh/hook"]), release)],
    // A release Job whose helm.sh/hook came too late: the chart's own value,
    // and the policy's own value (which enforce mode would also write).
    ["release-own-hook", ann(base, { ...release, "helm.sh/hook": "post-install" })],
    ["release-policy-hook", ann(base, { ...release, "helm.sh/hook": "pre-install,pre-upgrade" })],
    ["no-restart-policy", edited(base, (o) => delete o.spec.template.spec.restartPolicy)],
    ["restart-never-nul", edited(base, (o) => (o.spec.template.spec.restartPolicy = "Never\u0000x"))],
    ["pull-secret-present", edited(base, (o) => (o.spec.template.spec.imagePullSecrets = [{ name: "mirror" }]))],
    ["generate-name", edited(base, (o) => { o.metadata.generateName = `${o.metadata.name}-`; delete o.metadata.name; })],
    ["label-other-value", labelled(f.job, LABEL, "false")],
    ["label-any-value", labelled(f.job, "example.com/migrate", "now")],
    ["no-annotations", edited(base, (o) => delete o.metadata.annotations)],
    [
      "everything-wrong",
      edited(ann(withSidecar("istio-proxy", "istio/proxyv2"), {
        ...release,
        "helm.sh/hook": `pre-install,${longBad}`,
        "helm.sh/hook-delete-policy": `hook-succeeded,${"ü".repeat(30)}`,
      }), (o) => {
        o.metadata.name = `${"m".repeat(52)}-migrate`;
        Object.assign(o.spec, { ttlSecondsAfterFinished: 0, activeDeadlineSeconds: 99999 });
      }),
    ],
  ];
  const tag = policy === null ? "default" : policy.replace(/^.*\//, "").replace(/\.json$/, "");
  const cases = list.map(([n, object]) => ({
    name: `edge/${tag}/${n}`, policy, ns: f.ns, op: "CREATE", object,
  }));
  // The same values on an UPDATE: stored as created (no webhook), then
  // labelled, so that the ratchet and the stored template count.
  for (const [n, object] of list) {
    if (n === "no-restart-policy" || n === "restart-never-nul") continue; // no cluster stores these
    const stored = edited(object, (o) => delete o.metadata.labels[LABEL]);
    const name = `edge/${tag}/${n}`;
    cases.push({ name: `${name}/stored`, policy, ns: f.ns, op: "CREATE", object: stored, noWebhook: true });
    cases.push({
      name: `${name}/relabel`, policy, ns: f.ns, op: "UPDATE", from: `${name}/stored`,
      edit: (o) => (o.metadata.labels[LABEL] = "true"),
    });
  }
  return cases;
}

// A policy with per-namespace overrides: every chart Job created, relabelled
// from before the webhook, and re-asserted by Helm 3, in a namespace of each
// override combination the policy tells apart.
const OVERRIDE_NAMESPACES = ["shop", "team-a-dev", "team-b-dev", "prod-shop", "team-a-prod", "payments"];

function overrideCases(tag, policy, charts) {
  const out = [];
  for (const ns of OVERRIDE_NAMESPACES) {
    for (const f0 of charts) {
      const f = { ...f0, ns, job: edited(f0.job, (o) => (o.metadata.namespace = ns)) };
      const c = `ns/${tag}/${ns}/${f.chart}`;
      out.push({ name: `${c}/create`, policy, ns, op: "CREATE", object: labelled(f.job) });
      out.push(...legacyCases(`ns/${tag}/${ns}`, policy, f));
      out.push({
        name: `${c}/helm3-reassert`, policy, ns, op: "UPDATE", from: `${c}/create`,
        edit: (o) => (o.spec.template.spec.restartPolicy = f.job.spec.template.spec.restartPolicy ?? "OnFailure"),
      });
    }
  }
  return out;
}

export function buildCases(data, policies) {
  const cases = goldenCases(data);
  const charts = fixtures(data);
  for (const p of policies.filter((x) => /overrides/.test(x))) {
    cases.push(...overrideCases(p.replace(/^.*\//, "").replace(/\.(json|yaml)$/, ""), p, charts));
  }
  for (const p of [null, ...policies.filter((x) => !/overrides/.test(x))]) {
    const tag = p === null ? "default" : p.replace(/^.*\//, "").replace(/\.json$/, "");
    for (const f of charts) {
      cases.push({ name: `chart/${tag}/${f.chart}`, policy: p, ns: f.ns, op: "CREATE", object: labelled(f.job) });
      cases.push({ name: `chart/${tag}/${f.chart}/unlabelled`, policy: p, ns: f.ns, op: "CREATE", object: f.job });
      cases.push(...lifeCases(`life/${tag}`, p, f), ...legacyCases(`life/${tag}`, p, f));
    }
    cases.push(...edgeCases(p, charts.find((f) => f.chart === "temporal")));
  }
  return cases;
}
