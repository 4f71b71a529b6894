#!/bin/sh
# `cprof threads` against the suite's thread workload: the dump groups a
# fixed pool, --watch flags a steady leak beside churn and a pool and flags
# nothing in a process whose threads only come and go, signals are not lost,
# and the target runs on untraced, even after cprof is SIGKILLed mid-watch.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads/threadwork


# The one-shot dump: the pool is one group of four, with its stack.
"$W" --pool 4 --seconds 60 >"$T/pool.out" &
pid=$!
settle "$pid" 5
expect_exit 0 "$CPROF" threads --pid "$pid"
expect_grep "^Process $pid \(.*threadwork.*\): 5 threads in 2 groups$" "$T/out"
expect_grep '^Each thread was held stopped for (0|[0-9.]+(ns|us|ms|s)) at the median and (0|[0-9.]+(ns|us|ms|s)) at most; (0|[0-9.]+(ns|us|ms|s)) in all \(the snapshot took (0|[0-9.]+(ns|us|ms|s))\)$' "$T/out"
expect_grep '^Wait to stop \(the thread ran on, or waited for a CPU\): (0|[0-9.]+(ns|us|ms|s)) at the median and (0|[0-9.]+(ns|us|ms|s)) at most; (0|[0-9.]+(ns|us|ms|s)) in all$' "$T/out"
# The figures agree: median <= longest <= all, and the time held plus the
# waits to stop fit in the snapshot (each thread's interrupt to its release;
# 1% for the printed rounding).
ns() { awk -v d="$1" 'BEGIN { u = d; sub(/^[0-9.]+/, "", u);
	m = u == "s" ? 1e9 : u == "ms" ? 1e6 : u == "us" ? 1e3 : 1; printf "%.0f\n", (d + 0) * m }'; }
consistent() {
	_file=$1
	set -- $(sed -n 's/^Each thread was held stopped for \([^ ]*\) at the median and \([^ ]*\) at most; \([^ ]*\) in all (the snapshot took \([^ ]*\))$/\1 \2 \3 \4/p' "$1") \
		$(sed -n 's/^Wait to stop ([^)]*): \([^ ]*\) at the median and \([^ ]*\) at most; \([^ ]*\) in all$/\1 \2 \3/p' "$1")
	ok
	[ $# -eq 7 ] || { fail "no stop figures in $_file"; return; }
	hm=$(ns "$1") hx=$(ns "$2") ha=$(ns "$3") el=$(ns "$4") wm=$(ns "$5") wx=$(ns "$6") wa=$(ns "$7")
	[ "$hm" -le "$hx" ] && [ "$hx" -le "$ha" ] && [ "$wm" -le "$wx" ] && [ "$wx" -le "$wa" ] &&
		[ $((ha + wa)) -le $((el + el / 100)) ] ||
		fail "stop figures disagree: held $1 / $2 / $3, wait $5 / $6 / $7, snapshot $4"
}
consistent "$T/out"
expect_grep '^4 threads  S×4  pool-0, pool-1, pool-2, pool-3$' "$T/out"
expect_grep '^    pool_worker \(.*threadwork\.c:[0-9]+\)$' "$T/out"
expect_grep '^    pthread_cond_wait ' "$T/out"
awk '/^4 threads/ {on = 1} on && /^$/ {exit} on' "$T/out" >"$T/pool"
expect_grep '^    __clone3|^    clone' "$T/pool"
untraced "$pid"

expect_exit 0 "$CPROF" threads --pid "$pid" --all
expect_eq "$(grep -Ec '^Thread [0-9]* "pool-[0-3]" S, held (0|[0-9.]+(ns|us|ms|s)), wait to stop (0|[0-9.]+(ns|us|ms|s)):$' "$T/out")" 4 "pool threads in --all"
consistent "$T/out"

expect_exit 0 "$CPROF" threads --pid "$pid" --json -o "$T/pool.pb.gz"
expect_lines 1 "$T/out"
expect_grep '"stopped_us":[0-9.]+,"worst_stop_us":[0-9.]+,"median_stop_us":[0-9.]+,"wait_to_stop_us":[0-9.]+,"worst_wait_to_stop_us":[0-9.]+,"median_wait_to_stop_us":[0-9.]+,"held_at_rt_priority":(true|false)\}$' "$T/out"
# Root holds each thread at real-time priority, and cprof goes back to its own
# scheduling after each: between two polls of a watch it is SCHED_OTHER again.
if [ "$(id -u)" = 0 ]; then
	expect_grep '"held_at_rt_priority":true\}$' "$T/out"
	if command -v chrt >/dev/null 2>&1; then
		"$CPROF" threads --pid "$pid" --watch 20s --interval 2s >"$T/watch.out" 2>&1 &
		watcher=$!
		ok
		wait_until 20 grep -qs ' threads ' "$T/watch.out" || fail "no poll line from the watch"
		expect_eq "$(chrt -p "$watcher" | sed -n 's/.*scheduling policy: //p')" SCHED_OTHER \
			"cprof's scheduling policy between polls"
		kill "$watcher"
		wait "$watcher" 2>/dev/null || true
	fi
fi
expect_grep '^\{"type":"snapshot","pid":[0-9]+,"threads":5,"groups":\[\{"count":4,"states":"S×4","names":\["pool-0","pool-1","pool-2","pool-3"\],"stack":\[' "$T/out"
if command -v python3 >/dev/null 2>&1; then
	ok
	python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/out" ||
		fail "--json printed invalid JSON"
fi
expect_exit 0 "$CPROF" report --top 0 "$T/pool.pb.gz"
expect_grep '^Type: threads$' "$T/out"
expect_grep '^ +0 +0% +[0-9.]+% +4 +80\.00%  pool_worker ' "$T/out"
if command -v go >/dev/null 2>&1; then
	go tool pprof -tags "$T/pool.pb.gz" >"$T/tags" 2>&1 || fail "go tool pprof -tags failed"
	expect_grep 'state: Total 5' "$T/tags"
	expect_grep 'thread: Total 5' "$T/tags"
fi
untraced "$pid"

# Signals sent while cprof holds threads reach the process, none lost. A
# real-time signal, which queues: a second SIGUSR1 sent while one is still
# pending merges with it, so a loaded machine made the count short.
"$CPROF" threads --pid "$pid" --watch 3s --interval 20ms >/dev/null 2>&1 &
watcher=$!
i=0
while [ $i -lt 100 ]; do
	kill -s RTMIN "$pid"
	sleep 0.01
	i=$((i + 1))
done
wait "$watcher" || true
kill -USR2 "$pid"
ok
wait_until 20 grep -q '^rtmin' "$T/pool.out" || fail "no count of SIGRTMIN printed"
expect_grep '^rtmin 100$' "$T/pool.out"
kill "$pid"
wait "$pid" 2>/dev/null || true

# A leak beside churn and a pool: exit 3, naming leak_handler and nothing else.
"$W" --pool 4 --leak 150 --churn 20 --seconds 60 >"$T/leak.out" &
pid=$!
sleep 0.3
expect_exit 3 "$CPROF" threads --pid "$pid" --watch 3s --interval 500ms
expect_grep '^[0-9:]{8} +[0-9]+ threads +\+[0-9]+ +held (0|[0-9.]+(ns|us|ms|s)) in all, (0|[0-9.]+(ns|us|ms|s)) at most$' "$T/out"
sed -n '/^Leak suspects/,$p' "$T/out" >"$T/verdict"
expect_grep '^Leak suspects: ' "$T/verdict"
expect_grep '^[0-9]+ -> [0-9]+ threads \(\+[0-9.]+ per minute\)  leaker×[0-9]+$' "$T/verdict"
expect_grep '^    leak_handler \(' "$T/verdict"
expect_no_grep 'churn_task|pool_worker|churner|pool-' "$T/verdict"
expect_exit 3 "$CPROF" threads --pid "$pid" --watch 2s --interval 400ms --json
expect_grep '^\{"type":"poll",' "$T/out"
expect_grep '^\{"type":"verdict","polls":[0-9]+,"span_s":[0-9.]+,"suspects":\[\{"start":[0-9]+,"end":[0-9]+,"per_minute":[0-9.]+,"names":\["leaker"\],"stack":\[.*"leak_handler ' "$T/out"
untraced "$pid"
kill "$pid"
wait "$pid" 2>/dev/null || true

# Threads that come and go, and a fixed pool: no suspect, exit 0.
"$W" --pool 4 --churn 20 --seconds 60 >/dev/null &
pid=$!
sleep 0.3
expect_exit 0 "$CPROF" threads --pid "$pid" --watch 3s --interval 500ms
expect_grep '^No leak suspects: no group of threads grew steadily over [0-9]+ polls' "$T/out"
untraced "$pid"

kill "$pid"
wait "$pid" 2>/dev/null || true

# Short-lived threads whose number grows steadily are no leak: they turn over.
"$W" --pool 4 --ramp --seconds 60 >/dev/null &
pid=$!
sleep 0.3
expect_exit 0 "$CPROF" threads --pid "$pid" --watch 3s --interval 500ms
expect_grep '^No leak suspects: ' "$T/out"
awk '/^[0-9:]+ +[0-9]+ threads/ {print $2}' "$T/out" >"$T/counts"
ok
# Under load a poll may catch a trough: some later poll is above the first.
[ "$(sort -n "$T/counts" | tail -n 1)" -gt "$(head -n 1 "$T/counts")" ] || fail "the ramp did not grow: $(tr '\n' ' ' <"$T/counts")"

# SIGKILL to cprof mid-watch, again and again: the target runs on, untraced.
for delay in 0.05 0.13 0.21 0.37 0.5; do
	"$CPROF" threads --pid "$pid" --watch 10s --interval 10ms >/dev/null 2>&1 &
	watcher=$!
	sleep "$delay"
	kill -KILL "$watcher"
	wait "$watcher" 2>/dev/null || true
	sleep 0.05
	untraced "$pid"
done
kill "$pid"
wait "$pid" 2>/dev/null || true

# Hundreds of threads coming and going (one every 2 ms, living up to 300 ms):
# snapshots skip the ones that vanish and leave the rest running untraced;
# cpu profiling of it works too.
"$W" --churn 2 --pool 8 --seconds 60 >/dev/null &
pid=$!
sleep 0.5
expect_exit 0 "$CPROF" threads --pid "$pid"
# (mostly sleeping; one may be caught just woken, R)
expect_grep '^[0-9]+ threads  ([RSD]×[0-9]+ ?)+  churner×[0-9]+$' "$T/out"
expect_exit 0 "$CPROF" threads --pid "$pid" --watch 1s --interval 100ms
expect_exit 0 "$CPROF" cpu --pid "$pid" --seconds 1 -o "$T/churn.pb.gz"
untraced "$pid"
kill "$pid"
wait "$pid" 2>/dev/null || true

# Threads caught mid-exit (a hundred exiting at once, again and again) are
# skipped like vanished ones: the kernel's EPERM for them is no permission error.
"$W" --burst 100 --seconds 60 >/dev/null &
pid=$!
wait_until 20 has_threads_over "$pid" 50 || fail "the burst workload did not start its threads"
for i in 1 2 3 4 5; do
	expect_exit 0 "$CPROF" threads --pid "$pid" --watch 1s --interval 10ms
done
untraced "$pid"
kill "$pid"
wait "$pid" 2>/dev/null || true

# A thread that cannot reach its stop in time (SCHED_IDLE, sharing its one
# CPU with a busy loop) stays seized until it stops; the next poll of a watch
# passes over it rather than seize it again, which the kernel refuses with the
# EPERM of a thread someone else traces.
if command -v chrt >/dev/null && command -v taskset >/dev/null &&
	taskset -c 0 true 2>/dev/null; then
	taskset -c 0 chrt --idle 0 "$W" --spin 2 --seconds 60 >/dev/null &
	pid=$!
	taskset -c 0 sh -c 'while :; do :; done' &
	hog=$!
	wait_until 20 has_threads "$pid" 3 || fail "the starved workload did not start its threads"
	expect_exit 0 "$CPROF" threads --pid "$pid" --watch 2s --interval 10ms
	kill "$hog"
	wait "$hog" 2>/dev/null || true
	untraced "$pid"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
fi

# Thread names are bytes the target chooses: a quote, a backslash, control
# characters and ill-formed UTF-8 (threadwork's odd_names) each come out of
# --json as a JSON string that says the same name, ill-formed sequences as
# U+FFFD (Python's decoding), in the snapshot and in a watch's lines.
"$W" --odd-names --seconds 60 >/dev/null &
pid=$!
# Its nine threads asleep, so named (lib.sh's settle reads a stat file's first
# line, and one name holds a newline).
odd_asleep() { [ "$(cat /proc/"$1"/task/*/stat 2>/dev/null | grep -c ') S ')" -eq 9 ]; }
ok
wait_until 20 odd_asleep "$pid" || fail "the odd-names workload did not settle"
expect_exit 0 "$CPROF" threads --pid "$pid" --json
expect_lines 1 "$T/out"
expect_grep '"a\\"b"' "$T/out"
expect_grep '"back\\\\slash"' "$T/out"
expect_grep '"new\\nline"' "$T/out"
expect_grep '"tab\\tbell\\u0007"' "$T/out"
expect_grep '"\\u001b\[31mred"' "$T/out"
expect_grep "\"$(printf 'caf\303\251')\"" "$T/out"
expect_exit 0 "$CPROF" threads --pid "$pid" --watch 1s --interval 250ms --json
cat "$T/out" >>"$T/odd.json"
expect_exit 0 "$CPROF" threads --pid "$pid" --json
cat "$T/out" >>"$T/odd.json"
odd_names_check='
import json, sys
want = [b"a\"b", b"back\\slash", b"new\nline", b"tab\tbell\a", b"\xff\xfe bad",
	b"caf\xc3\xa9", b"\xe2\x82\"},{", b"\x1b[31mred"]
want = sorted([w.decode("utf-8", "replace") for w in want] + ["threadwork"])
snapshots = 0
# Strict UTF-8, and json.loads refuses raw control characters in strings.
for line in open(sys.argv[1], encoding="utf-8", errors="strict"):
	d = json.loads(line)
	if d["type"] != "snapshot":
		continue
	snapshots += 1
	got = sorted(n for g in d["groups"] for n in g["names"])
	if got != want:
		sys.exit("names %r, not %r" % (got, want))
if snapshots != 1:
	sys.exit("%d snapshot lines, not 1" % snapshots)
'
if command -v python3 >/dev/null 2>&1; then
	ok
	python3 -c "$odd_names_check" "$T/odd.json" || fail "--json with odd thread names"
elif command -v jq >/dev/null 2>&1; then
	ok
	jq -e . "$T/odd.json" >/dev/null || fail "--json with odd thread names is no JSON"
fi
untraced "$pid"
kill "$pid"
wait "$pid" 2>/dev/null || true

# A process that exits during a --json watch: every line stays JSON, the
# exit one of them, and the verdict that follows names the leak from the last
# poll's threads.
"$W" --pool 2 --leak 100 --seconds 60 >/dev/null &
pid=$!
ok
wait_until 20 has_threads_over "$pid" 5 || fail "the leak workload did not start its threads"
"$CPROF" threads --pid "$pid" --watch 30s --interval 300ms --json >"$T/exit.json" 2>"$T/exit.err" &
watcher=$!
polls() { [ "$(cat "$T/exit.json" 2>/dev/null | grep -c '"type":"poll"')" -ge "$1" ]; }
ok
wait_until 20 polls 5 || fail "no five poll lines from the watch"
kill "$pid"
wait "$pid" 2>/dev/null || true
ok
rc=0
wait "$watcher" || rc=$?
[ "$rc" -eq 3 ] || fail "the watch of an exiting process exited $rc, not 3: $(cat "$T/exit.err")"
expect_grep '^\{"type":"exit"\}$' "$T/exit.json"
expect_grep '^\{"type":"verdict",.*"suspects":\[\{"start":[0-9]+,"end":[0-9]+,"per_minute":[0-9.]+,"names":\["leaker"\],"stack":\[.*"leak_handler ' "$T/exit.json"
if command -v python3 >/dev/null 2>&1; then
	ok
	python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/exit.json" ||
		fail "--json printed invalid JSON when the process exited"
fi

# Errors: one line and the documented exit code.
expect_exit 2 "$CPROF" threads
expect_grep '^usage: cprof threads ' "$T/err"
expect_exit 2 "$CPROF" threads --pid 1 --watch soon
expect_exit 2 "$CPROF" threads --pid 1 --watch 1s --interval 5s
expect_exit 1 "$CPROF" threads --pid 2147483647
expect_lines 1 "$T/err"
expect_grep '^cprof: no such process 2147483647$' "$T/err"
"$W" --pool 2 --seconds 30 >/dev/null &
pid=$!
sleep 0.2
if [ "$(id -u)" = 0 ] && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	expect_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$CPROF" threads --pid "$pid"
	expect_lines 1 "$T/err"
	expect_grep "^cprof: not allowed to trace process $pid: it belongs to uid 0; run cprof as that user or as root, or give cprof CAP_SYS_PTRACE$" "$T/err"
	untraced "$pid"
	# A user without CAP_SYS_NICE (and no RLIMIT_RTPRIO) holds at normal priority.
	[ "$(ulimit -r 2>/dev/null)" = 0 ] && rt_limit=0 || rt_limit=some
	setpriv --reuid=65534 --regid=65534 --clear-groups "$W" --pool 2 --seconds 30 >/dev/null &
	npid=$!
	settle "$npid" 3
	expect_exit 0 setpriv --reuid=65534 --regid=65534 --clear-groups "$CPROF" threads --pid "$npid" --json
	[ "$rt_limit" != 0 ] || expect_grep '"held_at_rt_priority":false\}$' "$T/out"
	untraced "$npid"
	kill "$npid"
	wait "$npid" 2>/dev/null || true
fi
kill "$pid"
wait "$pid" 2>/dev/null || true

finish
