/* pprof decoding and encoding with protobuf-c and zlib. Foreign ids and string
 * indices are validated and renumbered into the model's dense form; what is
 * no protobuf is tried as the legacy formats (legacy.c), as pprof tries it. */
#include <errno.h>
#include <libiberty/demangle.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "errmsg.h"
#include "fetch.h"
#include "fileio.h"
#include "grow.h"
#include "hmap.h"
#include "legacy.h"
#include "pprof.h"
#include "prune.h"
#include "profile.pb-c.h"

/* The most a profile may inflate to unless CPROF_MAX_PROFILE_SIZE says
 * otherwise: protobuf-c decodes from one buffer, so this bounds the memory a
 * gzip bomb (1000 times its size in zeros) can take before it is refused. */
#define DEFAULT_MAX_SIZE ((uint64_t)1 << 30)

typedef Perftools__Profiles__Profile PB;

static int pprof_is_gzip(const unsigned char *b, size_t len)
{
	return len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

/* "1 GiB", "1.5 MiB" or "1000 bytes", into BUF. */
static const char *pprof_size(char *buf, size_t n, uint64_t v)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = v;
	int u = -1;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, n, "%llu bytes", (unsigned long long)v);
	else
		snprintf(buf, n, "%.*f %s", d == (uint64_t)d ? 0 : 1, d, units[u]);
	return buf;
}

/* The most a profile may take, decoded: CPROF_MAX_PROFILE_SIZE (bytes, or
 * with a suffix K, M, G or T, powers of 1024) or DEFAULT_MAX_SIZE. Returns 0,
 * or -1 with an error when the variable is not such a size. */
static int pprof_max_size(uint64_t *max)
{
	const char *env = getenv("CPROF_MAX_PROFILE_SIZE");
	unsigned long long v;
	char *end;
	int shift = 0;

	*max = DEFAULT_MAX_SIZE;
	if (!env || !*env)
		return 0;
	errno = 0;
	v = strtoull(env, &end, 10);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (shift && *end == 'i')
		end++;
	if (*end == 'B' || (!shift && *end == 'b'))
		end++;
	if (errno || end == env || *end || *env == '-' || v == 0 || v > (UINT64_MAX >> shift))
		return cp_error("CPROF_MAX_PROFILE_SIZE='%s' is not a size (such as 4G, or a number of bytes)",
				env);
	*max = (uint64_t)v << shift;
	return 0;
}

/* The error for a profile over MAX bytes: HOW, then its SIZE if known. */
static int pprof_too_big(uint64_t max, uint64_t size, const char *how, bool gzip)
{
	char a[32] = "", b[32];

	if (size)
		pprof_size(a, sizeof(a), size);
	return cp_error("%s %s%sthe %s a profile may take%s: set CPROF_MAX_PROFILE_SIZE, such as "
			"4G, to read a larger one", how, a, size ? ", over " : "more than ",
			pprof_size(b, sizeof(b), max), gzip ? " (a gzip bomb?)" : "");
}

/* Inflate every gzip member in IN (as gzip(1) does) into B, CAP bytes, or
 * with B NULL only count the bytes, up to CAP. Returns 0 when the data
 * ended (*N bytes came out), 1 when CAP bytes came out first, or -1 with an
 * error. */
static int pprof_gunzip_run(const unsigned char *in, size_t inlen, unsigned char *b,
			    uint64_t cap, uint64_t *n)
{
	unsigned char scratch[65536];
	z_stream z;
	int rc, ret = -1;

	*n = 0;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return cp_error("cannot start zlib");
	z.next_in = (unsigned char *)in;
	z.avail_in = inlen > UINT32_MAX ? UINT32_MAX : inlen;
	for (;;) {
		uint64_t room = cap - *n;
		if (!room) {
			ret = 1;
			break;
		}
		if (!b && room > sizeof(scratch))
			room = sizeof(scratch);
		z.next_out = b ? b + *n : scratch;
		z.avail_out = room > UINT32_MAX ? UINT32_MAX : room;
		rc = inflate(&z, Z_NO_FLUSH);
		*n += (room > UINT32_MAX ? UINT32_MAX : room) - z.avail_out;
		if (rc == Z_STREAM_END) {
			size_t used = z.next_in - in;
			if (used < inlen && pprof_is_gzip(in + used, inlen - used)) {
				inflateReset(&z);
				z.next_in = (unsigned char *)in + used;
				z.avail_in = inlen - used > UINT32_MAX ? UINT32_MAX : inlen - used;
				continue;
			}
			ret = 0;
			break;
		}
		if (rc == Z_BUF_ERROR && z.avail_in == 0 && z.avail_out != 0) {
			cp_error("truncated gzip data");
			break;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			cp_error("corrupt gzip data (%s)", z.msg ? z.msg : "inflate failed");
			break;
		}
		if (z.avail_in == 0 && (size_t)(z.next_in - in) < inlen) {
			size_t used = z.next_in - in;
			z.avail_in = inlen - used > UINT32_MAX ? UINT32_MAX : inlen - used;
		}
	}
	inflateEnd(&z);
	return ret;
}

/* Profiles up to this size inflate in one pass; larger ones are first
 * inflated only to count their size, so no bomb takes more memory. */
#define ONE_PASS ((uint64_t)64 << 20)

/* Inflate the gzip data IN into a new buffer of at most MAX bytes. The last
 * member's trailer gives its size (modulo 2^32, and it may lie): under
 * ONE_PASS it is inflated into a buffer of that size; a larger one, or one
 * that does not fit, is counted up to MAX bytes in a small buffer, then
 * refused, or inflated into a buffer of the size counted. */
static int pprof_gunzip(const unsigned char *in, size_t inlen, uint64_t max, unsigned char **out,
		  size_t *outlen)
{
	uint64_t isize = 0, n;
	unsigned char *b = NULL;
	int rc = 1;

	if (inlen >= 18)
		isize = in[inlen - 4] | (uint64_t)in[inlen - 3] << 8 | (uint64_t)in[inlen - 2] << 16 |
			(uint64_t)in[inlen - 1] << 24;
	/* One byte more than the trailer says, to see the end come first. */
	if (isize < ONE_PASS && isize < max) {
		uint64_t cap = isize + 1 > 4096 ? isize + 1 : 4096;
		if (cap > max + 1)
			cap = max + 1;
		if (!(b = malloc(cap)))
			return cp_error("out of memory");
		rc = pprof_gunzip_run(in, inlen, b, cap, &n);
	}
	if (rc == 1) {
		free(b);
		b = NULL;
		rc = pprof_gunzip_run(in, inlen, NULL, max + 1, &n);
		if (rc == 1)
			return pprof_too_big(max, 0, "inflates to", true);
		if (rc == 0 && (n + 1 > SIZE_MAX || !(b = malloc(n + 1))))
			return cp_error("out of memory");
		if (rc == 0 && pprof_gunzip_run(in, inlen, b, n + 1, &n) != 0)
			rc = -1;
	}
	if (rc < 0) {
		free(b);
		return -1;
	}
	*out = b;
	*outlen = n;
	return 0;
}

/* Maps a foreign id to its new dense id. */
struct idmap {
	struct hmap m;
	uint64_t *ids; /* foreign id of new id i + 1 */
	size_t n;
};

static int pprof_idmap_eq(void *ctx, uint32_t idx)
{
	void **c = ctx;
	const struct idmap *im = c[0];

	return im->ids[idx] == *(const uint64_t *)c[1];
}

static uint64_t pprof_idmap_get(const struct idmap *im, uint64_t id)
{
	const void *ctx[2] = { im, &id };
	int64_t i;

	/* Most writers number their ids 1..n in order. */
	if (id && id <= im->n && im->ids[id - 1] == id)
		return id;
	i = hmap_find(&im->m, hash_bytes(HASH_SEED, &id, sizeof(id)), pprof_idmap_eq, ctx);
	return i < 0 ? 0 : (uint64_t)i + 1;
}

/* Record foreign id ID as new id N + 1; fails on zero or duplicate ids. */
static int pprof_idmap_add(struct idmap *im, uint64_t id, const char *what)
{
	if (id == 0)
		return cp_error("corrupt profile: %s with id 0", what);
	if (pprof_idmap_get(im, id))
		return cp_error("corrupt profile: duplicate %s id %llu", what, (unsigned long long)id);
	im->ids[im->n] = id;
	return hmap_insert(&im->m, hash_bytes(HASH_SEED, &id, sizeof(id)), im->n++);
}

struct decoder {
	const PB *pb;
	struct profile *p;
	int64_t *strmap; /* foreign string index -> model index */
	struct idmap mappings, functions;
	uint64_t *fnmap; /* foreign function position -> model function id */
	uint64_t *locmap; /* foreign location position -> model location id */
	struct idmap locations;
	unsigned char *prune; /* model location id - 1 -> enum prune_kind; NULL: none */
};

static int pprof_str(struct decoder *d, int64_t i, int64_t *out)
{
	if (i < 0 || (size_t)i >= d->pb->n_string_table)
		return cp_error("corrupt profile: string index %lld out of range", (long long)i);
	*out = d->strmap[i];
	return 0;
}

static int pprof_decode_strings(struct decoder *d)
{
	const PB *pb = d->pb;

	if (pb->n_string_table == 0 || pb->string_table[0].len != 0)
		return cp_error("not a pprof profile (its string table does not start with \"\")");
	d->strmap = malloc(pb->n_string_table * sizeof(*d->strmap));
	if (!d->strmap)
		return cp_error("out of memory");
	for (size_t i = 0; i < pb->n_string_table; i++) {
		const ProtobufCBinaryData *s = &pb->string_table[i];
		size_t n = s->len ? strnlen((const char *)s->data, s->len) : 0;
		d->strmap[i] = profile_intern_n(d->p, (const char *)s->data, n);
		if (d->strmap[i] < 0)
			return -1;
	}
	return 0;
}

static int pprof_decode_value_type(struct decoder *d, const Perftools__Profiles__ValueType *v,
			     struct pf_value_type *out)
{
	if (pprof_str(d, v->type, &out->type) < 0)
		return -1;
	return pprof_str(d, v->unit, &out->unit);
}

static int pprof_decode_mappings(struct decoder *d)
{
	const PB *pb = d->pb;

	for (size_t i = 0; i < pb->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = pb->mapping[i];
		struct pf_mapping pm = {
			.memory_start = m->memory_start,
			.memory_limit = m->memory_limit,
			.file_offset = m->file_offset,
			.has_functions = m->has_functions,
			.has_filenames = m->has_filenames,
			.has_line_numbers = m->has_line_numbers,
			.has_inline_frames = m->has_inline_frames,
		};
		if (pprof_str(d, m->filename, &pm.filename) < 0 || pprof_str(d, m->build_id, &pm.build_id) < 0 ||
		    pprof_idmap_add(&d->mappings, m->id, "mapping") < 0 ||
		    profile_add_mapping(d->p, &pm) < 0)
			return -1;
	}
	return 0;
}

static int pprof_decode_functions(struct decoder *d)
{
	const PB *pb = d->pb;

	for (size_t i = 0; i < pb->n_function; i++) {
		const Perftools__Profiles__Function *f = pb->function[i];
		int64_t name = 0, sys = 0, file = 0, id;
		if (pprof_str(d, f->name, &name) < 0 || pprof_str(d, f->system_name, &sys) < 0 ||
		    pprof_str(d, f->filename, &file) < 0 ||
		    pprof_idmap_add(&d->functions, f->id, "function") < 0 ||
		    (id = profile_add_function(d->p, name, sys, file, f->start_line)) < 0)
			return -1;
		d->fnmap[i] = id;
	}
	return 0;
}

static int pprof_decode_locations(struct decoder *d)
{
	const PB *pb = d->pb;
	struct pf_line *lines = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < pb->n_location; i++) {
		const Perftools__Profiles__Location *l = pb->location[i];
		uint64_t mid = 0;
		int64_t id;
		if (l->mapping_id && !(mid = pprof_idmap_get(&d->mappings, l->mapping_id))) {
			cp_error("corrupt profile: location %llu names missing mapping %llu",
				 (unsigned long long)l->id, (unsigned long long)l->mapping_id);
			goto fail;
		}
		if (CP_GROW(lines, cap, l->n_line) < 0)
			goto fail;
		for (size_t j = 0; j < l->n_line; j++) {
			uint64_t fpos = pprof_idmap_get(&d->functions, l->line[j]->function_id);
			if (!fpos) {
				cp_error("corrupt profile: location %llu names missing function %llu",
					 (unsigned long long)l->id,
					 (unsigned long long)l->line[j]->function_id);
				goto fail;
			}
			lines[j].function_id = d->fnmap[fpos - 1];
			lines[j].line = l->line[j]->line;
		}
		if (pprof_idmap_add(&d->locations, l->id, "location") < 0)
			goto fail;
		id = profile_add_location(d->p, mid, l->address, lines, l->n_line, l->is_folded);
		if (id < 0)
			goto fail;
		d->locmap[i] = id;
	}
	free(lines);
	return 0;
fail:
	free(lines);
	return -1;
}

/* Every sum the views take of a sample type's values (totals, negated,
 * merged) stays within int64 when the magnitudes add up to at most this. */
#define MAX_MAGNITUDE ((uint64_t)1 << 62)

/* pprof's Prune by the profile's drop_frames and keep_frames, of the
 * locations now (their lines cut) and of the samples as they come. A
 * pattern cprof cannot translate is not applied, as pprof ignores one Go
 * cannot compile. Returns 0 or -1. */
static int pprof_decode_prune(struct decoder *d)
{
	struct profile *p = d->p;
	struct prune pr;

	if (!*profile_str(p, p->drop_frames) ||
	    prune_init(&pr, profile_str(p, p->drop_frames), profile_str(p, p->keep_frames)) < 0)
		return 0;
	d->prune = calloc(p->nlocations + 1, 1);
	if (!d->prune) {
		prune_release(&pr);
		return cp_error("out of memory");
	}
	for (size_t i = 0; i < p->nlocations; i++)
		d->prune[i] = (unsigned char)prune_lines(&pr, p, p->locations[i].lines,
							 &p->locations[i].nlines);
	prune_release(&pr);
	return 0;
}

static int pprof_decode_samples(struct decoder *d)
{
	const PB *pb = d->pb;
	uint64_t *locs = NULL, *magnitude;
	unsigned char *kinds = NULL;
	struct pf_label *labels = NULL;
	size_t lcap = 0, bcap = 0, kcap = 0, leaf = 0;
	int rc = -1;

	magnitude = calloc(pb->n_sample_type + 1, sizeof(*magnitude));
	if (!magnitude)
		return cp_error("out of memory");
	for (size_t i = 0; i < pb->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pb->sample[i];
		if (s->n_value != pb->n_sample_type) {
			cp_error("corrupt profile: sample %zu has %zu values for %zu sample types", i,
				 s->n_value, pb->n_sample_type);
			goto out;
		}
		for (size_t j = 0; j < s->n_value; j++) {
			uint64_t v = s->value[j] < 0 ? -(uint64_t)s->value[j] : (uint64_t)s->value[j];
			if (v > MAX_MAGNITUDE || (magnitude[j] += v) > MAX_MAGNITUDE) {
				cp_error("corrupt profile: the values of sample type %zu add up past 2^62", j);
				goto out;
			}
		}
		if (CP_GROW(locs, lcap, s->n_location_id) < 0 || CP_GROW(labels, bcap, s->n_label) < 0 ||
		    (d->prune && CP_GROW(kinds, kcap, s->n_location_id) < 0))
			goto out;
		for (size_t j = 0; j < s->n_location_id; j++) {
			uint64_t pos = pprof_idmap_get(&d->locations, s->location_id[j]);
			if (!pos) {
				cp_error("corrupt profile: sample %zu names missing location %llu", i,
					 (unsigned long long)s->location_id[j]);
				goto out;
			}
			locs[j] = d->locmap[pos - 1];
			if (d->prune)
				kinds[j] = d->prune[locs[j] - 1];
		}
		if (d->prune)
			leaf = prune_stack(kinds, s->n_location_id);
		for (size_t j = 0; j < s->n_label; j++) {
			const Perftools__Profiles__Label *l = s->label[j];
			labels[j].num = l->num;
			if (pprof_str(d, l->key, &labels[j].key) < 0 ||
			    pprof_str(d, l->str, &labels[j].str) < 0 ||
			    pprof_str(d, l->num_unit, &labels[j].num_unit) < 0)
				goto out;
		}
		/* (locs is NULL while no sample has had a location) */
		if (profile_add_sample(d->p, leaf ? locs + leaf : locs, s->n_location_id - leaf,
				       s->value, labels, s->n_label) < 0)
			goto out;
	}
	rc = 0;
out:
	free(kinds);
	free(locs);
	free(labels);
	free(magnitude);
	return rc;
}

static void pprof_idmap_init(struct idmap *im, size_t n)
{
	hmap_init(&im->m);
	im->n = 0;
	im->ids = malloc((n + 1) * sizeof(*im->ids));
}

static void pprof_idmap_release(struct idmap *im)
{
	hmap_release(&im->m);
	free(im->ids);
}

static struct profile *pprof_decode_pb(const PB *pb)
{
	struct decoder d = { .pb = pb };
	struct profile *p = profile_new();
	int ok = 0;

	if (!p)
		return NULL;
	d.p = p;
	d.locmap = malloc((pb->n_location + 1) * sizeof(*d.locmap));
	d.fnmap = malloc((pb->n_function + 1) * sizeof(*d.fnmap));
	pprof_idmap_init(&d.mappings, pb->n_mapping);
	pprof_idmap_init(&d.functions, pb->n_function);
	pprof_idmap_init(&d.locations, pb->n_location);
	if (!d.mappings.ids || !d.functions.ids || !d.locations.ids || !d.locmap || !d.fnmap) {
		cp_error("out of memory");
		goto out;
	}
	if (pprof_decode_strings(&d) < 0)
		goto out;
	/* Judged by content, not by the string table (which may repeat "" and
	 * would then pass here but not once cprof had written it back). */
	if (pb->n_sample_type == 0 && pb->n_sample == 0 && pb->n_location == 0 &&
	    pb->n_function == 0 && pb->n_mapping == 0) {
		cp_error("not a pprof profile (no sample types, samples or locations)");
		goto out;
	}
	p->sample_types = calloc(pb->n_sample_type + 1, sizeof(*p->sample_types));
	if (!p->sample_types) {
		cp_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < pb->n_sample_type; i++)
		if (pprof_decode_value_type(&d, pb->sample_type[i],
					    &p->sample_types[p->nsample_types++]) < 0)
			goto out;
	if (pb->period_type && pprof_decode_value_type(&d, pb->period_type, &p->period_type) < 0)
		goto out;
	if (pprof_str(&d, pb->drop_frames, &p->drop_frames) < 0 ||
	    pprof_str(&d, pb->keep_frames, &p->keep_frames) < 0 ||
	    pprof_str(&d, pb->default_sample_type, &p->default_sample_type) < 0)
		goto out;
	p->comments = calloc(pb->n_comment + 1, sizeof(*p->comments));
	if (!p->comments) {
		cp_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < pb->n_comment; i++)
		if (pprof_str(&d, pb->comment[i], &p->comments[p->ncomments++]) < 0)
			goto out;
	p->time_nanos = pb->time_nanos;
	p->duration_nanos = pb->duration_nanos;
	p->period = pb->period;
	if (pprof_decode_mappings(&d) < 0 || pprof_decode_functions(&d) < 0 ||
	    pprof_decode_locations(&d) < 0 || pprof_decode_prune(&d) < 0 ||
	    pprof_decode_samples(&d) < 0)
		goto out;
	ok = 1;
out:
	free(d.prune);
	free(d.strmap);
	free(d.locmap);
	free(d.fnmap);
	pprof_idmap_release(&d.mappings);
	pprof_idmap_release(&d.functions);
	pprof_idmap_release(&d.locations);
	if (!ok) {
		profile_free(p);
		return NULL;
	}
	return p;
}

/* Whether the LEN bytes at B look like text (as the legacy formats but
 * gperftools' CPU profile are), for the error when none of them reads it. */
static bool pprof_is_text(const unsigned char *b, size_t len)
{
	size_t n = len < 512 ? len : 512;

	for (size_t i = 0; i < n; i++)
		if ((b[i] < 0x20 && b[i] != '\t' && b[i] != '\n' && b[i] != '\r') || b[i] == 0x7f)
			return false;
	return n > 0;
}

#define UNKNOWN_TEXT "not a pprof protobuf profile, nor text in a legacy format that go tool " \
	"pprof reads (a Go goroutine, threadcreate, heap, block or mutex profile at debug=1, " \
	"a gperftools heap or contention profile)"

/* What pprof does when the bytes are no protobuf profile: the legacy
 * formats, tried in its order. PB_ERR is the protobuf's error, kept when
 * the bytes are in none of them and do not look like text. */
static struct profile *pprof_decode_legacy(const unsigned char *data, size_t len, int flags)
{
	char pb_err[256];
	struct profile *p;
	bool known;

	snprintf(pb_err, sizeof(pb_err), "%s", cp_errmsg());
	p = legacy_parse(data, len, flags, &known);
	if (!p && !known) {
		if (pprof_is_text(data, len))
			cp_error(UNKNOWN_TEXT);
		else
			cp_error("%s", pb_err);
	}
	return p;
}

/* pprof_decode, with legacy_parse's FLAGS for the legacy formats. */
static struct profile *pprof_decode_flags(const void *buf, size_t len, int flags)
{
	unsigned char *raw = NULL;
	size_t rawlen = len;
	const unsigned char *data = buf;
	struct profile *p = NULL;
	uint64_t max;
	PB *pb;

	if (len == 0) {
		cp_error("empty file, not a pprof profile");
		return NULL;
	}
	if (pprof_max_size(&max) < 0)
		return NULL;
	if (pprof_is_gzip(buf, len)) {
		if (pprof_gunzip(buf, len, max, &raw, &rawlen) < 0)
			return NULL;
		data = raw;
		if (rawlen == 0) {
			free(raw);
			cp_error("not a pprof profile (the gzip data is empty)");
			return NULL;
		}
	} else if (len > max) {
		pprof_too_big(max, len, "takes", false);
		return NULL;
	}
	pb = perftools__profiles__profile__unpack(NULL, rawlen, data);
	if (!pb)
		cp_error("not a pprof profile (malformed protobuf)");
	else
		p = pprof_decode_pb(pb);
	/* A text that decodes as a protobuf by chance fails the checks after. */
	if (!p)
		p = pprof_decode_legacy(data, rawlen, flags);
	free(raw);
	if (pb)
		perftools__profiles__profile__free_unpacked(pb, NULL);
	return p;
}

struct profile *pprof_decode(const void *buf, size_t len)
{
	return pprof_decode_flags(buf, len, 0);
}

struct profile *pprof_read(const char *path)
{
	struct profile *p;
	char *buf;
	size_t len;

	if (fetch_is_url(path) ? fetch_url(path, fetch_timeout_ns(path), &buf, &len) < 0 :
				 file_read_all(path, &buf, &len) < 0)
		return NULL;
	p = pprof_decode_flags(buf, len, LEGACY_SYMBOLIZE);
	free(buf);
	if (!p) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", cp_errmsg());
		cp_error("%s: %s", path, msg);
	}
	return p;
}

static int pprof_gzip(const void *in, size_t inlen, void **out, size_t *outlen)
{
	z_stream z;
	size_t cap;
	unsigned char *b;

	memset(&z, 0, sizeof(z));
	/* Fastest, as Go's runtime/pprof writes them: a few percent larger, a
	 * third of the time of the default level. */
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return cp_error("cannot start zlib");
	cap = deflateBound(&z, inlen) + 64;
	b = malloc(cap);
	if (!b) {
		deflateEnd(&z);
		return cp_error("out of memory");
	}
	z.next_in = (unsigned char *)in;
	z.avail_in = inlen;
	z.next_out = b;
	z.avail_out = cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(b);
		return cp_error("gzip compression failed");
	}
	*outlen = z.total_out;
	*out = b;
	deflateEnd(&z);
	return 0;
}

/* The protobuf-c view of P; all storage lives in one arena freed at once. */
struct encoder {
	PB pb;
	Perftools__Profiles__ValueType *vts, period_type;
	Perftools__Profiles__ValueType **vtp;
	Perftools__Profiles__Sample *samples, **samplep;
	Perftools__Profiles__Label *labels, **labelp;
	Perftools__Profiles__Mapping *mappings, **mappingp;
	Perftools__Profiles__Location *locations, **locationp;
	Perftools__Profiles__Line *lines, **linep;
	Perftools__Profiles__Function *functions, **functionp;
	ProtobufCBinaryData *strings;
};

static void pprof_encoder_release(struct encoder *e)
{
	free(e->vts);
	free(e->vtp);
	free(e->samples);
	free(e->samplep);
	free(e->labels);
	free(e->labelp);
	free(e->mappings);
	free(e->mappingp);
	free(e->locations);
	free(e->locationp);
	free(e->lines);
	free(e->linep);
	free(e->functions);
	free(e->functionp);
	free(e->strings);
}

#define ALLOC(ptr, n) ((ptr) = calloc((n) + 1, sizeof(*(ptr))))

/* Point each of the N pointers at PTRS at its element of ITEMS: protobuf-c
 * takes repeated messages as arrays of pointers. */
#define POINT(ptrs, items, n)                          \
	do {                                           \
		for (size_t i_ = 0; i_ < (n); i_++)    \
			(ptrs)[i_] = &(items)[i_];     \
	} while (0)

/* Make repeated field F of the profile message at PB the N items at ARR. */
#define REPEATED(f, arr, n) (pb->n_##f = (n), pb->f = (arr))

/* Mapping ID as written: the main executable's first, as pprof takes the
 * first mapping for the profile's binary, and the others after it in order. */
static uint64_t pprof_encoder_mapping_id(const struct profile *p, uint64_t id)
{
	uint64_t main = p->main_mapping;

	if (!main || main > p->nmappings || !id)
		return id;
	return id == main ? 1 : id < main ? id + 1 : id;
}

/* The arrays for P's messages and the pointers to them, one spare each. */
static int pprof_encoder_alloc(struct encoder *e, const struct profile *p)
{
	size_t nlabels = 0, nlines = 0;

	for (size_t i = 0; i < p->nsamples; i++)
		nlabels += p->samples[i].nlabels;
	for (size_t i = 0; i < p->nlocations; i++)
		nlines += p->locations[i].nlines;
	if (!ALLOC(e->vts, p->nsample_types) || !ALLOC(e->vtp, p->nsample_types) ||
	    !ALLOC(e->samples, p->nsamples) || !ALLOC(e->samplep, p->nsamples) ||
	    !ALLOC(e->labels, nlabels) || !ALLOC(e->labelp, nlabels) ||
	    !ALLOC(e->mappings, p->nmappings) || !ALLOC(e->mappingp, p->nmappings) ||
	    !ALLOC(e->locations, p->nlocations) || !ALLOC(e->locationp, p->nlocations) ||
	    !ALLOC(e->lines, nlines) || !ALLOC(e->linep, nlines) ||
	    !ALLOC(e->functions, p->nfunctions) || !ALLOC(e->functionp, p->nfunctions) ||
	    !ALLOC(e->strings, p->nstrings))
		return cp_error("out of memory");
	POINT(e->vtp, e->vts, p->nsample_types);
	POINT(e->samplep, e->samples, p->nsamples);
	POINT(e->labelp, e->labels, nlabels);
	POINT(e->mappingp, e->mappings, p->nmappings);
	POINT(e->locationp, e->locations, p->nlocations);
	POINT(e->linep, e->lines, nlines);
	POINT(e->functionp, e->functions, p->nfunctions);
	return 0;
}

static Perftools__Profiles__ValueType pprof_value_type(const struct pf_value_type *v)
{
	Perftools__Profiles__ValueType pv = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;

	pv.type = v->type;
	pv.unit = v->unit;
	return pv;
}

static Perftools__Profiles__Label pprof_label(const struct pf_label *l)
{
	Perftools__Profiles__Label pl = PERFTOOLS__PROFILES__LABEL__INIT;

	pl.key = l->key;
	pl.str = l->str;
	pl.num = l->num;
	pl.num_unit = l->num_unit;
	return pl;
}

/* The samples, each with its labels, which follow those of the sample before. */
static void pprof_encoder_samples(struct encoder *e, const struct profile *p)
{
	size_t li = 0;

	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pf_sample *s = &p->samples[i];
		Perftools__Profiles__Sample *ps = &e->samples[i];

		perftools__profiles__sample__init(ps);
		ps->n_location_id = s->nlocs;
		ps->location_id = s->locs;
		ps->n_value = p->nsample_types;
		ps->value = s->values;
		ps->n_label = s->nlabels;
		ps->label = &e->labelp[li];
		for (size_t j = 0; j < s->nlabels; j++)
			e->labels[li++] = pprof_label(&s->labels[j]);
	}
}

/* The mappings, in the order pprof_encoder_mapping_id gives them. */
static void pprof_encoder_mappings(struct encoder *e, const struct profile *p)
{
	for (size_t i = 0; i < p->nmappings; i++) {
		const struct pf_mapping *m = &p->mappings[i];
		uint64_t id = pprof_encoder_mapping_id(p, i + 1);
		Perftools__Profiles__Mapping *pm = &e->mappings[id - 1];

		perftools__profiles__mapping__init(pm);
		pm->id = id;
		pm->memory_start = m->memory_start;
		pm->memory_limit = m->memory_limit;
		pm->file_offset = m->file_offset;
		pm->filename = m->filename;
		pm->build_id = m->build_id;
		pm->has_functions = m->has_functions;
		pm->has_filenames = m->has_filenames;
		pm->has_line_numbers = m->has_line_numbers;
		pm->has_inline_frames = m->has_inline_frames;
	}
}

/* The locations, each with its lines, which follow those of the one before. */
static void pprof_encoder_locations(struct encoder *e, const struct profile *p)
{
	size_t ni = 0;

	for (size_t i = 0; i < p->nlocations; i++) {
		const struct pf_location *l = &p->locations[i];
		Perftools__Profiles__Location *pl = &e->locations[i];

		perftools__profiles__location__init(pl);
		pl->id = i + 1;
		pl->mapping_id = pprof_encoder_mapping_id(p, l->mapping_id);
		pl->address = l->address;
		pl->is_folded = l->is_folded;
		pl->n_line = l->nlines;
		pl->line = &e->linep[ni];
		for (size_t j = 0; j < l->nlines; j++, ni++) {
			perftools__profiles__line__init(&e->lines[ni]);
			e->lines[ni].function_id = l->lines[j].function_id;
			e->lines[ni].line = l->lines[j].line;
		}
	}
}

static void pprof_encoder_functions(struct encoder *e, const struct profile *p)
{
	for (size_t i = 0; i < p->nfunctions; i++) {
		const struct pf_function *f = &p->functions[i];
		Perftools__Profiles__Function *pf = &e->functions[i];

		perftools__profiles__function__init(pf);
		pf->id = i + 1;
		pf->name = f->name;
		pf->system_name = f->system_name;
		pf->filename = f->filename;
		pf->start_line = f->start_line;
	}
}

static int pprof_encoder_fill(struct encoder *e, const struct profile *p)
{
	PB *pb = &e->pb;

	if (pprof_encoder_alloc(e, p) < 0)
		return -1;
	for (size_t i = 0; i < p->nsample_types; i++)
		e->vts[i] = pprof_value_type(&p->sample_types[i]);
	pprof_encoder_samples(e, p);
	pprof_encoder_mappings(e, p);
	pprof_encoder_locations(e, p);
	pprof_encoder_functions(e, p);
	for (size_t i = 0; i < p->nstrings; i++) {
		e->strings[i].data = (uint8_t *)p->strings[i];
		e->strings[i].len = strlen(p->strings[i]);
	}
	perftools__profiles__profile__init(pb);
	REPEATED(sample_type, e->vtp, p->nsample_types);
	REPEATED(sample, e->samplep, p->nsamples);
	REPEATED(mapping, e->mappingp, p->nmappings);
	REPEATED(location, e->locationp, p->nlocations);
	REPEATED(function, e->functionp, p->nfunctions);
	REPEATED(string_table, e->strings, p->nstrings);
	pb->drop_frames = p->drop_frames;
	pb->keep_frames = p->keep_frames;
	pb->time_nanos = p->time_nanos;
	pb->duration_nanos = p->duration_nanos;
	if (p->period_type.type || p->period_type.unit) {
		e->period_type = pprof_value_type(&p->period_type);
		pb->period_type = &e->period_type;
	}
	pb->period = p->period;
	pb->n_comment = p->ncomments;
	pb->comment = p->comments;
	pb->default_sample_type = p->default_sample_type;
	return 0;
}

int pprof_encode(const struct profile *p, void **buf, size_t *len)
{
	struct encoder e;
	uint8_t *raw = NULL;
	size_t rawlen;
	int rc = -1;

	memset(&e, 0, sizeof(e));
	if (pprof_encoder_fill(&e, p) < 0)
		goto out;
	rawlen = perftools__profiles__profile__get_packed_size(&e.pb);
	raw = malloc(rawlen + 1);
	if (!raw) {
		cp_error("out of memory");
		goto out;
	}
	perftools__profiles__profile__pack(&e.pb, raw);
	rc = pprof_gzip(raw, rawlen, buf, len);
out:
	free(raw);
	pprof_encoder_release(&e);
	return rc;
}

int pprof_write(const struct profile *p, const char *path)
{
	void *buf;
	size_t len;
	int rc;

	if (pprof_encode(p, &buf, &len) < 0)
		return -1;
	rc = file_write_output(path, buf, len);
	free(buf);
	return rc;
}

/* pprof's removeMatching: NAME without its groups START..END (nested ones
 * whole), in place; unchanged where they do not match up. */
static void pprof_remove_matching(char *name, char start, char end)
{
	size_t len = strlen(name), first = 0;
	int nesting = 0;
	char *copy = strdup(name);

	if (!copy)
		return;
	for (size_t i = 0; i < len; i++) {
		if (copy[i] == start && nesting++ == 0)
			first = i;
		else if (copy[i] == end && --nesting < 0) {
			free(copy);
			return; /* a mismatch: left as it was */
		} else if (copy[i] == end && nesting == 0) {
			memmove(copy + first, copy + i + 1, len - i);
			len -= i + 1 - first;
			i = first - 1;
		}
	}
	memcpy(name, copy, len + 1);
	free(copy);
}

/* pprof's looksLikeDemangledCPlusPlus. */
static bool pprof_looks_cplusplus(const char *name)
{
	return !strstr(name, ".<") && !strstr(name, "]).") &&
	       (strpbrk(name, "<>[]") || strstr(name, "::"));
}

/* What pprof's default demangling makes of SYS: demangled without its
 * parameters and templates, into a new string; NULL for SYS itself. */
static char *pprof_simple_name(const char *sys)
{
	char *d = strncmp(sys, "_Z", 2) == 0 ? cplus_demangle_v3(sys, DMGL_ANSI) : NULL;

	if (!d && !pprof_looks_cplusplus(sys))
		return NULL;
	if (!d) {
		if (!(d = strdup(sys)))
			return NULL;
		pprof_remove_matching(d, '(', ')');
	}
	pprof_remove_matching(d, '<', '>');
	return d;
}

int pprof_simplify_names(struct profile *p)
{
	for (size_t i = 0; i < p->nfunctions; i++) {
		struct pf_function *f = &p->functions[i];
		const char *sys = profile_str(p, f->system_name);
		char *simple;
		int64_t s;
		if (f->name && f->name != f->system_name &&
		    strcmp(profile_str(p, f->name), sys) != 0)
			continue; /* demangled already */
		if (!(simple = pprof_simple_name(sys))) {
			f->name = f->system_name;
			continue;
		}
		s = profile_intern(p, simple);
		free(simple);
		if (s < 0)
			return -1;
		f->name = s;
	}
	return 0;
}
