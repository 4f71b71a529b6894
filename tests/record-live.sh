#!/bin/sh
# `cprof record` of processes that come and go, and what a window holds
# beside its samples: --name records the processes whose name matches as
# they start, a late one too, and closes each that exits while it runs on;
# one it may not profile is said once and passed over; each window's
# comments hold the thread count, so threadwork growing on SIGHUP reads as a
# growing count in `report --comments`; --heap writes heap windows whose
# newest names a leak's site and whose in-use bytes grow, the target left
# running; the hourly line (CPROF_RECORD_REPORT_SECONDS shortens the hour)
# gives cprof's own CPU and RSS; --unwind fp records whole stacks; `top
# --store` is in tests/top.sh.
. "$top_srcdir/tests/lib.sh"
need_perf_events

W=$top_builddir/tests/workloads
# count DIR KIND N: the store DIR has N windows of KIND or more.
count() { [ "$(store_windows "$1" | grep -c "_$2_")" -ge "$3" ]; }
said() { grep -Eq "$1" "$2"; }
named() { [ "$(cat /proc/"$1"/comm 2>/dev/null)" = "$2" ]; }
# values FILE KEY: the numbers after KEY= in the comment lines of FILE, in order.
values() { sed -n "s/.* $2=\([0-9]*\)$/\1/p" "$1"; }

# --- --name: recname-a (cpuwork-fp under another name) runs from the start,
# recname-b starts later; both exit, and record runs on until SIGTERM.
ln -s "$W/cpuwork-fp" "$T/recname-a"
ln -s "$W/cpuwork-fp" "$T/recname-b"
"$T/recname-a" --seconds 3 >/dev/null &
a=$!
bg="$bg $a"
ok
wait_until 20 named "$a" recname-a || fail "recname-a did not start"
CPROF_RECORD_REPORT_SECONDS=1 "$CPROF" record --store "$T/s1" --every 500ms \
	--name '^recname-' 2>"$T/rec1.err" &
rec=$!
bg="$bg $rec"
ok
wait_until 20 said "^cprof: recording process $a \\(recname-a\\)$" "$T/rec1.err" ||
	fail "recname-a was not picked up"
ok
wait_until 20 count "$T/s1" cpu 2 || fail "no two windows of recname-a"
"$T/recname-b" --seconds 2 >/dev/null &
b=$!
bg="$bg $b"
ok
wait_until 20 said "^cprof: recording process $b \\(recname-b\\)$" "$T/rec1.err" ||
	fail "recname-b, started later, was not picked up"
wait "$a" "$b" 2>/dev/null || :
for p in "$a:recname-a" "$b:recname-b"; do
	ok
	wait_until 20 said "^cprof: process ${p%%:*} \\(${p#*:}\\) has exited; its recording is closed$" \
		"$T/rec1.err" || fail "the end of ${p#*:} was not seen"
done
ok
kill -0 "$rec" 2>/dev/null || fail "record --name ended when the processes did"
ok
wait_until 20 said '^cprof: [-0-9]+ [:0-9]+ UTC: [0-9]+ windows \([.0-9]+ KiB\) in the last [0-9]+ s, 0 processes recorded; cprof used [.0-9]+% of a core, RSS [.0-9]+ MiB \(peak [.0-9]+\)$' "$T/rec1.err" ||
	fail "no hourly line once both had exited"
kill -TERM "$rec" 2>/dev/null || :
rc=0
wait "$rec" || rc=$?
expect_eq "$rc" 0 "record --name's exit status after SIGTERM"
store_windows "$T/s1" >"$T/w1"
for p in "$a:recname-a" "$b:recname-b"; do
	ok
	[ "$(grep -c "_${p#*:}_${p%%:*}_cpu_" "$T/w1")" -ge 2 ] || fail "fewer than 2 windows of ${p#*:}"
done
# Its windows hold its own functions (which one leads depends on the CPU it got).
expect_exit 0 "$CPROF" report --store "$T/s1" --name '^recname-b$' --top 1
expect_grep ' work_[abc] \(' "$T/out"

# --- Children: recname-p (a shell) has two busy children before record
# starts, each recorded as a process of its own; a third, forked once the
# shell is recorded, is sampled with it (inherited events), not twice; so is
# a shell forked by a subshell that exits at once (reparented, a double fork),
# asleep 2 s before it spins, with no exec: unseen by samples until then.
ln -s /bin/sh "$T/recname-p"
ln -s "$W/cpuwork-fp" "$T/recname-c"
"$T/recname-p" -c '"$0" --seconds 8 & "$0" --seconds 8 & sleep 3; "$0" --seconds 3 &
	( (sleep 2; i=0; while [ $i -lt 200000 ]; do i=$((i + 1)); done) & ); wait; sleep 3' \
	"$T/recname-c" >/dev/null &
sp=$!
bg="$bg $sp"
kids() { [ "$(pgrep -c -x recname-c)" -ge "$1" ]; }
shells() { [ "$(pgrep -c -x recname-p)" -ge 2 ]; }
ok
wait_until 20 kids 2 || fail "recname-p did not start two children"
"$CPROF" record --store "$T/s7" --every 500ms --name '^recname-' 2>"$T/rec7.err" &
rec=$!
bg="$bg $rec"
ok
wait_until 20 kids 3 || fail "recname-p did not start its third child"
ok
wait_until 20 shells || fail "recname-p did not start its reparented shell"
late=$(pgrep -n -P "$sp" -x recname-c)
orphan=$(pgrep -x recname-p | grep -vx "$sp")
wait "$sp" 2>/dev/null || :
kill -TERM "$rec" 2>/dev/null || :
wait "$rec" || fail "record --name exited $?"
ok
[ "$(grep -c '^cprof: recording process [0-9]* (recname-c)$' "$T/rec7.err")" = 2 ] ||
	{ fail "not the two children forked before recording:"; sed 's/^/  | /' "$T/rec7.err" >&2; }
expect_no_grep "^cprof: recording process $late " "$T/rec7.err"
ok
[ -n "$orphan" ] || fail "no reparented child to look for"
for k in $orphan; do
	expect_no_grep "^cprof: recording process $k " "$T/rec7.err"
done
expect_exit 0 "$CPROF" report --store "$T/s7" --name '^recname-p$' --top 3
expect_grep ' work_[abc] \(' "$T/out"

# --- One that may not be profiled is said once and passed over: record runs
# as nobody, recname-r as root.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	ln -s "$W/cpuwork-fp" "$T/recname-r"
	"$T/recname-r" --seconds 60 >/dev/null &
	r=$!
	bg="$bg $r"
	chmod 711 "$T"
	mkdir "$T/s2"
	chown 65534:65534 "$T/s2"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CPROF" record --store "$T/s2" \
		--every 500ms --name '^recname-r$' 2>"$T/rec2.err" &
	rec=$!
	bg="$bg $rec"
	ok
	wait_until 20 said "^cprof: recording process $r " "$T/rec2.err" || fail "recname-r was not seen"
	sleep 3 # three more looks through /proc
	kill -TERM "$rec" 2>/dev/null || :
	rc=0
	wait "$rec" || rc=$?
	expect_eq "$rc" 0 "record --name's exit status when one process was refused"
	ok
	[ "$(grep -c "process $r\\b" "$T/rec2.err")" = 2 ] ||
		{ fail "the refusal was not said once:"; sed 's/^/  | /' "$T/rec2.err" >&2; }
	expect_grep "permission|ptrace|CAP_" "$T/rec2.err"
	untraced "$r"
	kill "$r" 2>/dev/null || :
else
	echo "record-live.sh: the refusal part skipped: it needs root and setpriv"
fi

# --- Thread counts: threadwork grows by 3 threads at each SIGHUP.
"$W/threadwork" --pool 2 --grow-on-hup 3 --seconds 120 >/dev/null &
tw=$!
bg="$bg $tw"
"$CPROF" record --store "$T/s3" --every 300ms --pid "$tw" 2>"$T/rec3.err" &
rec=$!
bg="$bg $rec"
ok
wait_until 20 count "$T/s3" cpu 2 || fail "no two windows before the first SIGHUP"
kill -HUP "$tw"
ok
wait_until 20 count "$T/s3" cpu 4 || fail "no windows after the first SIGHUP"
kill -HUP "$tw"
ok
wait_until 20 count "$T/s3" cpu 6 || fail "no windows after the second SIGHUP"
kill -TERM "$rec" 2>/dev/null || :
wait "$rec" || fail "record exited $?"
expect_exit 0 "$CPROF" report --store "$T/s3" --comments
expect_grep "^20[0-9-]+T[:0-9]+Z threadwork $tw threads=[0-9]+$" "$T/out"
values "$T/out" threads >"$T/threads"
first=$(head -1 "$T/threads")
most=$(sort -n "$T/threads" | tail -1)
ok
[ "$((most - first))" = 6 ] || fail "thread counts $(tr '\n' ' ' <"$T/threads"): not 6 more after two SIGHUPs"
ok
sort -c -n "$T/threads" 2>/dev/null || fail "thread counts went down: $(tr '\n' ' ' <"$T/threads")"
untraced "$tw"
kill "$tw" 2>/dev/null || :

# --- --heap: a process that keeps 8 KiB each 10 ms; record attaches its heap
# library and lets it go at the end, the process running on.
"$W/heapwork" --leak 60 >/dev/null &
hw=$!
bg="$bg $hw"
sleep 0.3
"$CPROF" record --store "$T/s4" --every 500ms --heap --rate 4096 --pid "$hw" 2>"$T/rec4.err" &
rec=$!
bg="$bg $rec"
ok
wait_until 30 count "$T/s4" heap 4 || { fail "no four heap windows:"; sed 's/^/  | /' "$T/rec4.err" >&2; }
kill -TERM "$rec" 2>/dev/null || :
rc=0
wait "$rec" || rc=$?
expect_eq "$rc" 0 "record --heap's exit status after SIGTERM"
ok
kill -0 "$hw" 2>/dev/null || fail "the process recorded with --heap did not run on"
untraced "$hw"
expect_exit 0 "$CPROF" report --store "$T/s4" --kind heap --top 1
expect_grep '^Type: inuse_space$' "$T/out"
expect_grep ' leak_site \(' "$T/out"
expect_exit 0 "$CPROF" report --store "$T/s4" --comments
values "$T/out" heap_inuse_bytes >"$T/heap"
ok
[ "$(wc -l <"$T/heap")" -ge 4 ] || fail "$(wc -l <"$T/heap") heap_inuse_bytes comments for 4 windows"
ok
[ "$(tail -1 "$T/heap")" -gt "$(head -1 "$T/heap")" ] ||
	fail "heap in use did not grow: $(tr '\n' ' ' <"$T/heap")"
kill "$hw" 2>/dev/null || :

# --- --heap with a command: its exit status is said, as without --heap.
expect_exit 0 "$CPROF" record --store "$T/s8" --every 500ms --heap -- \
	sh -c '"$0" --leak 1; exit 3' "$W/heapwork"
expect_grep '^Command exited with status 3$' "$T/out"
ok
count "$T/s8" heap 2 || fail "fewer than 2 heap windows of a launched command"

# --- --unwind fp on code built with frame pointers: whole stacks, the shares.
expect_exit 0 "$CPROF" record --store "$T/s5" --every 1s --unwind fp -- "$W/cpuwork-fp" --rounds 300
expect_exit 0 "$CPROF" report --store "$T/s5" --folded
expect_grep '(^|;)main;.*work_a [0-9]+$' "$T/out"
expect_exit 0 "$CPROF" report --store "$T/s5" --top 3
# About 120 samples: a 60% share's standard error is 4.5 points; 15 is 3.3 of them.
awk '$6 == "work_a" {a = $2 + 0} END {exit !(a >= 45 && a <= 75)}' "$T/out" ||
	{ fail "work_a's share with --unwind fp:"; sed 's/^/  | /' "$T/out" >&2; }

# --- Refusals.
expect_exit 2 "$CPROF" record --store "$T/s6" --name '('
expect_grep 'bad --name' "$T/err"
expect_exit 2 "$CPROF" record --store "$T/s6" --name x -- "$W/cpuwork-fp"
expect_exit 2 "$CPROF" record --store "$T/s6" --rate 4096 --pid "$$"
expect_grep 'rate is for --heap' "$T/err"
expect_exit 2 "$CPROF" report --store "$T/s4" --kind disk
expect_grep "bad --kind 'disk'" "$T/err"
expect_exit 2 "$CPROF" report --kind heap "$T/s4"
expect_exit 1 "$CPROF" report --store "$T/s5" --kind heap
expect_grep '^cprof: no heap window in store ' "$T/err"

finish
