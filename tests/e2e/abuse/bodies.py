#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the hostile request bodies for tests/e2e/t_abuse.sh into DIR.

    bodies.py DIR [CANARY]

Every body is an AdmissionReview (or starts like one) for a labelled Job, so
what is tested is the parser and the policy, not the envelope checks:
  deep-arrays, deep-objects    JSON nested 100,000 deep
  keys-100k                    100,000 labels on the Job (valid JSON; the policy reads
                               labels whole: past the default memory budget, 413)
  ann-100k                     100,000 annotations (valid: 200; the policy reads four
                               annotations by name, and only those are decoded)
  keys-30k                     30,000 annotations (valid: 200)
  keys-8m                      ~560,000 labels, just under 8 MiB (valid JSON; 413)
  bad-utf8, overlong-utf8, bad-utf8-key, raw-nul, raw-nul-after-literal, lone-surrogate   invalid: 400
  escaped-nul                  "\\u0000" inside an annotation value (valid: 200)
  uid-nul                      "\\u0000" inside request.uid
  uid-long-utf8                a 70-byte uid whose 63rd byte is inside a UTF-8 sequence
  canary-valid                 a valid review carrying CANARY in env and annotations
  canary-truncated             the same, cut off just after CANARY (invalid JSON)
and, just under the Deployment's 3.5 MiB cap (--max-request-bytes 3670016),
the crafted bodies of the memory budget (issue #16), each also with a
surrogate pair escape that makes the fast decoder hand the whole body to
jansson ("-full"):
  env-empty, env-empty-full    ~1.2 million {} env entries
  top-400k, top-400k-full      400,000 extra top-level keys of the review
  ann-230k, ann-230k-full      230,000 empty annotations
"""
import string
import json
import os
import sys

LABEL = "hookwarden.io/migration"


def job(annotations=None, env=None, labels=None):
    meta = {"name": "migrate", "namespace": "app", "labels": {LABEL: "true", **(labels or {})}}
    if annotations is not None:
        meta["annotations"] = annotations
    c = {"name": "m", "image": "atlas"}
    if env is not None:
        c["env"] = env
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [c]}}}}


def review(obj, uid="abuse"):
    return {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
            "request": {"uid": uid, "kind": {"group": "batch", "version": "v1", "kind": "Job"},
                        "operation": "CREATE", "namespace": "app", "object": obj}}


def dumps(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


CAP = 3670016
B62 = string.digits + string.ascii_letters


def key4(i):
    return "".join(B62[(i // 62 ** k) % 62] for k in range(4))


def budget_bodies(w):
    """The memory-budget bodies, each under CAP."""
    # A surrogate-pair escape in a label value: valid JSON, but the fast
    # decoder declines it, so jansson parses all of the body.
    full = (b'"hookwarden.io/migration":"true"', b'"hookwarden.io/migration":"true","e":"\\ud83d\\ude00"')
    t = dumps(review(job(env=["@@"]), "env"))
    n = (CAP - len(t) - 64) // 3
    body = t.replace(b'["@@"]', b"[" + b",".join([b"{}"] * n) + b"]")
    w("env-empty", body)
    w("env-empty-full", body.replace(*full))
    t = dumps(review(job(), "top"))
    body = t[:-1] + b"," + b",".join(b'"%s":0' % key4(i).encode() for i in range(400000)) + b"}"
    w("top-400k", body)
    w("top-400k-full", body.replace(*full))
    t = dumps(review(job({"x": "y"}), "ann"))
    body = t.replace(b'{"x":"y"}', b"{" + b",".join(b'"k%06d":""' % i for i in range(230000)) + b"}")
    w("ann-230k", body)
    w("ann-230k-full", body.replace(*full))


def main():
    d = sys.argv[1]
    canary = sys.argv[2] if len(sys.argv) > 2 else "HWCANARY-7f3a"
    os.makedirs(d, exist_ok=True)

    def w(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    head = (b'{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"deep",'
            b'"operation":"CREATE","kind":{"group":"batch","version":"v1","kind":"Job"},"object":'
            b'{"metadata":{"labels":{"' + LABEL.encode() + b'":"true"}},"spec":')
    w("deep-arrays", head + b"[" * 100000 + b"]" * 100000 + b"}}}")
    w("deep-objects", head + b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"}}}")
    w("keys-100k", dumps(review(job(labels={"k%06d" % i: "v" for i in range(100000)}), "keys")))
    w("ann-100k", dumps(review(job({"k%06d" % i: "v" for i in range(100000)}), "keys")))
    w("keys-30k", dumps(review(job({"k%06d" % i: "v" for i in range(30000)}), "keys")))
    # Just under the 8 MiB default limit, made of the smallest keys.
    labels = b",".join(b'"k%06d":"v"' % i for i in range(560000))
    body = dumps(review(job(labels={"placeholder": "x"}), "keys8m"))
    w("keys-8m", body.replace(b'"placeholder":"x"', labels))

    # Strings the JSON grammar refuses, inside an annotation value.
    v = dumps(review(job({"a": "@@"}), "bytes"))
    w("bad-utf8", v.replace(b"@@", b"bad \xff\xfe utf8"))
    w("overlong-utf8", v.replace(b"@@", b"overlong \xc0\xaf slash"))
    w("raw-nul", v.replace(b"@@", b"raw \x00 nul"))
    # Outside strings jansson skips a NUL after a number or a literal.
    w("raw-nul-after-literal", v.replace(b'"operation"', b'"dryRun":false\x00,"operation"', 1))
    w("lone-surrogate", v.replace(b"@@", b"lone \\ud800 surrogate"))
    w("bad-utf8-key", v.replace(b'"a":"@@"', b'"bad\xffkey":"v"'))
    # Valid JSON that carries NULs.
    w("escaped-nul", v.replace(b"@@", b"before \\u0000 after"))
    w("uid-nul", dumps(review(job(), "abc\u0000def")))
    # 62 ASCII bytes then 2-byte characters: a 63-byte cut splits one.
    w("uid-long-utf8", dumps(review(job(), "a" * 62 + "\u00e9" * 4)))

    env = [{"name": "DATABASE_URL", "value": "postgres://u:" + canary + "@db/app"}]
    valid = dumps(review(job({"note": canary}, env), "canary"))
    w("canary-valid", valid)
    cut = valid.index(canary.encode()) + len(canary)
    w("canary-truncated", valid[:cut])
    budget_bodies(w)


if __name__ == "__main__":
    main()
