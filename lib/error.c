/* Thread-local last-error message for lib/. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

static _Thread_local char errbuf[512];

int cp_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return -1;
}

const char *cp_errmsg(void)
{
	return errbuf;
}
