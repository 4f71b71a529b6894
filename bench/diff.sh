#!/bin/bash
# cprof diff benchmark (issue 5 item 4): two synthetic profiles of a million
# samples each, with many distinct stacks, diffed by `cprof diff` (and with
# --output), beside `cprof report --top` / `--flame` of one of them and
# `go tool pprof -top -diff_base` on the same pair, in one run, repeated.
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/diff.sh [--quick] [--reps N] [--stress-reps N] [--no-go] [--out DIR]
# The full run takes about 11 minutes (most of it go tool pprof), --quick
# (2 repetitions, no 1M-stack pair) about 3. Markdown tables go to standard
# output and DIR/results.md, raw measurements to DIR/raw.json.
# Environment: CPROF (default ./cprof; copied to DIR first), CPROF_SRC (the
# built tree whose lib/libcprof.a and config.h the generator links; default
# the repository root), GO (default go), CPROF_COMMIT (what to record as
# cprof's version; default: git describe of the work tree).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need=()
[ -x /usr/bin/time ] || need+=(time)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
install_missing ${need[@]+"${need[@]}"}

cd "$(dirname "$0")/.."
CPROF=${CPROF:-./cprof}
SRC=${CPROF_SRC:-.}
[ -x "$CPROF" ] || die "$CPROF not found: build first (make -j2 && make -j2 check TESTS=)"

parse_out /tmp/cprof-bench-diff.XXXXXX "$@"

build_gen "$SRC" "$out"
cp "$CPROF" "$out/cprof"

exec /usr/bin/python3 bench/diff_bench.py --cprof "$out/cprof" --gen "$out/gen_profile" \
	--go "${GO:-go}" --out "$out" ${args[@]+"${args[@]}"}
