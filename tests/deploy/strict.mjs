// Unknown-field detection. The kubernetes-models validators accept fields the
// API does not know (their schemas leave additionalProperties open), while
// kubectl's default strict field validation refuses them. The packages also
// ship a TypeScript declaration (.d.ts) per type, listing its properties and
// each property's type; walking an object against those declarations finds
// every field the API would not know ("spec.template.spec.containers[0].readOnlyRootFileSystem").
//
// Only single-named types are followed (IFoo, Array<IFoo>); maps, unions and
// scalars end the walk, so this can miss an unknown field below a map but never
// reports a known field as unknown.
import { readFileSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const cache = new Map(); // .d.ts path -> Map(prop -> {ref, file}) | null (opaque)

function dtsOf(jsPath) {
  return jsPath.replace(/\.js$/, ".d.ts");
}

function resolveSpecifier(spec, fromFile) {
  if (spec.startsWith(".")) return resolve(dirname(fromFile), spec);
  return fileURLToPath(import.meta.resolve(spec));
}

function parse(dtsFile) {
  if (cache.has(dtsFile)) return cache.get(dtsFile);
  let result = null;
  if (existsSync(dtsFile)) {
    const text = readFileSync(dtsFile, "utf8");
    const imports = new Map();
    for (const m of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
      for (const name of m[1].split(",").map((s) => s.trim())) {
        imports.set(name, m[2]);
      }
    }
    const body = text.match(/^export interface I\w+(?: extends ([\w, ]+))? \{\n([\s\S]*?)^\}/m);
    if (body) {
      result = new Map();
      // Inherited properties (IssuerSpec extends IssuerConfig, ...).
      for (const parent of (body[1] ?? "").split(",").map((s) => s.trim())) {
        // TypeMeta (apiVersion, kind) is listed property by property anyway.
        if (!/^I\w+$/.test(parent) || !imports.has(parent)) continue;
        const inherited = parse(dtsOf(resolveSpecifier(imports.get(parent), dtsFile)));
        if (!inherited) { result = null; break; }
        for (const [k, v] of inherited) result.set(k, v);
      }
    }
    if (result) {
      for (const m of body[2].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
        const [, prop, type] = m;
        const ref = type.match(/^(?:Array<)?(I\w+)>?;$/);
        let file = null;
        if (ref && imports.has(ref[1])) {
          file = dtsOf(resolveSpecifier(imports.get(ref[1]), dtsFile));
        }
        result.set(prop, { file });
      }
    }
  }
  cache.set(dtsFile, result);
  return result;
}

function walk(value, dtsFile, path, out) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, dtsFile, `${path}[${i}]`, out));
    return;
  }
  const props = parse(dtsFile);
  if (!props) return; // opaque type (IntOrString, Quantity, ...)
  for (const [key, v] of Object.entries(value)) {
    const where = path ? `${path}.${key}` : key;
    const p = props.get(key);
    if (!p) out.push(where);
    else if (p.file) walk(v, p.file, where, out);
  }
}

// modulePath: the import specifier of the object's model, e.g.
// "kubernetes-models/apps/v1/Deployment". Returns the unknown field paths.
export function unknownFields(modulePath, obj) {
  const top = dtsOf(fileURLToPath(import.meta.resolve(modulePath)));
  if (!parse(top)) throw new Error(`cannot read the declarations of ${modulePath}`);
  const out = [];
  walk(obj, top, "", out);
  return out;
}
