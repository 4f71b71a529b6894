# Shared by the shell tests: a private temporary directory, assertions that
# say what they expected, and the cprof binary under test ($CPROF).
set -eu
: "${CPROF:?set CPROF to the cprof binary}"
: "${top_srcdir:?set top_srcdir to the source tree}"
FIXTURES=$top_srcdir/tests/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-test.XXXXXX")
# bg: the pids of background processes a test starts, killed at its end.
bg=
trap 'for p in $bg; do kill -KILL "$p" 2>/dev/null || :; done; rm -rf "$T"' EXIT
# Each test inflates debug files into a cache of its own, never the user's.
CPROF_CACHE_DIR=$T/debug-cache
export CPROF_CACHE_DIR
failures=0
checks=0

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

ok() {
	checks=$((checks + 1))
}

# expect_exit CODE CMD...: run CMD, keep stdout in $T/out and stderr in $T/err.
expect_exit() {
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	ok
	if [ "$got" != "$want" ]; then
		fail "exit $got, expected $want: $*"
		sed 's/^/  stderr: /' "$T/err" >&2
	fi
}

# expect_grep PATTERN FILE: FILE has a line matching the extended regex.
expect_grep() {
	ok
	grep -Eq -- "$1" "$2" || { fail "no line matching '$1' in $2:"; sed 's/^/  | /' "$2" | head -20 >&2; }
}

expect_no_grep() {
	ok
	! grep -Eq -- "$1" "$2" || { fail "unexpected line matching '$1' in $2"; grep -E -- "$1" "$2" | head -5 >&2; }
}

# expect_lines N FILE
expect_lines() {
	ok
	n=$(wc -l <"$2")
	[ "$n" -eq "$1" ] || { fail "$2 has $n lines, expected $1:"; sed 's/^/  | /' "$2" | head -20 >&2; }
}

expect_eq() {
	ok
	[ "$1" = "$2" ] || fail "${3:-values differ}: '$1' != '$2'"
}

# store_windows DIR: the windows of cprof record's store DIR, DAY/FILE, oldest first.
store_windows() {
	(cd "$1" 2>/dev/null && ls -1 2*/*.pb.gz 2>/dev/null | sort)
}

# untraced PID: the target runs on, with no thread traced or stopped.
untraced() {
	ok
	kill -0 "$1" 2>/dev/null || { fail "target $1 is gone"; return; }
	for task in /proc/"$1"/task/*; do
		state=$(awk '/^State:/ {print $2}' "$task/status" 2>/dev/null) || continue
		tracer=$(awk '/^TracerPid:/ {print $2}' "$task/status" 2>/dev/null) || continue
		[ "${tracer:-0}" = 0 ] || fail "thread ${task##*/} of $1 has TracerPid $tracer"
		case $state in T | t) fail "thread ${task##*/} of $1 is left stopped ($state)" ;; esac
	done
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (status 0)
# or SECONDS pass (status 1). For states a target reaches in its own time.
wait_until() {
	_wait_left=$(($1 * 10))
	shift
	while [ "$_wait_left" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_wait_left=$((_wait_left - 1))
	done
	return 1
}

# state PID: the one-letter state of process (or thread) PID.
state() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1
}

# asleep PID N: PID has N threads, every one asleep (S).
asleep() {
	_asleep_n=0
	for _asleep_task in /proc/"$1"/task/*; do
		[ "$(state "$1/task/${_asleep_task##*/}")" = S ] || return 1
		_asleep_n=$((_asleep_n + 1))
	done
	[ "$_asleep_n" -eq "$2" ]
}

# settle PID N: wait until PID has N threads, all asleep (a workload has
# started them and they wait where the test expects them).
settle() {
	ok
	wait_until 20 asleep "$1" "$2" || fail "process $1 did not settle at $2 sleeping threads"
}

# has_threads PID N: PID has N threads.
has_threads() {
	[ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -eq "$2" ]
}

# has_threads_over PID N: PID has more than N threads.
has_threads_over() {
	[ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -gt "$2" ]
}

# some_asleep PID: a thread of PID other than the first is asleep (S).
some_asleep() {
	for _some_task in /proc/"$1"/task/*; do
		[ "${_some_task##*/}" != "$1" ] && [ "$(state "$1/task/${_some_task##*/}")" = S ] && return 0
	done
	return 1
}

# owned PID UID: process PID runs as UID.
owned() {
	[ "$(stat -c %u "/proc/$1" 2>/dev/null)" = "$2" ]
}

# need_perf_events: skip (77) where perf events cannot be opened on one's
# own processes; sets $paranoid to kernel.perf_event_paranoid.
need_perf_events() {
	paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
	if [ "$(id -u)" != 0 ] && [ "$paranoid" -gt 2 ]; then
		echo "SKIP: kernel.perf_event_paranoid is $paranoid and we are not root"
		exit 77
	fi
}

# need_go NAME: skip (77) where Go (with go tool pprof) is not installed;
# then Go has a writable build cache, a private one if the default is not.
need_go() {
	if ! command -v go >/dev/null 2>&1 || ! go tool pprof -h >/dev/null 2>&1; then
		echo "$1: SKIP: go tool pprof is not installed"
		exit 77
	fi
	_gocache=$(go env GOCACHE 2>/dev/null || true)
	if [ -z "$_gocache" ] || [ "$_gocache" = off ] ||
		! { mkdir -p "$_gocache" && [ -w "$_gocache" ]; } 2>/dev/null; then
		GOCACHE=$T/gocache
		export GOCACHE
	fi
}

# as_nobody_setup: true where the tests can run a command as nobody with no
# privilege over perf events (we are root, perf_event_paranoid is 2 or more,
# setpriv works); then $T/nobody is a directory nobody writes in.
as_nobody_setup() {
	[ "$(id -u)" = 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 2 ] &&
		setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null || return 1
	mkdir -p "$T/nobody"
	chmod 777 "$T/nobody"
	chmod 711 "$T"
}
# as_nobody CMD...: run CMD as nobody.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

finish() {
	echo "$(basename "$0"): $checks checks, $failures failed"
	[ "$failures" -eq 0 ]
}
