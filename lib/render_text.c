/* The text views of a profile: top, tree, traces and folded stacks, and the
 * frame labels they and cprof threads print. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "graph.h"
#include "profile.h"
#include "render.h"
#include "units.h"

static const char *render_text_unit_of(const struct stackset *ss)
{
	return profile_str(ss->p, ss->p->sample_types[ss->si].unit);
}

const char *render_frame_label(char *buf, size_t n, const char *name, const char *file,
			       int64_t line)
{
	if (!*file)
		snprintf(buf, n, "%s", name);
	else if (line > 0)
		snprintf(buf, n, "%s (%s:%lld)", name, file, (long long)line);
	else
		snprintf(buf, n, "%s (%s)", name, file);
	return buf;
}

void render_location_frames(const struct profile *p, uint64_t loc,
			    void (*fn)(const char *label, void *ctx), void *ctx)
{
	const struct pf_location *l = &p->locations[loc - 1];
	char buf[1024];

	if (!l->nlines) {
		location_synth_name(p, l, buf, sizeof(buf));
		fn(buf, ctx);
		return;
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct pf_function *f = &p->functions[l->lines[i].function_id - 1];
		fn(render_frame_label(buf, sizeof(buf), profile_str(p, f->name),
				      profile_str(p, f->filename), l->lines[i].line),
		   ctx);
	}
}

/* The label of a stackset's frame. */
static const char *render_text_label(const struct stackset *ss, uint32_t name, uint32_t file,
				     int32_t line, char *buf, size_t n)
{
	return render_frame_label(buf, n, stackset_name(ss, name),
				  file ? stackset_name(ss, file) : "", line);
}

int render_top(FILE *out, const struct stackset *ss, size_t n)
{
	return render_top_by(out, ss, n, false);
}

int render_top_by(FILE *out, const struct stackset *ss, size_t n, bool cum)
{
	struct graph_opts o = { .granularity = GRAPH_FUNCTIONS, .cum_sort = cum, .no_edges = true };
	struct graph g;
	int rc;

	if (graph_init(&g, ss, &o) < 0)
		return -1;
	rc = render_top_graph(out, &g, n, ss->total_all);
	graph_release(&g);
	return rc;
}

/* pprof's inline marks: per node, 1 if called inlined, 2 if called out of
 * line, in a new array. */
static uint8_t *render_text_inlines(const struct graph *g)
{
	uint8_t *m = calloc(g->nnodes + 1, 1);

	for (size_t i = 0; m && i < g->nedges; i++)
		m[g->edges[i].dst] |= g->edges[i].inl ? 1 : 2;
	if (!m)
		cp_error("out of memory");
	return m;
}

/* V as --top prints it: cprof's way, or in the unit asked for. */
static const char *render_text_value(const struct graph *g, char *buf, size_t n, int64_t v)
{
	const char *unit = render_text_unit_of(g->ss);

	if (g->o.unit && strcmp(g->o.unit, "minimum") != 0)
		return units_label_to(buf, n, v, unit, g->o.unit);
	return units_format(buf, n, v, unit);
}

int render_top_graph(FILE *out, const struct graph *g, size_t n, int64_t total)
{
	const struct stackset *ss = g->ss;
	bool funcs = g->o.granularity == GRAPH_FUNCTIONS;
	static const char *const marks[] = { "", " (inline)", "", " (partial-inline)" };
	uint8_t *inl = funcs ? NULL : render_text_inlines(g);
	int64_t shown = 0, sum = 0;
	char a[32], b[32], c[32], d[32], e[32], label[1024];

	if (!funcs && !inl)
		return -1;
	if (n == 0 || n > g->norder)
		n = g->norder;
	for (size_t i = 0; i < n; i++)
		shown += graph_mean(g->nodes[g->order[i]].flat, g->nodes[g->order[i]].flat_div);
	fprintf(out, "Showing nodes accounting for %s, %s of %s total",
		render_text_value(g, a, sizeof(a), shown), units_percent(b, sizeof(b), shown, total),
		render_text_value(g, c, sizeof(c), total));
	if (n < g->norder)
		fprintf(out, " (%zu of %zu %s shown)", n, g->norder, funcs ? "functions" : "nodes");
	if (g->dropped_nodes)
		fprintf(out, "\nDropped %zu node%s (cum <= %s)", g->dropped_nodes,
			g->dropped_nodes > 1 ? "s" : "",
			render_text_value(g, a, sizeof(a),
					  llabs((int64_t)((double)total * g->o.node_fraction))));
	fprintf(out, "\n%10s %7s %7s %10s %7s\n", "flat", "flat%", "sum%", "cum", "cum%");
	for (size_t i = 0; i < n; i++) {
		const struct graph_node *r = &g->nodes[g->order[i]];
		int64_t flat = graph_mean(r->flat, r->flat_div), cum = graph_mean(r->cum, r->cum_div);
		sum += flat;
		if (funcs)
			render_text_label(ss, r->name, r->rep_file, r->rep_start, label, sizeof(label));
		else
			snprintf(label, sizeof(label), "%s%s", r->label, marks[inl[g->order[i]]]);
		fprintf(out, "%10s %7s %7s %10s %7s  %s\n", render_text_value(g, a, sizeof(a), flat),
			units_percent(b, sizeof(b), flat, total),
			units_percent(c, sizeof(c), sum, total),
			render_text_value(g, d, sizeof(d), cum),
			units_percent(e, sizeof(e), cum, total), label);
	}
	free(inl);
	return 0;
}

static void render_text_tree_node(FILE *out, const struct calltree *t, uint32_t i,
				  int64_t total, double min_percent, const char *unit)
{
	const struct cnode *n = &t->nodes[i];
	char a[32], b[32], c[32], label[1024];

	if (total && 100.0 * llabs(n->total) / llabs(total) < min_percent)
		return;
	if (i) {
		fprintf(out, "%10s %7s %10s  %*s%s\n", units_format(a, sizeof(a), n->total, unit),
			units_percent(b, sizeof(b), n->total, total),
			units_format(c, sizeof(c), n->self, unit), (int)(n->depth - 1) * 2, "",
			render_text_label(t->ss, n->name, n->file, n->start_line, label, sizeof(label)));
	}
	for (uint32_t k = n->first_child; k; k = t->nodes[k].next_sibling)
		render_text_tree_node(out, t, k, total, min_percent, unit);
}

int render_tree(FILE *out, const struct stackset *ss, double min_percent)
{
	struct calltree t;

	if (calltree_init(&t, ss) < 0)
		return -1;
	if (calltree_sort(&t) < 0) {
		calltree_release(&t);
		return -1;
	}
	fprintf(out, "%10s %7s %10s  %s\n", "total", "total%", "self", "function (callees indented)");
	render_text_tree_node(out, &t, 0, ss->total_all, min_percent, render_text_unit_of(ss));
	calltree_release(&t);
	return 0;
}

/* A trace as printed: its frames and labels; samples that differ only in
 * addresses print alike, so they are merged. */
struct trace {
	const struct stack *s;
	int64_t value;
};

struct trace_key {
	const struct trace *traces;
	const struct stack *s;
};

static int render_text_trace_eq(void *ctx, uint32_t idx)
{
	struct trace_key *k = ctx;
	const struct stack *a = k->traces[idx].s, *b = k->s;

	if (a->nframes != b->nframes)
		return 0;
	for (size_t i = 0; i < a->nframes; i++)
		if (a->frames[i].name != b->frames[i].name || a->frames[i].file != b->frames[i].file ||
		    a->frames[i].line != b->frames[i].line)
			return 0;
	return a->sample->nlabels == b->sample->nlabels &&
	       (!a->sample->nlabels || memcmp(a->sample->labels, b->sample->labels,
					      a->sample->nlabels * sizeof(*a->sample->labels)) == 0);
}

static int render_text_by_value(const void *a, const void *b)
{
	const struct trace *x = a, *y = b;

	if (llabs(x->value) != llabs(y->value))
		return llabs(x->value) > llabs(y->value) ? -1 : 1;
	return x->s < y->s ? -1 : x->s > y->s;
}

int render_traces(FILE *out, const struct stackset *ss)
{
	struct trace *traces = malloc((ss->nstacks + 1) * sizeof(*traces));
	const char *unit = render_text_unit_of(ss);
	const struct profile *p = ss->p;
	static const char rule[] =
		"-----------+-------------------------------------------------------";
	char a[32], label[1024];
	struct hmap index;
	size_t n = 0;
	int rc = -1;

	hmap_init(&index);
	if (!traces)
		return cp_error("out of memory");
	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct stack *s = &ss->stacks[i];
		struct trace_key k = { traces, s };
		uint64_t h = HASH_SEED;
		int64_t at;
		for (size_t j = 0; j < s->nframes; j++) {
			const struct frame *f = &s->frames[j];
			uint32_t key[3] = { f->name, f->file, (uint32_t)f->line };
			h = hash_bytes(h, key, sizeof(key));
		}
		h = hash_bytes(h, s->sample->labels, s->sample->nlabels * sizeof(*s->sample->labels));
		at = hmap_find(&index, h, render_text_trace_eq, &k);
		if (at >= 0) {
			traces[at].value += s->value;
			continue;
		}
		if (hmap_insert(&index, h, n) < 0)
			goto out;
		traces[n].s = s;
		traces[n++].value = s->value;
	}
	qsort(traces, n, sizeof(*traces), render_text_by_value);
	for (size_t i = 0; i < n; i++) {
		const struct stack *s = traces[i].s;
		fprintf(out, "%s\n", rule);
		for (size_t j = 0; j < s->sample->nlabels; j++) {
			const struct pf_label *l = &s->sample->labels[j];
			if (!stackset_key_shown(ss, l->key))
				continue;
			if (l->str)
				fprintf(out, "%10s:  %s\n", profile_str(p, l->key), profile_str(p, l->str));
			else
				fprintf(out, "%10s:  %lld%s\n", profile_str(p, l->key), (long long)l->num,
					profile_str(p, l->num_unit));
		}
		for (size_t j = 0; j < s->nframes; j++) {
			const struct frame *f = &s->frames[j];
			fprintf(out, "%10s   %s\n",
				j ? "" : units_format(a, sizeof(a), traces[i].value, unit),
				render_text_label(ss, f->name, f->file, f->line, label, sizeof(label)));
		}
	}
	fprintf(out, "%s\n", rule);
	rc = 0;
out:
	hmap_release(&index);
	free(traces);
	return rc;
}

/* A folded line per node with samples: the path from the root, then its
 * value, or in a diff (DIFF) the base's and the new profile's values as
 * difffolded.pl writes them, which flamegraph.pl draws as a differential
 * flame graph. */
static int render_text_folded_node(FILE *out, const struct calltree *t, uint32_t i, bool diff,
				   char **path, size_t *len, size_t *cap)
{
	const struct cnode *n = &t->nodes[i];
	size_t at = *len;

	if (i) {
		const char *name = stackset_name(t->ss, n->name);
		size_t need = at + strlen(name) + 2;
		char *p;
		if (need > *cap) {
			char *np = realloc(*path, need * 2);
			if (!np)
				return cp_error("out of memory");
			*path = np;
			*cap = need * 2;
		}
		p = *path + at;
		if (at)
			*p++ = ';';
		/* ';' separates frames: flamegraph.pl would split the name
		 * (stackcollapse-perf.pl makes it ':' too) */
		for (; *name; name++)
			*p++ = *name == ';' ? ':' : *name;
		*p = '\0';
		*len = p - *path;
		if (diff && (n->base_self || n->self + n->base_self)) {
			int64_t base = n->base_self, new = n->self + n->base_self;
			fprintf(out, "%s %lld %lld\n", *path, (long long)(base > 0 ? base : 0),
				(long long)(new > 0 ? new : 0));
		} else if (!diff && n->self) {
			fprintf(out, "%s %lld\n", *path, (long long)n->self);
		}
	}
	for (uint32_t k = n->first_child; k; k = t->nodes[k].next_sibling)
		if (render_text_folded_node(out, t, k, diff, path, len, cap) < 0)
			return -1;
	*len = at;
	return 0;
}

int render_folded(FILE *out, const struct stackset *ss)
{
	struct calltree t;
	char *path = NULL;
	size_t len = 0, cap = 0;
	bool diff = ss->diff;
	int rc;

	for (size_t i = 0; i < ss->nstacks && !diff; i++)
		diff = ss->stacks[i].base;
	if (calltree_init(&t, ss) < 0)
		return -1;
	rc = render_text_folded_node(out, &t, 0, diff, &path, &len, &cap);
	free(path);
	calltree_release(&t);
	return rc;
}
