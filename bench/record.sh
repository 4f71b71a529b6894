#!/bin/sh
# cprof record benchmark (issue 14): a 100-thread busy target recorded at 10 s
# windows and 99 Hz by cprof record (DWARF and --unwind fp) and
# `perf record --switch-output=10s` at once: each recorder's CPU as a share of
# a core, its RSS window after window, the
# output per hour, and the slowdown of fixed work on 100 threads
# (bench/record_bench.py says how).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/record.sh [--quick] [--out DIR]
# The full run records for an hour (about 1 h 10 min in all); --quick
# records for 2 minutes (about 7 minutes in all).
set -eu
out=$(mktemp -d /tmp/cprof-bench-record.XXXXXX)
seconds=3600
while [ $# -gt 0 ]; do
	case $1 in
	--quick) seconds=120 ;;
	--out) out=$2; shift ;;
	*) echo "usage: bench/record.sh [--quick] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$out"
python3 "$(dirname "$0")/record_bench.py" --seconds "$seconds" --out "$out"
echo "raw measurements in $out/raw.json" >&2
