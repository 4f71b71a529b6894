/* The profile model: building, interning and merging; see profile.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "profile.h"

struct profile *profile_new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p) {
		cp_error("out of memory");
		return NULL;
	}
	intern_init(&p->strtab);
	hmap_init(&p->sample_index);
	hmap_init(&p->location_index);
	hmap_init(&p->function_index);
	if (profile_intern(p, "") != 0) {
		profile_free(p);
		return NULL;
	}
	return p;
}

struct profile *profile_new_like(const struct profile *src)
{
	struct profile *p = profile_new();

	if (!p)
		goto fail;
	for (size_t i = 0; i < src->nsample_types; i++)
		if (profile_add_sample_type(p, profile_str(src, src->sample_types[i].type),
					    profile_str(src, src->sample_types[i].unit)) < 0)
			goto fail;
	p->period_type.type = profile_intern(p, profile_str(src, src->period_type.type));
	p->period_type.unit = profile_intern(p, profile_str(src, src->period_type.unit));
	p->default_sample_type = profile_intern(p, profile_str(src, src->default_sample_type));
	if (p->period_type.type < 0 || p->period_type.unit < 0 || p->default_sample_type < 0)
		goto fail;
	p->period = src->period;
	return p;
fail:
	profile_free(p);
	cp_error("out of memory");
	return NULL;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsamples; i++) {
		free(p->samples[i].locs);
		free(p->samples[i].values);
		free(p->samples[i].labels);
	}
	for (size_t i = 0; i < p->nlocations; i++)
		free(p->locations[i].lines);
	free(p->samples);
	free(p->locations);
	free(p->functions);
	free(p->mappings);
	intern_release(&p->strtab);
	free(p->sample_types);
	free(p->comments);
	hmap_release(&p->sample_index);
	hmap_release(&p->location_index);
	hmap_release(&p->function_index);
	free(p);
}

const char *profile_str(const struct profile *p, int64_t i)
{
	if (i < 0 || (size_t)i >= p->nstrings)
		return "";
	return p->strings[i];
}

int64_t profile_intern_n(struct profile *p, const char *s, size_t n)
{
	return intern_n(&p->strtab, s, n);
}

int64_t profile_intern(struct profile *p, const char *s)
{
	return profile_intern_n(p, s, strlen(s));
}

int profile_add_comment(struct profile *p, const char *text)
{
	int64_t s = profile_intern(p, text), *c;

	if (s < 0)
		return -1;
	c = realloc(p->comments, (p->ncomments + 1) * sizeof(*c));
	if (!c)
		return cp_error("out of memory");
	p->comments = c;
	c[p->ncomments++] = s;
	return 0;
}

int profile_add_sample_type(struct profile *p, const char *type, const char *unit)
{
	struct pf_value_type *vt;
	int64_t t = profile_intern(p, type), u = profile_intern(p, unit);

	if (t < 0 || u < 0)
		return -1;
	if (p->nsamples)
		return cp_error("sample types must precede samples");
	vt = realloc(p->sample_types, (p->nsample_types + 1) * sizeof(*vt));
	if (!vt)
		return cp_error("out of memory");
	p->sample_types = vt;
	vt[p->nsample_types].type = t;
	vt[p->nsample_types++].unit = u;
	return 0;
}

struct function_key {
	const struct profile *p;
	struct pf_function f;
};

static int profile_function_eq(void *ctx, uint32_t idx)
{
	struct function_key *k = ctx;

	return memcmp(&k->p->functions[idx], &k->f, sizeof(k->f)) == 0;
}

int64_t profile_add_function(struct profile *p, int64_t name, int64_t system_name,
			     int64_t filename, int64_t start_line)
{
	struct function_key k = { p, { name, system_name, filename, start_line } };
	uint64_t h = hash_bytes(HASH_SEED, &k.f, sizeof(k.f));
	int64_t i = hmap_find(&p->function_index, h, profile_function_eq, &k);

	if (i >= 0)
		return i + 1;
	if (CP_GROW(p->functions, p->functions_cap, p->nfunctions + 1) < 0 ||
	    hmap_insert(&p->function_index, h, p->nfunctions) < 0)
		return -1;
	p->functions[p->nfunctions++] = k.f;
	return p->nfunctions;
}

int64_t profile_add_mapping(struct profile *p, const struct pf_mapping *m)
{
	if (CP_GROW(p->mappings, p->mappings_cap, p->nmappings + 1) < 0)
		return -1;
	p->mappings[p->nmappings++] = *m;
	return p->nmappings;
}

struct location_key {
	const struct profile *p;
	uint64_t mapping_id, address;
	const struct pf_line *lines;
	size_t nlines;
	bool is_folded;
};

static int profile_location_eq(void *ctx, uint32_t idx)
{
	struct location_key *k = ctx;
	const struct pf_location *l = &k->p->locations[idx];

	return l->mapping_id == k->mapping_id && l->address == k->address &&
	       l->nlines == k->nlines && l->is_folded == k->is_folded &&
	       (!k->nlines || memcmp(l->lines, k->lines, k->nlines * sizeof(*k->lines)) == 0);
}

int64_t profile_add_location(struct profile *p, uint64_t mapping_id, uint64_t address,
			     const struct pf_line *lines, size_t nlines, bool is_folded)
{
	struct location_key k = { p, mapping_id, address, lines, nlines, is_folded };
	uint64_t h = hash_bytes(HASH_SEED, &mapping_id, sizeof(mapping_id));
	struct pf_location *l;
	int64_t i;

	h = hash_bytes(h, &address, sizeof(address));
	if (nlines)
		h = hash_bytes(h, lines, nlines * sizeof(*lines));
	h = hash_bytes(h, &is_folded, sizeof(is_folded));
	i = hmap_find(&p->location_index, h, profile_location_eq, &k);
	if (i >= 0)
		return i + 1;
	if (CP_GROW(p->locations, p->locations_cap, p->nlocations + 1) < 0)
		return -1;
	l = &p->locations[p->nlocations];
	l->mapping_id = mapping_id;
	l->address = address;
	l->nlines = nlines;
	l->is_folded = is_folded;
	l->lines = NULL;
	if (nlines) {
		l->lines = malloc(nlines * sizeof(*lines));
		if (!l->lines) {
			cp_error("out of memory");
			return -1;
		}
		memcpy(l->lines, lines, nlines * sizeof(*lines));
	}
	if (hmap_insert(&p->location_index, h, p->nlocations) < 0) {
		free(l->lines);
		return -1;
	}
	return ++p->nlocations;
}

int64_t profile_add_marker(struct profile *p, const char *name)
{
	int64_t s = profile_intern(p, name), f;
	struct pf_line line = { 0, 0 };

	if (s < 0 || (f = profile_add_function(p, s, s, 0, 0)) < 0)
		return -1;
	line.function_id = f;
	return profile_add_location(p, 0, 0, &line, 1, false);
}

struct sample_key {
	const struct profile *p;
	const uint64_t *locs;
	size_t nlocs;
	const struct pf_label *labels;
	size_t nlabels;
};

static int profile_sample_eq(void *ctx, uint32_t idx)
{
	struct sample_key *k = ctx;
	const struct pf_sample *s = &k->p->samples[idx];

	return s->nlocs == k->nlocs && s->nlabels == k->nlabels &&
	       (!k->nlocs || memcmp(s->locs, k->locs, k->nlocs * sizeof(*k->locs)) == 0) &&
	       (!k->nlabels || memcmp(s->labels, k->labels, k->nlabels * sizeof(*k->labels)) == 0);
}

int profile_add_sample(struct profile *p, const uint64_t *locs, size_t nlocs,
		       const int64_t *values, const struct pf_label *labels, size_t nlabels)
{
	struct sample_key k = { p, locs, nlocs, labels, nlabels };
	uint64_t h = HASH_SEED;
	struct pf_sample *s;
	int64_t i;

	if (nlocs)
		h = hash_bytes(h, locs, nlocs * sizeof(*locs));
	if (nlabels)
		h = hash_bytes(h, labels, nlabels * sizeof(*labels));
	i = hmap_find(&p->sample_index, h, profile_sample_eq, &k);
	if (i >= 0) {
		s = &p->samples[i];
		for (size_t v = 0; v < p->nsample_types; v++)
			s->values[v] += values[v];
		return 0;
	}
	if (p->nsamples >= UINT32_MAX)
		return cp_error("too many samples");
	if (CP_GROW(p->samples, p->samples_cap, p->nsamples + 1) < 0)
		return -1;
	s = &p->samples[p->nsamples];
	memset(s, 0, sizeof(*s));
	s->nlocs = nlocs;
	s->nlabels = nlabels;
	s->locs = malloc(nlocs * sizeof(*locs) + 1);
	s->values = malloc(p->nsample_types * sizeof(*values) + 1);
	s->labels = malloc(nlabels * sizeof(*labels) + 1);
	if (!s->locs || !s->values || !s->labels)
		goto fail;
	if (nlocs)
		memcpy(s->locs, locs, nlocs * sizeof(*locs));
	if (p->nsample_types)
		memcpy(s->values, values, p->nsample_types * sizeof(*values));
	if (nlabels)
		memcpy(s->labels, labels, nlabels * sizeof(*labels));
	if (hmap_insert(&p->sample_index, h, p->nsamples) < 0)
		goto fail;
	p->nsamples++;
	return 0;
fail:
	free(s->locs);
	free(s->values);
	free(s->labels);
	return cp_error("out of memory");
}

int profile_sample_index(const struct profile *p, const char *name)
{
	char *end;
	long n;

	if (!p->nsample_types)
		return cp_error("the profile has no sample types");
	if (!name) {
		for (size_t i = 0; p->default_sample_type && i < p->nsample_types; i++)
			if (p->sample_types[i].type == p->default_sample_type)
				return i;
		return p->nsample_types - 1;
	}
	for (size_t i = 0; i < p->nsample_types; i++)
		if (strcmp(profile_str(p, p->sample_types[i].type), name) == 0)
			return i;
	errno = 0;
	n = strtol(name, &end, 10);
	if (*name && !*end && !errno && n >= 0 && (size_t)n < p->nsample_types)
		return n;
	{
		char list[256] = "";
		size_t used = 0;
		for (size_t i = 0; i < p->nsample_types && used < sizeof(list); i++) {
			int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 profile_str(p, p->sample_types[i].type));
			if (w > 0)
				used += w;
		}
		return cp_error("no sample type '%s' (the profile has: %s)", name, list);
	}
}

int profile_count_index(const struct profile *p, int si)
{
	const char *type = profile_str(p, p->sample_types[si].type), *us = strchr(type, '_');
	int first = -1;

	if (strcmp(profile_str(p, p->sample_types[si].unit), "count") == 0)
		return si;
	for (size_t i = 0; i < p->nsample_types; i++) {
		const char *t = profile_str(p, p->sample_types[i].type);
		if (strcmp(profile_str(p, p->sample_types[i].unit), "count") != 0)
			continue;
		if (us && strncmp(t, type, us - type + 1) == 0)
			return i;
		if (first < 0)
			first = i;
	}
	return first < 0 ? si : first;
}

/* Model ids of SRC's strings, functions, mappings and locations in DST,
 * made on first use (0: not yet). */
struct copy_map {
	int64_t *strings;
	uint64_t *functions, *mappings, *locations;
	/* As pprof's merge: a mapping of the same binary (build id, else file;
	 * rounded size; offset) as one DST has is that one, its locations'
	 * addresses moved by DELTA (DST's start less SRC's). */
	bool unify;
	int64_t *delta;
};

/* pprof's Mapping.key: whether A of PA and B of PB map the same binary. */
static bool profile_same_mapping(const struct profile *pa, const struct pf_mapping *a,
				 const struct profile *pb, const struct pf_mapping *b)
{
	uint64_t sa = a->memory_limit - a->memory_start + 0xfff;
	uint64_t sb = b->memory_limit - b->memory_start + 0xfff;
	const char *ka = *profile_str(pa, a->build_id) ? profile_str(pa, a->build_id) :
							 profile_str(pa, a->filename);
	const char *kb = *profile_str(pb, b->build_id) ? profile_str(pb, b->build_id) :
							 profile_str(pb, b->filename);

	return sa - sa % 0x1000 == sb - sb % 0x1000 && a->file_offset == b->file_offset &&
	       strcmp(ka, kb) == 0;
}

static int64_t profile_copy_string(struct profile *dst, const struct profile *src,
				   struct copy_map *m, int64_t i)
{
	if (!m->strings[i])
		m->strings[i] = i ? profile_intern(dst, src->strings[i]) : 0;
	return m->strings[i];
}

/* DST's id of SRC's mapping ID, copied the first time; -1 on error. */
static int64_t profile_copy_mapping(struct profile *dst, const struct profile *src,
				    struct copy_map *m, uint64_t id)
{
	for (size_t i = 0; m->unify && !m->mappings[id - 1] && i < dst->nmappings; i++)
		if (profile_same_mapping(dst, &dst->mappings[i], src, &src->mappings[id - 1])) {
			m->mappings[id - 1] = i + 1;
			m->delta[id - 1] = (int64_t)(dst->mappings[i].memory_start -
						     src->mappings[id - 1].memory_start);
		}
	if (!m->mappings[id - 1]) {
		struct pf_mapping pm = src->mappings[id - 1];
		int64_t mid;
		pm.filename = profile_copy_string(dst, src, m, pm.filename);
		pm.build_id = profile_copy_string(dst, src, m, pm.build_id);
		if (pm.filename < 0 || pm.build_id < 0 || (mid = profile_add_mapping(dst, &pm)) < 0)
			return -1;
		m->mappings[id - 1] = mid;
	}
	return m->mappings[id - 1];
}

static int64_t profile_copy_location(struct profile *dst, const struct profile *src,
				     struct copy_map *m, uint64_t id)
{
	const struct pf_location *l = &src->locations[id - 1];
	struct pf_line lines[PF_MAX_LINES];
	int64_t mid = 0, lid;
	size_t n = l->nlines < PF_MAX_LINES ? l->nlines : PF_MAX_LINES;

	if (m->locations[id - 1])
		return m->locations[id - 1];
	if (l->mapping_id && (mid = profile_copy_mapping(dst, src, m, l->mapping_id)) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint64_t fid = l->lines[i].function_id;
		if (!m->functions[fid - 1]) {
			const struct pf_function *f = &src->functions[fid - 1];
			int64_t name = profile_copy_string(dst, src, m, f->name);
			int64_t sys = profile_copy_string(dst, src, m, f->system_name);
			int64_t file = profile_copy_string(dst, src, m, f->filename);
			int64_t nf;
			if (name < 0 || sys < 0 || file < 0 ||
			    (nf = profile_add_function(dst, name, sys, file, f->start_line)) < 0)
				return -1;
			m->functions[fid - 1] = nf;
		}
		lines[i].function_id = m->functions[fid - 1];
		lines[i].line = l->lines[i].line;
	}
	lid = profile_add_location(dst, mid,
				   l->mapping_id && m->delta ?
					   l->address + (uint64_t)m->delta[l->mapping_id - 1] :
					   l->address,
				   lines, n, l->is_folded);
	if (lid < 0)
		return -1;
	return m->locations[id - 1] = lid;
}

int profile_add_profile(struct profile *dst, const struct profile *src, int si, double scale,
			const char *label_key, const char *label_value)
{
	size_t n = dst->nsample_types;
	int *sis = malloc((n + 1) * sizeof(*sis));
	double *scales = malloc((n + 1) * sizeof(*scales));
	int rc = -1;

	if (!sis || !scales)
		cp_error("out of memory");
	else if (si < 0 && n != src->nsample_types)
		cp_error("cannot add a profile of %zu sample types to one of %zu",
			 src->nsample_types, n);
	else if (si >= 0 && n != 1)
		cp_error("cannot add one sample type to a profile of %zu", n);
	else {
		for (size_t k = 0; k < n; k++) {
			sis[k] = si < 0 ? (int)k : si;
			scales[k] = scale;
		}
		rc = profile_add_values(dst, src, sis, scales, label_key, label_value);
	}
	free(sis);
	free(scales);
	return rc;
}

static int profile_add_copy(struct profile *dst, const struct profile *src, const int *si,
			    const double *scale, const char *label_key, const char *label_value,
			    bool unify);

int profile_add_values(struct profile *dst, const struct profile *src, const int *si,
		       const double *scale, const char *label_key, const char *label_value)
{
	return profile_add_copy(dst, src, si, scale, label_key, label_value, false);
}

/* profile_add_values, mappings of one binary made one where UNIFY. */
static int profile_add_copy(struct profile *dst, const struct profile *src, const int *si,
			    const double *scale, const char *label_key, const char *label_value,
			    bool unify)
{
	struct copy_map m = { .unify = unify };
	uint64_t *locs = NULL;
	struct pf_label *labels = NULL;
	size_t maxlocs = 1, maxlabels = 1, nv = dst->nsample_types;
	int64_t key = 0, value = 0, *v = NULL;
	int rc = -1;

	if (label_key && ((key = profile_intern(dst, label_key)) < 0 ||
			  (value = profile_intern(dst, label_value)) < 0))
		return -1;
	for (size_t i = 0; i < src->nsamples; i++) {
		if (src->samples[i].nlocs > maxlocs)
			maxlocs = src->samples[i].nlocs;
		if (src->samples[i].nlabels + 1 > maxlabels)
			maxlabels = src->samples[i].nlabels + 1;
	}
	m.strings = calloc(src->nstrings + 1, sizeof(*m.strings));
	m.functions = calloc(src->nfunctions + 1, sizeof(*m.functions));
	m.mappings = calloc(src->nmappings + 1, sizeof(*m.mappings));
	m.locations = calloc(src->nlocations + 1, sizeof(*m.locations));
	m.delta = calloc(src->nmappings + 1, sizeof(*m.delta));
	locs = malloc(maxlocs * sizeof(*locs));
	labels = malloc(maxlabels * sizeof(*labels));
	v = malloc((nv ? nv : 1) * sizeof(*v));
	if (!m.strings || !m.functions || !m.mappings || !m.locations || !m.delta || !locs ||
	    !labels || !v) {
		cp_error("out of memory");
		goto out;
	}
	/* The first profile added gives the main executable. */
	if (!dst->nmappings && src->nmappings) {
		uint64_t main = src->main_mapping && src->main_mapping <= src->nmappings ?
			src->main_mapping : 1;
		int64_t mid = profile_copy_mapping(dst, src, &m, main);
		if (mid < 0)
			goto out;
		dst->main_mapping = mid;
	}
	for (size_t i = 0; i < src->nsamples; i++) {
		const struct pf_sample *s = &src->samples[i];
		size_t nl = 0;
		for (size_t k = 0; k < nv; k++)
			v[k] = llround(s->values[si[k]] * scale[k]);
		for (size_t j = 0; j < s->nlocs; j++) {
			int64_t lid = profile_copy_location(dst, src, &m, s->locs[j]);
			if (lid < 0)
				goto out;
			locs[j] = lid;
		}
		for (size_t j = 0; j < s->nlabels; j++, nl++) {
			labels[nl] = s->labels[j];
			labels[nl].key = profile_copy_string(dst, src, &m, s->labels[j].key);
			labels[nl].str = profile_copy_string(dst, src, &m, s->labels[j].str);
			labels[nl].num_unit =
				profile_copy_string(dst, src, &m, s->labels[j].num_unit);
			if (labels[nl].key < 0 || labels[nl].str < 0 || labels[nl].num_unit < 0)
				goto out;
		}
		if (label_key)
			labels[nl++] = (struct pf_label){ key, value, 0, 0 };
		if (profile_add_sample(dst, locs, s->nlocs, v, labels, nl) < 0)
			goto out;
	}
	rc = 0;
out:
	free(v);
	free(m.strings);
	free(m.functions);
	free(m.mappings);
	free(m.locations);
	free(m.delta);
	free(locs);
	free(labels);
	return rc;
}

int64_t profile_total(const struct profile *p, int si)
{
	int64_t t = 0;

	for (size_t i = 0; i < p->nsamples; i++)
		t += p->samples[i].values[si];
	return t;
}

/* Whether type T of A is type U of B. */
static bool profile_same_type(const struct profile *a, const struct pf_value_type *t,
			      const struct profile *b, const struct pf_value_type *u)
{
	return strcmp(profile_str(a, t->type), profile_str(b, u->type)) == 0 &&
	       strcmp(profile_str(a, t->unit), profile_str(b, u->unit)) == 0;
}

bool profile_compatible(const struct profile *a, const struct profile *b)
{
	if (a->nsample_types != b->nsample_types ||
	    !profile_same_type(a, &a->period_type, b, &b->period_type))
		return false;
	for (size_t i = 0; i < a->nsample_types; i++)
		if (!profile_same_type(a, &a->sample_types[i], b, &b->sample_types[i]))
			return false;
	return true;
}

/* Whether each sample type's magnitudes in P add up to 2^62 at most, the
 * bound the reader holds a profile to, so that no sum overflows. */
static bool profile_merge_bounded(const struct profile *p)
{
	for (size_t t = 0; t < p->nsample_types; t++) {
		uint64_t sum = 0;
		for (size_t i = 0; i < p->nsamples; i++) {
			int64_t v = p->samples[i].values[t];
			uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
			if (m > ((uint64_t)1 << 62) - sum)
				return false;
			sum += m;
		}
	}
	return true;
}

/* All of SRC's values into DST, its mappings of binaries DST has already
 * made DST's. */
static int profile_merge_all(struct profile *dst, const struct profile *src)
{
	int *si = malloc((src->nsample_types + 1) * sizeof(*si));
	double *scale = malloc((src->nsample_types + 1) * sizeof(*scale));
	int rc = -1;

	if (!si || !scale)
		cp_error("out of memory");
	else {
		for (size_t k = 0; k < src->nsample_types; k++) {
			si[k] = (int)k;
			scale[k] = 1.0;
		}
		rc = profile_add_copy(dst, src, si, scale, NULL, NULL, true);
	}
	free(si);
	free(scale);
	return rc;
}

int profile_merge(struct profile **dst, const struct profile *src)
{
	bool fresh = !*dst;

	if (fresh && !(*dst = profile_new_like(src)))
		return -1;
	if (!profile_compatible(*dst, src))
		return cp_error("its sample types or period type differ from the first profile's: "
				"profiles of different kinds cannot be merged");
	if (profile_merge_all(*dst, src) < 0)
		return -1;
	if (src->period > (*dst)->period)
		(*dst)->period = src->period;
	if (!profile_merge_bounded(*dst))
		return cp_error("its values and the others' add up past 2^62, more than a "
				"profile may hold");
	/* Comments once each, as pprof merges them. */
	for (size_t i = 0; i < src->ncomments; i++) {
		const char *c = profile_str(src, src->comments[i]);
		bool seen = false;
		for (size_t j = 0; j < (*dst)->ncomments && !seen; j++)
			seen = strcmp(profile_str(*dst, (*dst)->comments[j]), c) == 0;
		if (!seen && profile_add_comment(*dst, c) < 0)
			return -1;
	}
	/* The first profile that names a default sample type names it. */
	if (!*profile_str(*dst, (*dst)->default_sample_type) && src->default_sample_type) {
		int64_t t = profile_intern(*dst, profile_str(src, src->default_sample_type));
		if (t < 0)
			return -1;
		(*dst)->default_sample_type = t;
	}
	if (src->time_nanos && (fresh || !(*dst)->time_nanos || src->time_nanos < (*dst)->time_nanos))
		(*dst)->time_nanos = src->time_nanos;
	(*dst)->duration_nanos += src->duration_nanos;
	return 0;
}

bool profile_label_set(const struct pf_label *l)
{
	return l->str || l->num || l->num_unit;
}

int profile_num_units(const struct profile *p, const char ***units)
{
	const char **u = calloc(p->nstrings + 1, sizeof(*u));

	if (!u)
		return cp_error("out of memory");
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pf_sample *s = &p->samples[i];
		for (size_t j = 0; j < s->nlabels; j++) {
			const struct pf_label *l = &s->labels[j];
			if (l->str || !profile_label_set(l) || l->key < 0 ||
			    (size_t)l->key >= p->nstrings)
				continue;
			if (l->num_unit && (!u[l->key] || !*u[l->key]))
				u[l->key] = profile_str(p, l->num_unit);
			else if (!u[l->key])
				u[l->key] = "";
		}
	}
	for (size_t k = 0; k < p->nstrings; k++) {
		const char *key = profile_str(p, k);
		if (!u[k] || *u[k])
			continue;
		u[k] = strcmp(key, "request") == 0 || strcmp(key, "alignment") == 0 ? "bytes" : key;
	}
	*units = u;
	return 0;
}
