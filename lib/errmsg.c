/* Thread-local last error of lib/: a message and the errno that goes with it,
 * kept together as elfutils' dwfl_error.c keeps its code. */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

static _Thread_local char errbuf[512];
static _Thread_local int errnum;

/* Formatted aside first, so a message may quote the last one (cp_errmsg()). */
static int cp_error_set(int err, const char *fmt, va_list ap)
{
	char buf[sizeof(errbuf)];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	memcpy(errbuf, buf, strlen(buf) + 1);
	errnum = err;
	errno = err;
	return -1;
}

int cp_error(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	cp_error_set(err, fmt, ap);
	va_end(ap);
	return -1;
}

int cp_error_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cp_error_set(err, fmt, ap);
	va_end(ap);
	return -1;
}

const char *cp_errmsg(void)
{
	return errbuf;
}

int cp_errno(void)
{
	return errnum;
}

/* RE2's (Go's, pprof's) classes outside brackets, as POSIX classes. */
static const char *cp_regclass(char c)
{
	switch (c) {
	case 'd': return "[0-9]";
	case 'D': return "[^0-9]";
	case 'w': return "[0-9A-Za-z_]";
	case 'W': return "[^0-9A-Za-z_]";
	case 's': return "[[:space:]]";
	case 'S': return "[^[:space:]]";
	}
	return NULL;
}

/* PATTERN in RE2's syntax as POSIX extended syntax, into BUF: its classes
 * (\d, \w, \s) translated; its flags, non-greedy repeats and other groups
 * refused (-1 with an error) but a leading (?i), into *ICASE. */
static int cp_regtranslate(const char *pattern, char *buf, size_t n, bool *icase)
{
	size_t len = 0;
	bool bracket = false;

	*icase = strncmp(pattern, "(?i)", 4) == 0;
	for (const char *p = pattern + (*icase ? 4 : 0); *p; p++) {
		const char *add = NULL;
		char one[3] = { p[0], 0, 0 };
		if (!bracket && p[0] == '\\' && p[1] && (add = cp_regclass(p[1])))
			p++;
		else if (!bracket && p[0] == '(' && p[1] == '?')
			return cp_error_errno(EINVAL, "'(?' groups and flags are not supported (only a "
					      "leading (?i))");
		else if (!bracket && strchr("*+?}", p[0]) && p[1] == '?')
			return cp_error_errno(EINVAL, "non-greedy repeats ('%c?') are not supported",
					      p[0]);
		if (p[0] == '\\' && p[1] && !add)
			one[1] = *++p;
		else if (p[0] == '[' && !bracket)
			bracket = true;
		else if (p[0] == ']' && bracket && p[-1] != '[' && !(p[-1] == '^' && p[-2] == '['))
			bracket = false;
		if (!add)
			add = one;
		if (len + strlen(add) + 1 > n)
			return cp_error_errno(EINVAL, "too long");
		memcpy(buf + len, add, strlen(add));
		len += strlen(add);
	}
	buf[len] = '\0';
	return 0;
}

int cp_regcomp(regex_t *re, const char *pattern)
{
	char msg[256], buf[4096];
	bool icase;
	int rc;

	if (cp_regtranslate(pattern, buf, sizeof(buf), &icase) < 0)
		return -1;
	rc = regcomp(re, buf, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
	if (!rc)
		return 0;
	regerror(rc, re, msg, sizeof(msg));
	return cp_error_errno(EINVAL, "%s", msg);
}
