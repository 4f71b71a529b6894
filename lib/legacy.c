/* The legacy profile formats go tool pprof reads; see legacy.h. Each parser
 * accepts what pprof's accepts and gives the numbers pprof gives (sample
 * types, unsampling, the addresses less one, the mappings and their
 * heuristics), with two differences a user is better off for: the "#" lines
 * of Go's text profiles name their addresses (pprof skips them as
 * comments, and shows bare addresses without the binary), and a count line
 * with no address ("4 @", what Go writes for threadcreate) is a sample with
 * an empty stack where pprof refuses the file. Where pprof would read a
 * half-written sample of a truncated CPU profile as zeros, cprof refuses it.
 *
 * Parsing is in two passes: the samples' addresses, values and "#" lines
 * are gathered first, since the mappings come at the end of the file, then
 * the profile is built from them: the locations named (by the "#" lines,
 * or with LEGACY_SYMBOLIZE from the mapped files), then the stacks cut
 * where pprof cuts them, which takes the names. */
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrspace.h"
#include "errmsg.h"
#include "grow.h"
#include "legacy.h"
#include "prune.h"
#include "symbolize.h"

/* cprof's readers add values in int64_t: as pprof_decode does, refuse a
 * sample type whose values' magnitudes add up past this. */
#define LEGACY_MAX_MAGNITUDE ((uint64_t)1 << 62)

/* One sample as read: its addresses, adjusted, at addrs[first, first + n). */
struct legacy_rec {
	size_t first, n;
	int64_t v[4];
	int64_t bytes; /* the "bytes" label of a heap sample */
};

/* A "#\t0xPC\tFUNCTION+0xOFF\tFILE:LINE" line of Go's text profiles. */
struct legacy_frame {
	uint64_t pc;
	uint32_t block, seq; /* the record it follows, and its place there */
	int64_t name, file, line;
};

struct legacy_map {
	uint64_t start, limit, offset;
	char *file, *build_id;
};

struct legacy {
	struct profile *p;
	char what[64]; /* "goroutine profile", for messages */
	const unsigned char *pos, *end;
	size_t lineno;
	char *line; /* the current line, NUL-terminated */
	size_t line_cap;
	uint64_t *addrs;
	size_t naddrs, addrs_cap;
	struct legacy_rec *recs;
	size_t nrecs, recs_cap;
	struct legacy_frame *frames;
	size_t nframes, frames_cap;
	struct legacy_map *maps;
	size_t nmaps, maps_cap;
	bool bytes_label;
	/* With LEGACY_SYMBOLIZE: the executable /proc/PID/maps lines as they
	 * are, and the symbolizer over their files. */
	bool symbolize;
	char *maps_text;
	size_t maps_len, maps_text_cap;
	struct addrspace *as;
	struct symbolizer *sym;
	/* pprof's frames of no interest for this kind of profile. */
	struct prune prune;
	bool drop_set;
};

/* Captured groups of a pattern matched by hand. */
struct legacy_groups {
	const char *s[6];
	size_t n[6];
};

static int legacy_fail(struct legacy *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "corrupt WHAT: line N: MESSAGE"; returns -1. */
static int legacy_fail(struct legacy *l, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->lineno)
		return cp_error("corrupt %s: line %zu: %s", l->what, l->lineno, msg);
	return cp_error("corrupt %s: %s", l->what, msg);
}

/* The next line into L->line, without its "\n" or a "\r" before that (as
 * Go's bufio.Scanner gives lines; a NUL ends it early). Returns 1, 0 at the
 * end (the line is then ""), or -1 with an error. */
static int legacy_next(struct legacy *l)
{
	const unsigned char *nl;
	size_t n;

	if (l->pos >= l->end) {
		l->line[0] = '\0';
		return 0;
	}
	nl = memchr(l->pos, '\n', l->end - l->pos);
	n = (nl ? nl : l->end) - l->pos;
	if (CP_GROW(l->line, l->line_cap, n + 1) < 0)
		return -1;
	memcpy(l->line, l->pos, n);
	if (n && l->line[n - 1] == '\r')
		n--;
	l->line[n] = '\0';
	l->pos = nl ? nl + 1 : l->end;
	l->lineno++;
	return 1;
}

static bool legacy_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool legacy_hexdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* S without the white space around it (in place). */
static char *legacy_trim(char *s)
{
	size_t n;

	while (legacy_space(*s))
		s++;
	n = strlen(s);
	while (n && legacy_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* pprof's isSpaceOrComment, of a trimmed line. */
static bool legacy_blank(const char *s)
{
	return !*s || *s == '#';
}

static bool legacy_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Whether S holds one of the lines the memory map follows. */
static bool legacy_sentinel(const char *s)
{
	return strstr(s, "--- Memory map: ---") || strstr(s, "MAPPED_LIBRARIES:");
}

static int legacy_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Go's strconv.ParseInt of the N bytes at S in BASE, or with BASE 0 in the
 * base its prefix says (0x, 0o, 0b, 0: octal). Returns 0, or -1 when they
 * are not a number that fits in 64 bits. */
static int legacy_int(const char *s, size_t n, int base, int64_t *v)
{
	bool neg = false;
	uint64_t x = 0, max;

	if (n && (*s == '-' || *s == '+')) {
		neg = *s++ == '-';
		n--;
	}
	if (base == 0) {
		base = 10;
		if (n > 2 && s[0] == '0' && strchr("xXoObB", s[1])) {
			base = s[1] == 'x' || s[1] == 'X' ? 16 : s[1] == 'o' || s[1] == 'O' ? 8 : 2;
			s += 2;
			n -= 2;
		} else if (n > 1 && s[0] == '0') {
			base = 8;
		}
	}
	max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = legacy_digit(s[i]);
		if (d >= (unsigned)base || x > (max - d) / base)
			return -1;
		x = x * base + d;
	}
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

/* The N hexadecimal digits at S (after "0x") as an address; -1 past 64 bits. */
static int legacy_hex(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = legacy_digit(s[i]);
		if (d >= 16 || x >> 60)
			return -1;
		x = x << 4 | d;
	}
	*v = x;
	return 0;
}

/* Go's conversion of a float64 to int64 on amd64: NaN and values out of
 * range become INT64_MIN (C leaves them undefined). */
static int64_t legacy_trunc(double x)
{
	if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
		return INT64_MIN;
	return (int64_t)x;
}

/* A new sample, with no addresses yet; NULL with an error. */
static struct legacy_rec *legacy_rec_new(struct legacy *l)
{
	struct legacy_rec *r;

	if (CP_GROW(l->recs, l->recs_cap, l->nrecs + 1) < 0)
		return NULL;
	r = &l->recs[l->nrecs++];
	memset(r, 0, sizeof(*r));
	r->first = l->naddrs;
	return r;
}

/* Append address A to the last sample. Returns 0 or -1. */
static int legacy_addr(struct legacy *l, uint64_t a)
{
	if (CP_GROW(l->addrs, l->addrs_cap, l->naddrs + 1) < 0)
		return -1;
	l->addrs[l->naddrs++] = a;
	l->recs[l->nrecs - 1].n++;
	return 0;
}

/* Every 0x[0-9a-f]+ in [S, E) (pprof's hexNumberRE), less one (a return
 * address made the call's), appended to the last sample. Returns 0 or -1. */
static int legacy_hex_addrs(struct legacy *l, const char *s, const char *e)
{
	while (s < e) {
		const char *h = s + 2;
		uint64_t a;

		if (e - s < 3 || s[0] != '0' || s[1] != 'x' || !legacy_hexdigit(*h)) {
			s++;
			continue;
		}
		for (s = h; s < e && legacy_hexdigit(*s); s++)
			;
		if (legacy_hex(h, s - h, &a) < 0)
			return legacy_fail(l, "address 0x%.*s does not fit in 64 bits", (int)(s - h), h);
		if (legacy_addr(l, a - 1) < 0)
			return -1;
	}
	return 0;
}

/* A "#" line (S, trimmed): in Go's text profiles "#\t0xPC\tFUNCTION+0xOFF\tFILE:LINE",
 * one per frame, innermost first, after the sample whose addresses it
 * names; kept for that sample. Other comments are skipped. Returns 0 or -1. */
static int legacy_frame(struct legacy *l, char *s)
{
	struct legacy_frame *f;
	char *name, *file = NULL, *colon, *plus;
	const char *h;
	int64_t line = 0;
	uint64_t pc;

	for (s++; *s == '\t' || *s == ' '; s++)
		;
	if (!l->nrecs || s[0] != '0' || s[1] != 'x')
		return 0;
	for (h = s += 2; legacy_hexdigit(*s); s++)
		;
	if (legacy_hex(h, s - h, &pc) < 0 || *s != '\t')
		return 0;
	for (name = s; *name == '\t'; name++)
		;
	if (!*name)
		return 0;
	s = strchr(name, '\t');
	if (s) {
		*s++ = '\0';
		file = s + strspn(s, "\t");
		colon = strrchr(file, ':');
		if (colon && colon[1] && legacy_int(colon + 1, strlen(colon + 1), 10, &line) == 0)
			*colon = '\0';
		else
			line = 0;
	}
	plus = strrchr(name, '+');
	if (plus && plus != name && plus[1] == '0' && plus[2] == 'x')
		*plus = '\0';
	if (CP_GROW(l->frames, l->frames_cap, l->nframes + 1) < 0)
		return -1;
	f = &l->frames[l->nframes];
	f->pc = pc;
	f->block = l->nrecs - 1;
	f->seq = l->nframes;
	f->line = line;
	if ((f->name = profile_intern(l->p, name)) < 0 ||
	    (f->file = profile_intern(l->p, file ? file : "")) < 0)
		return -1;
	l->nframes++;
	return 0;
}

/* Lines to the end: skipped up to one that holds a memory map sentinel (the
 * current line counts), then read as the memory map. Returns 0 or -1. */
static int legacy_maps(struct legacy *l);

static int legacy_sections(struct legacy *l)
{
	int rc = 1;

	while (!legacy_sentinel(l->line) && (rc = legacy_next(l)) > 0)
		;
	return rc < 0 ? -1 : legacy_maps(l);
}

static int legacy_set_types(struct legacy *l, const char *const *types, size_t n,
			    const char *period_type, const char *period_unit, int64_t period)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		if (profile_add_sample_type(l->p, types[i], types[i + 1]) < 0)
			return -1;
	l->p->period = period;
	if ((l->p->period_type.type = profile_intern(l->p, period_type)) < 0 ||
	    (l->p->period_type.unit = profile_intern(l->p, period_unit)) < 0)
		return -1;
	return 0;
}

/* The frames pprof leaves out of legacy profiles (its DropFrames and
 * KeepFrames, applied to every profile it reads): an allocator's own in heap
 * profiles, a lock's in contention profiles, the CPU profiler's signal
 * handler's in the others. A stack is cut below its outermost such frame
 * (one of KEEP stays), counting from the first frame of no such function. */
static const char legacy_drop_alloc[] =
	"calloc|cfree|malloc|free|memalign|do_memalign|(__)?posix_memalign|pvalloc|valloc|realloc|"
	"tcmalloc::.*|tc_calloc|tc_cfree|tc_malloc|tc_free|tc_memalign|tc_posix_memalign|"
	"tc_pvalloc|tc_valloc|tc_realloc|tc_new|tc_delete|tc_newarray|tc_deletearray|"
	"tc_new_nothrow|tc_newarray_nothrow|malloc_zone_malloc|malloc_zone_calloc|"
	"malloc_zone_valloc|malloc_zone_realloc|malloc_zone_memalign|malloc_zone_free|"
	"runtime\\..*|BaseArena::.*|(::)?do_malloc_no_errno|(::)?do_malloc_pages|(::)?do_malloc|"
	"DoSampledAllocation|MallocedMemBlock::MallocedMemBlock|_M_allocate|"
	"__builtin_(vec_)?delete|__builtin_(vec_)?new|__gnu_cxx::new_allocator::allocate|"
	"__libc_malloc|__malloc_alloc_template::allocate|allocate|cpp_alloc|"
	"operator new(\\[\\])?|simple_alloc::allocate";
static const char legacy_keep_alloc[] = "runtime\\.panic|runtime\\.reflectcall|runtime\\.call[0-9]*";
static const char legacy_drop_lock[] =
	"RecordLockProfileData|(base::)?RecordLockProfileData.*|(base::)?SubmitMutexProfileData.*|"
	"(base::)?SubmitSpinLockProfileData.*|(base::Mutex::)?AwaitCommon.*|"
	"(base::Mutex::)?Unlock.*|(base::Mutex::)?UnlockSlow.*|(base::Mutex::)?ReaderUnlock.*|"
	"(base::MutexLock::)?~MutexLock.*|(Mutex::)?AwaitCommon.*|(Mutex::)?Unlock.*|"
	"(Mutex::)?UnlockSlow.*|(Mutex::)?ReaderUnlock.*|(MutexLock::)?~MutexLock.*|"
	"(SpinLock::)?Unlock.*|(SpinLock::)?SlowUnlock.*|(SpinLockHolder::)?~SpinLockHolder.*";
static const char legacy_drop_cpu[] = "ProfileData::Add|ProfileData::prof_handler|"
	"CpuProfiler::prof_handler|__pthread_sighandler|__restore";

/* Set L's frames of no interest, DROP and KEEP (NULL: none), as the
 * profile's drop_frames and keep_frames too. Returns 0 or -1. */
static int legacy_set_drop(struct legacy *l, const char *drop, const char *keep)
{
	if ((l->p->drop_frames = profile_intern(l->p, drop)) < 0 ||
	    (l->p->keep_frames = profile_intern(l->p, keep ? keep : "")) < 0 ||
	    prune_init(&l->prune, drop, keep) < 0)
		return -1;
	l->drop_set = true;
	return 0;
}

/* "COUNT @ 0xADDR 0xADDR ..." of a Go count profile; "COUNT @" with no
 * address is taken too (Go writes that for threadcreate). Returns 0 or -1. */
static int legacy_count_line(struct legacy *l, const char *s)
{
	const char *d = s;
	struct legacy_rec *r;

	while (*s >= '0' && *s <= '9')
		s++;
	if (s == d || s[0] != ' ' || s[1] != '@' || (s[2] && s[2] != ' '))
		return legacy_fail(l, "not 'COUNT @ 0xADDRESS ...': '%.60s'", d);
	if (!(r = legacy_rec_new(l)))
		return -1;
	if (legacy_int(d, s - d, 0, &r->v[0]) < 0)
		return legacy_fail(l, "bad count '%.*s'", (int)(s - d), d);
	for (s += 2; *s;) {
		const char *h = s + 3;
		uint64_t a;

		if (s[0] != ' ' || s[1] != '0' || s[2] != 'x' || !legacy_hexdigit(*h))
			return legacy_fail(l, "not 'COUNT @ 0xADDRESS ...': '%.60s'", d);
		for (s = h; legacy_hexdigit(*s); s++)
			;
		if (legacy_hex(h, s - h, &a) < 0)
			return legacy_fail(l, "address 0x%.*s does not fit in 64 bits", (int)(s - h), h);
		if (legacy_addr(l, a - 1) < 0)
			return -1;
	}
	return 0;
}

/* The header "TYPE profile: total N" of a Go count profile (pprof's
 * countStartRE), TYPE copied into TYPE (N bytes). */
static bool legacy_count_header(const char *s, char *type, size_t n)
{
	const char *e = s, *t;

	while (*e && !legacy_space(*e))
		e++;
	if (e == s || !legacy_prefix(e, " profile: total "))
		return false;
	t = e + strlen(" profile: total ");
	if (!*t || strspn(t, "0123456789") != strlen(t))
		return false;
	snprintf(type, n, "%.*s", (int)(e - s), s);
	return true;
}

/* A Go count profile (goroutine, threadcreate). Returns 1, 0 when L is not
 * one, or -1 with an error. */
static int legacy_go_count(struct legacy *l)
{
	char type[48];
	int rc;

	while ((rc = legacy_next(l)) > 0 && legacy_blank(legacy_trim(l->line)))
		;
	if (rc <= 0 || !legacy_count_header(l->line, type, sizeof(type)))
		return rc < 0 ? -1 : 0;
	snprintf(l->what, sizeof(l->what), "%s profile", type);
	if (legacy_set_types(l, (const char *[]){ type, "count" }, 2, type, "count", 1) < 0 ||
	    legacy_set_drop(l, legacy_drop_cpu, NULL) < 0)
		return -1;
	while ((rc = legacy_next(l)) > 0) {
		char *s = legacy_trim(l->line);
		if (legacy_blank(s)) {
			if (*s && legacy_frame(l, s) < 0)
				return -1;
			continue;
		}
		/* (Trimmed: pprof matches the line as it is, and trailing
		 * white space after an address makes it malformed there.) */
		if (legacy_prefix(s, "---"))
			break;
		if (legacy_count_line(l, s) < 0)
			return -1;
	}
	if (rc < 0 || legacy_sections(l) < 0)
		return -1;
	return 1;
}

static const char *legacy_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* Digits at S (after a '-' if SIGNED allows one) into group G; NULL if none. */
static const char *legacy_digits(const char *s, struct legacy_groups *g, int i, bool sign)
{
	const char *b = s;

	if (sign && *s == '-')
		s++;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		s++;
	g->s[i] = b;
	g->n[i] = s - b;
	return s;
}

/* "N: M [ N: M ]" as heap profiles write it (` *` where spaces may be),
 * into groups 0-3; the first two signed if SIGN. The end, or NULL. */
static const char *legacy_four(const char *s, struct legacy_groups *g, bool sign)
{
	if (!(s = legacy_digits(s, g, 0, sign)) || *s++ != ':' ||
	    !(s = legacy_digits(legacy_spaces(s), g, 1, sign)) || *(s = legacy_spaces(s)) != '[' ||
	    !(s = legacy_digits(legacy_spaces(s + 1), g, 2, false)) || *s++ != ':' ||
	    !(s = legacy_digits(legacy_spaces(s), g, 3, false)) || *(s = legacy_spaces(s)) != ']')
		return NULL;
	return s + 1;
}

static bool legacy_group_eq(const struct legacy_groups *g, int a, int b)
{
	return g->n[a] == g->n[b] && memcmp(g->s[a], g->s[b], g->n[a]) == 0;
}

static bool legacy_group_is(const struct legacy_groups *g, int a, const char *s)
{
	return g->n[a] == strlen(s) && memcmp(g->s[a], s, g->n[a]) == 0;
}

/* pprof's heap headers: "heap profile: N: M [N: M] @ heap..." with its
 * sampling (heapprofile: none; heap_v2/R and heapz_v2/R: rate R; Go's
 * heap/2R: rate R), and the growthz and fragmentationz ones (no sampling).
 * *RATE is -1 without sampling. Whether the second pair differs from the
 * first (the profile has allocations besides what is in use) in *ALLOC.
 * Returns whether LINE is one. */
static bool legacy_heap_header(const char *line, int64_t *period, int64_t *rate, bool *alloc)
{
	static const char tag[] = "heap profile:";
	struct legacy_groups g;

	for (const char *s = line; (s = strstr(s, tag)); s++) {
		const char *e = legacy_four(legacy_spaces(s + strlen(tag)), &g, false), *k;
		if (!e)
			continue;
		*alloc = (!legacy_group_eq(&g, 2, 0) && !legacy_group_is(&g, 2, "0")) ||
			 (!legacy_group_eq(&g, 3, 1) && !legacy_group_is(&g, 3, "0"));
		*period = 1;
		*rate = -1;
		if (legacy_prefix(e, " @ growth") || legacy_prefix(e, " @ fragmentation")) {
			*alloc = false;
			return true;
		}
		e = legacy_spaces(e);
		if (*e != '@' || !legacy_prefix(k = legacy_spaces(e + 1), "heap"))
			continue;
		for (e = k + 4; *e == '_' || (*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9'); e++)
			;
		g.s[4] = k;
		g.n[4] = e - k;
		e += *e == '/';
		g.s[5] = e;
		g.n[5] = strspn(e, "0123456789");
		if (g.n[5] && legacy_int(g.s[5], g.n[5], 10, period) < 0)
			return false;
		if (!g.n[5])
			*period = 0;
		if (legacy_group_is(&g, 4, "heapprofile"))
			*period = 1;
		else if (legacy_group_is(&g, 4, "heap"))
			*rate = *period = *period / 2;
		else if (legacy_group_is(&g, 4, "heap_v2") || legacy_group_is(&g, 4, "heapz_v2"))
			*rate = *period;
		else
			return false;
		return true;
	}
	return false;
}

/* pprof's scaleHeapSample: a sample of COUNT objects of SIZE bytes taken
 * at mean rate RATE (bytes) stands for 1 / (1 - e^(-SIZE/COUNT/RATE)) times
 * as many; RATE <= 1 is no sampling. */
static void legacy_unsample(int64_t *count, int64_t *size, int64_t rate)
{
	double scale;

	if (*count == 0 || *size == 0) {
		*count = *size = 0;
		return;
	}
	if (rate <= 1)
		return;
	scale = 1 / (1 - exp(-((double)*size / (double)*count) / (double)rate));
	*count = legacy_trunc((double)*count * scale);
	*size = legacy_trunc((double)*size * scale);
}

/* Groups I and I + 1 of a heap sample, a count and its bytes, into OUT[0]
 * and OUT[1], unsampled at RATE (< 0: not sampled), the size of one object
 * into *BYTES. WHAT names the pair. Returns 0 or -1. */
static int legacy_heap_pair(struct legacy *l, const struct legacy_groups *g, int i, int64_t rate,
			    int64_t *out, int64_t *bytes, const char *what)
{
	int64_t count, size;

	if (legacy_int(g->s[i], g->n[i], 10, &count) < 0 ||
	    legacy_int(g->s[i + 1], g->n[i + 1], 10, &size) < 0)
		return legacy_fail(l, "a number of the sample does not fit in 64 bits");
	if (count == 0 && size != 0)
		return legacy_fail(l, "%s count is 0 but %s bytes %lld", what, what, (long long)size);
	if (count != 0) {
		/* As Go divides: INT64_MIN / -1 wraps. */
		*bytes = count == -1 ? (int64_t)(0 - (uint64_t)size) : size / count;
		if (rate >= 0)
			legacy_unsample(&count, &size, rate);
	}
	out[0] = count;
	out[1] = size;
	return 0;
}

/* A heap sample line (trimmed), pprof's heapSampleRE anywhere in it:
 * "INUSE_COUNT: INUSE_BYTES [ALLOC_COUNT: ALLOC_BYTES] @ 0xADDR ...".
 * Returns 0 or -1. */
static int legacy_heap_sample(struct legacy *l, const char *s, int64_t rate, bool alloc)
{
	struct legacy_groups g;
	const char *e = NULL, *line = s;
	struct legacy_rec *r;

	for (; *s && !e; s++)
		if ((*s == '-' || (*s >= '0' && *s <= '9')) && (e = legacy_four(s, &g, true)) &&
		    (e[0] != ' ' || e[1] != '@'))
			e = NULL;
	if (!e)
		return legacy_fail(l, "not 'COUNT: BYTES [COUNT: BYTES] @ 0xADDRESS ...': '%.60s'",
				   line);
	if (!(r = legacy_rec_new(l)))
		return -1;
	if (alloc && legacy_heap_pair(l, &g, 2, rate, r->v, &r->bytes, "allocation") < 0)
		return -1;
	if (legacy_heap_pair(l, &g, 0, rate, r->v + (alloc ? 2 : 0), &r->bytes, "inuse") < 0)
		return -1;
	e += 2;
	return legacy_hex_addrs(l, e, e + strspn(e, " x0123456789abcdef"));
}

/* A heap profile, gperftools' or Go's. Returns 1, 0 when L is not one, or
 * -1 with an error. */
static int legacy_heap(struct legacy *l)
{
	static const char *const both[] = { "alloc_objects", "count", "alloc_space", "bytes",
					    "inuse_objects", "count", "inuse_space", "bytes" };
	static const char *const inuse[] = { "objects", "count", "space", "bytes" };
	int64_t period, rate;
	bool alloc;
	int rc;

	if ((rc = legacy_next(l)) <= 0 || !legacy_heap_header(l->line, &period, &rate, &alloc))
		return rc < 0 ? -1 : 0;
	snprintf(l->what, sizeof(l->what), "heap profile");
	/* Allocations first, so that inuse_space, the last, is the default. */
	if (legacy_set_types(l, alloc ? both : inuse, alloc ? 8 : 4, "space", "bytes", period) < 0)
		return -1;
	l->bytes_label = true;
	if (legacy_set_drop(l, legacy_drop_alloc, legacy_keep_alloc) < 0)
		return -1;
	while ((rc = legacy_next(l)) > 0) {
		char *s = legacy_trim(l->line);
		if (legacy_blank(s)) {
			if (*s && legacy_frame(l, s) < 0)
				return -1;
			continue;
		}
		if (legacy_sentinel(s))
			break;
		if (legacy_heap_sample(l, s, rate, alloc) < 0)
			return -1;
	}
	if (rc < 0 || legacy_sections(l) < 0)
		return -1;
	return 1;
}

/* pprof's contentionSampleRE anywhere in S: "DELAY COUNT @ 0xADDR ...",
 * where the two numbers may be run together (a split of the digits that
 * is followed by " @" is taken, the longest first delay first). The end of
 * the second number, or NULL. */
static const char *legacy_contention_match(const char *s, struct legacy_groups *g)
{
	for (; *s; s++) {
		size_t run = strspn(s, "0123456789");
		for (size_t n = run; n > 0; n--) {
			const char *e = legacy_digits(legacy_spaces(s + n), g, 1, false);
			if (e && e[0] == ' ' && e[1] == '@') {
				g->s[0] = s;
				g->n[0] = n;
				return e;
			}
		}
	}
	return NULL;
}

/* A contention sample line: its delay in cycles scaled to nanoseconds at
 * CPU_HZ and both values by the sampling PERIOD, as pprof scales them.
 * Returns 0 or -1. */
static int legacy_contention_sample(struct legacy *l, const char *s, int64_t cpu_hz)
{
	int64_t period = l->p->period, delay, count;
	struct legacy_groups g;
	struct legacy_rec *r;
	const char *e = legacy_contention_match(s, &g);

	if (!e)
		return legacy_fail(l, "not 'DELAY COUNT @ 0xADDRESS ...': '%.60s'", s);
	if (legacy_int(g.s[0], g.n[0], 10, &delay) < 0 || legacy_int(g.s[1], g.n[1], 10, &count) < 0)
		return legacy_fail(l, "a number of the sample does not fit in 64 bits");
	if (period > 0) {
		if (cpu_hz > 0)
			delay = legacy_trunc((double)delay * (double)period / ((double)cpu_hz / 1e9));
		count = (int64_t)((uint64_t)count * (uint64_t)period);
	}
	if (!(r = legacy_rec_new(l)))
		return -1;
	r->v[0] = count;
	r->v[1] = delay;
	e += 2;
	return legacy_hex_addrs(l, e, e + strspn(e, " x0123456789abcdef"));
}

/* One "KEY = VALUE" line of a contention profile's head (S, trimmed, EQ its
 * '='): cycles/second, sampling period, ms since reset. Returns 0 or -1. */
static int legacy_contention_attr(struct legacy *l, char *s, char *eq, int64_t *cpu_hz)
{
	char *key = s, *val = legacy_trim(eq + 1);
	int64_t v;

	*eq = '\0';
	key = legacy_trim(key);
	if (strcmp(key, "discarded samples") == 0)
		return 0;
	if (strcmp(key, "cycles/second") && strcmp(key, "sampling period") &&
	    strcmp(key, "ms since reset"))
		return legacy_fail(l, "unknown attribute '%.40s'", key);
	if (legacy_int(val, strlen(val), 0, &v) < 0)
		return legacy_fail(l, "%s '%.40s' is not a number", key, val);
	if (strcmp(key, "cycles/second") == 0)
		*cpu_hz = v;
	else if (strcmp(key, "sampling period") == 0)
		l->p->period = v;
	else
		l->p->duration_nanos = (int64_t)((uint64_t)v * 1000000);
	return 0;
}

/* A contention profile: Go's block and mutex profiles at debug=1
 * ("--- contention:", "--- mutex:"), gperftools' ("--- contentionz ").
 * Returns 1, 0 when L is not one, or -1 with an error. */
static int legacy_contention(struct legacy *l)
{
	static const char *const types[] = { "contentions", "count", "delay", "nanoseconds" };
	int64_t cpu_hz = 0;
	int rc;
	char *s;

	if ((rc = legacy_next(l)) <= 0)
		return rc;
	if (!legacy_prefix(l->line, "--- contentionz ") && !legacy_prefix(l->line, "--- mutex:") &&
	    !legacy_prefix(l->line, "--- contention:"))
		return 0;
	snprintf(l->what, sizeof(l->what), "contention profile");
	if (legacy_set_types(l, types, 4, "contentions", "count", 1) < 0 ||
	    legacy_set_drop(l, legacy_drop_lock, NULL) < 0)
		return -1;
	while ((rc = legacy_next(l)) > 0) {
		char *eq;
		s = legacy_trim(l->line);
		if (legacy_blank(s))
			continue;
		if (legacy_prefix(s, "---") || !(eq = strchr(s, '=')))
			break;
		if (legacy_contention_attr(l, s, eq, &cpu_hz) < 0)
			return -1;
	}
	for (; rc > 0; rc = legacy_next(l)) {
		s = legacy_trim(l->line);
		if (legacy_prefix(s, "---"))
			break;
		if (legacy_blank(s) ? *s && legacy_frame(l, s) < 0 :
				      legacy_contention_sample(l, s, cpu_hz) < 0)
			return -1;
	}
	if (rc < 0 || legacy_sections(l) < 0)
		return -1;
	return 1;
}

/* A word of SIZE bytes (4 or 8) at B, big-endian if BIG. */
static uint64_t legacy_word(const unsigned char *b, size_t size, bool big)
{
	uint64_t v = 0;

	for (size_t i = 0; i < size; i++)
		v |= (uint64_t)b[big ? size - 1 - i : i] << (8 * i);
	return v;
}

/* If *most* samples have the same second frame, it was pushed by the signal
 * handler: pprof drops it, twice at most. Its rule: the same address in all
 * but one of every 32 samples. */
static void legacy_cpu_strip(struct legacy *l)
{
	for (int iter = 0; iter < 2; iter++) {
		size_t votes = 0, count = 0, margin = l->nrecs / 32;
		uint64_t cand = 0;

		/* The address that qualifies, if any, is in most samples. */
		for (size_t i = 0; i < l->nrecs; i++) {
			uint64_t a;
			if (l->recs[i].n < 2)
				continue;
			a = l->addrs[l->recs[i].first + 1];
			if (!votes)
				cand = a;
			if (cand == a)
				votes++;
			else
				votes--;
		}
		for (size_t i = 0; i < l->nrecs; i++)
			count += l->recs[i].n > 1 && l->addrs[l->recs[i].first + 1] == cand;
		if (!l->nrecs || count < l->nrecs - margin)
			return;
		for (size_t i = 0; i < l->nrecs; i++) {
			struct legacy_rec *r = &l->recs[i];
			if (r->n > 1 && l->addrs[r->first + 1] == cand) {
				memmove(&l->addrs[r->first + 1], &l->addrs[r->first + 2],
					(r->n - 2) * sizeof(*l->addrs));
				r->n--;
			}
		}
	}
}

/* The samples of a CPU profile from byte POS: count, depth, then as many
 * addresses (all but the leaf less one); the end marker 0, 1, 0. WORD
 * bytes a word, big-endian if BIG. Returns the end, or 0 with an error. */
static size_t legacy_cpu_samples(struct legacy *l, const unsigned char *b, size_t len, size_t pos,
				 size_t word, bool big)
{
	while (pos < len) {
		uint64_t count, depth;
		struct legacy_rec *r;

		if (len - pos < 2 * word)
			return legacy_fail(l, "truncated: a sample's header at byte %zu", pos), 0;
		count = legacy_word(b + pos, word, big);
		depth = legacy_word(b + pos + word, word, big);
		pos += 2 * word;
		if (depth > (len - pos) / word)
			return legacy_fail(l, "truncated: the sample at byte %zu has %llu frames, "
					   "past the end", pos - 2 * word, (unsigned long long)depth), 0;
		if (count == 0 && depth == 1 && legacy_word(b + pos, word, big) == 0)
			return pos + word;
		if (!(r = legacy_rec_new(l)))
			return 0;
		r->v[0] = (int64_t)count;
		r->v[1] = (int64_t)(count * (uint64_t)l->p->period);
		for (uint64_t i = 0; i < depth; i++, pos += word)
			if (legacy_addr(l, legacy_word(b + pos, word, big) - (i > 0)) < 0)
				return 0;
	}
	return pos;
}

/* gperftools' CPU profile: a header of five words (0, 3, 0, the period in
 * microseconds, 0) in one of four encodings (32 or 64 bits, either byte
 * order), the samples, then the memory map as text. Returns 1, 0 when L is
 * not one, or -1 with an error. */
static int legacy_cpu(struct legacy *l)
{
	static const char *const types[] = { "samples", "count", "cpu", "nanoseconds" };
	const unsigned char *b = l->pos;
	size_t len = l->end - l->pos, end;

	for (int e = 0; e < 4; e++) {
		size_t word = e < 2 ? 4 : 8;
		bool big = e % 2;
		uint64_t h[5];

		if (len < 5 * word)
			return 0;
		for (int i = 0; i < 5; i++)
			h[i] = legacy_word(b + i * word, word, big);
		if (h[0] != 0 || h[1] != 3 || h[2] > 1 || h[3] == 0 || h[4] != 0)
			continue;
		snprintf(l->what, sizeof(l->what), "gperftools CPU profile");
		if (h[2] == 1)
			return legacy_fail(l, "a Java CPU profile, which cprof does not read");
		if (legacy_set_types(l, types, 4, "cpu", "nanoseconds",
				     (int64_t)(h[3] * 1000)) < 0 ||
		    legacy_set_drop(l, legacy_drop_cpu, NULL) < 0 ||
		    !(end = legacy_cpu_samples(l, b, len, 5 * word, word, big)))
			return -1;
		legacy_cpu_strip(l);
		/* The leaf may come twice, from the signal's context and from
		 * the unwinding (less one there): keep one. */
		for (size_t i = 0; i < l->nrecs; i++) {
			struct legacy_rec *r = &l->recs[i];
			uint64_t *a = r->n > 1 ? &l->addrs[r->first] : NULL;
			if (a && a[0] == a[1] + 1) {
				memmove(&a[1], &a[2], (r->n - 2) * sizeof(*a));
				r->n--;
			}
		}
		l->pos = b + end;
		return legacy_maps(l) < 0 ? -1 : 1;
	}
	return 0;
}

/* pprof's two forms of a memory map line: /proc/PID/maps' ("START-END PERM
 * OFFSET DEV INODE FILE") and a brief one ("START-END [PERM] [FILE] [(@OFFSET)]
 * [BUILDID]"). The groups: start, end, permissions, then for the first
 * offset and file, for the second file, offset and build id. */
#define LEGACY_HEX "(0x)?([[:xdigit:]]+)"
#define LEGACY_RANGE "^[[:space:]]*" LEGACY_HEX "[[:space:]-]?[[:space:]]*" LEGACY_HEX ":?" \
	"([[:space:]]+([-rwxp]+))?"
static const char legacy_proc_re[] = LEGACY_RANGE "([[:space:]]+([[:xdigit:]]+))?"
	"[[:space:]]+[[:xdigit:]]+:[[:xdigit:]]+[[:space:]]+[[:digit:]]+([[:space:]]+([^[:space:]]+))?";
static const char legacy_brief_re[] = LEGACY_RANGE "([[:space:]]+([^[:space:]]+))?"
	"([[:space:]]+\\(@([[:xdigit:]]+)\\))?([[:space:]]+([[:xdigit:]]+))?";

/* glog's "... file.cc:123] " before a line (pprof's logInfoRE): S past it. */
static const char *legacy_unlog(const char *s)
{
	const char *b = strchr(s, ']'), *c;

	if (!b || b == s || memchr(s, '[', b - s) || !legacy_space(b[1]))
		return s;
	for (c = b; c > s && c[-1] >= '0' && c[-1] <= '9'; c--)
		;
	return c < b && c - 1 > s && c[-1] == ':' ? b + 2 : s;
}

static int legacy_hex_group(const char *s, const regmatch_t *m, uint64_t *v)
{
	*v = 0;
	return m->rm_so < 0 ? 0 : legacy_hex(s + m->rm_so, m->rm_eo - m->rm_so, v);
}

static char *legacy_group_dup(const char *s, const regmatch_t *m)
{
	return m->rm_so < 0 ? strdup("") : strndup(s + m->rm_so, m->rm_eo - m->rm_so);
}

/* One line of a memory map into a new mapping, unless it is not executable
 * or not a mapping (pprof skips such lines). Returns 0 or -1. */
static int legacy_map_line(struct legacy *l, const char *s, regex_t *re)
{
	const regmatch_t *file, *offset, *build = NULL;
	struct legacy_map *m;
	regmatch_t g[13];
	bool proc = false;
	size_t n = strlen(s);

	if (regexec(&re[0], s, 11, g, 0) == 0) {
		offset = &g[8];
		file = &g[10];
		proc = true;
	} else if (regexec(&re[1], s, 13, g, 0) == 0) {
		file = &g[8];
		offset = &g[10];
		build = &g[12];
	} else {
		return 0;
	}
	if (g[6].rm_so >= 0 && !memchr(s + g[6].rm_so, 'x', g[6].rm_eo - g[6].rm_so))
		return 0;
	if (CP_GROW(l->maps, l->maps_cap, l->nmaps + 1) < 0)
		return -1;
	m = &l->maps[l->nmaps];
	if (legacy_hex_group(s, &g[2], &m->start) < 0 || legacy_hex_group(s, &g[4], &m->limit) < 0 ||
	    legacy_hex_group(s, offset, &m->offset) < 0)
		return 0;
	m->file = legacy_group_dup(s, file);
	m->build_id = build ? legacy_group_dup(s, build) : strdup("");
	l->nmaps++;
	if (!m->file || !m->build_id)
		return cp_error("out of memory");
	if (!l->symbolize || !proc)
		return 0;
	if (CP_GROW(l->maps_text, l->maps_text_cap, l->maps_len + n + 2) < 0)
		return -1;
	memcpy(l->maps_text + l->maps_len, s, n);
	l->maps_len += n;
	l->maps_text[l->maps_len++] = '\n';
	l->maps_text[l->maps_len] = '\0';
	return 0;
}

static int legacy_maps(struct legacy *l)
{
	regex_t re[2];
	int rc;

	if (regcomp(&re[0], legacy_proc_re, REG_EXTENDED) != 0)
		return cp_error("cannot compile a regular expression");
	if (regcomp(&re[1], legacy_brief_re, REG_EXTENDED) != 0) {
		regfree(&re[0]);
		return cp_error("cannot compile a regular expression");
	}
	while ((rc = legacy_next(l)) > 0)
		if (legacy_map_line(l, legacy_unlog(l->line), re) < 0) {
			rc = -1;
			break;
		}
	regfree(&re[0]);
	regfree(&re[1]);
	return rc;
}

static bool legacy_adjacent(const struct legacy_map *a, const struct legacy_map *b)
{
	return (!*a->file || !*b->file || strcmp(a->file, b->file) == 0) &&
	       (!*a->build_id || !*b->build_id || strcmp(a->build_id, b->build_id) == 0) &&
	       a->limit == b->start &&
	       (!a->offset || !b->offset || a->offset + (a->limit - a->start) == b->offset);
}

/* Whether FILE is a shared library's (pprof's libRx: ".so" at the end, or
 * ".so." or ".so_" and a digit). */
static bool legacy_is_lib(const char *file)
{
	size_t n = strlen(file);

	if (n >= 3 && strcmp(file + n - 3, ".so") == 0)
		return true;
	for (const char *s = file; (s = strstr(s, ".so")); s++)
		if ((s[3] == '.' || s[3] == '_') && s[4] >= '0' && s[4] <= '9')
			return true;
	return false;
}

/* pprof's massageMappings and the start of its remapMappingIDs: adjacent
 * pieces of one mapping joined, the main executable's (the first file not
 * a library nor "[name]") moved first, an "/anon_hugepage" first piece
 * dropped, and a main executable loaded at 0x400000 made to start there. */
static void legacy_massage(struct legacy *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nmaps; i++) {
		struct legacy_map *m = &l->maps[i], *last = n ? &l->maps[n - 1] : NULL;
		if (last && legacy_adjacent(last, m)) {
			last->limit = m->limit;
			if (*m->file) {
				free(last->file);
				last->file = m->file;
				m->file = NULL;
			}
			if (*m->build_id) {
				free(last->build_id);
				last->build_id = m->build_id;
				m->build_id = NULL;
			}
			free(m->file);
			free(m->build_id);
			continue;
		}
		l->maps[n++] = *m;
	}
	l->nmaps = n;
	for (size_t i = 0; i < n; i++) {
		char file[4096], *cut = file, *t;
		struct legacy_map main = l->maps[i];
		snprintf(file, sizeof(file), "%s", main.file);
		while ((cut = strstr(cut, "(deleted)")))
			memmove(cut, cut + 9, strlen(cut + 9) + 1);
		t = legacy_trim(file);
		if (!*t || legacy_is_lib(t) || *t == '[')
			continue;
		l->maps[i] = l->maps[0];
		l->maps[0] = main;
		break;
	}
	if (n > 1 && strncmp(l->maps[0].file, "/anon_hugepage", 14) == 0 &&
	    l->maps[0].limit == l->maps[1].start) {
		free(l->maps[0].file);
		free(l->maps[0].build_id);
		memmove(&l->maps[0], &l->maps[1], --l->nmaps * sizeof(*l->maps));
	}
	if (l->nmaps && l->maps[0].start - l->maps[0].offset == 0x400000) {
		l->maps[0].start = 0x400000;
		l->maps[0].offset = 0;
	}
}

/* An address of the samples, where it first appears, and its location. */
struct legacy_loc {
	uint64_t addr;
	size_t first;
	uint64_t mapping, id;
	unsigned char prune; /* enum prune_kind */
};

/* What goes of a location of LINES (*N, innermost first): see prune_lines.
 * An address that no "#" line of a Go text profile names is a runtime
 * function's: Go leaves those out. */
static unsigned char legacy_prune_lines(const struct legacy *l, struct pf_line *lines, size_t *n)
{
	if (!l->drop_set)
		return PRUNE_NONE;
	if (!*n)
		return l->nframes && prune_dropped(&l->prune, "runtime.") ? PRUNE_ALL : PRUNE_NONE;
	return (unsigned char)prune_lines(&l->prune, l->p, lines, n);
}

static int legacy_by_addr(const void *a, const void *b)
{
	const struct legacy_loc *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int legacy_by_first(const void *a, const void *b)
{
	const struct legacy_loc *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static int legacy_by_pc(const void *a, const void *b)
{
	const struct legacy_frame *x = a, *y = b;

	if (x->pc != y->pc)
		return x->pc < y->pc ? -1 : 1;
	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The mapping id of address A as pprof's remapMappingIDs gives it: the first
 * mapping that holds it; else one whose offset reaches down to A (its first
 * part was not written: it then starts at its offset's base); else the
 * catch-all mapping of the whole address space after the others, *FAKE. */
static uint64_t legacy_map_of(struct legacy *l, uint64_t a, bool *fake)
{
	for (size_t i = 0; i < l->nmaps; i++)
		if (l->maps[i].start <= a && a < l->maps[i].limit)
			return i + 1;
	for (size_t i = 0; i < l->nmaps; i++) {
		struct legacy_map *m = &l->maps[i];
		if (m->offset && m->start - m->offset <= a && a < m->start) {
			m->start -= m->offset;
			m->offset = 0;
			return i + 1;
		}
	}
	*fake = true;
	return l->nmaps + 1;
}

/* The first frame of the "#" lines that name address A (the call's, or the
 * return address), from the first sample that named it; NULL if none. */
static const struct legacy_frame *legacy_frames_at(const struct legacy *l, uint64_t a)
{
	for (int k = 0; k < 2; k++) {
		uint64_t pc = a + k;
		size_t lo = 0, hi = l->nframes;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (l->frames[mid].pc < pc)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < l->nframes && l->frames[lo].pc == pc)
			return &l->frames[lo];
	}
	return NULL;
}

/* The lines of address A (a call's, or a leaf's) from the symbols and debug
 * information of the file mapped there, into LINES, *N of them (0 when it
 * has none). Returns 0 or -1. */
static int legacy_symbolize(struct legacy *l, uint64_t a, struct pf_line *lines, size_t *n)
{
	const struct sym_frame *fr;
	int k = symbolizer_lookup(l->sym, a, false, &fr);

	if (k < 0)
		return -1;
	*n = 0;
	for (int j = 0; j < k && j < PF_MAX_LINES; j++) {
		int64_t name = profile_intern(l->p, fr[j].name ? fr[j].name : "");
		int64_t sys = profile_intern(l->p, fr[j].system_name ? fr[j].system_name : "");
		int64_t file = profile_intern(l->p, fr[j].file ? fr[j].file : "");
		int64_t fn;
		if (name < 0 || sys < 0 || file < 0 ||
		    (fn = profile_add_function(l->p, name, sys, file, fr[j].start_line)) < 0)
			return -1;
		lines[*n].function_id = fn;
		lines[(*n)++].line = fr[j].line;
	}
	return 0;
}

/* The location of LOC, with the functions and lines of its "#" lines, or
 * with LEGACY_SYMBOLIZE of its file's symbols. */
static int legacy_location(struct legacy *l, struct legacy_loc *loc)
{
	const struct legacy_frame *f = legacy_frames_at(l, loc->addr);
	struct pf_line lines[PF_MAX_LINES];
	size_t n = 0;
	int64_t id;

	for (size_t i = f ? f - l->frames : l->nframes; i < l->nframes && n < PF_MAX_LINES; i++) {
		const struct legacy_frame *g = &l->frames[i];
		if (g->pc != f->pc || g->block != f->block)
			break;
		int64_t fn = profile_add_function(l->p, g->name, g->name, g->file, 0);
		if (fn < 0)
			return -1;
		lines[n].function_id = fn;
		lines[n++].line = g->line;
	}
	if (!n && l->sym && loc->addr && legacy_symbolize(l, loc->addr, lines, &n) < 0)
		return -1;
	loc->prune = legacy_prune_lines(l, lines, &n);
	if ((id = profile_add_location(l->p, loc->mapping, loc->addr, lines, n, false)) < 0)
		return -1;
	loc->id = id;
	return 0;
}

/* The unique addresses of the samples, in the order they first appear,
 * into a new array *LOCS of *N. Returns 0 or -1. */
static int legacy_unique(struct legacy *l, struct legacy_loc **locs, size_t *n)
{
	struct legacy_loc *v = calloc(l->naddrs + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return cp_error("out of memory");
	for (size_t i = 0; i < l->nrecs; i++)
		for (size_t j = 0; j < l->recs[i].n; j++, k++) {
			v[k].addr = l->addrs[l->recs[i].first + j];
			v[k].first = k;
		}
	qsort(v, k, sizeof(*v), legacy_by_addr);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (!*n || v[*n - 1].addr != v[i].addr)
			v[(*n)++] = v[i];
	qsort(v, *n, sizeof(*v), legacy_by_first);
	*locs = v;
	return 0;
}

/* The mappings and locations of L's addresses, into the profile. */
static int legacy_locations(struct legacy *l, struct legacy_loc *locs, size_t n)
{
	bool fake = false;

	legacy_massage(l);
	for (size_t i = 0; i < n; i++)
		locs[i].mapping = locs[i].addr ? legacy_map_of(l, locs[i].addr, &fake) : 0;
	for (size_t i = 0; i < l->nmaps + fake; i++) {
		struct pf_mapping m = { .memory_limit = UINT64_MAX };
		if (i < l->nmaps) {
			m.memory_start = l->maps[i].start;
			m.memory_limit = l->maps[i].limit;
			m.file_offset = l->maps[i].offset;
			m.filename = profile_intern(l->p, l->maps[i].file);
			m.build_id = profile_intern(l->p, l->maps[i].build_id);
		}
		if (m.filename < 0 || m.build_id < 0 || profile_add_mapping(l->p, &m) < 0)
			return -1;
	}
	if (l->nframes)
		qsort(l->frames, l->nframes, sizeof(*l->frames), legacy_by_pc);
	for (size_t i = 0; i < n; i++)
		if (legacy_location(l, &locs[i]) < 0)
			return -1;
	qsort(locs, n, sizeof(*locs), legacy_by_addr);
	return 0;
}

static const struct legacy_loc *legacy_loc_of(const struct legacy_loc *locs, size_t n, uint64_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (locs[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &locs[lo];
}

/* The samples, with their locations' ids and values. Returns 0 or -1. */
static int legacy_samples(struct legacy *l, const struct legacy_loc *locs, size_t n)
{
	uint64_t *ids = NULL, sum[4] = { 0 };
	unsigned char *kinds = NULL;
	size_t cap = 0, kcap = 0, nv = l->p->nsample_types, leaf;
	struct pf_label bytes = { .key = profile_intern(l->p, "bytes") };
	int rc = -1;

	if (bytes.key < 0)
		return -1;
	for (size_t i = 0; i < l->nrecs; i++) {
		const struct legacy_rec *r = &l->recs[i];
		if (CP_GROW(ids, cap, r->n + 1) < 0 || CP_GROW(kinds, kcap, r->n + 1) < 0)
			goto out;
		for (size_t j = 0; j < r->n; j++) {
			const struct legacy_loc *at = legacy_loc_of(locs, n, l->addrs[r->first + j]);
			ids[j] = at->id;
			kinds[j] = at->prune;
		}
		leaf = prune_stack(kinds, r->n);
		for (size_t j = 0; j < nv; j++) {
			uint64_t v = r->v[j] < 0 ? -(uint64_t)r->v[j] : (uint64_t)r->v[j];
			if (v > LEGACY_MAX_MAGNITUDE || (sum[j] += v) > LEGACY_MAX_MAGNITUDE) {
				legacy_fail(l, "the values of sample type %zu add up past 2^62", j);
				goto out;
			}
		}
		bytes.num = r->bytes;
		if (profile_add_sample(l->p, ids + leaf, r->n - leaf, r->v, &bytes, l->bytes_label) < 0)
			goto out;
	}
	rc = 0;
out:
	free(ids);
	free(kinds);
	return rc;
}

static void legacy_release(struct legacy *l)
{
	profile_free(l->p);
	free(l->line);
	free(l->addrs);
	free(l->recs);
	free(l->frames);
	for (size_t i = 0; i < l->nmaps; i++) {
		free(l->maps[i].file);
		free(l->maps[i].build_id);
	}
	free(l->maps);
	free(l->maps_text);
	symbolizer_free(l->sym);
	addrspace_free(l->as);
	if (l->drop_set)
		prune_release(&l->prune);
}

/* Parse L with PARSE, then build the profile. Returns 1, 0 when L is not in
 * PARSE's format, or -1 with an error. */
static int legacy_run(struct legacy *l, int (*parse)(struct legacy *))
{
	struct legacy_loc *locs = NULL;
	size_t n = 0;
	int rc;

	if (!(l->p = profile_new()) || CP_GROW(l->line, l->line_cap, 256) < 0)
		return -1;
	if ((rc = parse(l)) <= 0)
		return rc;
	l->lineno = 0;
	/* Files that cannot be read leave their frames without symbols. */
	if (l->maps_len && (l->as = addrspace_new_maps(l->maps_text, l->maps_len)))
		l->sym = symbolizer_new(l->as);
	rc = legacy_unique(l, &locs, &n) < 0 || legacy_locations(l, locs, n) < 0 ||
	     legacy_samples(l, locs, n) < 0 ? -1 : 1;
	free(locs);
	return rc;
}

struct profile *legacy_parse(const void *buf, size_t len, int flags, bool *known)
{
	static int (*const parsers[])(struct legacy *) = { legacy_cpu, legacy_heap, legacy_go_count,
							    legacy_contention };
	struct profile *p = NULL;

	*known = false;
	for (size_t i = 0; i < sizeof(parsers) / sizeof(*parsers); i++) {
		struct legacy l = { .pos = buf, .end = (const unsigned char *)buf + len,
				    .symbolize = flags & LEGACY_SYMBOLIZE };
		int rc = legacy_run(&l, parsers[i]);
		if (rc != 0) {
			*known = l.what[0] != '\0';
			if (rc > 0) {
				p = l.p;
				l.p = NULL;
			}
			legacy_release(&l);
			return p;
		}
		legacy_release(&l);
	}
	cp_error("not in any of the legacy formats go tool pprof reads");
	return NULL;
}
