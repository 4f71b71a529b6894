#!/bin/sh
# Replays every fuzz target over its kept corpus and crash reproducers
# (tests/fuzz/corpus/TARGET, tests/fuzz/crashes/TARGET): none may crash, and
# under the sanitizer build none may show an error.
. "$top_srcdir/tests/lib.sh"

for target in fuzz-pprof fuzz-maps fuzz-duration fuzz-elf fuzz-route fuzz-legacy; do
	files=$(find "$top_srcdir/tests/fuzz/corpus/$target" "$top_srcdir/tests/fuzz/crashes/$target" \
		-type f 2>/dev/null | sort)
	ok
	[ -n "$files" ] || { fail "$target has no corpus"; continue; }
	# shellcheck disable=SC2086
	if ! "$top_builddir/tests/fuzz/$target" $files >"$T/out" 2>"$T/err"; then
		fail "$target crashed replaying its corpus"
		tail -20 "$T/err" >&2
	fi
	expect_grep '^[0-9]+ inputs replayed$' "$T/out"
done
finish
