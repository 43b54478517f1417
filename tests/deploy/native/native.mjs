// The exported native admission policies against the webhook, case by case
// (cases.mjs). Both start from the same request: admission-sim (the
// project's kube-apiserver stand-in) defaults the Job and sends it to the
// running webhook; the AdmissionReview it sent gives the native side its
// object, oldObject and request. The native side evaluates the
// MutatingAdmissionPolicy (kube-cel.mjs), applying each mutation's JSON
// Patch with admission-sim's library and defaulting after it as
// kube-apiserver does, reinvokes it on its own output (nothing may change),
// and evaluates the ValidatingAdmissionPolicies on the result. Compared:
// the final Job, the verdict (and the denial's text), the rule warnings (the
// webhook's minus its "replaced by" and "kept as" notes, which no native
// policy can give), the audit annotations (minus "mutated"), and whether
// kube-apiserver's validation accepts the result.
//
//   node native.mjs --sim SIM --ca CA --data tests/data --work DIR \
//       --policy default=URL,YAML [--policy FILE=URL,YAML]...
//
// One line per case, "ok"/"FAIL"; the last line "N passed, M failed".
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadObjects } from "../lib.mjs";
import { buildCases } from "./cases.mjs";
import { mutate, validate } from "./kube-cel.mjs";

const { values: args } = parseArgs({
  options: {
    sim: { type: "string" },
    ca: { type: "string" },
    data: { type: "string" },
    work: { type: "string" },
    policy: { type: "string", multiple: true },
    only: { type: "string" },
    verbose: { type: "boolean" },
  },
});

// policy file (or "default") -> {url, objects}
const policies = new Map();
for (const p of args.policy) {
  const [file, rest] = p.split("=");
  const [url, yaml] = rest.split(",");
  policies.set(file, { url, objects: loadObjects(yaml) });
}

const W = args.work;
let n = 0;

function sim(argv, { allowFail = false } = {}) {
  try {
    return { code: 0, out: execFileSync(args.sim, argv, { stdio: ["ignore", "pipe", "pipe"] }).toString() };
  } catch (e) {
    if (!allowFail) throw new Error(`admission-sim ${argv.join(" ")}: ${e.stderr}`);
    return { code: e.status, out: e.stdout.toString(), err: e.stderr.toString() };
  }
}

function file(name, value) {
  const p = join(W, `${n}-${name}.json`);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

// admission-sim's JSON Patch (evanphx/json-patch, kube-apiserver's library),
// then its defaulting: what kube-apiserver does after each mutation.
function applyPatch(op) {
  return (obj, ops) => {
    const patched = sim(["patch", "-f", file("cur", obj), "--patch", file("ops", ops)]).out;
    writeFileSync(join(W, `${n}-patched.json`), patched);
    return JSON.parse(sim(["default", "-f", join(W, `${n}-patched.json`), "--operation", op]).out);
  };
}

function requestArgs(c, objPath, oldPath) {
  const a = ["-n", c.ns, "--operation", c.op, "-f", objPath];
  if (oldPath) a.push("--old", oldPath);
  if (c.dryRun) a.push("--dry-run");
  return a;
}

// The webhook through the stand-in: its answer, exit code, stored Job, and
// the AdmissionReview it was sent.
function webhook(c, pol, objPath, oldPath) {
  const dump = join(W, `${n}-review.json`), stored = join(W, `${n}-stored.json`);
  const a = ["review", ...requestArgs(c, objPath, oldPath)];
  if (c.op !== "DELETE") a.push("--stored", stored);
  if (!c.noWebhook) a.push("--url", pol.url, "--ca", args.ca, "--raw", "--dump-request", dump);
  const r = sim(a, { allowFail: true });
  const review = existsSync(dump) ? JSON.parse(readFileSync(dump, "utf8")) : null;
  return {
    code: r.code,
    err: r.err,
    response: !c.noWebhook && r.out.trim().startsWith("{") ? JSON.parse(r.out).response : null,
    stored: r.code === 0 && existsSync(stored) ? JSON.parse(readFileSync(stored, "utf8")) : null,
    review,
  };
}

// Every MutatingAdmissionPolicy of the export, in name order, each on the
// previous one's output (a policy with overrides exports one per
// combination; their matchConditions let at most one act on a namespace).
function mutateAll(maps, req, object, oldObject, apply) {
  let cur = object;
  const patches = [];
  for (const map of maps) {
    const m = mutate(map, req, cur, oldObject, apply);
    patches.push(...m.patches);
    cur = m.object;
  }
  return { object: cur, patches };
}

function nativeSide(c, pol, req) {
  const objs = pol.objects;
  const maps = objs.filter((o) => o.kind === "MutatingAdmissionPolicy")
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const apply = applyPatch(c.op === "UPDATE" ? "UPDATE" : "CREATE");
  const object = req.operation === "DELETE" ? null : req.object;
  const out = { warnings: [], denials: [], audit: {}, object };
  if (object === null) return out; // a MAP may not match DELETE
  const m = mutateAll(maps, req, object, req.oldObject, apply);
  out.object = m.object;
  out.patches = m.patches;
  // Reinvocation (IfNeeded): the policies on their own output ask for nothing.
  const again = mutateAll(maps, req, m.object, req.oldObject, apply);
  out.reinvoked = again.patches.filter((p) => p.length > 0);
  for (const vap of objs.filter((o) => o.kind === "ValidatingAdmissionPolicy")) {
    const b = objs.find((o) => o.kind === "ValidatingAdmissionPolicyBinding" && o.spec.policyName === vap.metadata.name);
    const r = validate(vap, b, req, m.object, req.oldObject);
    out.warnings.push(...r.warnings);
    out.denials.push(...r.denials);
    Object.assign(out.audit, r.audit);
  }
  return out;
}

const mapOnly = (w) => / replaced by .*\(platform policy\)$| replaced by Never: | replaced by OnFailure: | kept as | kept as stored: /.test(w);

function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  }
  return v;
}
const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

// The webhook's Job: its patch on the object it was sent, then defaulted.
function webhookObject(c, w) {
  const obj = w.review.request.object;
  if (!w.response?.patch) return obj;
  const ops = JSON.parse(Buffer.from(w.response.patch, "base64").toString());
  return applyPatch(c.op === "UPDATE" ? "UPDATE" : "CREATE")(obj, ops);
}

// Differences between the two sides, as sentences.
function differences(c, w, nat) {
  const d = [];
  const resp = w.response ?? { allowed: true };
  const denied = nat.denials.length > 0;
  if (resp.allowed !== !denied) d.push(`webhook allowed=${resp.allowed}, native denied=${denied}`);
  if (!resp.allowed && denied && (resp.status?.message ?? "").trim() !== nat.denials[0])
    d.push(`denial text:\n  webhook: ${resp.status?.message}\n  native:  ${nat.denials[0]}`);
  const ww = (resp.warnings ?? []).filter((x) => !mapOnly(x));
  if (!same(ww, nat.warnings)) d.push(`warnings:\n  webhook: ${JSON.stringify(ww)}\n  native:  ${JSON.stringify(nat.warnings)}`);
  const wa = { ...(resp.auditAnnotations ?? {}) };
  delete wa.mutated;
  if (!same(wa, nat.audit)) d.push(`audit: webhook ${JSON.stringify(wa)}, native ${JSON.stringify(nat.audit)}`);
  if (resp.allowed && nat.object !== null) {
    const wo = webhookObject(c, w);
    if (!same(wo, nat.object)) d.push(`final object differs:\n  webhook: ${JSON.stringify(wo)}\n  native:  ${JSON.stringify(nat.object)}`);
  }
  if ((nat.reinvoked ?? []).length > 0) d.push(`reinvocation asked for more: ${JSON.stringify(nat.reinvoked)}`);
  return d;
}

// kube-apiserver's validation of the native result (admission-sim, no webhook).
function nativeValid(c, nat, oldPath) {
  if (nat.object === null || nat.denials.length > 0) return null;
  return sim(["review", ...requestArgs(c, file("native", nat.object), oldPath)], { allowFail: true }).code;
}

const stored = new Map();
let passed = 0, failed = 0;
// What the compared cases exercised (the webhook's answers), for the record.
const seen = { patched: 0, warned: 0, denied: 0, audited: 0, update: 0, deleting: 0, native: 0 };
const policyFiles = [...policies.keys()].filter((p) => p.includes("/native/policies/"));
for (const c of buildCases(args.data, policyFiles)) {
  if (args.only && !c.name.includes(args.only)) continue;
  n++;
  const pol = policies.get(c.policy ?? "default");
  let base = c.object, old = typeof c.old === "object" ? c.old : undefined;
  if (c.from) {
    const s = stored.get(c.from);
    if (!s) {
      failed++;
      console.log(`FAIL ${c.name}: the case it starts from (${c.from}) stored no Job`);
      continue;
    }
    old = typeof c.old === "function" ? c.old(s) : s;
    base = JSON.parse(JSON.stringify(old));
    if (c.edit) c.edit(base);
  }
  try {
    const objPath = file("object", base), oldPath = old ? file("old", old) : null;
    const w = webhook(c, pol, objPath, oldPath);
    if (w.stored) stored.set(c.name, w.stored);
    else if (!c.noWebhook && c.op !== "DELETE") {
      // Denied now: later steps start from the same Job stored before the
      // rule existed (no webhook), as a cluster can hold it.
      const alt = webhook({ ...c, noWebhook: true, dryRun: false }, pol, objPath, oldPath);
      if (alt.stored) stored.set(c.name, alt.stored);
    }
    if (c.noWebhook) {
      if (w.code === 0) {
        // Setup, not a comparison: not counted.
        console.log(`--   ${c.name} (stored with no webhook, the start of later cases)`);
      } else {
        failed++;
        console.log(`FAIL ${c.name}: could not be stored without a webhook: ${w.err}`);
      }
      continue;
    }
    if (w.review === null || (w.response === null && w.code !== 0)) {
      failed++;
      console.log(`FAIL ${c.name}: the stand-in did not call the webhook (exit ${w.code}): ${w.err}`);
      continue;
    }
    const nat = nativeSide(c, pol, w.review.request);
    seen.native++;
    seen.patched += w.response?.patch ? 1 : 0;
    seen.warned += (w.response?.warnings ?? []).some((x) => !mapOnly(x)) ? 1 : 0;
    seen.denied += w.response?.allowed === false ? 1 : 0;
    seen.audited += Object.keys(w.response?.auditAnnotations ?? {}).some((k) => k !== "mutated") ? 1 : 0;
    seen.update += c.op === "UPDATE" ? 1 : 0;
    seen.deleting += w.review.request.object?.metadata?.deletionTimestamp ? 1 : 0;
    const d = differences(c, w, nat);
    const valid = nativeValid(c, nat, oldPath);
    const webhookValid = w.response?.allowed ? w.code : null;
    if (valid !== null && webhookValid !== null && valid !== webhookValid)
      d.push(`validation: webhook path exit ${webhookValid}, native exit ${valid}`);
    if (d.length === 0) {
      passed++;
      console.log(`ok   ${c.name}`);
    } else {
      failed++;
      console.log(`FAIL ${c.name}:\n  ${d.join("\n  ")}`);
    }
    if (args.verbose) console.log(JSON.stringify({ webhook: w.response, native: nat }, null, 1));
  } catch (e) {
    failed++;
    console.log(`FAIL ${c.name}: ${e.message}`);
  }
}
console.log(`compared ${seen.native} requests: ${seen.update} UPDATEs (${seen.deleting} of Jobs being deleted); ` +
  `the webhook patched ${seen.patched}, gave rule or stale-template warnings on ${seen.warned}, denied ${seen.denied}, ` +
  `annotated the audit of ${seen.audited}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
