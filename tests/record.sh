#!/bin/sh
# `cprof record` on the suite's CPU workload: windows follow each other with
# no gap and are named as cprof-record(1) says; a workload whose hot function
# is switched by a signal shows the switch in `cprof diff` of the windows
# before and after; tags are kept; retention removes the oldest windows at
# the size and age bounds and never the newest; SIGTERM writes the current
# window; SIGKILL mid-recording leaves a readable store without temporary
# files, which the next record opens; a second writer of a store is
# refused; --mode offcpu and wall write windows of their kind, with no wait
# lost between them, pushed with the sample types Pyroscope needs; bad
# usage exits 2.
. "$top_srcdir/tests/lib.sh"
need_perf_events

W=$top_builddir/tests/workloads
# started PID: the workload PID has exec'ed (a recording names it by its comm).
started() { [ "$(cat /proc/"$1"/comm 2>/dev/null)" = cpuwork-fp ]; }
# busy_target: a cpuwork that runs on (for 120 s), its pid in $cpu.
busy_target() {
	"$W/cpuwork-fp" --seconds 120 >/dev/null &
	cpu=$!
	bg="$bg $cpu"
	ok
	wait_until 20 started "$cpu" || fail "cpuwork did not start"
}
# record_bg ERR ARG...: cprof record ARG... in the background, its pid in
# $rec, its standard error in ERR.
record_bg() {
	_err=$1
	shift
	"$CPROF" record "$@" 2>"$_err" &
	rec=$!
	bg="$bg $rec"
}
name_re='^[0-9]{8}/[0-9]{6}\.[0-9]{3}_[0-9]+_[A-Za-z0-9.+-]+_[0-9]+_cpu_([0-9a-f]{16}|0)\.pb\.gz$'

# --- A launched command, fixed work, 1 s windows: named, contiguous, each a profile.
expect_exit 0 "$CPROF" record --store "$T/s1" --every 1s --tag version=1.4.2 --tag env=test \
	-- "$W/cpuwork-fp" --rounds 500
expect_grep '^Command exited with status 0$' "$T/out"
expect_grep '^cprof: recording 1 process into .*/s1, a window every 1s$' "$T/err"
store_windows "$T/s1" >"$T/w1"
n=$(wc -l <"$T/w1")
ok
[ "$n" -ge 2 ] || fail "only $n windows of a run over a second long"
expect_grep "^cprof: $n windows written" "$T/err"
while read -r f; do
	ok
	printf '%s\n' "$f" | grep -Eq "$name_re" || fail "window name $f is not as documented"
	expect_exit 0 "$CPROF" report --top 1 "$T/s1/$f"
done <"$T/w1"
# Each window begins where the one before ended: one instant ends a window
# and begins the next (within 2 ms: names keep milliseconds, cut down).
awk -F'[/_]' '{
	split($2, t, "."); ms = (substr(t[1], 1, 2) * 3600 + substr(t[1], 3, 2) * 60 + substr(t[1], 5, 2)) * 1000 + t[2]
	if (NR > 1 && ms < end - 43200000) ms += 86400000
	if (NR > 1 && (ms - end > 2 || end - ms > 2)) { print "gap of " ms - end " ms before " $0; bad = 1 }
	end = ms + $3
} END { exit bad }' "$T/w1" >"$T/gaps" || { fail "windows do not follow each other:"; cat "$T/gaps" >&2; }
tagset=$(head -1 "$T/w1" | sed 's/.*_cpu_\([0-9a-f]*\)\.pb\.gz$/\1/')
printf 'env=test\nversion=1.4.2\n' >"$T/tags.want"
ok
cmp -s "$T/tags.want" "$T/s1/tags/$tagset" || fail "tags/$tagset does not hold the tags, sorted"
# Every sample is in some window: together they hold about 99 a second of the
# CPU time the same fixed work takes alone (the windows' cpu/nanoseconds).
alone=$(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%d" % ((r.ru_utime + r.ru_stime) * 1e9))' "$W/cpuwork-fp" --rounds 500)
total=0
while read -r f; do
	ns=$("$CPROF" report --folded --sample-index cpu "$T/s1/$f" | awk '{n += $NF} END {printf "%d", n}')
	total=$((total + ns))
done <"$T/w1"
ok
awk -v t="$total" -v a="$alone" 'BEGIN {exit !(t >= 0.85 * a && t <= 1.15 * a)}' ||
	fail "the windows hold $total ns of CPU, the same work alone takes $alone ns"

# --- The hot function switched by SIGUSR1: the windows before and after differ as it did.
busy_target
record_bg "$T/rec2.err" --store "$T/s2" --every 1s --pid "$cpu"
# count DIR N: the store DIR has N windows or more.
count() { [ "$(store_windows "$1" | wc -l)" -ge "$2" ]; }
# gone DIR: the first window DIR had is gone.
first_of() { first=$(store_windows "$1" | head -1); }
gone() { [ ! -e "$1/$first" ]; }
ok
wait_until 20 count "$T/s2" 2 || fail "no two windows before the switch"
kill -USR1 "$cpu" 2>/dev/null || :
ok
wait_until 20 count "$T/s2" 5 || fail "no three windows after the switch"
kill -TERM "$rec" 2>/dev/null || :
rc=0
wait "$rec" || rc=$?
expect_eq "$rc" 0 "record's exit status after SIGTERM"
untraced "$cpu"
store_windows "$T/s2" >"$T/w2"
before=$(sed -n 1p "$T/w2")
after=$(tail -2 "$T/w2" | head -1)
expect_exit 0 "$CPROF" diff "$T/s2/$before" "$T/s2/$after"
# work_c went from 10% to 60% and work_a from 60% to 10%: 50 points, say at least 30.
awk '$7 == "work_c" && $3 >= 30 {c = 1} $7 == "work_a" && $3 <= -30 {a = 1}
	END {exit !(a && c)}' "$T/out" ||
	{ fail "diff of the windows before and after the switch:"; sed 's/^/  | /' "$T/out" >&2; }
# The window SIGTERM ended is written, shorter than the others.
last=$(tail -1 "$T/w2" | awk -F_ '{print $2}')
ok
[ "$last" -lt 1000 ] || fail "the last window, ended by SIGTERM, lasted $last ms"

# --- Reading the store: two runs tagged version=1 (work_a hot) and version=2
# (work_c hot), a second apart; report and diff select them by tag, name
# and time. The second run is the longer, so that the part of it after its
# first second holds enough samples (once 75 of them gave work_c +27 points,
# not the +50 of the design).
expect_exit 0 "$CPROF" record --store "$T/s7" --every 500ms --tag version=1 \
	-- "$W/cpuwork-fp" --rounds 150 --split 6:3:1
sleep 1
expect_exit 0 "$CPROF" record --store "$T/s7" --every 500ms --tag version=2 \
	-- "$W/cpuwork-fp" --rounds 900 --split 1:3:6
expect_exit 0 "$CPROF" diff --store "$T/s7" --name '^cpuwork' --base-tag version=1 --tag version=2
expect_grep '^Base .*/s7: [0-9]+ windows?, ' "$T/out"
awk '$7 == "work_c" && $3 >= 30 {c = 1} $7 == "work_a" && $3 <= -30 {a = 1}
	END {exit !(a && c)}' "$T/out" || { fail "diff by tag:"; sed 's/^/  | /' "$T/out" >&2; }
expect_exit 0 "$CPROF" report --store "$T/s7" --tag version=2 --top 1
expect_grep ' work_c \(' "$T/out"
# The second run's first window, to the second: --base-to it is the first run,
# --from the second after it is the rest of the second run.
v2=
for f in $(store_windows "$T/s7"); do
	t=${f##*_cpu_}
	grep -qx version=2 "$T/s7/tags/${t%.pb.gz}" && { v2=$f; break; }
done
hms=$(printf '%s\n' "$v2" | cut -c10-15)
at=$(date -u -d "${v2%%/*} $(echo "$hms" | sed 's/\(..\)\(..\)\(..\)/\1:\2:\3/')" +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
expect_exit 0 "$CPROF" diff --store "$T/s7" --base-to "$(iso "$at")" --from "$(iso $((at + 1)))"
awk '$7 == "work_c" && $3 >= 30 {c = 1} END {exit !c}' "$T/out" ||
	{ fail "diff by time:"; sed 's/^/  | /' "$T/out" >&2; }
expect_exit 1 "$CPROF" report --store "$T/s7" --name nonesuch
expect_grep '^cprof: no cpu window in store .*/s7 matches the name nonesuch$' "$T/err"
# diff names the side that has no window; a range that ends before it
# begins is bad usage.
expect_exit 1 "$CPROF" diff --store "$T/s7" --base-tag version=9 --tag version=2
expect_grep '^cprof: BASE: no cpu window in store .*/s7 matches' "$T/err"
expect_exit 1 "$CPROF" diff --store "$T/s7" --base-tag version=1 --tag version=9
expect_grep '^cprof: NEW: no cpu window in store .*/s7 matches' "$T/err"
expect_exit 2 "$CPROF" report --store "$T/s7" --from 10:01 --to 10:00
expect_grep '^cprof: the time range from 10:01 to 10:00 is empty: its start is not before its end$' "$T/err"
expect_exit 2 "$CPROF" report --store "$T/s7" --from yesterday
expect_grep "bad time 'yesterday'" "$T/err"
expect_exit 2 "$CPROF" diff --store "$T/s7" --from -1h
expect_grep 'say which windows are BASE' "$T/err"
expect_exit 2 "$CPROF" report --from -1h "$T/s7"
expect_exit 2 "$CPROF" report --store "$T/s7" "$T/s7/$v2"

# --- Retention at the size bound: the oldest go, the newest stays, the store
# stays within the bound (windows here are about 1 KiB).
record_bg "$T/rec3.err" --store "$T/s3" --every 100ms --max-size 4K --pid "$cpu"
ok
wait_until 20 count "$T/s3" 1 || fail "no window in the store"
first_of "$T/s3"
ok
wait_until 30 gone "$T/s3" || fail "the first window was never removed"
kill -TERM "$rec" 2>/dev/null || :
wait "$rec" || fail "record --max-size exited $?"
expect_grep '^cprof: [0-9]+ windows written .* [1-9][0-9]* removed by retention$' "$T/rec3.err"
size=$(cd "$T/s3" && cat 2*/*.pb.gz | wc -c)
ok
[ "$size" -le 4096 ] || fail "the store holds $size bytes, over --max-size 4K"
ok
[ "$(store_windows "$T/s3" | wc -l)" -ge 1 ] || fail "retention removed every window"
# ... and at the age bound.
record_bg "$T/rec4.err" --store "$T/s4" --every 200ms --retain 1s --pid "$cpu"
ok
wait_until 20 count "$T/s4" 1 || fail "no window in the store"
first_of "$T/s4"
ok
wait_until 30 gone "$T/s4" || fail "the first window was never removed for its age"
kill -TERM "$rec" 2>/dev/null || :
wait "$rec" || fail "record --retain exited $?"
expect_grep ' [1-9][0-9]* removed by retention$' "$T/rec4.err"
ok
[ "$(store_windows "$T/s4" | wc -l)" -le 8 ] || fail "windows older than --retain 1s remain: $(store_windows "$T/s4" | wc -l)"

# --- SIGKILL mid-recording: every window left reads, no temporary file, and
# the store opens again; a second writer meanwhile is refused.
record_bg /dev/null --store "$T/s5" --every 100ms --pid "$cpu"
ok
wait_until 20 count "$T/s5" 3 || fail "no three windows in the store"
expect_exit 1 "$CPROF" record --store "$T/s5" --pid "$cpu"
expect_grep "^cprof: store .*/s5 is in use by another cprof record \(pid $rec\)$" "$T/err"
kill -KILL "$rec" 2>/dev/null || :
wait "$rec" 2>/dev/null || :
untraced "$cpu"
ok
[ -z "$(find "$T/s5" -name '*.tmp*')" ] || fail "temporary files left: $(find "$T/s5" -name '*.tmp*')"
for f in $(store_windows "$T/s5"); do
	expect_exit 0 "$CPROF" report --top 1 "$T/s5/$f"
done
expect_exit 0 "$CPROF" record --store "$T/s5" --every 100ms -- "$W/cpuwork-fp" --rounds 20
kill "$cpu" 2>/dev/null || :

# --- Push to a stand-in for Pyroscope (tests/pyroscope-receiver.py: its
# documented /ingest, checked): down for the first windows, then up; every
# window arrives once, in order, and each is a profile go tool pprof reads.
R=$T/receiver
mkdir -p "$R"
touch "$R/down"
python3 "$top_srcdir/tests/pyroscope-receiver.py" "$R" 300 &
work_recv=$!
bg="$bg $work_recv"
ok
wait_until 20 test -s "$R/port" || fail "the receiver did not start"
url=http://127.0.0.1:$(cat "$R/port")
busy_target
record_bg "$T/rec8.err" --store "$T/s8" --every 300ms --tag env=test --push "$url" \
	--push-header 'X-Scope-OrgID: tenant-1' --pid "$cpu"
ok
wait_until 20 count "$T/s8" 4 || fail "no four windows while the server was down"
expect_grep "^cprof: cannot push to $url: HTTP 503: down for the test; retrying" "$T/rec8.err"
rm "$R/down"
received() {
	_n=$(grep -c '^[0-9]' "$R/log" 2>/dev/null) || :
	[ "${_n:-0}" -ge "$1" ]
}
ok
wait_until 30 received 5 || fail "nothing arrived once the server was up"
kill -TERM "$rec" 2>/dev/null || :
wait "$rec" || fail "record --push exited $?"
kill "$cpu" 2>/dev/null || :
n8=$(store_windows "$T/s8" | wc -l)
expect_grep "^cprof: $n8 windows pushed to $url, 0 dropped by retention before their turn, 0 refused$" "$T/rec8.err"
expect_grep "^cprof: pushing to $url again$" "$T/rec8.err"
expect_no_grep '^BAD' "$R/log"
ok
[ "$(grep -c '^[0-9]' "$R/log")" = "$n8" ] || fail "$(grep -c '^[0-9]' "$R/log") pushes of $n8 windows"
# In order: each window's start, to the second, as the store has them.
store_windows "$T/s8" | while read -r f; do
	hms=$(printf '%s\n' "$f" | cut -c10-15)
	date -u -d "${f%%/*} $(echo "$hms" | sed 's/\(..\)\(..\)\(..\)/\1:\2:\3/')" +%s
done >"$T/starts"
awk '/^[0-9]/ {print $2}' "$R/log" >"$T/froms"
ok
cmp -s "$T/starts" "$T/froms" || fail "the windows arrived out of order or changed: $(paste "$T/starts" "$T/froms" | tr '\n' ' ')"
expect_grep "^1 [0-9]+ [0-9]+ cpuwork-fp\{env=test\}$" "$R/log"
if command -v go >/dev/null 2>&1; then
	for f in "$R"/*.pb.gz; do
		ok
		go tool pprof -raw "$f" >"$T/raw" 2>&1 || { fail "go tool pprof cannot read $f:"; head -3 "$T/raw" >&2; }
	done
else
	for f in "$R"/*.pb.gz; do expect_exit 0 "$CPROF" report "$f"; done
fi
# The server down for a whole run: its windows go at the next run.
touch "$R/down"
expect_exit 0 "$CPROF" record --store "$T/s8" --every 300ms --push "$url" \
	-- "$W/cpuwork-fp" --rounds 150
expect_grep 'the rest goes at the next record with this store$' "$T/err"
late=$(store_windows "$T/s8" | wc -l)
rm "$R/down"
expect_exit 0 "$CPROF" record --store "$T/s8" --every 300ms --push "$url" \
	-- "$W/cpuwork-fp" --rounds 50
all=$(store_windows "$T/s8" | wc -l)
ok
[ "$(grep -c '^[0-9]' "$R/log")" = "$all" ] ||
	fail "after the second run $(grep -c '^[0-9]' "$R/log") pushes of $all windows ($late before it)"
# Off-CPU windows carry the sample_type_config that names them Go's block
# profile (Pyroscope's defaults would take them for a cumulative mutex
# profile); CPU windows need none.
before=$(grep -c '^[0-9]' "$R/log")
expect_exit 0 "$CPROF" record --mode offcpu --store "$T/s10" --every 500ms --push "$url" \
	-- "$W/waitwork" --seconds 2
n10=$(store_windows "$T/s10" | wc -l)
expect_no_grep '^BAD' "$R/log"
ok
[ "$(grep -c '^[0-9]' "$R/log")" = $((before + n10)) ] ||
	fail "$(($(grep -c '^[0-9]' "$R/log") - before)) pushes of $n10 offcpu windows"
ok
[ "$(ls "$R" | grep -c '\.json$')" = "$n10" ] ||
	fail "$(ls "$R" | grep -c '\.json$') sample_type_configs for $n10 offcpu windows"
expect_grep '"delay":\{[^}]*"display-name":"block_duration"' "$R/$((before + 1)).json"
kill "$work_recv" 2>/dev/null || :

# A server that takes connections and never answers: SIGTERM still ends
# record within seconds (a push in flight gets 2 s), not at the push's 30 s
# timeout; the windows stay in the store for the next run.
python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held, end = [], time.time() + 120
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass' "$T/hang.port" &
hang=$!
bg="$bg $hang"
busy_target
ok
wait_until 20 test -s "$T/hang.port" || fail "the silent server did not start"
record_bg "$T/rec11.err" --store "$T/s11" --every 300ms \
	--push "http://127.0.0.1:$(cat "$T/hang.port")" --pid "$cpu"
ok
wait_until 20 count "$T/s11" 2 || fail "no windows while pushing to a silent server"
sleep 1
t0=$(date +%s%N)
kill -TERM "$rec"
wait "$rec" || fail "record with a silent server exited $?"
took=$((($(date +%s%N) - t0) / 1000000))
ok
[ "$took" -lt 6000 ] || fail "record took $took ms to stop while a push hung"
expect_grep "no answer, and cprof is stopping" "$T/rec11.err"
expect_grep 'the rest goes at the next record with this store$' "$T/rec11.err"
kill "$hang" "$cpu" 2>/dev/null || :

# A window that cannot be written (here its day's directory is a file) is
# dropped, not the recording, which writes again once it can and exits 1.
busy_target
record_bg "$T/rec12.err" --store "$T/s12" --every 200ms --pid "$cpu"
ok
wait_until 20 count "$T/s12" 2 || fail "no windows"
day=$(ls "$T/s12" | grep -E '^[0-9]{8}$' | tail -1)
rm -rf "${T:?}/s12/$day"
: >"$T/s12/$day"
ok
wait_until 20 grep -q 'windows dropped until one can be written$' "$T/rec12.err" ||
	fail "no word of a window that could not be written"
rm "$T/s12/$day"
ok
wait_until 20 grep -q 'writing windows again$' "$T/rec12.err" || fail "record did not write again"
expect_exit 0 kill -0 "$rec"
kill -TERM "$rec"
rc=0
wait "$rec" || rc=$?
expect_eq "$rc" 1 "record's exit status after dropping windows"
expect_grep ' [1-9][0-9]* dropped \(could not be written\)$' "$T/rec12.err"
kill "$cpu" 2>/dev/null || :

# --- --mode offcpu and wall: waitwork's waits (tests/offcpu.sh checks their
# shares closely), window by window, each of its own kind in the store. No
# wait is lost between windows: the reader, which waits all the time, has
# the whole run in them.
expect_exit 0 "$CPROF" record --mode offcpu --store "$T/s9" --every 500ms -- "$W/waitwork" --seconds 3
expect_grep '^cprof: recording 1 process into .*/s9, an offcpu window every 500ms$' "$T/err"
n9=$(store_windows "$T/s9" | wc -l)
ok
[ "$n9" -ge 5 ] || fail "$n9 offcpu windows in 3 s"
ok
[ "$(store_windows "$T/s9" | grep -c '_offcpu_')" = "$n9" ] || fail "windows not of kind offcpu: $(store_windows "$T/s9" | grep -v _offcpu_)"
expect_exit 0 "$CPROF" report --store "$T/s9" --kind offcpu --top 10
expect_grep '^Type: delay$' "$T/out"
expect_grep ' (wait_pipe|read) ' "$T/out"
expect_exit 0 "$CPROF" report --store "$T/s9" --kind offcpu --tags
reader=$(awk '$NF == "reader" { sub(/s$/, "", $1); print $1 * 1000 }' "$T/out")
ok
[ "${reader:-0}" -ge 2800 ] && [ "${reader:-0}" -le 3200 ] ||
	fail "the reader's waits over the windows of a 3 s run: ${reader:-none} ms"
# Switches as fast as two threads can make them, every one sampled: what the
# rings lose (if anything: it depends on the load) is in the windows'
# comments, and the last line counts as many.
expect_exit 0 "$CPROF" record --mode offcpu --max-rate 0 --store "$T/s13" --every 500ms \
	-- "$W/waitwork" --switches 0 --seconds 2
said=$(sed -n 's/^cprof: \([0-9]*\) samples lost from full ring buffers.*/\1/p' "$T/err")
for f in $(store_windows "$T/s13"); do
	"$CPROF" report --comments "$T/s13/$f"
done | awk -F= '$1 == "lost" { n += $2 } END { print n + 0 }' >"$T/lost"
expect_eq "$(cat "$T/lost")" "${said:-0}" "samples lost: the windows' lost= comments against the last line"
expect_exit 1 "$CPROF" report --store "$T/s9" --kind cpu
expect_grep 'no cpu window in store' "$T/err"
expect_exit 0 "$CPROF" record --mode wall --store "$T/s9" --every 500ms -- "$W/waitwork" --busy 1 --seconds 2
expect_exit 0 "$CPROF" report --store "$T/s9" --kind wall --tagfocus state=running --top 3
expect_grep '^Type: wall$' "$T/out"
expect_grep ' (busy_loop|spin_cpu) ' "$T/out"

# --- Refusals.
expect_exit 2 "$CPROF" record --store "$T/s6"
expect_grep 'give --pid PID' "$T/err"
expect_exit 2 "$CPROF" record --store "$T/s6" --max-size lots --pid 1
expect_exit 2 "$CPROF" record --store "$T/s6" --tag novalue --pid 1
expect_exit 2 "$CPROF" record --store "$T/s6" --every 10ms --pid 1
expect_exit 2 "$CPROF" record --store "$T/s6" --push ftp://x --pid 1
expect_exit 2 "$CPROF" record --store "$T/s6" --mode disk --pid 1
expect_exit 2 "$CPROF" record --store "$T/s6" --max-rate 100 --pid 1
expect_grep 'max-rate is for --mode wall or offcpu' "$T/err"
expect_exit 2 "$CPROF" record --store "$T/s6" --mode offcpu --frequency 999 --pid 1
expect_grep 'frequency is the on-CPU sampling rate' "$T/err"
expect_exit 2 "$CPROF" report --store "$T/s9" --kind disk
expect_grep "bad --kind 'disk': cpu, wall, offcpu or heap" "$T/err"
expect_exit 2 "$CPROF" record --store "$T/s6" --push http://x --push-header novalue --pid 1
expect_exit 1 "$CPROF" record --store "$T/s6" --pid 999999999
expect_grep 'no such process' "$T/err"
expect_lines 1 "$T/err"
expect_exit 1 "$CPROF" record --store "$T/s6" --every 100ms -- "$T/no-such-command"
expect_grep "^cprof: cannot run $T/no-such-command: No such file or directory$" "$T/err"
expect_no_grep 'windows? written' "$T/err"
expect_no_grep '^Command exited' "$T/out"
: >"$T/file"
expect_exit 1 "$CPROF" record --store "$T/file" --pid "$$"

finish
