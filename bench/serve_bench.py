#!/usr/bin/env python3
"""cprof serve benchmark (issue 13), driven by bench/serve.sh:

  idle     serve with 10 processes registered and no request for --idle
           seconds, beside a Go program serving net/http/pprof (its peer in
           production): CPU used and RSS sampled every minute, both from /proc;
  slowdown a fixed-work CPU workload alone, under `cprof cpu --pid` and under
           a profile request to serve, interleaved: its wall time;
  metrics  /metrics of 100 registered processes: latency of sequential
           scrapes (median, p90, max) and bytes;
  burst    50 concurrent scrapes of /metrics, repeated: all answered?, the
           burst's wall time, serve's peak RSS (VmHWM).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_s, log, machine, med, rss_kib  # noqa: E402

def start_serve(cprof, pids, extra=()):
    argv = [cprof, "serve", "--listen", "127.0.0.1:0"] + list(extra)
    for p in pids:
        argv += ["--pid", str(p)]
    p = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r"http://([^/]+)/", line)
    if not m:
        raise SystemExit("serve did not start: " + line)
    # Drain the log so that serve never blocks on a full pipe.
    threading.Thread(target=lambda: p.stderr.read(), daemon=True).start()
    return p, "http://" + m.group(1)


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def workloads(threadwork, n, pool):
    return [subprocess.Popen([threadwork, "--pool", str(pool)], stdout=subprocess.DEVNULL)
            for _ in range(n)]


def fetch(url, timeout=120):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
        status = r.status
    return status, len(body), time.monotonic() - t0


def bench_idle(a, out):
    ws = workloads(a.threadwork, 10, 2)
    time.sleep(0.5)
    serve, url = start_serve(a.cprof, [w.pid for w in ws])
    gop = subprocess.Popen([a.goserve, "127.0.0.1:0"], stderr=subprocess.DEVNULL)
    time.sleep(2)
    fetch(url + "/metrics")  # one request first, as a service sees at its start
    rows = []
    t0 = time.monotonic()
    c0, g0 = cpu_s(serve.pid), cpu_s(gop.pid)
    minute = 0
    while True:
        now = time.monotonic() - t0
        rows.append({"t": round(now), "serve_cpu": cpu_s(serve.pid) - c0,
                     "serve_rss": rss_kib(serve.pid), "go_cpu": cpu_s(gop.pid) - g0,
                     "go_rss": rss_kib(gop.pid)})
        if now >= a.idle:
            break
        minute += 1
        time.sleep(max(0, min(60 * minute, a.idle) - (time.monotonic() - t0)))
    stop(serve)
    gop.kill()
    gop.wait()
    for w in ws:
        w.kill()
        w.wait()
    out["idle"] = rows
    log("idle:", rows[-1])


def run_cpuwork(a, mode, url):
    w = subprocess.Popen([a.cpuwork, "--rounds", str(a.rounds)], stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    prof = None
    if mode == "cprof cpu":
        prof = subprocess.Popen([a.cprof, "cpu", "--pid", str(w.pid), "--seconds", "60",
                                 "--top", "0", "-o", os.path.join(a.out, "cpu.pb.gz")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif mode == "serve":
        prof = threading.Thread(target=fetch, args=(
            f"{url}/debug/pprof/profile?seconds=60&pid={w.pid}",))
        prof.start()
    w.wait()
    wall = time.monotonic() - t0
    if isinstance(prof, subprocess.Popen):
        prof.wait()
    elif prof:
        prof.join()
    return wall


def bench_slowdown(a, out):
    # serve must be given the pid: a serve per run, started before the target
    # is not possible, so --allow-uid (this user) serves it by pid.
    serve, url = start_serve(a.cprof, [], ["--allow-uid", str(os.getuid())])
    res = {"alone": [], "cprof cpu": [], "serve": []}
    for rep in range(a.reps):
        order = ["alone", "cprof cpu", "serve"]
        if rep % 2:
            order.reverse()
        for mode in order:
            res[mode].append(run_cpuwork(a, mode, url))
    stop(serve)
    out["slowdown"] = res
    log("slowdown:", {k: round(med(v), 3) for k, v in res.items()})


def bench_metrics(a, out):
    ws = workloads(a.threadwork, 100, 1)
    time.sleep(1)
    serve, url = start_serve(a.cprof, [w.pid for w in ws])
    fetch(url + "/metrics")
    lat, size = [], 0
    for _ in range(a.scrapes):
        status, size, t = fetch(url + "/metrics")
        assert status == 200
        lat.append(t)
    lat.sort()
    bursts = []
    for _ in range(a.bursts):
        results = []

        def one():
            try:
                results.append(fetch(url + "/metrics", timeout=60)[0])
            except Exception as e:  # noqa: BLE001
                results.append(str(e))
        ts = [threading.Thread(target=one) for _ in range(50)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        bursts.append({"wall": time.monotonic() - t0,
                       "ok": sum(1 for r in results if r == 200), "n": len(results)})
    hwm = rss_kib(serve.pid, "VmHWM")
    stop(serve)
    for w in ws:
        w.kill()
        w.wait()
    out["metrics"] = {"latency": lat, "bytes": size, "bursts": bursts, "vmhwm_kib": hwm}
    log("metrics: median", round(med(lat) * 1000, 2), "ms; bursts",
        [(round(b["wall"], 3), b["ok"]) for b in bursts], "VmHWM", hwm)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cprof", default="./cprof")
    ap.add_argument("--threadwork", default="tests/workloads/threadwork")
    ap.add_argument("--cpuwork", default="tests/workloads/cpuwork-fp")
    ap.add_argument("--goserve", required=True)
    ap.add_argument("--idle", type=int, default=600)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=600)
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--bursts", type=int, default=10)
    ap.add_argument("--parts", default="slowdown,metrics,idle")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = {"machine": machine(), "start": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    for part in a.parts.split(","):
        {"idle": bench_idle, "slowdown": bench_slowdown, "metrics": bench_metrics}[part](a, out)
    with open(os.path.join(a.out, "raw.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
