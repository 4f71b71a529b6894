"""Driver of bench/diff.sh (run it through that script, which builds the
generator).

Pairs of profiles, made once per run by bench/gen_profile.c (deterministic:
the same arguments give the same files), each profile 1,000,000 samples over
3,000 functions, stacks 10-40 frames deep:
  100k         100,000 distinct stacks, no labels (the issue's case)
  100k+labels  the same stacks, every sample labelled with one of 16 threads
               (cprof cpu's labels: thread, tid, pid), ~270,000 sample records
  1M           1,000,000 distinct stacks (a million sample records): stress,
               fewer repetitions
Tools, each on the same pair (A = base, B = new), as a user runs them:
  cprof diff A B                   default view (top 20)
  cprof diff A B --output D        and write the diff profile
  cprof report A --top 10          reference: reading and showing one profile
  cprof report A --flame           reference: the text flame graph of one
  go tool pprof -top -diff_base A B
  go tool pprof -top A             reference: go reading one profile
Every repetition runs every (pair, tool) once, in an order shuffled per
repetition. Every command runs under `/usr/bin/time -f %M` for its peak RSS
(which covers reaped descendants: `go tool` runs pprof as a child); wait4's
own ru_maxrss is not used, as it is never below this script's resident size
(Linux keeps the high-water mark of the memory a child had before its exec).
Wall time (monotonic, fork to wait4) and CPU (user+sys with reaped children)
are of /usr/bin/time and the command: time adds ~1-2 ms of CPU and a few ms of
wall, under 2% of the fastest command measured here.
"""

import argparse
import functools
import gzip
import json
import os
import random
import re
import subprocess
import sys
import time

import benchlib
from benchlib import log, med, read, sh, size_h

run = functools.partial(benchlib.run, timeout=900)


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/diff.sh")
    ap.add_argument("--quick", action="store_true", help="2 repetitions, no 1M pair")
    ap.add_argument("--reps", type=int, help="repetitions of the 100k pairs (default 7)")
    ap.add_argument("--stress-reps", type=int, help="repetitions of the 1M pair (default 3)")
    ap.add_argument("--no-go", action="store_true")
    ap.add_argument("--cprof", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--go", default="go")
    ap.add_argument("--out", required=True)
    return ap.parse_args()


A = parse_args()
REPS = A.reps or (2 if A.quick else 7)
SREPS = 0 if A.quick else (A.stress_reps if A.stress_reps is not None else 3)
OUT = A.out

PAIRS = {
    "100k": {"args": ["--stacks", "100000"],
             "desc": "1M samples, 100,000 distinct stacks, no labels"},
    "100k+labels": {"args": ["--stacks", "100000", "--threads", "16"],
                    "desc": "1M samples, 100,000 distinct stacks, thread/tid/pid labels of 16 threads"},
    "1M": {"args": ["--stacks", "1000000"],
           "desc": "1M samples, 1,000,000 distinct stacks, no labels"},
}

TOOLS = {
    "cprof diff": lambda a, b, d: [A.cprof, "diff", a, b],
    "cprof diff --output": lambda a, b, d: [A.cprof, "diff", a, b, "--output", d],
    "cprof report --top": lambda a, b, d: [A.cprof, "report", a, "--top", "10"],
    "cprof report --flame": lambda a, b, d: [A.cprof, "report", a, "--flame"],
    "go pprof -top -diff_base": lambda a, b, d: [A.go, "tool", "pprof", "-top", "-diff_base", a, b],
    "go pprof -top": lambda a, b, d: [A.go, "tool", "pprof", "-top", a],
}
CMD_DESC = {
    "cprof diff": "cprof diff A B",
    "cprof diff --output": "cprof diff A B --output D",
    "cprof report --top": "cprof report A --top 10",
    "cprof report --flame": "cprof report A --flame",
    "go pprof -top -diff_base": "go tool pprof -top -diff_base A B",
    "go pprof -top": "go tool pprof -top A",
}





def one_run(pair, tool, rep, files, keep):
    tag = f"{pair}.{tool.replace(' ', '_')}.{rep}"
    so, se = os.path.join(OUT, tag + ".out"), os.path.join(OUT, tag + ".err")
    d = os.path.join(OUT, f"{pair}.D.pb.gz")
    tf = os.path.join(OUT, tag + ".time")
    status, wall, cpu, _ = run(["/usr/bin/time", "-f", "%M", "-o", tf] + TOOLS[tool](files["A"], files["B"], d),
                               so, se)
    try:
        rss = int(read(tf).split()[-1])
    except (IndexError, ValueError):
        rss = None
    os.unlink(tf) if os.path.exists(tf) else None
    r = {"pair": pair, "tool": tool, "rep": rep, "status": status, "wall": wall, "cpu": cpu,
         "maxrss_kib": rss, "out_lines": read(so).count("\n")}
    if tool == "cprof diff --output" and status == 0:
        r["output_bytes"] = os.path.getsize(d)
    if status != 0:
        r["error"] = f"exit {status}: " + read(se)[-300:]
        log("  FAILED", tag, r["error"])
    if not keep:
        for p in (so, se):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
    return r



def mr(xs, fmt="{:.3f}"):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"



def machine():
    return benchlib.machine() | {
        "mem": [l for l in read("/proc/meminfo").splitlines() if l.startswith("MemTotal")][0],
        "go": "" if A.no_go else sh(A.go, "version"),
        "cprof_commit": os.environ.get("CPROF_COMMIT") or sh("git", "describe", "--always", "--dirty"),
    }


def main():
    info = machine()
    info.update(reps=REPS, stress_reps=SREPS, loadavg_start=read("/proc/loadavg").strip())
    t_start = time.monotonic()
    tools = [t for t in TOOLS if not (A.no_go and t.startswith("go"))]
    pairs = [p for p in PAIRS if p != "1M" or SREPS > 0]
    log(f"bench: {REPS} reps ({SREPS} for 1M); files in {OUT}")

    # the profiles (not timed), and their sizes
    gen = {}
    for pair in pairs:
        files = {}
        for v, name in (("base", "A"), ("new", "B")):
            path = os.path.join(OUT, f"{pair}.{name}.pb.gz")
            p = subprocess.run([A.gen, "--variant", v, "-o", path] + PAIRS[pair]["args"],
                               capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"gen_profile failed: {p.stderr}")
            m = re.search(r"(\d+) samples, (\d+) sample records, (\d+) locations, (\d+) functions", p.stderr)
            with gzip.open(path, "rb") as f:
                raw = len(f.read())
            files[name] = path
            gen[f"{pair}.{name}"] = {"samples": int(m.group(1)), "records": int(m.group(2)),
                                     "locations": int(m.group(3)), "functions": int(m.group(4)),
                                     "bytes": os.path.getsize(path), "raw_bytes": raw,
                                     "hot": re.search(r"hot function of new is (\S+)", p.stderr).group(1)}
        PAIRS[pair]["files"] = files
    info["profiles"] = gen

    # warm-up, not measured: page cache, go's build cache for pprof
    for tool in tools:
        one_run("100k", tool, "warmup", PAIRS["100k"]["files"], keep=False)

    results = []
    for rep in range(max(REPS, SREPS)):
        plan = [(p, t) for p in pairs for t in tools if rep < (SREPS if p == "1M" else REPS)]
        random.Random(rep).shuffle(plan)
        log(f"rep {rep + 1}/{max(REPS, SREPS)} ({time.monotonic() - t_start:.0f}s)")
        for pair, tool in plan:
            results.append(one_run(pair, tool, rep, PAIRS[pair]["files"], keep=(rep == 0)))

    info["loadavg_end"] = read("/proc/loadavg").strip()
    info["elapsed_s"] = time.monotonic() - t_start
    with open(os.path.join(OUT, "raw.json"), "w") as fp:
        json.dump({"info": info, "results": results}, fp, indent=1)
    md = render(info, results, pairs, tools)
    with open(os.path.join(OUT, "results.md"), "w") as fp:
        fp.write(md)
    print(md)
    log(f"bench: done in {info['elapsed_s']:.0f}s; {OUT}/results.md, {OUT}/raw.json")


def render(info, results, pairs, tools):
    L = []
    ok = [r for r in results if "error" not in r]
    bad = [r for r in results if "error" in r]
    L.append(f"- date: {info['date']}; {info['reps']} repetitions ({info['stress_reps']} for the 1M pair); "
             f"whole run {info['elapsed_s']:.0f} s")
    L.append(f"- machine: {info['nproc']} vCPUs, {info['model']}, kernel {info['kernel']}, VM, "
             f"{info['mem']}")
    L.append(f"- cprof {info['cprof_commit']}; {info['go'] or 'go not run'}")
    L.append(f"- load average at start: {info['loadavg_start']}; at end: {info['loadavg_end']}")
    L.append(f"- runs: {len(results)}, failed: {len(bad)}" + (" (see raw.json): " + "; ".join(
        f"{r['pair']} {r['tool']} rep {r['rep']}: {r['error'][:160]}" for r in bad[:6]) if bad else ""))
    L.append("")
    L.append("#### The profiles")
    L.append("")
    L.append("| pair | description | sample records A / B | locations | functions | file A / B (gzipped) | "
             "uncompressed A / B |")
    L.append("|---|---|---|---|---|---|---|")
    for pair in pairs:
        a, b = info["profiles"][f"{pair}.A"], info["profiles"][f"{pair}.B"]
        L.append(f"| {pair} | {PAIRS[pair]['desc']} | {a['records']:,} / {b['records']:,} | {a['locations']:,} | "
                 f"{a['functions']:,} | {size_h(a['bytes'])} / {size_h(b['bytes'])} | "
                 f"{size_h(a['raw_bytes'])} / {size_h(b['raw_bytes'])} |")
    L.append("")
    L.append("#### Times")
    L.append("")
    L.append("Median (min–max) over the repetitions. CPU = user+sys (with reaped children); "
             "peak RSS = /usr/bin/time's %M. Wall and CPU include /usr/bin/time's own (~1–2 ms). x go = go tool pprof -top -diff_base's median wall / "
             "this one's.")
    L.append("")
    L.append("| pair | command | wall s | CPU s | peak RSS MiB | x go (wall) | output |")
    L.append("|---|---|---|---|---|---|---|")
    for pair in pairs:
        g = [r["wall"] for r in ok if r["pair"] == pair and r["tool"] == "go pprof -top -diff_base"]
        for tool in tools:
            rs = [r for r in ok if r["pair"] == pair and r["tool"] == tool]
            if not rs:
                L.append(f"| {pair} | `{CMD_DESC[tool]}` | no successful run | | | | |")
                continue
            w = [r["wall"] for r in rs]
            extra = f"{med([r['out_lines'] for r in rs]):.0f} lines"
            if tool == "cprof diff --output":
                extra += f"; D {size_h(med([r.get('output_bytes') for r in rs]))}"
            L.append(f"| {pair} | `{CMD_DESC[tool]}` | {mr(w)} | {mr([r['cpu'] for r in rs])} | "
                     f"{med([r['maxrss_kib'] / 1024 for r in rs if r['maxrss_kib']]):.0f} | "
                     f"{(med(g) / med(w)) if g else 0:.1f}x | {extra} |".replace("| 0.0x |", "| – |"))
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
