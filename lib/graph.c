/* pprof's call graph, built and trimmed as go tool pprof's report does; see graph.h. */
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "graph.h"
#include "grow.h"
#include "units.h"

struct graph_key {
	uint64_t addr;
	uint32_t name, file, map;
	int32_t line, start_line;
	bool synth;
};

const char *graph_clean_path(const char *path, char *buf, size_t n)
{
	bool rooted = path[0] == '/';
	size_t len = rooted, dots = 0; /* dots: the leading ".."s kept */

	if (n < 3)
		return path;
	buf[0] = '/';
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, '/');
		size_t el = (size_t)(e - p);
		if (el == 0 || (el == 1 && p[0] == '.')) {
		} else if (el == 2 && p[0] == '.' && p[1] == '.') {
			if (len > rooted + dots * 3) {
				while (len > rooted && buf[len - 1] != '/')
					len--;
				len -= len > rooted;
			} else if (!rooted) {
				if (len + 3 >= n)
					return path;
				memcpy(buf + len, len ? "/.." : "..", len ? 3 : 2);
				len += len ? 3 : 2;
				dots++;
			}
		} else {
			if (len + el + 2 >= n)
				return path;
			if (len > rooted)
				buf[len++] = '/';
			memcpy(buf + len, p, el);
			len += el;
		}
		p = *e ? e + 1 : e;
	}
	if (!len)
		buf[len++] = '.';
	buf[len] = '\0';
	return buf;
}

/* filepath.Base of the N bytes at DIR, into BUF (N + 2 bytes at least). */
static const char *graph_base(const char *dir, size_t n, char *buf)
{
	const char *b;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (!n)
		return ".";
	if (n == 1 && dir[0] == '/')
		return "/";
	for (b = dir + n; b > dir && b[-1] != '/'; b--)
		;
	memcpy(buf, b, (size_t)(dir + n - b));
	buf[dir + n - b] = '\0';
	return buf;
}

const char *graph_trim_path(const char *path, const char *trim, const char *search)
{
	static const char *const cwd[] = { "/proc/self/cwd/./", "/proc/self/cwd/" };
	char want[4104], base[4096];

	for (const char *d = search; !*trim && *d;) {
		const char *e = strchrnul(d, ':'), *at;
		size_t n = (size_t)(e - d);
		if (n + 3 < sizeof(base) && n + 3 < sizeof(want)) {
			snprintf(want, sizeof(want), "/%s/", graph_base(d, n, base));
			if ((at = strstr(path, want)))
				return at + strlen(want);
		}
		d = *e ? e + 1 : e;
	}
	for (const char *d = trim; *d;) {
		const char *e = strchrnul(d, ':');
		size_t n = (size_t)(e - d);
		if (n && strncmp(path, d, n) == 0 && (d[n - 1] == '/' || path[n] == '/'))
			return path + n + (d[n - 1] != '/');
		d = *e ? e + 1 : e;
	}
	for (size_t i = 0; i < 2; i++)
		if (strncmp(path, cwd[i], strlen(cwd[i])) == 0)
			return path + strlen(cwd[i]);
	return path;
}

/* The name id of file ID cleaned, interned in the graph's names. */
static uint32_t graph_file(struct graph *g, uint32_t id)
{
	char buf[4096];
	int64_t n;

	if (!id)
		return 0;
	if (g->clean[id])
		return g->clean[id];
	graph_clean_path(graph_trim_path(stackset_name(g->ss, id), g->o.trim_path ? g->o.trim_path : "",
				    g->o.source_path ? g->o.source_path : ""),
		    buf, sizeof(buf));
	n = intern_n(&g->labels, buf, strlen(buf));
	if (n < 0)
		return 0;
	g->clean[id] = (uint32_t)n + 1;
	return g->clean[id];
}

/* |V|, wrapping at INT64_MIN as Go's abs64 does. */
static int64_t graph_abs(int64_t v)
{
	return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}

/* The frame F as a node at the graph's granularity: what pprof's profile
 * Aggregate leaves of its location and line. */
static struct graph_key graph_key_of(struct graph *g, const struct stack *s,
				     const struct frame *f)
{
	struct graph_key k = { 0 };
	enum graph_granularity gr = g->o.granularity;

	k.synth = f->synth;
	if (f->synth) {
		k.name = gr == GRAPH_ADDRESSES ? 0 : f->name;
		k.map = gr == GRAPH_ADDRESSES ? f->map : 0;
	} else {
		k.name = gr == GRAPH_FILES ? 0 : f->name;
		k.file = gr == GRAPH_FUNCTIONS ? 0 : graph_file(g, f->file);
		k.line = gr == GRAPH_LINES || gr == GRAPH_ADDRESSES ? f->line : 0;
		/* pprof keeps the binary and the start line of nodes without a
		 * name, so a file's nodes are one per binary and function start. */
		k.map = gr == GRAPH_FILES || g->o.objnames ? f->map : 0;
		k.start_line = gr == GRAPH_FILES || g->o.objnames ? f->start_line : 0;
	}
	if (gr == GRAPH_ADDRESSES && f->pos != FRAME_NO_POS)
		k.addr = g->ss->p->locations[s->sample->locs[f->pos] - 1].address;
	return k;
}

/* pprof's NodeInfo.PrintableName of K, into BUF. */
/* pprof's NodeInfo.PrintableName of K, written to OUT: its address, name
 * and place (file:line, file, binary), those it has, a space apart. */
static void graph_label(const struct graph *g, const struct graph_key *k, FILE *out)
{
	const struct stackset *ss = g->ss;
	const char *name = k->name ? stackset_name(ss, k->name) : "";
	const char *file = k->file ? g->labels.strs[k->file - 1] : "";
	const char *sep = "";

	if (k->addr) {
		fprintf(out, "%016" PRIx64, k->addr);
		sep = " ";
	}
	if (*name) {
		fprintf(out, "%s%s", sep, name);
		sep = " ";
	}
	if (k->line) {
		fprintf(out, "%s%s:%d", sep, file, k->line);
	} else if (*file) {
		fprintf(out, "%s%s", sep, file);
	} else if (!*name && k->map) {
		const char *m = profile_str(ss->p, k->map), *base = strrchr(m, '/');
		fprintf(out, "%s[%s]", sep, base ? base + 1 : m);
	} else if (!*name) {
		fprintf(out, "%s<unknown>", sep);
	}
}

struct graph_find {
	const struct graph *g;
	const struct graph_key *k;
	uint32_t src, dst;
	const struct graph_tag *tag;
};

static int graph_node_eq(void *ctx, uint32_t idx)
{
	struct graph_find *f = ctx;
	const struct graph_node *n = &f->g->nodes[idx];

	return n->addr == f->k->addr && n->name == f->k->name && n->file == f->k->file &&
	       n->map == f->k->map && n->line == f->k->line && n->synth == f->k->synth &&
	       n->start_line == f->k->start_line;
}

static int64_t graph_node_of(struct graph *g, const struct stack *s, const struct frame *f)
{
	struct graph_key k = graph_key_of(g, s, f);
	struct graph_find find = { .g = g, .k = &k };
	uint64_t h = hash_bytes(HASH_SEED, &k.addr, sizeof(k.addr));
	uint32_t words[6] = { k.name, k.file, k.map, (uint32_t)k.line, (uint32_t)k.start_line,
			      k.synth };
	struct graph_node *n;
	char *label = NULL;
	size_t len = 0;
	FILE *mem;
	int64_t i;

	h = hash_bytes(h, words, sizeof(words));
	i = hmap_find(&g->node_index, h, graph_node_eq, &find);
	if (i >= 0)
		return i;
	if (CP_GROW(g->nodes, g->cap, g->nnodes + 1) < 0 ||
	    hmap_insert(&g->node_index, h, (uint32_t)g->nnodes) < 0)
		return -1;
	n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof(*n));
	n->addr = k.addr;
	n->name = k.name;
	n->file = k.file;
	n->line = k.line;
	n->map = k.map;
	n->start_line = k.start_line;
	n->synth = k.synth;
	n->kept = true;
	n->rep_file = f->synth ? 0 : f->file;
	n->rep_start = f->start_line;
	if (!(mem = open_memstream(&label, &len)))
		return cp_error("out of memory");
	graph_label(g, &k, mem);
	if (fclose(mem) != 0 || !(n->label = intern_str(&g->labels, label, len))) {
		free(label);
		return cp_error("out of memory");
	}
	free(label);
	return (int64_t)g->nnodes++;
}

static int graph_edge_eq(void *ctx, uint32_t idx)
{
	struct graph_find *f = ctx;

	return f->g->edges[idx].src == f->src && f->g->edges[idx].dst == f->dst;
}

/* The edge from SRC to DST, made if new. */
static int64_t graph_edge_of(struct graph *g, uint32_t src, uint32_t dst)
{
	struct graph_find find = { .g = g, .src = src, .dst = dst };
	uint64_t h = hash_bytes(hash_bytes(HASH_SEED, &src, sizeof(src)), &dst, sizeof(dst));
	int64_t i = hmap_find(&g->edge_index, h, graph_edge_eq, &find);

	if (i >= 0)
		return i;
	if (CP_GROW(g->edges, g->ecap, g->nedges + 1) < 0 ||
	    hmap_insert(&g->edge_index, h, (uint32_t)g->nedges) < 0)
		return -1;
	memset(&g->edges[g->nedges], 0, sizeof(g->edges[0]));
	g->edges[g->nedges].src = src;
	g->edges[g->nedges].dst = dst;
	g->edges[g->nedges].inl = true;
	return (int64_t)g->nedges++;
}

/* Each frame's node, once. */
static int graph_index_frames(struct graph *g)
{
	const struct stackset *ss = g->ss;
	size_t nframes = 0;

	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct stack *s = &ss->stacks[i];
		size_t end = (size_t)(s->frames - ss->arena) + s->nframes;
		nframes = end > nframes ? end : nframes;
	}
	g->frame_node = malloc((nframes + 1) * sizeof(*g->frame_node));
	g->clean = calloc(ss->nnames + 1, sizeof(*g->clean));
	if (!g->frame_node || !g->clean)
		return cp_error("out of memory");
	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct stack *s = &ss->stacks[i];
		for (size_t j = 0; j < s->nframes; j++) {
			int64_t n = graph_node_of(g, s, &s->frames[j]);
			if (n < 0)
				return cp_error("out of memory");
			g->frame_node[&s->frames[j] - ss->arena] = (uint32_t)n;
		}
	}
	return 0;
}

/* A sample's tags: its joined labels and its "bytes" values. */
struct graph_stags {
	uint32_t labels;
	size_t nnum;
	uint32_t names[16];
	int64_t values[16];
	const char *unit;
};

static int graph_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The joined string labels of S (pprof's joinLabels, without pprof::base)
 * interned into *ID (0 for none). */
static int graph_join_labels(struct graph *g, const struct pf_sample *s, uint32_t *id)
{
	const struct profile *p = g->ss->p;
	char **parts = malloc((s->nlabels + 1) * sizeof(*parts)), *joined = NULL;
	size_t n = 0, len = 0;
	int rc = -1;
	int64_t at;

	*id = 0;
	if (!parts)
		return cp_error("out of memory");
	for (size_t i = 0; i < s->nlabels; i++) {
		const struct pf_label *l = &s->labels[i];
		if (!l->str || strcmp(profile_str(p, l->key), "pprof::base") == 0)
			continue;
		if (asprintf(&parts[n], "%s:%s", profile_str(p, l->key), profile_str(p, l->str)) < 0)
			goto out;
		len += strlen(parts[n++]) + 2;
	}
	rc = 0;
	if (!n)
		goto out;
	qsort(parts, n, sizeof(*parts), graph_str_cmp);
	if (!(joined = malloc(len + 1)))
		goto oom;
	len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(joined + len, "%s%s", i ? "\\n" : "", parts[i]);
	if ((at = intern_n(&g->labels, joined, len)) < 0)
		goto oom;
	*id = (uint32_t)at + 1;
	goto out;
oom:
	rc = cp_error("out of memory");
out:
	while (n)
		free(parts[--n]);
	free(parts);
	free(joined);
	return rc;
}

static int graph_sample_tags(struct graph *g, const struct pf_sample *s, struct graph_stags *t)
{
	char buf[64];

	t->nnum = 0;
	t->unit = g->bytes_key >= 0 && g->num_units[g->bytes_key] ? g->num_units[g->bytes_key] : "";
	if (graph_join_labels(g, s, &t->labels) < 0)
		return -1;
	for (size_t i = 0; i < s->nlabels && t->nnum < 16; i++) {
		const struct pf_label *l = &s->labels[i];
		int64_t at;
		if (l->str || l->key != g->bytes_key || !profile_label_set(l))
			continue;
		units_label_to(buf, sizeof(buf), l->num, t->unit, "minimum");
		if ((at = intern_n(&g->labels, buf, strlen(buf))) < 0)
			return cp_error("out of memory");
		t->names[t->nnum] = (uint32_t)at + 1;
		t->values[t->nnum++] = l->num;
	}
	return 0;
}

static int graph_tag_eq(void *ctx, uint32_t idx)
{
	const struct graph_find *f = ctx;
	const struct graph_tag *t = &f->g->tags[idx];

	return t->node == f->tag->node && t->labels == f->tag->labels && t->name == f->tag->name;
}

/* Add a sample's VALUE (DIV) to node N's tag of LABELS and NAME. */
static int graph_tag_add1(struct graph *g, uint32_t n, uint32_t labels, uint32_t name,
			  int64_t num, const char *unit, const struct stack *s, bool flat)
{
	struct graph_tag key = { .node = n, .labels = labels, .name = name };
	struct graph_find find = { .g = g, .tag = &key };
	uint32_t words[3] = { n, labels, name };
	uint64_t h = hash_bytes(HASH_SEED, words, sizeof(words));
	struct graph_tag *t;
	int64_t at;

	at = hmap_find(&g->tag_index, h, graph_tag_eq, &find);
	if (at < 0) {
		if (CP_GROW(g->tags, g->tcap, g->ntags + 1) < 0 ||
		    hmap_insert(&g->tag_index, h, (uint32_t)g->ntags) < 0)
			return cp_error("out of memory");
		at = (int64_t)g->ntags++;
		memset(&g->tags[at], 0, sizeof(g->tags[at]));
		g->tags[at].node = n;
		g->tags[at].labels = labels;
		g->tags[at].name = name;
		g->tags[at].value = num;
		g->tags[at].unit = unit;
	}
	t = &g->tags[at];
	if (flat) {
		t->flat += s->value;
		t->flat_div += s->div;
	} else {
		t->cum += s->value;
		t->cum_div += s->div;
	}
	return 0;
}

/* pprof's addSample for the tags of node N. */
static int graph_tag_add(struct graph *g, uint32_t n, const struct graph_stags *t,
			 const struct stack *s, bool flat)
{
	if (t->labels && graph_tag_add1(g, n, t->labels, 0, 0, NULL, s, flat) < 0)
		return -1;
	for (size_t i = 0; i < t->nnum; i++)
		if (graph_tag_add1(g, n, t->labels, t->names[i], t->values[i], t->unit, s, flat) < 0)
			return -1;
	return 0;
}

/* One sample into the values and edges of the kept nodes, as pprof's
 * newGraph adds it: root to leaf, each node's cum and each edge once. */
static int graph_add_stack(struct graph *g, const struct stack *s, uint32_t stamp,
			   uint32_t *node_seen, uint32_t **edge_seen, size_t *edge_cap)
{
	const uint32_t *fn = g->frame_node + (s->frames - g->ss->arena);
	bool residual = false, have = false;
	struct graph_stags t = { 0 };
	uint32_t parent = 0;

	if (g->o.tags && graph_sample_tags(g, s->sample, &t) < 0)
		return -1;
	for (size_t j = s->nframes; j-- > 0;) {
		uint32_t n = fn[j];
		if (!g->nodes[n].kept) {
			residual = true;
			continue;
		}
		if (node_seen[n] != stamp) {
			node_seen[n] = stamp;
			g->nodes[n].cum += s->value;
			g->nodes[n].cum_div += s->div;
			if (g->o.tags && graph_tag_add(g, n, &t, s, false) < 0)
				return -1;
		}
		if (have && n != parent && !g->o.no_edges) {
			size_t cap = *edge_cap;
			int64_t e = graph_edge_of(g, parent, n);
			if (e < 0 || CP_GROW(*edge_seen, *edge_cap, g->nedges) < 0)
				return cp_error("out of memory");
			if (*edge_cap > cap)
				memset(*edge_seen + cap, 0, (*edge_cap - cap) * sizeof(**edge_seen));
			if ((*edge_seen)[e] != stamp) {
				(*edge_seen)[e] = stamp;
				g->edges[e].weight += s->value;
				g->edges[e].weight_div += s->div;
				g->edges[e].residual |= residual;
				g->edges[e].inl &= s->frames[j].inl;
			}
		}
		parent = n;
		have = true;
		residual = false;
	}
	if (have && !residual) {
		g->nodes[parent].flat += s->value;
		g->nodes[parent].flat_div += s->div;
		if (g->o.tags && graph_tag_add(g, parent, &t, s, true) < 0)
			return -1;
	}
	return 0;
}

/* The edges into (IN) or out of each node, grouped: node N's are
 * list[first[N]..first[N+1]), in the edges' order. */
static int graph_group_edges(struct graph *g, bool in, uint32_t **first, uint32_t **list)
{
	free(*first);
	free(*list);
	*first = calloc(g->nnodes + 2, sizeof(**first));
	*list = malloc((g->nedges + 1) * sizeof(**list));
	if (!*first || !*list)
		return cp_error("out of memory");
	for (size_t i = 0; i < g->nedges; i++)
		(*first)[(in ? g->edges[i].dst : g->edges[i].src) + 1]++;
	for (size_t i = 0; i < g->nnodes; i++)
		(*first)[i + 1] += (*first)[i];
	for (size_t i = 0; i < g->nedges; i++)
		(*list)[(*first)[in ? g->edges[i].dst : g->edges[i].src]++] = (uint32_t)i;
	for (size_t i = g->nnodes; i > 0; i--)
		(*first)[i] = (*first)[i - 1];
	(*first)[0] = 0;
	return 0;
}

/* The values and edges again, over the kept nodes only (pprof rebuilds its
 * graph from the samples after each cut, for full precision). */
static int graph_build(struct graph *g)
{
	uint32_t *node_seen = calloc(g->nnodes + 1, sizeof(*node_seen)), *edge_seen = NULL;
	size_t edge_cap = 0;
	int rc = -1;

	if (!node_seen)
		return cp_error("out of memory");
	for (size_t i = 0; i < g->nnodes; i++)
		g->nodes[i].flat = g->nodes[i].cum = g->nodes[i].flat_div = g->nodes[i].cum_div = 0;
	g->nedges = 0;
	g->ntags = 0;
	hmap_release(&g->edge_index);
	hmap_init(&g->edge_index);
	hmap_release(&g->tag_index);
	hmap_init(&g->tag_index);
	for (size_t i = 0; i < g->ss->nstacks; i++) {
		const struct stack *s = &g->ss->stacks[i];
		if ((s->value || s->div) && graph_add_stack(g, s, (uint32_t)i + 1, node_seen, &edge_seen,
						&edge_cap) < 0)
			goto out;
	}
	if (graph_group_edges(g, true, &g->in_first, &g->in_list) < 0 ||
	    graph_group_edges(g, false, &g->out_first, &g->out_list) < 0)
		goto out;
	rc = 0;
out:
	free(node_seen);
	free(edge_seen);
	return rc;
}

/* pprof's last resort: its NodeInfo printed ("{name orig addr file start
 * line objfile}") compared as text. */
static int graph_info_cmp(const struct graph *g, const struct graph_node *x,
			  const struct graph_node *y)
{
	char a[32], b[32];
	int c;

	if (x->addr != y->addr) {
		snprintf(a, sizeof(a), "%" PRIu64, x->addr);
		snprintf(b, sizeof(b), "%" PRIu64, y->addr);
		return strcmp(a, b);
	}
	snprintf(a, sizeof(a), "%d %d", x->start_line, x->line);
	snprintf(b, sizeof(b), "%d %d", y->start_line, y->line);
	c = strcmp(a, b);
	if (c || x->map == y->map)
		return c;
	return strcmp(profile_str(g->ss->p, x->map), profile_str(g->ss->p, y->map));
}

static int graph_cmp(const void *a, const void *b, void *ctx)
{
	const struct graph *g = ctx;
	const struct graph_node *x = &g->nodes[*(const uint32_t *)a];
	const struct graph_node *y = &g->nodes[*(const uint32_t *)b];
	int64_t x1 = g->o.cum_sort ? x->cum : x->flat, y1 = g->o.cum_sort ? y->cum : y->flat;

	if (g->o.visual) {
		x1 = g->score[*(const uint32_t *)a];
		y1 = g->score[*(const uint32_t *)b];
	}
	int64_t x2 = g->o.cum_sort || g->o.visual ? x->flat : x->cum;
	int64_t y2 = g->o.cum_sort || g->o.visual ? y->flat : y->cum;
	int c;

	if (graph_abs(x1) != graph_abs(y1))
		return graph_abs(x1) > graph_abs(y1) ? -1 : 1;
	c = strcmp(x->label, y->label);
	if (c)
		return c;
	if (graph_abs(x2) != graph_abs(y2))
		return graph_abs(x2) > graph_abs(y2) ? -1 : 1;
	return graph_info_cmp(g, x, y);
}

/* pprof's edgeEntropyScore's terms: -f log2 f of each of N shares. */
static double graph_entropy(double weight, double total)
{
	double f = fabs(weight) / total;

	return f == 0 ? NAN : -f * log2(f);
}

/* pprof's entropyScore of every node: favouring entries, leaves and nodes
 * whose edges spread their value, into g->score. */
static void graph_scores(struct graph *g)
{
	double *sum = calloc(4 * (g->nnodes + 1), sizeof(*sum));
	double *in_t = sum, *out_t = sum + g->nnodes + 1, *in_e = out_t + g->nnodes + 1;
	double *out_e = in_e + g->nnodes + 1;
	uint32_t *nin = calloc(2 * (g->nnodes + 1), sizeof(*nin)), *nout = nin + g->nnodes + 1;

	if (!sum || !nin)
		goto out;
	for (size_t i = 0; i < g->nnodes; i++)
		out_t[i] = (double)g->nodes[i].flat;
	for (size_t i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];
		if (e->dropped)
			continue;
		nin[e->dst]++;
		nout[e->src]++;
		in_t[e->dst] += e->weight > 0 ? (double)e->weight : 0;
		out_t[e->src] += e->weight > 0 ? (double)e->weight : 0;
	}
	for (size_t i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];
		if (e->dropped)
			continue;
		in_e[e->dst] += in_t[e->dst] != 0 ? graph_entropy((double)e->weight, in_t[e->dst]) : 0;
		out_e[e->src] += out_t[e->src] != 0 ? graph_entropy((double)e->weight, out_t[e->src]) : 0;
	}
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		double score = (nin[i] ? in_e[i] : 1) + (nout[i] ? out_e[i] : 1), x;
		if (nout[i] && n->flat > 0 && out_t[i] != 0)
			score += graph_entropy((double)n->flat, out_t[i]);
		x = score * (double)n->cum;
		/* Go's int64 of NaN or out of range is INT64_MIN on amd64, and its
		 * sums wrap. */
		g->score[i] = (int64_t)((uint64_t)(isnan(x) || x >= 9.2e18 || x <= -9.2e18 ?
							  INT64_MIN : (int64_t)x) +
					(uint64_t)n->flat);
	}
out:
	free(sum);
	free(nin);
}

/* pprof's selectNodesForGraph and SortNodes: the kept nodes with a value,
 * in order. */
static void graph_select(struct graph *g)
{
	g->norder = 0;
	for (size_t i = 0; i < g->nnodes; i++) {
		struct graph_node *n = &g->nodes[i];
		n->shown = n->kept && (n->flat || n->cum) &&
			   !(g->o.drop_negative && (n->flat < 0 || (n->flat == 0 && n->cum < 0)));
		if (n->shown)
			g->order[g->norder++] = (uint32_t)i;
	}
	if (g->o.visual)
		graph_scores(g);
	qsort_r(g->order, g->norder, sizeof(*g->order), graph_cmp, g);
}

/* Mark the edges into shown nodes lighter than CUTOFF dropped (pprof trims
 * the edges of its nodes only: an edge to a node whose values add up to 0
 * stays); the number newly dropped. */
static size_t graph_trim_edges(struct graph *g, int64_t cutoff)
{
	size_t n = 0;

	for (size_t i = 0; i < g->nedges; i++)
		if (!g->edges[i].dropped && g->nodes[g->edges[i].dst].shown &&
		    graph_abs(g->edges[i].weight) < cutoff) {
			g->edges[i].dropped = true;
			n++;
		}
	return n;
}

/* pprof's TrimLowFrequencyTags: drop the tags under CUTOFF both flat and cum. */
static void graph_trim_tags(struct graph *g, int64_t cutoff)
{
	for (size_t i = 0; i < g->ntags; i++)
		if (graph_abs(g->tags[i].flat) < cutoff && graph_abs(g->tags[i].cum) < cutoff)
			g->tags[i].dropped = true;
}

/* How many nodes of the order the node count keeps: in visual mode each
 * node's tags with a flat value (4 at most) count as nodes too. */
static size_t graph_top_count(const struct graph *g)
{
	size_t max = g->o.node_count, count = 0;
	uint32_t *tags;

	if (g->o.visual && max && (tags = calloc(g->nnodes + 1, sizeof(*tags)))) {
		for (size_t i = 0; i < g->ntags; i++)
			tags[g->tags[i].node] += !g->tags[i].dropped && g->tags[i].flat != 0;
		for (size_t i = 0; i < g->norder; i++) {
			count += (tags[g->order[i]] > GRAPH_NODELETS ? GRAPH_NODELETS :
								       tags[g->order[i]]) + 1;
			if (count >= max) {
				max = i + 1;
				break;
			}
		}
		free(tags);
	}
	return max < g->norder ? max : g->norder;
}

/* Whether the caller of edge E reaches its callee by other edges. */
static bool graph_redundant(const struct graph *g, uint32_t e, uint32_t *seen, uint32_t *queue,
			    uint32_t stamp)
{
	const uint32_t *first = g->in_first, *in = g->in_list;
	uint32_t src = g->edges[e].src;
	size_t head = 0, tail = 0;

	seen[g->edges[e].dst] = stamp;
	queue[tail++] = g->edges[e].dst;
	while (head < tail) {
		uint32_t n = queue[head++];
		for (uint32_t k = first[n]; k < first[n + 1]; k++) {
			const struct graph_edge *ie = &g->edges[in[k]];
			if (in[k] == e || ie->dropped || seen[ie->src] == stamp)
				continue;
			if (ie->src == src)
				return true;
			seen[ie->src] = stamp;
			queue[tail++] = ie->src;
		}
	}
	return false;
}

/* pprof's RemoveRedundantEdges: from the last node up, its lightest
 * residual edges in, while another path joins the same two nodes. */
static int graph_remove_redundant(struct graph *g)
{
	uint32_t *seen = calloc(g->nnodes + 1, sizeof(*seen));
	uint32_t *queue = malloc((g->nnodes + 1) * sizeof(*queue)), stamp = 0;
	int rc = -1;

	if (!seen || !queue) {
		cp_error("out of memory");
		goto out;
	}
	for (size_t i = g->norder; i > 0; i--) {
		uint32_t *es, n = g->order[i - 1];
		size_t k;
		if (graph_node_edges(g, n, true, &es, &k) < 0)
			goto out;
		for (size_t j = k; j > 0 && g->edges[es[j - 1]].residual; j--)
			if (graph_redundant(g, es[j - 1], seen, queue, ++stamp))
				g->edges[es[j - 1]].dropped = true;
		free(es);
	}
	rc = 0;
out:
	free(seen);
	free(queue);
	return rc;
}

/* Keep the first N nodes of the order whose cum is CUTOFF or more, no
 * other (pprof rebuilds its graph from those: a node with no value goes). */
static void graph_keep(struct graph *g, size_t n, int64_t cutoff)
{
	for (size_t i = 0; i < g->nnodes; i++)
		g->nodes[i].kept = false;
	for (size_t i = 0; i < n && i < g->norder; i++)
		g->nodes[g->order[i]].kept = graph_abs(g->nodes[g->order[i]].cum) >= cutoff;
}

/* pprof's newTrimmedGraph: the nodes under the node cutoff dropped, then
 * all but the first node_count, then the edges under the edge cutoff. */
static int graph_trim(struct graph *g)
{
	int64_t total = 0, node_cut, edge_cut;

	for (size_t i = 0; i < g->norder; i++)
		total += g->nodes[g->order[i]].flat;
	node_cut = graph_abs((int64_t)((double)total * g->o.node_fraction));
	edge_cut = graph_abs((int64_t)((double)total * g->o.edge_fraction));
	if (node_cut > 0) {
		size_t kept = 0;
		for (size_t i = 0; i < g->norder; i++)
			kept += graph_abs(g->nodes[g->order[i]].cum) >= node_cut;
		if (kept != g->norder) {
			g->dropped_nodes = g->norder - kept;
			graph_keep(g, g->norder, node_cut);
			if (graph_build(g) < 0)
				return -1;
			graph_select(g);
		}
	}
	g->orig_count = g->norder;
	if (g->o.node_count) {
		size_t n;
		graph_trim_tags(g, node_cut);
		graph_trim_edges(g, edge_cut);
		n = graph_top_count(g);
		if (n < g->norder) {
			graph_keep(g, n, 0);
			if (graph_build(g) < 0)
				return -1;
			graph_select(g);
		}
	}
	graph_trim_tags(g, node_cut);
	g->dropped_edges = graph_trim_edges(g, edge_cut);
	if (g->o.visual)
		return graph_remove_redundant(g);
	return 0;
}

int graph_init(struct graph *g, const struct stackset *ss, const struct graph_opts *o)
{
	static const struct graph_opts plain = { GRAPH_FUNCTIONS, 0, 0, 0, false, false };

	memset(g, 0, sizeof(*g));
	g->ss = ss;
	g->o = o ? *o : plain;
	hmap_init(&g->node_index);
	hmap_init(&g->edge_index);
	hmap_init(&g->tag_index);
	intern_init(&g->labels);
	g->bytes_key = -1;
	for (size_t i = 1; g->o.tags && i < ss->p->nstrings; i++)
		if (strcmp(ss->p->strings[i], "bytes") == 0)
			g->bytes_key = (int64_t)i;
	if (g->o.tags && profile_num_units(ss->p, &g->num_units) < 0)
		goto fail;
	if (graph_index_frames(g) < 0 || graph_build(g) < 0)
		goto fail;
	g->order = malloc((g->nnodes + 1) * sizeof(*g->order));
	g->score = calloc(g->nnodes + 1, sizeof(*g->score));
	if (!g->order || !g->score) {
		cp_error("out of memory");
		goto fail;
	}
	graph_select(g);
	if (graph_trim(g) < 0)
		goto fail;
	return 0;
fail:
	graph_release(g);
	return -1;
}

void graph_release(struct graph *g)
{
	free(g->nodes);
	free(g->edges);
	free(g->order);
	free(g->score);
	free(g->frame_node);
	free(g->clean);
	free(g->tags);
	free(g->num_units);
	free(g->in_first);
	free(g->in_list);
	free(g->out_first);
	free(g->out_list);
	hmap_release(&g->node_index);
	hmap_release(&g->edge_index);
	hmap_release(&g->tag_index);
	intern_release(&g->labels);
	memset(g, 0, sizeof(*g));
}

/* pprof's edge order: weight, then the caller's and callee's names. */
static int graph_edge_cmp(const void *a, const void *b, void *ctx)
{
	const struct graph *g = ctx;
	const struct graph_edge *x = &g->edges[*(const uint32_t *)a];
	const struct graph_edge *y = &g->edges[*(const uint32_t *)b];
	int c;

	if (x->weight != y->weight && graph_abs(x->weight) != graph_abs(y->weight))
		return graph_abs(x->weight) > graph_abs(y->weight) ? -1 : 1;
	c = strcmp(g->nodes[x->src].label, g->nodes[y->src].label);
	return c ? c : strcmp(g->nodes[x->dst].label, g->nodes[y->dst].label);
}

void graph_sort_edges(const struct graph *g, uint32_t *edges, size_t n)
{
	qsort_r(edges, n, sizeof(*edges), graph_edge_cmp, (void *)g);
}

int graph_node_edges(const struct graph *g, uint32_t n, bool in, uint32_t **out, size_t *nout)
{
	const uint32_t *first = in ? g->in_first : g->out_first;
	const uint32_t *list = in ? g->in_list : g->out_list;
	size_t k = 0;

	*out = malloc((first[n + 1] - first[n] + 1) * sizeof(**out));
	if (!*out)
		return cp_error("out of memory");
	for (uint32_t i = first[n]; i < first[n + 1]; i++)
		if (!g->edges[list[i]].dropped)
			(*out)[k++] = list[i];
	qsort_r(*out, k, sizeof(**out), graph_edge_cmp, (void *)g);
	*nout = k;
	return 0;
}

int64_t graph_flat_sum(const struct graph *g)
{
	int64_t sum = 0;

	for (size_t i = 0; i < g->norder; i++)
		sum += graph_mean(g->nodes[g->order[i]].flat, g->nodes[g->order[i]].flat_div);
	return sum;
}

const char *graph_output_unit(const struct graph *g, int64_t total, bool whole)
{
	const char *unit = profile_str(g->ss->p, g->ss->p->sample_types[g->ss->si].unit);
	const char *lo, *hi;
	int64_t min = 0;
	double x;

	if (g->o.unit && strcmp(g->o.unit, "minimum") != 0)
		return g->o.unit;
	if (!g->norder)
		return "minimum";
	for (size_t i = 0; i < g->norder; i++) {
		const struct graph_node *n = &g->nodes[g->order[i]];
		int64_t f = graph_abs(graph_mean(n->flat, n->flat_div));
		int64_t v = f ? f : graph_abs(graph_mean(n->cum, n->cum_div));
		if (v > 0 && (!min || v < min))
			min = v;
	}
	if (!min)
		min = total;
	lo = units_scale(min, unit, "minimum", &x);
	hi = units_scale(total, unit, "minimum", &x);
	if (!whole && strcmp(lo, hi) != 0 && min * 100 < total)
		lo = units_scale(100 * min, unit, "minimum", &x);
	return *lo ? lo : unit;
}

int64_t graph_matches(const struct graph *g, const char *pattern)
{
	regex_t re;
	int64_t n = 0;

	if (cp_regcomp(&re, pattern) < 0)
		return cp_error("bad regular expression '%s': %s", pattern, cp_errmsg());
	for (size_t i = 0; i < g->norder; i++)
		n += regexec(&re, g->nodes[g->order[i]].label, 0, NULL, 0) == 0;
	regfree(&re);
	return n ? n : cp_error("no matches found for regexp: %s", pattern);
}
