#!/bin/sh
# The legacy formats go tool pprof still reads, made for real and read by
# cprof report as pprof reads them:
#
#  - Go's text profiles (WriteTo(w, 1), what /debug/pprof/NAME?debug=1
#    answers) of tests/go/genlegacy.go: goroutine, threadcreate (the
#    goroutine dump under threadcreate's header too, since Go writes that
#    one without stacks), heap ("@ heap/8192", unsampled) and block ("---
#    contention:"). go tool pprof is given the binary to name the
#    addresses; cprof names them from the files' "#" lines, except the
#    runtime frames Go leaves out of them, which are cprof's <unknown>.
#  - gperftools' own files from tests/workloads/gperfwork.cc, built here
#    with -ltcmalloc -lprofiler: the heap profiler's ("@ heapprofile"), the
#    same under tcmalloc's sampled header ("@ heap_v2/524288", for the
#    unsampling: this tcmalloc writes no samples of its own), and the binary
#    CPU profile. Both tools name the frames from the binaries on disk.
#
# For each, on each sample type: every function both -top lists name has
# the same flat% and cum% within 0.1 points; what pprof gives the frames
# only it names cprof gives to those only it names (<unknown> for Go's);
# the --folded counts add up to the total of go tool pprof -raw. Then --traces names frames from the "#"
# lines, and corrupt or truncated files end in exit 1 and one line.
#
# Skips (77) without Go. The gperftools part is skipped, and said so,
# without libgoogle-perftools-dev.
. "$top_srcdir/tests/lib.sh"

need_go legacy

# Rows of a -top listing as "name<TAB>flat%<TAB>cum%", names without
# cprof's " (file)" or " (file:line)" and a C++ function's parameters
# (pprof shows "spin", cprof "spin(double)").
# shellcheck disable=SC2016
rows='
/^[ \t]*flat[ \t]+flat%/ { on = 1; next }
on && NF >= 6 {
	name = $0
	sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", name)
	sub(/ \([^()]*[\/.:][^()]*\)$/, "", name)
	sub(/\([^()]*\)$/, "", name)
	f = $2; c = $5; sub(/%$/, "", f); sub(/%$/, "", c)
	print name "\t" f "\t" c
}'

# pprof's rows (first file) against cprof's (second file): the functions
# both name have the same flat% and cum% within 0.1; what pprof gives the
# functions only it names (matching the regular expression ponly) cprof
# gives to those only it names (matching conly), within 0.1 in all. Prints
# the functions named alike. Frames without a name, "[module]", count as
# named by one only: each tool may name more of them (unless exact is set,
# where both name frames by module alone).
# shellcheck disable=SC2016
compare='
BEGIN { FS = "\t" }
function abs(x) { return x < 0 ? -x : x }
NR == FNR { pf[$1] = $2; pc[$1] = $3; order[++n] = $1; next }
{ cf[$1] = $2; cc[$1] = $3 }
END {
	for (i = 1; i <= n; i++) {
		k = order[i]
		if (!(k in cf) || (!exact && k ~ /^\[/)) {
			if (k !~ ponly) { printf "  %s: named by pprof only\n", k; bad = 1 }
			ponlyflat += pf[k]
			continue
		}
		named++
		if (abs(cf[k] - pf[k]) > 0.1 || abs(cc[k] - pc[k]) > 0.1) {
			printf "  %s: pprof flat%% %s cum%% %s, cprof %s %s\n", k, pf[k], pc[k], cf[k], cc[k]
			bad = 1
		}
	}
	for (k in cf)
		if (!(k in pf) || (!exact && k ~ /^\[/)) {
			if (k !~ conly) { printf "  %s: named by cprof only\n", k; bad = 1 }
			conlyflat += cf[k]
		}
	if (abs(conlyflat - ponlyflat) > 0.1) {
		printf "  flat%% of the functions named by cprof only %s, by pprof only %s\n", \
			conlyflat, ponlyflat
		bad = 1
	}
	if (!named) { print "  no function in common"; bad = 1 }
	print named + 0
	exit bad
}'

# The sum of sample type $2 over go tool pprof -raw's samples of $1 (with
# the binary $3, if any).
raw_total() {
	# shellcheck disable=SC2086
	go tool pprof -raw ${3:-} "$1" 2>/dev/null | awk -v idx="$2" '
		/^Samples:/ { s = 1; getline; for (i = 1; i <= NF; i++) { t = $i; sub(/\/.*/, "", t); if (t == idx) col = i }; next }
		/^[^ ]/ { s = 0 }
		s && col && /^ *-?[0-9]+( +-?[0-9]+)*: / { split($0, part, ":"); split(part[1], v, " "); sum += v[col]; n++ }
		END { if (col && n) printf "%.0f\n", sum }'
}

# check LABEL FILE SAMPLE_TYPE [PPROF_ARGS...]: cprof report against go
# tool pprof -top and -raw.
check() {
	label=$1 file=$2 idx=$3
	shift 3
	ok
	if ! "$CPROF" report --top 0 --sample-index "$idx" "$file" >"$T/c.top" 2>"$T/c.err"; then
		fail "$label: cprof report --sample-index $idx failed:"
		cat "$T/c.err" >&2
		return 0
	fi
	if ! go tool pprof -top -nodecount=100000 -nodefraction=0 -sample_index="$idx" "$@" "$file" \
		>"$T/p.top" 2>"$T/p.err"; then
		fail "$label: go tool pprof -top failed:"
		cat "$T/p.err" >&2
		return 0
	fi
	awk "$rows" "$T/p.top" >"$T/p.rows"
	awk "$rows" "$T/c.top" >"$T/c.rows"
	if named=$(awk -v ponly="$ponly" -v conly="$conly" -v exact="${exact:-0}" "$compare" \
		"$T/p.rows" "$T/c.rows"); then
		echo "legacy: ok: $label $idx: --top agrees with go tool pprof -top ($(echo "$named" | tail -1) functions named alike)"
	else
		fail "$label $idx: cprof --top disagrees with go tool pprof -top:"
		echo "$named" | sed '$d' >&2
	fi
	want=$(raw_total "$file" "$idx" "$*")
	got=$("$CPROF" report --folded --sample-index "$idx" "$file" | awk '{ s += $NF } END { printf "%.0f\n", s }')
	expect_eq "$got" "$want" "$label $idx: --folded total against go tool pprof -raw"
}

# Go's text profiles: pprof may name runtime frames cprof cannot.
ponly=. conly='^<unknown>$'
if ! go build -o "$T/genlegacy" "$top_srcdir/tests/go/genlegacy.go" >"$T/build.log" 2>&1 ||
	! (cd "$T" && ./genlegacy -dir "$T") >"$T/gen.log" 2>&1; then
	fail "tests/go/genlegacy.go did not build or run:"
	cat "$T/build.log" "$T/gen.log" >&2
	finish
	exit
fi
check "goroutine" "$T/goroutine.txt" goroutine "$T/genlegacy"
sed '1s/^goroutine profile:/threadcreate profile:/' "$T/goroutine.txt" >"$T/threads.txt"
check "threadcreate" "$T/threads.txt" threadcreate "$T/genlegacy"
# Only the records of genlegacy's own allocations and waits: the runtime's,
# sampled by chance, may hold an inlined frame, which pprof names by its
# caller (it reads no inlining from a Go binary) and cprof by its "#" line.
for f in heap block; do
	awk '
	function flush() { if (rec != "" && keep) printf "%s", rec; rec = "" }
	NR == 1 { print; next }
	/^-?[0-9]+.* @ 0x/ { flush(); rec = $0 "\n"; keep = 0; next }
	rec != "" && /^#\t/ { rec = rec $0 "\n"; if ($0 ~ /\tmain\./) keep = 1; next }
	{ flush(); print }
	END { flush() }' "$T/$f.txt" >"$T/$f-main.txt"
done
for idx in inuse_space inuse_objects alloc_space alloc_objects; do
	check "Go heap" "$T/heap-main.txt" "$idx" "$T/genlegacy"
done
check "Go block" "$T/block-main.txt" delay "$T/genlegacy"
check "Go block" "$T/block-main.txt" contentions "$T/genlegacy"
# A mutex profile's header, with a sampling period that scales both values.
sed -e '1s/.*/--- mutex:/' -e '2a\
sampling period=5' "$T/block-main.txt" >"$T/mutex.txt"
check "Go mutex" "$T/mutex.txt" delay "$T/genlegacy"
check "Go mutex" "$T/mutex.txt" contentions "$T/genlegacy"

# The small files of the fuzz corpus that are written by hand, for the
# forms no tool here writes: gperftools' contentionz (with a brief memory
# map and a build id), a growthz heap and a 32-bit big-endian CPU profile.
ponly='^$' conly='^$' exact=1
fc=$top_srcdir/tests/fuzz/corpus/fuzz-legacy
check "contentionz" "$fc/contentionz" delay -symbolize=none
check "contentionz" "$fc/contentionz" contentions -symbolize=none
check "growthz" "$fc/growthz" space -symbolize=none
check "32-bit big-endian cpu" "$fc/cpu-32be" cpu -symbolize=none
ponly=. conly='^<unknown>$' exact=0

# Names from the "#" lines, with their lines, where pprof shows addresses.
expect_exit 0 "$CPROF" report --traces "$T/goroutine.txt"
expect_grep "^ +6 +<unknown>$" "$T/out"
expect_grep "^ +main\.parkA \(.*/genlegacy\.go:[0-9]+\)$" "$T/out"
expect_grep "^ +main\.park \(.*/genlegacy\.go:[0-9]+\)$" "$T/out"
expect_exit 0 "$CPROF" report --top 0 "$T/heap.txt"
expect_grep "^Type: inuse_space$" "$T/out"
expect_grep " main\.allocLarge \(.*genlegacy\.go\)$" "$T/out"
# Go's threadcreate dump itself has no stacks ("4 @"): pprof refuses it,
# cprof counts its threads.
n=$(awk '/^threadcreate profile: total/ { print $NF }' "$T/threadcreate.txt")
expect_exit 0 "$CPROF" report --top 0 "$T/threadcreate.txt"
expect_grep "^Showing nodes accounting for 0, 0% of $n total$" "$T/out"

# Corrupt and truncated files: exit 1, one line that says what is wrong.
corrupt() {
	expect_exit 1 "$CPROF" report "$1"
	expect_lines 1 "$T/err"
	expect_grep "^cprof: .*$2" "$T/err"
	expect_lines 0 "$T/out"
}
sed '2s/@ 0x/@ 0xg/' "$T/goroutine.txt" >"$T/bad-goroutine.txt"
corrupt "$T/bad-goroutine.txt" "bad-goroutine.txt: corrupt goroutine profile: line 2: not 'COUNT @ 0xADDRESS \.\.\.'"
awk 'NR == 2 { print substr($0, 1, 8); exit } { print }' "$T/heap.txt" >"$T/cut-heap.txt"
corrupt "$T/cut-heap.txt" "cut-heap.txt: corrupt heap profile: line 2: not 'COUNT: BYTES"
printf -- '--- contention:\ncycles/second=100\nformat = x\n' >"$T/bad-block.txt"
corrupt "$T/bad-block.txt" "corrupt contention profile: line 3: unknown attribute 'format'"
printf 'nothing pprof reads\n' >"$T/text.txt"
corrupt "$T/text.txt" "not a pprof protobuf profile, nor text in a legacy format"

# gperftools' files.
if ! c++ -O1 -g -fno-omit-frame-pointer -o "$T/gperfwork" "$top_srcdir/tests/workloads/gperfwork.cc" \
	-ltcmalloc -lprofiler >"$T/cc.log" 2>&1; then
	echo "legacy: note: gperftools is not installed (libgoogle-perftools-dev), its formats are not checked"
	finish
	exit
fi
if ! "$T/gperfwork" "$T" >"$T/gperf.log" 2>&1; then
	fail "gperfwork failed:"
	cat "$T/gperf.log" >&2
	finish
	exit
fi
expect_grep "^heap profile: .*@ heapprofile$" "$T/heap.prof"
expect_grep "^MAPPED_LIBRARIES:$" "$T/heap.prof"
# Both name frames from the files of the memory map; pprof leaves some as
# "[module]" (libc's without debug information), which cprof may name.
ponly='^\[' conly=.
for idx in inuse_space inuse_objects alloc_space alloc_objects; do
	check "gperftools heap" "$T/heap.prof" "$idx"
done
sed '1s/@ heapprofile$/@ heap_v2\/524288/' "$T/heap.prof" >"$T/heapz.prof"
check "gperftools heap_v2" "$T/heapz.prof" inuse_space
check "gperftools heap_v2" "$T/heapz.prof" alloc_objects
for idx in samples cpu; do
	check "gperftools cpu" "$T/cpu.prof" "$idx"
done
expect_exit 0 "$CPROF" report --top 0 "$T/cpu.prof"
expect_grep "^File: gperfwork$" "$T/out"
expect_grep "^Type: cpu$" "$T/out"
expect_grep " spin_a\(\) \(.*gperfwork\.cc:[0-9]+\)$" "$T/out"
expect_exit 0 "$CPROF" report --top 0 "$T/heap.prof"
expect_grep "^ +8MB +[0-9.]+% +[0-9.]+% +8MB +[0-9.]+%  keep_big\(\) " "$T/out"
# A binary rebuilt since (another inode) is not used: frames by module.
cp "$T/gperfwork" "$T/gperfwork.new" && mv "$T/gperfwork.new" "$T/gperfwork"
expect_exit 0 "$CPROF" report --top 0 "$T/cpu.prof"
expect_grep " \[gperfwork\]$" "$T/out"
expect_no_grep "spin_a" "$T/out"
# The CPU profile cut inside its samples.
head -c 100 "$T/cpu.prof" >"$T/cut-cpu.prof"
corrupt "$T/cut-cpu.prof" "cut-cpu.prof: corrupt gperftools CPU profile: truncated"

finish
