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
	char value[64];
	int64_t total;
};

static int render_tags_by_key_value(const void *a, const void *b)
{
	const struct render_tag *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* A key's values, largest first (by magnitude), then by name. */
static int render_tags_by_total(const void *a, const void *b)
{
	const struct render_tag *x = a, *y = b;
	int64_t ax = llabs(x->total), ay = llabs(y->total);

	return ax != ay ? (ax < ay ? 1 : -1) : strcmp(x->value, y->value);
}

/* Every (key, value) of the samples in SS with its value, into a new array
 * *OUT of *N, merged and sorted by key, then total. Returns 0 or -1. */
static int render_tags_collect(const struct stackset *ss, struct render_tag **out, size_t *n)
{
	const struct profile *p = ss->p;
	struct render_tag *v = NULL;
	size_t k = 0, cap = 0, m = 0;

	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct pf_sample *s = ss->stacks[i].sample;
		for (size_t j = 0; j < s->nlabels; j++) {
			const struct pf_label *l = &s->labels[j];
			if (CP_GROW(v, cap, k + 1) < 0) {
				free(v);
				return -1;
			}
			v[k].key = profile_str(p, l->key);
			v[k].total = ss->stacks[i].value;
			if (l->str)
				snprintf(v[k].value, sizeof(v[k].value), "%s", profile_str(p, l->str));
			else
				units_format(v[k].value, sizeof(v[k].value), l->num,
					     l->num_unit ? profile_str(p, l->num_unit) : "");
			k++;
		}
	}
	if (k)
		qsort(v, k, sizeof(*v), render_tags_by_key_value);
	for (size_t i = 0; i < k; i++) {
		if (m && strcmp(v[m - 1].key, v[i].key) == 0 &&
		    strcmp(v[m - 1].value, v[i].value) == 0)
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

/* One key's lines: "key: Total T", then each value's "V (P%): value", the
 * columns right-aligned as pprof's tabwriter does (a space of padding). */
static void render_tags_key(FILE *out, const struct render_tag *v, size_t n, const char *unit)
{
	char cell[96], a[48], pct[32];
	int64_t total = 0;
	int w0 = (int)strlen(v[0].key) + 2, w1 = 0;

	for (size_t i = 0; i < n; i++)
		total += v[i].total;
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(cell, sizeof(cell), total ? "%s (%s):" : "%s:",
				   units_format_1(a, sizeof(a), v[i].total, unit),
				   units_percent_padded(pct, sizeof(pct), v[i].total, total));
		w1 = len + 1 > w1 ? len + 1 : w1;
	}
	snprintf(cell, sizeof(cell), "%s:", v[0].key);
	fprintf(out, "%*s Total %s\n", w0, cell, units_format_1(a, sizeof(a), total, unit));
	for (size_t i = 0; i < n; i++) {
		snprintf(cell, sizeof(cell), total ? "%s (%s):" : "%s:",
			 units_format_1(a, sizeof(a), v[i].total, unit),
			 units_percent_padded(pct, sizeof(pct), v[i].total, total));
		fprintf(out, "%*s%*s %s\n", w0, "", w1, cell, v[i].value);
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
