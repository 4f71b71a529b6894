#!/bin/sh
# The documentation and completions agree with the binary: for every command
# that `cprof --complete` lists, --help and `cprof help CMD` work and agree, the
# man page's SYNOPSIS is the usage line, every option is in its OPTIONS with
# the default that --help prints from the option table, the page is
# installed; the global options and exit codes behave; and the bash
# completion, which asks `cprof --complete`, completes commands and options.
# (git's t0450 and t0012 do the same for git's builtins.)
set -eu

: "${CPROF:?set CPROF to the cprof binary}"
: "${top_srcdir:?set top_srcdir to the source tree}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# The text of section $2 of man page $1, requests dropped, roff escapes for
# hyphens, fonts and backslashes undone, lines joined with single spaces.
man_section() {
	awk -v sec="$2" '
		/^\.SH/ { on = ($0 ~ "^\\.SH \"?" sec "\"?$"); next }
		on && !/^[.\047]/ { print }
	' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' \
		-e 's/\\&//g' -e 's/\\e/\\/g' | tr '\n' ' ' | tr -s ' \t' '  ' |
		sed -e 's/^ //' -e 's/ $//'
}

# The item tags of section $2 of man page $1 in raw roff: the line after each
# .TP or .TQ, and the argument of .IP.
man_tags() {
	awk -v sec="$2" '
		/^\.SH/ { on = ($0 ~ "^\\.SH \"?" sec "\"?$"); next }
		!on { next }
		tag { print; tag = 0; next }
		/^\.(TP|TQ)/ { tag = 1; next }
		/^\.IP / { print }
	' "$1"
}

# The text of the OPTIONS item of man page $1 whose tag holds option $2 (in
# roff, "\-\-name"): its lines up to the next .TP or .SH, font macros' words
# kept, escapes undone as man_section does, on one line.
man_item() {
	awk -v opt="$2" '
		/^\.SH/ { on = ($0 ~ /^\.SH "?OPTIONS"?$/); item = 0; next }
		!on { next }
		/^\.TP/ { item = 0; tag = 1; next }
		/^\.TQ/ { tag = 1; next }
		tag { tag = 0; if (index($0, opt)) item = 1; next }
		item && /^\.(B|I|BR|IR|RB|RI|BI|IB) / { sub(/^\.[A-Z]+ /, ""); gsub(/"/, ""); print; next }
		item && !/^[.\047]/ { print }
	' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' | tr '\n' ' '
}

# The words assigned to dist_man_MANS in Makefile.am, one per line.
dist_mans() {
	awk '
		{ line = line $0 }
		/\\$/ { sub(/\\$/, "", line); next }
		{
			if (line ~ /^[ \t]*dist_man_MANS[ \t]*\+?=/) {
				sub(/^[^=]*=/, "", line)
				n = split(line, w, /[ \t]+/)
				for (i = 1; i <= n; i++) if (w[i] != "") print w[i]
			}
			line = ""
		}
	' "$top_srcdir/Makefile.am"
}

# Run "$@", its stdout in $tmp/out, stderr in $tmp/err; sets rc.
run() {
	rc=0
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

# --- The global options and exit codes.
run "$CPROF" --help
[ "$rc" -eq 0 ] || fail "cprof --help exits $rc, not 0"
run "$CPROF"
[ "$rc" -eq 2 ] || fail "cprof with no arguments exits $rc, not 2"
run "$CPROF" nosuchcmd
[ "$rc" -eq 2 ] || fail "cprof nosuchcmd exits $rc, not 2"
grep -q '^cprof: ' "$tmp/err" || fail "cprof nosuchcmd prints no 'cprof: ' line on stderr"
run "$CPROF" --version
[ "$rc" -eq 0 ] || fail "cprof --version exits $rc, not 0"
if ! grep -Eq '^cprof [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || [ "$(wc -l <"$tmp/out")" -ne 1 ]; then
	fail "cprof --version prints '$(head -n 1 "$tmp/out")', not 'cprof X.Y.Z'"
fi

mans=$(dist_mans)
page=$top_srcdir/man/cprof.1
[ -f "$page" ] || fail "man/cprof.1 is missing"
printf '%s\n' "$mans" | grep -qx 'man/cprof.1' || fail "man/cprof.1 is not in dist_man_MANS"

# --- Every command.
run "$CPROF" --complete
[ "$rc" -eq 0 ] || fail "cprof --complete exits $rc, not 0"
cut -f 1 "$tmp/out" >"$tmp/commands"
grep -qx help "$tmp/commands" || fail "cprof --complete does not list help"
commands=$(grep -vx help "$tmp/commands" || :)
[ -n "$commands" ] || fail "cprof --complete lists no command but help"

for cmd in $commands; do
	# (a) --help exits 0, and starts with the usage line.
	run "$CPROF" "$cmd" --help
	[ "$rc" -eq 0 ] || fail "cprof $cmd --help exits $rc, not 0"
	cp "$tmp/out" "$tmp/help"
	usage=$(head -n 1 "$tmp/help")
	case $usage in
	"usage: cprof $cmd" | "usage: cprof $cmd "*) ;;
	*) fail "cprof $cmd --help starts with '$usage', not 'usage: cprof $cmd'" ;;
	esac
	usage=${usage#usage: }

	# (b) cprof help CMD says the same.
	run "$CPROF" help "$cmd"
	[ "$rc" -eq 0 ] || fail "cprof help $cmd exits $rc, not 0"
	cmp -s "$tmp/out" "$tmp/help" || fail "cprof help $cmd differs from cprof $cmd --help"

	# (c) the man page exists and its SYNOPSIS is the usage line.
	page=$top_srcdir/man/cprof-$cmd.1
	if [ ! -f "$page" ]; then
		fail "man/cprof-$cmd.1 is missing"
		continue
	fi
	synopsis=$(man_section "$page" SYNOPSIS)
	case $synopsis in
	*"$usage"*) ;;
	*) fail "the SYNOPSIS of man/cprof-$cmd.1 is not the usage line:
	  man:  $synopsis
	  help: $usage" ;;
	esac

	# (d) every option has an item of its own in OPTIONS, tagged \-\-NAME.
	run "$CPROF" --complete "$cmd"
	[ "$rc" -eq 0 ] || fail "cprof --complete $cmd exits $rc, not 0"
	tail -n 1 "$tmp/out" | grep -q '^:args	' || fail "cprof --complete $cmd has no last ':args' line"
	options=$(grep '^--' "$tmp/out" | cut -f 1)
	[ -n "$options" ] || fail "cprof --complete $cmd lists no options"
	man_tags "$page" OPTIONS >"$tmp/options"
	for opt in $options; do
		re=$(printf '%s\n' "$opt" | sed 's/-/\\\\-/g')
		grep -Eq "$re"'([^A-Za-z0-9\\]|\\[^-]|$)' "$tmp/options" ||
			fail "man/cprof-$cmd.1 has no item for $opt (tagged $(printf '%s' "$opt" |
				sed 's/-/\\-/g')) in OPTIONS"
	done

	# (d') where --help gives an option's default as a value, "(default X)",
	# its man page item says what the default is and names X (a duration's
	# number alone, as in "30 seconds", will do).
	grep '^--' "$tmp/out" | cut -f 1,4 >"$tmp/rows"
	while IFS='	' read -r opt help; do
		case $help in
		*"(default: "*) continue ;;
		*"(default "*")") def=${help##*"(default "}; def=${def%")"} ;;
		*) continue ;;
		esac
		num=$def
		case $def in
		[0-9]*) num=$(printf '%s\n' "$def" | sed 's/[a-z]*$//') ;;
		esac
		item=$(man_item "$page" "$(printf '%s' "$opt" | sed 's/-/\\-/g')")
		if ! printf '%s\n' "$item" | grep -qi 'default' ||
			! printf '%s\n' "$item" | grep -Eq "(^|[^0-9A-Za-z.])($def|$num)([^0-9A-Za-z]|$)"; then
			fail "man/cprof-$cmd.1 does not give the default of $opt, $def, that --help prints"
		fi
	done <"$tmp/rows"

	# (e) the page is installed, and the overview page names the command.
	printf '%s\n' "$mans" | grep -qx "man/cprof-$cmd.1" ||
		fail "man/cprof-$cmd.1 is not in dist_man_MANS in Makefile.am"
	grep -qF "cprof\\-$cmd" "$top_srcdir/man/cprof.1" || fail "man/cprof.1 does not mention cprof-$cmd"
done

# --- The shell completions.
# The lines of file $1 as words on one line.
words() {
	tr '\n' ' ' <"$1" | sed 's/ $//'
}

# Complete the words "$@" (the last one being completed) with the bash
# completion; the candidates go to $tmp/out, one a line, sorted.
bash_complete() {
	PATH=$(dirname "$CPROF"):$PATH bash -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_cprof || exit 1
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"
	' bash "$top_srcdir/completions/cprof" "$@" | sort >"$tmp/out" ||
		fail "bash completion of '$*' failed"
}

if [ "$(basename "$CPROF")" != cprof ]; then
	echo "note: the binary is not named cprof, so the completions cannot find it; skipped"
elif ! command -v bash >/dev/null 2>&1; then
	echo "note: no bash; bash completion not tested"
else
	bash_complete cprof rep
	[ "$(cat "$tmp/out")" = report ] ||
		fail "bash: 'cprof rep' completes to '$(cat "$tmp/out")', not 'report'"
	bash_complete cprof report --fl
	[ "$(cat "$tmp/out")" = --flame ] ||
		fail "bash: 'cprof report --fl' completes to '$(cat "$tmp/out")', not '--flame'"
	bash_complete cprof report --s
	if ! grep -qx -e --svg "$tmp/out" || ! grep -qx -e --sample-index "$tmp/out"; then
		fail "bash: 'cprof report --s' completes to '$(words "$tmp/out")', without --svg and --sample-index"
	fi
	bash_complete cprof ''
	sort "$tmp/commands" | cmp -s - "$tmp/out" ||
		fail "bash: 'cprof ' completes to '$(words "$tmp/out")', not every command"
	for cmd in $commands; do
		"$CPROF" --complete "$cmd" | grep '^--' | cut -f 1 | sort >"$tmp/want"
		bash_complete cprof "$cmd" --
		cmp -s "$tmp/want" "$tmp/out" ||
			fail "bash: 'cprof $cmd --' completes to '$(words "$tmp/out")', not its options"
	done
fi

if command -v zsh >/dev/null 2>&1; then
	zsh -n "$top_srcdir/completions/_cprof" || fail "zsh: completions/_cprof does not parse"
else
	echo "note: no zsh; zsh completion not tested"
fi
if command -v fish >/dev/null 2>&1; then
	fish -n "$top_srcdir/completions/cprof.fish" || fail "fish: completions/cprof.fish does not parse"
	if [ "$(basename "$CPROF")" = cprof ]; then
		got=$(HOME=$tmp XDG_CONFIG_HOME=$tmp XDG_DATA_HOME=$tmp PATH=$(dirname "$CPROF"):$PATH \
			fish -c 'source $argv[1]; complete -C "cprof report --fl"' \
			"$top_srcdir/completions/cprof.fish" |
			cut -f 1) || :
		[ "$got" = --flame ] ||
			fail "fish: 'cprof report --fl' completes to '$got', not '--flame'"
	fi
else
	echo "note: no fish; fish completion not tested"
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)" >&2
	exit 1
fi
echo "docs: checked $(printf '%s\n' "$commands" | wc -l) command(s): $(printf '%s\n' "$commands" | tr '\n' ' ')"
