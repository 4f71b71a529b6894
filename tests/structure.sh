#!/bin/sh
# The code's shape holds as issue 11 left it: no circle in the module graph of
# cmd/ and lib/ (A uses a symbol B defines, and B one of A's, through any
# chain), no function longer than 80 lines without a comment above it saying
# why ("Long: ..."), lib/README.md naming every module, and every test in
# tests/ run by make check.
. "$top_srcdir/tests/lib.sh"
: "${top_builddir:?set top_builddir to the build tree}"

# Functions of the C files $@ (kernel style: the body's braces at column 0)
# longer than 80 lines, unless the comment right above says "Long:".
long_functions() {
	awk -v max=80 '
		FNR == 1 { hist = ""; infn = 0 }
		/^\{/ && !infn { infn = 1; start = FNR; why = (hist ~ /Long:/); next }
		/^\}/ && infn {
			infn = 0
			if (FNR - start - 1 > max && !why)
				printf "%s:%d: %s is %d lines\n", FILENAME, sig, name, FNR - start - 1
			hist = ""
			next
		}
		!infn {
			if ($0 ~ /^[a-zA-Z_].*\(/) {
				sig = FNR; name = $0
				sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
			}
			hist = ($0 ~ /^$/) ? "" : hist $0
		}
	' "$@"
}

# "module module" lines: the first uses a symbol the second defines, for the
# objects $@ (module: the object's directory and name without .o, as lib/cpu).
module_edges() {
	: >"$T/defs"
	: >"$T/uses"
	for o in "$@"; do
		m=$(basename "$(dirname "$o")")/$(basename "$o" .o)
		nm "$o" | awk -v m="$m" -v defs="$T/defs" -v uses="$T/uses" '
			$2 ~ /^[TDBRC]$/ { print $3, m >> defs }
			$1 == "U" { print $2, m >> uses }'
	done
	sort -k1,1 "$T/defs" > "$T/defs.s"
	sort -k1,1 "$T/uses" > "$T/uses.s"
	join "$T/uses.s" "$T/defs.s" | awk '$2 != $3 { print $2, $3 }' | sort -u
}

# The checks can fail: a long function and a circle are caught.
{
	echo 'static int structure_fixture(void)'
	echo '{'
	i=0
	while [ $i -lt 81 ]; do echo '	;'; i=$((i + 1)); done
	echo '}'
} > "$T/long.c"
ok
[ -n "$(long_functions "$T/long.c")" ] || fail "an 81-line function is not reported"
ok
printf 'a b\nb c\nc a\n' | tsort >/dev/null 2>&1 && fail "tsort does not report a circle"

long=$(cd "$top_srcdir" && long_functions cmd/*.c lib/*.c | grep -v '^lib/profile\.pb-c\.c:' || true)
ok
[ -z "$long" ] || fail "functions over 80 lines with no \"Long:\" reason above them:
$long"

objs=$(ls "$top_builddir"/cmd/*.o "$top_builddir"/lib/*.o 2>/dev/null |
	grep -v -e '/tests_' -e 'pb-c' || true)
ok
if [ -z "$objs" ]; then
	fail "no objects under $top_builddir/cmd and lib: build first"
else
	# shellcheck disable=SC2086
	module_edges $objs > "$T/edges"
	if ! tsort "$T/edges" >/dev/null 2>"$T/circle"; then
		fail "a circle between modules: $(tr '\n' ' ' < "$T/circle")"
	fi
fi

# Nor a circle of headers including each other.
for h in "$top_srcdir"/cmd/*.h "$top_srcdir"/lib/*.h; do
	sed -n 's/^#include "\(.*\)"/\1/p' "$h" | while read -r inc; do
		echo "$(basename "$h") $inc"
	done
done > "$T/includes"
ok
if ! tsort "$T/includes" >/dev/null 2>"$T/circle"; then
	fail "a circle of headers: $(tr '\n' ' ' < "$T/circle")"
fi

# lib/README.md, the map of the data flow, names every module of lib/.
for f in "$top_srcdir"/lib/*.c "$top_srcdir"/lib/*.h; do
	name=$(basename "$f")
	case $name in profile.pb-c.*) continue ;; esac
	base=${name%.[ch]}
	ok
	grep -q -e "\`$base\.c\`" -e "\`$name\`" "$top_srcdir/lib/README.md" ||
		fail "lib/README.md does not name lib/$name"
done

# Every test in tests/ is one make check runs.
for t in "$top_srcdir"/tests/*.sh "$top_srcdir"/tests/test-*.c; do
	name=$(basename "$t")
	case $name in lib.sh) continue ;; esac
	name=${name%.c}
	ok
	grep -q "tests/$name\b" "$top_srcdir/Makefile.am" || fail "tests/$name is not in Makefile.am's tests"
done

finish
