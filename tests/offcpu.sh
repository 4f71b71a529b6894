#!/bin/sh
# `cprof offcpu` and `cpu --mode wall` on waitwork, whose threads' waits are
# known: the reader's blocked time splits 70/30 between wait_pipe and
# wait_sleep; the two lockers' blocked time is under pthread_mutex_lock in
# lock_site; the busy thread is never blocked (it may be runnable, preempted:
# that is labelled apart). The profile is a Go block profile go tool pprof
# reads; --pid leaves the target running and untraced; without the privilege
# one line names it and each thread's off-CPU time is still there; past
# --max-rate the sampled waits stand for all of them; wall mode accounts for
# each thread's whole life; bad input gets one line and the documented code.
. "$top_srcdir/tests/lib.sh"
need_perf_events

W=$top_builddir/tests/workloads

# traces PROFILE: one tab-separated line per stack of `cprof report --traces`:
# its thread, state, value in nanoseconds and frames ("-" for a missing label).
traces() {
	"$CPROF" report --traces "$1" | awk '
	function ns(v) {
		if (v ~ /ns$/) return v + 0
		if (v ~ /us$/) return v * 1e3
		if (v ~ /ms$/) return v * 1e6
		if (v ~ /s$/) return v * 1e9
		return v + 0
	}
	function flush() {
		if (inblock)
			printf "%s\t%s\t%.0f\t%s\n", t == "" ? "-" : t, s == "" ? "-" : s, val, frames
		t = ""; s = ""; val = 0; frames = ""
	}
	/^-+\+/ { flush(); inblock = 1; next }
	inblock && /^ +thread: / { t = $2; next }
	inblock && /^ +state: / { s = $2; next }
	inblock && /^ +[a-z]+: / { next }
	inblock && val == 0 && NF >= 2 { val = ns($1); frames = $0; next }
	inblock { frames = frames $0 }
	END { flush() }'
}
# share PROFILE THREAD STATE FUNC: the share (percent, rounded) of THREAD's
# time in STATE whose stack holds FUNC.
share() {
	traces "$1" | awk -F '\t' -v th="$2" -v st="$3" -v fn="$4" '
	$1 == th && $2 == st { all += $3; if (index($4, fn)) hit += $3 }
	END { if (all > 0) printf "%d\n", 100 * hit / all + 0.5; else print -1 }'
}
# total PROFILE THREAD STATE: THREAD's time in STATE ("": any), in milliseconds.
total() {
	traces "$1" | awk -F '\t' -v th="$2" -v st="$3" '
	$1 == th && (st == "" || $2 == st) { all += $3 }
	END { printf "%d\n", all / 1e6 }'
}
# measured FILE: the reader's share (percent) of its waits in the pipe, as
# waitwork measured them itself ("reader pipe_ns=P sleep_ns=S" at SIGTERM);
# 70 where it said nothing.
measured() {
	sed -n 's/^reader pipe_ns=\([0-9]*\) sleep_ns=\([0-9]*\)$/\1 \2/p' "$1" |
		awk 'END { if ($1 + $2 > 0) printf "%d\n", 100 * $1 / ($1 + $2) + 0.5; else print 70 }'
}
# near GOT WANT TOL WHAT
near() {
	ok
	[ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ] ||
		fail "$4: $1, expected $2 +-$3"
}

# --- A launched command, privileged: stacks at every switch-out.
if [ "$(id -u)" = 0 ] || [ "$paranoid" -le 1 ]; then
	expect_exit 0 "$CPROF" offcpu --seconds 4 -o "$T/off.pb.gz" -- "$W/waitwork"
	cp "$T/out" "$T/off.out"
	expect_grep '^Waits: [0-9]+, blocked ' "$T/off.out"
	expect_no_grep '^Stacks: none' "$T/off.out"
	expect_grep '^ +[0-9]+  reader ' "$T/off.out"
	# The design is 70/30; the reader's own clock says what it was this time
	# (on a loaded machine the sleep ends late), and cprof must agree with it.
	pipe=$(measured "$T/err")
	near "$(share "$T/off.pb.gz" reader blocked wait_pipe)" "$pipe" 5 "reader's blocked share in wait_pipe (it measured $pipe)"
	near "$(share "$T/off.pb.gz" reader blocked wait_sleep)" $((100 - pipe)) 5 "reader's blocked share in wait_sleep"
	near "$pipe" 70 25 "the reader's own share in wait_pipe"
	# The whole stack: from the syscall's wrapper to the thread's start.
	near "$(share "$T/off.pb.gz" reader blocked start_thread)" 100 1 "reader's stacks reaching start_thread"
	for l in lock-a lock-b; do
		near "$(share "$T/off.pb.gz" $l blocked pthread_mutex_lock)" 100 3 "$l blocked in pthread_mutex_lock"
		near "$(share "$T/off.pb.gz" $l blocked lock_site)" 100 3 "$l blocked under lock_site"
		ok
		[ "$(total "$T/off.pb.gz" $l blocked)" -gt 400 ] || fail "$l blocked only $(total "$T/off.pb.gz" $l blocked) ms"
	done
	# The reader waits nearly all of the 4 s; the busy thread never blocks.
	ok
	[ "$(total "$T/off.pb.gz" reader blocked)" -gt 3500 ] || fail "reader blocked only $(total "$T/off.pb.gz" reader blocked) ms"
	ok
	[ "$(total "$T/off.pb.gz" busy blocked)" -lt 40 ] || fail "busy blocked $(total "$T/off.pb.gz" busy blocked) ms"
	# Lock contention: the mutex's waits, focused.
	expect_exit 0 "$CPROF" report --focus pthread_mutex_lock --top 20 "$T/off.pb.gz"
	expect_grep 'lock_site' "$T/out"
	expect_no_grep 'wait_pipe|wait_sleep|busy_loop' "$T/out"
	# Go's block profile, as go tool pprof reads it.
	if command -v go >/dev/null 2>&1 && go tool pprof -h >/dev/null 2>&1; then
		expect_exit 0 go tool pprof -raw "$T/off.pb.gz"
		expect_grep '^ *contentions/count delay/nanoseconds' "$T/out"
		expect_exit 0 go tool pprof -top -sample_index=delay -tagfocus=thread=reader "$T/off.pb.gz"
		expect_grep 'read|nanosleep' "$T/out"
	fi

	# --- Attached to a running process: it runs on, untraced.
	"$W/waitwork" &
	pid=$!
	bg="$bg $pid"
	wait_until 20 has_threads "$pid" 6 || fail "waitwork did not start its threads"
	expect_exit 0 "$CPROF" offcpu --pid "$pid" --seconds 2 -o "$T/pid.pb.gz"
	cp "$T/out" "$T/pid.out"
	untraced "$pid"
	near "$(share "$T/pid.pb.gz" reader blocked wait_pipe)" 70 25 "attached: reader's share in wait_pipe"
	# The main thread sleeps in pause() all along: its wait began before.
	ok
	[ "$(total "$T/pid.pb.gz" waitwork "")" -gt 1800 ] || fail "main thread's wait lost: $(total "$T/pid.pb.gz" waitwork "") ms"
	expect_grep 'since before the start' "$T/pid.out"

	# --- Past the rate bound: about --max-rate stacks a second, the stacks'
	# shares estimated from them, each thread's totals exact.
	expect_exit 0 "$CPROF" offcpu --max-rate 500 --seconds 4 -o "$T/rate.pb.gz" -- "$W/waitwork"
	cp "$T/out" "$T/rate.out"
	pipe=$(measured "$T/err")
	expect_grep '^Sampled: [0-9]+ of [0-9]+ waits' "$T/rate.out"
	sampled=$(sed -n 's/^Sampled: \([0-9]*\) of.*/\1/p' "$T/rate.out")
	ok
	[ "${sampled:-0}" -le 3200 ] || fail "$sampled waits sampled at --max-rate 500 in 4 s"
	near "$(share "$T/rate.pb.gz" reader blocked wait_pipe)" "$pipe" 8 "sampled: reader's share in wait_pipe (it measured $pipe)"
	ok
	[ "$(total "$T/rate.pb.gz" reader blocked)" -gt 3500 ] || fail "sampled: reader blocked only $(total "$T/rate.pb.gz" reader blocked) ms"
	# A fast ping-pong: ping's waits (pong spins to keep the pace) under
	# ping_wait, each sample weighing the switch-outs it stands for, and what
	# the samples leave of ping's exact total under [off-CPU, not sampled],
	# nothing under another stack. The split between the two varies from run
	# to run (a sampled switch-out is late by its stack copy, which shortens
	# a wait that ends at a set time; a few long waits, when pong is
	# preempted, weigh much; under the sanitizers cprof is slow and more is
	# lost: 59% once), so only a share far above what unweighted samples
	# would give (about 1 in 40) is asked of ping_wait.
	expect_exit 0 "$CPROF" offcpu --max-rate 500 --seconds 2 -o "$T/fast.pb.gz" -- \
		"$W/waitwork" --switches 20000
	cp "$T/out" "$T/fast.out"
	sampled=$(sed -n 's/^Sampled: \([0-9]*\) of.*/\1/p' "$T/fast.out")
	ok
	[ "${sampled:-0}" -gt 0 ] && [ "$sampled" -le 1800 ] || fail "'$sampled' waits sampled at --max-rate 500 in 2 s"
	in_wait=$(share "$T/fast.pb.gz" ping blocked ping_wait)
	near "$in_wait" 100 60 "ping's blocked time under ping_wait"
	near $((in_wait + $(share "$T/fast.pb.gz" ping blocked 'not sampled'))) 100 1 \
		"ping's blocked time under ping_wait or not sampled"

	# --- Wall mode: on-CPU samples and waits, each thread's whole life.
	expect_exit 0 "$CPROF" cpu --mode wall --seconds 3 -o "$T/wall.pb.gz" -- "$W/waitwork"
	cp "$T/out" "$T/wall.out"
	expect_grep '^Type: wall|^ +tid  thread +wall' "$T/wall.out"
	# The kernel's share is of the samples on CPU, and says so.
	if grep -q '^Kernel: [0-9]* samples' "$T/wall.out"; then
		expect_grep '^Kernel: [0-9]+ samples \([0-9.]+% of those on CPU\) in the kernel' "$T/wall.out"
	fi
	for th in reader busy lock-a; do
		near "$(total "$T/wall.pb.gz" $th "")" 3000 450 "$th's wall time"
	done
	near "$(share "$T/wall.pb.gz" busy running busy_loop)" 100 2 "busy running in busy_loop"
	# Running or runnable (on a loaded machine it waits for a CPU), never blocked.
	ok
	[ "$(total "$T/wall.pb.gz" busy blocked)" -lt 40 ] || fail "busy blocked $(total "$T/wall.pb.gz" busy blocked) ms in wall mode"
	ok
	[ "$(total "$T/wall.pb.gz" busy running)" -gt 0 ] || fail "busy never ran in wall mode"
fi

# --- Without the privilege: no stacks, one line saying what would allow
# them, and each thread's off-CPU time still measured.
if as_nobody_setup; then
	expect_exit 0 as_nobody "$CPROF" offcpu --seconds 2 -o "$T/nobody/np.pb.gz" -- "$W/waitwork"
	cp "$T/out" "$T/np.out"
	expect_grep '^Stacks: none.*kernel\.perf_event_paranoid=1 or lower' "$T/np.out"
	# cprof's line, and waitwork's two at the SIGTERM that ends it.
	expect_lines 3 "$T/err"
	expect_grep '^reader pipe_ns=[0-9]+ sleep_ns=[0-9]+$' "$T/err"
	ok
	[ "$(total "$T/nobody/np.pb.gz" reader blocked)" -gt 1700 ] ||
		fail "unprivileged: reader blocked $(total "$T/nobody/np.pb.gz" reader blocked) ms"
	ok
	[ "$(total "$T/nobody/np.pb.gz" busy blocked)" -lt 40 ] ||
		fail "unprivileged: busy blocked $(total "$T/nobody/np.pb.gz" busy blocked) ms"
	expect_grep '\[off-CPU\]' "$T/np.out"
fi

# --- Bad input: one line, the documented code.
expect_exit 2 "$CPROF" offcpu --max-rate -1 --pid 1
expect_lines 2 "$T/err"
expect_exit 2 "$CPROF" offcpu --seconds 1
expect_exit 2 "$CPROF" cpu --mode idle --pid 1
expect_exit 1 "$CPROF" offcpu --pid 999999999 --seconds 1 -o "$T/never.pb.gz"
expect_lines 1 "$T/err"
expect_grep 'no such process' "$T/err"
ok
[ ! -e "$T/never.pb.gz" ] || fail "a file was left behind for a missing pid"

finish
