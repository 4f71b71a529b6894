#!/bin/sh
# `cprof top` in a real terminal: tmux runs it in a detached session of a
# fixed size on a private socket, the test types keys with send-keys and
# reads the screen with capture-pane, polling until what it expects shows
# (or a timeout), never sleeping a fixed time for it. Checked against the
# suite's workload: the header, the hot function's share, the flame view's
# call path and zoom, the filter, the thread picker, pause, the recent
# window, help, writing a profile that `cprof report` reads, resizing and
# narrow terminals; a stopped target; r once the target exited; the heap
# of a command and of a running process (--heap) and its sample types; q,
# Ctrl-C, SIGTERM and a fatal signal all restore the terminal with the right
# exit status; a launched command is ended on q; a saved profile; no
# terminal, an unknown one and TERM=dumb; and the target runs on untraced
# after all of it, SIGKILL included.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads/cpuwork-nofp
need_perf_events
if ! command -v tmux >/dev/null 2>&1; then
	echo "SKIP: tmux is not installed (scripts/install-deps installs it)"
	exit 77
fi

# Block-character bars where the machine has a UTF-8 locale; tmux itself
# must run in it too to pass them through.
if locale -a 2>/dev/null | grep -Eqi '^c\.utf-?8$'; then
	LC_ALL=C.UTF-8
	export LC_ALL
fi
unset TMUX

SOCK=$T/tmux.sock
wpid= spid=
# The workloads go with the test, however it ends.
trap 'tmux -S "$SOCK" kill-server 2>/dev/null || :
	for p in $wpid $spid; do kill "$p" 2>/dev/null || :; done
	rm -rf "$T"' EXIT

tm() {
	tmux -f /dev/null -S "$SOCK" "$@"
}

# The pane's program: save the terminal's settings, run the command (its pid
# in NAME.pid), then write the settings after it and, last, its exit status,
# which the test waits for. A trap, not the default, for SIGINT: Ctrl-C
# reaches this shell too.
cat >"$T/run.sh" <<'EOF'
name=$1
shift
trap : INT
stty -g >"$name.before"
sh -c 'echo $$ >"$0.pid"; exec "$@"' "$name" "$@"
rc=$?
stty -g >"$name.after"
echo $rc >"$name.exit"
exec sleep 3600
EOF

# start NAME CMD...: run CMD in a new 120x40 tmux session NAME in $T.
start() {
	name=$1
	shift
	cmd="sh '$T/run.sh' '$name'"
	for a in "$@"; do
		cmd="$cmd '$a'"
	done
	rm -f "$T/$name".*
	tm new-session -d -x 120 -y 40 -s "$name" -c "$T" "$cmd"
}

keys() {
	tm send-keys -t "$name" "$@"
}

# The screen of session $name, into $T/screen.
screen() {
	tm capture-pane -p -t "$name" >"$T/screen" 2>/dev/null || : >"$T/screen"
}

# on_screen REGEX: a line of a fresh capture of the screen matches.
on_screen() {
	screen
	grep -Eq -- "$1" "$T/screen"
}

off_screen() {
	! on_screen "$1"
}

# wait_for REGEX [SECONDS]: poll the screen until a line matches (status 0)
# or SECONDS (default 30) pass (status 1).
wait_for() {
	wait_until "${2:-30}" on_screen "$1"
}

# wait_gone REGEX [SECONDS]: poll until no line matches.
wait_gone() {
	wait_until "${2:-30}" off_screen "$1"
}

show_screen() {
	sed 's/^/  | /' "$T/screen" >&2
}

# expect_screen REGEX WHAT [SECONDS]
expect_screen() {
	ok
	wait_for "$1" "${3:-30}" || { fail "$name: $2: no line matching '$1' on the screen:"; show_screen; }
}

expect_not_on_screen() {
	ok
	wait_gone "$1" "${3:-30}" || { fail "$name: $2: '$1' still on the screen:"; show_screen; }
}

# The first row of the table on the screen.
first_row() {
	awk '/%Self +%Total/ {getline; print; exit}' "$T/screen"
}

# expect_first FUNCTION PCT TOL WHAT: poll until the table's first row is
# FUNCTION with a %Self within TOL points of PCT (shares settle as samples
# come in).
expect_first() {
	ok
	wait_until 30 first_is "$1" "$2" "$3" ||
		{ fail "$name: $4: the first row is not $1 at $2% +- $3: '$(first_row)'"; show_screen; }
}

# first_is FUNCTION PCT TOL: in a fresh capture, the first row is FUNCTION
# with a %Self within TOL points of PCT.
first_is() {
	screen
	got=$(first_row | awk -v f="$1" '$5 == f {sub("%", "", $1); print $1}')
	[ -n "$got" ] && awk -v v="$got" -v w="$2" -v t="$3" 'BEGIN {exit !(v - w <= t && w - v <= t)}'
}

# The selected line of the flame view or the thread picker (marked >),
# without the shares and bars that change as samples come in.
selected() {
	grep -E '^>|│>' "$T/screen" | head -n 1 | sed -E 's/[0-9.]+%//g; s/[█▏▎▍▌▋▊▉#]+//g'
}

# select_line REGEX WHAT: press Down until the selected line matches REGEX,
# each move shown before the next is decided (a slow redraw must not make
# the cursor overshoot).
select_line() {
	n=0
	screen
	while ! selected | grep -Eq -- "$1" && [ $n -lt 30 ]; do
		before=$(selected)
		keys Down
		wait_until 5 moved || :
		n=$((n + 1))
	done
	ok
	selected | grep -Eq -- "$1" || { fail "$name: $2: no line matching '$1' could be selected"; show_screen; }
}

# moved: in a fresh capture, the selected line is no longer $before.
moved() {
	screen
	[ "$(selected)" != "$before" ]
}

# The line numbers of the screen lines ending in " NAME".
line_of() {
	grep -n -- " $1\$" "$T/screen" | head -n 1 | cut -d: -f1
}

# wait_exit NAME WANT: cprof in session NAME ended with status WANT.
wait_exit() {
	wait_until 20 test -s "$T/$1.exit" || :
	ok
	got=$(cat "$T/$1.exit" 2>/dev/null || echo "none: still running")
	[ "$got" = "$2" ] || { fail "$1: cprof top exited with $got, expected $2"; screen; show_screen; }
}

# restored NAME: the terminal is as it was before cprof top: its settings,
# the main screen rather than the alternate one, the cursor shown.
restored() {
	ok
	cmp -s "$T/$1.before" "$T/$1.after" ||
		fail "$1: the terminal settings differ after cprof top: $(cat "$T/$1.after" 2>/dev/null)"
	ok
	[ "$(tm display -p -t "$1" '#{alternate_on}')" = 0 ] || fail "$1: left in the alternate screen"
	ok
	[ "$(tm display -p -t "$1" '#{cursor_flag}')" = 1 ] || fail "$1: the cursor is left hidden"
}


"$W" --seconds 600 >/dev/null 2>&1 &
wpid=$!

# No terminal: exit 2 and one line that points to cprof report.
expect_exit 2 "$CPROF" top --pid "$wpid"
expect_lines 1 "$T/err"
expect_grep "^cprof: top needs a terminal; use 'cprof report' for " "$T/err"
expect_exit 2 "$CPROF" top
expect_exit 2 "$CPROF" top --pid "$wpid" "$FIXTURES/go-cpu.pb.gz"

# The live view of a running process, at 499 Hz so that shares settle even
# when the machine is busy.
start live "$CPROF" top -F 499 --pid "$wpid"
expect_screen "^cprof top +pid $wpid +.*cpuwork-nofp" "header with the pid and command"
expect_screen '^[0-9]+ Hz dwarf +samples [1-9][0-9]* +lost 0 +threads 2 \(1 sampled\) +CPU [0-9.]+% +elapsed [0-9]+s' "header with the counts"
expect_first work_a 60 6 "the hot function"
# Its own few instructions may take a sample or two in thousands (under 0.1%),
# now that samples taken in an interrupt of it land there too.
expect_screen '^ +(0|0\.0[0-9]+)% +(5[4-9]|6[0-6])\.[0-9]+% +(0|[0-9.]+m?s) +[0-9.]+m?s +stage_a \(cpuwork\.c:[0-9]+\)$' \
	"a caller: (almost) no self time, its callee's total, its file:line"

# The flame view: the call path, one frame a line, callers first.
keys f
expect_screen '^ Flame: all$' "the flame view"
expect_screen ' work_a$' "the flame view"
ok
a=$(line_of run_rounds)
b=$(line_of stage_a)
c=$(line_of work_a)
if [ -z "$a" ] || [ -z "$b" ] || [ -z "$c" ] || [ "$a" -ge "$b" ] || [ "$b" -ge "$c" ]; then
	fail "flame view: no run_rounds, stage_a, work_a lines in that order ($a, $b, $c)"
	show_screen
fi
expect_screen '^ +(5[4-9]|6[0-6])\.[0-9]+% [█▏▎▍▌▋▊▉#]+ +stage_a$' "stage_a's share and bar"

# Zoom: move the cursor to stage_a, Enter makes it the root, Backspace goes back.
select_line ' stage_a$' "the cursor on stage_a"
keys Enter
expect_screen '^ Flame: all > .* > run_rounds > stage_a$' "zoomed into stage_a"
expect_screen '^> +[0-9.]+% [█#]+ stage_a$' "stage_a as the root, its bar full"
expect_not_on_screen ' stage_b$' "zoomed into stage_a"
keys BSpace
expect_screen ' stage_b$' "zoomed back out"
expect_screen '^ Flame: all$' "zoomed back out"
keys f
expect_screen '%Self +%Total +Self +Total +Function' "back to the table"

# The filter: only the samples through work_b; then none again.
keys /
expect_screen '^Filter ' "the filter prompt"
keys -l work_b
keys Enter
expect_screen 'filter: work_b$' "filter in the header"
expect_first work_b 30 6 "filtered on work_b"
expect_not_on_screen ' work_a ' "filtered on work_b"
keys / C-u Enter
expect_screen 'filter: none$' "filter cleared"
expect_first work_a 60 6 "filter cleared"

# Sorting by total time: the roots come first.
keys c
expect_screen 'sort: total' "sorted by total"
ok
[ "$(first_row | awk '{print $2}')" = 100% ] || { fail "sorted by total, the first row is '$(first_row)'"; show_screen; }
keys s
expect_screen 'sort: self' "sorted by self"

# The recent window.
keys a
expect_screen 'window: last 10s' "the recent window"
keys a
expect_screen 'window: all since start' "all samples"

# Pause: the display keeps its numbers while sampling goes on.
keys p
expect_screen 'PAUSED' "paused"
screen
before=$(grep -Eo 'samples [0-9]+' "$T/screen" || :)
sleep 2.5
screen
expect_eq "$(grep -Eo 'samples [0-9]+' "$T/screen")" "$before" "samples while paused"
keys p
expect_not_on_screen 'PAUSED' "resumed"
ok
wait_gone "$before" 10 || fail "live: the samples count did not move after resuming"

# Help, closed by any key.
keys '?'
expect_screen 'cprof top keys' "help"
keys x
expect_not_on_screen 'cprof top keys' "help closed"

# Writing the profile shown: a file `cprof report` reads.
keys w
expect_screen "Wrote $T/cprof-top-$wpid-[0-9]{8}-[0-9]{6}\\.pb\\.gz" "writing the profile"
written=$(grep -Eo "$T/cprof-top-$wpid-[0-9]{8}-[0-9]{6}\\.pb\\.gz" "$T/screen" | head -n 1)
expect_exit 0 "$CPROF" report --top 3 "$written"
expect_grep '^ +[0-9.]+m?s +(5[4-9]|6[0-6])\.[0-9]+% .* work_a \(' "$T/out"
expect_exit 0 "$CPROF" report --traces "$written"
expect_grep '^ +thread: +cpuwork-nofp$' "$T/out"

# Resizing redraws to the new size, the footer on the last line.
tm resize-window -t live -x 90 -y 25
footer_at_25() {
	screen
	[ "$(wc -l <"$T/screen")" -eq 25 ] && sed -n 25p "$T/screen" | grep -q '^q Quit'
}
ok
wait_until 10 footer_at_25 || { fail "live: no footer on line 25 after resizing to 90x25"; show_screen; }
expect_screen "^cprof top +pid $wpid" "header after resizing"
expect_first work_a 60 6 "after resizing"

keys q
wait_exit live 0
restored live
untraced "$wpid"

# The thread picker, on a process with a worker (work_a/b/c) and a thread
# that only spins.
"$W" --threads 1 --late 0 --seconds 600 >/dev/null 2>&1 &
tpid=$!
# Main, the timer, the worker and the late thread, whose starter is gone.
late_started() {
	has_threads "$tpid" 4 && grep -qx cpuwork-late /proc/"$tpid"/task/*/comm
}
ok
wait_until 20 late_started || fail "cpuwork did not start its threads"
start threads "$CPROF" top --pid "$tpid"
expect_screen ' spin \(libcpuwork\.c:[0-9]+\)$' "both threads in the table"
expect_screen 'threads 4 \(2 sampled\)' "both threads in the table"
keys t
expect_screen '│> +[0-9.]+% +all threads' "the thread picker, all threads selected"
expect_screen '  [0-9]+ +cpuwork-late' "the thread picker"
expect_screen '  [0-9]+ +cpuwork-worker' "the thread picker"
select_line 'cpuwork-worker' "the cursor on the worker"
keys Enter
expect_screen 'thread: [0-9]+ cpuwork-worker ' "picked the worker"
expect_first work_a 60 6 "the worker thread"
expect_not_on_screen ' spin ' "the worker thread"
keys t Home Enter
expect_screen 'thread: all ' "all threads again"
expect_screen ' spin \(libcpuwork\.c:[0-9]+\)$' "all threads again"
keys q
wait_exit threads 0
untraced "$tpid"
kill "$tpid"
wait "$tpid" 2>/dev/null || :

# Ctrl-C, SIGTERM and SIGHUP quit as q does; a fatal signal restores the
# terminal before cprof dies of it.
for how in C-c TERM HUP SEGV; do
	start "sig$how" "$CPROF" top --pid "$wpid"
	expect_screen "^cprof top +pid $wpid" "started"
	case $how in
	C-c) keys C-c ;;
	*) kill -"$how" "$(cat "$T/$name.pid")" ;;
	esac
	case $how in
	SEGV) wait_exit "$name" 139 ;;
	*) wait_exit "$name" 0 ;;
	esac
	restored "$name"
	untraced "$wpid"
done

# SIGKILL: no chance to clean up, and the target runs on untraced all the same.
start kill "$CPROF" top --pid "$wpid"
expect_screen "^cprof top +pid $wpid" "started"
kill -KILL "$(cat "$T/kill.pid")"
wait_exit kill 137
untraced "$wpid"

# A launched command: profiled, and ended on q.
start launch "$CPROF" top -- "$W" --seconds 600
expect_screen '^cprof top +pid [0-9]+ +.*cpuwork-nofp --seconds 600' "launched"
cpid=$(awk '/^cprof top +pid/ {print $4; exit}' "$T/screen")
expect_first work_a 60 6 "launched"
keys q
wait_exit launch 0
restored launch
gone() {
	! kill -0 "$1" 2>/dev/null
}
ok
wait_until 5 gone "$cpid" || fail "the launched command $cpid still runs after q"

# A saved profile: the same table and flame view.
start file "$CPROF" top "$FIXTURES/go-cpu.pb.gz"
expect_screen '^cprof top +go-cpu\.pb\.gz' "a saved profile's header"
expect_screen '^Type: cpu +Total: ' "a saved profile's header"
expect_first main.hotA 43.71 0.01 "a saved profile"
keys f
expect_screen ' main\.hotA$' "a saved profile's flame view"
keys p
expect_screen 'A saved profile cannot pause' "no pause in a saved profile"
keys q
wait_exit file 0
restored file

# A range of cprof record's store, replayed: the whole range, then each
# window with ] (the first run's windows have work_a hot, the second run's
# work_c), and [ back past the start to the whole range. Windows of a minute
# hold a run each (its samples, whatever CPU the loaded machine gives it), at
# 499 Hz: about 290 samples in the first, where 99 Hz gave 57, whose share
# strayed 17 points from 60 in a sanitizer run.
"$CPROF" record --store "$T/store" --every 60s --frequency 499 -- "$W" --rounds 150 --split 6:3:1 \
	>/dev/null 2>&1 || fail "record into a store for top --store"
n1=$(store_windows "$T/store" | wc -l)
"$CPROF" record --store "$T/store" --every 60s --frequency 499 -- "$W" --rounds 300 --split 1:3:6 \
	>/dev/null 2>&1 || fail "record into a store for top --store"
n=$(store_windows "$T/store" | wc -l)
start store "$CPROF" top --store "$T/store" --name cpuwork
expect_screen "^cprof top +$n windows, 20" "a store range's header"
expect_screen 'window: the whole range' "a store range's window"
keys ]
expect_screen "^cprof top +window 1 of $n: 1 window, " "the first window of a store range"
expect_first work_a 60 15 "the first window of a store range"
i=1
while [ "$i" -le "$n1" ]; do
	keys ]
	i=$((i + 1))
done
expect_screen "^cprof top +window $i of $n: " "window $i of a store range"
expect_first work_c 60 15 "the second run's first window"
i=$i
while [ "$i" -gt 0 ]; do
	keys [
	i=$((i - 1))
done
expect_screen "^cprof top +$n windows, " "back to the whole range"
keys q
wait_exit store 0
restored store
start nostore "$CPROF" top --pid "$wpid"
expect_screen '^cprof top +pid ' "a live target's header"
keys ]
expect_screen 'Only a store range steps through windows' "] of a live target"
keys q
wait_exit nostore 0
start nomatch "$CPROF" top --store "$T/store" --name nonesuch
wait_exit nomatch 1
expect_screen 'no cpu window in store .* matches the name nonesuch' "a store range that selects nothing"
expect_exit 2 "$CPROF" top --store "$T/store" --pid "$wpid"
expect_grep 'give one of --pid, a command, a PROFILE or --store' "$T/err"

# Narrow terminals: "? Help" is the last key to leave the footer, and the
# numbers give way before the function names are cut.
start narrow "$CPROF" top --pid "$wpid"
tm resize-window -t narrow -x 80 -y 24
expect_screen '^q Quit .*  \? Help *$' "the footer at 80 columns"
expect_first work_a 60 10 "at 80 columns"
tm resize-window -t narrow -x 50 -y 24
expect_screen '^ +%Self +%Total +Function \(file:line\) *$' "the table's columns at 50 columns"
expect_screen '^ +[0-9.]+% +[0-9.]+% +work_a \(cpuwork\.c:[0-9]+\)$' "a whole name at 50 columns"
expect_screen '^q Quit .*  \? Help *$' "the footer at 50 columns"
keys c
expect_screen 'sort: total' "sorted by total at 50 columns"
tm resize-window -t narrow -x 40 -y 24
expect_screen '^ +%Total +Function \(file:line\) *$' "sorted by total at 40 columns: its share stays"
expect_screen '^ +[0-9.]+% +stage_a \(cpuwork\.c:[0-9]+\)$' "a whole name at 40 columns"
expect_screen '^q Quit .*  \? Help *$' "the footer at 40 columns"
keys q
wait_exit narrow 0
restored narrow

# A terminal that cannot move the cursor is refused, as an unknown one is,
# before anything starts.
start dumb env TERM=dumb "$CPROF" top --pid "$wpid"
wait_exit dumb 1
expect_screen '^cprof: cannot drive the terminal \(TERM=dumb\): it cannot move the cursor; set TERM to one that can' "TERM=dumb"
start unknown env TERM=no-such-terminal "$CPROF" top --pid "$wpid"
wait_exit unknown 1
expect_screen '^cprof: cannot drive the terminal \(TERM=no-such-terminal\); set TERM to one terminfo knows' "an unknown TERM"
untraced "$wpid"

# A stopped target: the header says so, the empty table says why, and the
# target is left stopped; after SIGCONT the samples come.
all_stopped() {
	for task in /proc/"$1"/task/*; do
		[ "$(state "$1/task/${task##*/}")" = T ] || return 1
	done
}
kill -STOP "$wpid"
ok
wait_until 20 all_stopped "$wpid" || fail "the workload $wpid did not stop"
start stopped "$CPROF" top --pid "$wpid"
expect_screen "^cprof top +pid $wpid .* STOPPED *\$" "the header of a stopped target"
expect_screen "^  \(no samples: process $wpid is stopped \(by SIGSTOP or Ctrl-Z; kill -CONT $wpid resumes it\)\)" "why there are no samples"
keys q
wait_exit stopped 0
ok
all_stopped "$wpid" || fail "cprof top did not leave $wpid stopped"
kill -CONT "$wpid"
untraced "$wpid"

# After the target exited, r would throw all its samples away: refused.
"$W" --seconds 4 >/dev/null 2>&1 &
epid=$!
start exited "$CPROF" top -F 499 --pid "$epid"
expect_screen "^cprof top +pid $epid .* exited *\$" "the target's exit in the header"
expect_screen '^[0-9]+ Hz dwarf +samples [1-9][0-9]* ' "samples of the exited target"
screen
before=$(grep -Eo 'samples [0-9]+' "$T/screen")
keys r
expect_screen '^The target has exited: a reset would throw away all there is \(w writes it\)' "r refused after the exit"
expect_eq "$(grep -Eo 'samples [0-9]+' "$T/screen")" "$before" "samples after r on an exited target"
keys q
wait_exit exited 0

# --heap: the heap of a command cprof starts (heapwork --serve: leak_site the
# one site that keeps its memory), in use first, then with i what is
# allocated; w writes a heap profile that cprof report reads; q ends the
# command. Then the heap of a running process, which q lets go with no
# allocator reference left rerouted through the library.
H=$top_builddir/tests/workloads/heapwork
start heap "$CPROF" top --heap --rate 65536 -- "$H" --serve 3000
expect_screen '^heap, a sample every 64kB +samples [1-9][0-9]* \([0-9]+ freed\) +lost 0 ' "the heap header"
expect_screen ' type: inuse_space ' "the heap's first sample type"
# leak_site keeps 8 KiB a round, pointer_site 4 KiB.
expect_first leak_site 67 6 "memory in use"
keys i
expect_screen ' type: alloc_objects ' "i: the next sample type"
keys i
expect_screen ' type: alloc_space ' "i again"
expect_first site_sixty 51 8 "bytes allocated"
keys w
expect_screen '^Wrote .*/cprof-top-[0-9]+-[0-9]{8}-[0-9]{6}\.pb\.gz' "w on the heap"
screen
hp=$(sed -n 's|^Wrote \(.*\.pb\.gz\).*|\1|p' "$T/screen" | head -n 1)
expect_exit 0 "$CPROF" report --top 3 --sample-index alloc_space "$hp"
expect_grep ' site_sixty ' "$T/out"
keys q
wait_exit heap 0
restored heap
"$H" --serve 3000 >/dev/null &
spid=$!
start heappid "$CPROF" top --heap --rate 65536 --pid "$spid"
expect_screen "^cprof top +pid $spid " "the header of an attached heap"
# pointer_site's pointer is glibc's malloc itself, which no rerouting reaches.
expect_first leak_site 100 5 "memory in use, attached"
ok
[ "$("$top_builddir/tests/gotcheck" "$spid" libcprof-heap)" -gt 0 ] ||
	fail "no allocator reference rerouted while top --heap --pid runs"
keys q
wait_exit heappid 0
expect_eq "$("$top_builddir/tests/gotcheck" "$spid" libcprof-heap)" 0 \
	"allocator references rerouted after top --heap --pid quit"
untraced "$spid"
kill "$spid"
wait "$spid" 2>/dev/null || :

untraced "$wpid"
finish
