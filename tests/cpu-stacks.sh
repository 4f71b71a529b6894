#!/bin/sh
# What `cprof cpu` does at the edges of a stack: a stack deeper than the copy
# is marked [truncated] and counted, and the default copy reaches the entry
# of a deep one; time in the kernel is sampled with kernel frames where the
# kernel allows it, and is named as unseen where it does not.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
if [ "$(id -u)" != 0 ] && [ "$paranoid" -gt 2 ]; then
	echo "SKIP: kernel.perf_event_paranoid is $paranoid and we are not root"
	exit 77
fi

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
at_least "$(share_of "$T/cut.pb.gz" '^\[truncated\];(descend;)+deepest$')" 90 "cut stacks under [truncated]"
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

finish
