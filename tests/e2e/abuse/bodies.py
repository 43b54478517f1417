#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the hostile request bodies for tests/e2e/t_abuse.sh into DIR.

    bodies.py DIR [CANARY]

Every body is an AdmissionReview (or starts like one) for a labelled Job, so
what is tested is the parser and the policy, not the envelope checks:
  deep-arrays, deep-objects    JSON nested 100,000 deep
  keys-100k                    100,000 annotations on the Job (valid: 200)
  keys-8m                      ~560,000 annotations, just under 8 MiB (valid)
  bad-utf8, overlong-utf8, bad-utf8-key, raw-nul, raw-nul-after-literal, lone-surrogate   invalid: 400
  escaped-nul                  "\\u0000" inside an annotation value (valid: 200)
  uid-nul                      "\\u0000" inside request.uid
  uid-long-utf8                a 70-byte uid whose 63rd byte is inside a UTF-8 sequence
  canary-valid                 a valid review carrying CANARY in env and annotations
  canary-truncated             the same, cut off just after CANARY (invalid JSON)
"""
import json
import os
import sys

LABEL = "hookwarden.io/migration"


def job(annotations=None, env=None):
    meta = {"name": "migrate", "namespace": "app", "labels": {LABEL: "true"}}
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
    w("keys-100k", dumps(review(job({"k%06d" % i: "v" for i in range(100000)}), "keys")))
    # Just under the 8 MiB default limit, made of the smallest keys.
    ann = b"{" + b",".join(b'"k%06d":"v"' % i for i in range(560000)) + b"}"
    body = dumps(review(job({"placeholder": "x"}), "keys8m"))
    w("keys-8m", body.replace(b'{"placeholder":"x"}', ann))

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


if __name__ == "__main__":
    main()
