"""Driver of bench/cpu.sh (run it through that script, which builds the timing
shim and installs what is missing).

Two phases, each alternating configurations within a repetition so that drift
on the machine spreads over all of them:

launch  Each profiler launches the target (`cprof cpu -o F -- CMD`,
        `perf record -o F -- CMD`), so both profile the same process from its
        first instruction. CMD is `/usr/bin/env LD_PRELOAD=timing-shim.so ...
        TARGET`: env execs in place, and the shim writes the target's own wall
        time (from its start to exit()) and its own user+sys CPU. The
        profiler's CPU is wait4()'s rusage of the profiler (which includes the
        target it reaped) minus the target's own CPU from the shim.
attach  The target runs on its own; the profiler attaches for a short and a
        long duration (`cprof cpu --pid P --seconds S`, `perf record -p P --
        sleep S`). wait4()'s rusage is then the profiler's alone (perf's only
        child is sleep): its CPU and peak RSS. The CPU per sample once warm is
        the marginal cost (CPU_long - CPU_short) / (samples_long -
        samples_short), which cancels start-up, symbol loading and writing.
"""

import argparse
import functools
import json
import os
import random
import re
import subprocess
import time

import benchlib
from benchlib import f, log, med, read, rng, sh, size_h

# cprof cpu -- CMD hands its standard input to CMD: leave it as the driver's.
run = functools.partial(benchlib.run, stdin=None)

PY = "/usr/bin/python3"


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/cpu.sh")
    ap.add_argument("--quick", action="store_true", help="about 2 minutes instead of 10")
    ap.add_argument("--reps", type=int, help="launch-phase repetitions (default 7, quick 2)")
    ap.add_argument("--attach-reps", type=int, help="attach-phase repetitions (default 2, quick 1)")
    benchlib.add_peer_args(ap)
    return ap.parse_args()


A = parse_args()
QUICK = A.quick
REPS = A.reps or (2 if QUICK else 7)
AREPS = A.attach_reps or (1 if QUICK else 2)
SHORT, LONG = (1, 3) if QUICK else (1, 4)
PY_N = 35_000_000 if QUICK else 100_000_000  # ~1 s / ~3 s of CPython on the reference VM
ROUNDS = 350 if QUICK else 1000  # ~1 s / ~3 s of cpuwork
OUT = A.out
STACK = 8192



# ---------------------------------------------------------------- workloads
WORKLOADS = {
    "python": {
        "desc": f"/usr/bin/python3 -c 'sum(i*i for i in range({PY_N}))'",
        "argv": [PY, "-c", f"sum(i*i for i in range({PY_N}))"],
        "forever": [PY, "-c", "sum(i*i for i in range(10**12))"],
    },
    "cpuwork-nofp": {
        "desc": f"tests/workloads/cpuwork-nofp --rounds {ROUNDS}",
        "argv": ["tests/workloads/cpuwork-nofp", "--rounds", str(ROUNDS)],
        "forever": ["tests/workloads/cpuwork-nofp", "--seconds", "900"],
    },
    "cpuwork-fp": {
        "desc": f"tests/workloads/cpuwork-fp --rounds {ROUNDS}",
        "argv": ["tests/workloads/cpuwork-fp", "--rounds", str(ROUNDS)],
        "forever": ["tests/workloads/cpuwork-fp", "--seconds", "900"],
    },
}

# (tool, hz, unwind); tool "none" = no profiler
CONFIGS = {
    "none": ("none", 0, ""),
    "cprof-99-dwarf": ("cprof", 99, "dwarf"),
    "cprof-999-dwarf": ("cprof", 999, "dwarf"),
    "cprof-999-fp": ("cprof", 999, "fp"),
    "perf-99-dwarf": ("perf", 99, "dwarf"),
    "perf-999-dwarf": ("perf", 999, "dwarf"),
    "perf-999-fp": ("perf", 999, "fp"),
}

# which configurations run on which workload: the python binary has no frame
# pointers (fp stacks are truncated there, but the cost is still real);
# cpuwork-nofp is for dwarf, cpuwork-fp for fp
LAUNCH = {
    "python": ["none", "cprof-99-dwarf", "cprof-999-dwarf", "cprof-999-fp",
               "perf-99-dwarf", "perf-999-dwarf", "perf-999-fp"],
    "cpuwork-nofp": ["none", "cprof-99-dwarf", "cprof-999-dwarf", "perf-99-dwarf", "perf-999-dwarf"],
    "cpuwork-fp": ["none", "cprof-999-fp", "perf-999-fp"],
}
ATTACH = {
    "python": ["cprof-99-dwarf", "cprof-999-dwarf", "cprof-999-fp", "perf-999-dwarf", "perf-999-fp"],
    "cpuwork-nofp": ["cprof-99-dwarf", "cprof-999-dwarf", "perf-999-dwarf"],
    "cpuwork-fp": ["cprof-999-fp", "perf-999-fp"],
}


def profiler_argv(cfg, outfile, target=None, pid=None, seconds=None):
    tool, hz, unwind = CONFIGS[cfg]
    if tool == "cprof":
        argv = [A.cprof, "cpu", "-F", str(hz), "--unwind", unwind, "-o", outfile]
        if pid:
            return argv + ["--pid", str(pid), "--seconds", str(seconds)]
        return argv + ["--"] + target
    if tool == "perf":
        cg = f"dwarf,{STACK}" if unwind == "dwarf" else "fp"
        argv = [A.perf, "record", "-e", "cpu-clock", "-F", str(hz), "--call-graph", cg, "-o", outfile]
        if pid:
            return argv + ["-p", str(pid), "--", "sleep", str(seconds)]
        return argv + ["--"] + target
    return target


# ---------------------------------------------------------------- running

def rm(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass



def samples_of(tool, out, err):
    """(samples, lost) as the profiler printed them."""
    if tool == "cprof":
        m = re.search(r"Samples: (\d+), lost: (\d+)", out)
        return (int(m.group(1)), int(m.group(2))) if m else (None, None)
    if tool == "perf":
        m = re.search(r"\((\d+) samples\)", err)
        return (int(m.group(1)), None) if m else (None, None)
    return (None, None)


NAMED_C = re.compile(r"\+0x[0-9a-f]+$")  # cprof's module+offset (no symbol)


def cprof_top(text, n=10):
    """[(name, self%)] from `cprof report --top`."""
    res = []
    for line in text.splitlines():
        m = re.match(r"^\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+[\d.]+%\s+(\S+)", line)
        if m:
            res.append((m.group(2), float(m.group(1))))
    return res[:n]


def perf_top(text, n=10):
    """[(name, self%)] from `perf report --no-children --sort sym -g none`;
    kernel symbols marked [k]."""
    res = []
    for line in text.splitlines():
        m = re.match(r"^\s*([\d.]+)%\s+\[(.)\]\s+(\S+)", line)
        if m:
            name = m.group(3) + (" [k]" if m.group(2) == "k" else "")
            res.append((name, float(m.group(1))))
    return res[:n]


def named(top, tool):
    """Entries with a symbol name (not module+offset / raw address / kernel)."""
    if tool == "cprof":
        return [e for e in top if not NAMED_C.search(e[0])]
    return [e for e in top if not e[0].startswith("0x") and not e[0].endswith("[k]")]


def launch_run(wl, cfg, rep, keep):
    tool = CONFIGS[cfg][0]
    tag = f"{wl}.{cfg}.{rep}"
    shim_out = os.path.join(OUT, "shim.txt")
    prof = os.path.join(OUT, tag + (".pb.gz" if tool == "cprof" else ".data"))
    so, se = os.path.join(OUT, tag + ".out"), os.path.join(OUT, tag + ".err")
    rm(shim_out, prof, prof + ".old")
    target = ["/usr/bin/env", "LD_PRELOAD=" + A.shim, "CPROF_BENCH_OUT=" + shim_out] + WORKLOADS[wl]["argv"]
    status, wall, cpu, maxrss = run(profiler_argv(cfg, prof, target=target), so, se)
    r = {"phase": "launch", "workload": wl, "config": cfg, "rep": rep, "status": status,
         "profiler_wall": wall, "total_cpu": cpu, "total_maxrss_kib": maxrss}
    s = read(shim_out).split()
    if status != 0 or len(s) != 4:
        r["error"] = f"exit {status}, shim {s}: " + read(se)[-300:]
        log("  FAILED", tag, r["error"])
        return r
    r["target_wall"], tu, ts = float(s[0]), float(s[1]), float(s[2])
    r["target_user"], r["target_sys"], r["target_cpu"] = tu, ts, tu + ts
    r["profiler_cpu"] = cpu - r["target_cpu"]
    out, err = read(so), read(se)
    r["samples"], r["lost"] = samples_of(tool, out, err)
    if tool != "none":
        r["size"] = os.path.getsize(prof) if os.path.exists(prof) else None
    if tool == "cprof":
        rso, rse = so + ".report", se + ".report"
        st, w, c, m = run([A.cprof, "report", prof, "--top", "10"], rso, rse)
        r["report_wall"], r["report_cpu"] = w, c
        r["top"] = cprof_top(read(rso))
    elif tool == "perf":
        # the report a user runs: default view, with the call graphs (for a
        # dwarf perf.data this is where perf unwinds)
        rso, rse = so + ".report", se + ".report"
        st, w, c, m = run([A.perf, "report", "--stdio", "-i", prof], rso, rse)
        r["report_wall"], r["report_cpu"], r["report_maxrss_kib"] = w, c, m
        rep_text = read(rso)
        ml = re.search(r"Total Lost Samples: (\d+)", rep_text)
        r["lost"] = int(ml.group(1)) if ml else None
        # self-time top list, not timed
        st, w2, c2, m2 = run([A.perf, "report", "--stdio", "--no-children", "--sort", "sym",
                              "-g", "none", "-i", prof], rso + ".self", rse)
        r["top"] = perf_top(read(rso + ".self"))
    if not keep:
        rm(prof, prof + ".old")
    return r


def attach_run(wl, cfg, pid, seconds, rep):
    tool = CONFIGS[cfg][0]
    tag = f"attach.{wl}.{cfg}.{seconds}s.{rep}"
    prof = os.path.join(OUT, tag + (".pb.gz" if tool == "cprof" else ".data"))
    so, se = os.path.join(OUT, tag + ".out"), os.path.join(OUT, tag + ".err")
    rm(prof, prof + ".old")
    status, wall, cpu, maxrss = run(profiler_argv(cfg, prof, pid=pid, seconds=seconds), so, se)
    r = {"phase": "attach", "workload": wl, "config": cfg, "rep": rep, "seconds": seconds,
         "status": status, "profiler_wall": wall, "profiler_cpu": cpu, "maxrss_kib": maxrss}
    r["samples"], r["lost"] = samples_of(tool, read(so), read(se))
    r["size"] = os.path.getsize(prof) if os.path.exists(prof) else None
    if status != 0 or r["samples"] is None:
        r["error"] = f"exit {status}: " + read(se)[-300:]
        log("  FAILED", tag, r["error"])
    rm(prof, prof + ".old")
    return r


# ---------------------------------------------------------------- stats / output



def pct(x):
    return "–" if x is None else f"{100 * x:+.1f}%"



def machine():
    return benchlib.machine() | {
        "perf": sh(A.perf, "--version"),
        "python": sh(PY, "--version"),
        "cprof_commit": sh("git", "describe", "--always", "--dirty"),
        "paranoid": read("/proc/sys/kernel/perf_event_paranoid").strip(),
    }


def main():
    info = machine()
    info["loadavg_start"] = read("/proc/loadavg").strip()
    info["mode"] = "quick" if QUICK else "full"
    info["reps"], info["attach_reps"], info["attach_seconds"] = REPS, AREPS, (SHORT, LONG)
    t_start = time.monotonic()
    log(f"bench: {info['mode']} mode, {REPS} launch reps, {AREPS} attach reps; files in {OUT}")
    results = []

    # warm-up (not measured): page cache, cprof's and perf's first start
    for wl, cfg in (("python", "none"), ("python", "cprof-999-dwarf"), ("python", "perf-999-dwarf"),
                    ("cpuwork-nofp", "cprof-999-dwarf"), ("cpuwork-fp", "cprof-999-fp")):
        launch_run(wl, cfg, "warmup", keep=False)

    # launch phase: every (workload, config) pair once per rep, shuffled per rep
    pairs = [(wl, cfg) for wl, cfgs in LAUNCH.items() for cfg in cfgs]
    for rep in range(REPS):
        order = pairs[:]
        random.Random(rep).shuffle(order)
        log(f"launch rep {rep + 1}/{REPS} ({time.monotonic() - t_start:.0f}s)")
        for wl, cfg in order:
            results.append(launch_run(wl, cfg, rep, keep=(rep == 0)))

    # attach phase: one long-running target per workload per rep
    for rep in range(AREPS):
        log(f"attach rep {rep + 1}/{AREPS} ({time.monotonic() - t_start:.0f}s)")
        for wl, cfgs in ATTACH.items():
            tgt = subprocess.Popen(WORKLOADS[wl]["forever"], stdout=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                runs = [(cfg, s) for cfg in cfgs for s in (SHORT, LONG)]
                random.Random(100 + rep).shuffle(runs)
                for cfg, s in runs:
                    results.append(attach_run(wl, cfg, tgt.pid, s, rep))
                if tgt.poll() is not None:
                    log(f"  target {wl} exited early ({tgt.returncode})")
            finally:
                tgt.kill()
                tgt.wait()

    info["loadavg_end"] = read("/proc/loadavg").strip()
    info["elapsed_s"] = time.monotonic() - t_start
    with open(os.path.join(OUT, "raw.json"), "w") as fp:
        json.dump({"info": info, "results": results}, fp, indent=1)
    md = render(info, results)
    with open(os.path.join(OUT, "results.md"), "w") as fp:
        fp.write(md)
    print(md)
    log(f"bench: done in {info['elapsed_s']:.0f}s; {OUT}/results.md, {OUT}/raw.json")


def render(info, results):
    L = []
    ok = [r for r in results if "error" not in r]
    bad = [r for r in results if "error" in r]
    lr = lambda wl, cfg: sorted((r for r in ok if r["phase"] == "launch" and r["workload"] == wl
                                 and r["config"] == cfg and r["rep"] != "warmup"), key=lambda r: r["rep"])
    L.append(f"- date: {info['date']}; {info['mode']} mode, {info['reps']} launch reps, "
             f"{info['attach_reps']} attach reps of {info['attach_seconds'][0]} s and "
             f"{info['attach_seconds'][1]} s; whole run {info['elapsed_s']:.0f} s")
    L.append(f"- machine: {info['nproc']} vCPUs, {info['model']}, kernel {info['kernel']}, VM, "
             f"software cpu-clock, perf_event_paranoid {info['paranoid']}, run as root")
    L.append(f"- {info['perf']}; {info['python']}; cprof {info['cprof_commit']}")
    L.append(f"- load average at start: {info['loadavg_start']}; at end: {info['loadavg_end']}")
    if bad:
        L.append(f"- FAILED runs: {len(bad)} (see raw.json)")
    L.append("")

    # ---- slowdown
    L.append("### Target slowdown (launch mode)")
    L.append("")
    L.append("Target wall = the target's own start-to-exit time measured inside it by the shim. "
             "Slowdown = median wall / median wall without profiler − 1; best-of = minimum wall / "
             "minimum wall without profiler − 1 (the least disturbed runs: noise on this VM only adds "
             "time). vs perf = the same two ratios against perf record at the same rate and unwinding. "
             "Profiler CPU = wait4 rusage of the profiler "
             "minus the target's own CPU; per sample = profiler CPU / samples written (start-up "
             "and writing included).")
    L.append("")
    for wl in LAUNCH:
        L.append(f"**{wl}**: `{WORKLOADS[wl]['desc']}`")
        L.append("")
        L.append("| configuration | target wall s, median (min–max) | slowdown vs none: median, best-of | "
                 "vs perf: median, best-of | target CPU s | profiler CPU s | samples (lost) | "
                 "profiler µs/sample | output | profiler wall s |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        nw = [r["target_wall"] for r in lr(wl, "none")]
        for cfg in LAUNCH[wl]:
            rs = lr(wl, cfg)
            if not rs:
                L.append(f"| {cfg} | no successful runs | | | | | | | | |")
                continue
            walls = [r["target_wall"] for r in rs]
            ratio = lambda a, b: (med(a) / med(b) - 1, min(a) / min(b) - 1) if a and b else (None, None)
            sm, sb = ratio(walls, nw)
            vs = "–"
            tool, hz, unw = CONFIGS[cfg]
            if tool == "cprof":
                peer = f"perf-{hz}-{unw}"
                pw = [r["target_wall"] for r in lr(wl, peer)]
                if pw:
                    vm, vb = ratio(walls, pw)
                    vs = f"{pct(vm)}, {pct(vb)} vs {peer}"
            pc = [r["profiler_cpu"] for r in rs]
            smp = [r["samples"] for r in rs]
            lost = [r.get("lost") for r in rs]
            lost_s = "" if cfg == "none" else f" ({f(med(lost), '{:.0f}')})"
            per = [r["profiler_cpu"] / r["samples"] * 1e6 for r in rs if r.get("samples")]
            wlo, whi = rng(walls)
            L.append(
                f"| {cfg} | {f(med(walls))} ({f(wlo)}–{f(whi)}) | "
                + (f"{pct(sm)}, {pct(sb)}" if cfg != "none" else "–")
                + f" | {vs} | {f(med([r['target_cpu'] for r in rs]))} | "
                + (f"{f(med(pc))}" if cfg != "none" else "–")
                + f" | {f(med(smp), '{:.0f}')}{lost_s} | {f(med(per), '{:.1f}')} | "
                + f"{size_h(med([r.get('size') for r in rs]))} | {f(med([r['profiler_wall'] for r in rs]))} |")
        L.append("")

    # ---- attach: per-sample CPU and memory
    L.append("### Profiler CPU per sample and peak memory (attach mode)")
    L.append("")
    L.append(f"Profiler alone (wait4 rusage; perf's child is `sleep`), attached for "
             f"{info['attach_seconds'][0]} s and {info['attach_seconds'][1]} s to a running target. "
             "Warm µs/sample = (CPU_long − CPU_short) / (samples_long − samples_short), median over reps; "
             "average µs/sample = CPU_long / samples_long.")
    L.append("")
    L.append("| workload | configuration | samples short / long | CPU s short / long | "
             "warm µs/sample | average µs/sample (long) | peak RSS MiB (long) |")
    L.append("|---|---|---|---|---|---|---|")
    for wl, cfgs in ATTACH.items():
        for cfg in cfgs:
            sh = [r for r in ok if r["phase"] == "attach" and r["workload"] == wl and r["config"] == cfg
                  and r["seconds"] == info["attach_seconds"][0]]
            lg = [r for r in ok if r["phase"] == "attach" and r["workload"] == wl and r["config"] == cfg
                  and r["seconds"] == info["attach_seconds"][1]]
            marg = []
            for a in sh:
                for b in lg:
                    if a["rep"] == b["rep"] and b["samples"] > a["samples"]:
                        marg.append((b["profiler_cpu"] - a["profiler_cpu"]) / (b["samples"] - a["samples"]) * 1e6)
            avg = [r["profiler_cpu"] / r["samples"] * 1e6 for r in lg if r["samples"]]
            L.append(f"| {wl} | {cfg} | {f(med([r['samples'] for r in sh]), '{:.0f}')} / "
                     f"{f(med([r['samples'] for r in lg]), '{:.0f}')} | "
                     f"{f(med([r['profiler_cpu'] for r in sh]))} / {f(med([r['profiler_cpu'] for r in lg]))} | "
                     f"{f(med(marg), '{:.1f}')} | {f(med(avg), '{:.1f}')} | "
                     f"{f(med([r['maxrss_kib'] / 1024 for r in lg]), '{:.1f}')} |")
    L.append("")

    # ---- total CPU and size
    L.append("### Total CPU to a report, and output size (launch mode, medians)")
    L.append("")
    L.append("cprof: `cprof cpu` (prints the top functions itself) + `cprof report F --top 10`; "
             "perf: `perf record` + `perf report --stdio -i F` (default view with call graphs). "
             "Profiler CPU excludes the target's own CPU.")
    L.append("")
    L.append("| workload | rate, unwind | cprof cpu CPU s | cprof report CPU s | cprof total | "
             "perf record CPU s | perf report CPU s (wall) | perf total | cprof / perf | "
             "profile | perf.data | perf.data / profile |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for wl in LAUNCH:
        for cfg in LAUNCH[wl]:
            tool, hz, unw = CONFIGS[cfg]
            if tool != "cprof" or f"perf-{hz}-{unw}" not in LAUNCH[wl]:
                continue
            c, p = lr(wl, cfg), lr(wl, f"perf-{hz}-{unw}")
            cc, cr = med([r["profiler_cpu"] for r in c]), med([r["report_cpu"] for r in c])
            pc, pr = med([r["profiler_cpu"] for r in p]), med([r["report_cpu"] for r in p])
            prw = med([r["report_wall"] for r in p])
            cs, ps = med([r["size"] for r in c]), med([r["size"] for r in p])
            ct = cc + cr if cc is not None and cr is not None else None
            pt = pc + pr if pc is not None and pr is not None else None
            L.append(f"| {wl} | {hz} Hz {unw} | {f(cc)} | {f(cr)} | {f(ct)} | {f(pc)} | {f(pr)} ({f(prw)}) | "
                     f"{f(pt)} | {f(ct / pt if ct and pt else None, '{:.2f}')} | {size_h(cs)} | {size_h(ps)} | "
                     f"{f(ps / cs if cs and ps else None, '{:.0f}x')} |")
    L.append("")

    # ---- top functions
    L.append("### Top functions by self time (launch mode, 999 Hz, first rep; agreement over all reps)")
    L.append("")
    L.append("| workload | unwind | cprof top 5 (self %) | perf top 5 (self %) | top 3 named functions agree | "
             "top-1 self % per rep, cprof / perf |")
    L.append("|---|---|---|---|---|---|")
    for wl in LAUNCH:
        for unw in ("dwarf", "fp"):
            c, p = lr(wl, f"cprof-999-{unw}"), lr(wl, f"perf-999-{unw}")
            if not c or not p:
                continue
            agree = 0
            n = 0
            for a in c:
                for b in p:
                    if a["rep"] == b["rep"]:
                        n += 1
                        agree += [x[0] for x in named(a["top"], "cprof")[:3]] == \
                                 [x[0] for x in named(b["top"], "perf")[:3]]
            fmt = lambda top: ", ".join(f"{nm} {v:.1f}" for nm, v in top[:5])
            t1 = lambda rs: " ".join(f"{r['top'][0][1]:.0f}" if r.get("top") else "–" for r in rs)
            L.append(f"| {wl} | {unw} | {fmt(c[0]['top'])} | {fmt(p[0]['top'])} | "
                     f"same order in {agree}/{n} reps | {t1(c)} / {t1(p)} |")
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
