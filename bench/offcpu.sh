#!/bin/sh
# cprof offcpu benchmark (issue 15): cprof offcpu and
# `perf record -e context-switches --call-graph dwarf` side by side on
# tests/workloads/waitwork: the cost each adds per switch, each one's own CPU
# per switch at 1k, 10k and 100k switches a second, output sizes, and the
# agreement of the stacks (bench/offcpu_bench.py says how); and cprof record
# --mode offcpu, a window a second, beside cprof offcpu at the same bound.
# Needs root (the switch-out samples need CAP_PERFMON or
# perf_event_paranoid <= 1).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/offcpu.sh [--quick] [--out DIR]      (about 2 minutes; --quick 1)
set -eu
out=$(mktemp -d /tmp/cprof-bench-offcpu.XXXXXX)
trips=500000
seconds=5
while [ $# -gt 0 ]; do
	case $1 in
	--quick) trips=100000; seconds=2 ;;
	--out) out=$2; shift ;;
	*) echo "usage: bench/offcpu.sh [--quick] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$out"
python3 "$(dirname "$0")/offcpu_bench.py" --trips "$trips" --seconds "$seconds" --out "$out"
echo "raw measurements in $out/raw.json" >&2
