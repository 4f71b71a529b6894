/* Unit tests of the pprof codec: round trips, foreign ids, and every kind of
 * corrupt input failing cleanly (run under valgrind or ASan to see no errors). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "errmsg.h"
#include "fileio.h"
#include "pprof.h"
#include "proc.h"
#include "profile.pb-c.h"
#include "test.h"

/* IN (LEN bytes) through zlib into OUT (CAP bytes, which must hold it all):
 * compressed into one gzip member at the fastest level, as cprof writes, or
 * inflated from gzip. Returns the bytes that came out. */
static size_t test_zlib(bool compress, const void *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream z = { 0 };
	size_t n;

	if (compress)
		deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	else
		inflateInit2(&z, 31);
	z.next_in = (unsigned char *)in;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	CHECK((compress ? deflate(&z, Z_FINISH) : inflate(&z, Z_FINISH)) == Z_STREAM_END);
	n = z.total_out;
	if (compress)
		deflateEnd(&z);
	else
		inflateEnd(&z);
	return n;
}

static struct profile *sample_profile(void)
{
	struct profile *p = profile_new();
	struct pf_mapping m = {
		.memory_start = 0x400000, .memory_limit = 0x500000, .file_offset = 0x1000,
		.filename = profile_intern(p, "/usr/bin/demo"),
		.build_id = profile_intern(p, "abcdef0123"),
		.has_functions = true, .has_filenames = true, .has_line_numbers = true,
		.has_inline_frames = true,
	};
	uint64_t mid = profile_add_mapping(p, &m);
	uint64_t f_in = profile_add_function(p, profile_intern(p, "inlined"), 0,
					     profile_intern(p, "a.c"), 5);
	uint64_t f_out = profile_add_function(p, profile_intern(p, "outer"),
					      profile_intern(p, "_Z5outerv"),
					      profile_intern(p, "a.c"), 20);
	struct pf_line lines[2] = { { f_in, 7 }, { f_out, 22 } };
	uint64_t l1 = profile_add_location(p, mid, 0x401234, lines, 2, false);
	uint64_t l2 = profile_add_location(p, mid, 0x401300, &lines[1], 1, false);
	uint64_t stack[2] = { l1, l2 };
	struct pf_label labels[2] = {
		{ profile_intern(p, "thread"), profile_intern(p, "worker"), 0, 0 },
		{ profile_intern(p, "tid"), 0, 4242, 0 },
	};
	int64_t v[2] = { 3, 30000000 };

	profile_add_sample_type(p, "samples", "count");
	profile_add_sample_type(p, "cpu", "nanoseconds");
	profile_add_sample(p, stack, 2, v, labels, 2);
	profile_add_sample(p, &l2, 1, v, NULL, 0);
	p->period_type.type = profile_intern(p, "cpu");
	p->period_type.unit = profile_intern(p, "nanoseconds");
	p->period = 10101010;
	p->time_nanos = 1700000000000000000LL;
	p->duration_nanos = 2000000000;
	return p;
}

#define S(p, i) profile_str((p), (i))

static void check_same(const struct profile *a, const struct profile *b)
{
	CHECK(a->nsample_types == b->nsample_types && a->nsamples == b->nsamples);
	CHECK(a->nlocations == b->nlocations && a->nfunctions == b->nfunctions);
	CHECK(a->nmappings == b->nmappings);
	if (a->nsample_types != b->nsample_types || a->nsamples != b->nsamples ||
	    a->nlocations != b->nlocations || a->nfunctions != b->nfunctions ||
	    a->nmappings != b->nmappings)
		return;
	for (size_t i = 0; i < a->nsample_types; i++) {
		CHECK_STR(S(a, a->sample_types[i].type), S(b, b->sample_types[i].type));
		CHECK_STR(S(a, a->sample_types[i].unit), S(b, b->sample_types[i].unit));
	}
	for (size_t i = 0; i < a->nsamples; i++) {
		const struct pf_sample *x = &a->samples[i], *y = &b->samples[i];
		CHECK(x->nlocs == y->nlocs && x->nlabels == y->nlabels);
		for (size_t j = 0; j < x->nlocs && j < y->nlocs; j++)
			CHECK(x->locs[j] == y->locs[j]);
		for (size_t j = 0; j < a->nsample_types; j++)
			CHECK(x->values[j] == y->values[j]);
		for (size_t j = 0; j < x->nlabels && j < y->nlabels; j++) {
			CHECK_STR(S(a, x->labels[j].key), S(b, y->labels[j].key));
			CHECK_STR(S(a, x->labels[j].str), S(b, y->labels[j].str));
			CHECK(x->labels[j].num == y->labels[j].num);
		}
	}
	for (size_t i = 0; i < a->nlocations; i++) {
		const struct pf_location *x = &a->locations[i], *y = &b->locations[i];
		CHECK(x->mapping_id == y->mapping_id && x->address == y->address);
		CHECK(x->nlines == y->nlines);
		for (size_t j = 0; j < x->nlines && j < y->nlines; j++)
			CHECK(x->lines[j].function_id == y->lines[j].function_id &&
			      x->lines[j].line == y->lines[j].line);
	}
	for (size_t i = 0; i < a->nfunctions; i++) {
		CHECK_STR(S(a, a->functions[i].name), S(b, b->functions[i].name));
		CHECK_STR(S(a, a->functions[i].system_name), S(b, b->functions[i].system_name));
		CHECK_STR(S(a, a->functions[i].filename), S(b, b->functions[i].filename));
		CHECK(a->functions[i].start_line == b->functions[i].start_line);
	}
	for (size_t i = 0; i < a->nmappings; i++) {
		const struct pf_mapping *x = &a->mappings[i], *y = &b->mappings[i];
		CHECK(x->memory_start == y->memory_start && x->memory_limit == y->memory_limit);
		CHECK(x->file_offset == y->file_offset);
		CHECK_STR(S(a, x->filename), S(b, y->filename));
		CHECK_STR(S(a, x->build_id), S(b, y->build_id));
		CHECK(x->has_functions == y->has_functions && x->has_inline_frames == y->has_inline_frames);
	}
	CHECK(a->period == b->period && a->time_nanos == b->time_nanos);
	CHECK(a->duration_nanos == b->duration_nanos);
	CHECK_STR(S(a, a->period_type.type), S(b, b->period_type.type));
}

static void test_round_trip(void)
{
	struct profile *p = sample_profile(), *q = NULL, *r = NULL;
	void *buf = NULL;
	unsigned char *plain = NULL;
	size_t len = 0;
	uLongf plen = 1 << 20;

	CHECK(pprof_encode(p, &buf, &len) == 0);
	CHECK(len > 2 && ((unsigned char *)buf)[0] == 0x1f);
	q = pprof_decode(buf, len);
	CHECK(q != NULL);
	if (q)
		check_same(p, q);

	/* The same bytes without gzip decode alike. */
	plain = malloc(plen);
	plen = test_zlib(false, buf, len, plain, plen);
	r = pprof_decode(plain, plen);
	CHECK(r != NULL);
	if (r)
		check_same(p, r);

	/* Truncated gzip, at every length, fails and says so. */
	for (size_t cut = 0; cut < len; cut += 7) {
		struct profile *t = pprof_decode(buf, cut);
		CHECK(t == NULL);
		profile_free(t);
	}
	{
		struct profile *t = pprof_decode(buf, len - 9);
		CHECK(t == NULL && strstr(cp_errmsg(), "truncated") != NULL);
	}
	/* Truncated plain protobuf fails too (a cut inside a field). */
	{
		struct profile *t = pprof_decode(plain, plen - 3);
		CHECK(t == NULL);
		profile_free(t);
	}
	free(plain);
	free(buf);
	profile_free(p);
	profile_free(q);
	profile_free(r);
}

/* A profile made with protobuf-c directly, with sparse ids, as other tools write. */
static void *foreign(size_t *len, int corruption)
{
	Perftools__Profiles__Profile pb = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, *vtp = &vt;
	Perftools__Profiles__Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT, *fnp = &fn;
	Perftools__Profiles__Line ln = PERFTOOLS__PROFILES__LINE__INIT, *lnp = &ln;
	Perftools__Profiles__Location lo = PERFTOOLS__PROFILES__LOCATION__INIT, *lop = &lo;
	Perftools__Profiles__Sample sa = PERFTOOLS__PROFILES__SAMPLE__INIT, *sap = &sa;
	ProtobufCBinaryData strs[4] = {
		{ 0, (uint8_t *)"" }, { 5, (uint8_t *)"alloc" }, { 5, (uint8_t *)"bytes" },
		{ 4, (uint8_t *)"main" },
	};
	uint64_t locid = 1000;
	int64_t value = 77;
	void *buf;

	vt.type = 1;
	vt.unit = 2;
	fn.id = 555;
	fn.name = 3;
	ln.function_id = 555;
	ln.line = 9;
	lo.id = 1000;
	lo.n_line = 1;
	lo.line = &lnp;
	sa.n_location_id = 1;
	sa.location_id = &locid;
	sa.n_value = 1;
	sa.value = &value;
	pb.n_sample_type = 1;
	pb.sample_type = &vtp;
	pb.n_function = 1;
	pb.function = &fnp;
	pb.n_location = 1;
	pb.location = &lop;
	pb.n_sample = 1;
	pb.sample = &sap;
	pb.n_string_table = 4;
	pb.string_table = strs;
	switch (corruption) {
	case 1: fn.name = 99; break;             /* string index out of range */
	case 2: locid = 7; break;                /* sample names a missing location */
	case 3: ln.function_id = 8; break;       /* location names a missing function */
	case 4: sa.n_value = 0; break;           /* value count mismatch */
	case 5: strs[0] = strs[1]; break;        /* string table does not start with "" */
	case 6: lo.mapping_id = 3; break;        /* missing mapping */
	case 7: fn.id = 0; ln.function_id = 0; break; /* id 0 */
	case 8: vt.unit = -1; break;             /* negative string index */
	}
	*len = perftools__profiles__profile__get_packed_size(&pb);
	buf = malloc(*len);
	perftools__profiles__profile__pack(&pb, buf);
	return buf;
}

static void test_foreign(void)
{
	size_t len;
	void *buf = foreign(&len, 0);
	struct profile *p = pprof_decode(buf, len);

	free(buf);
	CHECK(p != NULL);
	if (p) {
		CHECK(p->nsamples == 1 && p->samples[0].values[0] == 77);
		CHECK(p->nlocations == 1 && p->samples[0].locs[0] == 1);
		CHECK(p->locations[0].lines[0].function_id == 1);
		CHECK_STR(profile_str(p, p->functions[0].name), "main");
		CHECK_STR(profile_str(p, p->sample_types[0].unit), "bytes");
	}
	profile_free(p);
	for (int c = 1; c <= 8; c++) {
		buf = foreign(&len, c);
		p = pprof_decode(buf, len);
		free(buf);
		CHECK(p == NULL);
		if (p)
			fprintf(stderr, "corruption %d was accepted\n", c);
		CHECK(*cp_errmsg() != '\0');
		profile_free(p);
	}
}

static void test_garbage(void)
{
	unsigned char buf[4096];
	struct profile *p;
	void *good;
	size_t len;

	CHECK(pprof_decode("", 0) == NULL && strstr(cp_errmsg(), "empty") != NULL);
	srand(12345);
	for (int i = 0; i < 2000; i++) {
		size_t n = 1 + rand() % sizeof(buf);
		for (size_t j = 0; j < n; j++)
			buf[j] = rand();
		if (i % 2) {
			buf[0] = 0x1f;
			buf[1] = 0x8b;
		}
		p = pprof_decode(buf, n);
		profile_free(p);
	}
	/* Mutations of a valid profile: whatever they decode to, no crash. */
	good = foreign(&len, 0);
	for (int i = 0; i < 5000; i++) {
		memcpy(buf, good, len);
		for (int k = 0; k < 1 + i % 4; k++)
			buf[rand() % len] = rand();
		p = pprof_decode(buf, len);
		profile_free(p);
	}
	free(good);
	CHECK(1);
}

static void test_files(void)
{
	char dir[] = "/tmp/cprof-test-XXXXXX", path[256], bad[300];
	struct profile *p = sample_profile(), *q;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/out.pb.gz", dir);
	CHECK(pprof_write(p, path) == 0);
	q = pprof_read(path);
	CHECK(q != NULL);
	if (q)
		check_same(p, q);
	profile_free(q);
	snprintf(bad, sizeof(bad), "%s/no/such/dir/x.pb.gz", dir);
	CHECK(pprof_write(p, bad) < 0 && strstr(cp_errmsg(), bad) != NULL);
	CHECK(pprof_read(bad) == NULL && strstr(cp_errmsg(), "No such file") != NULL);
	CHECK(pprof_read(dir) == NULL && strstr(cp_errmsg(), "directory") != NULL);
	remove(path);
	CHECK(rmdir(dir) == 0); /* no temporary file left behind */
	profile_free(p);
}

/* file_read_fd, which pprof_read and lib/proc.c's /proc reads share: a pipe
 * fed by a child in small writes, over several of its 64 KiB chunks, comes
 * back whole and NUL-terminated; this process's maps, read through it, hold
 * this function. */
static void test_read_fd(void)
{
	size_t want = 3 * 65536 + 123;
	const struct proc_map *here;
	struct proc_maps m;
	char *buf = NULL;
	ssize_t n;
	int fds[2];
	pid_t child;
	bool same = true;

	CHECK(pipe(fds) == 0);
	child = fork();
	if (child == 0) {
		char chunk[1000];

		close(fds[0]);
		for (size_t at = 0; at < want; at += sizeof(chunk)) {
			size_t k = want - at < sizeof(chunk) ? want - at : sizeof(chunk);

			for (size_t i = 0; i < k; i++)
				chunk[i] = 'a' + (at + i) % 23;
			if (write(fds[1], chunk, k) != (ssize_t)k)
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	n = file_read_fd(fds[0], &buf);
	close(fds[0]);
	CHECK(child > 0 && waitpid(child, NULL, 0) == child);
	CHECK(n == (ssize_t)want);
	for (ssize_t i = 0; buf && i < n; i++)
		same = same && buf[i] == 'a' + i % 23;
	CHECK(same && buf && buf[n] == '\0');
	free(buf);
	CHECK(file_read_fd(-1, &buf) == -1 && errno == EBADF);

	CHECK(proc_maps_read(&m, getpid()) == 0);
	here = proc_maps_find(&m, (uintptr_t)test_read_fd);
	CHECK(here && here->x);
	proc_maps_release(&m);
}

static void test_fixtures(void)
{
	const char *src = getenv("top_srcdir");
	char path[4096];
	struct profile *p;

	snprintf(path, sizeof(path), "%s/tests/fixtures/go-heap.pb.gz", src ? src : ".");
	p = pprof_read(path);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(p->nsample_types == 4);
	CHECK(profile_sample_index(p, "inuse_space") == 3);
	CHECK(p->nsamples > 0 && p->nlocations > 0 && p->nfunctions > 0);
	profile_free(p);
}

/* The main executable's mapping is written first, whatever its id, and the
 * locations keep their mappings. */
static void test_main_first(void)
{
	struct profile *p = profile_new(), *q;
	struct pf_mapping lib = { .memory_start = 0x7f0000, .memory_limit = 0x7f1000,
				  .filename = profile_intern(p, "/lib/libc.so.6") };
	struct pf_mapping exe = { .memory_start = 0x400000, .memory_limit = 0x401000,
				  .filename = profile_intern(p, "/usr/bin/app") };
	struct pf_mapping ld = { .memory_start = 0x7f2000, .memory_limit = 0x7f3000,
				 .filename = profile_intern(p, "/lib/ld.so") };
	uint64_t l1 = profile_add_mapping(p, &lib), e = profile_add_mapping(p, &exe);
	uint64_t l2 = profile_add_mapping(p, &ld);
	uint64_t stack[3] = { profile_add_location(p, l1, 0x7f0010, NULL, 0, false),
			      profile_add_location(p, e, 0x400010, NULL, 0, false),
			      profile_add_location(p, l2, 0x7f2010, NULL, 0, false) };
	int64_t v = 1;
	void *buf;
	size_t len;

	profile_add_sample_type(p, "samples", "count");
	profile_add_sample(p, stack, 3, &v, NULL, 0);
	p->main_mapping = e;
	CHECK(pprof_encode(p, &buf, &len) == 0);
	q = pprof_decode(buf, len);
	CHECK(q != NULL && q->nmappings == 3);
	if (q && q->nmappings == 3) {
		CHECK_STR(S(q, q->mappings[0].filename), "/usr/bin/app");
		CHECK_STR(S(q, q->mappings[1].filename), "/lib/libc.so.6");
		CHECK_STR(S(q, q->mappings[2].filename), "/lib/ld.so");
		for (size_t i = 0; i < 3; i++) {
			const struct pf_location *l = &q->locations[q->samples[0].locs[i] - 1];
			CHECK(l->address >= q->mappings[l->mapping_id - 1].memory_start &&
			      l->address < q->mappings[l->mapping_id - 1].memory_limit);
		}
	}
	free(buf);
	profile_free(q);
	profile_free(p);
}

/* A gzip member of MIB MiB of zeros, made without compressing them all: one
 * MiB deflated with a full flush (so it stands alone) repeated. ISIZE: the
 * size the trailer gives. */
static unsigned char *bomb(size_t mib, uint32_t isize, size_t *len)
{
	static const unsigned char head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	unsigned char *zeros = calloc(1, 1 << 20), chunk[4096], end[64], *b, *at;
	z_stream z = { 0 };
	size_t nchunk, nend;
	uLong crc1 = crc32(0, zeros, 1 << 20), crc = 0;

	deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
	z.next_in = zeros;
	z.avail_in = 1 << 20;
	z.next_out = chunk;
	z.avail_out = sizeof(chunk);
	deflate(&z, Z_FULL_FLUSH);
	nchunk = sizeof(chunk) - z.avail_out;
	z.next_out = end;
	z.avail_out = sizeof(end);
	deflate(&z, Z_FINISH);
	nend = sizeof(end) - z.avail_out;
	deflateEnd(&z);
	*len = sizeof(head) + mib * nchunk + nend + 8;
	at = b = malloc(*len);
	memcpy(at, head, sizeof(head));
	at += sizeof(head);
	for (size_t i = 0; i < mib; i++, at += nchunk) {
		memcpy(at, chunk, nchunk);
		crc = i ? crc32_combine(crc, crc1, 1 << 20) : crc1;
	}
	memcpy(at, end, nend);
	at += nend;
	for (int i = 0; i < 4; i++)
		at[i] = crc >> (8 * i);
	for (int i = 0; i < 4; i++)
		at[4 + i] = isize >> (8 * i);
	free(zeros);
	return b;
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Gzip bombs are refused once they inflated past the limit, counted in a
 * small buffer, never held, whatever their trailer says. */
static void test_bomb(void)
{
	size_t len;
	unsigned char *b = bomb(2048, 0x80000000u, &len);
	long rss = max_rss_kb();
	double t = now();
	struct profile *p;
	void *good;
	size_t glen;

	unsetenv("CPROF_MAX_PROFILE_SIZE");
	CHECK(len < 4 << 20);
	p = pprof_decode(b, len);
	CHECK(p == NULL);
	CHECK(strstr(cp_errmsg(), "inflates to more than the 1 GiB a profile may take") != NULL);
	CHECK(strstr(cp_errmsg(), "CPROF_MAX_PROFILE_SIZE") != NULL);
	printf("a 2 GiB bomb (%zu bytes) refused in %.2f s\n", len, now() - t);
	/* The same with a trailer that says 0 bytes, or 64 MiB, under a
	 * limit of 64 MiB (quicker to reach). */
	setenv("CPROF_MAX_PROFILE_SIZE", "64M", 1);
	memset(b + len - 4, 0, 4);
	p = pprof_decode(b, len);
	CHECK(p == NULL && strstr(cp_errmsg(), "inflates to more than the 64 MiB") != NULL);
	b[len - 1] = 0x04;
	p = pprof_decode(b, len);
	CHECK(p == NULL && strstr(cp_errmsg(), "inflates to more than the 64 MiB") != NULL);
	CHECK(max_rss_kb() - rss < 100 * 1024);
	if (max_rss_kb() - rss >= 100 * 1024)
		fprintf(stderr, "the bombs took %ld KiB\n", max_rss_kb() - rss);
	free(b);

	/* A lower limit from the environment; a profile under it reads. */
	setenv("CPROF_MAX_PROFILE_SIZE", "1M", 1);
	b = bomb(2, 2 << 20, &len);
	CHECK(pprof_decode(b, len) == NULL && strstr(cp_errmsg(), "more than the 1 MiB") != NULL);
	free(b);
	p = sample_profile();
	CHECK(pprof_encode(p, &good, &glen) == 0);
	profile_free(p);
	p = pprof_decode(good, glen);
	CHECK(p != NULL);
	profile_free(p);
	setenv("CPROF_MAX_PROFILE_SIZE", "12x", 1);
	CHECK(pprof_decode(good, glen) == NULL &&
	      strstr(cp_errmsg(), "CPROF_MAX_PROFILE_SIZE='12x' is not a size") != NULL);
	unsetenv("CPROF_MAX_PROFILE_SIZE");
	free(good);
}

/* A profile in two gzip members, the last one small: inflated by counting
 * first, then whole. */
static void test_members(void)
{
	struct profile *p = sample_profile(), *q;
	unsigned char *raw, *two;
	void *buf;
	size_t len, rawlen, n = 0;
	int64_t v[2] = { 1, 2 };

	for (int i = 0; i < 2000; i++) {
		struct pf_label l = { profile_intern(p, "tid"), 0, i, 0 };
		uint64_t loc = 1;
		profile_add_sample(p, &loc, 1, v, &l, 1);
	}
	CHECK(pprof_encode(p, &buf, &len) == 0);
	rawlen = 1 << 22;
	raw = malloc(rawlen);
	rawlen = test_zlib(false, buf, len, raw, rawlen);
	CHECK(rawlen > 8192);
	two = malloc(2 * rawlen + 256);
	for (int m = 0; m < 2; m++) {
		size_t from = m ? rawlen - 100 : 0, to = m ? rawlen : rawlen - 100;

		n += test_zlib(true, raw + from, to - from, two + n, 2 * rawlen + 256 - n);
	}
	q = pprof_decode(two, n);
	CHECK(q != NULL);
	if (q)
		check_same(p, q);
	profile_free(q);
	profile_free(p);
	free(two);
	free(raw);
	free(buf);
}

/* What is no protobuf is read as the legacy formats (tests/test-legacy.c
 * checks their numbers), gzipped too; text in none of them says so, and
 * binary garbage stays a malformed protobuf. */
static void test_legacy(void)
{
	static const char goroutines[] =
		"goroutine profile: total 2\n2 @ 0x43b8d6 0x44c2b1\n#\t0x43b8d5\truntime.gopark+0x115\n";
	static const char heap[] =
		"heap profile:   1:   100 [   1:   100] @ heapprofile\n   1:   100 [   1:   100] @ 0x4\n";
	unsigned char cpu[48] = { [8] = 3, [24] = 100 };
	struct profile *p;
	void *gz;
	size_t len;

	p = pprof_decode(goroutines, sizeof(goroutines) - 1);
	CHECK(p && p->nsamples == 1 && p->nsample_types == 1);
	if (p)
		CHECK_STR(profile_str(p, p->sample_types[0].type), "goroutine");
	profile_free(p);
	p = pprof_decode(heap, sizeof(heap) - 1);
	CHECK(p && p->nsample_types == 2 && profile_total(p, 1) == 100);
	profile_free(p);
	gz = malloc(1024);
	len = test_zlib(true, goroutines, sizeof(goroutines) - 1, gz, 1024);
	p = pprof_decode(gz, len);
	CHECK(p && p->nsamples == 1);
	profile_free(p);
	free(gz);
	/* A CPU profile cut inside its samples. */
	CHECK(pprof_decode(cpu, sizeof(cpu)) == NULL);
	CHECK(strstr(cp_errmsg(), "corrupt gperftools CPU profile: truncated") != NULL);
	CHECK(pprof_decode("hello, world\n", 13) == NULL);
	CHECK(strstr(cp_errmsg(), "not a pprof protobuf profile, nor text in a legacy format") != NULL);
	CHECK(pprof_decode("\x07\x01\x02", 3) == NULL);
	CHECK(strstr(cp_errmsg(), "malformed protobuf") != NULL);
}

int main(void)
{
	test_round_trip();
	test_foreign();
	test_garbage();
	test_files();
	test_read_fd();
	test_fixtures();
	test_main_first();
	test_members();
	test_legacy();
	test_bomb();
	return test_done("test-pprof");
}
