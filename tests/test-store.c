/* Unit tests of cprof record's store as its readers see it: the times a
 * user gives (a time of day with Z is today in UTC, where the local date may
 * be another), and which windows a selection reads: a range's CPU windows
 * summed, of heap windows only the newest of each process, with their
 * comments after each window's time, name and pid. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pprof.h"
#include "profile.h"
#include "store.h"
#include "test.h"

#define S 1000000000LL

static void test_times(void)
{
	/* 2026-12-06T20:00:00Z: in Tokyo (UTC+9) it is already the 7th. */
	int64_t now = 1796587200LL * S, ns;

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	CHECK(store_parse_time("10:00Z", now, &ns) == 0 && ns == now - 10 * 3600 * S);
	CHECK(store_parse_time("10:00:30Z", now, &ns) == 0 && ns == now - 10 * 3600 * S + 30 * S);
	/* Local 10:00 on the 7th is 01:00Z on the 7th. */
	CHECK(store_parse_time("10:00", now, &ns) == 0 && ns == now + 5 * 3600 * S);
	CHECK(store_parse_time("2026-12-06T10:00Z", now, &ns) == 0 && ns == now - 10 * 3600 * S);
	CHECK(store_parse_time("2026-12-06 19:00", now, &ns) == 0 && ns == now - 10 * 3600 * S);
	CHECK(store_parse_time("now", now, &ns) == 0 && ns == now);
	CHECK(store_parse_time("-90m", now, &ns) == 0 && ns == now - 90 * 60 * S);
	CHECK(store_parse_time("10:00ZZ", now, &ns) < 0);
	CHECK(store_parse_time("10:00 Z", now, &ns) < 0);
	CHECK(store_parse_time("Z", now, &ns) < 0);
	CHECK(store_parse_time("yesterday", now, &ns) < 0);
	CHECK(store_parse_time("-soon", now, &ns) < 0);
	CHECK(store_parse_time("", now, &ns) < 0);
}

/* A profile of one sample of VALUE at a function named FN, with COMMENT. */
static struct profile *one(const char *kind, const char *fn, int64_t value, const char *comment)
{
	struct profile *p = profile_new();
	struct pf_line line = { profile_add_function(p, profile_intern(p, fn), 0, 0, 0), 0 };
	uint64_t loc = (uint64_t)profile_add_location(p, 0, 0x1000, &line, 1, false);

	profile_add_sample_type(p, strcmp(kind, "heap") == 0 ? "inuse_space" : "cpu",
				strcmp(kind, "heap") == 0 ? "bytes" : "nanoseconds");
	profile_add_sample(p, &loc, 1, &value, NULL, 0);
	profile_add_comment(p, comment);
	return p;
}

static void put(struct store *st, const char *kind, pid_t pid, int64_t start, const char *fn,
		int64_t value, const char *comment)
{
	struct store_window w = { .start_ns = start, .duration_ns = S, .pid = pid };
	struct profile *p = one(kind, fn, value, comment);
	void *buf;
	size_t len;

	strcpy(w.name, "api");
	strcpy(w.kind, kind);
	CHECK(pprof_encode(p, &buf, &len) == 0);
	CHECK(store_write(st, &w, buf, len) == 0 && store_commit(st, &w) == 0);
	free(buf);
	profile_free(p);
}

static int64_t total_of(const char *dir, const struct store_select *sel, size_t *n)
{
	struct profile *p = store_read(dir, sel, n);
	int64_t t = p ? profile_total(p, 0) : -1;

	profile_free(p);
	return t;
}

static void test_select(void)
{
	char dir[] = "/tmp/cprof-test-store.XXXXXX";
	int64_t t0 = 1796587200LL * S;
	struct store_window *ws;
	struct store *st;
	struct profile *p;
	size_t n;

	CHECK(mkdtemp(dir) != NULL);
	st = store_open(dir);
	CHECK(st != NULL);
	if (!st)
		return;
	for (int i = 0; i < 4; i++) {
		put(st, "cpu", 10, t0 + i * S, "work", 100, "threads=3");
		put(st, "heap", 10, t0 + i * S, "leak", 1000 * (i + 1), "threads=3");
		put(st, "cpu", 11, t0 + i * S + S / 2, "work", 1, "threads=1");
		put(st, "heap", 11, t0 + i * S + S / 2, "leak", 5, "threads=1");
	}
	store_close(st);
	/* CPU windows add up; heap windows are the newest of each process. */
	CHECK(total_of(dir, &(struct store_select){ 0 }, &n) == 404 && n == 8);
	CHECK(total_of(dir, &(struct store_select){ .kind = "heap" }, &n) == 4005 && n == 2);
	CHECK(total_of(dir, &(struct store_select){ .kind = "heap", .pid = 10 }, &n) == 4000 && n == 1);
	CHECK(total_of(dir, &(struct store_select){ .kind = "heap", .to_ns = t0 + 2 * S }, &n) ==
	      2005 && n == 2);
	CHECK(total_of(dir, &(struct store_select){ .kind = "heap", .from_ns = t0 + 3 * S,
						    .to_ns = t0 + 3 * S + 1 }, &n) == 4000 && n == 1);
	CHECK(total_of(dir, &(struct store_select){ .kind = "heap", .name = "^web$" }, &n) == -1);
	/* store_windows lists every heap window, oldest first, for top's replay. */
	CHECK(store_windows(dir, &(struct store_select){ .kind = "heap" }, &ws, &n) == 0 && n == 8);
	for (size_t i = 0; i + 1 < n; i++)
		CHECK(ws[i].start_ns <= ws[i + 1].start_ns);
	free(ws);
	/* Each window's comments after its time, name and pid. */
	p = store_read(dir, &(struct store_select){ .pid = 11, .to_ns = t0 + 2 * S }, &n);
	CHECK(p && p->ncomments == 2);
	if (p && p->ncomments == 2) {
		CHECK_STR(p->strings[p->comments[0]], "2026-12-06T20:00:00Z api 11 threads=1");
		CHECK_STR(p->strings[p->comments[1]], "2026-12-06T20:00:01Z api 11 threads=1");
	}
	profile_free(p);
	CHECK(system(strcat(strcpy((char[128]){ 0 }, "rm -rf "), dir)) == 0);
}

int main(void)
{
	test_times();
	test_select();
	return test_done("test-store");
}
