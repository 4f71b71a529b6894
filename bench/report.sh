#!/bin/bash
# cprof report benchmark (issue 16): `cprof report` and `go tool pprof` on the
# same million-sample profile for --top, --list, --peek and --tags, and on a
# merge of ten profiles, side by side in one run, repeated: wall time, CPU and
# peak memory, and their ratios.
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/report.sh [--quick] [--reps N] [--out DIR]
# The full run (5 repetitions) takes about 6 minutes, --quick (2) about 3.
# Markdown tables go to standard output and DIR/results.md, raw measurements
# to DIR/raw.json.
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

bench_at_root
SRC=${CPROF_SRC:-.}
command -v "${GO:-go}" >/dev/null 2>&1 || die "go is not installed (scripts/install-deps)"

parse_out /tmp/cprof-bench-report.XXXXXX "$@"

build_gen "$SRC" "$out"
cp "$CPROF" "$out/cprof"

exec /usr/bin/python3 bench/report_bench.py --cprof "$out/cprof" --gen "$out/gen_profile" \
	--go "${GO:-go}" --out "$out" ${args[@]+"${args[@]}"}
