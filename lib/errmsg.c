/* Thread-local last error of lib/: a message and the errno that goes with it,
 * kept together as elfutils' dwfl_error.c keeps its code. */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
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

int cp_regcomp(regex_t *re, const char *pattern)
{
	char msg[256];
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);

	if (!rc)
		return 0;
	regerror(rc, re, msg, sizeof(msg));
	return cp_error_errno(EINVAL, "%s", msg);
}
