/* Unit tests of cprof serve's request parser and of the metrics writer:
 * each endpoint and parameter as Go's clients send them, each refusal with
 * its status, and label values that would break the exposition format. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "route.h"
#include "test.h"

static int parse(const char *target, struct route *r)
{
	char why[256];

	return route_parse(target, strlen(target), 60, r, why, sizeof(why));
}

static void test_endpoints(void)
{
	struct route r;

	CHECK(parse("/debug/pprof/profile?seconds=5&frequency=199", &r) == 200);
	CHECK(r.kind == ROUTE_PROFILE && r.seconds == 5 && r.frequency == 199 && r.pid == 0);
	CHECK(parse("/debug/pprof/block?seconds=3", &r) == 200);
	CHECK(r.kind == ROUTE_BLOCK && r.seconds == 3);
	CHECK(parse("/debug/pprof/goroutine?debug=2&pid=42", &r) == 200);
	CHECK(r.kind == ROUTE_THREADS && r.debug == 2 && r.pid == 42);
	CHECK_STR(r.name, "goroutine");
	CHECK(parse("/pid/42/debug/pprof/threads?debug=1", &r) == 200);
	CHECK(r.kind == ROUTE_THREADS && r.pid == 42 && r.debug == 1);
	CHECK(parse("/pid/42/debug/pprof/heap?pid=42&gc=1", &r) == 200);
	CHECK(r.kind == ROUTE_HEAP && r.pid == 42);
	CHECK(parse("/debug/pprof/allocs", &r) == 200 && r.kind == ROUTE_HEAP);
	CHECK_STR(r.name, "allocs");
	CHECK(parse("/debug/pprof/cmdline", &r) == 200 && r.kind == ROUTE_CMDLINE);
	CHECK(parse("/debug/pprof/symbol", &r) == 200 && r.kind == ROUTE_SYMBOL);
	CHECK(parse("/metrics", &r) == 200 && r.kind == ROUTE_METRICS);
	CHECK(parse("/debug/pprof/", &r) == 200 && r.kind == ROUTE_INDEX);
	CHECK(parse("/debug/pprof", &r) == 200 && r.kind == ROUTE_REDIRECT);
	CHECK_STR(r.location, "/debug/pprof/");
	CHECK(parse("/pid/7/debug/pprof", &r) == 200 && r.kind == ROUTE_REDIRECT);
	CHECK_STR(r.location, "/pid/7/debug/pprof/");
	CHECK(parse("/", &r) == 200 && r.kind == ROUTE_REDIRECT);
	/* Escapes decoded, in the path and the query; the first of a pair counts. */
	CHECK(parse("/debug/pprof/%70rofile?second%73=%33&seconds=9", &r) == 200);
	CHECK(r.kind == ROUTE_PROFILE && r.seconds == 3);
	/* Parameters cprof has no use for are ignored, as Go's handlers do. */
	CHECK(parse("/debug/pprof/heap?gc=1&x=y&&=", &r) == 200);
}

static void test_refusals(void)
{
	struct route r;

	CHECK(parse("/debug/pprof/profile?seconds=61", &r) == 400);
	CHECK(parse("/debug/pprof/profile?seconds=0", &r) == 400);
	CHECK(parse("/debug/pprof/profile?seconds=-1", &r) == 400);
	CHECK(parse("/debug/pprof/profile?seconds=1.5", &r) == 400);
	CHECK(parse("/debug/pprof/profile?seconds=99999999999", &r) == 400);
	CHECK(parse("/debug/pprof/profile?frequency=1001", &r) == 400);
	CHECK(parse("/debug/pprof/threads?debug=3", &r) == 400);
	CHECK(parse("/debug/pprof/threads?pid=0", &r) == 400);
	CHECK(parse("/debug/pprof/threads?pid=%00", &r) == 400);
	CHECK(parse("/debug/pprof/threads?pid=%4", &r) == 400);
	CHECK(parse("/pid/5/debug/pprof/threads?pid=6", &r) == 400);
	CHECK(parse("/debug/pprof/trace", &r) == 404);
	CHECK(parse("/debug/pprof/profile/", &r) == 404);
	CHECK(parse("/pid/x/debug/pprof/", &r) == 404);
	CHECK(parse("/pid//debug/pprof/", &r) == 404);
	CHECK(parse("/pid/5", &r) == 404);
	CHECK(parse("/metrics/", &r) == 404);
	CHECK(parse("/debug/pprofx", &r) == 404);
	CHECK(parse("*", &r) == 400);
	CHECK(parse("", &r) == 400);
	{
		char *big = malloc(ROUTE_MAX_TARGET + 2);

		memset(big, 'a', ROUTE_MAX_TARGET + 1);
		big[0] = '/';
		big[ROUTE_MAX_TARGET + 1] = '\0';
		CHECK(parse(big, &r) == 414);
		free(big);
	}
}

static void test_metrics(void)
{
	struct metrics_proc m = { .pid = 7, .threads = 3, .open_fds = -1, .max_fds = INFINITY };
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	strcpy(m.comm, "a\"b\\c\nd\xff");
	CHECK(metrics_write(f, &m, 1) == 0);
	fclose(f);
	CHECK(strstr(buf, "process_threads{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} 3\n") != NULL);
	CHECK(strstr(buf, "process_max_fds{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} +Inf\n") != NULL);
	/* Nothing is said of what could not be read, nor of a heap not sampled. */
	CHECK(strstr(buf, "process_open_fds") == NULL);
	CHECK(strstr(buf, "cprof_heap") == NULL);
	CHECK(strstr(buf, "# TYPE process_cpu_seconds_total counter\n") != NULL);
	free(buf);
}

int main(void)
{
	test_endpoints();
	test_refusals();
	test_metrics();
	return test_done("test-route");
}
