/* Parsing of cprof serve's request targets: Go's /debug/pprof tree, the same
 * tree under /pid/P/ for scrapers with fixed paths, and /metrics. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

struct route_endpoint {
	const char *name;
	enum route_kind kind;
};

static const struct route_endpoint route_endpoints[] = {
	{ "profile", ROUTE_PROFILE },
	{ "block", ROUTE_BLOCK },
	{ "threads", ROUTE_THREADS },
	{ "goroutine", ROUTE_THREADS },
	{ "heap", ROUTE_HEAP },
	{ "allocs", ROUTE_HEAP },
	{ "cmdline", ROUTE_CMDLINE },
	{ "symbol", ROUTE_SYMBOL },
};

static int route_refuse(int status, char *why, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int route_refuse(int status, char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return status;
}

static int route_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode S[0..LEN) into OUT (at least LEN + 1 bytes), '+' as a space
 * where PLUS (a query). Returns 0, or -1 for a bad escape or a NUL. */
static int route_unescape(const char *s, size_t len, bool plus, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = route_hex(s[i + 1]);
			lo = hi < 0 ? -1 : route_hex(s[i + 2]);
			if (lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0')
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* A whole number of at most 9 digits from MIN to MAX, or -1. */
static long route_number(const char *s, long min, long max)
{
	long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return i == 0 || v < min || v > max ? -1 : v;
}

/* Match the part of PATH after the pprof tree's "/debug/pprof". */
static int route_pprof_path(const char *rest, struct route *r, char *why, size_t n)
{
	if (rest[0] == '\0') {
		r->kind = ROUTE_REDIRECT;
		if (r->pid)
			snprintf(r->location, sizeof(r->location), "/pid/%d/debug/pprof/", (int)r->pid);
		else
			strcpy(r->location, "/debug/pprof/");
		return 200;
	}
	if (strcmp(rest, "/") == 0) {
		r->kind = ROUTE_INDEX;
		return 200;
	}
	for (size_t i = 0; i < sizeof(route_endpoints) / sizeof(*route_endpoints); i++)
		if (rest[0] == '/' && strcmp(rest + 1, route_endpoints[i].name) == 0) {
			r->kind = route_endpoints[i].kind;
			r->name = route_endpoints[i].name;
			return 200;
		}
	return route_refuse(404, why, n, "unknown profile: cprof serves profile, threads (goroutine), "
			    "heap (allocs), cmdline and symbol");
}

static int route_path(const char *path, struct route *r, char *why, size_t n)
{
	static const char pprof[] = "/debug/pprof";
	const char *rest = path;

	if (strcmp(path, "/") == 0) {
		r->kind = ROUTE_REDIRECT;
		strcpy(r->location, "/debug/pprof/");
		return 200;
	}
	if (strcmp(path, "/metrics") == 0) {
		r->kind = ROUTE_METRICS;
		r->name = "metrics";
		return 200;
	}
	if (strncmp(path, "/pid/", 5) == 0) {
		const char *slash = strchr(path + 5, '/');
		char digits[16];
		long pid;

		if (!slash || (size_t)(slash - path - 5) >= sizeof(digits))
			return route_refuse(404, why, n, "no such path: /pid/ takes a process id");
		memcpy(digits, path + 5, slash - path - 5);
		digits[slash - path - 5] = '\0';
		pid = route_number(digits, 1, 0x3fffffff);
		if (pid < 0)
			return route_refuse(404, why, n, "no such path: /pid/ takes a process id");
		r->pid = (pid_t)pid;
		rest = slash;
	}
	if (strncmp(rest, pprof, sizeof(pprof) - 1) != 0)
		return route_refuse(404, why, n, "no such path: cprof serves /debug/pprof/ and /metrics");
	return route_pprof_path(rest + sizeof(pprof) - 1, r, why, n);
}

/* Apply one query parameter KEY=VALUE (decoded) to R; SEEN marks those set. */
static int route_param(const char *key, const char *value, int max_seconds, struct route *r,
		       unsigned *seen, char *why, size_t n)
{
	static const char *const keys[] = { "pid", "seconds", "frequency", "debug" };
	unsigned k;
	long v;

	for (k = 0; k < sizeof(keys) / sizeof(*keys); k++)
		if (strcmp(key, keys[k]) == 0)
			break;
	if (k == sizeof(keys) / sizeof(*keys) || (*seen & (1u << k)))
		return 200;
	*seen |= 1u << k;
	switch (k) {
	case 0:
		v = route_number(value, 1, 0x3fffffff);
		if (v < 0)
			return route_refuse(400, why, n, "bad pid '%.32s': a process id", value);
		if (r->pid && r->pid != v)
			return route_refuse(400, why, n, "pid=%ld contradicts the path's /pid/%d/", v,
					    (int)r->pid);
		r->pid = (pid_t)v;
		break;
	case 1:
		v = route_number(value, 1, max_seconds);
		if (v < 0)
			return route_refuse(400, why, n, "bad seconds '%.32s': a whole number from 1 "
					    "to %d (serve --max-seconds)", value, max_seconds);
		r->seconds = (int)v;
		break;
	case 2:
		v = route_number(value, 1, ROUTE_MAX_FREQUENCY);
		if (v < 0)
			return route_refuse(400, why, n, "bad frequency '%.32s': samples per second "
					    "from 1 to %d", value, ROUTE_MAX_FREQUENCY);
		r->frequency = (unsigned)v;
		break;
	default:
		v = route_number(value, 0, 2);
		if (v < 0)
			return route_refuse(400, why, n, "bad debug '%.32s': 0 (pprof), 1 (text "
					    "grouped by stack) or 2 (text, each thread)", value);
		r->debug = (int)v;
		break;
	}
	return 200;
}

int route_parse(const char *target, size_t len, int max_seconds, struct route *r, char *why,
		size_t n)
{
	char buf[ROUTE_MAX_TARGET + 1], key[ROUTE_MAX_TARGET + 1];
	const char *q, *end = target + len;
	unsigned seen = 0;
	int status;

	memset(r, 0, sizeof(*r));
	if (len > ROUTE_MAX_TARGET)
		return route_refuse(414, why, n, "request target longer than %d bytes",
				    ROUTE_MAX_TARGET);
	if (len == 0 || target[0] != '/')
		return route_refuse(400, why, n, "request target is not a path");
	q = memchr(target, '?', len);
	if (route_unescape(target, (q ? q : end) - target, false, buf) < 0)
		return route_refuse(400, why, n, "bad escape in the path");
	status = route_path(buf, r, why, n);
	if (status != 200)
		return status;
	while (q && q < end) {
		const char *p = q + 1, *amp = memchr(p, '&', end - p), *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', stop - p);
		const char *kend = eq ? eq : stop;
		char *value = buf;

		if (route_unescape(p, kend - p, true, key) < 0 ||
		    route_unescape(eq ? eq + 1 : stop, eq ? stop - eq - 1 : 0, true, value) < 0)
			return route_refuse(400, why, n, "bad escape in the query");
		status = route_param(key, value, max_seconds, r, &seen, why, n);
		if (status != 200)
			return status;
		q = amp;
	}
	return 200;
}
