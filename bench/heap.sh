#!/bin/bash
# cprof heap benchmark (issue 12): the target's slowdown and extra memory under
# `cprof heap` at the default rate, side by side in one run with heaptrack and
# with jemalloc's profiler (LD_PRELOAD=libjemalloc.so.2,
# MALLOC_CONF=prof:true,lg_prof_sample:19), on an allocation-heavy workload
# (bench/heaploop.c: two threads of malloc and free flat out, 512 MiB kept),
# sqlite3 loading a table and CPython building dicts; the accuracy of
# inuse_space against the bytes heaploop holds; the top 5 sites against
# heaptrack's; and the time `cprof heap --pid` takes to load and to detach,
# and holds a thread.
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/heap.sh [--quick] [--reps N] [--attach-reps N] [--out DIR]
# Full mode takes about 8 minutes, --quick about 2. Markdown tables go to
# standard output and DIR/results.md, raw measurements to DIR/raw.json.
# Environment: CPROF (default ./cprof).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need=()
[ -x /usr/bin/python3 ] || need+=(python3)
command -v heaptrack >/dev/null 2>&1 || need+=(heaptrack)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
[ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || need+=(libjemalloc2)
command -v cc >/dev/null 2>&1 || need+=(gcc)
install_missing ${need[@]+"${need[@]}"}

bench_at_root
[ -e libcprof-heap.so ] || die "libcprof-heap.so not found next to $CPROF: build first"
parse_out /tmp/cprof-bench-heap.XXXXXX "$@"

cc -O2 -g -pthread -o "$out/heaploop" bench/heaploop.c || die "could not build bench/heaploop.c"
cc -O2 -shared -fPIC -o "$out/timing-shim.so" bench/timing-shim.c ||
	die "could not build bench/timing-shim.c"

exec /usr/bin/python3 bench/heap_bench.py --cprof "$CPROF" --heaploop "$out/heaploop" \
	--shim "$out/timing-shim.so" --out "$out" ${args[@]+"${args[@]}"}
