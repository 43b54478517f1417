#!/usr/bin/env python3
"""Markdown tables for tests/bench/bench.sh (python3 stdlib only).

usage: table.py main|scaling BENCH_DIR

Reads BENCH_DIR/plan-MODE.tsv (scenario, server, body bytes, conns; the order of the rows),
BENCH_DIR/results-MODE.tsv (the TSV rows of tests/bench/run.sh; tag = "SCENARIO rROUND")
and BENCH_DIR/failures.tsv (scenario, server, reason). Several rounds: medians (req/s with
min-max). Settings come from the environment bench.sh exports.
"""
import csv
import os
import platform
import re
import statistics as st
import sys
import time

REF, PEER, MHD = "nginx-tls-2w", "go-json", "mhd-fixed"
# Issue #14's targets, as ratios within one run.
T_CPU = 1.5          # CPU per request at most this times mhd-fixed's
T_RPS_GO = 4.0       # req/s at least this times the Go peer's
T_P99_MS = 0.3       # fixed-rate p99 within this of mhd-fixed's
T_IDLE = 1.10        # idle RSS within 10 % of mhd-fixed's


def env(k, d=""):
    return os.environ.get(k, d)


def read_tsv(path, header=True):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        if header:
            return list(csv.DictReader(f, delimiter="\t"))
        return [r for r in csv.reader(f, delimiter="\t") if r]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def med(rows, k):
    v = [float(r[k]) for r in rows if r.get(k) not in (None, "", "-")]
    return st.median(v) if v else float("nan")


def summary(rows):
    """Median figures of one (scenario, server); None when it never produced a result."""
    if not rows:
        return None
    rps = [float(r["rps"]) for r in rows]
    return dict(n=len(rows), rps=st.median(rps), rps_min=min(rps), rps_max=max(rps),
                p50=med(rows, "p50_us") / 1000, p99=med(rows, "p99_us") / 1000,
                rate=med(rows, "rate_rps"), rp50=med(rows, "rate_p50_us") / 1000,
                rp99=med(rows, "rate_p99_us") / 1000, us=med(rows, "srv_cpu_us_per_req"),
                rss=max(float(r["peak_rss_kib"]) for r in rows) / 1024, resp=rows[-1]["resp_bytes"],
                idle=med(rows, "idle_rss_kib") / 1024,
                err=sum(int(r["errors"] or 0) + int(r["rate_errors"] or 0) for r in rows))


def load(mode, d):
    plan = read_tsv(os.path.join(d, f"plan-{mode}.tsv"), header=False)
    res = {}
    for r in read_tsv(os.path.join(d, f"results-{mode}.tsv")):
        res.setdefault((r["tag"].rsplit(" r", 1)[0], r["name"]), []).append(r)
    fails = {}
    for r in read_tsv(os.path.join(d, "failures.tsv"), header=False):
        fails.setdefault((r[0], r[1]), []).append(r[2] if len(r) > 2 else "failed")
    return plan, res, fails


def header(title):
    pin = (f"server CPUs {env('SERVER_CPUS')}, client CPUs {env('CLIENT_CPUS')}"
           if env("SERVER_CPUS") or env("CLIENT_CPUS") else "unpinned")
    print(f"## {title}")
    print()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {cpu_model()}, {os.cpu_count()} CPUs, "
          f"kernel {platform.release()}, {pin}. Closed loop: wrk -t{env('THREADS', '2')}, "
          f"{env('DURATION', '5')} s after a {env('WARMUP', '2')} s warm-up. "
          f"Rounds: {env('ROUNDS', '1')} (medians). Loopback, TLS 1.3, HTTP/1.1 keep-alive "
          f"(tests/bench/run.sh).")
    print()


def f2(x):
    return "-" if x != x else f"{x:.2f}"


def rps_cell(s):
    if s["rps"] == 0:
        return "0 (no response in the window)"
    if s["n"] > 1:
        return f"{s['rps']:.0f} ({s['rps_min']:.0f}-{s['rps_max']:.0f})"
    return f"{s['rps']:.0f}"


def ratio(a, b):
    return f"{a / b:.2f}" if b == b and a == a and b else "-"


SCEN_TITLES = {"create-4k": "CREATE 4 KB", "create-8k": "CREATE 8 KB", "update-4k": "UPDATE 4 KB"}


def scen_title(scen):
    kind, _, conns = scen.rpartition("-c")
    return f"{SCEN_TITLES.get(kind, kind)}, {conns} conns"


def failed_cell(key, fails, notes):
    notes.append(f"{key[1]} in {key[0]}: {'; '.join(fails.get(key, ['no result']))}")
    return f"failed [{len(notes)}]"


def diff_ms(a, b):
    return f"{a - b:+.2f}" if a == a and b == b else "-"


def main_table(d):
    plan, res, fails = load("main", d)
    rate = env("RATE", "500")
    header("hookwarden vs libmicrohttpd alone, nginx (the limit) and the Go peer: `make bench`")
    print(f"Fixed rate: h2load --h1 -c{env('RATE_CLIENTS', '4')}, {rate} req/s in total for "
          f"{env('RATE_DURATION', '5')} s. hookwarden runs with its default flags (the request log "
          f"at info) and gets Jobs labelled `hookwarden.io/migration: \"true\"` (policy + patch); "
          f"the peers get the same bytes; hookwarden-nolabel gets the unlabelled bench bodies "
          f"(allowed unchanged). mhd-fixed is libmicrohttpd + GnuTLS reading the body and sending "
          f"a fixed answer (the transport alone). Idle RSS: after the first answer, before the "
          f"load. Ratios: hookwarden row / mhd-fixed, Go or nginx row of the same scenario; "
          f"p99 @{rate}/s: hookwarden's minus mhd-fixed's.")
    print()
    print(f"| scenario | server | body B | req/s | p50 ms | p99 ms | @{rate}/s got | p50 ms | p99 ms "
          f"| CPU us/req | idle RSS MiB | peak RSS MiB | errors | resp B | CPU/req / mhd | p99 @{rate} - mhd ms "
          f"| idle RSS / mhd | req/s / Go | CPU/req / nginx |")
    print("|" + "---|" * 19)
    notes, hw = [], {}
    for scen, server, size, _conns in plan:
        s = summary(res.get((scen, server)))
        if s is None:
            print(f"| {scen_title(scen)} | {server} | {size} | {failed_cell((scen, server), fails, notes)} "
                  + "| - " * 15 + "|")
            continue
        rat = ["-"] * 5
        if server.startswith("hookwarden"):
            r, p = summary(res.get((scen, REF))), summary(res.get((scen, PEER)))
            m = summary(res.get((scen, MHD)))
            rat = [ratio(s["us"], m["us"]) if m else "-", diff_ms(s["rp99"], m["rp99"]) if m else "-",
                   ratio(s["idle"], m["idle"]) if m else "-", ratio(s["rps"], p["rps"]) if p else "-",
                   ratio(s["us"], r["us"]) if r else "-"]
            if server == "hookwarden":
                hw[scen] = (s, m, p)
        print(f"| {scen_title(scen)} | {server} | {size} | {rps_cell(s)} | {f2(s['p50'])} | {f2(s['p99'])} "
              f"| {s['rate']:.0f} | {f2(s['rp50'])} | {f2(s['rp99'])} | {s['us']:.1f} | {f2(s['idle'])} "
              f"| {s['rss']:.1f} | {s['err']} | {s['resp']} | " + " | ".join(rat) + " |")
    print()
    targets(hw, rate)
    for i, n in enumerate(notes, 1):
        print(f"[{i}] {n}")


def verdict(ok):
    return "met" if ok else "**missed**"


def targets(hw, rate):
    """Issue #14's targets for each scenario hookwarden and its references ran in."""
    if not hw:
        return
    print(f"Issue #14 targets (ratios within this run; medians of {env('ROUNDS', '1')} rounds):")
    print()
    print("| scenario | CPU/req <= 1.5x mhd-fixed | req/s >= 4x Go | p99 @%s/s within 0.3 ms of mhd-fixed "
          "| idle RSS within 10%% of mhd-fixed | no errors |" % rate)
    print("|---|---|---|---|---|---|")
    met = total = 0
    for scen, (s, m, p) in hw.items():
        cells = []
        checks = [
            (m, lambda: s["us"] / m["us"] <= T_CPU, lambda: f"{s['us'] / m['us']:.2f}x"),
            (p, lambda: s["rps"] / p["rps"] >= T_RPS_GO, lambda: f"{s['rps'] / p['rps']:.2f}x"),
            (m, lambda: s["rp99"] - m["rp99"] <= T_P99_MS, lambda: f"{s['rp99']:.2f} vs {m['rp99']:.2f} ms"),
            (m, lambda: s["idle"] / m["idle"] <= T_IDLE, lambda: f"{s['idle']:.1f} vs {m['idle']:.1f} MiB"),
        ]
        for ref, ok, shown in checks:
            if ref is None or ref["us"] != ref["us"] or not ref["rps"]:
                cells.append("- (no reference row)")
                continue
            good = ok()
            met, total = met + good, total + 1
            cells.append(f"{shown()} {verdict(good)}")
        good = s["err"] == 0
        met, total = met + good, total + 1
        cells.append(f"{s['err']} {verdict(good)}")
        print(f"| {scen_title(scen)} | " + " | ".join(cells) + " |")
    print()
    print(f"{met} of {total} met.")
    print()


def main_scaling(d):
    plan, res, fails = load("scaling", d)
    server = plan[0][1] if plan else "hookwarden"
    header(f"{server} scaling: `make bench-scaling`")
    print(f"Body axis at {plan[0][3] if plan else '?'} conns, connection axis with the smallest body. "
          f"Bodies: tests/bench/make-review.py at the size, labelled. CPU us/KiB = CPU per request "
          f"/ body size. RSS/conn = peak RSS growth per connection over the first row.")
    print()
    print("| case | body B | conns | req/s | p50 ms | p99 ms | CPU us/req | CPU us/KiB "
          "| peak RSS MiB | RSS/conn KiB | errors |")
    print("|" + "---|" * 11)
    notes = []
    base = None
    base_size, base_conns = (int(plan[0][2]), int(plan[0][3])) if plan else (0, 0)
    for scen, srv, size, conns in plan:
        size, conns = int(size), int(conns)
        if conns != base_conns:
            case = f"{conns} conns"
        else:
            case = f"body {size / 1024:.0f} KiB" + (" (first row)" if size == base_size else "")
        rows = res.get((scen, srv))
        s = summary(rows)
        m = re.search(r"--connection-limit (\d+)", rows[-1].get("cmd", "")) if rows else None
        if m:
            case += f" (--connection-limit {m.group(1)})"
        if rows and rows[-1].get("duration") not in (None, env("DURATION", "5")):
            case += f" ({rows[-1]['duration']} s window)"
        if s is None:
            print(f"| {case} | {size} | {conns} | {failed_cell((scen, srv), fails, notes)} " + "| - " * 7 + "|")
            continue
        if base is None and size == base_size and conns == base_conns:
            base = s
        per_conn = "-"
        if base and conns != base_conns:
            per_conn = f"{(s['rss'] - base['rss']) * 1024 / (conns - base_conns):.1f}"
        print(f"| {case} | {size} | {conns} | {rps_cell(s)} | {f2(s['p50'])} | {f2(s['p99'])} "
              f"| {s['us']:.1f} | {s['us'] / (size / 1024):.1f} | {s['rss']:.1f} | {per_conn} | {s['err']} |")
    print()
    for i, n in enumerate(notes, 1):
        print(f"[{i}] {n}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("main", "scaling"):
        sys.exit(__doc__)
    (main_table if sys.argv[1] == "main" else main_scaling)(sys.argv[2])
