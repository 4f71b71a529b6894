/* go tool pprof -dot: the call graph as a Graphviz digraph, with pprof's
 * legend, node sizes and colours, label nodelets and edge weights. */
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "graph.h"
#include "render.h"
#include "units.h"

struct dot {
	FILE *out;
	const struct graph *g;
	int64_t total;
	const char *from, *to;
	uint32_t *id;       /* per node: its N number, 0 if not shown */
	bool *nodelets;     /* per node: it has nodelets */
	uint32_t *nout;     /* per node: its edges out */
	uint32_t *tag_first, *tag_list; /* node N's tags: tag_list[tag_first[N]..tag_first[N+1]) */
	regex_t re[2];      /* dot_res, compiled */
	bool re_ok[2];
};

static void dot_escape_n(FILE *out, const char *s, size_t n)
{
	for (; n && *s; s++, n--) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\l", out);
		else
			fputc(*s, out);
	}
}

static void dot_escape(FILE *out, const char *s)
{
	dot_escape_n(out, s, (size_t)-1);
}

static int64_t dot_abs(int64_t v)
{
	return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}

static const char *dot_value(const struct dot *d, char *buf, size_t n, int64_t v)
{
	return units_label_to(buf, n, v, d->from, d->to);
}

/* pprof's dotColor: grey near 0, red for growth, green for shrinkage;
 * the background lighter. */
static void dot_color(char *buf, size_t n, double score, bool background)
{
	double sat = background ? 0.1 : 1.0, val = background ? 0.93 : 0.7, r, g, b;

	if (isnan(score)) { /* a total of 0: Go's arithmetic makes green NaN, its byte 0 */
		snprintf(buf, n, "#%02x00%02x", (unsigned)(uint8_t)(val * 255.0),
			 (unsigned)(uint8_t)(val * (1 - sat) * 255.0));
		return;
	}
	score = fmax(-1.0, fmin(1.0, score));
	if (fabs(score) < 0.2)
		sat *= fabs(score) / 0.2;
	if (score > 0.0)
		score = pow(score, 0.3);
	if (score < 0.0)
		score = -pow(-score, 0.3);
	if (score < 0.0) {
		g = val;
		r = val * (1 + sat * score);
	} else {
		r = val;
		g = val * (1 - sat * score);
	}
	b = val * (1 - sat);
	snprintf(buf, n, "#%02x%02x%02x", (unsigned)(uint8_t)(r * 255.0),
		 (unsigned)(uint8_t)(g * 255.0), (unsigned)(uint8_t)(b * 255.0));
}

/* pprof's goVerRegExp: a module's major version "/vN" dropped from a path. */
static void dot_drop_version(char *s)
{
	for (char *p = s; (p = strstr(p, "/v")); p++) {
		char *j = p + 2, *k = j;
		while (*k >= '0' && *k <= '9')
			k++;
		if (k > j && (*k == '.' || *k == '/') &&
		    (k - j == 1 ? *j >= '2' : *j >= '1')) {
			memmove(p, k, strlen(k) + 1);
			return;
		}
	}
}

/* pprof's goRegExp: what follows the package path's last slash. */
static const char *dot_go_name(const char *s)
{
	const char *last = NULL, *seg = s;

	for (const char *c = s; *c; c++) {
		if (*c == '/') {
			if (c == seg)
				break;
			if (c[1])
				last = c + 1;
			seg = c + 1;
		} else if (!(*c == '_' || *c == '-' || *c == '.' || (*c >= '0' && *c <= '9') ||
			     (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) {
			break;
		}
	}
	return last;
}

/* pprof's ShortenFunctionName, into BUF. */
static const char *const dot_res[] = {
	/* pprof's javaRegExp and cppRegExp in POSIX syntax; the name is group 2 */
	"^([a-z][A-Za-z0-9_]*\\.)*([A-Z][A-Za-z0-9_$]*\\.(<init>|[a-z][A-Za-z0-9_$]*(\\$[0-9]+)?))(\\(|$)",
	"^([_a-zA-Z][_a-zA-Z0-9]*::)+(_*[A-Z][_a-zA-Z0-9]*::~?[_a-zA-Z][_a-zA-Z0-9]*(<.*>)?)",
};

static const char *dot_shorten(const struct dot *d, const char *name, char *buf, size_t n)
{
	const char *go;
	regmatch_t m[6];

	if (strncmp(name, "(anonymous namespace)::", 23) == 0)
		name += 23;
	snprintf(buf, n, "%s", name);
	dot_drop_version(buf);
	if ((go = dot_go_name(buf))) {
		memmove(buf, go, strlen(go) + 1);
		return buf;
	}
	for (size_t i = 0; i < 2; i++)
		if (d->re_ok[i] && regexec(&d->re[i], buf, 6, m, 0) == 0 && m[2].rm_so >= 0) {
			size_t len = (size_t)(m[2].rm_eo - m[2].rm_so);
			memmove(buf, buf + m[2].rm_so, len);
			buf[len] = '\0';
			return buf;
		}
	return buf;
}

/* pprof's multilinePrintableName: the short name a part a line ("::" and
 * "." break it), then the file's base name and line. */
static void dot_name(FILE *out, const struct dot *d, const struct graph_node *x)
{
	const struct graph *g = d->g;
	const char *name = x->name && !x->synth ? stackset_name(g->ss, x->name) : "";
	const char *file = x->file ? g->labels.strs[x->file - 1] : "", *base = strrchr(file, '/');
	char buf[4096];

	if (x->addr)
		fprintf(out, "%016llx\\n", (unsigned long long)x->addr);
	if (x->synth && x->name && !x->map) {
		dot_escape(out, stackset_name(g->ss, x->name));
		fputs("\\n", out);
		return;
	}
	if (*name) {
		dot_shorten(d, name, buf, sizeof(buf));
		for (const char *c = buf; *c; c++) {
			if (c[0] == ':' && c[1] == ':') {
				fputs("\\n", out);
				c++;
			} else if (strncmp(c, "[...]", 5) == 0) {
				fputs("[\xe2\x80\xa6]", out);
				c += 4;
			} else if (*c == '.') {
				fputs("\\n", out);
			} else if (*c == '\\' || *c == '"') {
				fprintf(out, "\\%c", *c);
			} else {
				fputc(*c == '\n' ? 'l' : *c, out);
			}
		}
		fputs("\\n", out);
	}
	base = base ? base + 1 : file;
	if (x->line)
		fprintf(out, "%s:%d\\n", base, x->line);
	else if (*file)
		fprintf(out, "%s\\n", base);
	else if (!*name) {
		const char *m = x->map ? profile_str(g->ss->p, x->map) : "", *mb = strrchr(m, '/');
		if (*m)
			fprintf(out, "[%s]\\n", mb ? mb + 1 : m);
		else
			fputs("<unknown>\\n", out);
	}
}

static void dot_node(struct dot *d, uint32_t n, double max_flat)
{
	const struct graph_node *x = &d->g->nodes[n];
	int64_t flat = graph_mean(x->flat, x->flat_div), cum = graph_mean(x->cum, x->cum_div);
	char fv[64], cv[64], pct[32], fg[16], bg[16], *p;
	int size = 8;
	double share = (double)cum / (double)dot_abs(d->total); /* as Go divides: NaN, Inf */

	fprintf(d->out, "N%u [label=\"", d->id[n]);
	dot_name(d->out, d, x);
	dot_value(d, fv, sizeof(fv), flat);
	snprintf(cv, sizeof(cv), "%s", fv);
	if (flat) {
		for (p = units_percent_padded(pct, sizeof(pct), flat, d->total); *p == ' '; p++)
			;
		fprintf(d->out, "%s (%s)", fv, p);
	} else {
		fputc('0', d->out);
	}
	if (cum != flat) {
		dot_value(d, cv, sizeof(cv), cum);
		for (p = units_percent_padded(pct, sizeof(pct), cum, d->total); *p == ' '; p++)
			;
		fprintf(d->out, "%sof %s (%s)", flat ? "\\n" : " ", cv, p);
	}
	if (max_flat != 0 && flat != 0 && (double)dot_abs(flat) <= max_flat)
		size += (int)ceil(16.0 * sqrt((double)dot_abs(flat) / max_flat));
	dot_color(fg, sizeof(fg), share, false);
	dot_color(bg, sizeof(bg), share, true);
	fprintf(d->out, "\" id=\"node%u\" fontsize=%d shape=box tooltip=\"", d->id[n], size);
	dot_escape(d->out, x->label);
	fprintf(d->out, " (%s)\" color=\"%s\" fillcolor=\"%s\"]\n", cv, fg, bg);
}

/* A tag as the nodelets show it: a graph_tag, or a group of numeric ones. */
struct dot_tag {
	const char *name;
	char buf[96]; /* a group's name */
	int64_t flat, cum, flat_div, cum_div;
	int64_t value;
	const char *unit;
};

static int64_t dot_tag_flat(const struct dot_tag *t)
{
	return graph_mean(t->flat, t->flat_div);
}

static int64_t dot_tag_cum(const struct dot_tag *t)
{
	return graph_mean(t->cum, t->cum_div);
}

/* pprof's tag order: cum (unless by flat), then flat, by magnitude, then name. */
static int dot_tag_cmp(const void *a, const void *b, void *ctx)
{
	const struct dot_tag *x = a, *y = b;
	const bool *flat = ctx;

	if (!*flat && x->cum != y->cum && dot_abs(x->cum) != dot_abs(y->cum))
		return dot_abs(x->cum) > dot_abs(y->cum) ? -1 : 1;
	if (x->flat != y->flat && dot_abs(x->flat) != dot_abs(y->flat))
		return dot_abs(x->flat) > dot_abs(y->flat) ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void dot_sort_tags(struct dot_tag *tags, size_t n, bool flat)
{
	qsort_r(tags, n, sizeof(*tags), dot_tag_cmp, &flat);
}

/* Node N's tags: its label tags (NUMERIC false) or its numeric ones under
 * the labels LABELS, into a new array *OUT of *N. */
static int dot_tags(const struct dot *d, uint32_t node, bool numeric, uint32_t labels,
		    struct dot_tag **out, size_t *n)
{
	const struct graph *g = d->g;

	*n = 0;
	*out = malloc((d->tag_first[node + 1] - d->tag_first[node] + 1) * sizeof(**out));
	if (!*out)
		return cp_error("out of memory");
	for (uint32_t k = d->tag_first[node]; k < d->tag_first[node + 1]; k++) {
		const struct graph_tag *t = &g->tags[d->tag_list[k]];
		struct dot_tag *o = &(*out)[*n];
		if (t->node != node || t->dropped || !!t->name != numeric ||
		    (numeric && t->labels != labels))
			continue;
		memset(o, 0, sizeof(*o));
		o->name = g->labels.strs[(numeric ? t->name : t->labels) - 1];
		o->flat = t->flat;
		o->cum = t->cum;
		o->flat_div = t->flat_div;
		o->cum_div = t->cum_div;
		o->value = t->value;
		o->unit = t->unit ? t->unit : "";
		(*n)++;
	}
	return 0;
}

/* pprof's tagDistance: how far T's value is from U's, in T's unit. */
static double dot_distance(const struct dot_tag *t, const struct dot_tag *u)
{
	double v;

	units_scale(u->value, u->unit, t->unit, &v);
	return v < (double)t->value ? (double)t->value - v : v - (double)t->value;
}

/* The label of group K of T (N tags, GROUP[i] each's): pprof's
 * tagGroupLabel, "min..max" of more than one; its values into T[K]. */
static void dot_group(struct dot_tag *t, size_t n, const size_t *group, size_t k)
{
	const struct dot_tag *lo = &t[k], *hi = &t[k];
	int64_t f = 0, df = 0, c = 0, dc = 0;
	size_t size = 0;
	char a[64], b[64];
	double v;

	for (size_t i = 0; i < n; i++) {
		if (group[i] != k)
			continue;
		size++;
		units_scale(t[i].value, t[i].unit, lo->unit, &v);
		if (i != k && (int64_t)v < lo->value)
			lo = &t[i];
		units_scale(t[i].value, t[i].unit, hi->unit, &v);
		if (i != k && (int64_t)v > hi->value)
			hi = &t[i];
		f += t[i].flat, df += t[i].flat_div, c += t[i].cum, dc += t[i].cum_div;
	}
	units_label_to(a, sizeof(a), lo->value, lo->unit, "auto");
	if (size > 1)
		snprintf(t[k].buf, sizeof(t[k].buf), "%s..%s", a,
			 units_label_to(b, sizeof(b), hi->value, hi->unit, "auto"));
	else
		snprintf(t[k].buf, sizeof(t[k].buf), "%s", a);
	t[k].flat = graph_mean(f, df);
	t[k].cum = graph_mean(c, dc);
	t[k].flat_div = t[k].cum_div = 0;
}

/* pprof's collapsedTags: more than COUNT numeric tags grouped around the
 * COUNT largest (each to the nearest by value). Returns how many remain. */
static size_t dot_collapse(struct dot_tag *t, size_t n, size_t count, bool flat)
{
	size_t *group;

	dot_sort_tags(t, n, flat);
	if (n <= count)
		return n;
	if (!(group = malloc(n * sizeof(*group))))
		return count;
	for (size_t i = 0; i < n; i++) {
		size_t best = 0;
		for (size_t k = 1; i >= count && k < count; k++)
			if (dot_distance(&t[i], &t[k]) < dot_distance(&t[i], &t[best]))
				best = k;
		group[i] = i < count ? i : best;
	}
	/* Each group's label reads its members' values, which the groups
	 * before it do not change (only their seeds, which are theirs). */
	for (size_t k = 0; k < count; k++)
		dot_group(t, n, group, k);
	free(group);
	for (size_t k = 0; k < count; k++)
		t[k].name = t[k].buf;
	dot_sort_tags(t, count, flat);
	return count;
}

/* pprof's numericNodelets: node SOURCE's numeric tags under LABELS; how
 * many it drew, or -1. */
static int dot_numeric(struct dot *d, uint32_t node, uint32_t labels, bool flat,
		       const char *source)
{
	struct dot_tag *t;
	size_t n;
	int drawn = 0;
	char w[64];

	if (dot_tags(d, node, true, labels, &t, &n) < 0)
		return -1;
	n = dot_collapse(t, n, GRAPH_NODELETS, flat);
	for (size_t j = 0; j < n; j++) {
		bool dotted = !(flat || dot_tag_flat(&t[j]) == dot_tag_cum(&t[j]));
		int64_t v = dotted ? dot_tag_cum(&t[j]) : dot_tag_flat(&t[j]);
		if (!v)
			continue;
		dot_value(d, w, sizeof(w), v);
		fprintf(d->out, "N%s_%zu [label = \"%s\" id=\"N%s_%zu\" fontsize=8 shape=box3d "
				"tooltip=\"%s\"]\n", source, j, t[j].name, source, j, w);
		fprintf(d->out, "%s -> N%s_%zu [label=\" %s\" weight=100 tooltip=\"%s\" "
				"labeltooltip=\"%s\"%s]\n", source, source, j, w, w, w,
			dotted ? " style=\"dotted\"" : "");
		drawn++;
	}
	free(t);
	return drawn;
}

/* pprof's addNodelets: node N's largest label tags, each with its numeric
 * tags, then its numeric tags without labels. */
static int dot_nodelets(struct dot *d, uint32_t n)
{
	bool flat = d->nout[n] > 0;
	struct dot_tag *t;
	size_t k;
	int drawn = 0, m;
	char w[64], src[64];

	if (dot_tags(d, n, false, 0, &t, &k) < 0)
		return -1;
	dot_sort_tags(t, k, flat);
	for (size_t i = 0; i < k && i < GRAPH_NODELETS; i++) {
		int64_t v = flat ? dot_tag_flat(&t[i]) : dot_tag_cum(&t[i]);
		uint32_t labels = (uint32_t)intern_find(&d->g->labels, t[i].name) + 1;
		if (!v)
			continue;
		dot_value(d, w, sizeof(w), v);
		fprintf(d->out, "N%u_%zu [label = \"%s\" id=\"N%u_%zu\" fontsize=8 shape=box3d "
				"tooltip=\"%s\"]\n", d->id[n], i, t[i].name, d->id[n], i, w);
		fprintf(d->out, "N%u -> N%u_%zu [label=\" %s\" weight=100 tooltip=\"%s\" "
				"labeltooltip=\"%s\"]\n", d->id[n], d->id[n], i, w, w, w);
		snprintf(src, sizeof(src), "N%u_%zu", d->id[n], i);
		if ((m = dot_numeric(d, n, labels, flat, src)) < 0)
			goto fail;
		drawn += 1 + m;
	}
	free(t);
	snprintf(src, sizeof(src), "N%u", d->id[n]);
	if ((m = dot_numeric(d, n, 0, flat, src)) < 0)
		return -1;
	d->nodelets[n] = drawn + m > 0;
	return 0;
fail:
	free(t);
	return -1;
}

static void dot_edge(struct dot *d, const struct graph_edge *e)
{
	const struct graph *g = d->g;
	int64_t v = graph_mean(e->weight, e->weight_div);
	char w[64], color[16];

	dot_value(d, w, sizeof(w), v);
	fprintf(d->out, "N%u -> N%u [label=\" %s%s\"", d->id[e->src], d->id[e->dst], w,
		e->inl ? "\\n (inline)" : "");
	if (d->total) {
		/* In int64 as pprof computes them, wrapping as Go's do. */
		int64_t w100 = (int64_t)((uint64_t)v * 100) / d->total;
		int64_t w5 = (int64_t)((uint64_t)v * 5) / d->total;
		int64_t weight = 1 + (dot_abs(w100) < 100 ? dot_abs(w100) : 100);
		int64_t width = 1 + (dot_abs(w5) < 5 ? dot_abs(w5) : 5);
		if (weight > 1)
			fprintf(d->out, " weight=%lld", (long long)weight);
		if (width > 1)
			fprintf(d->out, " penwidth=%lld", (long long)width);
		dot_color(color, sizeof(color), (double)v / (double)dot_abs(d->total), false);
		fprintf(d->out, " color=\"%s\"", color);
	}
	for (int i = 0; i < 2; i++) {
		fprintf(d->out, i ? " labeltooltip=\"" : " tooltip=\"");
		dot_escape(d->out, g->nodes[e->src].label);
		fprintf(d->out, " %s ", e->residual ? "..." : "->");
		dot_escape(d->out, g->nodes[e->dst].label);
		fprintf(d->out, " (%s)\"", w);
	}
	if (e->residual)
		fprintf(d->out, " style=\"dotted\"");
	if (d->nodelets[e->src])
		fprintf(d->out, " minlen=2");
	fprintf(d->out, "]\n");
}

/* The legend: HEADER's lines (the profile's, the filters'), then what the
 * graph shows and cut, each escaped. */
static int dot_legend(struct dot *d, const char *title, const char *header)
{
	char *buf = NULL, *line, *end;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return cp_error("out of memory");
	fputs(header, mem);
	render_graph_legend_lines(mem, d->g, d->total, d->from, d->to, true);
	fputs("\nSee https://git.io/JfYMW for how to read the graph\n", mem);
	if (fclose(mem) != 0) {
		free(buf);
		return cp_error("out of memory");
	}
	end = strchr(buf, '\n');
	fputs("subgraph cluster_L { \"", d->out);
	dot_escape_n(d->out, buf, end ? (size_t)(end - buf) : strlen(buf));
	fputs("\" [shape=box fontsize=16 label=\"", d->out);
	for (line = buf; *line; line = end + 1) {
		end = strchrnul(line, '\n');
		dot_escape_n(d->out, line, (size_t)(end - line));
		fputs("\\l", d->out);
		if (!*end)
			break;
	}
	fputc('"', d->out);
	if (*title)
		fprintf(d->out, " tooltip=\"%s\"", title);
	fputs("] }\n", d->out);
	free(buf);
	return 0;
}

/* The tags grouped by node, in their order. */
static int dot_group_tags(struct dot *d)
{
	const struct graph *g = d->g;

	d->tag_first = calloc(g->nnodes + 2, sizeof(*d->tag_first));
	d->tag_list = malloc((g->ntags + 1) * sizeof(*d->tag_list));
	if (!d->tag_first || !d->tag_list)
		return cp_error("out of memory");
	for (size_t i = 0; i < g->ntags; i++)
		d->tag_first[g->tags[i].node + 1]++;
	for (size_t i = 0; i < g->nnodes; i++)
		d->tag_first[i + 1] += d->tag_first[i];
	for (size_t i = 0; i < g->ntags; i++)
		d->tag_list[d->tag_first[g->tags[i].node]++] = (uint32_t)i;
	for (size_t i = g->nnodes; i > 0; i--)
		d->tag_first[i] = d->tag_first[i - 1];
	d->tag_first[0] = 0;
	return 0;
}

int render_dot(FILE *out, const struct graph *g, int64_t total, const char *title,
	       const char *header)
{
	struct dot d = { .out = out, .g = g, .total = total };
	double max_flat = 0;
	uint32_t *edges = NULL;
	size_t ne = 0;
	int rc = -1;

	d.from = profile_str(g->ss->p, g->ss->p->sample_types[g->ss->si].unit);
	d.to = graph_output_unit(g, total, false);
	d.id = calloc(g->nnodes + 1, sizeof(*d.id));
	d.nodelets = calloc(g->nnodes + 1, sizeof(*d.nodelets));
	d.nout = calloc(g->nnodes + 1, sizeof(*d.nout));
	edges = malloc((g->nedges + 1) * sizeof(*edges));
	for (size_t i = 0; i < 2; i++)
		d.re_ok[i] = regcomp(&d.re[i], dot_res[i], REG_EXTENDED) == 0;
	if (!d.id || !d.nodelets || !d.nout || !edges) {
		cp_error("out of memory");
		goto out;
	}
	if (dot_group_tags(&d) < 0)
		goto out;
	fprintf(out, "digraph \"%s\" {\nnode [style=filled fillcolor=\"#f8f8f8\"]\n",
		*title ? title : "unnamed");
	if (dot_legend(&d, title, header) < 0)
		goto out;
	for (size_t i = 0; i < g->nedges; i++)
		if (!g->edges[i].dropped && g->nodes[g->edges[i].src].shown) {
			d.nout[g->edges[i].src]++;
			edges[ne++] = (uint32_t)i;
		}
	for (size_t i = 0; i < g->norder; i++) {
		const struct graph_node *x = &g->nodes[g->order[i]];
		double f = (double)dot_abs(graph_mean(x->flat, x->flat_div));
		d.id[g->order[i]] = (uint32_t)i + 1;
		if (i == 0 || f > max_flat)
			max_flat = f;
	}
	for (size_t i = 0; i < g->norder; i++) {
		dot_node(&d, g->order[i], max_flat);
		if (dot_nodelets(&d, g->order[i]) < 0)
			goto out;
	}
	graph_sort_edges(g, edges, ne);
	for (size_t i = 0; i < ne; i++)
		dot_edge(&d, &g->edges[edges[i]]);
	rc = 0;
out:
	fputs("}\n", out);
	free(d.id);
	free(d.nodelets);
	free(d.nout);
	free(d.tag_first);
	free(d.tag_list);
	for (size_t i = 0; i < 2; i++)
		if (d.re_ok[i])
			regfree(&d.re[i]);
	free(edges);
	return rc;
}
