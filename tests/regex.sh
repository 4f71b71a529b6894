#!/bin/sh
# cprof's REGEX options read Go's syntax (RE2), as go tool pprof's do, with
# POSIX regcomp underneath (lib/errmsg.c translates): 4,000 patterns made
# at random from the pieces pprof users write (classes, escapes, brackets,
# groups, greedy and non-greedy repeats, anchors) are compiled by cprof and
# by Go's regexp, and wherever both take one, each of 28 subjects matches
# under both or neither. What cprof refuses it says so (test-error checks
# the line); that it still takes most is checked too, so the test cannot
# pass by refusing. Skips (77) without Go or python3.
. "$top_srcdir/tests/lib.sh"

need_go regex
if ! command -v python3 >/dev/null 2>&1; then
	echo "regex: SKIP: python3 is not installed"
	exit 77
fi

python3 - "$T/in" <<'PY'
import random, sys
random.seed(7)
atoms = ['a', 'b', '.', r'\d', r'\w', r'\s', r'\D', r'\W', '[ab]', '[^a]', r'[\d_]', r'[\w.]',
         '[[:alpha:]]', '(?:a|b)', '(a|bc)', r'\.', r'\(', r'\)', r'\<', r'\:', r'\b', r'\B',
         r'\A', r'\z', '^', '$', 'x{2}', 'x{1,2}', '}', '{', '[]a]', '[a-c]', '::', '<', '>',
         '_', '1', r'[\.]', r'\\', r'[\\]', 'main\\.', '(?i)A']
reps = ['', '', '', '*', '+', '?', '*?', '+?', '??', '{2}', '{1,3}', '{2,}?']
subjects = ['', 'a', 'b', 'ab', 'aab', 'x', 'xx', 'xxx', 'a.b', 'a b', 'a:b', 'f(x)', '<a>',
            'main.run', '_1', '}', '{', 'a}', 'a{2}', 'ba', 'abc', 'A', '1a', 'a\\b', ']', '[',
            'x{2}', '::a']
with open(sys.argv[1], 'w') as f:
    for i in range(4000):
        n = random.randint(1, 4)
        f.write('P ' + ''.join(random.choice(atoms) + random.choice(reps) for _ in range(n)) + '\n')
        for s in subjects:
            f.write('S ' + s + '\n')
PY
"$top_builddir/tests/regexcheck" <"$T/in" >"$T/cprof" || fail "tests/regexcheck failed"
(cd "$T" && go run "$top_srcdir/tests/go/regexcheck.go") <"$T/in" >"$T/go" 2>"$T/go.err" ||
	{ fail "go run tests/go/regexcheck.go failed:"; cat "$T/go.err" >&2; }
ok
paste "$T/in" "$T/cprof" "$T/go" | awk -F '\t' '
	/^P / { pat = substr($1, 3); both = ($2 == "P 1" && $3 == "P 1"); taken += both
		refused += ($2 == "P 0" && $3 == "P 1"); n++; next }
	both && $2 != $3 { if (!(pat in told)) { told[pat] = 1; d++
		if (d <= 10) printf "differs: %s on \"%s\": cprof %s, Go %s\n", pat, substr($1, 3), $2, $3 } }
	END { printf "patterns %d, both take %d, cprof refuses %d Go takes, differing %d\n", n, taken, refused, d + 0
		exit !(n == 4000 && d == 0 && taken >= 2000) }' >"$T/result" ||
	fail "cprof's regular expressions match otherwise than Go's:"
cat "$T/result"
finish
