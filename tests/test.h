/* A minimal harness for the C unit tests: CHECK records a failure with its
 * line and goes on; test_done() reports and gives the exit status. */
#ifndef CPROF_TEST_H
#define CPROF_TEST_H

#include <stdio.h>
#include <string.h>

static int test_checks, test_failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		test_checks++;                                                           \
		if (!(cond)) {                                                           \
			test_failures++;                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                  \
		}                                                                        \
	} while (0)

#define CHECK_STR(a, b)                                                                  \
	do {                                                                             \
		const char *a_ = (a), *b_ = (b);                                         \
		test_checks++;                                                           \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                 \
			test_failures++;                                                 \
			fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__,      \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
		}                                                                        \
	} while (0)

static inline int test_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
	return test_failures ? 1 : 0;
}

#endif
