/* The views go tool pprof prints from its call graph: -peek and -tree (each
 * node with its callers and callees), and the legend above them. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "graph.h"
#include "render.h"
#include "units.h"

struct render_graph {
	const struct graph *g;
	int64_t total;
	const char *from, *to; /* the sample unit, and the unit values are printed in */
};

static void render_graph_legend(FILE *out, const struct render_graph *r, const struct graph *g,
				bool edges);

static const char *render_graph_value(const struct render_graph *r, char *buf, size_t n,
				      int64_t v)
{
	return units_label_to(buf, n, v, r->from, r->to);
}

void render_graph_legend_lines(FILE *out, const struct graph *g, int64_t total,
			       const char *from, const char *to, bool edges)
{
	struct render_graph r = { g, total, from, to };

	render_graph_legend(out, &r, g, edges);
}

/* pprof's reportLabels after the profile's: the sum shown and what was cut. */
static void render_graph_legend(FILE *out, const struct render_graph *r, const struct graph *g,
				bool edges)
{
	int64_t shown = graph_flat_sum(g);
	char a[64], b[64], c[64], *pct;

	pct = units_percent_padded(b, sizeof(b), shown, r->total);
	while (*pct == ' ')
		pct++;
	fprintf(out, "Showing nodes accounting for %s, %s of %s total\n",
		render_graph_value(r, a, sizeof(a), shown), pct,
		render_graph_value(r, c, sizeof(c), r->total));
	if (!r->total)
		return;
	if (g->dropped_nodes)
		fprintf(out, "Dropped %zu node%s (cum <= %s)\n", g->dropped_nodes,
			g->dropped_nodes > 1 ? "s" : "",
			render_graph_value(r, a, sizeof(a),
					   llabs((int64_t)((double)r->total * g->o.node_fraction))));
	if (edges && g->dropped_edges)
		fprintf(out, "Dropped %zu edge%s (freq <= %s)\n", g->dropped_edges,
			g->dropped_edges > 1 ? "s" : "",
			render_graph_value(r, a, sizeof(a),
					   llabs((int64_t)((double)r->total * g->o.edge_fraction))));
	if (g->norder && g->norder < g->orig_count)
		fprintf(out, "Showing top %zu nodes out of %zu\n", g->norder, g->orig_count);
}

/* Node N's callers (IN) or callees, each as a line of the -peek block. */
static int render_graph_edges(FILE *out, const struct render_graph *r, uint32_t n, bool in)
{
	const struct graph *g = r->g;
	uint32_t *edges;
	size_t k;
	char a[64], b[64];

	if (graph_node_edges(g, n, in, &edges, &k) < 0)
		return -1;
	for (size_t i = 0; i < k; i++) {
		const struct graph_edge *e = &g->edges[edges[i]];
		fprintf(out, "%50s %s |   %s%s\n", render_graph_value(r, a, sizeof(a), e->weight),
			units_percent_padded(b, sizeof(b), e->weight,
					     graph_mean(g->nodes[n].cum, g->nodes[n].cum_div)),
			g->nodes[in ? e->src : e->dst].label, e->inl ? " (inline)" : "");
	}
	free(edges);
	return 0;
}

int render_peek(FILE *out, const struct graph *g, const char *pattern, int64_t total)
{
	static const char sep[] =
		"----------------------------------------------------------+-------------";
	struct render_graph r = { g, total, NULL, NULL };
	regex_t re;
	int64_t sum = 0;
	char a[64], b[64], c[64], d[64], e[64];
	int rc = -1;

	r.from = profile_str(g->ss->p, g->ss->p->sample_types[g->ss->si].unit);
	r.to = graph_output_unit(g, total, false);
	if (pattern && cp_regcomp(&re, pattern) < 0)
		return cp_error("bad regular expression '%s': %s", pattern, cp_errmsg());
	if (pattern && graph_matches(g, pattern) <= 0) {
		regfree(&re);
		return -1;
	}
	render_graph_legend(out, &r, g, false);
	fprintf(out, "%s\n      flat  flat%%   sum%%        cum   cum%%   calls calls%% + context "
		     "\t \t \n", sep);
	for (size_t i = 0; i < g->norder; i++) {
		uint32_t n = g->order[i];
		const struct graph_node *x = &g->nodes[n];
		if (pattern && regexec(&re, x->label, 0, NULL, 0) != 0)
			continue;
		int64_t flat = graph_mean(x->flat, x->flat_div), cum = graph_mean(x->cum, x->cum_div);
		sum += flat;
		fprintf(out, "%s\n", sep);
		if (render_graph_edges(out, &r, n, true) < 0)
			goto out;
		fprintf(out, "%10s %s %s %10s %s                | %s\n",
			render_graph_value(&r, a, sizeof(a), flat),
			units_percent_padded(b, sizeof(b), flat, total),
			units_percent_padded(c, sizeof(c), sum, total),
			render_graph_value(&r, d, sizeof(d), cum),
			units_percent_padded(e, sizeof(e), cum, total), x->label);
		if (render_graph_edges(out, &r, n, false) < 0)
			goto out;
	}
	if (g->norder)
		fprintf(out, "%s\n", sep);
	rc = 0;
out:
	if (pattern)
		regfree(&re);
	return rc;
}
