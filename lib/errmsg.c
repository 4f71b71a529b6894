/* Thread-local last error of lib/: a message and the errno that goes with it,
 * kept together as elfutils' dwfl_error.c keeps its code. */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

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
 * where there is none (a negated class cannot go inside). RE2's \s is
 * these five, not POSIX's [:space:], which has \v too. */
static const char *cp_regclass(char c, bool in)
{
	switch (c) {
	case 'd': return in ? "0-9" : "[0-9]";
	case 'w': return in ? "0-9A-Za-z_" : "[0-9A-Za-z_]";
	case 's': return in ? " \t\n\f\r" : "[ \t\n\f\r]";
	case 'D': return in ? NULL : "[^0-9]";
	case 'W': return in ? NULL : "[^0-9A-Za-z_]";
	case 'S': return in ? NULL : "[^ \t\n\f\r]";
	}
	return NULL;
}

/* The POSIX for RE2's escape \C inside brackets (NEXT follows it), into
 * ONE; NULL (with an error) for what POSIX brackets cannot say so. */
static const char *cp_regescape_in(char c, char next, char *one)
{
	const char *cls = cp_regclass(c, true);

	if (cls)
		return cls;
	if (isalnum((unsigned char)c) || strchr("]^-", c) || (c == '[' && strchr(":=.", next))) {
		cp_error_errno(EINVAL, "'\\%c' inside brackets is not supported (write ']' first, "
			       "'-' last, '^' not first; negated classes outside brackets)", c);
		return NULL;
	}
	one[0] = c; /* \. is '.', \\ a backslash: POSIX brackets take both as they are */
	one[1] = '\0';
	return one;
}

/* The length of the POSIX class ("[:alpha:]", as RE2 has them) at P inside
 * brackets; 0 where there is none; -1 (with an error) for a collating
 * element or equivalence class, which RE2 reads as characters of the set. */
static ssize_t cp_regposix(const char *p)
{
	const char *end;

	if (p[0] != '[' || !p[1] || !strchr(":=.", p[1]))
		return 0;
	if (p[1] != ':' || !(end = strstr(p + 2, ":]")))
		return cp_error_errno(EINVAL, "'[%c' inside brackets is not supported", p[1]);
	return end - p + 2;
}

/* Whether the '}' at P (of the pattern that begins at START) closes a
 * repeat {n}, {n,} or {n,m}, as RE2 reads them; else it is a character. */
static bool cp_regrepeat(const char *start, const char *p)
{
	const char *q = p, *comma = NULL;
	size_t slashes = 0;

	while (q > start && (isdigit((unsigned char)q[-1]) || (q[-1] == ',' && !comma)))
		comma = *--q == ',' ? q : comma;
	if (q == start || q[-1] != '{' || q == p || !isdigit((unsigned char)q[0]))
		return false;
	for (const char *b = q - 1; b > start && b[-1] == '\\'; b--)
		slashes++;
	return slashes % 2 == 0;
}

/* The POSIX for the RE2 at *P outside brackets (advancing *P past what it
 * reads; the pattern begins at START), into ONE: its classes, \A and \z,
 * escaped punctuation, (?: groups (a group that captures matches the same)
 * and non-greedy repeats (greedy ones match the same strings); NULL (with
 * an error) for its other escapes, flags and groups. */
static const char *cp_regout(const char *start, const char **p, char *one)
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
		if (isalnum((unsigned char)s[1]) && s[1] != 'b' && s[1] != 'B') {
			cp_error_errno(EINVAL, "'\\%c' is not supported", s[1]);
			return NULL;
		}
		/* Punctuation is itself escaped in RE2; glibc makes \< \> \` \'
		 * anchors, so only what ERE gives a meaning keeps its backslash. */
		if (isalnum((unsigned char)s[1]) || strchr(".[]()*+?{}|^$\\", s[1]))
			one[1] = s[1];
		else
			one[0] = s[1];
	} else if (s[0] == '(' && s[1] == '?') {
		if (s[2] != ':') {
			cp_error_errno(EINVAL, "'(?' flags and named groups are not supported (only "
				       "(?: and a leading (?i))");
			return NULL;
		}
		*p += 2;
	} else if (s[1] == '?' && (strchr("*+?", s[0]) || (s[0] == '}' && cp_regrepeat(start, s)))) {
		*p += 1;
	}
	return one;
}

/* PATTERN in RE2's syntax as POSIX extended syntax, into BUF, for matching
 * only (which strings match, not where): see cp_regout and
 * cp_regescape_in; a leading (?i) goes to *ICASE. */
static int cp_regtranslate(const char *pattern, char *buf, size_t n, bool *icase)
{
	size_t len = 0;
	ssize_t k;
	const char *open = NULL; /* the '[' of the bracket expression we are in */
	const char *start = pattern + (strncmp(pattern, "(?i)", 4) == 0 ? 4 : 0);

	*icase = start != pattern;
	for (const char *p = start; *p; p++) {
		const char *add;
		char one[3] = { p[0], 0, 0 };
		if (!open) {
			bool opens = p[0] == '[';
			if (!(add = cp_regout(start, &p, one)))
				return -1;
			if (opens)
				open = p;
		} else if (p[0] == '\\' && p[1]) {
			if (!(add = cp_regescape_in(p[1], p[2], one)))
				return -1;
			p++;
		} else if ((k = cp_regposix(p)) != 0) {
			if (k < 0)
				return -1;
			if (len + (size_t)k + 1 > n)
				return cp_error_errno(EINVAL, "too long");
			memcpy(buf + len, p, (size_t)k);
			len += (size_t)k;
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
