/* Pushing windows to Pyroscope: one POST of a gzipped pprof to its
 * documented ingest endpoint, /ingest?name=APP{k=v,...}&from=&until=
 * &format=pprof&spyName=cprof, the profile as the multipart form field
 * "profile" (libcurl), with "sample_type_config" where its defaults would
 * misname the profile. Where the push goes next and what is left over is
 * cprof record's business: the store is the queue. */
#ifndef CPROF_PUSH_H
#define CPROF_PUSH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct push_request {
	const char *url;          /* the server, e.g. http://pyroscope:4040 */
	const char *app;          /* the application name */
	char *const *tags;        /* "k=v" each, as labels */
	size_t ntags;
	char *const *headers;     /* "Name: value" each (X-Scope-OrgID, Authorization) */
	size_t nheaders;
	int64_t from_s, until_s;  /* the window, seconds since the epoch */
	const void *profile;      /* a gzipped pprof */
	size_t len;
	/* Pyroscope's form field "sample_type_config" (JSON: how it names and
	 * counts each sample type), or NULL for its defaults. */
	const char *sample_types;
	int64_t timeout_ns;
	/* Once *STOP is set (NULL: never), a push still going after GRACE_NS
	 * more is abandoned: a server that hangs must not hold up a stop. */
	const volatile sig_atomic_t *stop;
	int64_t grace_ns;
};

/* POST R. Returns 0 when the server took it (2xx), or -1 with an error
 * naming the server's status and first line, or why it was not reached;
 * *STATUS gets the HTTP status (0: no answer). */
int push_send(const struct push_request *r, long *status);

/* The sample_type_config for a window of cprof record's KIND, or NULL where
 * Pyroscope's defaults name it right (cpu and wall: process_cpu and wall;
 * heap: memory). Off-CPU windows are Go's block profile, which its defaults
 * would name mutex. A config given replaces the defaults whole, so it names
 * every sample type of the kind: contentions and delay. */
const char *push_sample_types(const char *kind);

/* The ingest URL of R (without the body), a new string; NULL when out of memory. */
char *push_ingest_url(const struct push_request *r);

#endif
