/* pprof's call graph, built and trimmed as go tool pprof's report does; see graph.h. */
#include <inttypes.h>
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

/* Go's filepath.Clean of PATH into BUF (N bytes): no "." or empty
 * elements, no ".." after a name or at the root. */
static const char *graph_clean(const char *path, char *buf, size_t n)
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
	graph_clean(graph_trim_path(stackset_name(g->ss, id), g->o.trim_path ? g->o.trim_path : "",
				    g->o.source_path ? g->o.source_path : ""),
		    buf, sizeof(buf));
	n = intern_n(&g->labels, buf, strlen(buf));
	if (n < 0)
		return 0;
	g->clean[id] = (uint32_t)n + 1;
	return g->clean[id];
}

static int64_t graph_abs(int64_t v)
{
	return v < 0 ? -v : v;
}

/* The frame F as a node at the graph's granularity: what pprof's profile
 * Aggregate leaves of its location and line. */
static struct graph_key graph_key_of(struct graph *g, const struct frame *f)
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
	if (gr == GRAPH_ADDRESSES)
		k.addr = g->ss->p->locations[f->loc - 1].address;
	return k;
}

/* pprof's NodeInfo.PrintableName of K, into BUF. */
static const char *graph_label(const struct graph *g, const struct graph_key *k, char *buf,
			       size_t n)
{
	const struct stackset *ss = g->ss;
	const char *name = k->name ? stackset_name(ss, k->name) : "";
	const char *file = k->file ? g->labels.strs[k->file - 1] : "";
	size_t len = 0;

	if (k->addr)
		len = (size_t)snprintf(buf, n, "%016" PRIx64 " ", k->addr);
	if (*name)
		len += (size_t)snprintf(buf + len, n - len, "%s ", name);
	if (k->line)
		snprintf(buf + len, n - len, "%s:%d", file, k->line);
	else if (*file)
		snprintf(buf + len, n - len, "%s", file);
	else if (*name)
		buf[len - 1] = '\0';
	else if (k->map && !k->file) {
		const char *m = profile_str(ss->p, k->map), *base = strrchr(m, '/');
		snprintf(buf + len, n - len, "[%s]", base ? base + 1 : m);
	} else
		snprintf(buf + len, n - len, "<unknown>");
	return buf;
}

struct graph_find {
	const struct graph *g;
	const struct graph_key *k;
	uint32_t src, dst;
};

static int graph_node_eq(void *ctx, uint32_t idx)
{
	struct graph_find *f = ctx;
	const struct graph_node *n = &f->g->nodes[idx];

	return n->addr == f->k->addr && n->name == f->k->name && n->file == f->k->file &&
	       n->map == f->k->map && n->line == f->k->line && n->synth == f->k->synth &&
	       n->start_line == f->k->start_line;
}

static int64_t graph_node_of(struct graph *g, const struct frame *f)
{
	struct graph_key k = graph_key_of(g, f);
	struct graph_find find = { g, &k, 0, 0 };
	uint64_t h = hash_bytes(HASH_SEED, &k.addr, sizeof(k.addr));
	uint32_t words[6] = { k.name, k.file, k.map, (uint32_t)k.line, (uint32_t)k.start_line,
			      k.synth };
	struct graph_node *n;
	char buf[2048];
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
	graph_label(g, &k, buf, sizeof(buf));
	n->label = intern_str(&g->labels, buf, strlen(buf));
	if (!n->label)
		return -1;
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
	struct graph_find find = { g, NULL, src, dst };
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
			int64_t n = graph_node_of(g, &s->frames[j]);
			if (n < 0)
				return cp_error("out of memory");
			g->frame_node[&s->frames[j] - ss->arena] = (uint32_t)n;
		}
	}
	return 0;
}

/* One sample into the values and edges of the kept nodes, as pprof's
 * newGraph adds it: root to leaf, each node's cum and each edge once. */
static int graph_add_stack(struct graph *g, const struct stack *s, uint32_t stamp,
			   uint32_t *node_seen, uint32_t **edge_seen, size_t *edge_cap)
{
	const uint32_t *fn = g->frame_node + (s->frames - g->ss->arena);
	bool residual = false, have = false;
	uint32_t parent = 0;

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
		}
		if (have && n != parent) {
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
	}
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
	hmap_release(&g->edge_index);
	hmap_init(&g->edge_index);
	for (size_t i = 0; i < g->ss->nstacks; i++) {
		const struct stack *s = &g->ss->stacks[i];
		if ((s->value || s->div) && graph_add_stack(g, s, (uint32_t)i + 1, node_seen, &edge_seen,
						&edge_cap) < 0)
			goto out;
	}
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
	int64_t x2 = g->o.cum_sort ? x->flat : x->cum, y2 = g->o.cum_sort ? y->flat : y->cum;
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
	if (g->o.node_count)
		graph_trim_edges(g, edge_cut);
	if (g->o.node_count && g->o.node_count < g->norder) {
		graph_keep(g, g->o.node_count, 0);
		if (graph_build(g) < 0)
			return -1;
		graph_select(g);
	}
	g->dropped_edges = graph_trim_edges(g, edge_cut);
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
	intern_init(&g->labels);
	if (graph_index_frames(g) < 0 || graph_build(g) < 0)
		goto fail;
	g->order = malloc((g->nnodes + 1) * sizeof(*g->order));
	if (!g->order) {
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
	free(g->frame_node);
	free(g->clean);
	hmap_release(&g->node_index);
	hmap_release(&g->edge_index);
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

int graph_node_edges(const struct graph *g, uint32_t n, bool in, uint32_t **out, size_t *nout)
{
	size_t k = 0;

	*out = malloc((g->nedges + 1) * sizeof(**out));
	if (!*out)
		return cp_error("out of memory");
	for (size_t i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];
		if (!e->dropped && (in ? e->dst : e->src) == n)
			(*out)[k++] = (uint32_t)i;
	}
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

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return cp_error("bad regular expression '%s'", pattern);
	for (size_t i = 0; i < g->norder; i++)
		n += regexec(&re, g->nodes[g->order[i]].label, 0, NULL, 0) == 0;
	regfree(&re);
	return n ? n : cp_error("no matches found for regexp: %s", pattern);
}
