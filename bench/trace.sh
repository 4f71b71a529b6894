#!/bin/sh
# cprof trace benchmark (issue 17): cprof trace and `perf sched record` +
# `perf sched timehist` side by side on tests/workloads/waitwork: the
# target's slowdown and each tool's own CPU at 1k, 10k and 100k switches a
# second, output sizes, and the agreement of each thread's running and
# off-CPU shares (bench/trace_bench.py says how). Needs root (perf sched
# records the scheduler's tracepoints).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/trace.sh [--quick] [--out DIR]      (about 2 minutes; --quick 1)
set -eu
out=$(mktemp -d /tmp/cprof-bench-trace.XXXXXX)
seconds=5
while [ $# -gt 0 ]; do
	case $1 in
	--quick) seconds=2 ;;
	--out) out=$2; shift ;;
	*) echo "usage: bench/trace.sh [--quick] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$out"
python3 "$(dirname "$0")/trace_bench.py" --seconds "$seconds" --out "$out"
echo "raw measurements in $out/raw.json" >&2
