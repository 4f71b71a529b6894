#!/bin/bash
# cprof threads benchmark (issue 4 item 6): snapshots of processes with 10, 100
# and 1000 threads; cprof's per-thread stop time (median, p99), the whole
# snapshot's wall time, the tools' CPU and peak memory, side by side with
# `eu-stack -p` (elfutils) and `gdb -p P -batch -ex 'thread apply all bt'` on
# the same processes, and how long a thread of the target felt stopped,
# measured from inside it (bench/ticker.c).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/threads.sh [--quick] [--reps N] [--sizes 10,100,1000] [--out DIR]
#   bench/threads.sh --loaded [--busy 6] [--loaded-sizes 100,1000] [--before CPROF2]
#                    [--reps N] [--out DIR]
# The full run (7 repetitions) takes a few minutes, --quick (2) about one.
# --loaded runs only the loaded case (issue 10 item 8): the ticker with N idle
# threads and --busy threads running flat out (more runnable threads than
# CPUs); cprof's time held and wait to stop per thread, and the kernel's view
# of each stop; --before measures a second cprof binary (e.g. an older build)
# interleaved with this one, 5 repetitions by default, a few minutes.
# Markdown tables go to standard output and DIR/results.md, raw measurements
# to DIR/raw.json, the first repetition's outputs to DIR/*.out.
# Environment: CPROF (default ./cprof) and THREADWORK (default
# tests/workloads/threadwork), copied to DIR before the run so that a rebuild
# of the work tree meanwhile does not change what is measured; CPROF_COMMIT,
# what to record as cprof's version (default: git describe of the work tree).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need=()
[ -x /usr/bin/time ] || need+=(time)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v eu-stack >/dev/null 2>&1 || need+=(elfutils)
command -v gdb >/dev/null 2>&1 || need+=(gdb)
command -v cc >/dev/null 2>&1 || need+=(gcc)
install_missing ${need[@]+"${need[@]}"}

bench_at_root
THREADWORK=${THREADWORK:-tests/workloads/threadwork}
[ -x "$THREADWORK" ] ||
	die "$THREADWORK not found: build the test workloads (make -j2 check TESTS=)"

parse_out /tmp/cprof-bench-threads.XXXXXX "$@"

# The target, built for this run with debug info (as the workloads are).
cc -O2 -g -pthread -o "$out/ticker" bench/ticker.c || die "could not build bench/ticker.c"
cp "$CPROF" "$out/cprof"
cp "$THREADWORK" "$out/threadwork"

exec /usr/bin/python3 bench/threads_bench.py --cprof "$out/cprof" --ticker "$out/ticker" \
	--threadwork "$out/threadwork" --out "$out" ${args[@]+"${args[@]}"}
