/* go tool pprof -callgrind: the call graph by address in the format
 * kcachegrind and qcachegrind read (valgrind's callgrind.out). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "graph.h"
#include "hmap.h"
#include "intern.h"
#include "render.h"
#include "units.h"

/* Callgrind's name compression: "(N) name" the first time, "(N)" after. */
struct callgrind_names {
	struct intern seen;
};

static const char *callgrind_name(struct callgrind_names *c, const char *name, char *buf,
				  size_t n)
{
	int64_t id;

	if (!*name)
		return "";
	id = intern_find(&c->seen, name);
	if (id >= 0) {
		snprintf(buf, n, "(%" PRId64 ")", id + 1);
		return buf;
	}
	id = intern_n(&c->seen, name, strlen(name));
	if (id < 0)
		return NULL;
	snprintf(buf, n, "(%" PRId64 ") %s", id + 1, name);
	return buf;
}

/* An address relative to the previous node's where that is shorter. */
static const char *callgrind_address(const struct graph_node *prev, uint64_t addr, char *buf,
				     size_t n)
{
	char rel[32];

	if (addr)
		snprintf(buf, n, "%#" PRIx64, addr);
	else
		snprintf(buf, n, "0x0");
	if (!prev)
		return buf;
	if (prev->addr == addr)
		return "*";
	snprintf(rel, sizeof(rel), "%+" PRId64, (int64_t)(addr - prev->addr));
	if (strlen(rel) < strlen(buf))
		snprintf(buf, n, "%s", rel);
	return buf;
}

struct callgrind {
	FILE *out;
	const struct graph *g;
	const char *from, *to;
	struct callgrind_names obj, files, names;
	/* per node: its " [i/n]" suffix, where n > 1 */
	uint32_t *func_index, *func_count;
};

static const char *callgrind_file(const struct graph *g, const struct graph_node *x)
{
	return x->file ? g->labels.strs[x->file - 1] : "";
}

static const char *callgrind_fn(const struct graph *g, const struct graph_node *x)
{
	return x->name && !x->synth ? stackset_name(g->ss, x->name) : "";
}

struct callgrind_key {
	const struct graph *g;
	const uint32_t *of; /* nodes, by the index the map returns */
	const struct graph_node *x;
	bool whole; /* the function too (binary, start line), not the name only */
};

static int callgrind_eq(void *ctx, uint32_t idx)
{
	const struct callgrind_key *k = ctx;
	const struct graph_node *y = &k->g->nodes[k->of[idx]], *x = k->x;

	return y->file == x->file && (y->synth ? 0 : y->name) == (x->synth ? 0 : x->name) &&
	       (!k->whole || (y->map == x->map && y->start_line == x->start_line));
}

/* pprof's getDisambiguatedNames: nodes of one file and name but of
 * different functions (binary, start line) get " [i/n]", i in the order. */
static int callgrind_disambiguate(struct callgrind *c)
{
	const struct graph *g = c->g;
	uint32_t *names = malloc((g->norder + 1) * sizeof(*names));
	uint32_t *funcs = malloc((g->norder + 1) * sizeof(*funcs));
	uint32_t *group = calloc(g->nnodes + 1, sizeof(*group)), nn = 0, nf = 0;
	struct hmap by_name, by_func;
	int rc = -1;

	hmap_init(&by_name);
	hmap_init(&by_func);
	c->func_index = calloc(g->nnodes + 1, sizeof(*c->func_index));
	c->func_count = calloc(g->norder + 1, sizeof(*c->func_count));
	if (!names || !funcs || !group || !c->func_index || !c->func_count)
		goto oom;
	for (size_t i = 0; i < g->norder; i++) {
		const struct graph_node *x = &g->nodes[g->order[i]];
		uint32_t key[4] = { x->file, x->synth ? 0 : x->name, x->map, (uint32_t)x->start_line };
		struct callgrind_key kn = { g, names, x, false }, kf = { g, funcs, x, true };
		uint64_t hn = hash_bytes(HASH_SEED, key, 2 * sizeof(*key));
		uint64_t hf = hash_bytes(hn, key + 2, 2 * sizeof(*key));
		int64_t at = hmap_find(&by_name, hn, callgrind_eq, &kn);
		if (at < 0) {
			if (hmap_insert(&by_name, hn, nn) < 0)
				goto oom;
			names[at = nn++] = g->order[i];
		}
		group[g->order[i]] = (uint32_t)at;
		if ((at = hmap_find(&by_func, hf, callgrind_eq, &kf)) < 0) {
			if (hmap_insert(&by_func, hf, nf) < 0)
				goto oom;
			funcs[at = nf++] = g->order[i];
			c->func_index[g->order[i]] = ++c->func_count[group[g->order[i]]];
		} else {
			c->func_index[g->order[i]] = c->func_index[funcs[at]];
		}
	}
	for (size_t i = 0; i < g->nnodes; i++)
		group[i] = c->func_count[group[i]];
	free(c->func_count);
	c->func_count = group; /* now per node: its group's count */
	group = NULL;
	rc = 0;
	goto out;
oom:
	cp_error("out of memory");
out:
	hmap_release(&by_name);
	hmap_release(&by_func);
	free(names);
	free(funcs);
	free(group);
	return rc;
}

static void callgrind_release(struct callgrind *c)
{
	intern_release(&c->obj.seen);
	intern_release(&c->files.seen);
	intern_release(&c->names.seen);
	free(c->func_index);
	free(c->func_count);
}

static int64_t callgrind_scaled(const struct callgrind *c, int64_t v)
{
	double x;

	units_scale(v, c->from, c->to, &x);
	return (int64_t)x;
}

/* Node N's cost line and its calls. */
static int callgrind_node(struct callgrind *c, uint32_t n, const struct graph_node *prev)
{
	const struct graph *g = c->g;
	const struct graph_node *x = &g->nodes[n];
	uint32_t *edges;
	size_t k;
	char a[64], name[2048], buf[4096];

	fprintf(c->out, "%s %d %" PRId64 "\n", callgrind_address(prev, x->addr, a, sizeof(a)),
		x->line, callgrind_scaled(c, graph_mean(x->flat, x->flat_div)));
	if (graph_node_edges(g, n, false, &edges, &k) < 0)
		return -1;
	for (size_t i = 0; i < k; i++) {
		const struct graph_edge *e = &g->edges[edges[i]];
		const struct graph_node *y = &g->nodes[e->dst];
		const char *fl = callgrind_name(&c->files, callgrind_file(g, y), buf, sizeof(buf));
		if (!fl)
			goto oom;
		fprintf(c->out, "cfl=%s\n", fl);
		/* pprof names the nodes it shows only: a callee whose values add
		 * up to 0 is nameless. */
		if (!y->shown)
			name[0] = '\0';
		else if (c->func_count[e->dst] > 1)
			snprintf(name, sizeof(name), "%s [%u/%u]", callgrind_fn(g, y),
				 c->func_index[e->dst], c->func_count[e->dst]);
		else
			snprintf(name, sizeof(name), "%s", callgrind_fn(g, y));
		if (!(fl = callgrind_name(&c->names, name, buf, sizeof(buf))))
			goto oom;
		fprintf(c->out, "cfn=%s\ncalls=0 %s %d\n* * %" PRId64 "\n", fl,
			callgrind_address(prev, y->addr, a, sizeof(a)), y->line,
			callgrind_scaled(c, e->weight));
	}
	free(edges);
	return 0;
oom:
	free(edges);
	return cp_error("out of memory");
}

/* The ob=, fl= and fn= lines of node X, where they change. */
static int callgrind_position(struct callgrind *c, const struct graph_node *x)
{
	const struct graph *g = c->g;
	const char *ob = x->map ? profile_str(g->ss->p, x->map) : "";
	const char *s[3];
	char b1[4096], b2[4096], b3[4096];

	s[0] = callgrind_name(&c->obj, ob, b1, sizeof(b1));
	s[1] = callgrind_name(&c->files, callgrind_file(g, x), b2, sizeof(b2));
	s[2] = callgrind_name(&c->names, callgrind_fn(g, x), b3, sizeof(b3));
	if (!s[0] || !s[1] || !s[2])
		return cp_error("out of memory");
	fprintf(c->out, "\nob=%s\nfl=%s\nfn=%s\n", s[0], s[1], s[2]);
	return 0;
}

int render_callgrind(FILE *out, const struct graph *g, int64_t total)
{
	struct callgrind c = { .out = out, .g = g };
	const struct graph_node *prev = NULL;
	const struct stackset *ss = g->ss;
	int rc = -1;

	c.from = profile_str(ss->p, ss->p->sample_types[ss->si].unit);
	c.to = graph_output_unit(g, total, true);
	intern_init(&c.obj.seen);
	intern_init(&c.files.seen);
	intern_init(&c.names.seen);
	if (callgrind_disambiguate(&c) < 0)
		goto out;
	fprintf(out, "positions: instr line\nevents: %s%s(%s)\n", ss->mean ? "mean_" : "",
		profile_str(ss->p, ss->p->sample_types[ss->si].type), c.to);
	for (size_t i = 0; i < g->norder; i++) {
		const struct graph_node *x = &g->nodes[g->order[i]];
		if ((!prev || x->map != prev->map || x->file != prev->file ||
		     strcmp(callgrind_fn(g, x), callgrind_fn(g, prev)) != 0) &&
		    callgrind_position(&c, x) < 0)
			goto out;
		if (callgrind_node(&c, g->order[i], prev) < 0)
			goto out;
		prev = x;
	}
	rc = 0;
out:
	callgrind_release(&c);
	return rc;
}
