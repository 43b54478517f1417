#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test data for `hookwarden render` and `hookwarden lint`.

A small JSON -> YAML writer in the style `helm template` prints (block style,
plain scalars where YAML 1.1 reads them back as the same string, literal
blocks for multi-line strings), written here so the tests need nothing beyond
the Python standard library. It is independent of src/yaml.c on purpose.

  gen.py yaml FILE [--indent-lists]   print the JSON object in FILE as YAML
  gen.py charts [JOBS_DIR]            rewrite charts/<chart>.yaml: for each Job in
                                      JOBS_DIR (default tests/data/jobs), a helm-template-shaped
                                      stream of ConfigMap, Service, Deployment and
                                      the Job, labelled hookwarden.io/migration: "true"
                                      (the committed streams were then varied by hand:
                                      anchors, list indentation; a rerun undoes that)
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Plain scalars YAML 1.1 (go-yaml v2, sigs.k8s.io/yaml) would type as
# something other than a string, and characters that need quoting anyway.
SPECIAL = {"", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No",
           "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off",
           "OFF", "<<", "="}
SAFE_PLAIN = re.compile(r"^[A-Za-z_/$][A-Za-z0-9 _./=@%+,()$-]*$")
NUMBERISH = re.compile(r"^[-+.0-9]")


def scalar(s):
    if isinstance(s, bool):
        return "true" if s else "false"
    if s is None:
        return "null"
    if isinstance(s, (int, float)):
        return json.dumps(s)
    if (s in SPECIAL or NUMBERISH.match(s) or not SAFE_PLAIN.match(s) or s.endswith(" ")
            or ": " in s or " #" in s):
        return json.dumps(s)
    return s


def literal_ok(s):
    lines = s.rstrip("\n").split("\n")
    return ("\n" in s and not s.startswith((" ", "\n")) and not s.endswith("\n\n")
            and all(l == l.rstrip() for l in lines)
            and all(0x20 <= ord(c) < 0x7f for c in s.replace("\n", "")))


def dump(v, indent, out, lists_indented):
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            key = scalar(k)
            if isinstance(x, dict) and x:
                out.append(f"{pad}{key}:")
                dump(x, indent + 2, out, lists_indented)
            elif isinstance(x, list) and x:
                out.append(f"{pad}{key}:")
                dump(x, indent + (2 if lists_indented else 0), out, lists_indented)
            elif isinstance(x, str) and literal_ok(x):
                out.append(f"{pad}{key}: |" + ("" if x.endswith("\n") else "-"))
                for line in x.rstrip("\n").split("\n"):
                    out.append(f"{pad}  {line}" if line else "")
            else:
                out.append(f"{pad}{key}: {inline(x)}")
    else:
        for x in v:
            if isinstance(x, dict) and x:
                sub = []
                dump(x, indent + 2, sub, lists_indented)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
            elif isinstance(x, list) and x:
                out.append(f"{pad}-")
                dump(x, indent + 2, out, lists_indented)
            else:
                out.append(f"{pad}- {inline(x)}")


def inline(x):
    if isinstance(x, dict):
        return "{}"
    if isinstance(x, list):
        return "[]"
    return scalar(x)


def to_yaml(obj, lists_indented=False):
    out = []
    dump(obj, 0, out, lists_indented)
    return "\n".join(out) + "\n"


def labelled(job):
    meta = job.setdefault("metadata", {})
    labels = meta.get("labels") or {}
    labels["hookwarden.io/migration"] = "true"
    meta["labels"] = labels
    return job


def chart_stream(chart, job, variant):
    """ConfigMap, Service and Deployment for the chart, then its Job."""
    meta = job["metadata"]
    ns = meta.get("namespace")
    ns_line = f"  namespace: {ns}\n" if ns else ""
    version = (meta.get("labels") or {}).get("helm.sh/chart", f"{chart}-1.0.0")
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    template = meta.get("annotations", {}) and "hooks" or "jobs"
    lists_indented = variant % 2 == 1
    labels = (f"    app.kubernetes.io/name: {chart}\n"
              f"    app.kubernetes.io/instance: {chart}\n"
              f"    helm.sh/chart: {version}\n"
              f"    app.kubernetes.io/managed-by: Helm\n")
    # Variants exercise comments, anchors, block scalars, flow style and empty documents.
    anchor = variant % 3 == 0
    sel_labels = (f"      app.kubernetes.io/name: {chart}\n"
                  f"      app.kubernetes.io/instance: {chart}\n")
    dash = "    - " if lists_indented else "  - "
    cont = "      " if lists_indented else "    "
    parts = []
    parts.append(
        f"---\n# Source: {chart}/templates/configmap.yaml\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {chart}-config\n{ns_line}"
        f"  labels:\n{labels}"
        f"data:\n"
        f"  LOG_LEVEL: \"info\"   # quoted on purpose\n"
        f"  WORKERS: \"4\"\n"
        f"  FEATURE_FLAG: 'off'\n"
        f"  config.yaml: |\n"
        f"    # {chart} settings (a comment inside a block scalar is text)\n"
        f"    server:\n"
        f"      port: 8080\n"
        f"      debug: false\n"
        f"  motd: >-\n"
        f"    Welcome to {chart}.\n"
        f"    Folded lines join.\n")
    if variant % 4 == 2:
        parts.append("---\n# Source: " + chart + "/templates/disabled.yaml\n")
    parts.append(
        f"---\n# Source: {chart}/templates/service.yaml\n"
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {chart}\n{ns_line}"
        f"  labels:\n{labels}"
        f"spec:\n  type: ClusterIP\n  ports:\n"
        f"{dash}port: 80\n{cont}targetPort: http\n{cont}protocol: TCP\n{cont}name: http\n"
        f"  selector: {{app.kubernetes.io/name: {chart}, app.kubernetes.io/instance: {chart}}}\n")
    if anchor:
        sel = f"  selector:\n    matchLabels: &selector\n{sel_labels}"
        tmpl_labels = "      labels: *selector\n"
    else:
        sel = f"  selector:\n    matchLabels:\n{sel_labels}"
        tmpl_labels = "      labels:\n" + sel_labels.replace("      ", "        ")
    parts.append(
        f"---\n# Source: {chart}/templates/deployment.yaml\n"
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {chart}\n{ns_line}"
        f"  labels:\n{labels}"
        f"spec:\n  replicas: 2\n  revisionHistoryLimit: 010   # YAML 1.1 octal: 8\n{sel}"
        f"  template:\n    metadata:\n{tmpl_labels}"
        f"      annotations:\n        checksum/config: 5f3a1c0e9b\n"
        f"    spec:\n      containers:\n"
        f"        - name: {chart}\n          image: \"{image}\"\n"
        f"          ports:\n            - name: http\n              containerPort: 8080\n"
        f"          env:\n            - name: EMPTY\n              value: \"\"\n"
        f"            - name: ENABLED\n              value: \"true\"\n"
        f"          readinessProbe: {{httpGet: {{path: /health, port: http}}, periodSeconds: 10}}\n")
    parts.append(f"---\n# Source: {chart}/templates/{template}/migrate-job.yaml\n" +
                 to_yaml(labelled(job), lists_indented))
    return "".join(parts)


def charts(fixtures):
    os.makedirs(os.path.join(HERE, "charts"), exist_ok=True)
    for i, name in enumerate(sorted(os.listdir(fixtures))):
        if not name.endswith("-migrate.json"):
            continue
        chart = name[:-len("-migrate.json")]
        with open(os.path.join(fixtures, name)) as f:
            job = json.load(f)
        with open(os.path.join(HERE, "charts", chart + ".yaml"), "w") as f:
            f.write(chart_stream(chart, job, i))


def main(argv):
    if len(argv) >= 2 and argv[0] == "yaml":
        with open(argv[1]) as f:
            sys.stdout.write(to_yaml(json.load(f), "--indent-lists" in argv))
        return 0
    if argv and argv[0] == "charts":
        charts(argv[1] if len(argv) > 1 else os.path.join(HERE, "..", "jobs"))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
