#!/bin/sh
# Targets as they really are, for `cprof cpu` and `cprof threads`: a process
# whose main thread called pthread_exit while the others run on is alive; a
# process that another tracer (strace, gdb) holds is refused naming the
# tracer; threads exiting while they are snapshot are skipped; a stopped
# process is said to be stopped and left stopped. After each, the target is
# as it was: running untraced, or still stopped, or still traced by its own
# tracer only. From inside another user namespace the refusal names it.
. "$top_srcdir/tests/lib.sh"

TW=$top_builddir/tests/workloads/threadwork
need_perf_events
pids=
trap 'for p in $pids; do kill -CONT "$p" 2>/dev/null || :; kill -KILL "$p" 2>/dev/null || :; done; rm -rf "$T"' EXIT

# every_thread PID STATES: every thread of PID is in one of STATES (letters).
every_thread() {
	for _et in /proc/"$1"/task/*; do
		case $(state "$1/task/${_et##*/}") in
		["$2"]) ;;
		*) return 1 ;;
		esac
	done
}

# traced_by PID TRACER: thread PID (the main one) has TracerPid TRACER.
traced_by() {
	[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$1/status" 2>/dev/null)" = "$2" ]
}

# tracers PID: the TracerPid of each thread of PID, one a line, sorted.
tracers() {
	awk '/^TracerPid:/ {print $2}' /proc/"$1"/task/*/status 2>/dev/null | sort
}

# 5. The main thread has exited (a zombie), a spinner and two sleepers run on.
"$TW" --pool 2 --spin 1 --main-exit >/dev/null 2>&1 &
zpid=$!
pids="$pids $zpid"
main_gone() {
	[ "$(state "$zpid")" = Z ] && has_threads "$zpid" 4 &&
		[ "$(cat /proc/"$zpid"/task/*/comm | grep -Ecx 'spinner|pool-[01]')" = 3 ]
}
ok
wait_until 20 main_gone || fail "threadwork --main-exit did not reach a zombie main thread with 3 others"
expect_exit 0 "$CPROF" cpu --pid "$zpid" --seconds 2 --top 5 -o "$T/zombie-main.pb.gz"
expect_grep '^Samples: [1-9][0-9]*, ' "$T/out"
expect_grep ' spin_worker \(.*threadwork\.c:[0-9]+\)$' "$T/out"
expect_no_grep 'zombie' "$T/err"
expect_exit 0 "$CPROF" report --top 3 "$T/zombie-main.pb.gz"
expect_grep ' spin_worker ' "$T/out"
expect_exit 0 "$CPROF" threads --pid "$zpid"
expect_grep "^Process $zpid \\(.*threadwork --pool 2 --spin 1 --main-exit\\): 3 threads in 2 groups$" "$T/out"
expect_grep '^2 threads .* pool-0, pool-1$' "$T/out"
expect_grep '^1 thread .* spinner$' "$T/out"
expect_grep '^    spin_worker \(.*threadwork\.c:[0-9]+\)$' "$T/out"
untraced "$zpid"

# Threads exit all the time: one that has exited but is not yet reaped
# refuses PTRACE_SEIZE (EPERM) and is counted as gone, not as a refusal, nor
# is a thread that cprof itself still holds taken for another tracer's.
# Each one-second watch met such a thread 2-3 times in 10 before the fix.
"$TW" --churn 1 >/dev/null 2>&1 &
cpid=$!
pids="$pids $cpid"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	expect_exit 0 "$CPROF" threads --pid "$cpid" --watch 1s --interval 10ms
	expect_lines 0 "$T/err"
done
untraced "$cpid"
kill "$cpid"

# 6. Another tracer holds the process: strace on its main thread. threads is
# refused with the tracer named; cpu, which does not trace, profiles it.
"$TW" --pool 2 --spin 1 >/dev/null 2>&1 &
pid=$!
pids="$pids $pid"
settled() {
	has_threads "$pid" 4 && grep -qx spinner /proc/"$pid"/task/*/comm
}
ok
wait_until 20 settled || fail "threadwork did not start its threads"
if command -v strace >/dev/null 2>&1; then
	strace -p "$pid" -o /dev/null 2>/dev/null &
	spid=$!
	ok
	if wait_until 20 traced_by "$pid" "$spid"; then
		before=$(tracers "$pid")
		expect_exit 1 "$CPROF" threads --pid "$pid"
		expect_lines 1 "$T/err"
		expect_grep "^cprof: process $pid is already traced by PID $spid \\(strace\\): detach it first$" "$T/err"
		expect_exit 0 "$CPROF" cpu --pid "$pid" --seconds 1 --top 3 -o "$T/strace.pb.gz"
		expect_grep '^Samples: [1-9][0-9]*, ' "$T/out"
		expect_grep ' spin_worker ' "$T/out"
		expect_eq "$(tracers "$pid")" "$before" "the threads' tracers after cprof (strace's only)"
		expect_eq "$(state "$pid")" S "the traced main thread's state after cprof"
	else
		fail "strace did not attach to $pid"
	fi
	kill "$spid"
	wait "$spid" 2>/dev/null || :
	ok
	wait_until 20 traced_by "$pid" 0 || fail "strace did not let go of $pid"
	untraced "$pid"
else
	echo "strace is not installed: the strace case is left out"
fi

# 7. Stopped by SIGSTOP: cpu says so (an honest, empty profile, exit 0),
# threads shows the threads where they stopped; both leave it stopped, and
# it runs on after SIGCONT.
kill -STOP "$pid"
ok
wait_until 20 every_thread "$pid" T || fail "process $pid did not stop"
stopped_line="process $pid is stopped \\(by SIGSTOP or Ctrl-Z; kill -CONT $pid resumes it\\)"
expect_exit 0 "$CPROF" cpu --pid "$pid" --seconds 1 -o "$T/stopped.pb.gz"
expect_grep "^cprof: $stopped_line; it runs no code while stopped, so it leaves no samples$" "$T/err"
expect_grep "^Samples: 0, " "$T/out"
expect_grep "^No samples: $stopped_line$" "$T/out"
ok
every_thread "$pid" T || fail "cpu did not leave $pid stopped"
expect_exit 0 timeout 60 "$CPROF" threads --pid "$pid"
expect_grep "^cprof: $stopped_line; its threads are shown where they stopped, and left stopped$" "$T/err"
expect_grep "^Process $pid .*: 4 threads in 3 groups$" "$T/out"
expect_grep '^2 threads  T×2  pool-0, pool-1$' "$T/out"
expect_grep '^    spin_worker \(' "$T/out"
ok
every_thread "$pid" T || fail "threads did not leave $pid stopped"
expect_eq "$(tracers "$pid" | uniq)" 0 "tracers of the stopped $pid after cprof"
kill -CONT "$pid"
ok
wait_until 20 every_thread "$pid" RS || fail "process $pid did not run on after SIGCONT"
untraced "$pid"

# Stopped by a debugger: gdb holds every thread until $T/hold goes.
if command -v gdb >/dev/null 2>&1; then
	: >"$T/hold"
	gdb -nx -batch -p "$pid" -ex "shell while [ -e '$T/hold' ]; do sleep 0.1; done" \
		>"$T/gdb.out" 2>&1 &
	gpid=$!
	held() {
		traced_by "$pid" "$gpid" && every_thread "$pid" t
	}
	ok
	if wait_until 60 held; then
		expect_exit 0 "$CPROF" cpu --pid "$pid" --seconds 1 -o "$T/gdb.pb.gz"
		expect_grep "^cprof: process $pid is stopped: its tracer, PID $gpid \\(gdb\\), holds it; it runs no code" "$T/err"
		expect_grep "^No samples: process $pid is stopped: its tracer, PID $gpid \\(gdb\\), holds it$" "$T/out"
		expect_exit 1 "$CPROF" threads --pid "$pid"
		expect_lines 1 "$T/err"
		expect_grep "^cprof: process $pid is already traced by PID $gpid \\(gdb\\): detach it first$" "$T/err"
		ok
		held || fail "cprof changed what gdb holds of $pid"
	else
		fail "gdb did not attach to $pid:"
		sed 's/^/  gdb: /' "$T/gdb.out" >&2
	fi
	rm -f "$T/hold"
	wait "$gpid" 2>/dev/null || :
	ok
	wait_until 20 every_thread "$pid" RS || fail "process $pid did not run on after gdb detached"
	untraced "$pid"
else
	echo "gdb is not installed: the debugger case is left out"
fi
kill "$pid" "$zpid"

# From inside a user namespace of its own, cprof has every capability, but
# none over a process outside it: the refusal says so, not "run as root".
sleep 60 &
npid=$!
pids="$pids $npid"
# ns_refused ARGS: cprof ARGS, from a user namespace of its own, is refused so.
ns_refused() {
	expect_exit 1 unshare -U -r "$CPROF" "$@"
	expect_lines 1 "$T/err"
	expect_grep "although cprof has CAP_SYS_PTRACE: the process is outside cprof's user namespace" "$T/err"
}
if unshare -U -r true 2>/dev/null; then
	ns_refused threads --pid "$npid"
	# Past perf_event_paranoid 2 the refusal of cpu names that sysctl first.
	[ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 2 ] || ns_refused cpu --pid "$npid" --seconds 1
	untraced "$npid"
else
	echo "no user namespaces here: the namespace case is left out"
fi
kill "$npid"
finish
