#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the fuzz seed corpora from the test data and the golden cases.

    tests/fuzz/mkseeds.py [DATA_DIR]      (default: tests/data)

tests/fuzz/seeds/request/: every golden request (tests/data/review/*/request.json),
the real-shaped reviews (tests/data/reviews/), and every chart Job
(tests/data/jobs/) wrapped in compact
AdmissionReviews (labelled CREATE v1, v1beta1, UPDATE with oldObject, DELETE),
plus hand-made edge cases (nulls, escapes, NUL bytes, deep nesting, odd types).
tests/fuzz/seeds/policy/: the built-in default, the docs' example policies
(JSON and YAML, with per-namespace overrides), deploy/base/policy.yaml, every
golden policy.json, and edge cases. The target reads a seed as YAML unless
its first character is '{'. The output is committed; rerun after the
test data change. Names are stable, so reruns give a clean diff.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data")
LABEL = "hookwarden.io/migration"


def write(kind, name, data):
    d = os.path.join(HERE, "seeds", kind)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def review(job, op="CREATE", version="admission.k8s.io/v1", old=None, uid="seed-uid-0001"):
    ns = (job.get("metadata") or {}).get("namespace") or "default"
    req = {
        "uid": uid,
        "kind": {"group": "batch", "version": "v1", "kind": "Job"},
        "resource": {"group": "batch", "version": "v1", "resource": "jobs"},
        "namespace": ns,
        "operation": op,
        "userInfo": {"username": "system:serviceaccount:kube-system:helm"},
        "object": job if op != "DELETE" else None,
        "oldObject": old,
        "dryRun": False,
    }
    return compact({"kind": "AdmissionReview", "apiVersion": version, "request": req})


def labelled(job):
    job = json.loads(json.dumps(job))
    meta = job.setdefault("metadata", {})
    labels = meta.get("labels") or {}
    labels[LABEL] = "true"
    meta["labels"] = labels
    return job


def request_seeds():
    golden = os.path.join(DATA, "review")
    for case in sorted(os.listdir(golden)):
        p = os.path.join(golden, case, "request.json")
        if os.path.isfile(p):
            write("request", "golden-" + case, open(p, "rb").read())
    for f in sorted(os.listdir(os.path.join(DATA, "reviews"))):
        if f.endswith(".json"):
            write("request", "review-" + f[:-5], open(os.path.join(DATA, "reviews", f), "rb").read())
    jobs = os.path.join(DATA, "jobs")
    for f in sorted(os.listdir(jobs)):
        if not f.endswith(".json"):
            continue
        n = f[:-5]
        job = json.load(open(os.path.join(jobs, f)))
        lj = labelled(job)
        write("request", "job-" + n + "-create", review(lj))
        write("request", "job-" + n + "-unlabelled", review(job))
        write("request", "job-" + n + "-v1beta1", review(lj, version="admission.k8s.io/v1beta1"))
        upd = json.loads(json.dumps(lj))
        upd.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})["restartPolicy"] = "OnFailure"
        write("request", "job-" + n + "-update", review(upd, op="UPDATE", old=lj))
        write("request", "job-" + n + "-delete", review(lj, op="DELETE", old=lj))
    edge = {
        "nulls": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u",'
                 '"kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"CREATE","namespace":null,'
                 '"object":{"metadata":{"name":"j","creationTimestamp":null,"labels":{"' + LABEL + '":"true"},'
                 '"annotations":null},"spec":{"backoffLimit":null,"template":{"metadata":null,"spec":'
                 '{"restartPolicy":null,"imagePullSecrets":null,"containers":[{"name":"c","lifecycle":null}]}}}},'
                 '"oldObject":null,"dryRun":null}}',
        "escapes": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u\\u0026v",'
                   '"operation":"CREATE","object":{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"a\\/b~c",'
                   '"labels":{"hookwarden.io\\/migration":"true"},"annotations":{"helm.sh/hook":"pre-install\\u002c'
                   'post-install","x~/y":"\\ud83d\\ude00"}},"spec":{"template":{"spec":{"restartPolicy":"OnFailure"}}}}}}',
        "nul-in-strings": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1",'
                          '"operation":"CREATE","kind":{"group":"batch","version":"v1","kind":"Job"},"object":{'
                          '"metadata":{"name":"n\\u0000x","labels":{"' + LABEL + '":"true\\u0000"},"annotations":'
                          '{"helm.sh/hook":"pre-install\\u0000,x"}},"spec":{}}}}',
        "derived-kind": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u2",'
                        '"operation":"UPDATE","object":{"apiVersion":"batch/v1","kind":"Job","metadata":{'
                        '"generateName":"m-","namespace":"kube-system","labels":{"' + LABEL + '":"true"}},'
                        '"spec":{"template":{"spec":{"containers":[{"name":"m"},{"name":"istio-proxy",'
                        '"image":"istio/proxyv2","args":["--quitquitquit"]}]}}}}}}',
        "wrong-types": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u3",'
                       '"operation":"CREATE","kind":{"group":"batch","version":"v1","kind":"Job"},"object":{'
                       '"metadata":{"labels":{"' + LABEL + '":"true"},"annotations":{"helm.sh/hook":7}},'
                       '"spec":{"ttlSecondsAfterFinished":"0","activeDeadlineSeconds":1.5,"template":'
                       '{"spec":{"restartPolicy":1,"imagePullSecrets":{"name":"x"}}}}}}}',
        "deep": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u4",'
                '"operation":"CREATE","object":{"metadata":{"labels":{"' + LABEL + '":"true"}},"spec":'
                + "[" * 300 + "]" * 300 + "}}}",
        "dup-keys": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",'
                    '"request":{"uid":"a","uid":"b","operation":"DELETE","operation":"CREATE","object":'
                    '{"metadata":{"labels":{"' + LABEL + '":"false","' + LABEL + '":"true"}}}}}',
        "connect": '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"c",'
                   '"operation":"CONNECT","subResource":"exec","object":null}}',
    }
    for name, text in edge.items():
        json.loads(text)  # every edge seed is valid JSON; the fuzzer breaks it
        write("request", "edge-" + name, text)


def default_policy():
    src = open(os.path.join(ROOT, "src", "policyfile.c")).read()
    m = re.search(r"default_policy\[\] =\s*((?:\s*\"(?:[^\"\\]|\\.)*\")+);", src)
    text = "".join(json.loads(s) for s in re.findall(r"\"(?:[^\"\\]|\\.)*\"", m.group(1)))
    return json.dumps(json.loads(text), indent=1)


def policy_seeds():
    write("policy", "default", default_policy())
    write("policy", "docs-policy-example", open(os.path.join(ROOT, "docs", "policy-example.json"), "rb").read())
    for name, path in (("docs-policy-example-yaml", ("docs", "policy-example.yaml")),
                       ("docs-policy-teams-yaml", ("docs", "policy-teams.yaml")),
                       ("deploy-base-policy-yaml", ("deploy", "base", "policy.yaml"))):
        write("policy", name, open(os.path.join(ROOT, *path), "rb").read())
    write("policy", "teams-json", open(os.path.join(DATA, "policy", "teams.json"), "rb").read())
    golden = os.path.join(DATA, "review")
    for case in sorted(os.listdir(golden)):
        p = os.path.join(golden, case, "policy.json")
        if os.path.isfile(p):
            write("policy", "golden-" + case, open(p, "rb").read())
    edge = {
        "empty-object": "{}",
        "all-off": '{"hook":{"events":{"mode":"off"},"deletePolicy":{"mode":"off"},"weight":{"mode":"off"}},'
                   '"restartPolicy":{"mode":"off"},"imagePullSecrets":{"mode":"off"},"rules":{"not-a-hook":"off"}}',
        "enforce-all": '{"selector":{"labelKey":"example.com/db-migrate","labelValues":["yes","true"]},'
                       '"namespaces":{"include":["db","app"],"exclude":["kube-system"]},'
                       '"hook":{"events":{"mode":"enforce","value":"pre-upgrade , pre-install"},'
                       '"deletePolicy":{"mode":"enforce","value":"before-hook-creation"},'
                       '"weight":{"mode":"enforce","value":"-10"}},'
                       '"restartPolicy":{"mode":"enforce","value":"OnFailure"},'
                       '"job":{"backoffLimit":{"mode":"enforce","value":0},'
                       '"activeDeadlineSeconds":{"mode":"enforce","value":2147483647},'
                       '"ttlSecondsAfterFinished":{"mode":"add","value":0}}}',
        "errors": '{"selector":{"labelKey":"-bad-","labelValues":[1,"x y"]},"namespaces":{"include":["A"]},'
                  '"hook":{"events":{"mode":"sometimes","value":"pre-everything"},"weight":{"value":" 1"}},'
                  '"restartPolicy":{"value":"Always"},"job":{"backoffLimit":{"value":-1}},'
                  '"rules":{"no-such-rule":"warn","ttl-after-finished":{"action":"loud","minSeconds":-5}},'
                  '"typo":true}',
        "syntax-error": '{"hook": {"events": {"mode": "add",\n  "value": }}}',
        "duplicate-key": '{"rules":{},"rules":{}}',
        "comments-and-unicode": '{"//":"\\u00e9t\\u00e9","rules":{"//x":1,"long-lived-sidecar":{"action":"deny",'
                                '"containers":["proxy","\\u00e9"]}}}',
    }
    yaml_edge = {
        "yaml-aliases-and-merge": "hook:\n  events: &e {mode: enforce, value: pre-upgrade}\n"
                                  "  deletePolicy: {<<: *e, value: hook-failed}\n"
                                  "overrides:\n  - &o\n    namespaces: [\"a-*\", \"?b\"]\n"
                                  "    rules: {not-a-hook: deny}\n  - {<<: *o, namespaces: [c]}\n",
        "yaml-booleans-and-numbers": "rules:\n  not-a-hook: off\nhook:\n  weight: {mode: add, value: -5}\n",
        "yaml-override-errors": "overrides:\n  - namespaces: [Team-A, \"-x\", \"*\"]\n"
                                "    selector: {}\n    imagePullSecret: {names: [x]}\n  - []\n",
        "yaml-two-documents": "rules: {}\n---\nrules: {}\n",
    }
    for name, text in edge.items():
        write("policy", "edge-" + name, text)
    for name, text in yaml_edge.items():
        write("policy", "edge-" + name, text)


if __name__ == "__main__":
    request_seeds()
    policy_seeds()
