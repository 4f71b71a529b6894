"""Driver of bench/threads.sh (run it through that script, which builds the
ticker target and checks the tools).

Targets, each with N threads in all, started once and kept for the whole run:
  tick-idle-N        bench/ticker: N - 1 threads in pause() (4 frames) and a
                     main thread that wakes every 1 ms and records the longest
                     gap between its wake-ups (see bench/ticker.c)
  tick-deep-N        the same with the waiting threads 30 calls deep (34 frames)
  spin-idle-N        bench/ticker --mode spin: the main thread runs flat out
                     (only during its runs) and records the longest gap between
                     two clock reads
  threadwork-idle-N  tests/workloads/threadwork --idle N-1 (a cross-check of
  threadwork-pool-N  cprof's own figures on the suite's workload; --pool N-1)

Tools, each a fresh process per snapshot, as a user would run them:
  cprof        cprof threads --pid P               (grouped dump)
  cprof-all    cprof threads --pid P --all         (each thread, with its stop time)
  cprof-json   cprof threads --pid P --json
  eu-stack     eu-stack -p P
  eu-stack-is  eu-stack -i -s -p P                 (inlined frames and file:line,
                                                   what cprof prints)
  gdb          gdb -p P -batch -ex 'thread apply all bt'
  none         no tool: the ticker's record over a window of CONTROL_S seconds
               (the noise floor of that measure on this machine)

Every repetition runs every planned (target, tool, traced) triple once, in an
order shuffled per repetition. Per run: wall time (monotonic, from fork to
wait4), the tool's CPU (wait4 rusage user+sys, children it reaped included)
and peak RSS (ru_maxrss), the threads the tool's output shows, the ticker's
longest gap since its reset just before the tool started, and whether the
target was left stopped or traced afterwards (every thread's State and
TracerPid). cprof's own stop times are parsed from its output: the header
line ("stopped for X at the median and Y at most; Z in all (the snapshot
took W)"), --all's per-thread "stopped X" (p50, p99 and max of one
snapshot), --json's median_stop_us / worst_stop_us / stopped_us.

Peak RSS comes from a pass of its own at the end (/usr/bin/time -f %M, 3
runs per cell): wait4's ru_maxrss of a child of this script is never below
this script's own resident size (Linux keeps the high-water mark of the
memory the child had before its exec).

Traced runs (cprof, eu-stack, eu-stack -i -s, gdb on tick-idle and
tick-deep) run the tool under `perf record -a -e sched:sched_switch -e
sched:sched_waking`: the kernel's view of how long each of the target's
threads was stopped, the same measure for every tool. Their wall and CPU are
not used (perf's own cost is in them).
"""

import argparse
import json
import mmap
import os
import random
import re
import struct
import subprocess
import time

import benchlib
from benchlib import f, log, med, read, rng, run, sh

A = None



def stop_all(targets):
    for t in targets:
        try:
            t.stop()
        except Exception:
            pass


def write_results(info, results, t_start, render_md):
    """The run's end: raw.json and results.md (RENDER_MD's table) in --out."""
    info["loadavg_end"] = read("/proc/loadavg").strip()
    info["elapsed_s"] = time.monotonic() - t_start
    with open(os.path.join(A.out, "raw.json"), "w") as fp:
        json.dump({"info": info, "results": results}, fp, indent=1)
    md = render_md()
    with open(os.path.join(A.out, "results.md"), "w") as fp:
        fp.write(md)
    print(md)

def parse_args():
    ap = argparse.ArgumentParser(prog="bench/threads.sh")
    ap.add_argument("--quick", action="store_true", help="2 repetitions instead of 7")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--cprof", required=True)
    ap.add_argument("--ticker", required=True)
    ap.add_argument("--threadwork", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--loaded", action="store_true",
                    help="only the loaded case: busy threads > CPUs in the target, stops split")
    ap.add_argument("--busy", type=int, default=6, help="busy threads of the loaded target")
    ap.add_argument("--loaded-sizes", default="100,1000",
                    help="idle threads (with the ticker) of the loaded targets")
    ap.add_argument("--before", help="a second cprof measured beside --cprof in the loaded case")
    return ap.parse_args()



CONTROL_S = 0.5       # the "none" window, tick mode
SPIN_CONTROL_S = 0.2  # the "none" window, spin mode
SHM_FMT = "<QQQQqqqqQ"
MAGIC = 0x7469636B65720001


# ---------------------------------------------------------------- targets
class Target:
    def __init__(self, name, argv, nthreads, shm=None):
        self.name, self.argv, self.nthreads, self.shm_path = name, argv, nthreads, shm
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.m = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"target {name} exited ({self.proc.returncode})")
            if shm:
                try:
                    if self.m is None:
                        f = open(shm, "r+b")
                        if os.fstat(f.fileno()).st_size >= 4096:
                            self.m = mmap.mmap(f.fileno(), 4096)
                        f.close()
                    if self.m is not None and self.read()[0] == MAGIC:
                        break
                except FileNotFoundError:
                    pass
            elif self.task_count() >= nthreads:
                break
            time.sleep(0.02)
        else:
            raise RuntimeError(f"target {name} did not start its threads")
        time.sleep(0.2)
        if self.task_count() != nthreads:
            raise RuntimeError(f"target {name} has {self.task_count()} threads, not {nthreads}")

    def task_count(self):
        try:
            return len(os.listdir(f"/proc/{self.pid}/task"))
        except FileNotFoundError:
            return 0

    def read(self):
        return struct.unpack_from(SHM_FMT, self.m, 0)

    def arm(self, on):
        """Spin mode: start or stop spinning (offset 64: armed)."""
        if self.m is not None:
            struct.pack_into("<Q", self.m, 64, 1 if on else 0)
            if on:
                time.sleep(0.005)

    def reset(self):
        """Zero the ticker's record; returns once the ticker has applied it."""
        if self.m is None:
            return True
        gen = self.read()[1] + 1
        struct.pack_into("<Q", self.m, 8, gen)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if self.read()[2] == gen:
                return True
            time.sleep(0.0002)
        return False

    def record(self):
        """(longest gap ns, ticks) since the last reset."""
        v = self.read()
        return v[4], v[3]

    def health(self):
        """'' if running untraced, else what is wrong (checked on every thread)."""
        bad = []
        try:
            tids = os.listdir(f"/proc/{self.pid}/task")
        except FileNotFoundError:
            return "gone"
        for tid in tids:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/status") as f:
                    st = f.read()
            except FileNotFoundError:
                continue
            state = re.search(r"^State:\s+(\S)", st, re.M).group(1)
            tracer = int(re.search(r"^TracerPid:\s+(\d+)", st, re.M).group(1))
            if state in "tT" or tracer:
                bad.append(f"{tid}:{state}:{tracer}")
        if len(tids) != self.nthreads:
            bad.append(f"{len(tids)} threads")
        return " ".join(bad[:5])

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        if self.m is not None:
            self.m.close()


# ---------------------------------------------------------------- tools
def tool_argv(tool, pid):
    pid = str(pid)
    if tool == "before-all":
        return [A.before, "threads", "--pid", pid, "--all"]
    return {
        "cprof": [A.cprof, "threads", "--pid", pid],
        "cprof-cold": ["env", "CPROF_CACHE_DIR=", A.cprof, "threads", "--pid", pid],
        "cprof-all": [A.cprof, "threads", "--pid", pid, "--all"],
        "cprof-json": [A.cprof, "threads", "--pid", pid, "--json"],
        "eu-stack": ["eu-stack", "-p", pid],
        "eu-stack-is": ["eu-stack", "-i", "-s", "-p", pid],
        "gdb": ["gdb", "-p", pid, "-batch", "-ex", "thread apply all bt"],
    }[tool]


TOOL_DESC = {
    "cprof": "cprof threads --pid P",
    "cprof-cold": "CPROF_CACHE_DIR= cprof threads --pid P (no debug cache: inflates every run; via env)",
    "cprof-all": "cprof threads --pid P --all",
    "cprof-json": "cprof threads --pid P --json",
    "eu-stack": "eu-stack -p P",
    "eu-stack-is": "eu-stack -i -s -p P",
    "gdb": "gdb -p P -batch -ex 'thread apply all bt'",
    "none": "(no tool)",
    "before-all": "cprof threads --pid P --all (--before)",
}




UNIT_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def dur_us(text):
    if text == "0":
        return 0.0
    m = re.fullmatch(r"([\d.]+)(ns|us|ms|s)", text)
    return float(m.group(1)) * UNIT_US[m.group(2)] if m else None


def quantile(sorted_xs, q):
    """Nearest-rank quantile."""
    if not sorted_xs:
        return None
    k = max(0, min(len(sorted_xs) - 1, int(-(-q * len(sorted_xs) // 1)) - 1))
    return sorted_xs[k]


def parse_output(tool, out, r):
    if tool.startswith("cprof") or tool == "before-all":
        if tool == "cprof-json":
            for line in out.splitlines():
                if line.startswith('{"type":"snapshot"'):
                    j = json.loads(line)
                    r["shown_threads"] = j["threads"]
                    r["median_stop_us"] = j["median_stop_us"]
                    r["worst_stop_us"] = j["worst_stop_us"]
                    r["stopped_us"] = j["stopped_us"]
                    r["groups"] = len(j["groups"])
            return
        m = re.search(r"^Process \d+ \(.*\): (\d+) threads in (\d+) groups", out, re.M)
        if m:
            r["shown_threads"], r["groups"] = int(m.group(1)), int(m.group(2))
        m = re.search(r"stopped for (\S+) at the median and (\S+) at most; (\S+) in all "
                      r"\(the snapshot took (\S+)\)", out)
        if m:
            r["median_stop_us"], r["worst_stop_us"], r["stopped_us"], r["snapshot_us"] = \
                [dur_us(x) for x in m.groups()]
        if tool in ("cprof-all", "before-all") and ", held " in out:
            per = re.findall(r'^Thread (\d+) "(.*)" \S, held (\S+), wait to stop (\S+):$', out, re.M)
            r["per_thread"] = {int(t): (name, dur_us(h), dur_us(w)) for t, name, h, w in per}
            m = re.search(r"^Wait to stop \(.*\): (\S+) at the median and (\S+) at most; (\S+) in all$",
                          out, re.M)
            if m:
                r["median_wait_us"], r["worst_wait_us"], r["waited_us"] = [dur_us(x) for x in m.groups()]
        m = re.search(r"held stopped for (\S+) at the median and (\S+) at most; (\S+) in all "
                      r"\(the snapshot took (\S+)\)", out)
        if m:
            r["median_stop_us"], r["worst_stop_us"], r["stopped_us"], r["snapshot_us"] = \
                [dur_us(x) for x in m.groups()]
        if tool == "cprof-all":
            per = [dur_us(x) for x in re.findall(r'^Thread \d+ ".*" \S, (?:stopped|held) (\S+)[:,]', out, re.M)]
            per = sorted(x for x in per if x is not None)
            r["per_thread_n"] = len(per)
            r["p50_us"], r["p99_us"], r["max_us"] = quantile(per, 0.5), quantile(per, 0.99), \
                (per[-1] if per else None)
            r["n_over_100us"] = sum(x > 100 for x in per)
            r["n_over_1ms"] = sum(x > 1000 for x in per)
    elif tool.startswith("eu-stack"):
        r["shown_threads"] = len(re.findall(r"^TID \d+:$", out, re.M))
    elif tool == "gdb":
        r["shown_threads"] = len(re.findall(r"^Thread \d+ \(", out, re.M))


STOP_STATES = ("t", "T")  # sched_switch prev_state of a thread in a ptrace (or group) stop
EVENT_RE = re.compile(r"^\s*(\d+\.\d+):\s+sched:(sched_switch|sched_waking):\s+(.*)$")
SWITCH_RE = re.compile(r"prev_pid=(\d+) prev_prio=-?\d+ prev_state=(\S+) ==> next_comm=.* next_pid=(\d+)")
WAKING_RE = re.compile(r" pid=(\d+) prio=")


def kernel_stops(data, tids):
    """From a `perf record -a -e sched:sched_switch -e sched:sched_waking`
    of one tool run: how long each of the target's threads spent stopped
    (switched out in state t/T until woken again). Returns a dict."""
    p = subprocess.run(["perf", "script", "--ns", "-i", data, "-F", "time,event,trace"],
                       capture_output=True, text=True)
    since, total, longest = {}, {}, {}
    cur = most = 0
    first = last = None
    for line in p.stdout.splitlines():
        m = EVENT_RE.match(line)
        if not m:
            continue
        t, ev, tr = float(m.group(1)), m.group(2), m.group(3)
        if ev == "sched_switch":
            s = SWITCH_RE.search(tr)
            if not s:
                continue
            tid, state = int(s.group(1)), s.group(2)
            if tid in tids and state in STOP_STATES and tid not in since:
                since[tid] = t
                cur += 1
                most = max(most, cur)
                first = t if first is None else first
        else:
            s = WAKING_RE.search(tr)
            tid = int(s.group(1)) if s else None
            if tid in since:
                d = t - since.pop(tid)
                total[tid] = total.get(tid, 0.0) + d
                longest[tid] = max(longest.get(tid, 0.0), d)
                cur -= 1
                last = t
    lost = re.findall(r"(\d+) (?:lost|LOST)", p.stderr)
    v = sorted(x * 1e6 for x in total.values())
    return {
        "k_per_thread": {t: x * 1e6 for t, x in total.items()},
        "k_threads_stopped": len(total) + len(since),
        "k_unreleased": len(since),
        "k_p50_us": quantile(v, 0.5), "k_p99_us": quantile(v, 0.99), "k_max_us": v[-1] if v else None,
        "k_sum_us": sum(v),
        "k_max_at_once": most,
        "k_span_us": (last - first) * 1e6 if first is not None and last is not None else None,
        "k_lost": sum(int(x) for x in lost),
    }


def one_run(tgt, tool, rep, keep, traced=False):
    tag = f"{tgt.name}.{tool}{'.traced' if traced else ''}.{rep}"
    so, se = os.path.join(A.out, tag + ".out"), os.path.join(A.out, tag + ".err")
    r = {"target": tgt.name, "tool": tool, "rep": rep, "threads": tgt.nthreads, "traced": traced}
    spin = tgt.name.startswith("spin")
    if spin:
        tgt.arm(True)
    if not tgt.reset():
        tgt.arm(False)
        r["error"] = "ticker did not acknowledge the reset"
        return r
    data = os.path.join(A.out, tag + ".perf.data")
    if tool == "none":
        time.sleep(SPIN_CONTROL_S if spin else CONTROL_S)
    else:
        argv = tool_argv(tool, tgt.pid)
        if traced:
            argv = ["perf", "record", "-q", "-a", "-m", "1024", "-e", "sched:sched_switch",
                    "-e", "sched:sched_waking", "-o", data, "--"] + argv
        status, wall, cpu, rss = run(argv, so, se)
        r.update(status=status, wall=wall, cpu=cpu, maxrss_kib=rss)
        if status != 0:
            r["error"] = f"exit {status}: " + read(se)[-300:]
        parse_output(tool, read(so), r)
        r["out_bytes"] = os.path.getsize(so)
    if tgt.m is not None:
        time.sleep(0.02)  # 20 ticks: the ticker wakes and notes the gap that ended at the release
        gap, ticks = tgt.record()
        r["ticker_gap_us"], r["ticker_ticks"] = gap / 1e3, ticks
    if spin:
        tgt.arm(False)
    if traced and "error" not in r:
        r.update(kernel_stops(data, tgt.tids))
        if r["k_threads_stopped"] != tgt.nthreads or r["k_unreleased"]:
            r["error"] = (f"kernel trace: {r['k_threads_stopped']} threads stopped, "
                          f"{r['k_unreleased']} not released")
    h = tgt.health()
    if h:
        r["health"] = h
        r["error"] = r.get("error", "") + f" target after the run: {h}"
    if "error" in r:
        log("  FAILED", tag, r["error"])
    for p in ([so, se] if not keep else []) + [data]:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    return r


RSS_REPS = 3


def rss_run(tgt, tool, rep):
    """Peak RSS of TOOL on TGT from /usr/bin/time's %M (KiB)."""
    tag = f"{tgt.name}.{tool}.rss.{rep}"
    so, se, tf = (os.path.join(A.out, tag + x) for x in (".out", ".err", ".time"))
    status, wall, cpu, _ = run(["/usr/bin/time", "-f", "%M", "-o", tf] + tool_argv(tool, tgt.pid), so, se)
    r = {"target": tgt.name, "tool": tool, "rep": rep, "threads": tgt.nthreads, "traced": False,
         "rss_pass": True, "status": status}
    try:
        r["maxrss_kib"] = int(read(tf).split()[-1])
    except (IndexError, ValueError):
        r["error"] = "no %M from /usr/bin/time: " + read(tf)[-200:]
    if status != 0:
        r["error"] = f"exit {status}: " + read(se)[-300:]
    h = tgt.health()
    if h:
        r["error"] = r.get("error", "") + f" target after the run: {h}"
    for p in (so, se, tf):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    return r


# ---------------------------------------------------------------- stats / output



def us_h(x):
    """µs, shown in the unit that suits it."""
    if x is None:
        return "–"
    if x >= 1e6:
        return f"{x / 1e6:.2f} s"
    if x >= 1e4:
        return f"{x / 1e3:.0f} ms"
    if x >= 1e3:
        return f"{x / 1e3:.1f} ms"
    return f"{x:.0f} µs" if x >= 100 else f"{x:.1f} µs"


def mr(xs, fmt=us_h):
    """'median (min–max)'"""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    lo, hi = rng(xs)
    return f"{fmt(med(xs))} ({fmt(lo)}–{fmt(hi)})"


def sec(x):
    return "–" if x is None else f"{x:.3f}"


def machine():
    return benchlib.machine() | {
        "gdb": sh("gdb", "--version").splitlines()[0],
        "eu-stack": sh("eu-stack", "--version").splitlines()[0],
        "perf": sh("perf", "--version"),
        "cprof_commit": os.environ.get("CPROF_COMMIT") or sh("git", "describe", "--always", "--dirty"),
        "yama": read("/proc/sys/kernel/yama/ptrace_scope").strip(),
        "debuginfod_urls": os.environ.get("DEBUGINFOD_URLS", ""),
    }


ALL_TOOLS = ["none", "cprof", "cprof-cold", "cprof-all", "cprof-json", "eu-stack", "eu-stack-is", "gdb"]
PEERS = ["cprof", "eu-stack", "eu-stack-is", "gdb"]  # the kernel-trace phase


def comm(pid, tid):
    return read(f"/proc/{pid}/task/{tid}/comm").strip()


def loaded_main():
    """The loaded case: bench/ticker with N idle threads, its ticking main
    thread and --busy threads running flat out (more runnable threads than
    CPUs), dumped by cprof --all (and by --before, interleaved, when given);
    cprof's own held / wait-to-stop figures per thread, and the kernel's view
    of each stop (perf sched trace, separate runs)."""
    sizes = [int(x) for x in A.loaded_sizes.split(",")]
    reps = A.reps or (2 if A.quick else 5)
    info = machine()
    info.update(reps=reps, sizes=sizes, busy=A.busy, loadavg_start=read("/proc/loadavg").strip(),
                before=A.before or "")
    if A.before:
        info["before_version"] = os.environ.get("CPROF_BEFORE_COMMIT", "")
    t_start = time.monotonic()
    log(f"bench (loaded): {reps} reps, idle threads {sizes}, {A.busy} busy; files in {A.out}")
    tools = ["cprof-all"] + (["before-all"] if A.before else [])
    targets, results = [], []
    try:
        for n in sizes:
            name = f"loaded-{n}"
            shm = os.path.join(A.out, "shm." + name)
            targets.append(Target(name, [A.ticker, "--threads", str(n + 1), "--busy", str(A.busy),
                                         "--shm", shm], n + 1 + A.busy, shm))
        for t in targets:
            t.tids = {int(x) for x in os.listdir(f"/proc/{t.pid}/task")}
            t.busy = {x for x in t.tids if comm(t.pid, x) == "busy"}
        plan = [(t, tool, traced) for t in targets for tool in tools for traced in (False, True)]
        for tool in tools:
            one_run(targets[0], tool, "warmup", keep=False)
        for rep in range(reps):
            order = plan[:]
            random.Random(rep).shuffle(order)
            log(f"rep {rep + 1}/{reps} ({time.monotonic() - t_start:.0f}s)")
            for t, tool, traced in order:
                r = one_run(t, tool, rep, keep=(rep == 0), traced=traced)
                r["busy_tids"] = sorted(t.busy)
                results.append(r)
    finally:
        stop_all(targets)
    write_results(info, results, t_start, lambda: render_loaded(info, results, sizes, tools))
    log(f"bench: done in {info['elapsed_s']:.0f}s; {A.out}/results.md, {A.out}/raw.json")


def loaded_stats(r):
    """Per run: p50 / p99 / max of cprof's held and wait-to-stop figures and of
    the kernel's stops, over all threads and over the busy ones."""
    busy = set(r.get("busy_tids", []))
    out = {}
    per = r.get("per_thread", {})
    for key, idx in (("held", 1), ("wait", 2)):
        for sub, sel in (("", lambda t: True), ("busy_", lambda t: t in busy)):
            xs = sorted(v[idx] for t, v in per.items() if sel(t) and v[idx] is not None)
            out[f"{sub}{key}_p50"], out[f"{sub}{key}_p99"] = quantile(xs, 0.5), quantile(xs, 0.99)
            out[f"{sub}{key}_max"] = xs[-1] if xs else None
    k = r.get("k_per_thread", {})
    for sub, sel in (("", lambda t: True), ("busy_", lambda t: t in busy)):
        xs = sorted(v for t, v in k.items() if sel(t))
        out[f"{sub}k_p50"], out[f"{sub}k_p99"] = quantile(xs, 0.5), quantile(xs, 0.99)
        out[f"{sub}k_max"] = xs[-1] if xs else None
    return out


def render_loaded(info, results, sizes, tools):
    L = []
    ok = [r for r in results if "error" not in r]
    bad = [r for r in results if "error" in r]
    for r in ok:
        r.update(loaded_stats(r))
    sel = lambda tgt, tool, traced: [r for r in ok if r["target"] == tgt and r["tool"] == tool
                                     and r["traced"] == traced]
    L.append(f"- date: {info['date']}; {info['reps']} repetitions; whole run {info['elapsed_s']:.0f} s")
    L.append(f"- machine: {info['nproc']} vCPUs, {info['model']}, kernel {info['kernel']}, VM, run as root; "
             f"shared with other work (load average at start {info['loadavg_start']}, at end "
             f"{info['loadavg_end']})")
    L.append(f"- {info['perf']}; cprof {info['cprof_commit']}" +
             (f"; --before {info.get('before_version') or info['before']}" if info["before"] else ""))
    L.append(f"- target: bench/ticker with N idle threads in pause(), its ticking main thread and "
             f"{info['busy']} busy threads running flat out")
    L.append(f"- runs: {len(results)}, failed: {len(bad)}" + (" (see raw.json): " + "; ".join(
        f"{r['target']} {r['tool']} rep {r['rep']}: {r['error'][:160]}" for r in bad[:8]) if bad else ""))
    L.append("")
    L.append("Held = cprof's figure from the thread's stop (waitpid, moved back by cprof's own wait "
             "for a CPU) to PTRACE_DETACH; wait to stop = PTRACE_INTERRUPT to that stop (the thread "
             "runs on or waits for a CPU). Kernel stop = from the thread's switch-out in state t "
             "until it is woken (perf sched trace, separate runs). p50 / p99 / max over the "
             "target's threads in one snapshot (nearest rank), then median (min–max) over the "
             "repetitions; busy = over the busy threads only.")
    L.append("")
    L.append("| target | cprof | held p50 | held p99 | held max | wait to stop p50 | p99 | "
             "kernel stop p50 | p99 | max | busy: held p50 / p99 | busy: wait p50 / p99 | "
             "busy: kernel p50 / p99 | held in all | snapshot took |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        tgt = f"loaded-{n}"
        for tool in tools:
            u, k = sel(tgt, tool, False), sel(tgt, tool, True)
            g = lambda rs, key: mr([r.get(key) for r in rs])
            L.append(f"| {tgt} | {'--before' if tool == 'before-all' else 'this'} | "
                     f"{g(u, 'held_p50')} | {g(u, 'held_p99')} | {g(u, 'held_max')} | "
                     f"{g(u, 'wait_p50')} | {g(u, 'wait_p99')} | "
                     f"{g(k, 'k_p50')} | {g(k, 'k_p99')} | {g(k, 'k_max')} | "
                     f"{g(u, 'busy_held_p50')} / {g(u, 'busy_held_p99')} | "
                     f"{g(u, 'busy_wait_p50')} / {g(u, 'busy_wait_p99')} | "
                     f"{g(k, 'busy_k_p50')} / {g(k, 'busy_k_p99')} | "
                     f"{g(u, 'stopped_us')} | {g(u, 'snapshot_us')} |")
    L.append("")
    return "\n".join(L)


def main():
    global A
    A = parse_args()
    # cprof's cache of inflated debug files, filled by the warm-up run
    os.environ["CPROF_CACHE_DIR"] = os.path.join(A.out, "debug-cache")
    if A.loaded:
        return loaded_main()
    reps = A.reps or (2 if A.quick else 7)
    sizes = [int(x) for x in A.sizes.split(",")]
    info = machine()
    info.update(reps=reps, sizes=sizes, loadavg_start=read("/proc/loadavg").strip())
    t_start = time.monotonic()
    log(f"bench: {reps} reps, sizes {sizes}; files in {A.out}")

    targets = []
    shm = lambda name: os.path.join(A.out, "shm." + name)
    try:
        for n in sizes:
            for name, extra in ((f"tick-idle-{n}", []), (f"tick-deep-{n}", ["--depth", "30"]),
                                (f"spin-idle-{n}", ["--mode", "spin"])):
                targets.append(Target(name, [A.ticker, "--threads", str(n), "--shm", shm(name)] + extra,
                                      n, shm(name)))
            targets.append(Target(f"threadwork-idle-{n}", [A.threadwork, "--idle", str(n - 1)], n))
            targets.append(Target(f"threadwork-pool-{n}", [A.threadwork, "--pool", str(n - 1)], n))
        for t in targets:
            t.tids = {int(x) for x in os.listdir(f"/proc/{t.pid}/task")}
        plan = []
        for t in targets:
            kind = t.name.rsplit("-", 1)[0]
            if kind == "tick-idle":
                plan += [(t, tool, False) for tool in ALL_TOOLS]
                plan += [(t, tool, True) for tool in PEERS]
            elif kind == "tick-deep":
                plan += [(t, tool, False) for tool in ["cprof-all", "eu-stack", "eu-stack-is", "gdb"]]
                plan += [(t, tool, True) for tool in PEERS]
            elif kind == "spin-idle":
                plan += [(t, tool, False) for tool in ["none", "cprof-all", "eu-stack", "gdb"]]
            else:
                plan += [(t, "cprof-all", False)]

        # warm-up, not measured: page cache, the tools' first start
        for tool in ALL_TOOLS[1:]:
            one_run(targets[0], tool, "warmup", keep=False)
        one_run(targets[0], "cprof", "warmup", keep=False, traced=True)

        results = []
        for rep in range(reps):
            order = plan[:]
            random.Random(rep).shuffle(order)
            log(f"rep {rep + 1}/{reps} ({time.monotonic() - t_start:.0f}s)")
            for t, tool, traced in order:
                results.append(one_run(t, tool, rep, keep=(rep == 0), traced=traced))

        # Peak RSS, in runs of its own: wait4's ru_maxrss would also count the
        # resident size of this Python process, whose memory the child had
        # until its exec (Linux records the old mm's high-water mark at exec),
        # so the tools run under /usr/bin/time, whose own size is ~1 MiB.
        log(f"peak RSS pass ({time.monotonic() - t_start:.0f}s)")
        rss_plan = [(t, tool) for t, tool, traced in plan
                    if not traced and tool != "none" and t.name.startswith("tick")]
        for rep in range(RSS_REPS):
            for t, tool in rss_plan:
                results.append(rss_run(t, tool, rep))
    finally:
        stop_all(targets)

    write_results(info, results, t_start, lambda: render(info, results, sizes))
    log(f"bench: done in {info['elapsed_s']:.0f}s; {A.out}/results.md, {A.out}/raw.json")


def render(info, results, sizes):
    L = []
    ok = [r for r in results if "error" not in r]
    bad = [r for r in results if "error" in r]
    sel = lambda tgt, tool, traced=False: [r for r in ok if r["target"] == tgt and r["tool"] == tool
                                           and r["traced"] == traced and not r.get("rss_pass")]
    rss = lambda tgt, tool: [r["maxrss_kib"] / 1024 for r in ok if r.get("rss_pass")
                             and r["target"] == tgt and r["tool"] == tool]
    L.append(f"- date: {info['date']}; {info['reps']} repetitions; whole run {info['elapsed_s']:.0f} s")
    L.append(f"- machine: {info['nproc']} vCPUs, {info['model']}, kernel {info['kernel']}, VM, "
             f"yama ptrace_scope {info['yama'] or '(none)'}, run as root")
    L.append(f"- {info['gdb']}; {info['eu-stack']}; {info['perf']}; cprof {info['cprof_commit']}; "
             f"DEBUGINFOD_URLS={info['debuginfod_urls'] or '(unset)'}")
    L.append(f"- load average at start: {info['loadavg_start']}; at end: {info['loadavg_end']}")
    L.append(f"- runs: {len(results)}, failed: {len(bad)}" + (" (see raw.json): " + "; ".join(
        f"{r['target']} {r['tool']} rep {r['rep']}: {r['error'][:160]}" for r in bad[:8]) if bad else ""))
    L.append("")

    # ---- 1. cprof's own stop times
    L.append("#### cprof's per-thread stop time, as cprof measures it (PTRACE_INTERRUPT to PTRACE_DETACH)")
    L.append("")
    L.append("Each cell: median over the repetitions of one snapshot's figure (min–max over the "
             "repetitions). p50 / p99 / max: of the per-thread values `--all` prints in one snapshot "
             "(nearest rank). Header median: the default output's \"stopped for X at the median\"; "
             "json median: `--json`'s median_stop_us (separate runs).")
    L.append("")
    L.append("| target | threads | p50 (--all) | p99 (--all) | max (--all) | threads > 100 µs / > 1 ms per snapshot (median) | "
             "header median | json median | stopped in all (--all) | snapshot took (--all) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for kind in ("tick-idle", "tick-deep", "threadwork-idle", "threadwork-pool", "spin-idle"):
        for n in sizes:
            tgt = f"{kind}-{n}"
            a, h, j = sel(tgt, "cprof-all"), sel(tgt, "cprof"), sel(tgt, "cprof-json")
            if not a:
                continue
            L.append(f"| {kind} | {n} | {mr([r.get('p50_us') for r in a])} | {mr([r.get('p99_us') for r in a])} | "
                     f"{mr([r.get('max_us') for r in a])} | "
                     f"{f(med([r.get('n_over_100us') for r in a]), '{:.0f}')} / {f(med([r.get('n_over_1ms') for r in a]), '{:.0f}')} | "
                     f"{mr([r.get('median_stop_us') for r in h])} | {mr([r.get('median_stop_us') for r in j])} | "
                     f"{mr([r.get('stopped_us') for r in a])} | {mr([r.get('snapshot_us') for r in a])} |")
    L.append("")

    # ---- 2. side by side: time, CPU, memory
    L.append("#### Whole snapshot: wall time, CPU and memory of each tool, same target")
    L.append("")
    L.append("Wall = fork to exit of the tool; CPU = its user+sys (wait4 rusage); peak RSS = "
             f"/usr/bin/time's %M in {RSS_REPS} separate runs per cell, median. Threads shown = the threads in the tool's output (every run). "
             "x vs gdb = gdb's median / the tool's median on the same target (above 1: faster than gdb).")
    L.append("")
    L.append("| target | threads | tool | wall s | CPU s | peak RSS MiB | threads shown | wall: x vs gdb | CPU: x vs gdb |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for kind in ("tick-idle", "tick-deep"):
        for n in sizes:
            tgt = f"{kind}-{n}"
            g = sel(tgt, "gdb")
            gw, gc = med([r["wall"] for r in g]), med([r["cpu"] for r in g])
            for tool in ALL_TOOLS[1:]:
                rs = sel(tgt, tool)
                if not rs:
                    continue
                w, c = [r["wall"] for r in rs], [r["cpu"] for r in rs]
                shown = sorted(set(r.get("shown_threads") for r in rs), key=lambda x: (x is None, x))
                L.append(f"| {kind} | {n} | {TOOL_DESC[tool]} | {mr(w, sec)} | {mr(c, sec)} | "
                         f"{f(med(rss(tgt, tool)), '{:.1f}')} | "
                         f"{', '.join(str(x) for x in shown)} | "
                         f"{f(gw / med(w) if gw and tool != 'gdb' else None, '{:.1f}x')} | "
                         f"{f(gc / med(c) if gc and tool != 'gdb' else None, '{:.1f}x')} |")
    L.append("")

    # ---- 3. stops as the target's threads felt them
    L.append("#### How long the target's threads were stopped, seen from outside the tools")
    L.append("")
    L.append("Kernel view: each tool also ran under `perf record -a -e sched:sched_switch -e "
             "sched:sched_waking` (separate runs): a thread is stopped from its switch-out in state t/T "
             "(ptrace stop) until it is woken again; per thread, the sum over the run. p50 / p99 / max "
             "over the target's threads in one run, then median (min–max) over repetitions; at once = "
             "the most threads stopped at the same time; span = first stop to last release. "
             "Ticker stall (main runs, tick-idle / tick-deep): the longest gap between the ticker "
             "thread's 1 ms wake-ups while the tool ran, minus 1 ms. Spin stall (spin-idle target): "
             "the longest gap between two clock reads of a thread running flat out; it occupies one of "
             "the two vCPUs meanwhile. Both include the machine's own noise: see the no-tool rows.")
    L.append("")
    L.append("| target | threads | tool | stopped per thread: p50 | p99 | max | at once | span | ticker stall | spin stall |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for kind in ("tick-idle", "tick-deep"):
        for n in sizes:
            tgt = f"{kind}-{n}"
            for tool in ["none"] + PEERS:
                k = sel(tgt, tool, True)
                m = sel(tgt, tool) if tool != "cprof" else sel(tgt, "cprof") + sel(tgt, "cprof-all") + sel(tgt, "cprof-json")
                sp = sel(f"spin-idle-{n}", tool if tool != "cprof" else "cprof-all") if kind == "tick-idle" else []
                stall = [max(0.0, r["ticker_gap_us"] - 1000) for r in m if "ticker_gap_us" in r]
                sstall = [r["ticker_gap_us"] for r in sp if "ticker_gap_us" in r]
                if not k and not stall and not sstall:
                    continue
                name = (f"none ({CONTROL_S} s / {SPIN_CONTROL_S} s window)" if tool == "none"
                        else TOOL_DESC[tool])
                atonce = sorted(set(r["k_max_at_once"] for r in k))
                L.append(f"| {kind} | {n} | {name} | {mr([r['k_p50_us'] for r in k])} | "
                         f"{mr([r['k_p99_us'] for r in k])} | {mr([r['k_max_us'] for r in k])} | "
                         f"{', '.join(str(x) for x in atonce) or '–'} | {mr([r['k_span_us'] for r in k])} | "
                         f"{mr(stall)} | {mr(sstall)} |")
    L.append("")
    L.append("Targets: tick-idle = bench/ticker with N−1 threads in pause() (4 frames) and the ticking "
             "main thread; tick-deep = the same with the waiting threads 30 calls deep (34 frames); "
             "threadwork-idle / -pool = `tests/workloads/threadwork --idle N−1` / `--pool N−1`; "
             "spin-idle = bench/ticker --mode spin. The cprof row of the spin stall column is from "
             "`cprof threads --all` runs.")
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
