#!/bin/sh
# The cache of inflated debug files (lib/debuginfo_cache.c): glibc's debug file
# from libc6-dbg, whose sections are compressed, is inflated into the cache on
# the first dump and read from it on the next, with the same output as with no
# cache; a truncated copy is replaced; the least recently used files go when
# the cache passes 1 GiB; no directory is made inside one that is not ours.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads/threadwork

libc=$(ldd "$W" | awk '/libc\.so/ {print $3}')
id=$(readelf -n "$libc" 2>/dev/null | awk '/Build ID/ {print $3}')
sys=/usr/lib/debug/.build-id/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-).debug
compressed='\.debug_info +PROGBITS +[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ [0-9a-f]+ +C '
if [ -z "$id" ] || [ ! -f "$sys" ] || ! readelf -SW "$sys" 2>/dev/null | grep -Eq "$compressed"; then
	echo "debugcache.sh: skipped: no compressed debug file for $libc (install libc6-dbg)"
	exit 77
fi

"$W" --pool 3 --seconds 60 >/dev/null &
pid=$!
settle "$pid" 4
C=$T/c
cached=$C/$id.debug
# dump DIR: the pool's group in a dump with the cache in DIR (none if empty).
dump() {
	expect_exit 0 env CPROF_CACHE_DIR="$1" "$CPROF" threads --pid "$pid"
	awk '/^3 threads/ {on = 1} on && /^$/ {exit} on' "$T/out"
}

dump "" >"$T/nocache"
expect_grep '^3 threads  S×3  pool-0, pool-1, pool-2$' "$T/nocache"
expect_grep '^    pthread_cond_wait \(.*pthread_cond_wait\.c:[0-9]+\)$' "$T/nocache"
[ ! -e "$C" ] || fail "a cache was made with CPROF_CACHE_DIR empty"

# The first dump fills the cache with an inflated copy.
dump "$C" >"$T/first"
expect_eq "$(cmp -s "$T/nocache" "$T/first" && echo same)" same "the first dump with a cache"
ok
[ -f "$cached" ] || fail "no $cached after the first dump: $(ls -la "$C" 2>&1)"
ok
readelf -SW "$cached" | grep -Eq "$compressed" && fail "the cached copy is still compressed"
expect_eq "$(stat -c %a "$C")" 700 "the cache directory's mode"
inode=$(stat -c %i "$cached")

# The second reads it: the same file (not rewritten), marked as used.
touch -d 2020-01-01 "$cached"
dump "$C" >"$T/second"
expect_eq "$(cmp -s "$T/nocache" "$T/second" && echo same)" same "the dump from the cache"
expect_eq "$(stat -c %i "$cached")" "$inode" "the cached file's inode after a hit"
expect_eq "$(stat -c %Y "$cached" | awk '{print ($1 > 1600000000)}')" 1 "the cached file's use time"

# A truncated copy (a crash mid-write) is replaced. Meanwhile the cache is
# over its 1 GiB (a sparse file of 2 GiB, used long ago), which goes, and a
# temporary file left by a killed run long ago goes too.
truncate -s "$(($(stat -c %s "$cached") / 2))" "$cached"
truncate -s 2G "$C/00ff.debug"
touch -d 2020-01-01 "$C/00ff.debug"
: >"$C/.tmp-left"
touch -d 2020-01-01 "$C/.tmp-left"
dump "$C" >"$T/third"
expect_eq "$(cmp -s "$T/nocache" "$T/third" && echo same)" same "the dump past a truncated copy"
ok
readelf -SW "$cached" >/dev/null 2>&1 || fail "the truncated copy was not replaced"
ok
[ ! -e "$C/00ff.debug" ] || fail "the least recently used file was not evicted"
ok
[ ! -e "$C/.tmp-left" ] || fail "a stale temporary file was left"

# Never inside a directory of someone else's; nowhere writable is no error.
mkdir "$T/theirs"
chown nobody "$T/theirs" 2>/dev/null || true
if [ "$(stat -c %U "$T/theirs")" = nobody ]; then
	dump "$T/theirs/c" >"$T/theirs.out"
	ok
	[ ! -e "$T/theirs/c" ] || fail "a cache directory was made inside another user's"
	expect_eq "$(cmp -s "$T/nocache" "$T/theirs.out" && echo same)" same "the dump without a usable cache"
fi
dump /proc/no/such/dir >"$T/nowhere"
expect_eq "$(cmp -s "$T/nocache" "$T/nowhere" && echo same)" same "the dump with an unwritable cache"

untraced "$pid"
kill "$pid"
wait "$pid" 2>/dev/null || true
finish
