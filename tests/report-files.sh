#!/bin/sh
# `cprof report`'s file outputs after the filters, on the bundled Go CPU
# profile and on a cprof cpu profile of a workload:
#  - --speedscope: the facts of speedscope's schema (sampled profiles whose
#    samples index the frames, a weight per sample, endValue the sum), and
#    each frame's self and total equal to --top's flat and cum;
#  - --proto: the kept samples whole, so that a pprof reader of the file
#    (go tool pprof -top where Go is installed, cprof report always) gives
#    --top's values under the same filters, and --hide takes frames off.
. "$top_srcdir/tests/lib.sh"

cpu=$FIXTURES/go-cpu.pb.gz
W=$top_builddir/tests/workloads

# speedscope_check FILE TYPE: the schema's facts of speedscope FILE (exit 1
# and why, if one fails), then each frame of its profile of sample type TYPE
# with a self or total value as "self total name" lines.
cat >"$T/speedscope.py" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def need(ok, what):
    if not ok:
        sys.exit("speedscope file: " + what)
need(d.get("$schema") == "https://www.speedscope.app/file-format-schema.json", "$schema")
frames = d["shared"]["frames"]
need(all(isinstance(f.get("name"), str) for f in frames), "a frame without a name")
need(all(isinstance(f.get("line", 1), int) and f.get("line", 1) > 0 for f in frames), "a bad line")
need(len(set(f["name"] for f in frames)) == len(frames), "a frame named twice")
need(0 <= d.get("activeProfileIndex", 0) < len(d["profiles"]), "activeProfileIndex")
units = ("none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes")
shown = None
for p in d["profiles"]:
    need(p["type"] == "sampled", "type " + p["type"])
    need(p["unit"] in units, "unit " + p["unit"])
    need(len(p["samples"]) == len(p["weights"]), "samples and weights differ in number")
    need(p["startValue"] == 0 and p["endValue"] == sum(p["weights"]), "endValue is not the sum")
    need(all(w > 0 for w in p["weights"]), "a weight of 0 or less")
    need(all(s and all(isinstance(i, int) and 0 <= i < len(frames) for i in s)
             for s in p["samples"]), "a sample with a bad frame index")
    if p["name"].endswith(" (" + sys.argv[2] + ")"):
        shown = p
need(shown is not None, "no profile of type " + sys.argv[2])
flat, cum = {}, {}
for s, w in zip(shown["samples"], shown["weights"]):
    leaf = frames[s[-1]]["name"]
    flat[leaf] = flat.get(leaf, 0) + w
    for name in set(frames[i]["name"] for i in s):
        cum[name] = cum.get(name, 0) + w
for name in cum:
    print(flat.get(name, 0), cum[name], name)
EOF
speedscope_check() {
	python3 "$T/speedscope.py" "$1" "$2"
}

# top_values FILE: the rows of a --top (or go tool pprof -top) listing as
# "flat cum name", values in the unit's base (ns for time), names without
# their " (file:line)" or " (inline)".
# shellcheck disable=SC2016
top_values='
function n(v,  x, u) {
	x = v + 0; u = v; sub(/^[-0-9.]+/, "", u)
	if (u == "s") x *= 1e9; else if (u == "ms") x *= 1e6; else if (u == "us") x *= 1e3
	else if (u == "kB") x *= 1024; else if (u == "MB") x *= 1048576
	return sprintf("%.0f", x)
}
/^ +flat +flat%/ { on = 1; next }
on && NF >= 6 {
	name = $0
	sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", name)
	sub(/ \([^()]*[\/.:][^()]*\)$/, "", name)
	sub(/ \((partial-)?inline\)$/, "", name)
	print n($1), n($4), name
}'
top_values() {
	awk "$top_values" "$1" | sort
}

# same_frames LABEL SPEEDSCOPE TYPE TOP: the frames' totals are --top's rows.
same_frames() {
	ok
	if ! speedscope_check "$2" "$3" | sort >"$T/frames"; then
		fail "$1: $2 breaks the schema's rules"
		return
	fi
	top_values "$4" >"$T/rows"
	[ -s "$T/rows" ] || fail "$1: no --top rows in $4"
	diff "$T/rows" "$T/frames" >"$T/frames.diff" ||
		{ fail "$1: speedscope's frames differ from --top (< top, > speedscope):"; head -20 "$T/frames.diff" >&2; }
}

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3, which reads the JSON, is not installed"
	exit 77
fi

# --speedscope: a profile per sample type, the default one shown first; its
# frames add up as --top's rows do, also under filters.
expect_exit 0 "$CPROF" report --speedscope "$T/go.json" "$cpu"
expect_lines 0 "$T/out"
expect_grep '^cprof: wrote .*go\.json$' "$T/err"
expect_eq "$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(d["activeProfileIndex"], [(p["name"].split("/")[-1], p["unit"]) for p in d["profiles"]])' "$T/go.json")" \
	"1 [('go-cpu.pb.gz (samples)', 'none'), ('go-cpu.pb.gz (cpu)', 'nanoseconds')]" "profiles and units"
"$CPROF" report --top 0 --sample-index samples "$cpu" >"$T/top"
same_frames "go cpu, samples" "$T/go.json" samples "$T/top"
"$CPROF" report --top 0 "$cpu" >"$T/top"
same_frames "go cpu, cpu" "$T/go.json" cpu "$T/top"
filters="--focus main\.stage[AB] --hide main\.mix --tagignore worker=b"
# shellcheck disable=SC2086
"$CPROF" report --speedscope "$T/go-f.json" $filters "$cpu" 2>/dev/null
# shellcheck disable=SC2086
"$CPROF" report --top 0 $filters "$cpu" >"$T/top"
same_frames "go cpu, $filters" "$T/go-f.json" cpu "$T/top"
expect_no_grep 'main\.mix' "$T/go-f.json"
# --sample-index: that type alone; a heap profile's bytes stay bytes.
expect_exit 0 "$CPROF" report --speedscope "$T/heap.json" --sample-index inuse_space \
	"$FIXTURES/go-heap.pb.gz"
expect_eq "$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(len(d["profiles"]), d["profiles"][0]["unit"])' "$T/heap.json")" "1 bytes" "heap profile"
"$CPROF" report --top 0 --sample-index inuse_objects "$FIXTURES/go-heap.pb.gz" >"$T/top"
"$CPROF" report --speedscope "$T/heap.json" --sample-index inuse_objects \
	"$FIXTURES/go-heap.pb.gz" 2>/dev/null
same_frames "go heap, inuse_objects" "$T/heap.json" inuse_objects "$T/top"
# Standard output, and a refusal that leaves the file as it was.
expect_exit 0 "$CPROF" report --speedscope - "$cpu"
expect_eq "$(head -c 12 "$T/out")" '{"$schema":"' "speedscope on standard output"
expect_exit 0 "$CPROF" diff -o "$T/diff.pb.gz" "$cpu" "$cpu"
echo keep >"$T/kept.json"
expect_exit 1 "$CPROF" report --speedscope "$T/kept.json" "$T/diff.pb.gz"
expect_grep '^cprof: speedscope cannot show the negative values' "$T/err"
expect_eq "$(cat "$T/kept.json")" keep "file kept on error"
expect_exit 2 "$CPROF" report --speedscope - --proto - "$cpu"
expect_grep "^cprof: --speedscope and --proto both write to '-'$" "$T/err"
# As --svg: a path that cannot be the output is refused before any work, a
# full device fails loudly, a pipe is written through.
for opt in --speedscope --proto; do
	expect_exit 1 "$CPROF" report $opt "$T" "$cpu"
	expect_grep "^cprof: cannot write $T: it is a directory" "$T/err"
	expect_lines 0 "$T/out"
	expect_exit 1 "$CPROF" report $opt /dev/full "$cpu"
	expect_grep '^cprof: .*/dev/full' "$T/err"
done
ok
"$CPROF" report --proto /dev/stdout "$cpu" 2>/dev/null | "$CPROF" report - >"$T/piped" 2>&1 ||
	fail "report --proto /dev/stdout into a pipe: $(cat "$T/piped")"

# check_proto LABEL PROFILE SAMPLE_INDEX FILTER...: the --proto file's --top
# (cprof's, and go tool pprof's) is the filtered input's.
check_proto() {
	label=$1 in=$2 idx=$3
	shift 3
	ok
	"$CPROF" report --proto "$T/f.pb.gz" "$@" "$in" 2>"$T/err" ||
		{ fail "$label: report --proto $* failed"; cat "$T/err" >&2; return; }
	"$CPROF" report --top 0 --sample-index "$idx" "$@" "$in" >"$T/want.top"
	top_values "$T/want.top" >"$T/want"
	"$CPROF" report --top 0 --sample-index "$idx" "$T/f.pb.gz" >"$T/got.top"
	top_values "$T/got.top" >"$T/got"
	[ -s "$T/want" ] || fail "$label: no rows"
	diff "$T/want" "$T/got" >"$T/d" ||
		{ fail "$label: cprof's --top of the --proto file differs:"; head -10 "$T/d" >&2; }
	command -v go >/dev/null 2>&1 || return 0
	ok
	go tool pprof -top -nodecount=1000000 -nodefraction=0 -sample_index="$idx" "$T/f.pb.gz" \
		>"$T/pprof.top" 2>"$T/pprof.err" ||
		{ fail "$label: go tool pprof -top failed"; cat "$T/pprof.err" >&2; return; }
	top_values "$T/pprof.top" >"$T/pprof"
	diff "$T/want" "$T/pprof" >"$T/d" ||
		{ fail "$label: go tool pprof -top of the --proto file differs (< cprof, > pprof):"; head -10 "$T/d" >&2; }
}

check_proto "go cpu" "$cpu" cpu
check_proto "go cpu, focus" "$cpu" cpu --focus 'main\.stageA'
check_proto "go cpu, focus, samples" "$cpu" samples --focus 'main\.stageA'
check_proto "go cpu, ignore and hide" "$cpu" cpu --ignore 'main\.hotA' --hide 'runtime'
check_proto "go cpu, show" "$cpu" cpu --show '^main\.'
check_proto "go cpu, tagfocus" "$cpu" cpu --tagfocus worker=a
check_proto "go cpu, noinlines" "$cpu" cpu --noinlines
# The kept samples keep their labels.
"$CPROF" report --proto "$T/f.pb.gz" --focus 'main\.stageA' "$cpu" 2>/dev/null
"$CPROF" report --tags --focus 'main\.stageA' "$cpu" >"$T/want.tags"
expect_exit 0 "$CPROF" report --tags "$T/f.pb.gz"
expect_eq "$(cat "$T/out")" "$(cat "$T/want.tags")" "--tags of the --proto file"
# --hide takes the frames off the file's locations, not only off its views.
expect_exit 0 "$CPROF" report --proto - --hide 'main\.(mix|spin)' "$cpu"
cp "$T/out" "$T/hidden.pb.gz"
expect_exit 0 "$CPROF" report --traces "$T/hidden.pb.gz"
expect_grep 'main\.hotA' "$T/out"
expect_no_grep 'main\.(mix|spin)' "$T/out"
if command -v go >/dev/null 2>&1; then
	ok
	go tool pprof -raw "$T/hidden.pb.gz" >"$T/raw" 2>&1 || fail "go tool pprof -raw of the --hide file"
	expect_grep 'main\.hotA' "$T/raw"
	expect_no_grep 'main\.(mix|spin)' "$T/raw"
fi

# The same on a cprof cpu profile of a C workload: frames in libc, thread
# labels, the functions' first lines, dithered periods.
if [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ]; then
	expect_exit 0 "$CPROF" cpu --frequency 999 -o "$T/c.pb.gz" -- "$W/cpuwork-fp" --rounds 100
	expect_exit 0 "$CPROF" report --speedscope "$T/c.json" "$T/c.pb.gz"
	"$CPROF" report --top 0 --sample-index samples "$T/c.pb.gz" >"$T/top"
	same_frames "cprof cpu, samples" "$T/c.json" samples "$T/top"
	expect_exit 0 "$CPROF" report --speedscope "$T/c.json" --focus work_a "$T/c.pb.gz"
	"$CPROF" report --top 0 --sample-index samples --focus work_a "$T/c.pb.gz" >"$T/top"
	same_frames "cprof cpu, focus work_a" "$T/c.json" samples "$T/top"
	check_proto "cprof cpu, focus" "$T/c.pb.gz" samples --focus work_a
	check_proto "cprof cpu, hide libc" "$T/c.pb.gz" samples --hide 'libc\.so'
	check_proto "cprof cpu, tagfocus" "$T/c.pb.gz" samples --tagfocus thread=cpuwork
fi

finish
