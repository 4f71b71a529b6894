#!/bin/sh
# Every bad input a user can give `cprof report` ends in one clear line and the
# documented exit code, with nothing half-written on stdout or on disk.
. "$top_srcdir/tests/lib.sh"

good=$FIXTURES/go-cpu.pb.gz

# A corrupt or unreadable profile: exit 1, one "cprof: " line, no stdout.
corrupt() {
	expect_exit 1 "$CPROF" report "$1"
	expect_lines 1 "$T/err"
	expect_grep "^cprof: .*$2" "$T/err"
	expect_lines 0 "$T/out"
}

: >"$T/empty"
corrupt "$T/empty" "empty file"
head -c 3000 /dev/urandom >"$T/random"
printf 'x' | cat - "$T/random" >"$T/random2" # never a gzip magic
corrupt "$T/random2" "not a pprof profile"
head -c 3000 /dev/urandom | gzip -c >"$T/gzip-garbage"
corrupt "$T/gzip-garbage" "not a pprof profile"
size=$(wc -c <"$good")
head -c $((size / 2)) "$good" >"$T/truncated"
corrupt "$T/truncated" "truncated gzip"
printf 'hello, world\n' | gzip -c >"$T/text.gz"
corrupt "$T/text.gz" "not a pprof protobuf profile, nor text in a legacy format that go tool pprof reads"
printf '\037\213garbage' >"$T/bad-gzip"
corrupt "$T/bad-gzip" "gzip"
corrupt "$T/no-such-file" "No such file"
corrupt "$T" "directory"
# Permission problems need an unprivileged user: as root, run as nobody.
as_user=
if [ "$(id -u)" = 0 ] && setpriv --reuid=65534 --regid=65534 --clear-groups "$CPROF" --version >/dev/null 2>&1; then
	as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" != 0 ] || [ -n "$as_user" ]; then
	mkdir "$T/perm"
	cp "$good" "$T/perm/unreadable"
	chmod 000 "$T/perm/unreadable"
	chmod 777 "$T/perm"
	chmod 711 "$T"
	expect_exit 1 $as_user "$CPROF" report "$T/perm/unreadable"
	expect_grep "^cprof: .*unreadable: Permission denied" "$T/err"
	mkdir "$T/perm/ro"
	chmod 555 "$T/perm/ro"
	expect_exit 1 $as_user "$CPROF" report --svg "$T/perm/ro/x.svg" "$good"
	expect_grep "^cprof: cannot write .*Permission denied" "$T/err"
	expect_eq "$(ls -A "$T/perm/ro")" "" "files left in an unwritable directory"
	chmod 700 "$T"
else
	echo "note: permission checks skipped (root without setpriv)"
fi

# Bad usage: exit 2, the problem then the usage line.
usage() {
	expect_exit 2 "$CPROF" "$@"
	expect_lines 2 "$T/err"
	expect_grep "^cprof: " "$T/err"
	expect_grep "^usage: cprof report " "$T/err"
}
usage report
usage report --store "$T" "$good"
usage report --tagfocus 'k=(' "$good"
usage report --no-such-option "$good"
usage report --top
usage report --top many "$good"
usage report --top -3 "$good"
usage report --width 5 "$good"
usage report --min-percent 200 "$good"
usage report --focus '(' "$good"
usage report --flame=yes "$good"
usage report --base "$good" --diff-base "$good" "$good"
usage report --peek '(' "$good"
usage report --list '[' "$good"
usage report --nodefraction 2 "$good"
usage report --lines --files "$good"

# A base of another kind, or none; a view with nothing to show: exit 1, one line.
one_line() {
	line=$1
	shift
	expect_exit 1 "$CPROF" report "$@"
	expect_lines 1 "$T/err"
	expect_grep "^cprof: .*$line" "$T/err"
	expect_lines 0 "$T/out"
}
one_line "cannot be its base" --base "$FIXTURES/go-heap.pb.gz" "$good"
one_line "No such file" --diff-base "$T/no-such-file" "$good"
one_line "no matches found for regexp: nothing_like_this" --peek nothing_like_this "$good"
one_line "no matches found for regexp: nothing_like_this" --list nothing_like_this "$good"

# A sample type the profile lacks is bad usage: it names the types.
expect_exit 2 "$CPROF" report --sample-index bogus "$good"
expect_grep "^cprof: .*no sample type 'bogus' \(the profile has: samples, cpu\)" "$T/err"
expect_grep "^usage: cprof report " "$T/err"

# stdout that cannot be written (a full disk) is an error, not a silent success.
if [ -w /dev/full ]; then
	set +e
	"$CPROF" report --folded "$good" >/dev/full 2>"$T/err"
	rc=$?
	set -e
	expect_eq "$rc" 1 "exit status writing to /dev/full"
	expect_grep "^cprof: cannot write standard output" "$T/err"
fi

# An SVG that cannot be written: exit 1, and no partial file anywhere.
mkdir "$T/ro"
expect_exit 1 "$CPROF" report --svg "$T/ro/missing/x.svg" "$good"
expect_grep "^cprof: cannot write $T/ro/missing/x.svg" "$T/err"
expect_exit 1 "$CPROF" report --callgrind "$T/ro/missing/x.cg" "$good"
expect_grep "^cprof: cannot write $T/ro/missing/x.cg" "$T/err"
expect_exit 1 "$CPROF" report --dot "$T/ro/missing/x.dot" "$good"
expect_grep "^cprof: cannot write $T/ro/missing/x.dot" "$T/err"

finish
