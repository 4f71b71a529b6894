#!/bin/sh
# What `cprof cpu` does at the edges of a stack: a stack deeper than the copy
# is marked [truncated] and counted, and the default copy reaches the entry
# of a deep one; time in the kernel is sampled with kernel frames where the
# kernel allows it, and is named as unseen where it does not.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads
need_perf_events

# share_of FILE REGEX: the percentage of samples whose folded (root-first)
# stack matches REGEX.
share_of() {
	"$CPROF" report --folded --sample-index samples "$1" >"$T/folded"
	awk -v re="$2" '{s = $0; sub(/ [0-9]+$/, "", s); n += $NF; if (s ~ re) k += $NF}
		END {printf "%.2f", n ? 100 * k / n : 0}' "$T/folded"
}

# at_least PCT MIN WHAT
at_least() {
	ok
	awk -v p="$1" -v m="$2" 'BEGIN {exit !(p >= m)}' || {
		fail "$3: $1%, expected at least $2%"
		sort -t' ' -k2 -rn "$T/folded" | head -5 | cut -c1-300 >&2
	}
}

# A copy of 1 KiB holds a few of the 100 frames of ~300 bytes: every stack is
# cut, gets a [truncated] root, and the summary counts them with the hint.
expect_exit 0 "$CPROF" cpu --stack-size 1024 -o "$T/cut.pb.gz" -- "$W/stackwork" --depth 100 --seconds 1
expect_grep '^Truncated stacks: [0-9]+ \((9[0-9]|100)\.[0-9]%\) stop short of the program.s entry, under a \[truncated\] root: raise --stack-size \(now 1024, at most 65528\)$' "$T/out"
at_least "$(share_of "$T/cut.pb.gz" '^\[truncated\];(descend;)+deepest(;|$)')" 90 "cut stacks under [truncated]"
expect_exit 0 "$CPROF" report --top 0 "$T/cut.pb.gz"
expect_grep ' \[truncated\]$' "$T/out"
# The default copy at the default 99 Hz reaches _start through all of them.
expect_exit 0 "$CPROF" cpu -o "$T/deep.pb.gz" -- "$W/stackwork" --depth 100 --seconds 1
expect_no_grep '^Truncated' "$T/out"
at_least "$(share_of "$T/deep.pb.gz" '^_start;__libc_start_main[^;]*;__libc_start_call_main;')" 99 "deep stacks, default copy"
expect_grep '^_start;__libc_start_main[^;]*;__libc_start_call_main;main;(descend;){100}deepest [0-9]+$' "$T/folded"
if command -v go >/dev/null 2>&1; then
	go tool pprof -top -nodefraction=0 "$T/cut.pb.gz" >"$T/pprof" 2>"$T/pprof.err" || fail "go tool pprof failed"
	expect_grep '^ +0 +0% +[0-9.]+% +[0-9.]+m?s +(9[0-9]|100)(\.[0-9]+)?% +\[truncated\]$' "$T/pprof"
fi

# pct_of LINE-REGEX FILE: the first percentage in the line matching it.
pct_of() {
	grep -E -- "$1" "$2" | head -1 | sed -E 's/^[^(]*\(([0-9.]+)%\).*/\1/'
}

# Time in the kernel. Where it may be sampled (root, CAP_PERFMON or
# kernel.perf_event_paranoid <= 1), a workload that reads /dev/zero has most
# of its samples in the kernel, named from /proc/kallsyms under
# [kernel.kallsyms], above the user stack that made the call.
kernel_pct=
if [ "$(id -u)" = 0 ] || [ "$paranoid" -le 1 ]; then
	expect_exit 0 "$CPROF" cpu -o "$T/kern.pb.gz" -- "$W/stackwork" --read-zero --seconds 1
	expect_grep '^Kernel: [0-9]+ samples \([0-9.]+%\) in the kernel, under \[kernel\.kallsyms\] frames; --user-only leaves them out$' "$T/out"
	kernel_pct=$(pct_of '^Kernel: ' "$T/out")
	kernel_n=$(sed -nE 's/^Kernel: ([0-9]+) samples.*/\1/p' "$T/out")
	at_least "${kernel_pct:-0}" 50 "samples in the kernel"
	at_least "$(share_of "$T/kern.pb.gz" '^_start;__libc_start_main[^;]*;__libc_start_call_main;main;zero_reader;[^;]*read[^;]*;.*;vfs_read(;|$)')" 50 "kernel frames above the user stack"
	expect_exit 0 "$CPROF" report --top 0 "$T/kern.pb.gz"
	expect_grep ' vfs_read \(\[kernel\.kallsyms\]\)$' "$T/out"
	ok
	zcat "$T/kern.pb.gz" | grep -aq 'kernel\.kallsyms' || fail "no [kernel.kallsyms] mapping in the profile"
	if command -v go >/dev/null 2>&1; then
		go tool pprof -top -nodefraction=0 "$T/kern.pb.gz" >"$T/pprof" 2>&1 || fail "go tool pprof failed"
		expect_grep ' vfs_read$' "$T/pprof"
	fi
	# --user-only: no kernel frames, and the kernel's share from /proc instead.
	expect_exit 0 "$CPROF" cpu --user-only -o "$T/user.pb.gz" -- "$W/stackwork" --read-zero --seconds 1
	expect_grep '^Kernel: [0-9.]+m?s of the target.s [0-9.]+m?s of CPU \([0-9.]+%\) was in the kernel, left out by --user-only$' "$T/out"
	expect_exit 0 "$CPROF" report --top 0 "$T/user.pb.gz"
	expect_no_grep 'kernel\.kallsyms' "$T/out"
fi

# Where the kernel may not be sampled (an unprivileged user at paranoid 2),
# the summary says how much of the target's CPU time, from /proc, was in the
# kernel and unseen, and what would show it; about the share sampled above.
if [ "$(id -u)" = 0 ] && [ "$paranoid" = 2 ] &&
	setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	mkdir "$T/perm"
	chmod 777 "$T/perm"
	chmod 711 "$T"
	$nobody "$W/stackwork" --read-zero --seconds 60 &
	own=$!
	wait_until 20 owned "$own" 65534 || true
	expect_exit 0 $nobody "$CPROF" cpu --pid "$own" --seconds 1 -o "$T/perm/own.pb.gz"
	expect_grep '^Kernel: [0-9.]+m?s of the target.s [0-9.]+m?s of CPU \([0-9.]+%\) was in the kernel, unseen: sampling the kernel needs root or CAP_PERFMON, or the sysctl kernel\.perf_event_paranoid=1 or lower$' "$T/out"
	unseen=$(pct_of '^Kernel: ' "$T/out")
	at_least "${unseen:-0}" 50 "unseen kernel share"
	if [ -n "$kernel_pct" ]; then
		ok
		# 20 points, or four standard errors of the sampled share where its
		# samples are few (a sanitizer build on a busy machine).
		awk -v a="${unseen:-0}" -v b="$kernel_pct" -v k="${kernel_n:-0}" 'BEGIN {
			n = b > 0 ? 100 * k / b : 0; p = b / 100
			tol = n > 0 ? 400 * sqrt((p * (1 - p) + 1 / n) / n) : 100
			if (tol < 20) tol = 20
			exit !(a - b <= tol && b - a <= tol)
		}' || fail "unseen kernel share ${unseen}% is far from the sampled ${kernel_pct}% (of $kernel_n kernel samples)"
	fi
	kill "$own"
	wait "$own" 2>/dev/null || true
	chmod 700 "$T"
fi

finish
