#!/usr/bin/env python3
"""A steady stream of AdmissionReviews over TLS, counting every failure.

usage: stream.py --url https://127.0.0.1:PORT/mutate --ca CA --body FILE
                 [--seconds S] [--workers N] [--fresh-every K] [--until-file F]

Each worker keeps one keep-alive connection and opens a fresh one every K
requests (so new handshakes happen throughout). It stops after S seconds, or
when F exists. Prints one JSON line: requests, ok, failed, first errors.
A response counts as ok only if it is HTTP 200 with an AdmissionReview
answer whose uid matches the request's.
"""
import argparse, http.client, json, os, ssl, threading, time, urllib.parse, uuid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--body", required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--fresh-every", type=int, default=20)
    ap.add_argument("--until-file", default=None)
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    template = json.load(open(a.body))
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.check_hostname = False  # SANs are checked by admission-sim elsewhere
    stats = {"requests": 0, "ok": 0, "failed": 0, "errors": [], "fingerprints": set()}
    lock = threading.Lock()
    end = time.monotonic() + a.seconds

    def record(ok, err=None):
        with lock:
            stats["requests"] += 1
            if ok:
                stats["ok"] += 1
            else:
                stats["failed"] += 1
                if len(stats["errors"]) < 5:
                    stats["errors"].append(err)

    def worker():
        conn, n = None, 0
        while time.monotonic() < end and not (a.until_file and os.path.exists(a.until_file)):
            if conn is None or n % a.fresh_every == 0:
                if conn:
                    conn.close()
                conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
            n += 1
            uid = str(uuid.uuid4())
            # A copy per request: the workers share the template, and setting
            # its uid in place let another thread send this thread's uid.
            body = json.dumps(dict(template, request=dict(template["request"], uid=uid)))
            try:
                conn.request("POST", u.path + "?timeout=10s", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                if conn.sock is not None:
                    der = conn.sock.getpeercert(binary_form=True)
                    import hashlib
                    with lock:
                        stats["fingerprints"].add(hashlib.sha256(der).hexdigest()[:16])
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                ans = json.loads(data)
                ok = r.status == 200 and ans["response"]["uid"] == uid
                record(ok, None if ok else "status %d: %s" % (r.status, data[:200]))
            except Exception as e:  # a failed request, whatever the cause
                record(False, repr(e))
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None

    ts = [threading.Thread(target=worker) for _ in range(a.workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stats["fingerprints"] = sorted(stats["fingerprints"])
    print(json.dumps(stats))


main()
