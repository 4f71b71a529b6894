/* go tool pprof -list: the source of the functions that match, each line
 * with the flat and cum values the profile gives it. */
#include <ctype.h>
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

/* Go's filepath.Dir of PATH (clean) into BUF: all but its last element,
 * "." or "/" at the top. */
static void list_dir(const char *path, char *buf, size_t n)
{
	const char *slash = strrchr(path, '/');
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%.*s", slash ? (int)(slash - path + 1) : 0, path);
	if (graph_clean_path(tmp, buf, n) != buf)
		snprintf(buf, n, "%s", tmp);
}

static FILE *list_open(const char *path, const char *search, const char *trim, char *err,
		       size_t n)
{
	char buf[8192];
	FILE *f;

	path = graph_trim_path(path, trim, search);
	if (path[0] == '/') {
		if (!(f = fopen(path, "r"))) {
			/* Go's errno texts are C's, lower case */
			const char *why = strerror(errno);
			snprintf(err, n, "open %s: %c%s", path, tolower((unsigned char)*why),
				 *why ? why + 1 : "");
		}
		return f;
	}
	for (const char *d = search; *d;) {
		const char *e = strchrnul(d, ':');
		char elem[4096], dir[4096], up[4096], joined[8192 + 4096];
		if ((size_t)(e - d) < sizeof(elem)) {
			snprintf(elem, sizeof(elem), "%.*s", (int)(e - d), d);
			snprintf(dir, sizeof(dir), "%s", graph_clean_path(elem, up, sizeof(up)));
			/* This directory and its parents to the root or ".", as
			 * pprof searches (Go's filepath.Join and Dir). */
			for (;;) {
				snprintf(joined, sizeof(joined), "%s/%s", dir, path);
				if ((f = fopen(graph_clean_path(joined, buf, sizeof(buf)), "r")))
					return f;
				list_dir(dir, up, sizeof(up));
				if (strcmp(up, dir) == 0)
					break;
				snprintf(dir, sizeof(dir), "%s", up);
			}
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
	int64_t start = first->start_line ? first->start_line : (int64_t)first->line - LIST_MARGIN;
	int64_t end = (int64_t)first->line + LIST_MARGIN;
	char a[64], b[64];

	for (size_t i = 0; i < n; i++) {
		const struct graph_node *x = &c->g->nodes[nodes[i]];
		int64_t s = x->start_line ? x->start_line : (int64_t)x->line - LIST_MARGIN;
		if (s < start)
			start = s;
		else if ((int64_t)x->line + LIST_MARGIN > end)
			end = (int64_t)x->line + LIST_MARGIN;
	}
	for (int64_t l = start < 1 ? 1 : start; l <= end && (uint64_t)l <= src->n; l++) {
		int64_t flat = 0, cum = 0;
		for (size_t i = 0; i < n; i++)
			if (c->g->nodes[nodes[i]].line == l) {
				flat += c->g->nodes[nodes[i]].flat;
				cum += c->g->nodes[nodes[i]].cum;
			}
		fprintf(out, "%10s %10s %6lld:%s\n", list_value(c, a, sizeof(a), flat),
			list_value(c, b, sizeof(b), cum), (long long)l, src->lines[l]);
	}
}

/* The order of --list's nodes: by function name, then file (those without
 * last), then as they came. */
static int list_cmp(const void *a, const void *b, void *ctx)
{
	const struct graph *g = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct graph_node *x = &g->nodes[i], *y = &g->nodes[j];
	int c = strcmp(stackset_name(g->ss, x->name), stackset_name(g->ss, y->name));

	if (c)
		return c;
	if (!x->file != !y->file)
		return x->file ? -1 : 1;
	if (x->file && (c = strcmp(g->labels.strs[x->file - 1], g->labels.strs[y->file - 1])))
		return c;
	return (i > j) - (i < j);
}

/* The ROUTINE block of the N nodes of one function in one file. */
static int list_routine(FILE *out, const struct list_ctx *c, const uint32_t *nodes, size_t n,
			int64_t total)
{
	const struct graph *g = c->g;
	const struct graph_node *x = &g->nodes[nodes[0]];
	const char *file = g->labels.strs[x->file - 1];
	struct list_source src = { 0 };
	int64_t flat = 0, cum = 0;
	char a[64], b[64], d[64];

	for (size_t i = 0; i < n; i++) {
		flat += g->nodes[nodes[i]].flat;
		cum += g->nodes[nodes[i]].cum;
	}
	fprintf(out, "ROUTINE ======================== %s in %s\n", stackset_name(g->ss, x->name),
		file);
	fprintf(out, "%10s %10s (flat, cum) %s of Total\n", list_fmt(c, a, sizeof(a), flat),
		list_fmt(c, b, sizeof(b), cum), units_percent_padded(d, sizeof(d), cum, total));
	if (list_read(&src, file, c->search, c->trim) < 0) {
		free(src.text);
		free(src.lines);
		return -1;
	}
	if (*src.err)
		fprintf(out, " Error: %s\n", src.err);
	else
		list_file(out, c, &src, nodes, n);
	free(src.text);
	free(src.lines);
	return 0;
}

/* The shown nodes whose function's name PATTERN matches, into NODES;
 * how many, or -1 with an error. */
static int64_t list_match(const struct graph *g, const char *pattern, uint32_t *nodes)
{
	int8_t *match = calloc(g->ss->nnames + 1, 1); /* per name: 0 unknown, 1 yes, -1 no */
	size_t n = 0;
	regex_t re;

	if (!match)
		return cp_error("out of memory");
	if (cp_regcomp(&re, pattern) < 0) {
		free(match);
		return cp_error("bad regular expression '%s': %s", pattern, cp_errmsg());
	}
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct graph_node *x = &g->nodes[i];
		if (!x->shown || !x->name || x->synth)
			continue;
		if (!match[x->name])
			match[x->name] = regexec(&re, stackset_name(g->ss, x->name), 0, NULL, 0) ? -1 : 1;
		if (match[x->name] > 0)
			nodes[n++] = (uint32_t)i;
	}
	regfree(&re);
	free(match);
	return n ? (int64_t)n : cp_error("no matches found for regexp: %s", pattern);
}

int render_list(FILE *out, const struct graph *g, const char *pattern, int64_t total,
		const char *search, const char *trim)
{
	struct list_ctx c = { g, NULL, search, trim ? trim : "" };
	uint32_t *nodes = malloc((g->nnodes + 1) * sizeof(*nodes));
	int64_t n;
	char a[64];
	int rc = -1;

	c.from = profile_str(g->ss->p, g->ss->p->sample_types[g->ss->si].unit);
	if (!nodes) {
		cp_error("out of memory");
		goto out;
	}
	if ((n = list_match(g, pattern, nodes)) < 0)
		goto out;
	qsort_r(nodes, (size_t)n, sizeof(*nodes), list_cmp, (void *)g);
	fprintf(out, "Total: %s\n", list_fmt(&c, a, sizeof(a), total));
	for (int64_t i = 0, j; i < n; i = j) {
		const struct graph_node *x = &g->nodes[nodes[i]];
		for (j = i; j < n && g->nodes[nodes[j]].name == x->name &&
			    g->nodes[nodes[j]].file == x->file; j++)
			;
		if (!x->file) {
			if (i == 0 || g->nodes[nodes[i - 1]].name != x->name)
				fprintf(out, "No source information for %s\n",
					stackset_name(g->ss, x->name));
		} else if (list_routine(out, &c, nodes + i, (size_t)(j - i), total) < 0) {
			goto out;
		}
	}
	rc = 0;
out:
	free(nodes);
	return rc;
}
