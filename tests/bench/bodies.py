#!/usr/bin/env python3
"""Request bodies for tests/bench/bench.sh (python3 stdlib only).

usage:
  bodies.py variant IN OUT [--label] [--update]
      --label   add hookwarden.io/migration: "true" to request.object.metadata.labels,
                so that hookwarden does its real work (policy + patch) instead of
                allowing an unlabelled Job unchanged;
      --update  operation UPDATE, options UpdateOptions, oldObject = a copy of object
                (taken after --label: on `helm upgrade` the live Job carries the label too).
  bodies.py size MAKE_REVIEW_PY SIZE OUT
      the AdmissionReview that tests/bench/make-review.py prints for SIZE, byte for byte.
      make-review.py grows its env list one entry at a time and re-serialises each time
      (about 30 s for 256 KB, minutes for 1 MiB), so its review() builder is loaded and
      the same largest fitting entry count is found by bisection. Falls back to running
      make-review.py SIZE if its layout is not the expected one.

Output is compact JSON, as kube-apiserver sends it and as tests/data/bench/ holds them.
"""
import copy
import json
import subprocess
import sys

LABEL = "hookwarden.io/migration"


def dump(review, path):
    with open(path, "w") as f:
        f.write(json.dumps(review, separators=(",", ":")))


def variant(src, dst, label, update):
    with open(src) as f:
        review = json.load(f)
    req = review["request"]
    if label:
        meta = req["object"].setdefault("metadata", {})
        labels = meta.get("labels") or {}
        labels[LABEL] = "true"
        meta["labels"] = labels
    if update:
        req["operation"] = "UPDATE"
        req["oldObject"] = copy.deepcopy(req["object"])
        if isinstance(req.get("options"), dict):
            req["options"]["kind"] = "UpdateOptions"
    dump(review, dst)


def by_size(make_review, size, dst):
    with open(make_review) as f:
        src = f.read()
    head, sep, _ = src.partition("\nn = 0\n")
    if not sep or "def review(" not in head:
        with open(dst, "w") as out:
            subprocess.run([sys.executable, make_review, str(size)], stdout=out, check=True)
        return
    ns = {"__name__": "make_review"}
    saved = sys.argv
    sys.argv = [make_review, str(size)]
    try:
        exec(compile(head, make_review, "exec"), ns)
    finally:
        sys.argv = saved
    review = ns["review"]

    def fits(n):
        return len(json.dumps(review(n), separators=(",", ":"))) <= size

    # make-review.py keeps the largest n whose review fits (0 if none does); sizes grow with n.
    lo, hi = 0, 1
    while fits(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    dump(review(lo), dst)


def main(argv):
    if len(argv) >= 4 and argv[1] == "variant":
        flags = set(argv[4:])
        if flags - {"--label", "--update"}:
            sys.exit(__doc__)
        variant(argv[2], argv[3], "--label" in flags, "--update" in flags)
    elif len(argv) == 5 and argv[1] == "size":
        by_size(argv[2], int(argv[3]), argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
