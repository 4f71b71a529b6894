"""What the benchmark drivers (bench/*_bench.py) share: running a tool with
its rusage, reading files, medians and ranges, and the machine's description."""
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time


def add_peer_args(ap):
    """The arguments the perf-side-by-side benchmarks share: the two binaries,
    the timing shim and the output directory."""
    ap.add_argument("--cprof", default="./cprof")
    ap.add_argument("--perf", default="perf")
    ap.add_argument("--shim", required=True)
    ap.add_argument("--out", required=True)


HZ = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """The user and system CPU seconds process PID has used, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss_kib(pid, key="VmRSS"):
    """Process PID's resident memory (or KEY of its status, e.g. VmHWM) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(argv, stdout_path, stderr_path, timeout=300, stdin=subprocess.DEVNULL):
    """Run argv, return (exit status, wall seconds, cpu seconds, maxrss KiB)
    from wait4: the process's rusage including the children it reaped."""
    with open(stdout_path, "wb") as so, open(stderr_path, "wb") as se:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=so, stderr=se, stdin=stdin)
        timer = threading.Timer(timeout, lambda: p.send_signal(signal.SIGKILL))
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def sh(*argv):
    """A command's standard output, stripped."""
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rng(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def f(x, fmt="{:.3f}"):
    return "–" if x is None else fmt.format(x)


def size_h(b):
    if b is None:
        return "–"
    if b >= 1 << 20:
        return f"{b / (1 << 20):.1f} MiB"
    return f"{b / 1024:.1f} KiB"


def machine():
    """Date, CPUs, CPU model and kernel; each driver adds its tools' versions."""
    model = ""
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"date": sh("date", "-u"), "nproc": os.cpu_count(), "model": model,
            "kernel": platform.release()}


def finish(out, info, results, md):
    """Save a run: raw.json (INFO and RESULTS) and results.md (MD) in OUT,
    MD on standard output."""
    import json
    with open(os.path.join(out, "raw.json"), "w") as fp:
        json.dump({"info": info, "results": results}, fp, indent=1)
    with open(os.path.join(out, "results.md"), "w") as fp:
        fp.write(md)
    print(md)
    log(f"bench: done in {info['elapsed_s']:.0f}s; {out}/results.md, {out}/raw.json")
