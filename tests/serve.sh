#!/bin/sh
# `cprof serve` with real clients on loopback: go tool pprof reads a CPU
# profile of the suite's CPU workload over HTTP with its 60:30:10 shares, and
# a thread dump; curl reads the text dumps, cmdline and the index; a real
# Prometheus, with a bearer token, scrapes /metrics and sees the thread count
# of a workload change on cue, and promtool finds the page well-formed;
# --heap serves a heap profile and heap metrics; --allow-uid serves another
# user's processes and no others. Refusals: a non-loopback address without a
# token (exit 2), a wrong token (401), a process not served (403), a second
# profile of one process (429), seconds over the cap and bad parameters
# (400), unknown paths (404). SIGTERM ends a profile in flight early and
# SIGKILL mid-profile leaves the target running, untraced.
. "$top_srcdir/tests/lib.sh"
need_perf_events

W=$top_builddir/tests/workloads
for tool in curl prometheus promtool go python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "FAIL: $tool is missing: run scripts/install-deps"; exit 1; }
done
# go tool pprof keeps what it fetches under $PPROF_TMPDIR; Go needs a cache.
PPROF_TMPDIR=$T/pprof
GOCACHE=${GOCACHE:-$T/gocache}
HOME=${HOME:-$T}
export PPROF_TMPDIR GOCACHE HOME

serve_pid=
cleanup() {
	for p in $serve_pid ${prom_pid:-} ${work_pids:-}; do kill -KILL "$p" 2>/dev/null || :; done
	rm -rf "$T"
}
trap cleanup EXIT

# start_serve ARGS...: cprof serve on a free loopback port, its log in
# $T/serve.log; sets serve_pid and URL.
start_serve() {
	# The log of the last server is kept apart: its first line would do for this one's.
	[ -f "$T/serve.log" ] && mv "$T/serve.log" "$T/serve.log.old"
	"$CPROF" serve --listen 127.0.0.1:0 "$@" 2>"$T/serve.log" &
	serve_pid=$!
	ok
	wait_until 20 grep -qs '^cprof: serving' "$T/serve.log" ||
		{ fail "cprof serve $* did not start:"; cat "$T/serve.log" >&2; }
	URL=http://$(sed -n 's|^cprof: serving .* on http://\([^/]*\)/debug/pprof/.*|\1|p' "$T/serve.log")
}

stop_serve() {
	kill -TERM "$serve_pid" 2>/dev/null
	wait "$serve_pid" 2>/dev/null || true
	serve_pid=
}

# get PATH [CURL-ARGS...]: the body into $T/body, the status into $status.
get() {
	_path=$1
	shift
	status=$(curl -s --max-time 60 -o "$T/body" -w '%{http_code}' "$@" "$URL$_path") || :
}

# expect_status CODE PATH [CURL-ARGS...]
expect_status() {
	_want=$1
	shift
	get "$@"
	ok
	[ "$status" = "$_want" ] || { fail "GET $1: status $status, expected $_want:"; head -3 "$T/body" >&2; }
}

# profiling: serve has a perf event open (a CPU profile has begun).
profiling() {
	ls -l /proc/"$serve_pid"/fd 2>/dev/null | grep -q 'anon_inode:\[perf_event\]'
}

# pprof_share FILE NAME: NAME's flat% in a go tool pprof -top listing.
pprof_share() {
	awk -v n="$2" '$6 == n {sub(/%/, "", $2); print $2; exit}' "$1"
}

near() {
	ok
	awk -v v="${1:-x}" -v w="$2" -v t="$3" 'BEGIN {exit !(v != "x" && v - w <= t && w - v <= t)}' ||
		fail "$4: ${1:-missing}%, expected $2 +- $3"
}

# --- A CPU profile over HTTP, read by go tool pprof: 60:30:10. With one
# --pid, the bare path needs no pid; the /pid/P/ tree and ?pid= are the same.
"$W/cpuwork-fp" --seconds 300 >/dev/null &
cpu=$!
work_pids=$cpu
start_serve --pid "$cpu"
ok
go tool pprof -top "$URL/debug/pprof/profile?seconds=4&pid=$cpu" >"$T/top" 2>"$T/top.err" ||
	{ fail "go tool pprof over HTTP failed:"; cat "$T/top.err" >&2; }
a=$(pprof_share "$T/top" work_a)
b=$(pprof_share "$T/top" work_b)
c=$(pprof_share "$T/top" work_c)
sum=$(awk -v a="${a:-0}" -v b="${b:-0}" -v c="${c:-0}" 'BEGIN {print a + b + c}')
ok
awk -v s="$sum" 'BEGIN {exit !(s >= 90)}' || fail "work_a/b/c have only $sum% of the profile"
# About 400 samples: five standard errors of a 60% share are 12 points.
near "$(awk -v x="${a:-0}" -v s="$sum" 'BEGIN {printf "%.2f", 100 * x / s}')" 60 12 "work_a"
near "$(awk -v x="${b:-0}" -v s="$sum" 'BEGIN {printf "%.2f", 100 * x / s}')" 30 11 "work_b"
near "$(awk -v x="${c:-0}" -v s="$sum" 'BEGIN {printf "%.2f", 100 * x / s}')" 10 8 "work_c"
expect_grep '^Duration: 4(\.[0-9]+)?s' "$T/top"
# The line is written once the reply is sent, which pprof may not wait for.
logged() { grep -Eq -- "$1" "$T/serve.log"; }
ok
wait_until 10 logged "GET /debug/pprof/profile\?(seconds=4&pid=$cpu|pid=$cpu&seconds=4) 200 [0-9]+ [0-9.]+s$" ||
	fail "no log line of the profile request:$(sed 's/^/ | /' "$T/serve.log")"
expect_grep '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z 127\.0\.0\.1:[0-9]+ GET ' "$T/serve.log"

# cprof report and cprof diff take the URL as go tool pprof does.
# (4 seconds: 6 to answer, go tool pprof's rule; cprof symbolizes after sampling.)
expect_exit 0 "$CPROF" report --top 3 "$URL/debug/pprof/profile?seconds=4"
expect_grep "^Fetching profile over HTTP from $URL/debug/pprof/profile\?seconds=4$" "$T/err"
expect_grep ' work_a \(' "$T/out"
saved=$(ls "$PPROF_TMPDIR"/*.pb.gz | head -1)
expect_exit 0 "$CPROF" diff "$saved" "$URL/pid/$cpu/debug/pprof/profile?seconds=4"
# (4s asked; a loaded machine's timer ends it a few milliseconds late.)
expect_grep '^New  http://.*: total .* in 4(\.0[0-9])?s,' "$T/out"
expect_exit 1 "$CPROF" report "$URL/debug/pprof/profile?seconds=100000"
expect_grep "^cprof: cannot fetch $URL/debug/pprof/profile\?seconds=100000: HTTP 400: bad seconds" "$T/err"
expect_exit 1 "$CPROF" report "$URL/debug/pprof/"
expect_grep 'not a pprof protobuf profile' "$T/err"

# Go's block profile path: an off-CPU profile of the same seconds.
expect_exit 0 "$CPROF" report --top 3 "$URL/debug/pprof/block?seconds=2"
expect_grep '^Type: delay$' "$T/out"
expect_grep '^Duration: 2' "$T/out"
go tool pprof -raw "$URL/debug/pprof/block?seconds=1" >"$T/raw" 2>"$T/raw.err" ||
	{ fail "go tool pprof of block failed:"; cat "$T/raw.err" >&2; }
expect_grep '^ *contentions/count delay/nanoseconds' "$T/raw"
# A server that never answers: given up after 1.5 times the seconds asked for.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$T/mute-port" &
mute=$!
work_pids="$work_pids $mute"
ok
wait_until 10 test -s "$T/mute-port" || fail "the mute server did not start"
expect_exit 1 "$CPROF" report "http://127.0.0.1:$(cat "$T/mute-port")/debug/pprof/profile?seconds=2"
expect_grep 'no answer within 3 seconds$' "$T/err"
kill "$mute"

expect_status 200 /pid/$cpu/debug/pprof/cmdline
tr '\0' ' ' </proc/$cpu/cmdline | sed 's/ $//' >"$T/cmdline.want"
tr '\0' ' ' <"$T/body" >"$T/cmdline.got"
ok
[ "$(cat "$T/cmdline.got")" = "$(cat "$T/cmdline.want")" ] ||
	fail "cmdline: '$(cat "$T/cmdline.got")', expected '$(cat "$T/cmdline.want")'"
expect_status 200 /debug/pprof/
expect_grep "<td>$cpu</td>" "$T/body"
expect_grep "href=\"/pid/$cpu/debug/pprof/profile\?seconds=30\"" "$T/body"
expect_status 301 /debug/pprof
expect_status 301 /pid/$cpu/debug/pprof
get /debug/pprof -D "$T/headers"
expect_grep '^Location: /debug/pprof/' "$T/headers"

# --- Refusals, each a 4xx with one line, the server running on.
"$W/cpuwork-fp" --seconds 300 >/dev/null &
other=$!
work_pids="$work_pids $other"
expect_status 403 "/debug/pprof/profile?seconds=1&pid=$other"
expect_grep "^process $other is not served" "$T/body"
expect_status 400 "/debug/pprof/profile?seconds=100000"
expect_grep '^bad seconds .100000.: a whole number from 1 to 60' "$T/body"
expect_status 400 "/debug/pprof/threads?debug=7"
expect_status 400 "/debug/pprof/threads?pid=abc"
expect_status 400 "/debug/pprof/threads?seconds=3"
expect_status 400 "/debug/pprof/cmdline?pid=%zz"
expect_status 400 "/pid/$cpu/debug/pprof/cmdline?pid=$other"
expect_status 404 /debug/pprof/nonesuch
expect_status 404 /etc/passwd
expect_status 404 "/pid/abc/debug/pprof/"
expect_status 404 /debug/pprof/heap
expect_grep '^no heap profile of process' "$T/body"
expect_status 405 /debug/pprof/ -X DELETE
expect_status 405 /debug/pprof/profile -I
# Without a token, only requests for a loopback name (DNS rebinding).
expect_status 403 /metrics -H "Host: attacker.example:80"
expect_grep '^Host is not a loopback name' "$T/body"
expect_status 200 /metrics -H "Host: localhost:6060"
head -c 100000 /dev/zero >"$T/big"
expect_status 413 /debug/pprof/symbol -X POST --data-binary "@$T/big"
get "/debug/pprof/$(head -c 5000 /dev/zero | tr '\0' a)"
ok
case $status in 414 | 431) ;; *) fail "a 5000-byte target: status $status, expected 414 or 431" ;; esac
expect_status 200 /debug/pprof/symbol
expect_grep '^num_symbols: 0$' "$T/body"
expect_status 200 /debug/pprof/symbol -X POST --data '0x401000+0x401010'
# A second CPU profile of the process while one runs: 429 with Retry-After.
curl -s -o "$T/first.pb.gz" -w '%{http_code}' "$URL/debug/pprof/profile?seconds=5" >"$T/first.status" &
first=$!
ok
wait_until 20 profiling || fail "the first profile did not begin"
get "/debug/pprof/profile?seconds=1" -D "$T/headers"
ok
[ "$status" = 429 ] || fail "a second profile of one process: status $status, expected 429"
expect_grep '^Retry-After: [1-9]' "$T/headers"
expect_status 403 "/debug/pprof/profile?seconds=1&pid=$other"
wait "$first" || :
expect_eq "$(cat "$T/first.status")" 200 "the first profile, beside the refused one"
expect_grep "GET /debug/pprof/profile\?seconds=1 429 " "$T/serve.log"
expect_exit 0 kill -0 "$serve_pid"
# A second server on its port: one line with the reason.
expect_exit 1 "$CPROF" serve --listen "${URL#http://}" --pid "$cpu"
expect_lines 1 "$T/err"
expect_grep "^cprof: cannot listen on 127.0.0.1 port ${URL##*:}: Address already in use$" "$T/err"
stop_serve

# Refused at the start.
expect_exit 2 "$CPROF" serve --listen 0.0.0.0:0 --pid "$cpu"
expect_grep 'reachable from other machines: give --token-file' "$T/err"
expect_exit 2 "$CPROF" serve
expect_grep 'nothing to serve' "$T/err"
expect_exit 2 "$CPROF" serve --listen 127.0.0.1 --pid "$cpu"
expect_exit 2 "$CPROF" serve --listen 127.0.0.1:99999 --pid "$cpu"
expect_exit 2 "$CPROF" serve --listen '[::1:0' --pid "$cpu"
expect_grep "^cprof: bad address '\\[::1:0': " "$T/err"
expect_exit 1 "$CPROF" serve --listen 127.0.0.1:0 --pid "$cpu" --token-file /dev/null
expect_grep '^cprof: token file /dev/null is not a regular file$' "$T/err"
expect_exit 1 "$CPROF" serve --listen 127.0.0.1:0 --pid 999999999
expect_grep 'no such process' "$T/err"
printf 'sesame\n' >"$T/open-token"
chmod 644 "$T/open-token"
expect_exit 1 "$CPROF" serve --listen 127.0.0.1:0 --pid "$cpu" --token-file "$T/open-token"
expect_grep 'readable or writable by others: chmod o-rw' "$T/err"

# --- SIGTERM mid-profile: the profile ends early, is sent whole, and the
# server exits 0 at once; SIGKILL mid-profile: the target runs on, untraced.
start_serve --pid "$cpu"
curl -s -o "$T/early.pb.gz" -w '%{http_code}' "$URL/debug/pprof/profile?seconds=30" >"$T/early.status" &
early=$!
ok
wait_until 20 profiling || fail "the profile to end by SIGTERM did not begin"
kill -TERM "$serve_pid"
ok
wait_until 10 sh -c "! kill -0 $serve_pid 2>/dev/null" || fail "serve did not stop within 10 s of SIGTERM"
wait "$serve_pid"
expect_eq "$?" 0 "serve's exit status after SIGTERM"
serve_pid=
wait "$early" || :
expect_eq "$(cat "$T/early.status")" 200 "a profile ended by SIGTERM"
expect_exit 0 "$CPROF" report --top 3 "$T/early.pb.gz"
untraced "$cpu"
start_serve --pid "$cpu"
curl -s -o /dev/null "$URL/debug/pprof/profile?seconds=30" &
killed=$!
ok
wait_until 20 profiling || fail "the profile to end by SIGKILL did not begin"
kill -KILL "$serve_pid"
wait "$serve_pid" 2>/dev/null || :
serve_pid=
wait "$killed" || :
untraced "$cpu"
ok
[ "$(state "$cpu")" = R ] || [ "$(state "$cpu")" = S ] || fail "cpuwork is $(state "$cpu") after serve was killed"

# --- A profile of 1,100 threads holds over 1,024 perf fds: requests meanwhile
# are still answered (a server on select() drops sockets past FD_SETSIZE).
"$W/threadwork" --idle 1100 --seconds 120 >/dev/null &
many=$!
work_pids="$work_pids $many"
ok
wait_until 30 has_threads "$many" 1101 || fail "threadwork did not start 1,100 threads"
start_serve --pid "$many"
curl -s -o /dev/null -w '%{http_code}' "$URL/debug/pprof/profile?seconds=4" >"$T/many.status" &
manyc=$!
fds_over() { [ "$(ls /proc/"$serve_pid"/fd 2>/dev/null | wc -l)" -gt 1100 ]; }
ok
wait_until 20 fds_over || fail "serve never held over 1,100 fds while profiling 1,100 threads"
expect_status 200 /metrics
expect_grep "^process_threads\{pid=\"$many\",comm=\"threadwork\"\} 1101$" "$T/body"
wait "$manyc" || :
expect_eq "$(cat "$T/many.status")" 200 "the profile of 1,100 threads"
stop_serve
kill "$many"

# --- Thread dumps, and Prometheus scraping /metrics with a token; the
# workload adds two threads at each SIGHUP.
"$W/threadwork" --pool 3 --grow-on-hup 2 --seconds 300 >/dev/null &
tp=$!
work_pids="$work_pids $tp"
settle "$tp" 4
umask 077
printf 'cprof-test-token-%s\n' "$$" >"$T/token"
start_serve --pid "$tp" --token-file "$T/token"
expect_status 401 /metrics
get /metrics -D "$T/headers"
expect_grep '^WWW-Authenticate: Bearer' "$T/headers"
expect_status 401 /metrics -H "Authorization: Bearer wrong"
expect_status 401 /metrics -H "Authorization: Bearer $(cat "$T/token")x"
auth="Authorization: Bearer $(cat "$T/token")"
expect_status 200 /metrics -H "$auth"
expect_grep "^process_threads\{pid=\"$tp\",comm=\"threadwork\"\} 4$" "$T/body"
expect_grep '^# TYPE process_cpu_seconds_total counter$' "$T/body"
expect_grep "^process_context_switches_total\{pid=\"$tp\",comm=\"threadwork\",ctxswitchtype=\"voluntary\"\} [0-9]+$" "$T/body"
ok
promtool check metrics <"$T/body" >"$T/lint" 2>&1 || { fail "promtool check metrics:"; cat "$T/lint" >&2; }

expect_status 200 "/debug/pprof/threads?debug=1" -H "$auth"
expect_grep "^Process $tp \(.*threadwork.*\): 4 threads in 2 groups$" "$T/body"
expect_grep '^3 threads +S×3 +pool-0, pool-1, pool-2$' "$T/body"
expect_grep '^    pool_worker \(.*threadwork\.c:[0-9]+\)$' "$T/body"
expect_status 200 "/pid/$tp/debug/pprof/goroutine?debug=2" -H "$auth"
expect_grep 'pool-2' "$T/body"
expect_status 200 /debug/pprof/goroutine -H "$auth"
cp "$T/body" "$T/threads.pb.gz"
ok
go tool pprof -top "$T/threads.pb.gz" >"$T/ttop" 2>&1 || { fail "go tool pprof cannot read threads:"; cat "$T/ttop" >&2; }
expect_grep '^Type: threads$' "$T/ttop"
expect_grep ' 3 +75(\.00)?% .* pool_worker$' "$T/ttop"
untraced "$tp"

ppp=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: cprof
    authorization:
      credentials_file: $T/token
    static_configs:
      - targets: ['${URL#http://}']
EOF
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$ppp" --log.level=warn >"$T/prom.log" 2>&1 &
prom_pid=$!
# promql QUERY: the value of the first series QUERY returns, or nothing.
promql() {
	curl -s -G "http://127.0.0.1:$ppp/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
threads_are() { [ "$(promql "process_threads{pid=\"$tp\"}")" = "$1" ]; }
ok
wait_until 60 threads_are 4 ||
	{ fail "Prometheus never saw 4 threads (it says '$(promql "process_threads{pid=\"$tp\"}")'):"; tail -5 "$T/prom.log" >&2; }
kill -HUP "$tp"
ok
wait_until 30 threads_are 6 || fail "Prometheus never saw the 6 threads after SIGHUP (it says '$(promql "process_threads{pid=\"$tp\"}")')"
ok
[ "$(promql "up{job=\"cprof\"}")" = 1 ] || fail "Prometheus's scrape of cprof serve is not up"
kill -TERM "$prom_pid"
wait "$prom_pid" 2>/dev/null || :
prom_pid=
expect_grep 'GET /metrics 200 ' "$T/serve.log"
expect_grep 'GET /metrics 401 ' "$T/serve.log"
stop_serve
untraced "$tp"

# --- --heap: the heap library in a running service, served as a profile
# and as metrics, and taken out again when serve stops.
"$W/heapwork" --serve 3000 >"$T/heapwork.out" &
hp=$!
work_pids="$work_pids $hp"
ok
wait_until 20 has_threads "$hp" 2 ||
	fail "heapwork --serve did not start its thread"
# At 16 KiB between samples, the 8 KiB a round keeps make 50 samples a second.
start_serve --pid "$hp" --heap --rate 16384
heap_seen() {
	get /metrics
	grep -Eq "^cprof_heap_inuse_bytes\{pid=\"$hp\",comm=\"heapwork\"\} [1-9][0-9]*$" "$T/body"
}
ok
wait_until 20 heap_seen || fail "no heap in use in /metrics after 20 s"
go tool pprof -top -sample_index=inuse_space "$URL/debug/pprof/heap" >"$T/htop" 2>&1 ||
	{ fail "go tool pprof over HTTP (heap) failed:"; cat "$T/htop" >&2; }
expect_grep '^Type: inuse_space$' "$T/htop"
expect_grep ' leak_site$' "$T/htop"
expect_status 200 /debug/pprof/allocs
cp "$T/body" "$T/allocs.pb.gz"
go tool pprof -top "$T/allocs.pb.gz" >"$T/atop" 2>&1 || :
expect_grep '^Type: alloc_space$' "$T/atop"
expect_status 200 /metrics
expect_grep "^cprof_heap_inuse_objects\{pid=\"$hp\",comm=\"heapwork\"\} [1-9][0-9]*$" "$T/body"
stop_serve
ok
[ "$("$top_builddir/tests/gotcheck" "$hp" libcprof-heap)" = 0 ] || fail "heap hooks left in heapwork after serve stopped"
wait "$hp"
expect_grep '^heapwork: 3000 rounds, 0 errors$' "$T/heapwork.out"

# --- --allow-uid: another user's processes are served, by pid, and no others.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$W/threadwork" --pool 2 --seconds 300 >/dev/null &
	np=$!
	work_pids="$work_pids $np"
	settle "$np" 3
	start_serve --allow-uid 65534
	expect_status 400 /debug/pprof/threads?debug=1
	expect_grep '^give pid=PID' "$T/body"
	expect_status 200 "/debug/pprof/threads?debug=1&pid=$np"
	expect_grep '^2 threads +S×2 +pool-0, pool-1$' "$T/body"
	expect_status 403 "/debug/pprof/threads?debug=1&pid=$cpu"
	expect_status 200 /metrics
	expect_grep "^process_threads\{pid=\"$np\",comm=\"threadwork\"\} 3$" "$T/body"
	expect_no_grep "pid=\"$cpu\"" "$T/body"
	expect_status 200 /debug/pprof/
	expect_grep "<td>$np</td>" "$T/body"
	stop_serve
	untraced "$np"
else
	echo "serve.sh: --allow-uid part skipped: it needs root and setpriv to run a workload as nobody"
fi

untraced "$cpu"
untraced "$other"
finish
