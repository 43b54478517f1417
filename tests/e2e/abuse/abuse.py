#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile clients for tests/e2e/t_abuse.sh. Each subcommand attacks the
server on 127.0.0.1:PORT in one way and prints one JSON object with what it
saw; the shell part decides what is acceptable. Standard library only.

  abuse.py PORT CA slowloris  CONNS SECONDS    slow headers + probes of real requests
  abuse.py PORT CA flood      CONNS            idle TCP connections past the limit
  abuse.py PORT CA raw        http|random|tls-record  bytes that are not TLS
  abuse.py PORT CA declare    LENGTH           headers declaring LENGTH bytes, no body
  abuse.py PORT CA stream     BYTES            a chunked body of BYTES, sent until cut off
  abuse.py PORT CA stall      SENT DECLARED    a body that never finishes
  abuse.py PORT CA post       FILE             one POST /mutate, status and body
  abuse.py PORT CA warm       N                N valid requests (keep-alive, one in 10 fresh)
  abuse.py PORT CA concurrent FILE...          one POST /mutate per FILE, all at once
  abuse.py PORT CA early      TRIES BYTES [big-header]  a body of BYTES sent without waiting for
                                               the answer (no Expect: 100-continue), TRIES times;
                                               with big-header, a 40 KB header first (431)

Probes send a valid AdmissionReview (a labelled Job) with a 10 s timeout,
kube-apiserver's default for a webhook call.
"""
import json
import os
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"
PROBE_TIMEOUT = 10.0


def review_body(uid="abuse-probe"):
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "app",
                     "labels": {"hookwarden.io/migration": "true"}},
        "spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                       "containers": [{"name": "m", "image": "atlas"}]}}},
    }
    rv = {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
          "request": {"uid": uid, "kind": {"group": "batch", "version": "v1", "kind": "Job"},
                      "operation": "CREATE", "namespace": "app", "object": job}}
    return json.dumps(rv, separators=(",", ":")).encode()


def request_bytes(body, extra=b""):
    return (b"POST /mutate?timeout=10s HTTP/1.1\r\nHost: hookwarden.hookwarden.svc:443\r\n"
            b"Content-Type: application/json\r\nAccept: application/json, */*\r\n"
            b"User-Agent: kube-apiserver-admission\r\n" + extra +
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class Ctx:
    def __init__(self, port, ca):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.check_hostname = False
        self.ctx.set_alpn_protocols(["http/1.1"])

    def tcp(self, timeout=5.0):
        return socket.create_connection((HOST, self.port), timeout=timeout)

    def tls(self, timeout=5.0):
        s = self.tcp(timeout)
        try:
            return self.ctx.wrap_socket(s, server_hostname="hookwarden.hookwarden.svc")
        except Exception:
            s.close()
            raise


def read_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length; returns (status, headers, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response" if not buf else "closed in the headers")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        rest += chunk
    return status, headers, rest[:n]


def closed_within(sock, seconds):
    """Waits for the peer to close; returns (closed, seconds waited, bytes received)."""
    t0 = time.monotonic()
    got = b""
    sock.settimeout(0.2)
    while time.monotonic() - t0 < seconds:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            return True, time.monotonic() - t0, got
        if not chunk:
            return True, time.monotonic() - t0, got
        got += chunk
    return False, seconds, got


class Prober:
    """Real requests during an attack: one keep-alive connection opened before
    it (kube-apiserver reuses connections) and one fresh connection per probe."""

    def __init__(self, c, every):
        self.c, self.every = c, every
        self.stats = {"keepalive_ok": 0, "keepalive_fail": 0, "fresh_ok": 0, "fresh_fail": 0,
                      "max_latency_ms": 0.0, "errors": []}
        self.stop = threading.Event()
        self.ka = None
        self.n = 0

    def one(self, sock):
        self.n += 1
        t0 = time.monotonic()
        sock.settimeout(PROBE_TIMEOUT)
        sock.sendall(request_bytes(review_body("probe-%d" % self.n)))
        status, _, body = read_response(sock)
        ms = (time.monotonic() - t0) * 1e3
        if status != 200 or b'"allowed":true' not in body:
            raise RuntimeError("status %d: %s" % (status, body[:120]))
        self.stats["max_latency_ms"] = max(self.stats["max_latency_ms"], round(ms, 1))

    def note(self, what, e):
        if len(self.stats["errors"]) < 5:
            self.stats["errors"].append("%s: %s" % (what, e))

    def open_keepalive(self):
        self.ka = self.c.tls()
        self.one(self.ka)  # warm: the connection is established and used

    def run(self):
        while not self.stop.is_set():
            try:
                if self.ka is None:
                    self.open_keepalive()
                self.one(self.ka)
                self.stats["keepalive_ok"] += 1
            except Exception as e:  # noqa: BLE001 - every failure is a data point
                self.stats["keepalive_fail"] += 1
                self.note("keep-alive", e)
                self.ka = None
            try:
                s = self.c.tls(timeout=PROBE_TIMEOUT)
                try:
                    self.one(s)
                finally:
                    s.close()
                self.stats["fresh_ok"] += 1
            except Exception as e:  # noqa: BLE001
                self.stats["fresh_fail"] += 1
                self.note("fresh", e)
            self.stop.wait(self.every)


def slowloris(c, conns, seconds):
    prober = Prober(c, 0.25)
    prober.open_keepalive()
    head = (b"POST /mutate HTTP/1.1\r\nHost: hookwarden.hookwarden.svc\r\nContent-Type: "
            b"application/json\r\nX-Slow: " + b"a" * 4096)
    socks, refused = [], 0
    t0 = time.monotonic()
    for _ in range(conns):
        try:
            socks.append(c.tls(timeout=3.0))
        except Exception:  # noqa: BLE001 - closed by the connection limit
            refused += 1
    opened = time.monotonic() - t0
    th = threading.Thread(target=prober.run)
    th.start()
    pos, dropped, t0 = 0, 0, time.monotonic()
    # One byte per connection per round; a round every 0.5 s keeps every
    # connection active well inside any idle timeout of 1 s or more.
    while time.monotonic() - t0 < seconds:
        alive = []
        for s in socks:
            try:
                s.sendall(head[pos % len(head):pos % len(head) + 1])
                alive.append(s)
            except Exception:  # noqa: BLE001 - the server closed it
                dropped += 1
                s.close()
        socks = alive
        pos += 1
        time.sleep(0.5)
    prober.stop.set()
    th.join()
    for s in socks:
        s.close()
    out = {"conns": conns, "established": conns - refused, "refused": refused,
           "open_seconds": round(opened, 2), "still_dripping": len(socks), "dropped": dropped,
           "bytes_per_conn": pos}
    out.update(prober.stats)
    return out


def flood(c, conns):
    socks = []
    for _ in range(conns):
        try:
            socks.append(c.tcp(timeout=3.0))
        except OSError:
            pass
    time.sleep(1.0)
    closed = 0
    for s in socks:
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                closed += 1
        except socket.timeout:
            pass
        except OSError:
            closed += 1
    # While the flood holds its slots: does a fresh request get through?
    probe = "ok"
    try:
        s = c.tls(timeout=PROBE_TIMEOUT)
        s.settimeout(PROBE_TIMEOUT)
        s.sendall(request_bytes(review_body()))
        status, _, _ = read_response(s)
        probe = "status %d" % status
        s.close()
    except Exception as e:  # noqa: BLE001
        probe = "failed: %s" % e
    for s in socks:
        s.close()
    return {"conns": len(socks), "closed_by_server": closed, "held": len(socks) - closed,
            "probe_while_full": probe}


def raw(c, mode):
    payloads = {
        "http": b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2\r\n\r\n{}",
        "random": os.urandom(16384),
        # A TLS handshake record header announcing 16 KiB, then junk.
        "tls-record": b"\x16\x03\x01\x40\x00" + b"\x01" * 200,
    }
    s = c.tcp()
    try:
        s.sendall(payloads[mode])
    except OSError:
        pass
    closed, waited, got = closed_within(s, 10.0)
    s.close()
    return {"mode": mode, "closed": closed, "seconds": round(waited, 2), "received": len(got),
            "http_answer": got.startswith(b"HTTP/"), "tls_alert": got[:1] == b"\x15",
            "first_bytes": got[:16].hex()}


def declare(c, length):
    s = c.tls()
    s.settimeout(PROBE_TIMEOUT)
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(length).encode() + b"\r\n\r\n")
    t0 = time.monotonic()
    status, headers, body = read_response(s)
    ms = (time.monotonic() - t0) * 1e3
    closed, _, _ = closed_within(s, 3.0)
    s.close()
    return {"status": status, "ms": round(ms, 1), "body": body.decode("utf-8", "replace"),
            "connection": headers.get("connection", ""), "closed_after": closed}


def stream(c, total):
    s = c.tls()
    s.settimeout(PROBE_TIMEOUT)
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 65536
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent, cut = 0, None
    t0 = time.monotonic()
    while sent < total:
        try:
            s.sendall(frame)
            sent += len(chunk)
        except Exception as e:  # noqa: BLE001 - the server cut us off
            cut = str(e)
            break
    status, body = None, ""
    if cut is None:
        try:
            s.sendall(b"0\r\n\r\n")
            status, _, b = read_response(s)
            body = b.decode("utf-8", "replace")
        except Exception as e:  # noqa: BLE001
            cut = str(e)
    s.close()
    return {"sent": sent, "seconds": round(time.monotonic() - t0, 2), "cut_off": cut is not None,
            "cut_error": cut, "status": status, "body": body}


def stall(c, sent, declared):
    s = c.tls()
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(declared).encode() + b"\r\n\r\n" + b"{" * sent)
    closed, waited, got = closed_within(s, 30.0)
    s.close()
    return {"closed": closed, "seconds": round(waited, 2), "received": len(got)}


def post(c, path):
    body = open(path, "rb").read()
    s = c.tls()
    s.settimeout(30.0)
    t0 = time.monotonic()
    s.sendall(request_bytes(body))
    status, _, out = read_response(s)
    ms = (time.monotonic() - t0) * 1e3
    s.close()
    return {"status": status, "ms": round(ms, 1), "bytes": len(body),
            "body": out.decode("utf-8", "replace")[:2000]}


def warm(c, n):
    ok = fail = 0
    s = None
    for i in range(n):
        try:
            if s is None or i % 10 == 0:
                if s is not None:
                    s.close()
                s = c.tls(timeout=PROBE_TIMEOUT)
                s.settimeout(PROBE_TIMEOUT)
            s.sendall(request_bytes(review_body("warm-%d" % i)))
            status, _, body = read_response(s)
            if status == 200 and b'"allowed":true' in body:
                ok += 1
            else:
                fail += 1
        except Exception:  # noqa: BLE001
            fail += 1
            s = None
    if s is not None:
        s.close()
    return {"ok": ok, "fail": fail}


def concurrent(c, paths):
    """Posts every file at once, each on its own connection, the headers
    first and then the bodies, so that all of them are in the server
    together; returns the statuses in order."""
    bodies = [open(p, "rb").read() for p in paths]
    socks = [c.tls(timeout=60.0) for _ in bodies]
    out = [None] * len(bodies)

    def one(i):
        try:
            socks[i].settimeout(60.0)
            socks[i].sendall(request_bytes(bodies[i]))
            out[i] = read_response(socks[i])[0]
        except Exception as e:  # noqa: BLE001 - a failure is the data point
            out[i] = "error: %s" % e
        finally:
            socks[i].close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"statuses": out, "bytes": [len(b) for b in bodies]}


def early(c, tries, size, big_header=False):
    """Sends a whole request with a body of size bytes without waiting,
    the way Go's HTTP client and curl -H 'Expect:' do, then reads the
    answer. A server that answers early and closes with unread bytes resets
    the connection and the answer is lost; a lingering close delivers it."""
    extra = b"X-Big: " + b"a" * 40000 + b"\r\n" if big_header else b""
    head = (b"POST /mutate HTTP/1.1\r\nHost: hookwarden.hookwarden.svc\r\n"
            b"Content-Type: application/json\r\n" + extra +
            b"Content-Length: " + str(size).encode() + b"\r\n\r\n")
    body = b" " * size
    statuses, errors = {}, []
    for _ in range(tries):
        s = None
        try:
            s = c.tls(timeout=PROBE_TIMEOUT)
            s.settimeout(PROBE_TIMEOUT)
            # Go's client and curl give up on the answer when the write
            # fails, so a reset while sending counts as a lost answer.
            s.sendall(head + body)
            status, _, _ = read_response(s)
            statuses[status] = statuses.get(status, 0) + 1
        except Exception as e:  # noqa: BLE001 - a lost answer is the data point
            errors.append(str(e))
        finally:
            if s is not None:
                s.close()
    return {"tries": tries, "bytes": size, "statuses": statuses, "errors": errors[:5],
            "lost": tries - sum(statuses.values())}


def main():
    port, ca, cmd, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    c = Ctx(port, ca)
    if cmd == "slowloris":
        out = slowloris(c, int(args[0]), float(args[1]))
    elif cmd == "flood":
        out = flood(c, int(args[0]))
    elif cmd == "raw":
        out = raw(c, args[0])
    elif cmd == "declare":
        out = declare(c, int(args[0]))
    elif cmd == "stream":
        out = stream(c, int(args[0]))
    elif cmd == "stall":
        out = stall(c, int(args[0]), int(args[1]))
    elif cmd == "warm":
        out = warm(c, int(args[0]))
    elif cmd == "concurrent":
        out = concurrent(c, args)
    elif cmd == "early":
        out = early(c, int(args[0]), int(args[1]), len(args) > 2 and args[2] == "big-header")
    elif cmd == "post":
        out = post(c, args[0])
    else:
        sys.exit("unknown command " + cmd)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
