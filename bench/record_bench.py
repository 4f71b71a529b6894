#!/usr/bin/env python3
"""cprof record benchmark (issue 14), driven by bench/record.sh. Side by
side, one after the other on the same busy target, with
`perf record --switch-output=10s` doing the same windows:

  long      a 100-thread busy target (cpuwork --threads 100) recorded for
            --seconds at 10 s windows and 99 Hz: the recorder's CPU as a share
            of one core, its RSS at each window (first and last), and the
            output's size per hour;
  slowdown  fixed work on 100 threads (cpuwork --threads 100 --rounds N),
            its wall time alone, under cprof record and under perf record.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_s, log, machine, med, rss_kib  # noqa: E402

def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def recorder(a, tool, pid, out):
    if tool == "cprof":
        argv = [a.cprof, "record", "--pid", str(pid), "--every", "10s", "--store", out,
                "--max-size", "0", "--retain", "0"]
    else:
        os.makedirs(out, exist_ok=True)
        argv = [a.perf, "record", "-q", "-e", "cpu-clock", "-F", "99", "--call-graph",
                "dwarf,8192", "--switch-output=10s", "-o", os.path.join(out, "perf.data"),
                "-p", str(pid)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_long(a, res):
    for tool in ("cprof", "perf"):
        target = subprocess.Popen([a.cpuwork, "--threads", "100", "--seconds", str(a.seconds + 30)],
                                  stdout=subprocess.DEVNULL)
        time.sleep(1)
        out = os.path.join(a.out, tool + "-long")
        shutil.rmtree(out, ignore_errors=True)
        p = recorder(a, tool, target.pid, out)
        rss = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < a.seconds:
            time.sleep(min(10, a.seconds - (time.monotonic() - t0)) if a.seconds > 0 else 0)
            rss.append(rss_kib(p.pid))
        cpu = cpu_s(p.pid)
        wall = time.monotonic() - t0
        p.send_signal(signal.SIGINT if tool == "perf" else signal.SIGTERM)
        p.wait(120)
        target.kill()
        target.wait()
        size = du(out)
        samples = None
        if tool == "cprof":
            folded = subprocess.run([a.cprof, "report", "--store", out, "--folded",
                                     "--sample-index", "samples"], capture_output=True, text=True)
            samples = sum(int(l.rsplit(None, 1)[1]) for l in folded.stdout.splitlines() if l.strip())
        res.setdefault("long", {})[tool] = {
            "samples": samples, "expected_samples": 99 * os.cpu_count() * wall,
            "cpu_s": cpu, "wall_s": wall, "cpu_share": cpu / wall, "rss_kib": rss,
            "bytes": size, "bytes_per_hour": size * 3600 / wall,
            "files": len(glob.glob(out + "/**/*", recursive=True))}
        log(tool, "long:", {k: v for k, v in res["long"][tool].items() if k != "rss_kib"},
            "rss first/last", rss[0], rss[-1])
        shutil.rmtree(out, ignore_errors=True)


def bench_slowdown(a, res):
    walls = {"alone": [], "cprof": [], "perf": []}
    for rep in range(a.reps):
        order = ["alone", "cprof", "perf"]
        if rep % 2:
            order.reverse()
        for mode in order:
            target = subprocess.Popen([a.cpuwork, "--threads", "100", "--rounds", str(a.rounds)],
                                      stdout=subprocess.DEVNULL)
            t0 = time.monotonic()
            out = os.path.join(a.out, mode + "-slow")
            shutil.rmtree(out, ignore_errors=True)
            p = recorder(a, mode, target.pid, out) if mode != "alone" else None
            target.wait()
            walls[mode].append(time.monotonic() - t0)
            if p:
                p.send_signal(signal.SIGINT if mode == "perf" else signal.SIGTERM)
                p.wait(120)
            shutil.rmtree(out, ignore_errors=True)
    res["slowdown"] = walls
    log("slowdown:", {k: round(med(v), 3) for k, v in walls.items()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cprof", default="./cprof")
    ap.add_argument("--perf", default="perf")
    ap.add_argument("--cpuwork", default="tests/workloads/cpuwork-fp")
    ap.add_argument("--seconds", type=int, default=3600)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    res = {"machine": machine(), "start": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "seconds": a.seconds}
    bench_slowdown(a, res)
    bench_long(a, res)
    with open(os.path.join(a.out, "raw.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
