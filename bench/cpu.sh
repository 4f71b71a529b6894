#!/bin/bash
# cprof cpu benchmark (issue 3 item 7): target slowdown, profiler CPU, CPU per
# sample, peak memory, output size, and top functions, cprof against
# `perf record` (and `perf report`) side by side in one run.
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/cpu.sh [--quick] [--reps N] [--out DIR]
# Full mode takes about 10 minutes, --quick about 2. Markdown tables go to
# standard output and DIR/results.md, raw measurements to DIR/raw.json.
# Environment: CPROF (default ./cprof), PERF (default perf).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

# Dependencies: Debian packages, installed when missing.
need=()
[ -x /usr/bin/time ] || need+=(time)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v "${PERF:-perf}" >/dev/null 2>&1 || need+=(linux-perf)
command -v cc >/dev/null 2>&1 || need+=(gcc)
install_missing ${need[@]+"${need[@]}"}

bench_at_root
for w in tests/workloads/cpuwork-nofp tests/workloads/cpuwork-fp; do
	[ -x "$w" ] || die "$w not found: build the test workloads (make -j2 check TESTS=)"
done

parse_out /tmp/cprof-bench.XXXXXX "$@"

# The timing shim, built for this run (not part of the installed tree).
cc -O2 -shared -fPIC -o "$out/timing-shim.so" bench/timing-shim.c ||
	die "could not build bench/timing-shim.c"

exec /usr/bin/python3 bench/cpu_bench.py --cprof "$CPROF" --perf "${PERF:-perf}" \
	--shim "$out/timing-shim.so" --out "$out" ${args[@]+"${args[@]}"}
