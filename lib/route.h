/* The requests cprof serve answers: a raw HTTP request target (path and
 * query, as the client sent it) parsed into an endpoint and its parameters,
 * or refused with the HTTP status and one line saying why. Pure: no I/O, so
 * a fuzzer can drive it. */
#ifndef CPROF_ROUTE_H
#define CPROF_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum route_kind {
	ROUTE_REDIRECT, /* to location: "/" and "/debug/pprof" lead to the index */
	ROUTE_INDEX,    /* /debug/pprof/ */
	ROUTE_PROFILE,  /* a CPU profile */
	ROUTE_BLOCK,    /* an off-CPU profile for seconds, as Go's block profile */
	ROUTE_THREADS,  /* threads, and goroutine as Go users ask for it */
	ROUTE_HEAP,     /* heap, and allocs */
	ROUTE_CMDLINE,
	ROUTE_SYMBOL,
	ROUTE_METRICS,  /* Prometheus' /metrics */
};

/* The longest request target taken; longer ones are refused (414). */
#define ROUTE_MAX_TARGET 4096
/* The highest frequency a request may ask for. */
#define ROUTE_MAX_FREQUENCY 1000

struct route {
	enum route_kind kind;
	const char *name;     /* the endpoint as named in the path: "goroutine", "allocs" */
	char location[64];    /* ROUTE_REDIRECT: where to */
	pid_t pid;            /* from pid= or /pid/P/; 0 when neither is given */
	int seconds;          /* 0 when not given */
	unsigned frequency;   /* 0 when not given */
	int debug;            /* 0, 1 or 2 */
};

/* Parse TARGET (LEN bytes, the path and query as sent) into *R, with
 * seconds at most MAX_SECONDS. Returns 200, or the status of the refusal
 * (400 bad parameter, 404 no such endpoint, 414 too long) with one line
 * saying why in WHY (N bytes). Query parameters pprof clients send that
 * cprof has no use for are ignored, as Go's handlers ignore them; of a
 * parameter given twice, the first counts, as in Go. */
int route_parse(const char *target, size_t len, int max_seconds, struct route *r, char *why,
		size_t n);

#endif
