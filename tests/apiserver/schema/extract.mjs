// SPDX-License-Identifier: Apache-2.0
// Extracts the field schema of batch/v1 Job (every type reachable from it)
// from the TypeScript declarations of the kubernetes-models npm package
// (generated from the Kubernetes OpenAPI), into job-v1.schema.json. Run once
// when the pinned version changes:
//   npm ci --prefix tests/deploy
//   node tests/apiserver/schema/extract.mjs tests/deploy/node_modules > tests/apiserver/schema/job-v1.schema.json
// Each definition lists its properties with a JSON kind: string, integer-or-
// number ("number"), boolean, "quantity" (number|string), "int-or-string",
// "time" (string), array (items), map (values), or a $ref to another
// definition; "required" lists the fields the OpenAPI marks required.
import fs from "node:fs";
import path from "node:path";

const nm = path.resolve(process.argv[2] || "tests/deploy/node_modules");
const pkg = JSON.parse(fs.readFileSync(path.join(nm, "kubernetes-models/package.json")));
const defs = {};

function resolveImport(fromFile, spec) {
  let p = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec) : path.join(nm, spec);
  p = p.replace(/\.js$/, "");
  return p + ".d.ts";
}

function parseType(t, imports, file) {
  t = t.trim();
  let m;
  if (t === "string" || /^"[^"]*"( \| "[^"]*")*$/.test(t)) return { type: "string" };
  if (t === "number") return { type: "number" };
  if (t === "boolean") return { type: "boolean" };
  if (t === "any") return { type: "any" };
  if ((m = t.match(/^Array<(.+)>$/s))) return { type: "array", items: parseType(m[1], imports, file) };
  if ((m = t.match(/^\{\s*\[key: string\]: (.+?);\s*\}$/s))) return { type: "map", values: parseType(m[1], imports, file) };
  if (imports[t]) return load(imports[t], t);
  throw new Error(`${file}: unknown type ${t}`);
}

// defID names a definition by its declaration file: batch/v1.JobSpec,
// core/v1.Container, meta/v1.ObjectMeta.
function defID(f) {
  const rel = path.relative(nm, f).replace(/\.d\.ts$/, "").split(path.sep);
  const name = rel.pop();
  if (rel[0] === "kubernetes-models") rel.shift();
  if (rel[0] === "@kubernetes-models") rel.splice(0, 3); // @kubernetes-models/apimachinery/apis
  if (rel.length === 1) rel.unshift("core");
  return rel.join("/") + "." + name;
}

// load returns a schema node for the declaration file f exporting name.
function load(f, name) {
  const src = fs.readFileSync(f, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "").replace(/\n\s*\n/g, "\n");
  let m = src.match(/export type I\w+ = ([^;]+);/);
  if (m) {
    const t = m[1].trim();
    if (t === "string" && /Time$/.test(name)) return { type: "time" };
    if (t === "string") return { type: "string" };
    if (/IntOrString/.test(name)) return { type: "int-or-string" };
    if (/Quantity/.test(name)) return { type: "quantity" };
    throw new Error(`${f}: alias ${t}`);
  }
  const id = defID(f);
  if (defs[id]) return { $ref: id };
  defs[id] = {};
  const imports = {};
  for (const im of src.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports[im[1]] = resolveImport(f, im[2]);
  m = src.match(/export interface I\w+(?: extends \w+)? \{([\s\S]*?)\n\}/);
  if (!m) throw new Error(`${f}: no interface`);
  const props = {}, required = [];
  for (const pm of (m[1] + "\n").matchAll(/^    "([^"]+)"(\??): ([\s\S]*?);\n(?=    "|$)/gm)) {
    props[pm[1]] = parseType(pm[3], imports, f);
    if (pm[2] !== "?") required.push(pm[1]);
  }
  defs[id] = { properties: props, required };
  return { $ref: id };
}

load(path.join(nm, "kubernetes-models/batch/v1/Job.d.ts"), "IIoK8sApiBatchV1Job");
const sorted = Object.fromEntries(Object.keys(defs).sort().map((k) => [k, defs[k]]));
process.stdout.write(JSON.stringify({
  source: `npm kubernetes-models@${pkg.version} (and @kubernetes-models/apimachinery), TypeScript declarations generated from the Kubernetes OpenAPI; extracted by extract.mjs`,
  root: "batch/v1.Job",
  definitions: sorted,
}, null, 1) + "\n");
