#!/bin/sh
# `cprof heap -- CMD` on the suite's heap workload: allocation shares as
# designed, memory in use of a site that keeps it and none of sites that free
# theirs (realloc chains included), complete stacks, thread labels, C++ new,
# a child that forks and execs unharmed and left out, a command that runs on
# when cprof is killed; --pid into a running process and out again, its
# output unchanged and no allocator reference left rerouted, whether cprof
# ends or is killed; and bad input and refusals, in one line each.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads
rate=65536
mb=400

# bytes FILE INDEX FUNCTION [flat|cum]: FUNCTION's flat (or cum) value at
# sample index INDEX in bytes (or objects), from `cprof report --top 0`'s
# pprof-style units; 0 when it is not listed.
bytes() {
	"$CPROF" report --top 0 --sample-index "$2" "$1" | awk -v f="$3" -v col="${4:-flat}" '
		function val(s,   n, u) {
			n = s + 0; u = s; sub(/^[-0-9.]+/, "", u)
			if (u == "kB") n *= 1024; else if (u == "MB") n *= 1024 * 1024
			else if (u == "GB") n *= 1024 * 1024 * 1024
			return n
		}
		inrows && $6 == f { v = val(col == "cum" ? $4 : $1); found = 1 }
		/^ *flat +flat%/ { inrows = 1 }
		END { printf "%.0f\n", found ? v : 0 }'
}

# within GOT WANT TOL WHAT: |GOT - WANT| <= TOL.
within() {
	ok
	awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN {exit !(g - w <= t && w - g <= t)}' ||
		fail "$4: $1, expected $2 +- $3"
}

# shares FILE MIN WHAT: the shares of alloc_space among the three sites of
# FILE are 60/30/10, each within four standard errors of a share of that many
# samples (a sample stands for about RATE bytes of blocks this much smaller
# than it), at least one point, of at least MIN samples; sets $a, $b and $c
# (their bytes) and $n (the samples).
shares() {
	a=$(bytes "$1" alloc_space site_sixty)
	b=$(bytes "$1" alloc_space site_thirty)
	c=$(bytes "$1" alloc_space site_ten)
	n=$(awk -v s=$((a + b + c)) -v r=$rate 'BEGIN {printf "%d", s / r}')
	ok
	[ "$n" -gt "$2" ] || fail "$3: only $n samples of the three sites"
	shares_what=$3
	for site in "60 $a site_sixty" "30 $b site_thirty" "10 $c site_ten"; do
		set -- $site
		share=$(awk -v x="$2" -v s=$((a + b + c)) 'BEGIN {printf "%.2f", 100 * x / s}')
		tol=$(awk -v p="$1" -v n="$n" 'BEGIN {t = 400 * sqrt(p / 100 * (1 - p / 100) / n)
			printf "%.2f", (t > 1 ? t : 1)}')
		within "$share" "$1" "$tol" "$shares_what: alloc_space share of $3 (of $n samples)"
	done
}

# --- One run of the workload, sampled every 64 KiB.
expect_exit 0 "$CPROF" heap --rate "$rate" -o "$T/h.pb.gz" -- "$W/heapwork" "$mb"
p=$T/h.pb.gz
cp "$T/out" "$T/run.out"
cp "$T/err" "$T/run.err"
expect_grep '^cprof: profiling the heap of .*heapwork \(pid [0-9]+\), a sample every 64kB' "$T/run.err"
expect_grep '^heapwork: child exited with status 0$' "$T/run.out"
expect_grep '^Command exited with status 0$' "$T/run.out"
expect_grep "^Wrote $p\$" "$T/run.out"

shares "$p" 1000 "launched"
# Together they allocated MB MiB: the estimate is unbiased.
total=$((mb * 1024 * 1024))
within $((a + b + c)) "$total" "$(awk -v t=$total -v n="$n" 'BEGIN {printf "%d", 4 * t / sqrt(n)}')" \
	"alloc_space of the three sites"

# In use at the end: keep_forever's 8 MiB (1024 blocks of 8 KiB, each sampled
# with p = 1 - exp(-1/8): four standard errors of the estimate), realloc_chain's
# last 4 MiB block (always sampled; the blocks realloc moved from are freed),
# and nothing of the sites that free at once.
keep=$(bytes "$p" inuse_space keep_forever)
within "$keep" 8388608 "$(awk 'BEGIN {p = 1 - exp(-1 / 8); printf "%d", 4 * 8388608 * sqrt((1 - p) / (1024 * p))}')" \
	"inuse_space of keep_forever"
chain=$(bytes "$p" inuse_space realloc_chain)
within "$chain" 4194304 262144 "inuse_space of realloc_chain"
for f in site_sixty site_thirty site_ten churn new_site; do
	expect_eq "$(bytes "$p" inuse_space "$f" cum)" 0 "inuse_space of $f, which frees at once"
done
ok
[ "$(bytes "$p" alloc_space churn)" -gt 0 ] || fail "churn allocated nothing"
# Objects, likewise: 1024 kept, 1 chain.
kobj=$(bytes "$p" inuse_objects keep_forever)
within "$kobj" 1024 "$(awk 'BEGIN {p = 1 - exp(-1 / 8); printf "%d", 4 * 1024 * sqrt((1 - p) / (1024 * p))}')" \
	"inuse_objects of keep_forever"
expect_eq "$(bytes "$p" inuse_objects realloc_chain)" 1 "inuse_objects of realloc_chain"

# C++ new: 5% of MB through operator new, called from new_site.
nb=$(bytes "$p" alloc_space new_site cum)
within "$nb" $((total / 20)) "$(awk -v t=$((total / 20)) -v r=$rate 'BEGIN {printf "%d", 4 * t / sqrt(t / r)}')" \
	"alloc_space of new_site (C++ new)"
"$CPROF" report --traces --sample-index alloc_space "$p" >"$T/traces"
expect_grep '^ +[0-9.]+[kMG]?B +operator new' "$T/traces"

# Stacks are complete: all but a sliver of what was allocated is under main
# or, on the thread, start_thread.
main=$(bytes "$p" alloc_space main cum)
thr=$(bytes "$p" alloc_space start_thread cum)
all=$("$CPROF" report --top 0 --sample-index alloc_space "$p" | awk '/Total samples =/ {print $NF}')
ok
awk -v m="$main" -v t="$thr" -v a="$all" -v s=$((a + b + c)) 'BEGIN {
	u = a; n = u + 0; sub(/^[-0-9.]+/, "", u)
	n *= u == "MB" ? 1048576 : u == "GB" ? 1073741824 : u == "kB" ? 1024 : 1
	exit !((m + t) >= 0.99 * n && n >= s) }' ||
	fail "stacks under main ($main) and start_thread ($thr) are not 99% of $all"
expect_grep '^ +[0-9.]+[kMG]?B +site_thirty' "$T/traces"
# The thread's samples carry its name and id.
awk '/^-+\+/ {name = ""} /thread:/ {name = $2} /site_thirty/ {print name}' "$T/traces" >"$T/thr"
expect_grep '^heap-thirty$' "$T/thr"
expect_no_grep '^heapwork$' "$T/thr"
expect_grep '^ +tid: +[0-9]+$' "$T/traces"

# The forked child and the program it execs run (the status above), and their
# allocations are theirs, not the command's.
for f in forked_site child_site; do
	expect_eq "$(bytes "$p" alloc_space "$f" cum)" 0 "alloc_space of $f, in a child"
done

# The profile is Go's heap profile.
"$CPROF" report --top 1 "$p" >"$T/top"
expect_grep '^Type: inuse_space$' "$T/top"
for idx in alloc_objects alloc_space inuse_objects; do
	"$CPROF" report --top 1 --sample-index "$idx" "$p" >"$T/top"
	expect_grep "^Type: $idx\$" "$T/top"
done

# cprof diff compares two heap profiles by share: at twice the size, the
# sites that scale with it (site_sixty) take a larger share of what was
# allocated, realloc_chain's fixed 64 MiB a smaller one.
expect_exit 0 "$CPROF" heap --rate "$rate" -o "$T/h2.pb.gz" -- "$W/heapwork" $((mb / 2))
expect_exit 0 "$CPROF" diff --sample-index alloc_space "$T/h2.pb.gz" "$p"
# change SITE: the change in points of SITE's flat share.
change() { awk -v f="$1" '$7 == f {print $3; exit}' "$T/out"; }
ok
awk -v c="$(change site_sixty)" 'BEGIN {exit !(c + 0 > 2)}' ||
	fail "cprof diff: site_sixty's share did not grow: '$(change site_sixty)'"
ok
awk -v c="$(change realloc_chain)" 'BEGIN {exit !(c + 0 < -2)}' ||
	fail "cprof diff: realloc_chain's share did not shrink: '$(change realloc_chain)'"
expect_exit 0 "$CPROF" diff --sample-index alloc_space -o "$T/hd.pb.gz" "$T/h2.pb.gz" "$p"
expect_exit 0 "$CPROF" report --top 3 "$T/hd.pb.gz"
expect_grep "^Type: alloc_space$" "$T/out"

# --- cprof SIGKILLed mid-run: the command runs on, passing through, to its
# normal end.
"$CPROF" heap -o "$T/killed.pb.gz" -- "$W/heapwork" 50 2 >"$T/k.out" 2>"$T/k.err" &
cp_pid=$!
has_banner() { grep -qs 'profiling the heap of' "$T/k.err"; }
ok
wait_until 20 has_banner || fail "cprof heap did not start the command"
wl_pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/k.err")
kill -KILL "$cp_pid"
wait "$cp_pid" 2>/dev/null || :
gone() { ! kill -0 "$wl_pid" 2>/dev/null; }
ok
wait_until 30 gone || fail "heapwork ($wl_pid) did not finish after cprof was killed"
expect_grep '^heapwork: child exited with status 0$' "$T/k.out"
ok
[ ! -e "$T/killed.pb.gz" ] || fail "a profile was written by a killed cprof"

# --- --seconds: the command is ended, what it holds then is the profile.
expect_exit 0 "$CPROF" heap --seconds 1 -o "$T/s.pb.gz" -- "$W/heapwork" 50 30
expect_grep '^Command killed by signal 15' "$T/out"
ok
[ "$(bytes "$T/s.pb.gz" alloc_space site_loop)" -gt 0 ] || fail "--seconds: no site_loop in the profile"

# --- --watch: a poll line every --interval and a leak verdict by the rule
# of cprof-heap(1): a site that keeps 8 KiB every 10 ms among churn is one
# (exit 3, named), a cache that grows for 1.4 s then holds is not, churn is
# not. The workload runs longer than the watch, by its own clock.
watch() {
	rc=0
	"$CPROF" heap --rate 4096 --watch 3s --interval 300ms "$@" >"$T/w.out" 2>"$T/w.err" || rc=$?
	echo "$rc" >"$T/w.rc"
}
mkdir "$T/polls"
watch -o "$T/leak.pb.gz" --output-dir "$T/polls" -- "$W/heapwork" --leak 8
ok
[ "$(cat "$T/w.rc")" = 3 ] || fail "--watch --leak: exit $(cat "$T/w.rc"), expected 3"
polls=$(grep -cE '^[0-9]{2}:[0-9]{2}:[0-9]{2}  in use ' "$T/w.out" || :)
[ "$polls" -ge 5 ] || fail "--watch: $polls poll lines, expected at least 5"
expect_grep '^Leak suspects: allocation stacks whose in-use bytes grew steadily' "$T/w.out"
expect_grep '^    leak_site ' "$T/w.out"
ok
[ "$(grep -c ' per minute)$' "$T/w.out")" = 1 ] || fail "--watch --leak: not one suspect"
expect_no_grep 'churn_step' "$T/w.out"
files=$(ls "$T/polls" | grep -cE '^cprof-heap-[0-9]+-[0-9]+-[0-9]{8}-[0-9]{6}\.pb\.gz$' || :)
ok
[ "$files" = "$polls" ] || fail "--output-dir: $files profiles for $polls polls"
for f in "$T/polls"/*; do
	"$CPROF" report --top 3 "$f" >"$T/r.out" 2>&1 || fail "cprof report cannot read $f"
done
last=$(ls "$T/polls"/* | sort -t- -k4 -n | tail -1)
[ "$(bytes "$last" inuse_space leak_site)" -gt 0 ] || fail "the last poll's profile has no leak_site"
for mode in --cache --churn; do
	watch -o "$T/w.pb.gz" -- "$W/heapwork" "$mode" 8
	ok
	[ "$(cat "$T/w.rc")" = 0 ] || fail "--watch $mode: exit $(cat "$T/w.rc"), expected 0"
	expect_grep '^No leak suspects' "$T/w.out"
done
# An interval shorter than a poll takes: polls as fast as they go, and the
# watch still ends on time (it once polled on forever).
expect_exit 0 timeout 30 "$CPROF" heap --watch 1s --interval 1us -o "$T/fast.pb.gz" \
	-- "$W/heapwork" --serve 1000
expect_grep '^No leak suspects' "$T/out"

# --- --pid: the library loaded into a running service (heapwork --serve),
# which runs on, its output unchanged, with no reference left rerouted
# through the library once cprof lets go or is killed. gotcheck counts the
# GOT entries of the process that point into the library.
G=$top_builddir/tests/gotcheck
rerouted() { "$G" "$1" libcprof-heap; }
none_rerouted() { [ "$(rerouted "$1")" = 0 ]; }
serving() { has_threads "$1" 2 && grep -qx heap-thirty /proc/"$1"/task/*/comm; }
attached() { grep -qs '^cprof: profiling the heap of process' "$1"; }
# --- A program that preloads jemalloc (as services do, LD_PRELOAD after
# cprof's library): its calls are passed on to jemalloc, not glibc, so
# jemalloc's malloc_usable_size sees its own blocks (heapwork --serve checks
# it), the run is clean, and attached, the allocator named is jemalloc.
J=
for f in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2; do
	[ -e "$f" ] && J=$f && break
done
if [ -n "$J" ]; then
	expect_exit 0 "$CPROF" heap --rate "$rate" -o "$T/je.pb.gz" -- \
		sh -c "LD_PRELOAD=\"\$LD_PRELOAD $J\" exec \"$W/heapwork\" --serve 50"
	expect_grep '^heapwork: 50 rounds, 0 errors$' "$T/out"
	expect_grep '^Command exited with status 0$' "$T/out"
	ok
	[ "$(bytes "$T/je.pb.gz" alloc_space site_sixty)" -gt 0 ] || fail "jemalloc: no site_sixty in the profile"
	LD_PRELOAD=$J "$W/heapwork" --serve 300 >"$T/je-serve.out" &
	jp=$!
	ok
	wait_until 20 serving "$jp" || fail "heapwork --serve under jemalloc did not start its thread"
	expect_exit 0 "$CPROF" heap --pid "$jp" --seconds 1 -o "$T/je-pid.pb.gz"
	expect_grep "^Attached: .* passing calls on to $J\$" "$T/out"
	wait "$jp" || fail "heapwork --serve under jemalloc failed after cprof heap --pid"
	expect_eq "$(cat "$T/je-serve.out")" "heapwork: 300 rounds, 0 errors" "heapwork --serve's output under jemalloc"
else
	echo "libjemalloc2 is not installed: the jemalloc cases are left out"
fi

"$W/heapwork" --serve 500 >"$T/serve.out" &
sp=$!
ok
wait_until 20 serving "$sp" || fail "heapwork --serve did not start its thread"
"$CPROF" heap --pid "$sp" --rate "$rate" --seconds 2 -o "$T/pid.pb.gz" >"$T/pid.out" 2>"$T/pid.err" &
cp_pid=$!
ok
wait_until 20 attached "$T/pid.err" || fail "cprof heap --pid did not start"
during=$(rerouted "$sp")
ok
[ "$during" -gt 0 ] || fail "no GOT entry of the process points into the library while attached"
rc=0
wait "$cp_pid" || rc=$?
expect_eq "$rc" 0 "cprof heap --pid's exit status"
expect_grep "^cprof: profiling the heap of process $sp \\(.*heapwork --serve 500\\), a sample every 64kB allocated for 2s" "$T/pid.err"
expect_grep "^Attached: only allocations made since are seen; $during allocator references rerouted through the library, passing calls on to .*libc\\.so\\.6$" "$T/pid.out"
expect_grep '^Load: [0-9.]+m?s, thread [0-9]+ held [0-9.]+[mu]?s, no other thread stopped$' "$T/pid.out"
expect_grep "^Detach: [0-9.]+m?s, a thread held [0-9.]+[mu]?s; $during references put back, the process runs on as before$" "$T/pid.out"
expect_grep "^Wrote $T/pid.pb.gz\$" "$T/pid.out"
expect_eq "$(rerouted "$sp")" 0 "GOT entries into the library after cprof let go"
untraced "$sp"
p=$T/pid.pb.gz
shares "$p" 300 "--pid"
ok
[ "$(bytes "$p" inuse_space leak_site)" -gt 0 ] || fail "--pid: nothing of leak_site in use"
expect_eq "$(bytes "$p" inuse_space site_sixty cum)" 0 "--pid: inuse_space of site_sixty, which frees at once"
ok
[ "$(bytes "$p" alloc_space new_site cum)" -gt 0 ] || fail "--pid: no C++ new seen"
"$CPROF" report --traces --sample-index alloc_space "$p" >"$T/traces"
awk '/^-+\+/ {name = ""} /thread:/ {name = $2} /site_thirty/ {print name}' "$T/traces" >"$T/thr"
expect_grep '^heap-thirty$' "$T/thr"
# Again, into the process that has the library loaded already, and cprof
# killed: the library sees it gone at its next sample and lets go itself.
"$CPROF" heap --pid "$sp" --seconds 30 -o "$T/killed-pid.pb.gz" >"$T/k2.out" 2>"$T/k2.err" &
cp_pid=$!
ok
wait_until 20 attached "$T/k2.err" || fail "the second cprof heap --pid did not start"
ok
[ "$(rerouted "$sp")" -gt 0 ] || fail "the second attach rerouted nothing"
kill -KILL "$cp_pid"
wait "$cp_pid" 2>/dev/null || :
ok
wait_until 10 none_rerouted "$sp" || fail "GOT entries still point into the library 10 s after cprof was killed"
ok
[ ! -e "$T/killed-pid.pb.gz" ] || fail "a profile was written by a killed cprof"
untraced "$sp"
rc=0
wait "$sp" || rc=$?
expect_eq "$rc" 0 "heapwork --serve's exit status after two attaches"
expect_eq "$(cat "$T/serve.out")" "heapwork: 500 rounds, 0 errors" "heapwork --serve's output"

# A program built without PIE that takes malloc's address has a canonical
# PLT entry for it (an undefined symbol with an address), which dlsym
# returns: the library must pass calls on to libc's malloc, not to that
# entry (taken for an allocator of the program's own, it was refused), and
# see the calls made through it (pointer_site's).
"$W/heapwork-nopie" --serve 300 >"$T/nopie.out" &
np=$!
ok
wait_until 20 serving "$np" || fail "heapwork-nopie --serve did not start its thread"
expect_exit 0 "$CPROF" heap --pid "$np" --rate 4096 --seconds 1 -o "$T/nopie.pb.gz"
expect_grep '^Attached: .* passing calls on to .*libc\.so\.6$' "$T/out"
ok
[ "$(bytes "$T/nopie.pb.gz" inuse_space pointer_site)" -gt 0 ] || fail "non-PIE: nothing of pointer_site in use"
expect_eq "$(rerouted "$np")" 0 "non-PIE: GOT entries into the library after cprof let go"
wait "$np" || fail "heapwork-nopie --serve failed after cprof heap --pid"
expect_eq "$(cat "$T/nopie.out")" "heapwork: 300 rounds, 0 errors" "heapwork-nopie --serve's output"

# stopped ROUNDS_FILE PID: heapwork --serve PID ended by SIGTERM after the
# round under way, its exit status 0 and its line, into ROUNDS_FILE, one of
# no errors (every sleep whole, its signal mask as it set it, every byte
# where it put it).
stopped() {
	kill -TERM "$2"
	rc=0
	wait "$2" || rc=$?
	expect_eq "$rc" 0 "heapwork --serve's exit status ($1)"
	expect_grep '^heapwork: [0-9]+ rounds, 0 errors$' "$1"
}

# Loaded into a process that loads and unloads a plugin every round (one
# with 2,000 relocations into RELRO, so that the loader is at it a while,
# listing it already), at a rate that samples often: rerouting a module the
# loader is still relocating made it fault, and putting back the references
# of one unloaded since faulted too. The process runs on, whether cprof lets
# it go or is killed.
PLUG=$top_builddir/tests/workloads/libheapplug.so
"$W/heapwork" --serve 100000 "$PLUG" >"$T/plug.out" &
pp=$!
ok
wait_until 20 serving "$pp" || fail "heapwork --serve with a plugin did not start its thread"
expect_exit 0 "$CPROF" heap --pid "$pp" --rate 256 --seconds 1 -o "$T/plug.pb.gz"
expect_eq "$(rerouted "$pp")" 0 "plugin: GOT entries into the library after cprof let go"
"$CPROF" heap --pid "$pp" --rate 256 --seconds 30 -o "$T/plug2.pb.gz" >/dev/null 2>"$T/plug2.err" &
cp_pid=$!
ok
wait_until 20 attached "$T/plug2.err" || fail "the second cprof heap --pid with a plugin did not start"
kill -KILL "$cp_pid"
wait "$cp_pid" 2>/dev/null || :
ok
wait_until 10 none_rerouted "$pp" || fail "plugin: GOT entries still point into the library after cprof was killed"
stopped "$T/plug.out" "$pp"

# cprof killed in the middle of each of its calls into the process (the
# load's dlopen, attach and commit, then the detach: CPROF_INJECT_DIE_AT):
# each returns through a signal frame that puts its thread back by itself
# (returning into address 0, as it did, killed the process), what the load
# made is let go at the next sample, and the process runs on, untouched.
"$W/heapwork" --serve 100000 >"$T/kl.out" &
kp=$!
ok
wait_until 20 serving "$kp" || fail "heapwork --serve did not start its thread"
for call in 1 2 3 4; do
	rc=0
	CPROF_INJECT_DIE_AT=$call "$CPROF" heap --pid "$kp" --seconds 1 -o "$T/kl.pb.gz" \
		>/dev/null 2>&1 || rc=$?
	expect_eq "$rc" 137 "cprof killed in its call $call (SIGKILL)"
	ok
	kill -0 "$kp" 2>/dev/null || { fail "heapwork died when cprof was killed in its call $call"; break; }
	untraced "$kp"
	ok
	wait_until 10 none_rerouted "$kp" ||
		fail "GOT entries still point into the library after cprof was killed in its call $call"
done
stopped "$T/kl.out" "$kp"

# A thread waiting in ppoll with a mask of its own is passed over (the mask
# /proc shows is the call's, and a frame that restored it would keep it); a
# process under a seccomp filter that kills it for any system call number
# it does not know survives (skipping a system call through ptrace shows the
# filter -1). Both run on with every sleep whole and their masks as set.
for how in HEAPWORK_PPOLL HEAPWORK_SECCOMP; do
	env "$how=1" "$W/heapwork" --serve 100000 >"$T/$how.out" &
	vp=$!
	ok
	wait_until 20 serving "$vp" || fail "$how: heapwork --serve did not start its thread"
	expect_exit 0 "$CPROF" heap --pid "$vp" --seconds 1 -o "$T/$how.pb.gz"
	expect_exit 0 "$CPROF" heap --pid "$vp" --seconds 1 -o "$T/$how.pb.gz"
	ok
	[ "$(bytes "$T/$how.pb.gz" alloc_space site_sixty)" -gt 0 ] || fail "$how: no site_sixty in the profile"
	stopped "$T/$how.out" "$vp"
done

# --pid --watch: the leak of a running process, flagged with exit 3.
"$W/heapwork" --leak 20 >/dev/null &
lp=$!
ok
wait_until 20 has_threads "$lp" 1 || fail "heapwork --leak did not start"
expect_exit 3 "$CPROF" heap --pid "$lp" --rate 4096 --watch 3s --interval 300ms -o "$T/pidleak.pb.gz"
expect_grep '^Leak suspects: allocation stacks whose in-use bytes grew steadily' "$T/out"
expect_grep '^    leak_site ' "$T/out"
expect_eq "$(rerouted "$lp")" 0 "GOT entries into the library after --watch"
untraced "$lp"
kill "$lp"
wait "$lp" 2>/dev/null || :

# --pid refused, in one line each, the process left as it was: a program
# with its own malloc, a statically linked one, one already under cprof heap,
# a stopped one (left stopped), one another tracer holds, one of another
# user's, and none.
refused() {
	expect_exit 1 "$CPROF" heap --pid "$@" --seconds 1 -o "$T/none.pb.gz"
	expect_lines 1 "$T/err"
	expect_lines 0 "$T/out"
}
"$W/ownmalloc" 20 &
op=$!
"$W/heapwork-static" --leak 20 &
stp=$!
"$CPROF" heap -o "$T/busy.pb.gz" -- "$W/heapwork" --leak 20 >/dev/null 2>"$T/busy.err" &
bp=$!
ok
wait_until 20 has_threads "$op" 1 || fail "ownmalloc did not start"
refused "$op"
expect_grep "^cprof: cannot profile the heap of process $op: it has an allocator of its own linked in \\(it defines malloc\\)" "$T/err"
refused "$stp"
expect_grep "^cprof: cannot profile the heap of process $stp: it is statically linked" "$T/err"
ok
wait_until 20 grep -qs 'profiling the heap of' "$T/busy.err" || fail "cprof heap -- heapwork did not start"
bw=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/busy.err")
refused "$bw"
expect_grep "^cprof: cannot profile the heap of process $bw: its heap is being profiled already, by cprof pid $bp\$" "$T/err"
kill -STOP "$op"
ok
wait_until 20 sh -c "[ \"\$(sed 's/.*) //' /proc/$op/stat | cut -c1)\" = T ]" || fail "ownmalloc did not stop"
refused "$op"
expect_grep "^cprof: process $op is stopped \\(by SIGSTOP or Ctrl-Z; kill -CONT $op resumes it\\); cprof heap needs it running" "$T/err"
expect_eq "$(state "$op")" T "a stopped process's state after cprof heap --pid"
kill -CONT "$op"
"$W/heapwork" --leak 20 >/dev/null &
tp=$!
if command -v strace >/dev/null 2>&1; then
	strace -p "$tp" -o /dev/null 2>/dev/null &
	spid=$!
	ok
	if wait_until 20 grep -q "^TracerPid:[[:space:]]*$spid\$" /proc/"$tp"/status; then
		refused "$tp"
		expect_grep "^cprof: process $tp is already traced by PID $spid \\(strace\\): detach it first$" "$T/err"
	else
		fail "strace did not attach to $tp"
	fi
	kill "$spid"
	wait "$spid" 2>/dev/null || :
fi
if [ "$(id -u)" = 0 ] && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	expect_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$CPROF" heap --pid "$tp" --seconds 1 -o /dev/null
	expect_lines 1 "$T/err"
	expect_grep "^cprof: not allowed to trace process $tp: it belongs to uid 0; .*CAP_SYS_PTRACE" "$T/err"
fi
untraced "$tp"
refused 2147483647
expect_grep '^cprof: no such process 2147483647$' "$T/err"
kill -KILL "$op" "$stp" "$bp" "$tp" 2>/dev/null || :
wait "$op" "$stp" "$bp" "$tp" 2>/dev/null || :
ok
[ ! -e "$T/none.pb.gz" ] || fail "a profile was written after a refusal"

# --- Bad input: one line, exit 2 for usage and 1 for the rest, no profile.
usage() {
	expect_exit 2 "$CPROF" heap "$@"
	ok
	[ "$(grep -c '^cprof: ' "$T/err")" = 1 ] || fail "cprof heap $*: not one 'cprof: ' line"
	expect_lines 0 "$T/out"
}
usage
expect_grep '^cprof: nothing to profile: give --pid PID or -- CMD$' "$T/err"
usage --pid 1 -- true
expect_grep '^cprof: give --pid or a command, not both$' "$T/err"
usage --pid 1 --seconds 2 --watch 2s --interval 1s
expect_grep '^cprof: --seconds and --watch both set how long to run: give one$' "$T/err"
usage --rate 0 -- true
expect_grep "^cprof: bad value '0' for --rate" "$T/err"
usage --rate lots -- true
expect_grep "^cprof: bad value 'lots' for --rate" "$T/err"
usage --seconds never -- true
usage stray -- true
usage --interval 1s -- true
expect_grep '^cprof: --interval is the time between polls of --watch: give --watch too' "$T/err"
usage --watch 1s --interval 2s -- true
expect_grep '^cprof: --interval 2s is longer than --watch 1s$' "$T/err"
usage --watch 1s -- true
expect_grep '^cprof: --watch 1s is shorter than the default --interval of 5s' "$T/err"
usage --watch soon -- true
expect_grep "^cprof: --watch: bad duration 'soon'" "$T/err"
usage --watch 2s --interval 0 -- true
expect_grep "^cprof: --interval: bad duration '0': out of range" "$T/err"
usage --output-dir "$T" -- true
expect_grep "^cprof: --output-dir holds the profiles of --watch's polls: give --watch too" "$T/err"
error() {
	expect_exit 1 "$CPROF" heap "$@"
	expect_lines 1 "$T/err"
	expect_lines 0 "$T/out"
}
error -o "$T/none.pb.gz" -- "$T/no-such-command"
expect_grep "^cprof: cannot run $T/no-such-command: No such file or directory$" "$T/err"
error -o "$T/none.pb.gz" -- "$W/heapwork-static" 1
expect_grep "^cprof: cannot profile the heap of .*heapwork-static: it is statically linked" "$T/err"
CPROF_HEAP_LIB=$T/nowhere.so
export CPROF_HEAP_LIB
error -o "$T/none.pb.gz" -- "$W/heapwork" 1
expect_grep "^cprof: cannot read the heap library $T/nowhere.so: No such file or directory; .*CPROF_HEAP_LIB" "$T/err"
CPROF_HEAP_LIB=/etc/passwd
error -o "$T/none.pb.gz" -- sh -c 'touch "$0"' "$T/ran"
expect_grep "^cprof: the heap library /etc/passwd is not a shared library; .*CPROF_HEAP_LIB" "$T/err"
ok
[ ! -e "$T/ran" ] || fail "the command ran with a heap library that is none"
unset CPROF_HEAP_LIB
error -o "$T" -- "$W/heapwork" 1
error --watch 2s --interval 1s --output-dir "$T/heap.sh.none" -o "$T/none.pb.gz" -- "$W/heapwork" 1
expect_grep "^cprof: cannot use --output-dir $T/heap.sh.none: No such file or directory$" "$T/err"
: >"$T/plain"
error --watch 2s --interval 1s --output-dir "$T/plain" -o "$T/none.pb.gz" -- "$W/heapwork" 1
expect_grep "^cprof: --output-dir $T/plain is not a directory" "$T/err"
ok
[ ! -e "$T/none.pb.gz" ] || fail "a profile was written after an error"

finish
