#!/bin/sh
# The messages a new user meets first say what was wrong with what they typed,
# and what to type instead: threads' --watch and --interval, durations out of
# range, a command that does not exist, a sample type a profile lacks, and
# the help and version spellings other tools accept.
. "$top_srcdir/tests/lib.sh"

good=$FIXTURES/go-cpu.pb.gz

# usage CMD ARGS...: exit 2, one "cprof: " line, then CMD's usage line.
usage() {
	cmd=$1
	expect_exit 2 "$CPROF" "$@"
	expect_lines 2 "$T/err"
	expect_grep "^usage: cprof $cmd " "$T/err"
	expect_lines 0 "$T/out"
}

sleep 30 &
pid=$!

# --watch shorter than the default interval: the default is named, and the fix.
usage threads --pid "$pid" --watch 2s
expect_grep "^cprof: --watch 2s is shorter than the default --interval of 5s: pass a shorter --interval$" "$T/err"
usage threads --pid "$pid" --watch 2s --interval 3s
expect_grep "^cprof: --interval 3s is longer than --watch 2s$" "$T/err"
# --interval without --watch would be ignored: it is refused.
usage threads --pid "$pid" --interval 1s
expect_grep "^cprof: --interval is the time between polls of --watch: give --watch too" "$T/err"
untraced "$pid"

# A duration out of range says the range.
for d in 0 0s 0.1ns 8785h 99999999999; do
	usage cpu --pid "$pid" --seconds "$d"
	expect_grep "^cprof: --seconds: bad duration '$d': out of range \(from 1ns to 8784h, 366 days\)$" "$T/err"
done
usage threads --pid "$pid" --watch 0
expect_grep "^cprof: --watch: bad duration '0': out of range \(from 1ns to 8784h" "$T/err"
kill "$pid" 2>/dev/null || true

# A command that is not there is named.
expect_exit 1 "$CPROF" cpu -o "$T/p.pb.gz" -- cprof-no-such-command --flag
expect_lines 1 "$T/err"
expect_grep "^cprof: cannot run cprof-no-such-command: no such command in PATH$" "$T/err"
ok
[ ! -e "$T/p.pb.gz" ] || fail "a profile was written for a command that did not run"

# A sample type the profile lacks is bad usage (cprof-report(1)).
usage report --sample-index nosuch "$good"
expect_grep "^cprof: bad value for --sample-index: no sample type 'nosuch' \(the profile has: samples, cpu\)$" "$T/err"

# help help, -V and version are what --help and --version are.
"$CPROF" --help >"$T/help" 2>&1
"$CPROF" --version >"$T/version" 2>&1
expect_exit 0 "$CPROF" help help
expect_eq "$(cat "$T/out")" "$(cat "$T/help")" "cprof help help"
for v in -V version; do
	expect_exit 0 "$CPROF" "$v"
	expect_eq "$(cat "$T/out")" "$(cat "$T/version")" "cprof $v"
	expect_lines 0 "$T/err"
done

finish
