/* Unit tests of the string interner and of the tables built on it. */
#include <stdio.h>
#include <stdlib.h>

#include "intern.h"
#include "profile.h"
#include "test.h"

static void test_numbers(void)
{
	struct intern in;
	int64_t a, b;

	intern_init(&in);
	a = intern_n(&in, "alpha", 5);
	b = intern_n(&in, "beta", 4);
	CHECK(a == 0 && b == 1 && in.n == 2);
	CHECK(intern_n(&in, "alpha", 5) == a);
	CHECK(intern_n(&in, "alphabet", 5) == a);
	CHECK(intern_n(&in, "alph", 4) == 2);
	CHECK_STR(in.strs[a], "alpha");
	CHECK(intern_find(&in, "beta") == b);
	CHECK(intern_find(&in, "bet") == -1);
	CHECK(intern_find(&in, "betas") == -1);
	/* The empty string, from NULL as from "". */
	CHECK(intern_n(&in, NULL, 0) == 3);
	CHECK(intern_n(&in, "", 0) == 3);
	CHECK(intern_find(&in, "") == 3);
	/* Bytes past a NUL are not part of the string, as strndup copies it. */
	CHECK(intern_n(&in, "beta\0gamma", 10) == b);
	CHECK(intern_n(&in, "beta\0\0", 6) == b);
	CHECK(intern_str(&in, "alpha", 5) == in.strs[a]);
	intern_release(&in);
	CHECK(in.n == 0 && in.strs == NULL);
	CHECK(intern_n(&in, "again", 5) == 0);
	intern_release(&in);
}

/* Many strings: the index grows and moves, the strings do not. */
static void test_many(void)
{
	enum { N = 50000 };
	const char **first = malloc(N * sizeof(*first));
	struct intern in;
	char buf[32];
	int bad = 0;

	intern_init(&in);
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		first[i] = intern_str(&in, buf, strlen(buf));
		bad += !first[i];
	}
	CHECK(bad == 0 && in.n == N);
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		bad += intern_str(&in, buf, strlen(buf)) != first[i] || intern_find(&in, buf) != i;
	}
	CHECK(bad == 0 && in.n == N);
	intern_release(&in);
	free(first);
}

/* The profile's string table is one: the decoder's strings, which may carry
 * NULs at the end, are the same strings as those without. */
static void test_profile(void)
{
	struct profile *p = profile_new();
	int64_t ab = profile_intern(p, "ab");

	CHECK(profile_intern(p, "") == 0);
	CHECK(profile_intern_n(p, "ab\0\0", 4) == ab);
	CHECK(profile_intern_n(p, "abc", 2) == ab);
	CHECK(p->nstrings == 2);
	CHECK_STR(p->strings[ab], "ab");
	profile_free(p);
}

int main(void)
{
	test_numbers();
	test_many();
	test_profile();
	return test_done("test-intern");
}
