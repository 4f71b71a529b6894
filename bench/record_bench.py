#!/usr/bin/env python3
"""cprof record benchmark (issue 14), driven by bench/record.sh, with
`perf record --switch-output=10s` doing the same windows:

  long      a 100-thread busy target (cpuwork --threads 100) recorded for
            --seconds at 10 s windows and 99 Hz by cprof record (DWARF), cprof
            record --unwind fp and perf record at once, side by side on the
            same target: each recorder's CPU as a share of one core, its RSS at
            each window (first, last, most), and the output's size per hour;
  slowdown  fixed work on 100 threads (cpuwork --threads 100 --rounds N),
            its wall time alone, under cprof record (DWARF, then fp) and under
            perf record, one at a time.
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
    if tool.startswith("cprof"):
        argv = [a.cprof, "record", "--pid", str(pid), "--every", "10s", "--store", out,
                "--max-size", "0", "--retain", "0"]
        if tool == "cprof-fp":
            argv += ["--unwind", "fp"]
    else:
        os.makedirs(out, exist_ok=True)
        argv = [a.perf, "record", "-q", "-e", "cpu-clock", "-F", "99", "--call-graph",
                "dwarf,8192", "--switch-output=10s", "-o", os.path.join(out, "perf.data"),
                "-p", str(pid)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


LONG_TOOLS = ("cprof", "cprof-fp", "perf")


def bench_long(a, res):
    """The three recorders side by side on one target, for the same hour:
    the same samples and the same noise for each."""
    target = subprocess.Popen([a.cpuwork, "--threads", "100", "--seconds", str(a.seconds + 60)],
                              stdout=subprocess.DEVNULL)
    time.sleep(1)
    outs = {t: os.path.join(a.out, t + "-long") for t in LONG_TOOLS}
    procs = {}
    for tool in LONG_TOOLS:
        shutil.rmtree(outs[tool], ignore_errors=True)
        procs[tool] = recorder(a, tool, target.pid, outs[tool])
    rss = {t: [] for t in LONG_TOOLS}
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.seconds:
        time.sleep(max(0, min(10, a.seconds - (time.monotonic() - t0))))
        for tool, p in procs.items():
            rss[tool].append(rss_kib(p.pid))
    wall = time.monotonic() - t0
    cpu = {t: cpu_s(p.pid) for t, p in procs.items()}
    for tool, p in procs.items():
        p.send_signal(signal.SIGINT if tool == "perf" else signal.SIGTERM)
    for p in procs.values():
        p.wait(300)
    target.kill()
    target.wait()
    for tool in LONG_TOOLS:
        out = outs[tool]
        size = du(out)
        samples = None
        if tool != "perf":
            folded = subprocess.run([a.cprof, "report", "--store", out, "--folded",
                                     "--sample-index", "samples"], capture_output=True, text=True)
            samples = sum(int(l.rsplit(None, 1)[1]) for l in folded.stdout.splitlines() if l.strip())
        res.setdefault("long", {})[tool] = {
            "samples": samples, "expected_samples": 99 * os.cpu_count() * wall,
            "cpu_s": cpu[tool], "wall_s": wall, "cpu_share": cpu[tool] / wall,
            "rss_kib": rss[tool], "bytes": size, "bytes_per_hour": size * 3600 / wall,
            "files": len(glob.glob(out + "/**/*", recursive=True))}
        log(tool, "long:", {k: v for k, v in res["long"][tool].items() if k != "rss_kib"},
            "rss first/last/max", rss[tool][0], rss[tool][-1], max(rss[tool]))
        shutil.rmtree(out, ignore_errors=True)


def bench_slowdown(a, res):
    walls = {"alone": [], "cprof": [], "cprof-fp": [], "perf": []}
    for rep in range(a.reps):
        order = ["alone", "cprof", "cprof-fp", "perf"]
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
