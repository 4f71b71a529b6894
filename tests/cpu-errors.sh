#!/bin/sh
# Every way a user can get `cprof cpu` wrong gets one clear line and the
# documented exit code, and no partial profile.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads

usage() {
	expect_exit 2 "$CPROF" cpu "$@"
	expect_grep '^cprof: ' "$T/err"
	expect_grep '^usage: cprof cpu ' "$T/err"
}
usage
usage --pid
usage --pid abc
usage --pid 0
usage --pid 1 -- true
usage --seconds 0 --pid 1
usage --seconds 5x --pid 1
usage --frequency 0 --pid 1
usage --unwind lbr --pid 1
usage --stack-size 100 --pid 1
usage stray-argument

error() {
	expect_exit 1 "$CPROF" cpu "$@"
	expect_lines 1 "$T/err"
	expect_lines 0 "$T/out"
}
error --pid 2147483647 --seconds 1
expect_grep '^cprof: no such process 2147483647$' "$T/err"
error --pid 2 --seconds 1
expect_grep '^cprof: process 2 is a kernel thread' "$T/err"
error -o "$T/out.pb.gz" -- "$T/no-such-command"
expect_grep "^cprof: cannot run $T/no-such-command: No such file or directory$" "$T/err"
ok
[ ! -e "$T/out.pb.gz" ] || fail "a profile was written for a command that did not run"

# An output that cannot be written fails at once, before profiling.
"$W/cpuwork-nofp" --seconds 20 &
pid=$!
error --pid "$pid" --seconds 5 -o "$T/no/such/dir/p.pb.gz"
expect_grep "^cprof: cannot write $T/no/such/dir/p.pb.gz: No such file or directory$" "$T/err"

# A zombie has nothing to profile.
sh -c 'sleep 0.1 & exec sleep 20' &
parent=$!
zombie_child() {
	zombie=$(pgrep -P "$parent" || true)
	[ -n "$zombie" ] && [ "$(state "$zombie")" = Z ]
}
ok
if wait_until 20 zombie_child; then
	error --pid "$zombie" --seconds 1
	expect_grep "^cprof: process $zombie is a zombie" "$T/err"
	expect_exit 1 "$CPROF" threads --pid "$zombie"
	expect_grep "^cprof: process $zombie is a zombie" "$T/err"
else
	fail "no zombie appeared under $parent"
fi
kill "$parent" 2>/dev/null || true

# Permissions: as an unprivileged user, another user's process is refused with
# a message saying what would allow it, while the user's own process works.
if [ "$(id -u)" = 0 ] && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	mkdir "$T/perm"
	chmod 777 "$T/perm"
	chmod 711 "$T"
	expect_exit 1 $nobody "$CPROF" cpu --pid "$pid" --seconds 1 -o "$T/perm/p.pb.gz"
	expect_lines 1 "$T/err"
	expect_grep "^cprof: not allowed to profile process $pid: it belongs to uid 0; run cprof as that user or as root, or give cprof CAP_SYS_PTRACE and CAP_PERFMON$" "$T/err"
	ok
	[ ! -e "$T/perm/p.pb.gz" ] || fail "a profile was written without permission"
	# Another unprivileged user's process (uid 1, daemon) is refused alike.
	setpriv --reuid=1 --regid=1 --clear-groups "$W/cpuwork-nofp" --seconds 20 &
	other=$!
	wait_until 20 owned "$other" 1 || true
	expect_exit 1 $nobody "$CPROF" cpu --pid "$other" --seconds 1 -o "$T/perm/o.pb.gz"
	expect_grep "^cprof: not allowed to profile process $other: it belongs to uid 1; " "$T/err"
	expect_exit 1 $nobody "$CPROF" threads --pid "$other"
	expect_grep "^cprof: not allowed to trace process $other: it belongs to uid 1; " "$T/err"
	kill "$other"
	if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ]; then
		$nobody "$W/cpuwork-nofp" --seconds 20 &
		own=$!
		wait_until 20 owned "$own" 65534 || true
		expect_exit 0 $nobody "$CPROF" cpu --pid "$own" --seconds 1 -o "$T/perm/own.pb.gz"
		expect_grep '^Samples: [1-9][0-9]*, ' "$T/out"
		# Wall mode's two sets of rings fit the locked memory a user may
		# have (kernel.perf_event_mlock_kb, then ulimit -l).
		expect_exit 0 $nobody "$CPROF" cpu --mode wall --pid "$own" --seconds 1 -o "$T/perm/wall.pb.gz"
		expect_grep '^Samples: [1-9][0-9]*, ' "$T/out"
		kill "$own"
		# With that memory taken by a profiler that holds it, one that has
		# no ulimit -l of its own is told what to raise. The allowance is
		# per user: these run as a uid no other test uses. Where the
		# sysctls allow more (paranoid -1, a raised perf_event_mlock_kb)
		# nothing runs short, and this is not checked.
		mlock=$(cat /proc/sys/kernel/perf_event_mlock_kb)
		if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 0 ] && [ "$mlock" -le 1024 ]; then
			lone="setpriv --reuid=64123 --regid=64123 --clear-groups"
			$lone "$W/cpuwork-nofp" --seconds 20 &
			own=$!
			wait_until 20 owned "$own" 64123 || fail "cpuwork did not start as uid 64123"
			$lone "$CPROF" cpu --pid "$own" --seconds 10 -o "$T/perm/hold.pb.gz" \
				>"$T/hold.out" 2>"$T/hold.err" &
			hold=$!
			wait_until 20 grep -q '^cprof: profiling' "$T/hold.err" ||
				fail "the profiler holding the locked memory did not start: $(cat "$T/hold.err")"
			expect_exit 1 sh -c "ulimit -l 0 && exec $lone \"\$@\"" sh \
				"$CPROF" cpu --pid "$own" --seconds 1 -o "$T/perm/short.pb.gz"
			expect_lines 1 "$T/err"
			expect_grep "^cprof: cannot profile process $own: its ring buffers need more locked memory than this user has left \(sysctl kernel\.perf_event_mlock_kb, then ulimit -l\)" "$T/err"
			ok
			[ ! -e "$T/perm/short.pb.gz" ] || fail "a profile was written without its ring buffers"
			kill "$hold" "$own"
			wait "$hold" || true
		fi
	fi
	chmod 700 "$T"
fi
kill "$pid"

# A command that exits at once may be caught with its address space gone but
# not yet reapable: it still gives a profile and its exit status, exit 0.
# Two at a time, 50 in all, which widens that window on a loaded machine.
quick() {
	"$CPROF" cpu -o "$T/quick-$1.pb.gz" -- true >"$T/quick-$1.out" 2>"$T/quick-$1.err" ||
		echo "$1" >>"$T/quick-failed"
}
i=0
while [ $i -lt 50 ]; do
	quick $i &
	quick $((i + 1))
	wait
	i=$((i + 2))
done
ok
[ ! -e "$T/quick-failed" ] || fail "cpu -- true failed $(wc -l <"$T/quick-failed") of 50 times: $(cat "$T/quick-$(head -n 1 "$T/quick-failed").err")"
expect_eq "$(cat "$T"/quick-*.out | grep -c '^Command exited with status 0$')" 50 "exit statuses reported"
expect_eq "$(ls "$T"/quick-*.pb.gz | wc -l)" 50 "profiles written"
finish
