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

/* RE2's (Go's, pprof's) class \C outside brackets as a POSIX bracket
 * expression, or (IN) inside one as what goes between its brackets; NULL
 * where there is none (a negated class cannot go inside). */
static const char *cp_regclass(char c, bool in)
{
	switch (c) {
	case 'd': return in ? "0-9" : "[0-9]";
	case 'w': return in ? "0-9A-Za-z_" : "[0-9A-Za-z_]";
	case 's': return in ? "[:space:]" : "[[:space:]]";
	case 'D': return in ? NULL : "[^0-9]";
	case 'W': return in ? NULL : "[^0-9A-Za-z_]";
	case 'S': return in ? NULL : "[^[:space:]]";
	}
	return NULL;
}

/* The POSIX for RE2's escape \C inside brackets, into ONE; NULL (with an
 * error) for what POSIX brackets cannot say so. */
static const char *cp_regescape_in(char c, char *one)
{
	const char *cls = cp_regclass(c, true);

	if (cls)
		return cls;
	if (strchr("DWS]^-", c)) {
		cp_error_errno(EINVAL, "'\\%c' inside brackets is not supported (write ']' first, "
			       "'-' last, '^' not first; negated classes outside brackets)", c);
		return NULL;
	}
	one[0] = c; /* \. is '.', \\ a backslash: POSIX brackets take both as they are */
	one[1] = '\0';
	return one;
}

/* The length of the POSIX class, equivalence class or collating element
 * ("[:alpha:]") at P inside brackets; 0 where there is none. */
static size_t cp_regcollating(const char *p)
{
	const char *end;
	char close[3] = { p[1], ']', 0 };

	if (p[0] != '[' || !p[1] || !strchr(":=.", p[1]) || !(end = strstr(p + 2, close)))
		return 0;
	return (size_t)(end - p) + 2;
}

/* The POSIX for the RE2 at *P outside brackets (advancing *P past what it
 * reads), into ONE: its classes, \A and \z anchors, (?: groups (a group
 * that captures matches the same) and non-greedy repeats (greedy ones match
 * the same strings); NULL (with an error) for its other flags and groups. */
static const char *cp_regout(const char **p, char *one)
{
	const char *s = *p, *add;

	one[0] = s[0];
	one[1] = one[2] = '\0';
	if (s[0] == '\\' && s[1]) {
		*p += 1;
		if ((add = cp_regclass(s[1], false)))
			return add;
		if (s[1] == 'A' || s[1] == 'z')
			return s[1] == 'A' ? "^" : "$";
		one[1] = s[1];
	} else if (s[0] == '(' && s[1] == '?') {
		if (s[2] != ':') {
			cp_error_errno(EINVAL, "'(?' flags and named groups are not supported (only "
				       "(?: and a leading (?i))");
			return NULL;
		}
		*p += 2;
	} else if (strchr("*+?}", s[0]) && s[1] == '?') {
		*p += 1;
	}
	return one;
}

/* PATTERN in RE2's syntax as POSIX extended syntax, into BUF, for matching
 * only (which strings match, not where): see cp_regout and
 * cp_regescape_in; a leading (?i) goes to *ICASE. */
static int cp_regtranslate(const char *pattern, char *buf, size_t n, bool *icase)
{
	size_t len = 0, k;
	const char *open = NULL; /* the '[' of the bracket expression we are in */

	*icase = strncmp(pattern, "(?i)", 4) == 0;
	for (const char *p = pattern + (*icase ? 4 : 0); *p; p++) {
		const char *add;
		char one[3] = { p[0], 0, 0 };
		if (!open) {
			bool opens = p[0] == '[';
			if (!(add = cp_regout(&p, one)))
				return -1;
			if (opens)
				open = p;
		} else if (p[0] == '\\' && p[1]) {
			if (!(add = cp_regescape_in(*++p, one)))
				return -1;
		} else if ((k = cp_regcollating(p))) {
			if (len + k + 1 > n)
				return cp_error_errno(EINVAL, "too long");
			memcpy(buf + len, p, k);
			len += k;
			p += k - 1;
			continue;
		} else {
			/* A ']' first, or after a first '^', is one of the set. */
			if (p[0] == ']' && p - open > 1 && !(p - open == 2 && p[-1] == '^'))
				open = NULL;
			add = one;
		}
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
