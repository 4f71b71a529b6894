#!/bin/sh
# C++ names come out demangled: in `cprof cpu`'s profile (a member function of
# a class template and the member inlined into it, from its DWARF linkage
# name), as `go tool pprof` reads it, and in `cprof threads`' stacks; the
# profile keeps the mangled names as the functions' system names.
. "$top_srcdir/tests/lib.sh"

W=$top_builddir/tests/workloads/cppwork

expect_exit 0 "$CPROF" cpu -F 499 -o "$T/cpp.pb.gz" -- "$W" 1.5
expect_exit 0 "$CPROF" report --top 0 "$T/cpp.pb.gz"
cp "$T/out" "$T/top"
expect_grep '%  cprof_test::Spinner<unsigned long>::step\(\) \(.*cppwork\.cc:[0-9]+\)$' "$T/top"
expect_grep '%  cprof_test::Spinner<unsigned long>::spin\(unsigned long\) \(.*cppwork\.cc:[0-9]+\)$' "$T/top"
expect_no_grep '_Z[A-Z0-9]' "$T/top"
if command -v go >/dev/null 2>&1; then
	go tool pprof -top "$T/cpp.pb.gz" >"$T/go" 2>&1 || fail "go tool pprof -top failed"
	expect_grep ' cprof_test::Spinner<unsigned long>::step\(\)( \(inline\))?$' "$T/go"
	go tool pprof -raw "$T/cpp.pb.gz" >"$T/raw" 2>&1 || fail "go tool pprof -raw failed"
	expect_grep '_ZN10cprof_test7SpinnerImE4spinEm' "$T/raw"
fi

"$W" 30 &
pid=$!
ok
wait_until 20 some_asleep "$pid" || fail "cppwork's waiting thread did not block"
expect_exit 0 "$CPROF" threads --pid "$pid"
expect_grep '^    cprof_test::Waiter::block\(void\*\) \(.*cppwork\.cc:[0-9]+\)$' "$T/out"
untraced "$pid"
kill "$pid"
wait "$pid" 2>/dev/null || true
finish
