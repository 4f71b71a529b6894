/* The view model of cprof top; see topview.h. */
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "topview.h"

int topview_snapshot(struct top_snapshot *s, const struct profile *p, int64_t when_ns)
{
	size_t nt = p->nsample_types;

	memset(s, 0, sizeof(*s));
	s->values = malloc((p->nsamples * nt + 1) * sizeof(*s->values));
	if (!s->values)
		return cp_error("out of memory");
	for (size_t i = 0; i < p->nsamples; i++)
		memcpy(s->values + i * nt, p->samples[i].values, nt * sizeof(*s->values));
	s->when_ns = when_ns;
	s->nsamples = p->nsamples;
	s->ntypes = nt;
	return 0;
}

void topview_snapshot_release(struct top_snapshot *s)
{
	free(s->values);
	memset(s, 0, sizeof(*s));
}

/* Add SIGN times BASE's values to LIVE's first samples. */
static void topview_shift(struct profile *live, const struct top_snapshot *base, int sign)
{
	size_t nt = base->ntypes;

	for (size_t i = 0; i < base->nsamples; i++)
		for (size_t k = 0; k < nt; k++)
			live->samples[i].values[k] += sign * base->values[i * nt + k];
}

struct profile *topview_copy(struct profile *live, const struct top_snapshot *base)
{
	struct profile *p = profile_new_like(live);
	int rc;

	if (!p)
		return NULL;
	/* A snapshot of another profile (the live one was reset since) is no base. */
	if (base && (base->ntypes != live->nsample_types || base->nsamples > live->nsamples))
		base = NULL;
	if (base)
		topview_shift(live, base, -1);
	rc = profile_add_profile(p, live, -1, 1.0, NULL, NULL);
	if (base)
		topview_shift(live, base, 1);
	if (rc < 0) {
		profile_free(p);
		return NULL;
	}
	p->time_nanos = live->time_nanos;
	p->duration_nanos = live->duration_nanos;
	return p;
}

struct sort_ctx {
	const struct stackset *ss;
	enum top_sort by;
};

static int topview_row_cmp(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *c = ctx;
	const struct func_total *x = a, *y = b;
	int64_t x1 = llabs(x->flat), y1 = llabs(y->flat), x2 = llabs(x->cum), y2 = llabs(y->cum);

	if (c->by == TOP_SORT_TOTAL) {
		int64_t t = x1;
		x1 = x2;
		x2 = t;
		t = y1;
		y1 = y2;
		y2 = t;
	}
	if (x1 != y1)
		return x1 > y1 ? -1 : 1;
	if (x2 != y2)
		return x2 > y2 ? -1 : 1;
	return strcmp(stackset_name(c->ss, x->name), stackset_name(c->ss, y->name));
}

void topview_sort(const struct stackset *ss, struct func_total *rows, size_t n, enum top_sort by)
{
	struct sort_ctx c = { ss, by };

	qsort_r(rows, n, sizeof(*rows), topview_row_cmp, &c);
}

static int topview_by_tid(const void *a, const void *b)
{
	const struct top_thread *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int topview_by_value(const void *a, const void *b)
{
	const struct top_thread *x = a, *y = b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return topview_by_tid(a, b);
}

int topview_threads(const struct profile *p, int si, const char *state, struct top_thread **out,
		    size_t *n)
{
	int64_t k_tid = -1, k_name = -1, k_state = -1;
	struct top_thread *v = malloc((p->nsamples + 1) * sizeof(*v));
	size_t k = 0, m = 0;

	if (!v)
		return cp_error("out of memory");
	for (size_t i = 1; i < p->nstrings; i++) {
		if (strcmp(p->strings[i], "tid") == 0)
			k_tid = i;
		else if (strcmp(p->strings[i], "thread") == 0)
			k_name = i;
		else if (strcmp(p->strings[i], "state") == 0)
			k_state = i;
	}
	for (size_t i = 0; i < p->nsamples && k_tid >= 0; i++) {
		const struct pf_sample *s = &p->samples[i];
		struct top_thread t = { 0, "", s->values[si] };
		bool in = !state;
		for (size_t j = 0; j < s->nlabels; j++) {
			if (s->labels[j].key == k_tid)
				t.tid = s->labels[j].num;
			else if (s->labels[j].key == k_name)
				t.name = profile_str(p, s->labels[j].str);
			else if (state && s->labels[j].key == k_state)
				in = strcmp(profile_str(p, s->labels[j].str), state) == 0;
		}
		if (t.tid && in)
			v[k++] = t;
	}
	qsort(v, k, sizeof(*v), topview_by_tid);
	for (size_t i = 0; i < k; i++) {
		if (m && v[m - 1].tid == v[i].tid) {
			v[m - 1].value += v[i].value;
			if (!*v[m - 1].name)
				v[m - 1].name = v[i].name;
		} else {
			v[m++] = v[i];
		}
	}
	qsort(v, m, sizeof(*v), topview_by_value);
	*out = v;
	*n = m;
	return 0;
}

struct flame_walk {
	const struct calltree *t;
	double scale, min;
	struct flame_line *v;
	size_t n, cap;
};

static int topview_flame_node(struct flame_walk *w, uint32_t i, double start, int emit)
{
	const struct cnode *nd = &w->t->nodes[i];

	if (emit) {
		if (CP_GROW(w->v, w->cap, w->n + 1) < 0)
			return -1;
		w->v[w->n++] = (struct flame_line){ i, start, nd->abs_total * w->scale };
	}
	for (uint32_t c = nd->first_child; c; c = w->t->nodes[c].next_sibling) {
		const struct cnode *cn = &w->t->nodes[c];
		if (cn->abs_total >= w->min && topview_flame_node(w, c, start, 1) < 0)
			return -1;
		start += cn->abs_total * w->scale;
	}
	return 0;
}

int topview_flame(const struct calltree *t, uint32_t root, double width, double min_percent,
		  struct flame_line **out, size_t *n)
{
	const struct cnode *r = &t->nodes[root];
	struct flame_walk w = {
		.t = t,
		.scale = r->abs_total ? width / r->abs_total : 0,
		.min = r->abs_total * min_percent / 100,
	};

	if (topview_flame_node(&w, root, 0, root != 0) < 0) {
		free(w.v);
		return -1;
	}
	*out = w.v;
	*n = w.n;
	return 0;
}

uint32_t topview_find_path(const struct calltree *t, char *const *names, size_t n,
			   size_t *depth)
{
	uint32_t at = 0;
	size_t k = 0;

	for (; k < n; k++) {
		uint32_t c = t->nodes[at].first_child;
		while (c && strcmp(stackset_name(t->ss, t->nodes[c].name), names[k]) != 0)
			c = t->nodes[c].next_sibling;
		if (!c)
			break;
		at = c;
	}
	if (depth)
		*depth = k;
	return at;
}
