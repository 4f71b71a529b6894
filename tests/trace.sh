#!/bin/sh
# `cprof trace` on waitwork, whose threads' timelines are known: the reader
# blocks in nanosleep for 3 ms and on a pipe for the rest of each 10 ms
# cycle; three busy threads (with the two lockers' spinning) want more CPUs
# than the machine's two, so they are runnable part of the time, and each
# runs for as long as its own CPU clock says. The file is Chrome's trace
# format (checked with python's JSON reader); the summary's shares agree
# with the threads' own clocks; without the privilege for stacks the
# timeline is still whole; --format pprof writes the wall profile; bad
# input gets one line and the documented code.
. "$top_srcdir/tests/lib.sh"
need_perf_events

W=$top_builddir/tests/workloads
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)

if ! command -v python3 >/dev/null 2>&1; then
	echo "trace: SKIP: python3 (the JSON reader) is not installed"
	exit 77
fi

# check JSON: python3 reads the trace and prints, tab-separated, per thread
# name: its shares of running, blocked and runnable time (percent), its
# blocked intervals' median length in nanosleep and in read (ms, -1 for
# none), and how many intervals it has.
check() {
	python3 - "$1" <<'EOF'
import json, re, statistics, sys
d = json.load(open(sys.argv[1]))
names, per = {}, {}
for e in d["traceEvents"]:
    if e["ph"] == "M" and e["name"] == "thread_name":
        names[e["tid"]] = e["args"]["name"]
for e in d["traceEvents"]:
    if e["ph"] != "X":
        continue
    assert e["dur"] >= 0 and e["ts"] >= 0, e
    t = per.setdefault(e["tid"], {"running": 0, "blocked": 0, "runnable": 0, "n": 0,
                                  "sleep": [], "read": []})
    t["n"] += 1
    if e["name"] in t:
        t[e["name"]] += e["dur"]
    where = e.get("args", {}).get("in", "")
    if e["name"] == "blocked" and "nanosleep" in where:
        t["sleep"].append(e["dur"] / 1e3)
    if e["name"] == "blocked" and re.search(r"(^|_)read$", where):
        t["read"].append(e["dur"] / 1e3)
for tid, t in per.items():
    all = t["running"] + t["blocked"] + t["runnable"] or 1
    med = lambda xs: statistics.median(xs) if xs else -1
    print("%s\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%d" % (names.get(tid, "?"), 100 * t["running"] / all,
          100 * t["blocked"] / all, 100 * t["runnable"] / all, med(t["sleep"]), med(t["read"]),
          t["n"]))
EOF
}
# mean FILE THREAD N: the mean of field N over THREAD's lines.
mean() { awk -F '\t' -v th="$2" -v n="$3" '$1 == th { s += $n; k++ } END { if (k) printf "%.1f\n", s / k }' "$1"; }
# field FILE THREAD N: field N of THREAD's line (the first such thread).
field() { awk -F '\t' -v th="$2" -v n="$3" '$1 == th { print $n; exit }' "$1"; }
# near_clock ERR SHARE WHAT: SHARE, the busy threads' mean running share
# in the trace, within 6 points of what their CPU clocks measured over the
# same run (waitwork's "busy wall_ns=W cpu_ns=C1,C2..." line in ERR): under
# load they run less, and the trace must say just that.
near_clock() {
	_own=$(sed -n 's/^busy wall_ns=\([0-9]*\) cpu_ns=\([0-9,]*\)$/\1 \2/p' "$1" |
		awk '{ n = split($2, c, ","); for (i = 1; i <= n; i++) s += c[i]
			if (n) printf "%.1f\n", 100 * s / n / $1 }')
	echo "the busy threads' own mean share on a CPU: $_own"
	within "$2" "$(echo "$_own" | awk '{ print $1 - 6 }')" "$(echo "$_own" | awk '{ print $1 + 6 }')" \
		"$3 against their CPU clocks ($_own)"
}

# within GOT LOW HIGH WHAT
within() {
	ok
	awk -v g="$1" -v l="$2" -v h="$3" 'BEGIN { exit !(g != "" && g >= l && g <= h) }' ||
		fail "$4: $1, expected $2 to $3"
}

# --- A launched command, privileged: the whole timeline, with stacks.
if [ "$(id -u)" = 0 ] || [ "$paranoid" -le 1 ]; then
	# waitwork ends itself after 3 s (the trace with it), and says then
	# what its clocks measured over the same time.
	expect_exit 0 "$CPROF" trace --seconds 20 -o "$T/t.json" -- "$W/waitwork" --busy 3 --seconds 3
	cp "$T/out" "$T/t.out"
	cp "$T/err" "$T/t.err"
	check "$T/t.json" >"$T/t.tsv" || fail "the trace is not JSON python3 reads"
	cat "$T/t.tsv"
	# The reader: blocked all but a sliver, 3 ms at a time in nanosleep
	# and the rest of each 10 ms on the pipe (each longer by the wait for a
	# CPU after its wakeup, which the switches cannot tell from blocked).
	within "$(field "$T/t.tsv" reader 3)" 93 100 "reader's blocked share"
	within "$(field "$T/t.tsv" reader 5)" 2.9 6 "reader's median wait in nanosleep (ms)"
	within "$(field "$T/t.tsv" reader 6)" 3 9.5 "reader's median wait in read (ms)"
	within "$(awk -F '\t' '$1 == "reader" { print $5 + $6; exit }' "$T/t.tsv")" 8.5 12 \
		"reader's median waits in nanosleep and read together, a 10 ms cycle"
	within "$(field "$T/t.tsv" reader 7)" 400 2000 "reader's intervals in 3 s"
	# The busy threads run as long as their CPU clocks say, the rest runnable.
	near_clock "$T/t.err" "$(mean "$T/t.tsv" busy 2)" "the busy threads' mean running share"
	within "$(field "$T/t.tsv" busy 3)" 0 1 "a busy thread's blocked share"
	within "$(field "$T/t.tsv" busy 4)" 10 90 "a busy thread's runnable share"
	# The summary says the same, and what the runnable time means.
	expect_grep '^ +[0-9]+  reader +[0-9.]+% +(9[3-9]|100)\.[0-9]%' "$T/t.out"
	expect_grep '^ +[0-9]+  reader .* in [_a-zA-Z]*(read|nanosleep)' "$T/t.out"
	expect_grep '^Scheduling latency \(preempted, waiting for a CPU\): p50 [0-9.]+[mun]?s, p99 ' "$T/t.out"
	expect_grep '^Runnable: [0-9]+% .*more threads were ready to run than the [0-9]+ CPUs' "$T/t.out"
	expect_grep "^Intervals: [0-9]+ in $T/t.json\$" "$T/t.out"

	# --no-stacks: the same timeline from the switches alone; no wait says
	# where it began, and the summary says why.
	expect_exit 0 "$CPROF" trace --no-stacks --seconds 20 -o "$T/ns.json" -- "$W/waitwork" --seconds 2
	expect_grep '^Stacks: none \(--no-stacks\), so no wait says where it began$' "$T/out"
	check "$T/ns.json" >"$T/ns.tsv" || fail "the --no-stacks trace is not JSON"
	within "$(field "$T/ns.tsv" reader 3)" 93 100 "--no-stacks: reader's blocked share"
	within "$(field "$T/ns.tsv" reader 7)" 250 2000 "--no-stacks: reader's intervals in 2 s"
	ok
	! grep -q '"in":' "$T/ns.json" || fail "--no-stacks: a wait says where it began"

	# --max-events: the file keeps the first N, the summary says so.
	expect_exit 0 "$CPROF" trace --seconds 1 --max-events 50 -o "$T/cap.json" -- "$W/waitwork"
	expect_grep '^Left out of the file: [0-9]+ intervals past --max-events 50 \(the first 50 are in it.*; raise --max-events' "$T/out"
	expect_eq "$(grep -c '"ph":"X"' "$T/cap.json")" 50 "intervals in a file capped at 50"

	# Attached: every thread named, those that slept through it too (the
	# main thread, in pause), and the process left running, untraced.
	"$W/waitwork" --busy 1 2>/dev/null &
	pid=$!
	bg="$bg $pid"
	wait_until 20 has_threads "$pid" 6 || fail "waitwork did not start its threads"
	expect_exit 0 "$CPROF" trace --pid "$pid" --seconds 1 --top 0 -o "$T/pid.json"
	check "$T/pid.json" >"$T/pid.tsv" || fail "the attached trace is not JSON"
	cat "$T/pid.tsv"
	for th in waitwork reader writer lock-a lock-b busy; do
		ok
		grep -q "^$th	" "$T/pid.tsv" || fail "attached: no lane named $th"
	done
	expect_grep '"name":"off-CPU \(since before the start\)","cat":"off-cpu","pid":'"$pid,\"tid\":$pid," "$T/pid.json"
	untraced "$pid"

	# --format pprof: the wall profile, its states as labels.
	expect_exit 0 "$CPROF" trace --seconds 1 --format pprof -o "$T/t.pb.gz" -- "$W/waitwork"
	expect_exit 0 "$CPROF" report --tags "$T/t.pb.gz"
	expect_grep '^ state: Total ' "$T/out"
	expect_grep 'blocked' "$T/out"
fi

# --- Without the privilege for stacks: the switch records alone, for one's
# own processes; the timeline is whole, no wait says where it began.
if as_nobody_setup; then
	expect_exit 0 as_nobody "$CPROF" trace --seconds 20 -o "$T/nobody/np.json" -- "$W/waitwork" --seconds 2
	expect_grep '^Stacks: none.*kernel\.perf_event_paranoid=1 or lower' "$T/out"
	check "$T/nobody/np.json" >"$T/np.tsv" || fail "the unprivileged trace is not JSON"
	within "$(field "$T/np.tsv" reader 3)" 93 100 "unprivileged: reader's blocked share"
	within "$(field "$T/np.tsv" reader 7)" 250 2000 "unprivileged: reader's intervals in 2 s"
	near_clock "$T/err" "$(field "$T/np.tsv" busy 2)" "unprivileged: busy's running share"
	# The wall profile too: its cpu-clock rings and switch rings fit the
	# locked memory an unprivileged user may map.
	expect_exit 0 as_nobody "$CPROF" trace --seconds 1 --format pprof -o "$T/nobody/np.pb.gz" -- "$W/waitwork"
	expect_exit 0 "$CPROF" report --tags "$T/nobody/np.pb.gz"
	expect_grep '^ state: Total ' "$T/out"
fi

# --- Bad input: one line, the documented code.
expect_exit 2 "$CPROF" trace --seconds nope --pid 1
expect_exit 2 "$CPROF" trace --format xml --pid 1
expect_exit 2 "$CPROF" trace
expect_exit 1 "$CPROF" trace --pid 999999999 --seconds 1 -o "$T/never.json"
expect_lines 1 "$T/err"
expect_grep 'no such process' "$T/err"
ok
[ ! -e "$T/never.json" ] || fail "a trace of no process was written"

finish
