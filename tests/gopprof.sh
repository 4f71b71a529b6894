#!/bin/sh
# Check that cprof reads profiles written by Go's runtime/pprof the same way
# `go tool pprof` does. For a fresh CPU profile, a fresh heap profile (made by
# tests/go/genprof.go) and the checked-in fixtures tests/fixtures/go-*.pb.gz:
#
#  - `cprof report --top 0` against `go tool pprof -top`: every function pprof
#    lists must be listed by cprof with flat% and cum% within 0.1 points, the
#    functions with nonzero flat must be the same, and so must the first
#    (top by flat) function;
#  - the counts of `cprof report --folded` must add up to the profile's total
#    for that sample type (summed from `go tool pprof -raw`);
#  - the same --top check on profiles with negative values that go tool pprof
#    made of the two CPU profiles (`-base`, and `-diff_base` with pprof::base
#    labels): totals are of the values' magnitudes, or of the base's; and
#    the same differences made by `cprof report --base` and `--diff-base`;
#  - the same --top check on a cprof cpu profile of a stripped program, whose
#    frames without symbols pprof groups per mapping ("[cpuwork-nofp]").
#  - the same --top and --folded checks on a cprof heap profile of heapwork,
#    on each of its four sample types;
#  - `cprof report --tags` against `go tool pprof -tags`, line for line, and
#    --top under --tagfocus and --tagignore (string labels, a regular
#    expression without a key, a numeric range) against pprof's, on the
#    fresh CPU profile (Go's pprof.Do labels) and on a cprof cpu profile
#    (thread and tid labels); --top with --cum, --noinlines, --hide and --show, and of
#    two profiles merged;
#  - `cprof report --tree`, `--peek`, `--list`, `--raw`, `--callgrind` and `--dot` against go tool pprof's, byte for
#    byte, on those profiles and with each option that shapes pprof's graph
#    (granularities, node and edge cuts, --cum, --noinlines, filters,
#    --show-from, --prune-from, --tagroot, --tagleaf), and --tags with
#    --tagshow and --taghide.
#
# Environment: CPROF (the cprof binary), top_srcdir. Skips (77) without Go.
set -eu

: "${CPROF:?CPROF must name the cprof binary}"
: "${top_srcdir:?top_srcdir must be set}"

me=gopprof
tol=0.1

if ! command -v go >/dev/null 2>&1; then
	echo "$me: SKIP: go is not installed"
	exit 77
fi
if ! go tool pprof -h >/dev/null 2>&1; then
	echo "$me: SKIP: 'go tool pprof' does not work"
	exit 77
fi

if [ ! -x "$CPROF" ]; then
	echo "$me: FAIL: CPROF=$CPROF is not an executable"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-gopprof.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM

# Go needs a writable build cache; use a private one if the default is not.
gocache=$(go env GOCACHE 2>/dev/null || true)
case $gocache in
"" | off) gocache= ;;
*) { mkdir -p "$gocache" && [ -w "$gocache" ]; } 2>/dev/null || gocache= ;;
esac
if [ -z "$gocache" ]; then
	GOCACHE=$tmp/gocache
	export GOCACHE
fi

failed=0
fail() {
	echo "$me: FAIL: $*"
	failed=1
}

# Print the rows of a -top listing (pprof's or cprof's) as tab-separated
# records: name, flat%, cum% range, flat is nonzero (0/1), original line. Names
# lose cprof's " (file:line)" or " (file)" and pprof's " (inline)" and
# " (partial-inline)". A name that pprof lists twice (inlined and not) is
# merged: flat% is summed, and cum% is given as a range [max, sum]. The first
# record is "#top", the first row.
# Exits 1 if a row does not parse or there are no rows.
# shellcheck disable=SC2016
parse_top='
BEGIN { OFS = "\t" }
inrows {
	if ($0 ~ /^[ \t]*$/) next
	if (NF < 6 || $2 !~ /%$/ || $3 !~ /%$/ || $5 !~ /%$/) {
		print "unparsable row in " FILENAME ": " $0 > "/dev/stderr"
		bad = 1
		next
	}
	name = $0
	sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", name)
	sub(/ \([^()]*[\/.:][^()]*\)$/, "", name)
	sub(/ \((partial-)?inline\)$/, "", name)
	v = $1
	sub(/^[-+]/, "", v)
	sub(/[^0-9.].*$/, "", v)
	nz = (v ~ /[1-9]/) ? 1 : 0
	# pprof prints a share'"'"'s magnitude, cprof a negative one signed.
	f = $2; sub(/%$/, "", f); sub(/^-/, "", f)
	c = $5; sub(/%$/, "", c); sub(/^-/, "", c)
	line = $0
	gsub(/\t/, " ", line)
	if (nrows++ == 0) print "#top", name, $1 " " $2, line
	if (name in flat) {
		dup[name] = 1
		flat[name] += f
		cumsum[name] += c
		if (c + 0 > cummax[name]) cummax[name] = c + 0
		nzf[name] = nzf[name] || nz
		text[name] = text[name] " | " line
	} else {
		order[++n] = name
		flat[name] = f + 0
		cumsum[name] = c + 0
		cummax[name] = c + 0
		nzf[name] = nz
		text[name] = line
	}
	next
}
/^[ \t]*flat[ \t]+flat%[ \t]+sum%[ \t]+cum[ \t]+cum%/ { inrows = 1 }
END {
	if (!inrows) { print "no header line in " FILENAME > "/dev/stderr"; exit 1 }
	if (nrows == 0) { print "no rows in " FILENAME > "/dev/stderr"; exit 1 }
	for (i = 1; i <= n; i++) {
		k = order[i]
		print k, flat[k], cummax[k], cumsum[k], nzf[k], text[k]
	}
	exit bad
}'

# Compare parsed pprof (first file) and cprof (second file) listings.
# shellcheck disable=SC2016
compare_top='
BEGIN { FS = "\t"; eps = tol + 1e-9 }
function abs(x) { return x < 0 ? -x : x }
NR == FNR {
	if ($1 == "#top") { ptop = $2; ptopv = $3; ptopl = $4; next }
	pn[++np] = $1
	pflat[$1] = $2; pmin[$1] = $3; pmax[$1] = $4; pnz[$1] = $5; pline[$1] = $6
	next
}
{
	if ($1 == "#top") { ctop = $2; ctopl = $4; next }
	cflat[$1] = $2; ccum[$1] = $3; cnz[$1] = $5; cline[$1] = $6
	cn[++nc] = $1
}
function mismatch(what, k) {
	printf "  %s: %s\n    pprof: %s\n    cprof: %s\n", what, k, \
		(k in pline) ? pline[k] : "(not listed)", \
		(k in cline) ? cline[k] : "(not listed)"
	bad++
}
END {
	for (i = 1; i <= np; i++) {
		k = pn[i]
		if (!(k in cflat)) { mismatch("function missing from cprof", k); continue }
		if (abs(cflat[k] - pflat[k]) > eps)
			mismatch("flat% differs by more than " tol, k)
		else if (ccum[k] < pmin[k] - eps || ccum[k] > pmax[k] + eps)
			mismatch("cum% differs by more than " tol, k)
	}
	for (i = 1; i <= np; i++)
		if (pnz[pn[i]] && !cnz[pn[i]])
			mismatch("nonzero flat in pprof only", pn[i])
	for (i = 1; i <= nc; i++)
		if (cnz[cn[i]] && !pnz[cn[i]])
			mismatch("nonzero flat in cprof only", cn[i])
	if (ctop != ptop) {
		# Accept a tie: pprof shows the same flat for both names.
		split(pline[ctop], w, " ")
		if (!(ctop in pline) || w[1] " " w[2] != ptopv) {
			printf "  top function differs\n    pprof: %s\n    cprof: %s\n", ptopl, ctopl
			bad++
		}
	}
	exit bad ? 1 : 0
}'

# check_top LABEL FILE [SAMPLE_INDEX]; $copts and $pfilt: more options of
# cprof and go tool pprof (no spaces in them).
check_top() {
	label=$1 file=$2 idx=${3-}
	out=$tmp/out
	# cprof options in "$@", pprof options in $popts (no spaces in them).
	if [ -n "$idx" ]; then
		set -- --sample-index "$idx"
		popts="-nodefraction=0 -sample_index=$idx"
	else
		set --
		popts=-nodefraction=0
	fi
	popts="$popts ${pfilt:-}"
	# shellcheck disable=SC2086
	if ! "$CPROF" report --top 0 "$@" ${copts:-} "$file" >"$out.cprof" 2>"$out.cprof.err"; then
		fail "$label: cprof report --top 0${1+ $*} failed:"
		cat "$out.cprof.err"
		return 0
	fi
	# shellcheck disable=SC2086
	if ! go tool pprof -top -nodecount=100000 -symbolize=none $popts "$file" \
		>"$out.pprof" 2>"$out.pprof.err"; then
		fail "$label: go tool pprof -top $popts failed:"
		cat "$out.pprof.err"
		return 0
	fi
	if ! awk "$parse_top" "$out.pprof" >"$out.pprof.tsv" 2>"$out.err"; then
		fail "$label: cannot parse go tool pprof -top output:"
		cat "$out.err" "$out.pprof"
		return 0
	fi
	if ! awk "$parse_top" "$out.cprof" >"$out.cprof.tsv" 2>"$out.err"; then
		fail "$label: cannot parse cprof report --top output:"
		cat "$out.err" "$out.cprof"
		return 0
	fi
	if awk -v tol="$tol" "$compare_top" "$out.pprof.tsv" "$out.cprof.tsv" \
		>"$out.diff"; then
		echo "$me: ok: $label: --top matches go tool pprof -top" \
			"($(($(wc -l <"$out.pprof.tsv") - 1)) functions)"
	else
		fail "$label: cprof --top disagrees with go tool pprof -top:"
		cat "$out.diff"
	fi
}

# check_same LABEL FILE "CPROF OPTIONS" "PPROF OPTIONS" [sorted]: cprof report
# prints what go tool pprof prints, byte for byte (header, legend, rows); or,
# with "sorted", the same lines in some order: in a diff pprof orders callers
# of equal magnitude and opposite sign as its hash map happens to.
check_same() {
	label=$1 file=$2 copt=$3 popt=$4 order=${5-}
	out=$tmp/out
	crc=0 prc=0
	# shellcheck disable=SC2086
	"$CPROF" report $copt "$file" >"$out.cprof" 2>"$out.cprof.err" || crc=$?
	# shellcheck disable=SC2086
	go tool pprof $popt "$file" >"$out.pprof" 2>"$out.pprof.err" || prc=$?
	if [ "$crc" != "$prc" ]; then
		fail "$label: cprof report $copt exits $crc, go tool pprof $popt $prc:"
		cat "$out.cprof.err" "$out.pprof.err"
		return 0
	fi
	if [ "$order" = sorted ]; then
		sort "$out.cprof" >"$out.cprof.s" && mv "$out.cprof.s" "$out.cprof"
		sort "$out.pprof" >"$out.pprof.s" && mv "$out.pprof.s" "$out.pprof"
	fi
	if [ "$prc" = 0 ] && [ ! -s "$out.pprof" ]; then
		fail "$label: go tool pprof $popt printed nothing"
	elif cmp -s "$out.pprof" "$out.cprof"; then
		echo "$me: ok: $label: report $copt is go tool pprof $popt${order:+ ($order)} (exit $crc)"
	else
		fail "$label: cprof report $copt differs from go tool pprof $popt:"
		diff "$out.pprof" "$out.cprof" | head -20
	fi
}

# check_tags LABEL FILE [CPROF_OPTION PPROF_OPTION]: --tags is pprof's -tags.
check_tags() {
	check_same "$1" "$2" "--tags ${3-}" "-tags ${4-}"
}

# check_callgrind LABEL FILE: --callgrind writes what go tool pprof
# -callgrind writes, byte for byte; callgrind_annotate (valgrind's) reads it.
check_callgrind() {
	out=$tmp/out
	if ! "$CPROF" report --callgrind "$out.c.cg" "$2" >/dev/null 2>"$out.cprof.err" ||
		! go tool pprof -callgrind -output "$out.p.cg" "$2" >/dev/null 2>&1; then
		fail "$1: --callgrind failed:"
		cat "$out.cprof.err"
	elif cmp -s "$out.p.cg" "$out.c.cg"; then
		echo "$me: ok: $1: --callgrind is go tool pprof -callgrind, byte for byte"
	else
		fail "$1: --callgrind differs from go tool pprof -callgrind:"
		diff "$out.p.cg" "$out.c.cg" | head -20
	fi
	if command -v callgrind_annotate >/dev/null 2>&1; then
		if callgrind_annotate "$out.c.cg" 2>&1 | grep -q '^Events recorded: '; then
			echo "$me: ok: $1: callgrind_annotate reads the --callgrind file"
		else
			fail "$1: callgrind_annotate does not read the --callgrind file:"
			callgrind_annotate "$out.c.cg" 2>&1 | head -5
		fi
	fi
}

# check_dot LABEL FILE "OPTIONS" [sorted]: --dot writes what go tool pprof
# -dot writes, byte for byte (or the same lines, in a diff: see check_same);
# Graphviz's dot, where installed, draws it.
check_dot() {
	out=$tmp/out
	# shellcheck disable=SC2086
	if ! "$CPROF" report --dot "$out.c.dot" $3 "$2" >/dev/null 2>"$out.cprof.err" ||
		! go tool pprof -dot -output "$out.p.dot" $(echo " $3" | sed 's/ --/ -/g; s/sample-index/sample_index/') \
			"$2" >/dev/null 2>&1; then
		fail "$1: --dot $3 failed:"
		cat "$out.cprof.err"
		return 0
	fi
	if [ "${4-}" = sorted ]; then
		# (pprof numbers a node's nodelets of equal magnitude and opposite
		# sign as its map happens to order them, too)
		sed 's/\(N[0-9]*\)_[0-9]*/\1_x/g' "$out.c.dot" | sort >"$out.s" && mv "$out.s" "$out.c.dot"
		sed 's/\(N[0-9]*\)_[0-9]*/\1_x/g' "$out.p.dot" | sort >"$out.s" && mv "$out.s" "$out.p.dot"
	fi
	if cmp -s "$out.p.dot" "$out.c.dot"; then
		echo "$me: ok: $1: --dot $3 is go tool pprof -dot's${4:+ ($4)}"
	else
		fail "$1: --dot $3 differs from go tool pprof -dot:"
		diff "$out.p.dot" "$out.c.dot" | head -20
	fi
	if [ -z "${4-}" ] && command -v dot >/dev/null 2>&1; then
		if dot -Tsvg -o "$out.svg" "$out.c.dot" 2>"$out.dot.err" && grep -q '<svg' "$out.svg"; then
			echo "$me: ok: $1: Graphviz draws the --dot file"
		else
			fail "$1: Graphviz does not draw the --dot file:"
			cat "$out.dot.err"
		fi
	fi
}

# check_graph LABEL FILE [sorted]: --tree and --peek, with pprof's options
# that shape its graph, against go tool pprof's.
check_graph() {
	for args in "tree" "peek=." "peek=main|work" "tree cum" "tree lines" "peek=. files" \
		"tree filefunctions" "tree addresses" "tree noinlines" "tree nodecount=5" \
		"tree nodefraction=0.05 edgefraction=0.02" "tree cum lines nodecount=12" \
		"tree unit=ms" "peek=. unit=auto" "tree mean" "tree drop-negative" \
		"tree relative-percentages focus=main" "list=main unit=us" \
		"raw" "raw hide=runtime" "raw show=main|work" "raw focus=main" \
		"peek=no_such_function"; do
		copt= popt=
		for a in $args; do
			o=${a%%=*}
			copt="$copt --$o${a#"$o"}"
			popt="$popt -$(echo "$o" | tr - _)${a#"$o"}"
		done
		check_same "$1" "$2" "$copt" "$popt" "${3-}"
	done
}

# check_folded LABEL FILE SAMPLE_INDEX
check_folded() {
	label=$1 file=$2 idx=$3
	out=$tmp/out
	if ! go tool pprof -raw "$file" >"$out.raw" 2>"$out.raw.err"; then
		fail "$label: go tool pprof -raw failed:"
		cat "$out.raw.err"
		return 0
	fi
	# Sum the column of sample type $idx over the samples of the -raw dump.
	want=$(awk -v idx="$idx" '
		/^Samples:/ { s = 1; getline; for (i = 1; i <= NF; i++) { t = $i; sub(/\/.*/, "", t); if (t == idx) col = i } ; next }
		/^[^ ]/ { s = 0 }
		s && col && /^ *-?[0-9]+( +-?[0-9]+)*: / {
			split($0, part, ":"); split(part[1], v, " "); sum += v[col]; n++
		}
		END { if (!col || !n) exit 1; printf "%.0f\n", sum }' "$out.raw") || {
		fail "$label: no sample type $idx or no samples in go tool pprof -raw output"
		return 0
	}
	if ! "$CPROF" report --folded --sample-index "$idx" "$file" \
		>"$out.folded" 2>"$out.folded.err"; then
		fail "$label: cprof report --folded --sample-index $idx failed:"
		cat "$out.folded.err"
		return 0
	fi
	got=$(awk '
		NF == 0 { next }
		$NF !~ /^-?[0-9]+$/ { print "bad folded line: " $0 > "/dev/stderr"; bad = 1; next }
		{ sum += $NF }
		END { printf "%.0f\n", sum; exit bad }' "$out.folded" 2>"$out.folded.err") || {
		fail "$label: cprof --folded output has lines without a count:"
		head -n 5 "$out.folded.err"
		return 0
	}
	if [ "$got" = "$want" ]; then
		echo "$me: ok: $label: --folded $idx counts add up to $want"
	else
		fail "$label: cprof --folded $idx counts add up to $got," \
			"go tool pprof -raw says $want"
	fi
}

# Fresh profiles from this machine's Go.
if ! (cd "$tmp" && go run "$top_srcdir/tests/go/genprof.go" \
	-cpu "$tmp/cpu.pb.gz" -heap "$tmp/heap.pb.gz") >"$tmp/genprof.log" 2>&1; then
	echo "$me: FAIL: go run tests/go/genprof.go failed:"
	cat "$tmp/genprof.log"
	exit 1
fi

check_top "fresh cpu" "$tmp/cpu.pb.gz"
check_folded "fresh cpu" "$tmp/cpu.pb.gz" samples
check_tags "fresh cpu" "$tmp/cpu.pb.gz"
check_tags "fresh cpu" "$tmp/cpu.pb.gz" --tagfocus=worker=a -tagfocus=worker=a
check_tags "fresh cpu" "$tmp/cpu.pb.gz" --tagignore=worker=b -tagignore=worker=b
copts="--cum" pfilt="-cum" check_top "fresh cpu, cum" "$tmp/cpu.pb.gz"
copts="--noinlines" pfilt="-noinlines" check_top "fresh cpu, noinlines" "$tmp/cpu.pb.gz"
for g in lines files filefunctions addresses; do
	copts="--$g" pfilt="-$g" check_top "fresh cpu, $g" "$tmp/cpu.pb.gz"
done
copts="--cum --lines" pfilt="-cum -lines" check_top "fresh cpu, cum lines" "$tmp/cpu.pb.gz"
for f in runtime main; do
	copts="--hide $f" pfilt="-hide=$f" check_top "fresh cpu, hide $f" "$tmp/cpu.pb.gz"
	copts="--show $f" pfilt="-show=$f" check_top "fresh cpu, show $f" "$tmp/cpu.pb.gz"
done
for f in worker=a worker=a,b stage:ab; do
	copts="--tagfocus $f" pfilt="-tagfocus=$f" check_top "fresh cpu, tagfocus $f" "$tmp/cpu.pb.gz"
	copts="--tagignore $f" pfilt="-tagignore=$f" check_top "fresh cpu, tagignore $f" "$tmp/cpu.pb.gz"
done
check_graph "fresh cpu" "$tmp/cpu.pb.gz"
check_callgrind "fresh cpu" "$tmp/cpu.pb.gz"
for o in "" "--nodecount 10" "--lines" "--focus main" "--nodefraction 0.1" "--addresses"; do
	check_dot "fresh cpu" "$tmp/cpu.pb.gz" "$o"
done
check_same "fresh cpu" "$tmp/cpu.pb.gz" "--tree --focus stage --hide runtime" \
	"-tree -focus=stage -hide=runtime"
check_same "fresh cpu" "$tmp/cpu.pb.gz" "--peek hot --tagfocus worker=a" \
	"-peek=hot -tagfocus=worker=a"
# Frame and label filters pprof applies before its views: -show_from,
# -prune_from, -tagshow, -taghide, and -tagroot / -tagleaf's label frames.
for args in "tree show-from=stage" "peek=. show-from=main" "tree prune-from=hot" \
	"tree prune-from=runtime" "tags tagshow=worker" "tags taghide=stage" \
	"tree tagroot=worker" "tree tagleaf=worker,stage" "peek=. tagroot=stage,worker" \
	"tree focus=hotA tagroot=worker"; do
	copt= popt=
	for a in $args; do
		copt="$copt --${a%%=*}${a#"${a%%=*}"}"
		o=${a%%=*}
		popt="$popt -$(echo "$o" | tr - _)${a#"$o"}"
	done
	check_same "fresh cpu" "$tmp/cpu.pb.gz" "$copt" "$popt"
done
# --list reads genprof.go where the profile says it is, or under the
# directories of --source-path with what --trim-path takes off.
for args in "list=main\.hot" "list=. noinlines" "list=stage hide=hotA" "list=no_such_function" \
	"list=main\.hot source-path=$tmp" "list=main\.hot trim-path=$top_srcdir" \
	"list=main\.hot trim-path=$top_srcdir source-path=$top_srcdir" \
	"tree files source-path=$top_srcdir/tests"; do
	copt= popt=
	for a in $args; do
		copt="$copt --${a%%=*}${a#"${a%%=*}"}"
		o=${a%%=*}
		popt="$popt -$(echo "$o" | tr - _)${a#"$o"}"
	done
	check_same "fresh cpu" "$tmp/cpu.pb.gz" "$copt" "$popt"
done
check_top "fresh heap inuse_space" "$tmp/heap.pb.gz" inuse_space
check_folded "fresh heap inuse_space" "$tmp/heap.pb.gz" inuse_space
check_top "fresh heap alloc_space" "$tmp/heap.pb.gz" alloc_space
check_folded "fresh heap alloc_space" "$tmp/heap.pb.gz" alloc_space

fx=$top_srcdir/tests/fixtures
# Two profiles merged, as pprof merges its sources.
copts="$fx/go-cpu.pb.gz" pfilt="$fx/go-cpu.pb.gz" check_top "fresh cpu merged with go-cpu" "$tmp/cpu.pb.gz"
check_top "fixture go-cpu" "$fx/go-cpu.pb.gz"
check_folded "fixture go-cpu" "$fx/go-cpu.pb.gz" samples
check_top "fixture go-heap" "$fx/go-heap.pb.gz"
# Numeric labels (bytes, no unit given) in pprof's units, and ranges over them.
check_tags "fixture go-heap" "$fx/go-heap.pb.gz"
check_graph "fixture go-heap" "$fx/go-heap.pb.gz"
check_callgrind "fixture go-heap" "$fx/go-heap.pb.gz"
check_dot "fixture go-heap" "$fx/go-heap.pb.gz" ""
check_dot "fixture go-heap" "$fx/go-heap.pb.gz" "--sample-index alloc_space"
check_same "fixture go-heap" "$fx/go-heap.pb.gz" "--tree --tagroot bytes" "-tree -tagroot=bytes"
check_same "fixture go-heap" "$fx/go-heap.pb.gz" "--tags --tagshow bytes --taghide o" \
	"-tags -tagshow=bytes -taghide=o"
for idx in alloc_objects 1; do
	check_same "fixture go-heap $idx" "$fx/go-heap.pb.gz" "--tree --sample-index $idx" \
		"-tree -sample_index=$idx"
done
check_same "fixture go-heap" "$fx/go-heap.pb.gz" "--tree --tagfocus bytes=1kb:" \
	"-tree -tagfocus=bytes=1kb:"
check_same "fixture go-heap" "$fx/go-heap.pb.gz" "--tree --ignore runtime" "-tree -ignore=runtime"
check_tags "fixture go-heap" "$fx/go-heap.pb.gz" --tagfocus=bytes=1kb: -tagfocus=bytes=1kb:
check_tags "fixture go-heap" "$fx/go-heap.pb.gz" --tagignore=bytes=:512 -tagignore=bytes=:512
check_folded "fixture go-heap" "$fx/go-heap.pb.gz" inuse_space
check_top "fixture go-heap alloc_objects" "$fx/go-heap.pb.gz" alloc_objects
check_folded "fixture go-heap alloc_objects" "$fx/go-heap.pb.gz" alloc_objects

# Differences, as go tool pprof writes them (Parca's delta profiles are like
# -base's: negative values, no labels). The fixture and the fresh profile are
# of different runs, so a difference has values of both signs.
for how in base diff_base; do
	if ! go tool pprof -proto -$how "$fx/go-cpu.pb.gz" "$tmp/cpu.pb.gz" \
		>"$tmp/$how.pb.gz" 2>"$tmp/$how.err"; then
		fail "go tool pprof -proto -$how failed:"
		cat "$tmp/$how.err"
		continue
	fi
	signs=$(go tool pprof -raw "$tmp/$how.pb.gz" 2>/dev/null | awk '
		/^Samples:/ { s = 1; getline; next }
		/^[^ ]/ { s = 0 }
		s && /^ *-?[0-9]+ +-?[0-9]+: / { if ($2 < 0) neg = 1; else if ($2 > 0) pos = 1 }
		END { print neg + pos }')
	if [ "$signs" != 2 ]; then
		fail "-$how: the difference does not have values of both signs"
		continue
	fi
	check_top "go tool pprof -proto -$how" "$tmp/$how.pb.gz"
	check_graph "go tool pprof -proto -$how" "$tmp/$how.pb.gz" sorted
	check_dot "go tool pprof -proto -$how" "$tmp/$how.pb.gz" "" sorted
	# The same difference made by cprof report --base / --diff-base.
	opt=$(echo "$how" | tr _ -)
	copts="--$opt $fx/go-cpu.pb.gz" pfilt="-$how=$fx/go-cpu.pb.gz" \
		check_top "report --$opt" "$tmp/cpu.pb.gz"
	for v in tree "peek ." "list hot" tags; do
		check_same "report --$opt" "$tmp/cpu.pb.gz" "--$v --$opt $fx/go-cpu.pb.gz" \
			"-$v -$how=$fx/go-cpu.pb.gz" sorted
	done
	# --folded: "stack base new" counts, the base's column adding up to
	# the fixture's samples with -diff_base; new - base to the net with -base.
	raw_total() {
		go tool pprof -raw "$1" 2>/dev/null | awk '
			/^Samples:/ { s = 1; getline; next }
			/^[^ ]/ { s = 0 }
			s && /^ *-?[0-9]+ +-?[0-9]+: / { t += $1 }
			END { printf "%.0f\n", t }'
	}
	cols=$("$CPROF" report --folded "$tmp/$how.pb.gz" | awk '
		NF < 3 || $(NF - 1) !~ /^[0-9]+$/ || $NF !~ /^[0-9]+$/ { bad = 1 }
		{ b += $(NF - 1); n += $NF }
		END { if (bad) print "bad"; else printf "%.0f %.0f\n", b, n }')
	if [ "$how" = diff_base ]; then
		want="$(raw_total "$fx/go-cpu.pb.gz") $(raw_total "$tmp/cpu.pb.gz")"
		ok=$([ "$cols" = "$want" ] && echo yes)
	else
		want=$(raw_total "$tmp/$how.pb.gz")
		ok=$(echo "$cols" | awk -v w="$want" '$1 != "bad" && $2 - $1 == w {print "yes"}')
	fi
	if [ "$ok" = yes ]; then
		echo "$me: ok: -$how: --folded base and new columns ($cols) agree with go tool pprof -raw"
	else
		fail "-$how: --folded columns are '$cols', go tool pprof -raw says $want"
	fi
done

# Profiles of the cases real ones seldom show (tests/edgeprofiles.py): a
# 3,000-character C++ name (pprof simplifies it, and cprof must not cut or
# overrun it), a diff whose edges add up to 0, values whose products
# overflow int64, 20,000 functions under one (a loop over all nodes or
# edges per node would take minutes there), and a profile with no samples.
if command -v python3 >/dev/null 2>&1 && mkdir "$tmp/edge" &&
	python3 "$top_srcdir/tests/edgeprofiles.py" "$tmp/edge"; then
	for e in long zero huge; do
		check_graph "edge profile $e" "$tmp/edge/$e.pb.gz"
		check_dot "edge profile $e" "$tmp/edge/$e.pb.gz" ""
		check_callgrind "edge profile $e" "$tmp/edge/$e.pb.gz"
	done
	check_same "edge profile wide" "$tmp/edge/wide.pb.gz" "--peek ." "-peek=."
	check_same "edge profile wide" "$tmp/edge/wide.pb.gz" "--list leaf" "-list=leaf"
	check_callgrind "edge profile wide" "$tmp/edge/wide.pb.gz"
	# Empty: the views print their headers, pprof's fake mapping, no rows.
	for v in tree traces raw; do
		check_same "edge profile empty" "$tmp/edge/empty.pb.gz" "--$v" "-$v"
	done
	check_dot "edge profile empty" "$tmp/edge/empty.pb.gz" ""
	check_callgrind "edge profile empty" "$tmp/edge/empty.pb.gz"
	# drop_frames: the allocator's frames pruned as pprof prunes every
	# profile it reads. (Not --raw: pprof prunes after its merge, so it
	# keeps apart samples that pruning made alike; cprof merges them.)
	for v in tree "peek=." "tree lines" "peek=worker addresses"; do
		check_same "edge profile drop" "$tmp/edge/drop.pb.gz" "$(echo " $v" | sed 's/ / --/g')" \
			"$(echo " $v" | sed 's/ / -/g')"
	done
	check_top "edge profile drop" "$tmp/edge/drop.pb.gz"
	check_dot "edge profile drop" "$tmp/edge/drop.pb.gz" ""
	check_callgrind "edge profile drop" "$tmp/edge/drop.pb.gz"
else
	fail "tests/edgeprofiles.py could not write its profiles"
fi

# A stripped program: its own functions have no symbols, its library's have.
wl=${top_builddir:-}/tests/workloads
if [ -x "$wl/cpuwork-nofp" ] && command -v strip >/dev/null 2>&1; then
	cp "$wl/cpuwork-nofp" "$wl/libcpuwork-nofp.so" "$tmp/"
	strip -s "$tmp/cpuwork-nofp"
	if "$CPROF" cpu -o "$tmp/stripped.pb.gz" -- "$tmp/cpuwork-nofp" --rounds 300 \
		>"$tmp/stripped.out" 2>&1; then
		if "$CPROF" report --top 0 "$tmp/stripped.pb.gz" | grep -q ' \[cpuwork-nofp\]$'; then
			check_top "cprof cpu of a stripped program" "$tmp/stripped.pb.gz"
			check_tags "cprof cpu" "$tmp/stripped.pb.gz"
			check_graph "cprof cpu of a stripped program" "$tmp/stripped.pb.gz"
			check_callgrind "cprof cpu of a stripped program" "$tmp/stripped.pb.gz"
			check_dot "cprof cpu of a stripped program" "$tmp/stripped.pb.gz" ""
			check_same "cprof cpu of a stripped program" "$tmp/stripped.pb.gz" \
				"--list work" "-list=work"
			check_same "cprof cpu of a stripped program" "$tmp/stripped.pb.gz" \
				"--tree --tagroot thread" "-tree -tagroot=thread"
			tid=$("$CPROF" report --tags "$tmp/stripped.pb.gz" |
				awk '/^ tid:/ { getline; print $NF; exit }')
			check_tags "cprof cpu" "$tmp/stripped.pb.gz" "--tagfocus=tid=$tid" "-tagfocus=tid=$tid"
			# Frames matched by their mapping's file too, as pprof matches them.
			for f in 'libc\.so' libcpuwork; do
				copts="--hide $f" pfilt="-hide=$f" check_top "cprof cpu, hide $f" "$tmp/stripped.pb.gz"
				copts="--show $f" pfilt="-show=$f" check_top "cprof cpu, show $f" "$tmp/stripped.pb.gz"
				copts="--focus $f" pfilt="-focus=$f" check_top "cprof cpu, focus $f" "$tmp/stripped.pb.gz"
			done
			copts="--tagfocus tid=$tid:" pfilt="-tagfocus=tid=$tid:" \
				check_top "cprof cpu, tagfocus tid=$tid:" "$tmp/stripped.pb.gz"
			# --addresses: a row per address in --top, as pprof has them;
			# in the views of stacks, frames named module+offset.
			copts="--addresses" pfilt="-addresses" \
				check_top "cprof cpu of a stripped program, addresses" "$tmp/stripped.pb.gz"
			"$CPROF" report --top 0 --addresses "$tmp/stripped.pb.gz" >"$tmp/addr"
			if ! grep -q '  [0-9a-f]\{16\} \[cpuwork-nofp\]$' "$tmp/addr"; then
				fail "report --top --addresses has no row per address:"
				cat "$tmp/addr"
			fi
			"$CPROF" report --folded --addresses "$tmp/stripped.pb.gz" >"$tmp/addr"
			if grep -q '\[cpuwork-nofp\]' "$tmp/addr" ||
				! grep -q 'cpuwork-nofp+0x[0-9a-f]*' "$tmp/addr"; then
				fail "report --folded --addresses does not name frames by address:"
				head "$tmp/addr"
			fi
		else
			fail "no [cpuwork-nofp] row for the stripped program's frames:"
			"$CPROF" report --top 0 "$tmp/stripped.pb.gz"
		fi
	else
		echo "$me: note: cprof cpu failed, the stripped program is not checked:"
		cat "$tmp/stripped.out"
	fi
fi

# A cprof heap profile (tests/heap.sh checks what is in it) on its four sample types.
if [ -x "$wl/heapwork" ]; then
	if "$CPROF" heap --rate 65536 -o "$tmp/heap-cprof.pb.gz" -- "$wl/heapwork" 50 \
		>"$tmp/heap-cprof.out" 2>&1; then
		for idx in alloc_objects alloc_space inuse_objects inuse_space; do
			check_top "cprof heap $idx" "$tmp/heap-cprof.pb.gz" "$idx"
			check_folded "cprof heap $idx" "$tmp/heap-cprof.pb.gz" "$idx"
			check_callgrind "cprof heap" "$tmp/heap-cprof.pb.gz"
			check_dot "cprof heap" "$tmp/heap-cprof.pb.gz" "--sample-index $idx"
			check_same "cprof heap $idx" "$tmp/heap-cprof.pb.gz" \
				"--tree --sample-index $idx" "-tree -sample_index=$idx"
		done
	else
		fail "cprof heap -- heapwork failed:"
		cat "$tmp/heap-cprof.out"
	fi
fi

exit "$failed"
