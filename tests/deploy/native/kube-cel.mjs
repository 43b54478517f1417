// kube-apiserver's admission-policy CEL, emulated around a conformant CEL
// evaluator (@bufbuild/cel), for the policies `hookwarden export
// admission-policy` writes. What Kubernetes adds or does differently is
// written here from its sources (kubernetes/kubernetes,
// staging/src/k8s.io/apiserver/pkg/):
//
// - the environment (cel/environment/base.go): cel-go's strings extension
//   (version 2), the Kubernetes regex library's find() (cel/library/regex.go),
//   and in mutations only the JSONPatch type and jsonpatch.escapeKey()
//   (admission/plugin/cel/compile.go, cel/mutation/jsonpatch.go,
//   cel/library/jsonpatch.go);
// - cel-go's string functions count Unicode code points and split("") gives
//   runes (Go's strings.Split); @bufbuild/cel 0.6.1's strings extension uses
//   JavaScript's UTF-16 units for substring() and split(), so both are
//   replaced by Go's semantics here;
// - object and oldObject are the typed objects as JSON (integers are CEL
//   ints); request is the AdmissionRequest without object, oldObject, uid;
// - variables are evaluated in order, each seeing the earlier ones; one that
//   fails is absent, so an expression reading it fails as in kube-apiserver
//   (admission/plugin/cel/composition.go);
// - matchConstraints: resourceRules, and objectSelector on object OR
//   oldObject (admission/plugin/policy/matching, webhook predicates/object);
//   matchConditions: false skips, an error fails (failurePolicy Fail);
// - a MutatingAdmissionPolicy's mutations run in order on the object the
//   previous one produced; the caller applies each JSON Patch and defaults
//   (policy/mutating/dispatcher.go, patch/json_patch.go);
// - a ValidatingAdmissionPolicy's failed validations become, per its
//   binding's validationActions, a warning "Validation failed for
//   ValidatingAdmissionPolicy 'P' with binding 'B': MSG" or a denial (only
//   the first is shown); a message is trimmed and dropped when it has a line
//   break or is over 5 KiB; audit annotations are "P/KEY", empty ones
//   omitted (policy/validating/{dispatcher,validator}.go).
//
// CEL cost limits and the type checker are not emulated: the evaluator has
// neither (docs/native-policy.md says what that leaves unproven).
import { celEnv, celFunc, celMethod, CelScalar, listType, parse, plan, isCelError, isCelList, isCelMap } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { create, createFileRegistry, toJson } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, file_google_protobuf_struct } from "@bufbuild/protobuf/wkt";

const { STRING, INT } = CelScalar;

// JSONPatch{op, path, from, value}: value is dyn (google.protobuf.Value).
const jsonPatchFile = create(FileDescriptorProtoSchema, {
  name: "kubernetes/jsonpatch.proto",
  syntax: "proto3",
  dependency: ["google/protobuf/struct.proto"],
  messageType: [
    {
      name: "JSONPatch",
      field: [
        { name: "op", number: 1, type: 9, label: 1, jsonName: "op" },
        { name: "path", number: 2, type: 9, label: 1, jsonName: "path" },
        { name: "from", number: 3, type: 9, label: 1, jsonName: "from" },
        { name: "value", number: 4, type: 11, typeName: ".google.protobuf.Value", label: 1, jsonName: "value" },
      ],
    },
  ],
});
const registry = createFileRegistry(jsonPatchFile, (n) =>
  n === "google/protobuf/struct.proto" ? file_google_protobuf_struct : undefined,
);
const jsonPatchType = registry.getMessage("JSONPatch");

const runes = (s) => Array.from(s);

function outOfRange(i, n) {
  throw new Error(`index out of range: ${i} (size ${n})`);
}

// cel-go ext strings: substring counts code points.
function substring(start, end) {
  const r = runes(this);
  const i = Number(start);
  const j = end === undefined ? r.length : Number(end);
  if (i < 0 || i > r.length) outOfRange(i, r.length);
  if (j < 0 || j > r.length) outOfRange(j, r.length);
  if (i > j) throw new Error(`invalid substring range. start: ${i}, end: ${j}`);
  return r.slice(i, j).join("");
}

// Go's strings.Split: "" gives one string per rune.
function split(sep) {
  return sep === "" ? runes(this) : this.split(sep);
}

// k8s regex library: the leftmost-first match, "" when none. The exported
// patterns use only syntax JavaScript reads the same way.
function find(pattern) {
  const m = this.match(new RegExp(pattern, "u"));
  return m === null ? "" : m[0];
}

// k8s jsonpatch library: "~" -> "~0", "/" -> "~1".
function escapeKey(k) {
  return k.replaceAll("~", "~0").replaceAll("/", "~1");
}

const kubeFuncs = [
  ...strings.filter((f) => f.name !== "substring" && f.name !== "split"),
  celMethod("substring", STRING, [INT], STRING, substring),
  celMethod("substring", STRING, [INT, INT], STRING, substring),
  celMethod("split", STRING, [STRING], listType(STRING), split),
  celMethod("find", STRING, [STRING], STRING, find),
  celFunc("jsonpatch.escapeKey", [STRING], STRING, escapeKey),
];

const env = celEnv({ funcs: kubeFuncs, registry });
const programs = new Map();

function program(expr) {
  let p = programs.get(expr);
  if (p === undefined) {
    p = plan(env, parse(expr));
    programs.set(expr, p);
  }
  return p;
}

// Evaluates expr; throws on a CEL error.
export function evaluate(expr, bindings) {
  const r = program(expr)(bindings);
  if (isCelError(r)) {
    throw new Error(`CEL error in ${JSON.stringify(expr.slice(0, 80))}: ${r.message ?? r}`);
  }
  return r;
}

// JSON (as parsed) to CEL input: integers become ints.
export function toCel(v) {
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = toCel(x);
    return o;
  }
  return v;
}

// CEL result to JSON.
export function toJSON(v) {
  if (typeof v === "bigint") return Number(v);
  if (isCelList(v)) return Array.from(v).map(toJSON);
  if (Array.isArray(v)) return v.map(toJSON);
  if (isCelMap(v)) {
    const o = {};
    for (const [k, x] of v.entries()) o[toJSON(k)] = toJSON(x);
    return o;
  }
  if (v && typeof v === "object" && v.message && v.desc) return toJson(v.desc, v.message);
  return v;
}

function variables(spec, base) {
  const vars = {};
  for (const v of spec.variables ?? []) {
    try {
      vars[v.name] = evaluate(v.expression, { ...base, variables: vars });
    } catch {
      // absent: reading it fails, as a failed variable does in kube-apiserver
    }
  }
  return vars;
}

function labelsMatch(selector, labels) {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = labels != null && Object.hasOwn(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// matchConstraints for a batch/v1 Job request (the only kind the cases send).
function constraintsMatch(mc, req, object, oldObject) {
  const ruleOK = (mc.resourceRules ?? []).some(
    (r) =>
      r.apiGroups.includes(req.kind.group) &&
      r.apiVersions.includes(req.kind.version) &&
      r.operations.includes(req.operation) &&
      r.resources.includes(req.resource.resource) &&
      !req.subResource,
  );
  const sel = mc.objectSelector ?? {};
  const objOK =
    (object != null && labelsMatch(sel, object.metadata?.labels)) ||
    (oldObject != null && labelsMatch(sel, oldObject.metadata?.labels));
  return ruleOK && objOK;
}

// The bindings every expression of a policy sees.
function bindingsFor(req, object, oldObject) {
  const { object: _o, oldObject: _p, uid: _u, ...request } = req;
  return { object: toCel(object), oldObject: toCel(oldObject), request: toCel(request) };
}

// null when the policy does not apply; else {base, vars}.
function applies(policy, req, object, oldObject) {
  if (!constraintsMatch(policy.spec.matchConstraints, req, object, oldObject)) return null;
  const base = bindingsFor(req, object, oldObject);
  for (const c of policy.spec.matchConditions ?? []) {
    if (evaluate(c.expression, base) !== true) return null;
  }
  return { base, vars: variables(policy.spec, base) };
}

// The JSON Patch each mutation asks for on `object` ([] when nothing), and
// the next object from apply(object, ops) (the caller's JSON Patch library
// and defaulting). Returns {matched, patches: [[op...]...], object}.
export function mutate(policy, req, object, oldObject, apply) {
  const first = applies(policy, req, object, oldObject);
  if (first === null) return { matched: false, patches: [], object };
  const patches = [];
  let cur = object;
  for (const m of policy.spec.mutations) {
    const base = bindingsFor(req, cur, oldObject);
    const vars = variables(policy.spec, base);
    const ops = toJSON(evaluate(m.jsonPatch.expression, { ...base, variables: vars }));
    patches.push(ops);
    if (ops.length > 0) cur = apply(cur, ops);
  }
  return { matched: true, patches, object: cur };
}

function message(text) {
  if (typeof text !== "string") return "";
  const t = text.trim();
  return t.includes("\n") || Buffer.byteLength(t) > 5 * 1024 ? "" : t;
}

// A ValidatingAdmissionPolicy and its binding on the final object.
// Returns {warnings: [msg], denials: [msg], audit: {key: value}}.
export function validate(policy, binding, req, object, oldObject) {
  const out = { warnings: [], denials: [], audit: {} };
  const a = applies(policy, req, object, oldObject);
  if (a === null) return out;
  const bindings = { ...a.base, variables: a.vars };
  for (const v of policy.spec.validations ?? []) {
    if (evaluate(v.expression, bindings) === true) continue;
    let msg = "";
    if (v.messageExpression) msg = message(evaluate(v.messageExpression, bindings));
    if (msg === "" && v.message) msg = v.message.trim();
    if (msg === "") msg = `failed expression: ${v.expression.trim()}`;
    for (const action of binding.spec.validationActions) {
      if (action === "Warn") out.warnings.push(msg);
      if (action === "Deny") out.denials.push(msg);
    }
  }
  for (const an of policy.spec.auditAnnotations ?? []) {
    const val = evaluate(an.valueExpression, bindings);
    if (typeof val === "string" && val.trim() !== "") out.audit[an.key] = val.trim();
  }
  return out;
}

// What kube-apiserver shows for a policy's warning and denial.
export const warningText = (policy, binding, msg) =>
  `Validation failed for ValidatingAdmissionPolicy '${policy}' with binding '${binding}': ${msg}`;
export const denialText = (policy, binding, msg) =>
  `ValidatingAdmissionPolicy '${policy}' with binding '${binding}' denied request: ${msg}`;
