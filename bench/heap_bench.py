"""Driver of bench/heap.sh (run it through that script, which builds the
workload and the timing shim and installs what is missing).

launch  Each workload runs without a profiler, under `cprof heap` at the
        default rate, under heaptrack, and with jemalloc preloaded with and
        without its profiler (MALLOC_CONF=prof:true,lg_prof_sample:19, the
        same 512 KiB mean), interleaved in a shuffled order within each
        repetition. The timing shim (bench/timing-shim.c) is in the
        profiler's LD_PRELOAD, which each profiler keeps for the target, and
        only the target's process (CPROF_BENCH_ONLY names it) reports its own
        wall and CPU time and peak RSS from inside it.
instructions heaploop's instructions under callgrind (repeatable, whatever
        the machine's load) with and without cprof heap, and jemalloc's
        with and without its profiler: the overhead of the code itself.
accuracy heaploop prints the bytes it holds at exit; cprof's inuse_space at
        exit estimates them.
sites   The top 5 allocation sites by calls, cprof's (alloc_objects) beside
        heaptrack's (heaptrack_print -a).
attach  `cprof heap --pid` into heaploop while it runs (two threads in malloc
        and free flat out) and into an idle CPython: the load's and the
        detach's times and how long the one thread was held, from cprof's
        summary.
"""

import argparse
import json
import os
import random
import re
import subprocess
import time

import benchlib
from benchlib import f, log, med, read, rng, sh, size_h

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/heap.sh")
    ap.add_argument("--quick", action="store_true", help="about 2 minutes instead of 8")
    ap.add_argument("--reps", type=int, help="launch repetitions (default 5, quick 2)")
    ap.add_argument("--attach-reps", type=int, help="attaches per target (default 10, quick 3)")
    ap.add_argument("--cprof", default="./cprof")
    ap.add_argument("--heaploop", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--render", metavar="RAW", help="only render the tables of a run's raw.json")
    return ap.parse_args()


A = parse_args()
REPS = A.reps or (2 if A.quick else 5)
AREPS = A.attach_reps or (3 if A.quick else 10)
OUT = A.out
MILLIONS = 10 if A.quick else 30
PY_ROUNDS = 60 if A.quick else 150

SQL = """CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000)
INSERT INTO t SELECT i, printf('row %d %s', i, hex(randomblob(16))), i * 0.5 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(length(b)) FROM t WHERE b LIKE 'row 1%';
SELECT substr(b, 1, 6) AS k, count(*) FROM t GROUP BY k ORDER BY 2 DESC LIMIT 3;
"""
PYCODE = ("import sys\n"
          f"for r in range({PY_ROUNDS}):\n"
          "    d = {i: str(i) * 3 for i in range(20000)}\n"
          "    l = [dict(a=i, b=[i] * 4) for i in range(5000)]\n"
          "    del d, l\n")

WORKLOADS = {
    "heaploop": {"argv": [A.heaploop, str(MILLIONS), "2", "512"], "env": {},
                 "desc": f"bench/heaploop {MILLIONS} 2 512: 512 MiB kept, then 2 threads x "
                         f"{MILLIONS} M malloc+free of 16-271 B from 5 sites"},
    "sqlite3": {"argv": ["sqlite3", ":memory:", ".read " + os.path.join(OUT, "load.sql")],
                "env": {}, "desc": "sqlite3 :memory: loading 400,000 rows, an index, two queries"},
    "cpython": {"argv": ["/usr/bin/python3", "-c", PYCODE], "env": {"PYTHONMALLOC": "malloc"},
                "desc": "python3 (PYTHONMALLOC=malloc) building and dropping dicts and lists"},
}
CONFIGS = ["none", "cprof", "heaptrack", "jemalloc", "jemalloc-prof"]


def command(wl, cfg, shim_out, prof):
    """The argv and environment of one run."""
    target = WORKLOADS[wl]["argv"]
    env = dict(os.environ, CPROF_BENCH_OUT=shim_out, LD_PRELOAD=A.shim,
               CPROF_BENCH_ONLY=os.path.basename(target[0]), **WORKLOADS[wl]["env"])
    if cfg.startswith("jemalloc"):
        env["LD_PRELOAD"] = JEMALLOC + " " + A.shim
        env["MALLOC_CONF"] = ("prof:true,lg_prof_sample:19,prof_prefix:" + prof
                              if cfg == "jemalloc-prof" else "prof:false")
    if cfg == "cprof":
        return [A.cprof, "heap", "--top", "0", "-o", prof, "--"] + target, env
    if cfg == "heaptrack":
        return ["heaptrack", "-o", prof] + target, env
    return target, env


def launch_run(wl, cfg, rep):
    shim_out = os.path.join(OUT, "shim.txt")
    prof = os.path.join(OUT, f"{wl}.{cfg}.{rep}")
    for p in (shim_out, prof + ".pb.gz", prof + ".zst"):
        if os.path.exists(p):
            os.unlink(p)
    argv, env = command(wl, cfg, shim_out, prof + (".pb.gz" if cfg == "cprof" else ""))
    so, se = os.path.join(OUT, f"{wl}.{cfg}.out"), os.path.join(OUT, f"{wl}.{cfg}.err")
    t0 = time.monotonic()
    with open(so, "wb") as o, open(se, "wb") as e:
        p = subprocess.Popen(argv, stdout=o, stderr=e, env=env, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    s = read(shim_out).split()
    r = {"workload": wl, "config": cfg, "rep": rep, "tool_wall": wall,
         "tool_cpu": ru.ru_utime + ru.ru_stime}
    if os.waitstatus_to_exitcode(status) != 0 or len(s) != 4:
        r["error"] = f"exit {os.waitstatus_to_exitcode(status)}: " + read(se)[-300:]
        return r
    r["wall"], r["cpu"], r["rss_kib"] = float(s[0]), float(s[1]) + float(s[2]), int(s[3])
    m = re.search(r"live (\d+)", read(so))
    if m:
        r["live"] = int(m.group(1))
    if cfg == "cprof":
        r["size"] = os.path.getsize(prof + ".pb.gz")
        folded = sh(A.cprof, "report", "--folded", "--sample-index", "inuse_space", prof + ".pb.gz")
        r["inuse"] = sum(int(l.rsplit(" ", 1)[1]) for l in folded.splitlines() if l.strip())
        r["samples"] = int(re.search(r"estimated from (\d+) samples", read(so)).group(1))
        top = sh(A.cprof, "report", "--top", "5", "--sample-index", "alloc_objects", prof + ".pb.gz")
        r["top5"] = [l.split()[5] for l in top.splitlines()[-5:]]
        # Stripped (Debian's sqlite3): frames are [module] rows, nothing to compare.
        if wl == "sqlite3":
            del r["top5"]
    if cfg == "heaptrack" and rep == 0 and wl != "sqlite3":
        ht = subprocess.run(["heaptrack_print", "-f", prof + ".zst", "-a", "-n", "5", "-p", "0",
                             "-T", "0"], capture_output=True, text=True).stdout.splitlines()
        r["top5"] = [ht[i + 1].strip() for i, l in enumerate(ht[:-1])
                     if "calls to allocation functions with" in l][:5]
    if cfg == "heaptrack":
        r["size"] = os.path.getsize(prof + ".zst") if os.path.exists(prof + ".zst") else None
    return r


# Smaller runs of the workloads for callgrind, which is some 50 times slower.
CG_WORKLOADS = {
    "heaploop": ([A.heaploop, "2", "1", "64"], {}, "2 M malloc+free pairs on one thread"),
    "sqlite3": (["sqlite3", ":memory:", ".read " + os.path.join(OUT, "load-small.sql")], {},
                "100,000 rows"),
    "cpython": (["/usr/bin/python3", "-c", PYCODE.replace(f"range({PY_ROUNDS})", "range(20)")],
                {"PYTHONMALLOC": "malloc"}, "20 rounds"),
}


def instructions():
    """The instructions (callgrind) of each workload's smaller run in four
    configurations: repeatable, whatever else the machine does."""
    runs = {"none": ([], {}), "cprof": ([A.cprof, "heap", "--top", "0", "-o", os.path.join(OUT, "cg.pb.gz"), "--"], {}),
            "jemalloc": ([], {"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": "prof:false"}),
            "jemalloc-prof": ([], {"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": "prof:true,lg_prof_sample:19,prof_prefix:" + os.path.join(OUT, "cgje")})}
    out = {}
    for wl, (argv, wenv, _) in CG_WORKLOADS.items():
        for name, (pre, env) in runs.items():
            log_path = os.path.join(OUT, f"callgrind.{wl}.{name}.log")
            # valgrind leaves LD_PRELOAD to the program it runs.
            cmd = pre + ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                         "--log-file=" + log_path] + argv
            subprocess.run(cmd, env=dict(os.environ, **wenv, **env), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            m = re.search(r"Collected : (\d+)", read(log_path))
            out[f"{wl}.{name}"] = int(m.group(1)) if m else None
    return out


def attach_runs(name, argv, env):
    tgt = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=dict(os.environ, **env))
    rows = []
    try:
        time.sleep(1.0)
        for rep in range(AREPS):
            res = subprocess.run([A.cprof, "heap", "--pid", str(tgt.pid), "--seconds", "1",
                                  "--top", "0", "-o", os.path.join(OUT, "attach.pb.gz")],
                                 capture_output=True, text=True)
            o = res.stdout
            ms = lambda v, u: float(v) * {"s": 1e3, "ms": 1, "us": 1e-3, "µs": 1e-3}[u]
            load = re.search(r"^Load: ([\d.]+)(m?s|us|µs), thread \d+ held ([\d.]+)(m?s|us|µs)", o, re.M)
            det = re.search(r"^Detach: ([\d.]+)(m?s|us|µs), a thread held ([\d.]+)(m?s|us|µs)", o, re.M)
            if res.returncode or not load or not det:
                rows.append({"target": name, "error": res.stderr[-300:]})
                continue
            rows.append({"target": name, "load_ms": ms(*load.group(1, 2)),
                         "load_held_ms": ms(*load.group(3, 4)), "detach_ms": ms(*det.group(1, 2)),
                         "detach_held_ms": ms(*det.group(3, 4))})
        if tgt.poll() is not None:
            rows.append({"target": name, "error": f"target exited ({tgt.returncode})"})
    finally:
        tgt.kill()
        tgt.wait()
    return rows


def main():
    with open(os.path.join(OUT, "load.sql"), "w") as fp:
        fp.write(SQL)
    with open(os.path.join(OUT, "load-small.sql"), "w") as fp:
        fp.write(SQL.replace("400000", "100000"))
    info = benchlib.machine()
    info.update({"reps": REPS, "attach_reps": AREPS, "loadavg_start": read("/proc/loadavg").strip(),
                 "cprof_commit": os.environ.get("CPROF_COMMIT") or sh("git", "describe", "--always", "--dirty"),
                 "heaptrack": sh("heaptrack", "--version"), "sqlite3": sh("sqlite3", "--version")[:20],
                 "python": sh("python3", "--version")})
    results, attach = [], []
    t_start = time.monotonic()
    for rep in range(REPS):
        log(f"launch rep {rep + 1}/{REPS} ({time.monotonic() - t_start:.0f}s)")
        runs = [(wl, cfg) for wl in WORKLOADS for cfg in CONFIGS]
        random.Random(rep).shuffle(runs)
        for wl, cfg in runs:
            results.append(launch_run(wl, cfg, rep))
            if "error" in results[-1]:
                log(f"  {wl} {cfg}: {results[-1]['error']}")
    log(f"instructions ({time.monotonic() - t_start:.0f}s)")
    info["instructions"] = instructions()
    log(f"attach ({time.monotonic() - t_start:.0f}s)")
    attach += attach_runs("heaploop", [A.heaploop, "100000", "2", "64"], {})
    attach += attach_runs("cpython, idle", ["/usr/bin/python3", "-c", "import time\ntime.sleep(3600)"], {})
    info["loadavg_end"] = read("/proc/loadavg").strip()
    info["elapsed_s"] = time.monotonic() - t_start
    with open(os.path.join(OUT, "raw.json"), "w") as fp:
        json.dump({"info": info, "results": results, "attach": attach}, fp, indent=1)
    md = render(info, results, attach)
    with open(os.path.join(OUT, "results.md"), "w") as fp:
        fp.write(md)
    print(md)
    log(f"bench: done in {info['elapsed_s']:.0f}s; {OUT}/results.md, {OUT}/raw.json")


def render(info, results, attach):
    L = []
    ok = [r for r in results if "error" not in r]
    sel = lambda wl, cfg: [r for r in ok if r["workload"] == wl and r["config"] == cfg]
    L.append(f"- date: {info['date']}; {info['reps']} launch reps, {info['attach_reps']} attaches "
             f"per target; whole run {info['elapsed_s']:.0f} s")
    L.append(f"- machine: {info['nproc']} vCPUs, {info['model']}, kernel {info['kernel']}, VM, run as root")
    L.append(f"- cprof {info['cprof_commit']}; {info['heaptrack']}; jemalloc {os.path.realpath(JEMALLOC)}; "
             f"sqlite3 {info['sqlite3']}; {info['python']}")
    L.append(f"- load average at start: {info['loadavg_start']}; at end: {info['loadavg_end']}")
    bad = [r for r in results + attach if "error" in r]
    if bad:
        L.append(f"- FAILED runs: {len(bad)} (see raw.json)")
    L.append("")
    L.append("### Target slowdown and memory")
    L.append("")
    L.append("Target wall, CPU and peak RSS are the target's own, measured inside it by the shim. "
             "Slowdown = median wall / median wall without a profiler − 1, and best-of = the "
             "minimums' ratio − 1; jemalloc's profiler is also compared with jemalloc alone, its "
             "own baseline (it replaces glibc's allocator). Extra RSS = median peak RSS − that "
             "without a profiler. Tool CPU = the whole run's CPU (wait4) − the target's.")
    L.append("")
    for wl in WORKLOADS:
        L.append(f"**{wl}**: {WORKLOADS[wl]['desc']}")
        L.append("")
        L.append("| configuration | target wall s, median (min–max) | slowdown: median, best-of | "
                 "target CPU s | CPU ratio − 1 | peak RSS, extra | tool CPU s | output |")
        L.append("|---|---|---|---|---|---|---|---|")
        base = sel(wl, "none")
        for cfg in CONFIGS:
            rs = sel(wl, cfg)
            if not rs:
                L.append(f"| {cfg} | no successful runs | | | | | | |")
                continue
            w = [r["wall"] for r in rs]
            slow = lambda b: (f"{med(w) / med(b) - 1:+.1%}, {min(w) / min(b) - 1:+.1%}" if b else "–")
            s = slow([r["wall"] for r in base])
            if cfg == "jemalloc-prof":
                s += f" (vs jemalloc: {slow([r['wall'] for r in sel(wl, 'jemalloc')])})"
            lo, hi = rng(w)
            rss = med([r["rss_kib"] for r in rs]) * 1024
            extra = rss - med([r["rss_kib"] for r in base]) * 1024 if base else None
            tool = med([r["tool_cpu"] - r["cpu"] for r in rs])
            size = med([r.get("size") for r in rs])
            c = [r["cpu"] for r in rs]
            cb = [r["cpu"] for r in base]
            cr = f"{med(c) / med(cb) - 1:+.1%}" if cb else "–"
            L.append(f"| {cfg} | {f(med(w))} ({f(lo)}–{f(hi)}) | {s} | {f(med(c))} | {cr} | "
                     f"{size_h(rss)}, {'+' if extra and extra >= 0 else ''}{size_h(extra) if extra is not None and extra >= 0 else size_h(-extra) if extra else '–'} | "
                     f"{f(tool)} | {size_h(size) if size else '–'} |")
        L.append("")
    ins = info.get("instructions", {})
    L.append("### Instructions (callgrind): the target's own, repeatable whatever the load")
    L.append("")
    L.append("| workload | none | cprof heap | vs none | jemalloc | jemalloc's profiler | vs jemalloc |")
    L.append("|---|---|---|---|---|---|---|")
    for wl, (_, _, desc) in CG_WORKLOADS.items():
        v = {c: ins.get(f"{wl}.{c}") for c in ("none", "cprof", "jemalloc", "jemalloc-prof")}
        n = lambda x: f"{x:,}" if x else "–"
        r = lambda a, b: f"{a / b - 1:+.2%}" if a and b else "–"
        L.append(f"| {wl} ({desc}) | {n(v['none'])} | {n(v['cprof'])} | {r(v['cprof'], v['none'])} | "
                 f"{n(v['jemalloc'])} | {n(v['jemalloc-prof'])} | {r(v['jemalloc-prof'], v['jemalloc'])} |")
    L.append("")
    L.append("### inuse_space against the bytes heaploop holds at exit")
    L.append("")
    L.append("| rep | held (truth) | cprof inuse_space | error | samples | one standard error expected |")
    L.append("|---|---|---|---|---|---|")
    for r in sel("heaploop", "cprof"):
        if "live" in r:
            err = r["inuse"] / r["live"] - 1
            L.append(f"| {r['rep'] + 1} | {size_h(r['live'])} | {size_h(r['inuse'])} | {err:+.2%} | "
                     f"{r['samples']} | {1 / ((r['live'] / 524288) ** 0.5):.1%} |")
    L.append("")
    L.append("### Top 5 allocation sites by calls")
    L.append("")
    L.append("| workload | cprof (alloc_objects) | heaptrack (calls) | same |")
    L.append("|---|---|---|---|")
    for wl in WORKLOADS:
        c = [r for r in sel(wl, "cprof") if r["rep"] == 0]
        h = [r for r in sel(wl, "heaptrack") if r["rep"] == 0]
        if c and h and "top5" in c[0] and "top5" in h[0]:
            a, b = c[0]["top5"], h[0]["top5"]
            L.append(f"| {wl} | {', '.join(a)} | {', '.join(b)} | "
                     f"{'yes' if a == b else f'{len(set(a) & set(b))} of 5 in common'} |")
    L.append("")
    L.append("### cprof heap --pid: load and detach")
    L.append("")
    L.append("Load = from cprof's first stop of a thread to the library sampling (dlopen, the "
             "library's attach and commit, the GOT rerouted); held = how long that one thread was "
             "stopped (no other thread is). Detach likewise. Median (max) over the attaches.")
    L.append("")
    L.append("| target | attaches | load ms | thread held ms | detach ms | thread held ms |")
    L.append("|---|---|---|---|---|---|")
    for name in sorted({r["target"] for r in attach}):
        rs = [r for r in attach if r["target"] == name and "error" not in r]
        cell = lambda k: f"{med([r[k] for r in rs]):.1f} ({max(r[k] for r in rs):.1f})" if rs else "–"
        L.append(f"| {name} | {len(rs)} | {cell('load_ms')} | {cell('load_held_ms')} | "
                 f"{cell('detach_ms')} | {cell('detach_held_ms')} |")
    L.append("")
    return "\n".join(L)


if A.render:
    with open(A.render) as fp:
        raw = json.load(fp)
    print(render(raw["info"], raw["results"], raw["attach"]))
else:
    main()
