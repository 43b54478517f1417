// Shared helpers for tests/deploy: read a rendered kustomize stream, report checks.
import { readFileSync } from "node:fs";
import YAML from "yaml";

// kubectl reads manifests with a YAML 1.1 parser (sigs.k8s.io/yaml over
// go-yaml): parse the same way, so that `yes`, `on` or 0440 mean here what they
// mean to kubectl.
export function loadObjects(file) {
  const text = readFileSync(file, "utf8");
  const docs = YAML.parseAllDocuments(text, { version: "1.1", merge: true });
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new Error(`${file}: YAML error: ${doc.errors[0].message}`);
    }
    const obj = doc.toJS({ maxAliasCount: 0 });
    if (obj !== null && obj !== undefined) objects.push(obj);
  }
  return objects;
}

export function describe(obj) {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj?.kind ?? "?"} ${ns}${obj?.metadata?.name ?? "?"}`;
}

// One line per check: "PASS <what>" or "FAIL <what>: <why>". tests/deploy/run.sh
// counts these lines.
export class Reporter {
  constructor(prefix) {
    this.prefix = prefix;
    this.failed = 0;
    this.passed = 0;
  }
  check(what, fn) {
    let problem;
    try {
      const r = fn();
      if (r === false) problem = "condition false";
      else if (typeof r === "string") problem = r;
    } catch (e) {
      problem = e?.message ?? String(e);
    }
    if (problem === undefined) {
      this.passed++;
      console.log(`PASS ${this.prefix}: ${what}`);
    } else {
      this.failed++;
      console.log(`FAIL ${this.prefix}: ${what}: ${problem}`);
    }
  }
  exitCode() {
    return this.failed === 0 ? 0 : 1;
  }
}

export function fail(msg) {
  throw new Error(msg);
}

export function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}
