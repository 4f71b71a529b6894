#!/bin/bash
# Lost samples at 999 Hz with 8 KiB stack copies (issue 10 item 11): a running
# command is profiled N times (--pid) by cprof (and, if CPROF_BASE names
# another build, by that one too, for a before/after) and by `perf record
# --call-graph dwarf,8192`, the runs interleaved, with `yes >/dev/null`
# running beside them. --nice N runs the profilers at that niceness (the
# command stays at 0), as on a machine whose other work leaves the profiler
# little CPU. Per run: samples and samples lost (the ring buffer overflowed).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/lost.sh [--runs N] [--seconds S] [--nice N] [--out DIR] [-- CMD ARG...]
# Defaults: 8 runs of 4 s of `cpuwork-nofp --threads 4`; about 2 minutes.
# Environment: CPROF (default ./cprof), CPROF_BASE (none), PERF (default perf).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need=()
command -v "${PERF:-perf}" >/dev/null 2>&1 || need+=(linux-perf)
install_missing ${need[@]+"${need[@]}"}

bench_at_root
PERF=${PERF:-perf}

cmd=()
pre=()
for a in "$@"; do
	if [ ${#cmd[@]} -gt 0 ] || [ "$a" = -- ]; then cmd+=("$a"); else pre+=("$a"); fi
done
[ ${#cmd[@]} -gt 0 ] && cmd=("${cmd[@]:1}")
parse_out /tmp/cprof-lost.XXXXXX ${pre[@]+"${pre[@]}"}
runs=8 seconds=4 nice=0
set -- ${args[@]+"${args[@]}"}
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--nice) nice=$2; shift 2 ;;
	*) die "unknown option $1 (--runs N, --seconds S, --nice N, --out DIR, -- CMD)" ;;
	esac
done
[ ${#cmd[@]} -gt 0 ] || cmd=(tests/workloads/cpuwork-nofp --threads 4)

yes >/dev/null &
load=$!
"${cmd[@]}" >/dev/null &
pid=$!
trap 'kill $load $pid 2>/dev/null || true' EXIT
sleep 0.5

tools=(cprof)
[ -n "${CPROF_BASE:-}" ] && tools+=(cprof-base)
tools+=(perf)
: >"$out/runs.txt"
for i in $(seq "$runs"); do
	for tool in "${tools[@]}"; do
		case $tool in
		cprof | cprof-base)
			bin=$CPROF
			[ "$tool" = cprof-base ] && bin=$CPROF_BASE
			nice -n "$nice" "$bin" cpu -F 999 --stack-size 8192 --seconds "$seconds" \
				--top 0 -o "$out/c.pb.gz" -p "$pid" >"$out/c.out" 2>&1 || true
			sed -n 's/^Samples: \([0-9]*\), lost: \([0-9]*\),.*/\1 \2/p' "$out/c.out" |
				sed "s/^/$tool /" >>"$out/runs.txt"
			;;
		perf)
			nice -n "$nice" "$PERF" record -q -F 999 --call-graph dwarf,8192 -p "$pid" \
				-o "$out/p.data" -- sleep "$seconds" >/dev/null 2>&1 || true
			n=$("$PERF" report --stats -i "$out/p.data" 2>/dev/null |
				awk '/^ *SAMPLE events:/ {print $3; exit}')
			"$PERF" report -D -i "$out/p.data" 2>/dev/null | grep -a 'PERF_RECORD_LOST' |
				awk -v n="${n:-0}" '{sub(/.*lost:? */, ""); l += $1} END {printf "perf %d %d\n", n, l}' >>"$out/runs.txt"
			;;
		esac
	done
	echo "$bench_name: run $i of $runs" >&2
done

{
	echo "| profiler (999 Hz, 8 KiB stacks, $seconds s, $runs runs, nice $nice: ${cmd[*]}) | samples/run | runs with losses | lost, worst run |"
	echo "|---|---|---|---|"
	awk '{
		k = $1; n[k] += $2; r[k]++; lost = $3
		if (lost) bad[k]++
		if (!(k in worst) || lost / ($2 + lost + 1e-9) > worst[k]) worst[k] = lost / ($2 + lost + 1e-9)
	} END {
		for (k in r) printf "| %s | %.0f | %d of %d | %.2f%% |\n", k, n[k] / r[k], bad[k], r[k], 100 * worst[k]
	}' "$out/runs.txt"
} | tee "$out/results.md"
