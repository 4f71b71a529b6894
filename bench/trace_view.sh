#!/bin/sh
# How large a cprof trace file a browser opens, for --max-events' default
# (issue 17): traces of waitwork's ping-pong at 100,000 switch-outs a second
# (--no-stacks) capped at 30,000 to 1,000,000 intervals, each loaded by
# speedscope (npm's, as tests/speedscope.sh serves it on loopback) in
# headless Chromium, timed until the page has the file's title, up to 300 s.
# Needs chromium and speedscope (scripts/install-deps).
#
# Usage, from the repository root after `make && make check TESTS=`:
#   bench/trace_view.sh [--quick] [--out DIR]   (about 8 minutes; --quick: to 200,000)
set -eu
out=$(mktemp -d /tmp/cprof-bench-view.XXXXXX)
sizes="30000 100000 200000 300000 1000000"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) sizes="30000 100000 200000" ;;
	--out) out=$2; shift ;;
	*) echo "usage: bench/trace_view.sh [--quick] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
release=${SPEEDSCOPE_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/cprof/speedscope}/node_modules/speedscope/dist/release
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] && [ -f "$release/index.html" ] ||
	{ echo "bench/trace_view.sh: chromium and speedscope are needed: scripts/install-deps" >&2; exit 1; }
mkdir -p "$out/www"
cp -R "$release/." "$out/www/"
port=$((20000 + $$ % 20000))
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$out/www" >"$out/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
echo "Date: $(date -u); $(nproc) CPUs; $("$chromium" --version 2>/dev/null)"
echo
echo "| intervals | file | speedscope opens it in |"
echo "| ---: | ---: | ---: |"
for n in $sizes; do
	./cprof trace --no-stacks --max-events "$n" --seconds 12 --top 0 -o "$out/www/t$n.json" -- \
		taskset -c 0 tests/workloads/waitwork --switches 100000 --seconds 12 --pin \
		>"$out/t$n.out" 2>&1
	start=$(date +%s.%N)
	timeout 300 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$out/chrome-$n" --window-size=1200,800 --virtual-time-budget=300000 \
		--dump-dom "http://127.0.0.1:$port/index.html#profileURL=t$n.json" \
		>"$out/t$n.html" 2>"$out/t$n.chrome.log" || true
	end=$(date +%s.%N)
	if grep -q "<title>t$n.json - speedscope</title>" "$out/t$n.html"; then
		took=$(echo "$end - $start" | bc | awk '{ printf "%.1f s", $1 }')
	else
		took="not in 300 s"
	fi
	echo "| $n | $(du -h "$out/www/t$n.json" | cut -f1) | $took |"
done
