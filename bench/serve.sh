#!/bin/sh
# cprof serve benchmark (issue 13): idle cost with 10 processes registered
# beside a Go program serving net/http/pprof, the target's slowdown under a
# profile request against `cprof cpu`, /metrics latency with 100 processes,
# and bursts of 50 concurrent scrapes (bench/serve_bench.py says how).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/serve.sh [--idle SECONDS] [--reps N] [--parts slowdown,metrics,idle] [--out DIR]
# The full run takes about 12 minutes (10 of them idle); --idle 60 about 3.
set -eu
out=
for a in "$@"; do
	case $a in --out=*) out=${a#--out=} ;; esac
done
prev=
for a in "$@"; do
	[ "$prev" = --out ] && out=$a
	prev=$a
done
if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/cprof-bench-serve.XXXXXX)
	set -- "$@" --out "$out"
fi
mkdir -p "$out"
GOCACHE=${GOCACHE:-$out/gocache} go build -o "$out/goserve" "$(dirname "$0")/goserve.go"
python3 "$(dirname "$0")/serve_bench.py" --goserve "$out/goserve" "$@"
echo "raw measurements in $out/raw.json" >&2
