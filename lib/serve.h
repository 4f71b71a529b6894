/* cprof serve's HTTP server (libmicrohttpd, a thread per connection): Go's
 * /debug/pprof endpoints and Prometheus' /metrics for the processes it is
 * given, answered from outside them. Access is by bearer token, where one is
 * set, and by process: those given by pid, or owned by a given user. */
#ifndef CPROF_SERVE_H
#define CPROF_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct serve_opts {
	struct sockaddr_storage addr; /* where to listen (serve_parse_listen) */
	socklen_t addrlen;
	const pid_t *pids;            /* processes served by pid, */
	size_t npids;
	const uid_t *uids;            /* and every process of these users */
	size_t nuids;
	const char *token;            /* the bearer token every request must carry; NULL: none */
	int max_seconds;              /* the longest profile a request may ask for */
	unsigned max_connections;     /* connections at once; more wait in the backlog */
	bool heap;                    /* keep a heap session on each process given by pid */
	uint64_t heap_rate;           /* its mean bytes between samples */
	const char *heap_lib;         /* cprof's heap library */
	/* Set (by a signal) to end the profiles in flight early. */
	const volatile sig_atomic_t *stop;
	/* One line per request and per server error, from any thread. */
	void (*log)(const char *line, void *ctx);
	void *ctx;
};

/* Parse "ADDR:PORT" ("127.0.0.1:6060", "[::1]:6060", "localhost:0", or
 * ":6060" for every address) into *SS and *LEN. Returns 0, or -1 with an
 * error. */
int serve_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len);

/* Whether SS is a loopback address (127.0.0.0/8, ::1, or 127/8 mapped in IPv6). */
bool serve_loopback(const struct sockaddr_storage *ss);

struct serve;

/* Check the processes given by pid (each must exist and be traceable by
 * cprof), start their heap sessions if asked, and listen. NULL with an
 * error. */
struct serve *serve_start(const struct serve_opts *o);

/* The port it listens on (the one the kernel chose for port 0). */
unsigned serve_port(const struct serve *s);

/* Stop listening, wait for the requests in flight (profiles end early once
 * *stop is set), end the heap sessions and free S; NULL is ignored. */
void serve_free(struct serve *s);

#endif
