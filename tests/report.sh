#!/bin/sh
# `cprof report`'s views over the bundled Go profiles: each view's content,
# the options that shape it, and agreement between the views' totals.
. "$top_srcdir/tests/lib.sh"

cpu=$FIXTURES/go-cpu.pb.gz
heap=$FIXTURES/go-heap.pb.gz

# --top, the default: pprof's columns, the hottest function first.
expect_exit 0 "$CPROF" report "$cpu"
expect_grep '^Type: cpu$' "$T/out"
expect_grep '^ +flat +flat% +sum% +cum +cum%$' "$T/out"
expect_eq "$(grep -A1 ' flat%' "$T/out" | tail -n 1 | awk '{print $6}')" main.hotA "hottest function"
expect_grep '^ +660ms +43\.71% +43\.71% +830ms +54\.97%  main\.hotA \(.*genprof\.go\)$' "$T/out"
rows() { awk '/ flat%/ {on = 1; next} on' "$1" | wc -l; }
expect_eq "$(rows "$T/out")" 10 "rows shown by default"
"$CPROF" report --top 3 "$cpu" >"$T/top3"
expect_eq "$(rows "$T/top3")" 3 "rows with --top 3"
expect_grep '\(3 of 32 functions shown\)' "$T/top3"
"$CPROF" report --top 0 "$cpu" >"$T/all"
expect_eq "$(rows "$T/all")" 32 "rows with --top 0"
# Reading standard input gives the same.
"$CPROF" report --top 0 - <"$cpu" >"$T/stdin"
expect_eq "$(grep -v '^File' "$T/stdin")" "$(grep -v '^File' "$T/all")" "report of stdin"

# --sample-index by name and by number; the heap profile's default is its last type.
expect_exit 0 "$CPROF" report "$heap"
expect_grep '^Type: inuse_space$' "$T/out"
expect_grep '  main\.allocLarge ' "$T/out"
expect_exit 0 "$CPROF" report --sample-index alloc_objects "$heap"
expect_grep '^Type: alloc_objects$' "$T/out"
expect_exit 0 "$CPROF" report --sample-index 0 "$cpu"
expect_grep '^Type: samples$' "$T/out"
expect_grep '^ +66 +43\.71% ' "$T/out"

# --focus keeps the stacks through a match, --ignore drops them; shares stay
# shares of the whole profile.
expect_exit 0 "$CPROF" report --top 0 --focus '^main\.hotB$' "$cpu"
expect_grep '^Active filters:$' "$T/out"
expect_grep '^   focus=\^main\\.hotB\$$' "$T/out"
expect_grep '  main\.hotB ' "$T/out"
expect_no_grep '  main\.hotA ' "$T/out"
expect_grep 'of 1\.51s total' "$T/out"
expect_exit 0 "$CPROF" report --top 0 --ignore 'main\.stageA' "$cpu"
expect_no_grep '  main\.hotA ' "$T/out"
expect_grep '  main\.hotB ' "$T/out"

# --folded: one line per distinct stack, root first, counts adding up to the total.
expect_exit 0 "$CPROF" report --folded --sample-index samples "$cpu"
expect_grep '^main\.worker;.*;main\.hotA [0-9]+$' "$T/out"
expect_eq "$(awk '{s += $NF} END {print s}' "$T/out")" 151 "sum of folded counts"
expect_eq "$(cut -d' ' -f1 "$T/out" | sort | uniq -d | wc -l)" 0 "repeated folded stacks"

# By default --folded counts samples, as flamegraph.pl expects ("151
# samples", not 1.51e9 of nanoseconds); a heap profile counts objects.
expect_exit 0 "$CPROF" report --folded "$cpu"
expect_eq "$(awk '{s += $NF} END {print s}' "$T/out")" 151 "sum of default folded counts"
expect_exit 0 "$CPROF" report --folded --sample-index inuse_objects "$heap"
objects=$(awk '{s += $NF} END {print s}' "$T/out")
expect_exit 0 "$CPROF" report --folded "$heap"
expect_eq "$(awk '{s += $NF} END {print s}' "$T/out")" "$objects" "heap folded counts"
# A diff profile folds as difffolded.pl writes: "stack base new", both
# magnitudes, which flamegraph.pl draws as a differential flame graph; in
# counts too, which cprof diff -o keeps beside the type it compares.
expect_exit 0 "$CPROF" diff -o "$T/self.pb.gz" "$cpu" "$cpu"
expect_exit 0 "$CPROF" report --folded "$T/self.pb.gz"
expect_eq "$(awk 'NF < 3 || $(NF - 1) !~ /^[0-9]+$/ || $NF !~ /^[0-9]+$/' "$T/out" | wc -l)" 0 "folded diff lines without two counts"
expect_eq "$(awk '{b += $(NF - 1); n += $NF} END {print b, n}' "$T/out")" "151 151" "folded diff columns"

# --call-tree: callers above their callees, indented by depth.
expect_exit 0 "$CPROF" report --call-tree "$cpu"
expect_grep '^ +1\.51s +100% +0  main\.worker' "$T/out"
expect_grep '^ +830ms +54\.97% +0 {10}main\.stageA \(' "$T/out"
expect_grep '^ +830ms +54\.97% +660ms {14}main\.hotA \(' "$T/out"

# --traces: stacks leaf first with labels, largest first.
expect_exit 0 "$CPROF" report --traces "$cpu"
expect_grep '^-----------\+-----' "$T/out"
expect_grep '^ +worker: +[a-z]+$' "$T/out"
expect_grep '^ +[0-9.]+m?s +main\.hotA \(.*genprof\.go:[0-9]+\)$' "$T/out"

# --flame: no line wider than --width, bars in proportion, pruning by --min-percent.
expect_exit 0 "$CPROF" report --flame --width 80 "$cpu"
wide=$(sed -n '/100%/,$p' "$T/out" | while IFS= read -r line; do
	printf '%s' "$line" | LC_ALL=C.UTF-8 wc -m
done | sort -n | tail -n 1)
ok
[ "$wide" -le 80 ] || fail "flame line of $wide columns with --width 80"
expect_grep '^   100% █{32} main\.worker$' "$T/out"
bar=$(grep ' main\.hotA$' "$T/out" | head -n 1 | grep -o '█' | wc -l)
ok
# hotA (under stageA) has 54.97% of the total: 17 or 18 full cells of 32.
[ "$bar" -ge 17 ] && [ "$bar" -le 18 ] || fail "hotA bar of $bar cells, expected 17-18"
expect_exit 0 "$CPROF" report --flame --width 80 --min-percent 20 "$cpu"
expect_grep ' main\.hotB$' "$T/out"
expect_no_grep ' main\.hotC$' "$T/out"

# Views combine, in a fixed order.
expect_exit 0 "$CPROF" report --top 1 --flame --folded "$cpu"
expect_grep '^main\.worker;' "$T/out"
expect_grep ' flat%' "$T/out"

# --svg: a whole SVG with a hover title per frame, written atomically.
expect_exit 0 "$CPROF" report --svg "$T/flame.svg" "$cpu"
expect_lines 0 "$T/out"
expect_grep '^cprof: wrote .*flame\.svg$' "$T/err"
expect_grep '<svg' "$T/flame.svg"
expect_grep '</svg>' "$T/flame.svg"
expect_grep '<title>main\.hotA \(' "$T/flame.svg"
expect_eq "$(ls "$T" | grep -c 'tmp')" 0 "temporary files left"
if command -v python3 >/dev/null 2>&1; then
	ok
	python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$T/flame.svg" ||
		fail "the SVG is not well-formed XML"
fi

# Profiles cprof writes name the target's executable as their binary (the
# first mapping, which pprof shows as File:), though their first stacks are
# in libc: a thread dump of sleeping threads, a cpu profile, a diff of two.
W=$top_builddir/tests/workloads
"$W/threadwork" --pool 3 --seconds 60 >/dev/null &
pid=$!
settle "$pid" 4
expect_exit 0 "$CPROF" threads --pid "$pid" -o "$T/threads.pb.gz"
kill "$pid"
wait "$pid" 2>/dev/null || true
written=threads:threadwork
if [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ]; then
	expect_exit 0 "$CPROF" cpu -o "$T/cpu.pb.gz" -- "$W/cpuwork-nofp" --rounds 100
	expect_exit 0 "$CPROF" diff -o "$T/diff.pb.gz" "$T/cpu.pb.gz" "$T/cpu.pb.gz"
	written="$written cpu:cpuwork-nofp diff:cpuwork-nofp"
	# --list: work_a's source, its time on the lines of its loop (the
	# for and the three xor-shifts), none on the lines outside it.
	# (file names are as the compiler saw them, relative to the build directory)
	(cd "$top_builddir" && "$CPROF" report --list '^work_a$' "$T/cpu.pb.gz") >"$T/out" 2>&1 ||
		fail "report --list work_a"
	expect_grep '^ROUTINE =+ work_a in .*tests/workloads/cpuwork\.c$' "$T/out"
	hot=$(awk -F: '/^ +[0-9.]+[mun]?s +[0-9.]+[mun]?s +[0-9]+:/ { split($1, v, " ");
			t = v[1] + 0; u = v[1]; sub(/^[0-9.]+/, "", u)
			t *= u == "ms" ? 1e-3 : u == "us" ? 1e-6 : u == "ns" ? 1e-9 : 1
			if (t > max) { max = t; line = $0 } } END { print line }' "$T/out")
	case $hot in
	*"x ^= x"* | *"for (unsigned long i"*) ok "the hottest line of work_a is in its loop: $hot" ;;
	*) fail "the hottest line of work_a is not in its loop: '$hot'"; cat "$T/out" ;;
	esac
	expect_no_grep '^ +[0-9.]+[mun]?s +[0-9.]+[mun]?s +[0-9]+:(\{|}|	return x;|__attribute__)' "$T/out"
fi
for f in $written; do
	expect_exit 0 "$CPROF" report "$T/${f%%:*}.pb.gz"
	expect_grep "^File: ${f#*:}\$" "$T/out"
	expect_grep '^Build ID: [0-9a-f]{40}$' "$T/out"
	if command -v go >/dev/null 2>&1; then
		go tool pprof -raw "$T/${f%%:*}.pb.gz" >"$T/raw" 2>&1 || fail "go tool pprof -raw ${f%%:*}"
		expect_grep "^1: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ /.*/${f#*:} " "$T/raw"
	fi
done

# Label views and filters (tests/gopprof.sh holds them to go tool pprof's):
# the thread dump's threads by name; a key, a regular expression without a
# key, a numeric range; bad expressions are usage errors.
expect_exit 0 "$CPROF" report --tags --sample-index 0 "$T/threads.pb.gz"
expect_grep '^ thread: Total 4\.0$' "$T/out"
expect_grep '^ +3\.0 \(75\.00%\): pool-[0-9]$|^ +1\.0 \(25\.00%\): pool-[0-9]$' "$T/out"
expect_no_grep '^(File|Type):' "$T/out"
expect_exit 0 "$CPROF" report --tags --tagfocus 'thread=^pool-[01]$' "$T/threads.pb.gz"
expect_grep '^ thread: Total 2\.0$' "$T/out"
expect_exit 0 "$CPROF" report --tags --tagignore 'thread:pool' "$T/threads.pb.gz"
expect_grep '^ thread: Total 1\.0$' "$T/out"
expect_exit 0 "$CPROF" report --top 5 --tagfocus thread=pool "$T/threads.pb.gz"
expect_grep '^   tagfocus=thread=pool$' "$T/out"
expect_grep 'pool_worker' "$T/out"
expect_exit 0 "$CPROF" report --tags "$T/threads.pb.gz"
tid=$(awk '/^ tid:/ { getline; print $NF; exit }' "$T/out")
expect_exit 0 "$CPROF" report --tags --tagfocus "tid=$tid:$tid" "$T/threads.pb.gz"
expect_grep "^ +1\.0 \(  100%\): $tid\$" "$T/out"
# Several profiles merged: their samples added, their durations summed.
expect_exit 0 "$CPROF" report --tags "$T/threads.pb.gz" "$T/threads.pb.gz"
expect_grep '^ thread: Total 8\.0$' "$T/out"
if [ -e "$T/cpu.pb.gz" ]; then
	expect_exit 1 "$CPROF" report "$T/threads.pb.gz" "$T/cpu.pb.gz"
	expect_lines 1 "$T/err"
	expect_grep "^cprof: .*cpu\.pb\.gz: its sample types or period type differ from the first profile's" "$T/err"
fi
expect_exit 2 "$CPROF" report --tagfocus 'thread=(' "$T/threads.pb.gz"
expect_lines 2 "$T/err"
expect_grep "^cprof: bad regular expression '\(' for --tagfocus" "$T/err"

# A gzip bomb is refused once it inflated past the limit, in one line that
# says how to raise it; CPROF_MAX_PROFILE_SIZE sets the limit (1 GiB by
# default, tests/test-pprof tries that one). A profile under it reads.
head -c 8388608 /dev/zero | gzip -1 >"$T/bomb.gz"
expect_exit 1 env CPROF_MAX_PROFILE_SIZE=1M "$CPROF" report "$T/bomb.gz"
expect_lines 1 "$T/err"
expect_grep '^cprof: .*bomb\.gz: inflates to more than the 1 MiB a profile may take \(a gzip bomb\?\): set CPROF_MAX_PROFILE_SIZE, such as 4G, to read a larger one$' "$T/err"
expect_exit 0 env CPROF_MAX_PROFILE_SIZE=1M "$CPROF" report "$cpu"
expect_exit 1 env CPROF_MAX_PROFILE_SIZE=lots "$CPROF" report "$cpu"
expect_grep "^cprof: .*: CPROF_MAX_PROFILE_SIZE='lots' is not a size" "$T/err"

# The legacy formats pprof reads are read too (tests/legacy.sh holds them
# to go tool pprof): a Go goroutine dump, named by its "#" lines, gzipped or
# not, and a gperftools heap profile.
printf 'goroutine profile: total 2\n2 @ 0x43b8d6 0x44c2b1\n#\t0x43b8d5\truntime.gopark+0x115\tproc.go:363\n' >"$T/goroutine.txt"
printf 'heap profile:   1:   100 [   1:   100] @ heapprofile\n   1:   100 [   1:   100] @ 0x4\n' >"$T/heap.txt"
gzip -c "$T/goroutine.txt" >"$T/goroutine.txt.gz"
for f in goroutine.txt goroutine.txt.gz; do
	expect_exit 0 "$CPROF" report --top 0 "$T/$f"
	expect_grep '^Type: goroutine$' "$T/out"
	expect_grep '^ +2 +100% +100% +2 +100%  runtime\.gopark \(proc\.go\)$' "$T/out"
done
expect_exit 0 "$CPROF" report --top 0 "$T/heap.txt"
expect_grep '^Type: space$' "$T/out"
expect_grep '^ +100B +100% +100% +100B +100%  <unknown>$' "$T/out"

finish
