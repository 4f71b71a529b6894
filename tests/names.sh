#!/bin/sh
# A function with several names (glibc's malloc is also __libc_malloc and
# __GI___libc_malloc, write is also __write and __GI___libc_write, and so is
# its DWARF name) is shown by the public one, the same in every view: a
# `cprof cpu` profile as `cprof report` reads it, and `cprof threads`.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads/libcwork
# Whole names only, and the aliases of these four only: the kernel's frames
# (__free_pages) share prefixes, and a sample may land in start-up code.
internal='__libc_malloc|__libc_free|__libc_read|__libc_write|__GI___libc_(malloc|free|read|write)|__GI___(read|write)|__malloc|__free|__read|__write'

expect_exit 0 "$CPROF" cpu -F 999 -o "$T/libc.pb.gz" -- "$W" calls 3000000
expect_exit 0 "$CPROF" report --top 0 "$T/libc.pb.gz"
cp "$T/out" "$T/top"
for fn in malloc free read write; do
	expect_grep "%  $fn( \\(.*\\))?\$" "$T/top"
done
expect_no_grep "%  ($internal)( |\$)" "$T/top"
expect_exit 0 "$CPROF" report --folded "$T/libc.pb.gz"
expect_grep ';(malloc|free|read|write) [0-9]+$' "$T/out"
expect_no_grep "(^|;)($internal)(;| )" "$T/out"

"$W" block 30 &
pid=$!
ok
# Both threads asleep: the main one in read, the other in write.
settle "$pid" 2
expect_exit 0 "$CPROF" threads --pid "$pid"
expect_grep '^    read \(' "$T/out"
expect_grep '^    write \(' "$T/out"
expect_no_grep "^    ($internal)( |\$)" "$T/out"
untraced "$pid"
kill "$pid"
wait "$pid" 2>/dev/null || true
finish
