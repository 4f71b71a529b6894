/* pprof -tags: for each label key, the total of the samples that carry it
 * and each value's share of that, as go tool pprof prints them. */
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "render.h"
#include "units.h"

struct render_tag {
	const char *key;
	const char *str; /* a string label's value; NULL: a number, in num */
	char num[48];
	int64_t total;
};

static const char *render_tags_value(const struct render_tag *t)
{
	return t->str ? t->str : t->num;
}

static int render_tags_by_key_value(const void *a, const void *b)
{
	const struct render_tag *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(render_tags_value(x), render_tags_value(y));
}

/* A key's values, largest first (by magnitude), then by name. */
static int render_tags_by_total(const void *a, const void *b)
{
	const struct render_tag *x = a, *y = b;
	int64_t ax = llabs(x->total), ay = llabs(y->total);

	return ax != ay ? (ax < ay ? 1 : -1) : strcmp(render_tags_value(x), render_tags_value(y));
}

/* Add each label of the samples in SS, with the sample's value, to *V (of
 * *K, room for *CAP), numbers in their key's unit (UNITS). Returns 0 or -1. */
static int render_tags_gather(const struct stackset *ss, const char **units,
			      struct render_tag **v, size_t *k, size_t *cap)
{
	const struct profile *p = ss->p;

	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct pf_sample *s = ss->stacks[i].sample;
		for (size_t j = 0; j < s->nlabels; j++) {
			const struct pf_label *l = &s->labels[j];
			struct render_tag *t;
			if (!profile_label_set(l) || !stackset_key_shown(ss, l->key))
				continue;
			if (CP_GROW(*v, *cap, *k + 1) < 0)
				return -1;
			t = &(*v)[(*k)++];
			t->key = profile_str(p, l->key);
			t->total = ss->stacks[i].value;
			t->str = l->str ? profile_str(p, l->str) : NULL;
			if (!l->str)
				units_label(t->num, sizeof(t->num), l->num,
					    units[l->key] ? units[l->key] : "");
		}
	}
	return 0;
}

/* Every (key, value) of the samples in SS with its value, into a new array
 * *OUT of *N, merged and sorted by key, then total. Returns 0 or -1. */
static int render_tags_collect(const struct stackset *ss, struct render_tag **out, size_t *n)
{
	struct render_tag *v = NULL;
	const char **units;
	size_t k = 0, cap = 0, m = 0;

	if (profile_num_units(ss->p, &units) < 0)
		return -1;
	if (render_tags_gather(ss, units, &v, &k, &cap) < 0) {
		free(units);
		free(v);
		return -1;
	}
	free(units);
	if (k)
		qsort(v, k, sizeof(*v), render_tags_by_key_value);
	for (size_t i = 0; i < k; i++) {
		if (m && render_tags_by_key_value(&v[m - 1], &v[i]) == 0)
			v[m - 1].total += v[i].total;
		else
			v[m++] = v[i];
	}
	for (size_t i = 0, j; i < m; i = j) {
		for (j = i; j < m && strcmp(v[j].key, v[i].key) == 0; j++)
			;
		qsort(v + i, j - i, sizeof(*v), render_tags_by_total);
	}
	*out = v;
	*n = m;
	return 0;
}

/* The characters of UTF-8 S, as a terminal and pprof's tabwriter count them. */
static int render_tags_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* One key's lines: "key: Total T", then each value's "V (P%): value", the
 * columns right-aligned as pprof's tabwriter does (a space of padding). */
static void render_tags_key(FILE *out, const struct render_tag *v, size_t n, const char *unit)
{
	char cell[96], a[48], pct[32];
	int64_t total = 0;
	int w0 = render_tags_width(v[0].key) + 2, w1 = 0;

	for (size_t i = 0; i < n; i++)
		total += v[i].total;
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(cell, sizeof(cell), total > 0 ? "%s (%s):" : "%s:",
				   units_format_1(a, sizeof(a), v[i].total, unit),
				   units_percent_padded(pct, sizeof(pct), v[i].total, total));
		w1 = len + 1 > w1 ? len + 1 : w1;
	}
	fprintf(out, "%*s%s: Total %s\n", w0 - 1 - render_tags_width(v[0].key), "", v[0].key,
		units_format_1(a, sizeof(a), total, unit));
	for (size_t i = 0; i < n; i++) {
		snprintf(cell, sizeof(cell), total > 0 ? "%s (%s):" : "%s:",
			 units_format_1(a, sizeof(a), v[i].total, unit),
			 units_percent_padded(pct, sizeof(pct), v[i].total, total));
		fprintf(out, "%*s%*s %s\n", w0, "", w1, cell, render_tags_value(&v[i]));
	}
	fputc('\n', out);
}

int render_tags(FILE *out, const struct stackset *ss)
{
	const char *unit = profile_str(ss->p, ss->p->sample_types[ss->si].unit);
	struct render_tag *v;
	size_t n;

	if (render_tags_collect(ss, &v, &n) < 0)
		return cp_error("out of memory");
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && strcmp(v[j].key, v[i].key) == 0; j++)
			;
		render_tags_key(out, v + i, j - i, unit);
	}
	free(v);
	return 0;
}
