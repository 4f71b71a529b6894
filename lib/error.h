/* The library's error channel: lib/ never prints or exits; a failing call
 * returns -1 or NULL and leaves a message here for the caller to report. */
#ifndef CPROF_ERROR_H
#define CPROF_ERROR_H

/* Record a printf-style message as the calling thread's last error and return -1,
 * so a failing function can end with `return cp_error("...")`. */
int cp_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The calling thread's last error message ("" if none). */
const char *cp_errmsg(void);

#endif
