/* Profiles over HTTP: a URL wherever a profile is read, fetched with libcurl
 * as go tool pprof fetches one (its timeout rule, redirects followed, an
 * error status reported with the server's message). */
#ifndef CPROF_FETCH_H
#define CPROF_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most a fetch takes: a body larger than this is refused. */
#define FETCH_MAX_BYTES (1024LL * 1024 * 1024)

/* Does S name an http:// or https:// URL (rather than a file)? */
bool fetch_is_url(const char *s);

/* go tool pprof's timeout for URL: 1.5 times its seconds= parameter, or 60
 * seconds without one. */
int64_t fetch_timeout_ns(const char *url);

/* Start libcurl once for the process (its global init is not thread-safe).
 * Returns 0, or -1 with an error. */
int fetch_init_global(void);

/* GET URL into a new buffer *BUF of *LEN bytes within TIMEOUT_NS. Returns
 * 0, or -1 with an error naming URL: the transfer's failure, or the HTTP
 * status and the first line of what the server said. */
int fetch_url(const char *url, int64_t timeout_ns, char **buf, size_t *len);

#endif
