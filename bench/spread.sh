#!/bin/bash
# Run-to-run spread of a share (issue 10 item 22): a workload whose rounds all
# have the same length (cpuwork --fixed-rounds, 60/30/10) is profiled N times
# at 99 Hz by cprof (dithered period), cprof with a fixed period
# (CPROF_STEADY_PERIOD=1) and `perf record -F 99 --call-graph dwarf`, the
# three interleaved. For each, work_a's share of the work_a/b/c samples per
# run, the standard deviation observed over the runs, and the one sampling
# chance gives, sqrt(p(1-p)/n) for n samples (each run against its own n):
# a ratio near 1 means the sampler is as good as independent draws; well
# above 1, the fixed period locks onto the rounds (aliasing).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/spread.sh [--runs N] [--seconds S] [--frequency HZ] [--threads T]
#                   [--jittered | --cpu-rounds MS] [--out DIR]
#   bench/spread.sh --summarize --out DIR   (the table again from DIR/runs.txt)
# Defaults: 20 runs of 3 s at 99 Hz, one thread (the main one), about 4
# minutes. --jittered profiles the workload with random round lengths
# instead; --cpu-rounds MS with rounds of exactly MS ms of CPU time each (a
# frame loop; 10.101 is the period at 99 Hz, the worst case).
# Environment: CPROF (default ./cprof), PERF (default perf), CPUWORK (default
# tests/workloads/cpuwork-nofp).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need=()
command -v "${PERF:-perf}" >/dev/null 2>&1 || need+=(linux-perf)
install_missing ${need[@]+"${need[@]}"}

bench_at_root
PERF=${PERF:-perf}
W=${CPUWORK:-tests/workloads/cpuwork-nofp}
[ -x "$W" ] || die "$W not found: build the test workloads (make -j2 check TESTS=)"

parse_out /tmp/cprof-spread.XXXXXX "$@"
runs=20 seconds=3 hz=99 threads=0 shape=--fixed-rounds summarize=
set -- ${args[@]+"${args[@]}"}
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--frequency) hz=$2; shift 2 ;;
	--summarize) summarize=1; shift ;;
	--jittered) shape=; shift ;;
	--cpu-rounds) shape="--cpu-rounds $2"; shift 2 ;;
	*) die "unknown option $1 (--runs N, --seconds S, --frequency HZ, --threads T, --jittered, --cpu-rounds MS, --out DIR)" ;;
	esac
done

if [ -n "$summarize" ]; then
	[ -s "$out/runs.txt" ] || die "no $out/runs.txt to summarize"
	read -r hz seconds runs threads shape <"$out/params"
else
echo "$hz $seconds $runs $threads $shape" >"$out/params"
"$W" $shape --threads "$threads" --seconds $((runs * seconds * 5 + 60)) &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.5

# cprof_shares FILE: "a b c n": work_a/b/c's percent and the samples of the three.
cprof_shares() {
	"$CPROF" report --top 0 "$1" >"$out/top"
	total=$("$CPROF" report --folded --sample-index samples "$1" | awk '{n += $NF} END {print n}')
	awk -v t="$total" '$6 ~ /^work_[abc]$/ {sub("%", "", $2); s[$6] = $2}
		END {print s["work_a"] + 0, s["work_b"] + 0, s["work_c"] + 0,
			int(t * (s["work_a"] + s["work_b"] + s["work_c"]) / 100 + 0.5)}' "$out/top"
}

# perf_shares FILE: the same from perf's own report.
perf_shares() {
	"$PERF" report -i "$1" -n --stdio --no-children --sort sym -g none 2>/dev/null |
		awk '$NF ~ /^work_[abc]$/ {s[$NF] = $2} END {
			n = s["work_a"] + s["work_b"] + s["work_c"]
			printf "%.2f %.2f %.2f %d\n", 100 * s["work_a"] / n, 100 * s["work_b"] / n,
				100 * s["work_c"] / n, n}'
}

: >"$out/runs.txt"
for i in $(seq "$runs"); do
	"$CPROF" cpu -p "$pid" -F "$hz" --seconds "$seconds" --top 0 -o "$out/d.pb.gz" >/dev/null 2>&1
	echo "cprof-dithered $(cprof_shares "$out/d.pb.gz")" >>"$out/runs.txt"
	CPROF_STEADY_PERIOD=1 "$CPROF" cpu -p "$pid" -F "$hz" --seconds "$seconds" --top 0 \
		-o "$out/s.pb.gz" >/dev/null 2>&1
	echo "cprof-fixed $(cprof_shares "$out/s.pb.gz")" >>"$out/runs.txt"
	"$PERF" record -q -F "$hz" --call-graph dwarf -p "$pid" -o "$out/perf.data" -- \
		sleep "$seconds" >/dev/null 2>&1
	echo "perf $(perf_shares "$out/perf.data")" >>"$out/runs.txt"
	echo "$bench_name: run $i of $runs" >&2
done
fi

{
	echo "| sampler ($hz Hz, ${seconds} s, $runs runs, cpuwork ${shape:-jittered} --threads $threads) | work_a mean | samples/run | observed SD | binomial SE | observed/expected |"
	echo "|---|---|---|---|---|---|"
	# The samples per run vary with the machine's load: each run's deviation
	# is measured in its own standard error, sqrt(p(1-p)/n), and the ratio is
	# the root mean square of those (1 for independent draws); the SE column
	# is the one of the mean samples per run.
	awk '{
		k = $1; a[k, ++r[k]] = $2 * 100 / ($2 + $3 + $4); n[k, r[k]] = $5
		m[k] += a[k, r[k]]; ns[k] += $5
	} END {
		split("cprof-dithered cprof-fixed perf", ks, " ")
		for (j = 1; j <= 3; j++) {
			k = ks[j]; mean = m[k] / r[k]; p = mean / 100; q = 0; z = 0
			for (i = 1; i <= r[k]; i++) {
				q += (a[k, i] - mean) ^ 2
				z += (a[k, i] - mean) ^ 2 / (1e4 * p * (1 - p) / n[k, i])
			}
			printf "| %s | %.2f%% | %.0f | %.2f | %.2f | %.2f |\n", k, mean, ns[k] / r[k],
				sqrt(q / (r[k] - 1)), 100 * sqrt(p * (1 - p) / (ns[k] / r[k])),
				sqrt(z / (r[k] - 1))
		}
	}' "$out/runs.txt"
} | tee "$out/results.md"
echo "$bench_name: per-run shares in $out/runs.txt" >&2
