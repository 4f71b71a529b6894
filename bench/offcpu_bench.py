"""cprof offcpu against perf record -e context-switches --call-graph dwarf
and perf sched record (issue 15), in one run, on tests/workloads/waitwork:

1. Fixed work: a ping-pong of TRIPS round trips between two threads as fast
   as it goes (two switch-outs a trip), both on the first CPU (--pin), so
   that each switch hands that CPU over and no idle CPU is woken. The target's wall time under each
   tool against none gives the cost each adds per switch; the tool's own CPU
   (its rusage less the target's, which the target reports) per switch; the
   output's size; what was lost.
2. Paced: the ping-pong (pinned) at 1k, 10k and 100k switch-outs a second
   for SECONDS: the tool's CPU per switch and as a share of a core, the rate
   the target kept, the output's size.
3. Agreement: the default waitwork (a reader on a pipe and a timer, two
   threads on a mutex, a busy thread) under each tool: the share of
   switch-outs whose stack holds each of the workload's functions.
Each tool samples every switch here (cprof with --max-rate 0, as perf does)
and also at cprof's default bound (--max-rate 10000), which cprof record
--mode offcpu also keeps while it writes a window a second into a store. The tools run on the
second CPU (taskset), the ping-pong on the first, so a tool's own work does
not take the target's CPU: what slows the target is what the kernel does for
the tool at each switch.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import log, machine, run, read, size_h, f, med  # noqa: E402

FUNCS = ["wait_pipe", "wait_sleep", "lock_site", "busy_loop", "writer", "ping_wait"]


def target_report(err):
    m = re.search(r"round_trips=(\d+)(?: wall_ns=(\d+))? cpu_ns=(\d+)", read(err))
    if not m:
        return None
    return {"trips": int(m.group(1)),
            "wall": int(m.group(2)) / 1e9 if m.group(2) else None,
            "cpu": int(m.group(3)) / 1e9}


def tools(a, out, tag):
    """(name, argv prefix, output file) for each tool; the command follows."""
    c = f"{out}/{tag}"
    return [
        ("none", [], None),
        ("cprof", [a.cprof, "offcpu", "--max-rate", "0", "--top", "0", "-o", c + "-cprof.pb.gz", "--"],
         c + "-cprof.pb.gz"),
        ("cprof bounded", [a.cprof, "offcpu", "--top", "0", "-o", c + "-bound.pb.gz", "--"],
         c + "-bound.pb.gz"),
        # The same bound, window after window into a store (issue 14's record).
        ("cprof record", [a.cprof, "record", "--mode", "offcpu", "--every", "1s", "--retain", "0",
                          "--store", c + "-store", "--"], c + "-store"),
        ("perf", [a.perf, "record", "-e", "context-switches", "-c", "1", "--call-graph",
                  "dwarf,16384", "-o", c + "-perf.data", "--"], c + "-perf.data"),
        # The scheduler's tracepoints (root): every switch and wakeup, no stacks.
        ("perf sched", [a.perf, "sched", "record", "-o", c + "-sched.data", "--"],
         c + "-sched.data"),
    ]


def size_of(path):
    """A file's size, or the bytes of the files under a directory (a store)."""
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(path) for n in ns)


def one(a, out, tag, name, prefix, path, wargs):
    rc, wall, cpu, rss = run(["taskset", "-c", "1"] + prefix + [a.waitwork] + wargs, f"{out}/{tag}-{name}.out",
                             f"{out}/{tag}-{name}.err", timeout=600)
    rep = target_report(f"{out}/{tag}-{name}.err")
    r = {"rc": rc, "wall": wall, "cpu_all": cpu, "rss_kib": rss, "target": rep}
    if rep:
        r["tool_cpu"] = cpu - rep["cpu"] if prefix else 0.0
    r["size"] = size_of(path) if path and os.path.exists(path) else None
    text = read(f"{out}/{tag}-{name}.out") + read(f"{out}/{tag}-{name}.err")
    m = re.search(r"Samples: (\d+), lost: (\d+)", text)
    r["samples"], r["lost"] = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    if name == "perf" and path and os.path.exists(path):
        p = subprocess.run([a.perf, "script", "-i", path, "-F", "tid"], capture_output=True,
                           text=True)
        r["samples"] = len(p.stdout.splitlines())
    m = re.search(r"Sampled: (\d+) of (\d+)", text)
    r["sampled"] = [int(m.group(1)), int(m.group(2))] if m else None
    log(f"{tag} {name}: {r}")
    return r


def perf_shares(a, data):
    """The share of perf's samples whose stack holds each of FUNCS."""
    p = subprocess.run([a.perf, "script", "-i", data, "-F", "comm,tid,ip,sym"],
                       capture_output=True, text=True)
    hits = {fn: 0 for fn in FUNCS}
    n, cur = 0, set()
    for line in p.stdout.splitlines() + [""]:
        if not line.strip():
            if cur:
                n += 1
                for fn in FUNCS:
                    hits[fn] += any(fn == s or s.startswith(fn + "+") for s in cur)
            cur = set()
            continue
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"[0-9a-f]+", parts[0]):
            cur.add(parts[1])
    return {fn: 100.0 * hits[fn] / n if n else None for fn in FUNCS}


def cprof_shares(a, path):
    """The share of cprof's contentions whose stack holds each of FUNCS."""
    p = subprocess.run([a.cprof, "report", "--sample-index", "contentions", "--top", "0", path],
                       capture_output=True, text=True)
    shares = {fn: 0.0 for fn in FUNCS}
    for line in p.stdout.splitlines():
        m = re.match(r"\s*\S+\s+\S+%\s+\S+%\s+\S+\s+(\S+)%\s+(\S+)", line)
        if m and m.group(2) in shares:
            shares[m.group(2)] = float(m.group(1))
    return shares


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cprof", default="./cprof")
    ap.add_argument("--perf", default="perf")
    ap.add_argument("--waitwork", default="tests/workloads/waitwork")
    ap.add_argument("--out", required=True)
    ap.add_argument("--trips", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=5)
    a = ap.parse_args()
    res = {"machine": machine(), "fixed": {}, "paced": {}, "agree": {}, "seconds": a.seconds}
    res["machine"]["perf"] = subprocess.run([a.perf, "--version"], capture_output=True,
                                            text=True).stdout.strip()
    for name, prefix, path in tools(a, a.out, "fixed"):
        res["fixed"][name] = one(a, a.out, "fixed", name, prefix, path, ["--trips", str(a.trips), "--pin"])
    for rate in (1000, 10000, 100000):
        tag = f"paced{rate}"
        res["paced"][rate] = {}
        for name, prefix, path in tools(a, a.out, tag):
            res["paced"][rate][name] = one(a, a.out, tag, name, prefix, path,
                                           ["--switches", str(rate), "--seconds", str(a.seconds), "--pin"])
    ts = {name: (prefix, path) for name, prefix, path in tools(a, a.out, "agree")}
    for name in ("cprof", "perf"):
        one(a, a.out, "agree", name, *ts[name], ["--seconds", str(a.seconds)])
    res["agree"] = {"cprof": cprof_shares(a, ts["cprof"][1]), "perf": perf_shares(a, ts["perf"][1])}
    with open(f"{a.out}/raw.json", "w") as fo:
        json.dump(res, fo, indent=1)
    report(res)


def report(res):
    m = res["machine"]
    print(f"Date: {m['date']}; {m['nproc']} CPUs, {m['model']}; kernel {m['kernel']}; {m['perf']}")
    fx = res["fixed"]
    base = fx["none"]["target"]
    print("\nFixed work (ping-pong round trips as fast as they go):\n")
    print("| tool | target wall | vs none | added per switch | tool CPU per switch | output | stacks kept | lost |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in fx.items():
        t = r["target"]
        if not t or not base:
            print(f"| {name} | failed (rc {r['rc']}) | | | | | | |")
            continue
        sw = 2 * t["trips"]
        added = (t["wall"] - base["wall"]) / sw * 1e6
        print(f"| {name} | {t['wall']:.2f} s | {t['wall'] / base['wall']:.2f}x | "
              f"{added:.2f} us | {r['tool_cpu'] / sw * 1e6:.2f} us | {size_h(r['size'])} | "
              f"{f(r['samples'], '{:d}')} of {sw} | {f(r['lost'], '{:d}')} |")
    print("\nPaced (switch-outs a second asked; the rate kept; the tool's CPU per switch):\n")
    print("| rate | tool | switches/s kept | tool CPU per switch | tool CPU, share of a core | output |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for rate, rs in res["paced"].items():
        for name, r in rs.items():
            t = r["target"]
            if not t:
                print(f"| {rate} | {name} | failed | | | |")
                continue
            sw = 2 * t["trips"]
            secs = res["seconds"]
            print(f"| {rate} | {name} | {sw / secs:.0f} | "
                  f"{(r['tool_cpu'] / sw * 1e6) if name != 'none' else 0:.2f} us | "
                  f"{100 * r['tool_cpu'] / secs if name != 'none' else 0:.1f}% | {size_h(r['size'])} |")
    print("\nAgreement: share of switch-outs whose stack holds each function:\n")
    print("| function | cprof | perf |")
    print("| --- | ---: | ---: |")
    for fn in FUNCS:
        print(f"| {fn} | {f(res['agree']['cprof'].get(fn), '{:.1f}%')} | "
              f"{f(res['agree']['perf'].get(fn), '{:.1f}%')} |")


if __name__ == "__main__":
    main()
