/* Share-based comparison of two profiles; see diff.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "errmsg.h"
#include "grow.h"
#include "hmap.h"

struct row_key {
	const struct diff_row *rows;
	const char *name;
};

static int diff_row_eq(void *ctx, uint32_t idx)
{
	const struct row_key *k = ctx;

	return strcmp(k->rows[idx].name, k->name) == 0;
}

/* Add SS's functions into ROWS, as shares of SS's total, as BASE or NEW. */
static int diff_add_side(const struct stackset *ss, bool is_new, struct diff_row **rows, size_t *n,
		    size_t *cap, struct hmap *index)
{
	struct func_total *ft;
	size_t nft;
	double total = ss->total_all ? (double)ss->total_all : 1;

	if (stackset_functions(ss, &ft, &nft) < 0)
		return -1;
	for (size_t i = 0; i < nft; i++) {
		const char *name = stackset_name(ss, ft[i].name);
		struct row_key k = { *rows, name };
		uint64_t h = hash_bytes(HASH_SEED, name, strlen(name));
		int64_t at = hmap_find(index, h, diff_row_eq, &k);
		struct diff_row *r;
		if (at < 0) {
			if (CP_GROW(*rows, *cap, *n + 1) < 0 || hmap_insert(index, h, *n) < 0) {
				free(ft);
				return -1;
			}
			at = (*n)++;
			r = &(*rows)[at];
			memset(r, 0, sizeof(*r));
			r->name = name;
			r->file = ft[i].file ? stackset_name(ss, ft[i].file) : "";
			r->start_line = ft[i].start_line;
		}
		r = &(*rows)[at];
		if (is_new) {
			r->new_flat = 100.0 * ft[i].flat / total;
			r->new_cum = 100.0 * ft[i].cum / total;
		} else {
			r->base_flat = 100.0 * ft[i].flat / total;
			r->base_cum = 100.0 * ft[i].cum / total;
		}
	}
	free(ft);
	return 0;
}

static double diff_change(const struct diff_row *r)
{
	double f = fabs(r->new_flat - r->base_flat), c = fabs(r->new_cum - r->base_cum);

	return f > c ? f : c;
}

static int diff_by_change(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	double cx = diff_change(x), cy = diff_change(y);

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(x->name, y->name);
}

int diff_rows(const struct stackset *base, const struct stackset *new, struct diff_row **rows,
	      size_t *n)
{
	struct hmap index;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	hmap_init(&index);
	rc = diff_add_side(base, false, rows, n, &cap, &index);
	if (rc == 0)
		rc = diff_add_side(new, true, rows, n, &cap, &index);
	hmap_release(&index);
	if (rc < 0) {
		free(*rows);
		*rows = NULL;
		return -1;
	}
	qsort(*rows, *n, sizeof(**rows), diff_by_change);
	return 0;
}

/* The index of BASE's sample type named and measured as NEW's type TI, or -1. */
static int diff_same_type(const struct profile *base, const struct profile *new, int ti)
{
	const struct pf_value_type *t = &new->sample_types[ti];

	for (size_t i = 0; i < base->nsample_types; i++)
		if (strcmp(profile_str(base, base->sample_types[i].type), profile_str(new, t->type)) == 0 &&
		    strcmp(profile_str(base, base->sample_types[i].unit), profile_str(new, t->unit)) == 0)
			return i;
	return -1;
}

struct profile *diff_profile(const struct profile *base, int bsi, const struct profile *new,
			     int nsi)
{
	struct profile *p = profile_new();
	int nci = profile_count_index(new, nsi), bci = nci != nsi ? diff_same_type(base, new, nci) : -1;
	int nsis[2] = { nci, nsi }, bsis[2] = { bci, bsi }, n = 2;
	double ones[2] = { 1, 1 }, scales[2];

	if (!p)
		return NULL;
	/* The count type goes along, first, where both have one: folded stacks count. */
	if (bci < 0) {
		nsis[0] = nsi;
		bsis[0] = bsi;
		n = 1;
	}
	for (int k = 0; k < n; k++) {
		const struct pf_value_type *vt = &new->sample_types[nsis[k]];
		int64_t bt = profile_total(base, bsis[k]), nt = profile_total(new, nsis[k]);
		scales[k] = bt ? -(double)nt / bt : 0;
		if (profile_add_sample_type(p, profile_str(new, vt->type), profile_str(new, vt->unit)) < 0)
			goto fail;
	}
	p->default_sample_type = profile_intern(p, profile_str(new, new->sample_types[nsi].type));
	p->period_type.type = profile_intern(p, profile_str(new, new->period_type.type));
	p->period_type.unit = profile_intern(p, profile_str(new, new->period_type.unit));
	p->period = new->period;
	p->time_nanos = new->time_nanos;
	p->duration_nanos = new->duration_nanos;
	if (profile_add_values(p, new, nsis, ones, NULL, NULL) < 0 ||
	    profile_add_values(p, base, bsis, scales, "pprof::base", "true") < 0)
		goto fail;
	return p;
fail:
	profile_free(p);
	return NULL;
}
