#!/bin/bash
# The cost and the reach of the stack copy (issue 10 item 9): cprof cpu and
# `perf record --call-graph dwarf,SIZE` side by side at the same copy sizes,
# on programs with deep stacks: the share of samples that reach libc's start-up
# code below main, the target's slowdown, the profiler's CPU per sample
# (perf's record and its unwinding `perf script` apart) and the output size.
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/stacksize.sh [--reps N] [--sizes 8192,32768,65528] [--out DIR]
# About 13 minutes with the defaults (2 repetitions) on a loaded 2-vCPU VM,
# mostly perf script unwinding clang++. Markdown to standard
# output and DIR/results.md, raw measurements to DIR/raw.json.
# Environment: CPROF (default ./cprof), PERF (default perf).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need=()
[ -x /usr/bin/python3 ] || need+=(python3)
command -v "${PERF:-perf}" >/dev/null 2>&1 || need+=(linux-perf)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v clang++ >/dev/null 2>&1 || need+=(clang)
install_missing ${need[@]+"${need[@]}"}

bench_at_root
[ -x tests/workloads/stackwork ] || die "tests/workloads/stackwork not found: build the test workloads (make -j2 check TESTS=)"

parse_out /tmp/cprof-stacksize.XXXXXX "$@"

cc -O2 -shared -fPIC -o "$out/timing-shim.so" bench/timing-shim.c ||
	die "could not build bench/timing-shim.c"

exec /usr/bin/python3 bench/stacksize_bench.py --cprof "$CPROF" --perf "${PERF:-perf}" \
	--shim "$out/timing-shim.so" --out "$out" ${args[@]+"${args[@]}"}
