// Validate every object of a rendered kustomize stream against the Kubernetes
// OpenAPI schemas shipped by the npm packages kubernetes-models (core kinds),
// @kubernetes-models/cert-manager (Issuer, Certificate) and
// @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule).
//
//   node validate.mjs LABEL FILE
//
// One line per object; exit 1 when any object is invalid or has no schema here.
// The packages' validators check types, enums, formats and required fields but
// accept unknown fields, so each object is also walked against the models'
// declared properties (strict.mjs): kubectl's default strict field validation
// refuses unknown fields, and so does this.
import { Reporter, loadObjects, describe, fail } from "./lib.mjs";
import { unknownFields } from "./strict.mjs";

const [label, file] = process.argv.slice(2);
if (!label || !file) {
  console.error("usage: node validate.mjs LABEL FILE");
  process.exit(2);
}

// apiVersion -> module prefix. Anything else has no schema here: a failure,
// so that a new kind cannot slip through unvalidated.
function modulePath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  if (/^cert-manager\.io\/v1$/.test(apiVersion)) {
    return `@kubernetes-models/cert-manager/cert-manager.io/v1/${kind}`;
  }
  if (/^monitoring\.coreos\.com\/v1$/.test(apiVersion)) {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  }
  if (/^v1$/.test(apiVersion)) return `kubernetes-models/v1/${kind}`;
  if (/^[a-z0-9.-]+\/v[0-9a-z]+$/.test(apiVersion)) {
    return `kubernetes-models/${apiVersion}/${kind}`;
  }
  return null;
}

const r = new Reporter(`schema ${label}`);
let objects;
try {
  objects = loadObjects(file);
} catch (e) {
  r.check("parse rendered YAML", () => fail(e.message));
  process.exit(1);
}
r.check("stream has objects", () => objects.length > 0 || "no objects rendered");

// kustomize writes generated Secret data as base64 broken into 70-column
// lines; kube-apiserver decodes []byte fields with Go's base64 decoder, which
// skips line breaks, while the schema's "byte" format does not. Check such
// fields the way the apiserver reads them.
function asDecoded(obj) {
  const copy = structuredClone(obj);
  const unwrap = (v) => (typeof v === "string" ? v.replace(/[\r\n]/g, "") : v);
  const unwrapAll = (map) => {
    for (const k of Object.keys(map ?? {})) map[k] = unwrap(map[k]);
  };
  if (copy.kind === "Secret") unwrapAll(copy.data);
  if (copy.kind === "ConfigMap") unwrapAll(copy.binaryData);
  for (const w of copy.webhooks ?? []) {
    if (w?.clientConfig?.caBundle !== undefined) w.clientConfig.caBundle = unwrap(w.clientConfig.caBundle);
  }
  return copy;
}

for (const obj of objects) {
  const path = modulePath(obj.apiVersion, obj.kind);
  let Model = null;
  let importError = "";
  if (path) {
    try {
      Model = (await import(path))[obj.kind];
    } catch (e) {
      importError = e.code ?? e.message;
    }
  }
  r.check(`${obj.apiVersion} ${describe(obj)}`, () => {
    if (!Model) fail(`no schema for ${obj.apiVersion} ${obj.kind} (${importError || "unknown apiVersion"})`);
    new Model(asDecoded(obj)).validate();
    const unknown = unknownFields(path, obj);
    if (unknown.length > 0) fail(`unknown field(s): ${unknown.join(", ")}`);
  });
}
process.exit(r.exitCode());
