#!/bin/sh
# `cprof diff` on profiles of the suite's workload: a 60/30 split moved to
# 30/60 shows the shift's sign and size; a profile against itself shows no
# change; the same work captured for different lengths at different rates
# shows none either (shares, not counts); the diff profile reads back.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads/cpuwork-nofp

# User space only: on a loaded machine the kernel's share (its interrupt
# and scheduling paths, where preemption lands) grows, and shrinks every user
# function's share with it (work_a's change came out -24.47 for -30 in a
# sanitizer run beside other work); what is compared here is diff's
# arithmetic, not how busy the machine was.
profile() {
	out=$1
	shift
	"$CPROF" cpu --user-only -o "$out" "$@" >"$T/cpu.out" 2>&1 ||
		{ fail "cprof cpu $*"; cat "$T/cpu.out" >&2; }
}

# change FILE FUNCTION: FUNCTION's change in flat share, in points.
change() {
	awk -v f="$2" '$7 == f {print $3; exit}' "$1"
}

near() {
	ok
	awk -v v="${1:-x}" -v w="$2" -v t="$3" 'BEGIN {exit !(v != "x" && v - w <= t && w - v <= t)}' ||
		fail "$4: ${1:-missing}, expected $2 +- $3"
}

# A fixed amount of work (a round is ~2.7 ms of CPU), not a fixed time: on a
# loaded machine a timed run gets fewer samples, and the shares' sampling
# error grows past the tolerances below.
profile "$T/a.pb.gz" -F 499 -- "$W" --threads 2 --rounds 750
profile "$T/b.pb.gz" -F 499 -- "$W" --threads 2 --rounds 750 --split 3:6:1
profile "$T/c.pb.gz" -F 199 -- "$W" --threads 2 --rounds 1500
profile "$T/d.pb.gz" -F 999 -- "$W" --threads 2 --rounds 560

# 60/30/10 -> 30/60/10: work_a loses about 30 points, work_b gains as much.
expect_exit 0 "$CPROF" diff "$T/a.pb.gz" "$T/b.pb.gz" --top 0 -o "$T/ab.pb.gz"
cp "$T/out" "$T/ab.txt"
expect_grep '^Base .*a\.pb\.gz: total [0-9.]+m?s in [0-9.]+m?s, sampled at 499 Hz$' "$T/ab.txt"
expect_grep '^ +base +new +change +base +new +change  function$' "$T/ab.txt"
near "$(change "$T/ab.txt" work_a)" -30 5 "work_a's change"
near "$(change "$T/ab.txt" work_b)" 30 5 "work_b's change"
near "$(change "$T/ab.txt" work_c)" 0 3 "work_c's change"
first=$(awk '/ function$/ {getline; print $7; exit}' "$T/ab.txt")
ok
case $first in stage_a | work_a | stage_b | work_b) ;; *) fail "largest change is $first" ;; esac

# Against itself: no change at all.
expect_exit 0 "$CPROF" diff "$T/a.pb.gz" "$T/a.pb.gz" --top 0
expect_no_grep ' [+-][0-9.]*[1-9][0-9.]* ' "$T/out"

# The same work, 8 s of CPU at 199 Hz against 3 s at 999 Hz: shares agree
# (about 1600 and 3000 samples: a share's sampling error is about 1.3 points).
expect_exit 0 "$CPROF" diff "$T/c.pb.gz" "$T/d.pb.gz" --top 0
expect_grep 'sampled at 199 Hz$' "$T/out"
expect_grep 'sampled at 999 Hz$' "$T/out"
for f in work_a work_b work_c; do
	near "$(change "$T/out" $f)" 0 5 "$f's change between rates and lengths"
done

# The diff profile: BASE scaled to NEW's total and negated, read by cprof
# report (shares are changes in points) and by go tool pprof.
expect_exit 0 "$CPROF" report --top 0 "$T/ab.pb.gz"
wa=$(awk '$6 == "work_a" {sub("%", "", $2); print $2}' "$T/out")
near "$wa" "$(change "$T/ab.txt" work_a)" 0.1 "work_a in the diff profile"
expect_exit 0 "$CPROF" report --flame --width 80 "$T/ab.pb.gz"
expect_grep '^ *-[0-9.]+% [ ░]*░+[ ░▏▎▍▌▋▊▉]* +work_a$' "$T/out"
expect_grep '^ *\+[0-9.]+% [ █▏▎▍▌▋▊▉]*█+[ ▏▎▍▌▋▊▉]* +work_b$' "$T/out"
expect_exit 0 "$CPROF" report --svg "$T/ab.svg" "$T/ab.pb.gz"
expect_grep '<title>work_a \(-' "$T/ab.svg"
expect_grep '<title>work_b \(\+' "$T/ab.svg"
if command -v go >/dev/null 2>&1; then
	go tool pprof -top "$T/ab.pb.gz" >"$T/pprof" 2>&1 || fail "go tool pprof cannot read the diff"
	expect_grep '^ *-[0-9.]+(ns|us|ms|s) +[0-9.]+% .* work_a$' "$T/pprof"
fi

# Profiles of different kinds cannot be compared; the message names the types.
expect_exit 1 "$CPROF" diff "$top_srcdir/tests/fixtures/go-cpu.pb.gz" "$top_srcdir/tests/fixtures/go-heap.pb.gz"
expect_lines 1 "$T/err"
expect_grep '^cprof: cannot compare cpu/nanoseconds with inuse_space/bytes: .*go-cpu\.pb\.gz has samples/count, cpu/nanoseconds; .*go-heap\.pb\.gz has alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes' "$T/err"
expect_exit 0 "$CPROF" diff --sample-index samples "$T/a.pb.gz" "$top_srcdir/tests/fixtures/go-cpu.pb.gz"
expect_exit 2 "$CPROF" diff "$T/a.pb.gz"
expect_grep '^usage: cprof diff \[BASE NEW\] ' "$T/err"
expect_exit 1 "$CPROF" diff "$T/a.pb.gz" "$T/missing.pb.gz"
expect_grep '^cprof: .*missing\.pb\.gz: No such file' "$T/err"

finish
