#!/bin/sh
# cprof's own memory over a long profile: `cprof cpu` at 999 Hz on a target
# with 100 busy threads for SECONDS (default 600), its RSS read every 10 s.
# The RSS must stay flat after warm-up (the first minute): new samples only
# add counts to stacks already seen. Run from the source tree after a build
# (make check TESTS= builds the workload). Prints a table and a verdict.
set -eu
seconds=${1:-600}
cd "$(dirname "$0")/.."
W=tests/workloads/cpuwork-nofp
[ -x "$W" ] || make -s "$W"
out=$(mktemp -d)
trap 'kill "$target" "$cp" 2>/dev/null; rm -rf "$out"' EXIT
"$W" --threads 100 &
target=$!
sleep 1
./cprof cpu --pid "$target" -F 999 --seconds "$seconds" -o "$out/p.pb.gz" >"$out/cprof.out" 2>&1 &
cp=$!
echo "# cprof cpu -F 999 --pid (100 busy threads) for ${seconds}s: RSS of cprof"
echo "| elapsed | RSS (KiB) |"
echo "| ---: | ---: |"
t=0
while kill -0 "$cp" 2>/dev/null; do
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$cp/status" 2>/dev/null || true)
	[ -n "$rss" ] && echo "| ${t}s | $rss |" && echo "$t $rss" >>"$out/rss"
	sleep 10
	t=$((t + 10))
done
wait "$cp" || true
grep -E '^(Samples|Wrote)' "$out/cprof.out" || cat "$out/cprof.out"
awk 'NR == 1 {first = $2} $1 >= 60 && !warm {warm = $2} {last = $2; if ($2 > max) max = $2}
	END {printf "RSS: %d KiB at start, %d KiB after warm-up (60 s), %d KiB at the end, %d KiB at most; growth after warm-up %+.1f%%\n",
		first, warm, last, max, warm ? 100 * (last - warm) / warm : 0}' "$out/rss"
