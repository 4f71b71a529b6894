"""Driver of bench/report.sh (run it through that script, which builds the
generator).

Profiles, made once per run by bench/gen_profile.c (deterministic: the same
arguments give the same files):
  big      1,000,000 samples over 100,000 distinct stacks of 3,000 functions,
           10-40 frames deep, each sample labelled with one of 16 threads
           (cprof cpu's labels: thread, tid, pid)
  part0-9  ten profiles of 100,000 samples over 10,000 stacks each, of
           different seeds (so different call graphs over the same names):
           a million samples merged
Views, each by cprof report and by go tool pprof, as a user runs them:
  top      --top 10                         -top -nodecount=10
  list     --list Component00042::          -list Component00042::
  peek     --peek 'Component0004[0-9]::'    -peek 'Component0004[0-9]::'
  tags     --tags                           -tags
  merge10  --top 10 part0..part9            -top -nodecount=10 part0..part9
(The profile names source files that are not on disk: both print the
routine's totals and say the file is missing.) Every repetition runs every
(view, tool) once, in an order shuffled per repetition. Every command runs
under `/usr/bin/time -f %M` for its peak RSS, which covers the process that
`go tool` starts for pprof; wall time is fork to wait4, CPU is user+sys with
reaped children.
"""

import argparse
import os
import random
import subprocess
import sys
import time

import benchlib
from benchlib import log, med, read, size_h


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/report.sh")
    ap.add_argument("--quick", action="store_true", help="2 repetitions")
    ap.add_argument("--reps", type=int, help="repetitions (default 5)")
    ap.add_argument("--cprof", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--go", default="go")
    ap.add_argument("--out", required=True)
    return ap.parse_args()


A = parse_args()
REPS = A.reps or (2 if A.quick else 5)
OUT = A.out
LIST_RX = "Component00042::"
PEEK_RX = "Component0004[0-9]::"

VIEWS = {
    "top": (["--top", "10"], ["-top", "-nodecount=10"]),
    "list": (["--list", LIST_RX], ["-list", LIST_RX]),
    "peek": (["--peek", PEEK_RX], ["-peek", PEEK_RX]),
    "tags": (["--tags"], ["-tags"]),
    "merge10": (["--top", "10"], ["-top", "-nodecount=10"]),
}


def argv(view, tool, files):
    inputs = files["parts"] if view == "merge10" else [files["big"]]
    copt, popt = VIEWS[view]
    if tool == "cprof":
        return [A.cprof, "report"] + copt + inputs
    return [A.go, "tool", "pprof"] + popt + inputs


def gen(path, args):
    p = subprocess.run([A.gen, "--variant", "base", "-o", path] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"gen_profile failed: {p.stderr}")
    return {"bytes": os.path.getsize(path), "log": p.stderr.strip().splitlines()[-1]}


def one_run(view, tool, rep, files):
    tag = f"{view}.{tool}.{rep}"
    so, se, tf = (os.path.join(OUT, tag + x) for x in (".out", ".err", ".time"))
    status, wall, cpu, _ = benchlib.run(["/usr/bin/time", "-f", "%M", "-o", tf] + argv(view, tool, files),
                                        so, se, timeout=900)
    try:
        rss = int(read(tf).split()[-1])
    except (IndexError, ValueError):
        rss = None
    r = {"view": view, "tool": tool, "rep": rep, "status": status, "wall": wall, "cpu": cpu,
         "maxrss_kib": rss, "out_lines": read(so).count("\n")}
    if status != 0:
        r["error"] = f"exit {status}: " + read(se)[-300:]
        log("  FAILED", tag, r["error"])
    for p in (tf,) if rep == 0 else (so, se, tf):
        if os.path.exists(p):
            os.unlink(p)
    return r


def main():
    info = benchlib.machine() | {
        "mem": [l for l in read("/proc/meminfo").splitlines() if l.startswith("MemTotal")][0],
        "go": benchlib.sh(A.go, "version"),
        "cprof_commit": os.environ.get("CPROF_COMMIT") or benchlib.sh("git", "describe", "--always", "--dirty"),
        "reps": REPS, "loadavg_start": read("/proc/loadavg").strip(),
    }
    t0 = time.monotonic()
    files = {"big": os.path.join(OUT, "big.pb.gz"),
             "parts": [os.path.join(OUT, f"part{i}.pb.gz") for i in range(10)]}
    info["profiles"] = {"big": gen(files["big"], ["--samples", "1000000", "--stacks", "100000",
                                                  "--threads", "16"])}
    for i, p in enumerate(files["parts"]):
        info["profiles"][f"part{i}"] = gen(p, ["--samples", "100000", "--stacks", "10000",
                                               "--seed", str(i + 2)])
    for view in VIEWS:  # warm-up, not measured: page cache, go's build cache
        for tool in ("cprof", "pprof"):
            one_run(view, tool, "warmup", files)
    results = []
    for rep in range(REPS):
        plan = [(v, t) for v in VIEWS for t in ("cprof", "pprof")]
        random.Random(rep).shuffle(plan)
        log(f"rep {rep + 1}/{REPS} ({time.monotonic() - t0:.0f}s)")
        results += [one_run(v, t, rep, files) for v, t in plan]
    info["loadavg_end"] = read("/proc/loadavg").strip()
    info["elapsed_s"] = time.monotonic() - t0
    benchlib.finish(OUT, info, results, render(info, results))


def mr(xs, fmt="{:.3f}"):
    xs = [x for x in xs if x is not None]
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})" if xs else "–"


def render(info, results):
    ok = [r for r in results if "error" not in r]
    bad = [r for r in results if "error" in r]
    big = info["profiles"]["big"]
    parts = sum(v["bytes"] for k, v in info["profiles"].items() if k.startswith("part"))
    L = [f"- date: {info['date']}; {info['reps']} repetitions; whole run {info['elapsed_s']:.0f} s",
         f"- machine: {info['nproc']} vCPUs, {info['model']}, kernel {info['kernel']}, VM, {info['mem']}",
         f"- cprof {info['cprof_commit']}; {info['go']}",
         f"- load average at start: {info['loadavg_start']}; at end: {info['loadavg_end']}",
         f"- profiles: big {size_h(big['bytes'])} gzipped ({big['log']}); ten parts "
         f"{size_h(parts)} in all",
         f"- runs: {len(results)}, failed: {len(bad)}" +
         ("; " + "; ".join(f"{r['view']} {r['tool']}: {r['error'][:160]}" for r in bad[:4]) if bad else ""),
         "",
         "Median (min–max) over the repetitions. x = go tool pprof's median over cprof's "
         "(wall time; peak RSS).",
         "",
         "| view | cprof wall s | pprof wall s | x faster | cprof CPU s | pprof CPU s | "
         "cprof peak MiB | pprof peak MiB | x less memory | output lines cprof / pprof |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for view in VIEWS:
        c = [r for r in ok if r["view"] == view and r["tool"] == "cprof"]
        p = [r for r in ok if r["view"] == view and r["tool"] == "pprof"]
        if not c or not p:
            L.append(f"| {view} | no successful run | | | | | | | | |")
            continue
        cw, pw = med([r["wall"] for r in c]), med([r["wall"] for r in p])
        cm = med([r["maxrss_kib"] / 1024 for r in c if r["maxrss_kib"]])
        pm = med([r["maxrss_kib"] / 1024 for r in p if r["maxrss_kib"]])
        L.append(f"| {view} | {mr([r['wall'] for r in c])} | {mr([r['wall'] for r in p])} | "
                 f"{pw / cw:.1f}x | {med([r['cpu'] for r in c]):.3f} | {med([r['cpu'] for r in p]):.3f} | "
                 f"{cm:.0f} | {pm:.0f} | {pm / cm:.1f}x | "
                 f"{med([r['out_lines'] for r in c]):.0f} / {med([r['out_lines'] for r in p]):.0f} |")
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
