/* The library's error channel: lib/ never prints or exits; a failing call
 * returns -1 or NULL and leaves a message, with the errno that goes with it,
 * here for the caller to report. */
#ifndef CPROF_ERRMSG_H
#define CPROF_ERRMSG_H

#include <regex.h>

/* Record a printf-style message as the calling thread's last error, with errno
 * as it was on entry, and return -1 (errno unchanged), so a failing function
 * can end with `return cp_error("...")`. */
int cp_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same with ERR as the error's errno (errno is set to it too): for a
 * failure that errno does not describe, or was overwritten since. */
int cp_error_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last error message ("" if none). */
const char *cp_errmsg(void);

/* The errno recorded with the calling thread's last error (0 if none), so a
 * caller can tell EPERM from ESRCH and explain a permission: that of the
 * system call or allocation that failed, ESRCH for "no such process", or the
 * one a function's comment names; for a failure of no call (corrupt input, a
 * bad argument) whatever errno was at the time. */
int cp_errno(void);

/* Compile PATTERN into RE as cprof's filters take one: extended, for matching
 * only (REG_EXTENDED | REG_NOSUB), with what users of pprof write in Go's
 * syntax (RE2) translated to mean the same: \d, \w, \s and their negations,
 * \A, \z, escapes inside brackets, (?: groups, non-greedy repeats and a
 * leading (?i); RE2's other flags, groups and letter escapes, and escapes
 * POSIX brackets cannot hold, are refused, not matched otherwise (see
 * tests/regex.sh). Returns 0, or -1 with the
 * error (regerror's text; errno EINVAL); RE needs regfree only on success. */
int cp_regcomp(regex_t *re, const char *pattern);

#endif
