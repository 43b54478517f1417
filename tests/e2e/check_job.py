#!/usr/bin/env python3
"""Checks a Job that came back from admission-sim against the one sent.

usage: check_job.py SENT FINAL [--namespace NS] [--secret NAME]... [--unchanged]

SENT is the object as the webhook received it: the manifest as kube-apiserver
defaults it (`admission-sim default -f MANIFEST`), since admission-sim, like
kube-apiserver, defaults the object before the call and again after it.

admission-sim, like kube-apiserver, fills metadata.namespace from the
request when the manifest has none; --namespace says which.

With --unchanged, FINAL must equal SENT. Otherwise FINAL must be SENT plus
exactly the built-in policy: helm.sh/hook and helm.sh/hook-delete-policy
(the chart's own values kept), restartPolicy Never, each secret once after
the chart's own pull secrets, and nothing else changed.
"""
import copy
import json
import sys


def main():
    args = sys.argv[1:]
    sent = json.load(open(args[0]))
    final = json.load(open(args[1]))
    secrets = [args[i + 1] for i, a in enumerate(args) if a == "--secret"]
    for i, a in enumerate(args):
        if a == "--namespace":
            sent.setdefault("metadata", {}).setdefault("namespace", args[i + 1])
    if "--unchanged" in args:
        if sent != final:
            sys.exit("object changed although it should not have")
        return
    want = copy.deepcopy(sent)
    meta = want.setdefault("metadata", {})
    ann = meta.get("annotations") or {}
    ann.setdefault("helm.sh/hook", "pre-install,pre-upgrade")
    ann.setdefault("helm.sh/hook-delete-policy", "before-hook-creation,hook-succeeded")
    meta["annotations"] = ann
    pod = want["spec"]["template"]["spec"]
    pod["restartPolicy"] = "Never"
    pulls = pod.get("imagePullSecrets") or []
    for s in secrets:
        if not any(p.get("name") == s for p in pulls):
            pulls.append({"name": s})
    if pulls:
        pod["imagePullSecrets"] = pulls
    if final != want:
        diff = [k for k in set(want) | set(final) if want.get(k) != final.get(k)]
        sys.exit("final object differs from the expected one in %s:\nwant %s\ngot  %s" % (
            diff, json.dumps({k: want.get(k) for k in diff})[:1500],
            json.dumps({k: final.get(k) for k in diff})[:1500]))
    names = [p.get("name") for p in final["spec"]["template"]["spec"].get("imagePullSecrets", [])]
    if len(names) != len(set(names)):
        sys.exit("imagePullSecrets has duplicates: %s" % names)


main()
