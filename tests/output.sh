#!/bin/sh
# Every command that writes a file leaves what the path named intact: a device
# or FIFO is written in place, a symlink is followed, a file keeps its mode,
# "-" is standard output; a path that cannot become the output is refused
# before any sampling; a new file never appears under a temporary name.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads/cpuwork-nofp
good=$FIXTURES/go-cpu.pb.gz

# A process to profile that outlives every run: a command that exits at once
# can be gone before cprof reads its maps.
sleep 300 &
sleeper=$!
PROFILE="cpu --pid $sleeper --seconds 100ms"

# readable FILE: FILE is a pprof profile cprof reads back.
readable() {
	ok
	"$CPROF" report "$1" >"$T/report.out" 2>&1 || { fail "$1 does not read back:"; sed 's/^/  | /' "$T/report.out" >&2; }
}

# A character device stays one (a node of our own: /dev/null is not put at
# risk; on a nodev filesystem it cannot be opened, and the check is skipped).
if [ "$(id -u)" = 0 ] && mknod "$T/null" c 1 3 2>/dev/null && [ -c "$T/null" ] &&
	(echo >"$T/null") 2>/dev/null; then
	expect_exit 0 "$CPROF" $PROFILE -o "$T/null"
	expect_grep "^Wrote $T/null$" "$T/out"
	ok
	[ -c "$T/null" ] || fail "-o on a character device replaced it with: $(ls -l "$T/null")"
	rm -f "$T/null"
else
	echo "note: character device check skipped (needs root and mknod)"
fi

# A FIFO gets the profile, read from its other end, and stays a FIFO.
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
expect_exit 0 "$CPROF" $PROFILE -o "$T/fifo"
ok
[ -p "$T/fifo" ] || fail "-o on a FIFO replaced it with: $(ls -l "$T/fifo")"
gone() { ! kill -0 "$1" 2>/dev/null; }
if wait_until 10 gone "$reader"; then
	readable "$T/from-fifo"
else
	fail "the FIFO's reader got no end of file"
	kill "$reader" 2>/dev/null || true
	rm -f "$T/fifo"
fi
wait "$reader" 2>/dev/null || true

# A symlink is followed, relative to its own directory: the link stays, the
# target is replaced, a dangling link's target is created.
mkdir "$T/sub"
echo old >"$T/sub/target.pb.gz"
ln -s sub/target.pb.gz "$T/link"
ln -s missing.pb.gz "$T/sub/dangling"
for l in "$T/link" "$T/sub/dangling"; do
	expect_exit 0 "$CPROF" $PROFILE -o "$l"
	ok
	[ -L "$l" ] || fail "-o on the symlink $l replaced it"
done
readable "$T/sub/target.pb.gz"
readable "$T/sub/missing.pb.gz"
# A link to a pipe (/dev/stdout, /dev/fd/N) is written through, not replaced.
ok
"$CPROF" $PROFILE -o /dev/fd/3 3>&1 >/dev/null 2>&1 | "$CPROF" report - >"$T/piped" 2>&1 ||
	fail "cprof cpu -o /dev/fd/3 into a pipe: $(cat "$T/piped")"
ok
"$CPROF" report --svg /dev/stdout "$good" 2>/dev/null | grep -q '^<svg ' ||
	fail "report --svg /dev/stdout into a pipe wrote no SVG"

# An existing file keeps its mode; a new one gets 0666 less the umask.
echo old >"$T/private.pb.gz"
chmod 600 "$T/private.pb.gz"
expect_exit 0 "$CPROF" $PROFILE -o "$T/private.pb.gz"
expect_eq "$(stat -c %a "$T/private.pb.gz")" 600 "mode of a replaced file"
readable "$T/private.pb.gz"
(umask 027 && "$CPROF" $PROFILE -o "$T/new.pb.gz" >/dev/null 2>&1)
expect_eq "$(stat -c %a "$T/new.pb.gz")" 640 "mode of a new file under umask 027"

# -o - is standard output: the profile alone, everything printed (and what
# the command prints) on standard error; every writing command does the same.
expect_exit 0 "$CPROF" cpu -o - -- sh -c 'echo from-the-command; exec "$0" --rounds 150' "$W"
cp "$T/out" "$T/stdout.pb.gz"
readable "$T/stdout.pb.gz"
expect_grep 'work_a' "$T/report.out"
expect_grep '^from-the-command$' "$T/err"
expect_grep '^Wrote standard output$' "$T/err"
ok
"$CPROF" cpu -o - -- "$W" --rounds 20 2>/dev/null | "$CPROF" report - >"$T/piped" 2>&1 ||
	fail "cprof cpu -o - | cprof report - failed: $(cat "$T/piped")"
expect_exit 0 "$CPROF" diff -o - "$good" "$good"
cp "$T/out" "$T/diff.pb.gz"
readable "$T/diff.pb.gz"
expect_grep '^Wrote standard output$' "$T/err"
expect_exit 0 "$CPROF" report --svg - "$good"
expect_grep '^<svg ' "$T/out"
wait_until 20 asleep "$sleeper" 1 || true
expect_exit 0 "$CPROF" threads --pid "$sleeper" -o -
cp "$T/out" "$T/threads.pb.gz"
readable "$T/threads.pb.gz"
untraced "$sleeper"

# A directory, or any path that cannot become the output, is refused at once:
# a 30 s run is not wasted.
quick() {
	start=$(date +%s%N)
	expect_exit 1 "$@"
	took=$((($(date +%s%N) - start) / 1000000))
	expect_lines 1 "$T/err"
	ok
	[ "$took" -lt 5000 ] || fail "refusing the output took $took ms: $*"
}
quick "$CPROF" cpu --pid "$sleeper" --seconds 30 -o "$T"
expect_grep "^cprof: cannot write $T: it is a directory; name a file to write$" "$T/err"
untraced "$sleeper"
quick "$CPROF" cpu --seconds 30 -o "$T/sub/" -- touch "$T/ran"
expect_grep "^cprof: cannot write $T/sub/: it is a directory" "$T/err"
quick "$CPROF" cpu --seconds 30 -o "$T/nosuch/" -- touch "$T/ran"
expect_grep "^cprof: cannot write $T/nosuch/: No such file or directory$" "$T/err"
quick "$CPROF" cpu --seconds 30 -o "$T/private.pb.gz/x" -- touch "$T/ran"
expect_grep "^cprof: cannot write $T/private.pb.gz/x: Not a directory$" "$T/err"
ok
[ ! -e "$T/ran" ] || fail "the command ran although its profile could not be written"
quick "$CPROF" threads --pid "$sleeper" --watch 30s -o "$T"
expect_grep "^cprof: cannot write $T: it is a directory" "$T/err"
quick "$CPROF" diff -o "$T/sub" "$good" "$good"
expect_grep "^cprof: cannot write $T/sub: it is a directory" "$T/err"
expect_lines 0 "$T/out"
quick "$CPROF" report --svg "$T/sub" "$good"
expect_grep "^cprof: cannot write $T/sub: it is a directory" "$T/err"
expect_lines 0 "$T/out"

# A new file never has a name of its own before it is whole: an unnamed file
# (O_TMPFILE) is linked in, so a SIGKILL at any moment leaves no temporary.
if strace -o /dev/null true 2>/dev/null; then
	mkdir "$T/k"
	expect_exit 0 env ASAN_OPTIONS=detect_leaks=0 strace -f -o "$T/strace" -e trace=openat,open,creat,linkat,rename,renameat,renameat2 \
		"$CPROF" $PROFILE -o "$T/k/p.pb.gz"
	expect_grep "openat\(AT_FDCWD, \"$T/k\", [^)]*O_TMPFILE" "$T/strace"
	expect_grep "linkat\(AT_FDCWD, \"/proc/self/fd/[0-9]+\", AT_FDCWD, \"$T/k/p.pb.gz\", AT_SYMLINK_FOLLOW\) = 0" "$T/strace"
	expect_no_grep "p\.pb\.gz\.tmp" "$T/strace"
	expect_eq "$(ls -A "$T/k")" p.pb.gz "files in the output's directory"
	# Replacing a file: a name of its own for the one rename only.
	expect_exit 0 env ASAN_OPTIONS=detect_leaks=0 strace -f -o "$T/strace" -e trace=openat,open,creat,linkat,rename,renameat,renameat2 \
		"$CPROF" $PROFILE -o "$T/k/p.pb.gz"
	expect_no_grep "O_CREAT.*p\.pb\.gz" "$T/strace"
	expect_grep "^[0-9]+ +rename(at2?)?\(.*\"$T/k/p.pb.gz.tmp[0-9a-f]+\", .*\"$T/k/p.pb.gz\".* = 0" "$T/strace"
	expect_eq "$(ls -A "$T/k")" p.pb.gz "files in the output's directory after a replace"
else
	echo "note: O_TMPFILE check skipped (no strace, or ptrace not allowed)"
fi
# An output that is one of the profiles read would destroy it: refused, the
# profile left as it was.
cp "$good" "$T/in.pb.gz"
expect_exit 2 "$CPROF" report "$T/in.pb.gz" --svg "$T/in.pb.gz"
expect_grep "^cprof: --svg '$T/in.pb.gz' is the profile '$T/in.pb.gz' read" "$T/err"
expect_exit 2 "$CPROF" report "$good" --base "$T/in.pb.gz" --proto "$T/./in.pb.gz"
expect_exit 2 "$CPROF" diff -o "$T/in.pb.gz" "$good" "$T/in.pb.gz"
expect_grep "^cprof: --output '$T/in.pb.gz' is the profile" "$T/err"
ok
cmp -s "$good" "$T/in.pb.gz" || fail "an input named as the output was changed"

# An unwritable working directory with no -o: the message names the real
# default file and says to pass -o; the command never runs.
as_user=
if [ "$(id -u)" = 0 ] && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" != 0 ] || [ -n "$as_user" ]; then
	chmod 711 "$T"
	mkdir "$T/ro" "$T/marks"
	chmod 555 "$T/ro"
	chmod 777 "$T/marks"
	expect_exit 1 sh -c 'cd "$0" && exec "$@"' "$T/ro" $as_user "$CPROF" cpu --seconds 30 -- touch "$T/marks/ran"
	expect_lines 1 "$T/err"
	expect_grep '^cprof: cannot write cprof-cpu-[0-9]+-[0-9]{8}-[0-9]{6}\.pb\.gz: Permission denied; pass -o FILE to write the profile elsewhere$' "$T/err"
	ok
	[ ! -e "$T/marks/ran" ] || fail "the command ran although its profile could not be written"
	# A file the user may not write (read-only, and root's where the test
	# runs as nobody), in a directory they may: the rename that writes
	# outputs could replace it, but it is refused, as > would.
	echo keep >"$T/marks/roots"
	chmod 444 "$T/marks/roots"
	expect_exit 1 $as_user "$CPROF" report "$good" --svg "$T/marks/roots"
	expect_grep "^cprof: cannot write $T/marks/roots: Permission denied$" "$T/err"
	ok
	[ "$(cat "$T/marks/roots")" = keep ] || fail "another user's file was replaced: $(ls -l "$T/marks/roots")"
	chmod 700 "$T"
else
	echo "note: unwritable directory check skipped (root without setpriv)"
fi

kill "$sleeper" 2>/dev/null || true
finish
