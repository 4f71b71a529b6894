/* go tool pprof -list: the source of the functions that match, each line
 * with the flat and cum values the profile gives it. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "graph.h"
#include "grow.h"
#include "render.h"
#include "units.h"

#define LIST_MARGIN 5 /* lines shown before the first and after the last sampled */

/* A source file's lines, read whole. */
struct list_source {
	char *text;
	char **lines; /* lines[1..n]: line numbers start at 1 */
	size_t n;
	char err[512]; /* why it could not be read, or "" */
};

static FILE *list_open(const char *path, const char *search, const char *trim, char *err,
		       size_t n)
{
	char buf[8192];
	FILE *f;

	path = graph_trim_path(path, trim, search);
	if (path[0] == '/') {
		if (!(f = fopen(path, "r")))
			snprintf(err, n, "open %s: %s", path, strerror(errno));
		return f;
	}
	for (const char *d = search; *d;) {
		const char *e = strchrnul(d, ':');
		size_t len = (size_t)(e - d);
		/* This directory and its parents, as pprof searches. */
		while (len < sizeof(buf) - 1) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, d, path);
			if ((f = fopen(buf, "r")))
				return f;
			while (len > 1 && d[len - 1] != '/')
				len--;
			if (len <= 1)
				break;
			len--;
		}
		d = *e ? e + 1 : e;
	}
	snprintf(err, n, "could not find file %s on path %s", path, search);
	return NULL;
}

static int list_read(struct list_source *src, const char *path, const char *search,
		     const char *trim)
{
	FILE *f = list_open(path, search, trim, src->err, sizeof(src->err));
	size_t len = 0, cap = 0;
	char *line;

	if (!f)
		return 0;
	src->text = NULL;
	if (getdelim(&src->text, &len, '\0', f) < 0 && !feof(f))
		snprintf(src->err, sizeof(src->err), "read %s: %s", path, strerror(errno));
	fclose(f);
	if (!src->text)
		return 0;
	for (line = src->text; *line;) {
		char *end = strchrnul(line, '\n');
		bool more = *end != '\0';
		if (CP_GROW(src->lines, cap, src->n + 2) < 0)
			return -1;
		*end = '\0';
		if (end > line && end[-1] == '\r')
			end[-1] = '\0';
		src->lines[++src->n] = line;
		line = more ? end + 1 : end;
	}
	return 0;
}

struct list_ctx {
	const struct graph *g;
	const char *from; /* the sample unit */
	const char *search, *trim;
};

static const char *list_fmt(const struct list_ctx *c, char *buf, size_t n, int64_t v)
{
	return units_label_to(buf, n, v, c->from, c->g->o.unit ? c->g->o.unit : "minimum");
}

/* pprof's valueOrDot. */
static const char *list_value(const struct list_ctx *c, char *buf, size_t n, int64_t v)
{
	return v ? list_fmt(c, buf, n, v) : ".";
}

/* The lines of FILE for nodes NODES (N): pprof's getSourceFromFile. */
static void list_file(FILE *out, const struct list_ctx *c, const struct list_source *src,
		      const uint32_t *nodes, size_t n)
{
	const struct graph_node *first = &c->g->nodes[nodes[0]];
	int start = first->start_line ? first->start_line : first->line - LIST_MARGIN;
	int end = first->line + LIST_MARGIN;
	char a[64], b[64];

	for (size_t i = 0; i < n; i++) {
		const struct graph_node *x = &c->g->nodes[nodes[i]];
		int s = x->start_line ? x->start_line : x->line - LIST_MARGIN;
		if (s < start)
			start = s;
		else if (x->line + LIST_MARGIN > end)
			end = x->line + LIST_MARGIN;
	}
	for (int l = start < 1 ? 1 : start; l <= end && (size_t)l <= src->n; l++) {
		int64_t flat = 0, cum = 0;
		for (size_t i = 0; i < n; i++)
			if (c->g->nodes[nodes[i]].line == l) {
				flat += c->g->nodes[nodes[i]].flat;
				cum += c->g->nodes[nodes[i]].cum;
			}
		fprintf(out, "%10s %10s %6d:%s\n", list_value(c, a, sizeof(a), flat),
			list_value(c, b, sizeof(b), cum), l, src->lines[l]);
	}
}

static int list_by_file(const void *a, const void *b, void *ctx)
{
	const struct graph *g = ctx;
	const struct graph_node *x = &g->nodes[*(const uint32_t *)a];
	const struct graph_node *y = &g->nodes[*(const uint32_t *)b];
	int c = strcmp(g->labels.strs[x->file - 1], g->labels.strs[y->file - 1]);

	return c ? c : (*(const uint32_t *)a > *(const uint32_t *)b) -
			       (*(const uint32_t *)a < *(const uint32_t *)b);
}

/* Function NAME: a ROUTINE block per source file it has lines in. */
static int list_function(FILE *out, const struct list_ctx *c, uint32_t name, int64_t total)
{
	const struct graph *g = c->g;
	uint32_t *nodes = malloc((g->norder + 1) * sizeof(*nodes));
	size_t n = 0;
	char a[64], b[64], d[64];

	if (!nodes)
		return cp_error("out of memory");
	for (size_t i = 0; i < g->nnodes; i++)
		if (g->nodes[i].shown && g->nodes[i].name == name && g->nodes[i].file)
			nodes[n++] = (uint32_t)i;
	if (!n)
		fprintf(out, "No source information for %s\n", stackset_name(g->ss, name));
	qsort_r(nodes, n, sizeof(*nodes), list_by_file, (void *)g);
	for (size_t i = 0, j; i < n; i = j) {
		const char *file = g->labels.strs[g->nodes[nodes[i]].file - 1];
		struct list_source src = { 0 };
		int64_t flat = 0, cum = 0;
		for (j = i; j < n && g->nodes[nodes[j]].file == g->nodes[nodes[i]].file; j++) {
			flat += g->nodes[nodes[j]].flat;
			cum += g->nodes[nodes[j]].cum;
		}
		fprintf(out, "ROUTINE ======================== %s in %s\n",
			stackset_name(g->ss, name), file);
		fprintf(out, "%10s %10s (flat, cum) %s of Total\n",
			list_fmt(c, a, sizeof(a), flat), list_fmt(c, b, sizeof(b), cum),
			units_percent_padded(d, sizeof(d), cum, total));
		if (list_read(&src, file, c->search, c->trim) < 0) {
			free(src.text);
			free(src.lines);
			free(nodes);
			return -1;
		}
		if (*src.err)
			fprintf(out, " Error: %s\n", src.err);
		else
			list_file(out, c, &src, nodes + i, j - i);
		free(src.text);
		free(src.lines);
	}
	free(nodes);
	return 0;
}

static int list_by_name(const void *a, const void *b, void *ctx)
{
	return strcmp(stackset_name(ctx, *(const uint32_t *)a), stackset_name(ctx, *(const uint32_t *)b));
}

int render_list(FILE *out, const struct graph *g, const char *pattern, int64_t total,
		const char *search, const char *trim)
{
	struct list_ctx c = { g, NULL, search, trim ? trim : "" };
	uint32_t *names = malloc((g->nnodes + 1) * sizeof(*names));
	bool *seen = calloc(g->ss->nnames + 1, sizeof(*seen));
	size_t n = 0;
	char a[64];
	regex_t re;
	int rc = -1;

	c.from = profile_str(g->ss->p, g->ss->p->sample_types[g->ss->si].unit);
	if (!names || !seen) {
		cp_error("out of memory");
		goto out;
	}
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
		cp_error("bad regular expression '%s'", pattern);
		goto out;
	}
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct graph_node *x = &g->nodes[i];
		if (x->shown && x->name && !x->synth && !seen[x->name] &&
		    regexec(&re, stackset_name(g->ss, x->name), 0, NULL, 0) == 0) {
			seen[x->name] = true;
			names[n++] = x->name;
		}
	}
	regfree(&re);
	if (!n) {
		cp_error("no matches found for regexp: %s", pattern);
		goto out;
	}
	qsort_r(names, n, sizeof(*names), list_by_name, (void *)g->ss);
	fprintf(out, "Total: %s\n", list_fmt(&c, a, sizeof(a), total));
	for (size_t i = 0; i < n; i++)
		if (list_function(out, &c, names[i], total) < 0)
			goto out;
	rc = 0;
out:
	free(names);
	free(seen);
	return rc;
}
