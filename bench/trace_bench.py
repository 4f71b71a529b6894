"""cprof trace against perf sched record + perf sched timehist (issue 17), in
one run, on tests/workloads/waitwork:

1. Paced: the ping-pong of two threads (pinned to the first CPU, the tools
   on the second) at 1k, 10k and 100k switch-outs a second for SECONDS,
   under no tool, cprof trace (every switch-out's stack sampled:
   --max-rate 0), cprof trace at its default bound, cprof trace --no-stacks
   (the switches alone), and perf sched record:
   the rate the target kept (its slowdown), the tool's own CPU (its rusage
   less the target's, which the target reports) per switch and as a share of
   a core, and the output's size.
2. Agreement: the default waitwork with three busy threads (more than the
   two CPUs) under cprof trace and, in a run of its own, under perf sched
   record: each thread's share of its time running, and off the CPU, from
   cprof's trace file and from perf sched timehist (run time; wait time
   plus scheduling delay).
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import log, machine, size_h  # noqa: E402
from offcpu_bench import one  # noqa: E402


# Every interval in the file, as perf keeps every record: the default cap
# (100,000) would leave most of the faster runs out.
EVERY = "100000000"


def tools(a, out, tag):
    """(name, argv prefix, output file) for each tool; the command follows."""
    c = f"{out}/{tag}"
    return [
        ("none", [], None),
        ("cprof trace", [a.cprof, "trace", "--max-rate", "0", "--max-events", EVERY,
                         "--seconds", "600", "--top", "0",
                         "-o", c + "-trace.json", "--"], c + "-trace.json"),
        ("cprof trace bounded", [a.cprof, "trace", "--max-events", EVERY, "--seconds", "600",
                                 "--top", "0",
                                 "-o", c + "-bound.json", "--"], c + "-bound.json"),
        ("cprof trace --no-stacks", [a.cprof, "trace", "--no-stacks", "--max-events", EVERY,
                                     "--seconds", "600", "--top", "0", "-o", c + "-nost.json",
                                     "--"],
         c + "-nost.json"),
        ("perf sched", [a.perf, "sched", "record", "-o", c + "-sched.data", "--"],
         c + "-sched.data"),
    ]


def cprof_shares(path):
    """Each thread's (name -> [running %, off-CPU %]) from a trace file, the
    first of each name."""
    d = json.load(open(path))
    names, per = {}, {}
    for e in d["traceEvents"]:
        if e["ph"] == "M" and e["name"] == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif e["ph"] == "X":
            t = per.setdefault(e["tid"], [0, 0])
            t[0 if e["name"] == "running" else 1] += e["dur"]
    out = {}
    for tid, (run, off) in per.items():
        name = names.get(tid, str(tid))
        if name not in out and run + off:
            out[name] = [100.0 * run / (run + off), 100.0 * off / (run + off)]
    return out


def perf_shares(a, data):
    """The same from perf sched timehist: run time against wait time and
    scheduling delay, per thread."""
    p = subprocess.run([a.perf, "sched", "timehist", "-i", data], capture_output=True, text=True)
    per, names = {}, {}
    for line in p.stdout.splitlines():
        m = re.match(r"\s*\d+\.\d+\s+\[\d+\]\s+(.+?)\[(\d+)(?:/\d+)?\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)",
                     line)
        if not m:
            continue
        tid = int(m.group(2))
        names[tid] = m.group(1).strip()
        t = per.setdefault(tid, [0.0, 0.0])
        t[0] += float(m.group(5))
        t[1] += float(m.group(3)) + float(m.group(4))
    out = {}
    for tid, (run, off) in per.items():
        if names[tid] not in out and run + off:
            out[names[tid]] = [100.0 * run / (run + off), 100.0 * off / (run + off)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cprof", default="./cprof")
    ap.add_argument("--perf", default="perf")
    ap.add_argument("--waitwork", default="tests/workloads/waitwork")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=int, default=5)
    a = ap.parse_args()
    res = {"machine": machine(), "paced": {}, "agree": {}, "seconds": a.seconds}
    res["machine"]["perf"] = subprocess.run([a.perf, "--version"], capture_output=True,
                                            text=True).stdout.strip()
    for rate in (1000, 10000, 100000):
        tag = f"paced{rate}"
        res["paced"][rate] = {}
        for name, prefix, path in tools(a, a.out, tag):
            res["paced"][rate][name] = one(a, a.out, tag, name, prefix, path,
                                           ["--switches", str(rate), "--seconds", str(a.seconds),
                                            "--pin"])
    ts = tools(a, a.out, "agree")
    wargs = ["--busy", "3", "--seconds", str(a.seconds)]
    one(a, a.out, "agree", "cprof trace", ts[1][1], ts[1][2], wargs)
    one(a, a.out, "agree", "perf sched", ts[4][1], ts[4][2], wargs)
    res["agree"] = {"cprof": cprof_shares(ts[1][2]), "perf": perf_shares(a, ts[4][2])}
    with open(f"{a.out}/raw.json", "w") as fo:
        json.dump(res, fo, indent=1)
    report(res)


def report(res):
    m = res["machine"]
    print(f"Date: {m['date']}; {m['nproc']} CPUs, {m['model']}; kernel {m['kernel']}; {m['perf']}")
    print("\nPaced (switch-outs a second asked; the rate kept; the tool's CPU):\n")
    print("| rate | tool | switches/s kept | slowdown | tool CPU per switch | tool CPU, share of a core | output | output per second |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    secs = res["seconds"]
    for rate, rs in res["paced"].items():
        base = rs["none"]["target"]
        for name, r in rs.items():
            t = r["target"]
            if not t or not base:
                print(f"| {rate} | {name} | failed (rc {r['rc']}) | | | | | |")
                continue
            sw = 2 * t["trips"]
            tool = name != "none"
            print(f"| {rate} | {name} | {sw / secs:.0f} | {base['trips'] / t['trips']:.2f}x | "
                  f"{(r['tool_cpu'] / sw * 1e6) if tool else 0:.2f} us | "
                  f"{100 * r['tool_cpu'] / secs if tool else 0:.1f}% | {size_h(r['size'])} | "
                  f"{size_h(r['size'] / secs) if r['size'] else '-'} |")
    print("\nAgreement: each thread's share of its time running / off the CPU:\n")
    print("| thread | cprof trace | perf sched timehist |")
    print("| --- | ---: | ---: |")
    ag = res["agree"]
    for name in sorted(set(ag["cprof"]) | set(ag["perf"])):
        c, p = ag["cprof"].get(name), ag["perf"].get(name)
        cs = f"{c[0]:.1f}% / {c[1]:.1f}%" if c else "-"
        ps = f"{p[0]:.1f}% / {p[1]:.1f}%" if p else "-"
        print(f"| {name} | {cs} | {ps} |")


if __name__ == "__main__":
    main()
