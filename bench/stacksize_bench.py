"""Driver of bench/stacksize.sh (run it through that script, which builds the
timing shim and installs what is missing).

Each profiler launches the target (`cprof cpu -F HZ --stack-size S -o F --
CMD`, `perf record -F HZ --call-graph dwarf,S -o F -- CMD`); CMD is
`/usr/bin/env LD_PRELOAD=timing-shim.so ... TARGET`, so the shim writes the
target's own wall and CPU time. The profiler's CPU is wait4()'s rusage of the
profiler minus the target's. perf unwinds offline: `perf script` over the
file is timed apart, and its output tells which samples reach
__libc_start_main; for cprof the folded stacks of `cprof report` do.
Configurations alternate within a repetition so drift spreads over all.
"""

import argparse
import json
import os
import re
import subprocess

import benchlib
from benchlib import f, log, med, read, sh, size_h


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/stacksize.sh")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--sizes", default="8192,32768,65528")
    benchlib.add_peer_args(ap)
    return ap.parse_args()


A = parse_args()
OUT = A.out
SIZES = [int(s) for s in A.sizes.split(",")]

# sqlite3's shell reading a script from standard input (its input loop keeps
# large buffers on the stack), a clang++ -O2 compile, and the suite's
# 100-frame recursion.
DB = os.path.join(OUT, "bench.db")
SQL = os.path.join(OUT, "query.sql")
CC_SRC = os.path.join(OUT, "heavy.cc")
WORKLOADS = {
    "sqlite3": {"argv": ["sqlite3", DB], "stdin": SQL,
                "desc": "sqlite3 bench.db < query.sql (a self-join of 300k rows, grouped)"},
    "clang++": {"argv": ["clang++", "-O2", "-c", CC_SRC, "-o", "/dev/null"], "stdin": None,
                "desc": "clang++ -O2 -c heavy.cc (<regex>, <map>, <iostream>)"},
    "stackwork": {"argv": ["tests/workloads/stackwork", "--depth", "100", "--seconds", "3"],
                  "stdin": None, "desc": "tests/workloads/stackwork --depth 100 --seconds 3"},
}


def setup():
    if not os.path.exists(DB):
        subprocess.run(["sqlite3", DB, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INT); "
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 300000) "
                        "INSERT INTO t SELECT x, hex(randomblob(8)), x % 1000 FROM c; "
                        "CREATE INDEX tc ON t(c);"], check=True)
    with open(SQL, "w") as fh:
        fh.write("SELECT t1.c, count(*), max(t2.b) FROM t t1 JOIN t t2 ON t1.c = t2.c "
                 "WHERE t1.a % 7 = 0 GROUP BY t1.c ORDER BY 3 LIMIT 5;\n")
    with open(CC_SRC, "w") as fh:
        fh.write("#include <regex>\n#include <map>\n#include <string>\n#include <iostream>\n"
                 "#include <vector>\n#include <algorithm>\n"
                 "int main(int c, char **v) { std::map<std::string, std::vector<int>> m;\n"
                 "  std::regex r(v[0]);\n"
                 "  for (int i = 0; i < c; i++) m[v[i]].push_back(std::regex_match(v[i], r));\n"
                 "  std::sort(m[v[0]].begin(), m[v[0]].end()); std::cout << m.size(); }\n")


def configs():
    c = [("none", 0, 0)]
    for s in SIZES:
        c += [("cprof", 99, s), ("perf", 99, s)]
    return c


def name(cfg):
    tool, hz, size = cfg
    return "none" if tool == "none" else f"{tool} {hz} Hz {size}"


def reaches_root(stack):
    """Whether a stack got into libc's start-up code below main: perf's
    unwinder often ends at __libc_start_call_main, a frame short of
    __libc_start_main, where cprof goes on to _start."""
    return "__libc_start_main" in stack or "__libc_start_call_main" in stack


def root_share_folded(text):
    n = k = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n += int(count)
        if reaches_root(stack):
            k += int(count)
    return 100.0 * k / n if n else None


def root_share_perf_script(text):
    n = k = 0
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        n += 1
        k += reaches_root(block)
    return 100.0 * k / n if n else None, n


def one(wl, cfg, rep):
    tool, hz, size = cfg
    w = WORKLOADS[wl]
    tag = f"{wl}.{tool}.{hz}.{size}.{rep}"
    shim_out = os.path.join(OUT, "shim.txt")
    prof = os.path.join(OUT, tag + (".pb.gz" if tool == "cprof" else ".data"))
    so, se = os.path.join(OUT, tag + ".out"), os.path.join(OUT, tag + ".err")
    for p in (shim_out, prof):
        if os.path.exists(p):
            os.unlink(p)
    target = ["/usr/bin/env", "LD_PRELOAD=" + A.shim, "CPROF_BENCH_OUT=" + shim_out] + w["argv"]
    if tool == "cprof":
        argv = [A.cprof, "cpu", "-F", str(hz), "--stack-size", str(size), "--top", "0",
                "-o", prof, "--"] + target
    elif tool == "perf":
        argv = [A.perf, "record", "-q", "-F", str(hz), "--call-graph", f"dwarf,{size}",
                "-o", prof, "--"] + target
    else:
        argv = target
    stdin = open(w["stdin"]) if w["stdin"] else subprocess.DEVNULL
    try:
        status, wall, cpu, maxrss = benchlib.run(argv, so, se, stdin=stdin)
    finally:
        if w["stdin"]:
            stdin.close()
    r = {"workload": wl, "tool": tool, "hz": hz, "size": size, "rep": rep, "status": status,
         "total_cpu": cpu, "maxrss_kib": maxrss}
    s = read(shim_out).split()
    if status != 0 or len(s) != 4:
        r["error"] = f"exit {status}, shim {s}: " + read(se)[-300:]
        log("  FAILED", tag, r["error"])
        return r
    r["target_wall"], r["target_cpu"] = float(s[0]), float(s[1]) + float(s[2])
    r["profiler_cpu"] = cpu - r["target_cpu"]
    if tool == "cprof":
        out = read(so)
        m = re.search(r"^Samples: (\d+), lost: (\d+)", out, re.M)
        r["samples"], r["lost"] = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        r["size_bytes"] = os.path.getsize(prof)
        folded = subprocess.run([A.cprof, "report", "--folded", "--sample-index", "samples", prof],
                                capture_output=True, text=True).stdout
        r["root_pct"] = root_share_folded(folded)
        r["post_cpu"] = 0.0
    elif tool == "perf":
        r["size_bytes"] = os.path.getsize(prof)
        pso, pse = so + ".script", se + ".script"
        st, w2, c2, m2 = benchlib.run([A.perf, "script", "-F", "comm,tid,ip,sym", "-i", prof],
                                      pso, pse)
        r["post_cpu"] = c2
        r["root_pct"], r["samples"] = root_share_perf_script(read(pso))
        r["lost"] = None
        os.unlink(pso)
        os.unlink(prof)
    if tool == "cprof":
        os.unlink(prof)
    return r


def main():
    setup()
    rows = []
    for rep in range(A.reps):
        for wl in WORKLOADS:
            for cfg in configs():
                log(f"rep {rep + 1}/{A.reps}: {wl}, {name(cfg)}")
                rows.append(one(wl, cfg, rep))
    mach = benchlib.machine()
    mach["perf"] = sh(A.perf, "--version")
    mach["cprof"] = sh("git", "rev-parse", "--short", "HEAD")
    with open(os.path.join(OUT, "raw.json"), "w") as fh:
        json.dump({"machine": mach, "rows": rows}, fh, indent=1)
    L = [f"Machine: {mach['date']}, {mach['nproc']} CPUs ({mach['model']}), kernel "
         f"{mach['kernel']}, {mach['perf']}, cprof {mach['cprof']}; medians of {A.reps} runs.", ""]
    for wl, w in WORKLOADS.items():
        ok = [r for r in rows if r["workload"] == wl and "error" not in r]
        base = med([r["target_wall"] for r in ok if r["tool"] == "none"])
        L += [f"{wl}: `{w['desc']}`, alone {f(base, '{:.2f}')} s", "",
              "| profiler | Hz | copy | reach root | samples | target wall | slowdown "
              "| profiler CPU | per sample | perf script CPU | per sample | file |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for cfg in configs()[1:]:
            rs = [r for r in ok if (r["tool"], r["hz"], r["size"]) == cfg]
            if not rs:
                continue
            tw = med([r["target_wall"] for r in rs])
            pc = med([r["profiler_cpu"] for r in rs])
            n = med([r["samples"] for r in rs])
            post = med([r["post_cpu"] for r in rs])
            per = pc / n * 1e6 if n else None
            pper = post / n * 1e6 if n and cfg[0] == "perf" else None
            L.append(f"| {cfg[0]} | {cfg[1]} | {cfg[2]} | {f(med([r['root_pct'] for r in rs]), '{:.1f}%')} "
                     f"| {f(n, '{:.0f}')} | {f(tw, '{:.2f}')} s "
                     f"| {f(100 * (tw / base - 1) if base and tw else None, '{:+.1f}%')} "
                     f"| {f(pc, '{:.3f}')} s | {f(per, '{:.0f}')} us "
                     f"| {f(post if cfg[0] == 'perf' else None, '{:.3f}')} s | {f(pper, '{:.0f}')} us "
                     f"| {size_h(med([r['size_bytes'] for r in rs]))} |")
        L.append("")
    text = "\n".join(L)
    with open(os.path.join(OUT, "results.md"), "w") as fh:
        fh.write(text + "\n")
    print(text)


main()
