/* The SVG flame graph, in the manner of Brendan Gregg's flamegraph.pl: stacks
 * sorted root first by frame name and merged, so siblings lie left to right in
 * name order; the root "all" at the bottom, one 16px row per depth; a name, its
 * value and share on hover, and click to zoom (clicking "all" zooms back out).
 * A diff profile (any negative value) is drawn with widths from the absolute
 * values, and each frame colored by its net change: red grew, blue shrank. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "hmap.h"
#include "render.h"
#include "units.h"
#include "utf8.h"

#define SVG_WIDTH 1200
#define PAD 10		/* left and right margins */
#define TOP 36		/* room for the title */
#define BOTTOM 10
#define ROW 16
#define CHAR_PX 7	/* Verdana 12px, roughly */

struct svg {
	FILE *out;
	const struct stackset *ss;
	const char *unit;
	int diff;
	int64_t abs_total; /* sum of |value|, the full width */
	double scale;	   /* pixels per unit of value */
	int measure;	   /* a dry run, finding the deepest frame drawn */
	size_t depth;
	int height;
};

struct open_frame {
	uint32_t name;
	int64_t start; /* in units of |value| from the left edge */
	int64_t abs, sum;
};

/* Click to zoom: a frame fills the width, its callers faded below it. */
static const char script[] =
	"var F = [];\n"
	"function init() {\n"
	"\t[].forEach.call(document.getElementsByClassName('f'), function (g) {\n"
	"\t\tvar r = g.querySelector('rect'), t = g.querySelector('title').textContent;\n"
	"\t\tvar f = { g: g, r: r, l: g.querySelector('text'), n: t.slice(0, t.lastIndexOf(' (')),\n"
	"\t\t\tx: +r.getAttribute('x'), w: +r.getAttribute('width'), y: +r.getAttribute('y') };\n"
	"\t\tF.push(f);\n"
	"\t\tg.onclick = function () { zoom(f); };\n"
	"\t});\n"
	"}\n"
	"function zoom(z) {\n"
	"\tF.forEach(function (f) {\n"
	"\t\tvar up = f.y <= z.y && f.x >= z.x - .02 && f.x + f.w <= z.x + z.w + .02;\n"
	"\t\tvar down = f.y > z.y && f.x <= z.x + .02 && f.x + f.w >= z.x + z.w - .02;\n"
	"\t\tvar x = up ? P + (f.x - z.x) * W / z.w : P, w = up ? f.w * W / z.w : W;\n"
	"\t\tvar c = Math.floor((w - 6) / 7);\n"
	"\t\tf.g.style.display = up || down ? '' : 'none';\n"
	"\t\tf.g.style.opacity = down && z.w < W ? 0.5 : 1;\n"
	"\t\tf.r.setAttribute('x', x); f.r.setAttribute('width', w); f.l.setAttribute('x', x + 3);\n"
	"\t\tf.l.textContent = c < 3 ? '' : f.n.length > c ? f.n.slice(0, c - 2) + '..' : f.n;\n"
	"\t});\n"
	"}\n";

/* Bytes in the well-formed UTF-8 character at S that XML allows, or 0. */
static size_t render_svg_char_len(const unsigned char *s)
{
	size_t bad;

	if (s[0] < 0x80)
		return s[0] >= 0x20 || s[0] == '\t';
	return utf8_char_len((const char *)s, &bad);
}

/* S escaped for XML, cut to MAX characters with ".." if longer; bytes that are
 * not UTF-8 become '?', since one would make the whole file unreadable. */
static void render_svg_put_escaped(FILE *out, const char *s, size_t max)
{
	static const char *const entity[] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&apos;",
	};
	const unsigned char *p = (const unsigned char *)s;
	size_t nchars = 0, keep, len;

	for (const unsigned char *q = p; *q; q += (len = render_svg_char_len(q)) ? len : 1)
		nchars++;
	keep = nchars > max ? max - 2 : nchars;
	for (size_t i = 0; i < keep; i++, p += len ? len : 1) {
		len = render_svg_char_len(p);
		if (*p < sizeof(entity) / sizeof(*entity) && entity[*p])
			fputs(entity[*p], out);
		else if (len)
			fwrite(p, 1, len, out);
		else
			fputc('?', out);
	}
	if (keep < nchars)
		fputs("..", out);
}

static void render_svg_put_color(struct svg *g, const char *name, int64_t abs, int64_t sum)
{
	uint64_t h = hash_bytes(HASH_SEED, name, strlen(name));
	double r;
	int c;

	if (!g->diff) {
		/* FNV-1a's low bits mix poorly; finish it as MurmurHash3 does */
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
		fprintf(g->out, "rgb(%d,%d,%d)", 205 + (int)(h % 51),
			(int)((h >> 8) % 231), (int)((h >> 16) % 56));
		return;
	}
	r = abs ? (double)sum / abs : 0;
	c = (int)((r < 0 ? -r : r) * 170 + 0.5);
	if (r >= 0)
		fprintf(g->out, "rgb(250,%d,%d)", 250 - c, 250 - c);
	else
		fprintf(g->out, "rgb(%d,%d,250)", 250 - c, 250 - c);
}

/* One frame at DEPTH (0: the root), unless narrower than 0.1px. */
static void render_svg_put_frame(struct svg *g, const char *name, const struct open_frame *f,
				 size_t depth)
{
	double x = PAD + f->start * g->scale, w = f->abs * g->scale, fit;
	int y = g->height - BOTTOM - (int)(depth + 1) * ROW;
	int64_t denom = g->diff ? g->abs_total : g->ss->total;
	const char *sign = g->diff && f->sum > 0 ? "+" : "";
	char val[64], pct[32];
	size_t len;

	if (depth == 0) {
		x = PAD;
		w = SVG_WIDTH - 2 * PAD;
	} else if (w < 0.1) {
		return;
	}
	if (g->measure) {
		g->depth = depth > g->depth ? depth : g->depth;
		return;
	}
	units_format(val, sizeof(val), f->sum, g->unit);
	len = strlen(val);
	/* a bare number ("42") says nothing without its unit ("count") */
	if (f->sum && *g->unit && len && val[len - 1] >= '0' && val[len - 1] <= '9')
		snprintf(val + len, sizeof(val) - len, " %s", g->unit);
	units_percent(pct, sizeof(pct), f->sum, denom);
	fputs("<g class=\"f\"><title>", g->out);
	render_svg_put_escaped(g->out, name, SIZE_MAX);
	fprintf(g->out, " (%s", sign);
	render_svg_put_escaped(g->out, val, SIZE_MAX);
	fprintf(g->out, ", %s%s)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" rx=\"2\" fill=\"",
		sign, pct, x, y, w, ROW - 1);
	render_svg_put_color(g, name, f->abs, f->sum);
	fprintf(g->out, "\"/><text x=\"%.2f\" y=\"%d\">", x + 3, y + 12);
	fit = (w - 6) / CHAR_PX;
	if (fit >= 3)
		render_svg_put_escaped(g->out, name, (size_t)fit);
	fputs("</text></g>\n", g->out);
}

/* The name id of S's frame at DEPTH counted from the root (0). */
static uint32_t render_svg_name_at(const struct stack *s, size_t depth)
{
	return s->frames[s->nframes - 1 - depth].name;
}

static int render_svg_name_cmp(const struct stackset *ss, uint32_t a, uint32_t b)
{
	return a == b ? 0 : strcmp(stackset_name(ss, a), stackset_name(ss, b));
}

static int render_svg_by_path(const void *a, const void *b, void *ctx)
{
	const struct stackset *ss = ctx;
	const struct stack *x = *(const struct stack *const *)a, *y = *(const struct stack *const *)b;
	size_t i;

	for (i = 0; i < x->nframes && i < y->nframes; i++) {
		int c = render_svg_name_cmp(ss, render_svg_name_at(x, i), render_svg_name_at(y, i));
		if (c)
			return c;
	}
	return (x->nframes > i) - (y->nframes > i);
}

/* Sorted, stacks sharing a prefix are adjacent: a frame stays open while
 * the next stack shares the path to it, and is drawn once closed. */
static void render_svg_sweep(struct svg *g, const struct stack **order,
			     struct open_frame *open, const struct open_frame *root)
{
	size_t nopen = 0;
	int64_t offset = 0; /* where the next stack starts, in units of |value| */

	for (size_t k = 0; k <= g->ss->nstacks; k++) {
		const struct stack *s = k < g->ss->nstacks ? order[k] : NULL;
		size_t depth = s ? s->nframes : 0, common = 0;
		int64_t v;

		while (common < nopen && common < depth &&
		       !render_svg_name_cmp(g->ss, open[common].name, render_svg_name_at(s, common)))
			common++;
		while (nopen > common) {
			nopen--;
			render_svg_put_frame(g, stackset_name(g->ss, open[nopen].name), &open[nopen],
					     nopen + 1);
		}
		if (!s)
			break;
		for (; nopen < depth; nopen++) {
			open[nopen].name = render_svg_name_at(s, nopen);
			open[nopen].start = offset;
			open[nopen].abs = open[nopen].sum = 0;
		}
		v = s->value < 0 ? -s->value : s->value;
		for (size_t i = 0; i < depth; i++) {
			open[i].abs += v;
			open[i].sum += s->value;
		}
		offset += v;
	}
	render_svg_put_frame(g, "all", root, 0);
}

int render_svg(FILE *out, const struct stackset *ss, const char *title)
{
	struct svg g = { .out = out, .ss = ss, .unit = "" };
	const struct stack **order;
	struct open_frame *open, root = { 0 };
	size_t max_depth = 0;

	if (ss->si >= 0 && (size_t)ss->si < ss->p->nsample_types)
		g.unit = profile_str(ss->p, ss->p->sample_types[ss->si].unit);
	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct stack *s = &ss->stacks[i];
		g.diff |= s->value < 0;
		g.abs_total += s->value < 0 ? -s->value : s->value;
		root.sum += s->value;
		if (s->nframes > max_depth)
			max_depth = s->nframes;
	}
	root.abs = g.abs_total;
	order = malloc((ss->nstacks + 1) * sizeof(*order));
	open = malloc((max_depth + 1) * sizeof(*open));
	if (!order || !open) {
		free(order);
		free(open);
		return cp_error("out of memory");
	}
	for (size_t i = 0; i < ss->nstacks; i++)
		order[i] = &ss->stacks[i];
	qsort_r(order, ss->nstacks, sizeof(*order), render_svg_by_path, (void *)ss);
	g.scale = g.abs_total ? (double)(SVG_WIDTH - 2 * PAD) / g.abs_total : 0;
	g.measure = 1;
	render_svg_sweep(&g, order, open, &root);
	g.measure = 0;
	g.height = TOP + (int)(g.depth + 1) * ROW + BOTTOM;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\" onload=\"init()\">\n"
		"<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }\n"
		"g.f { cursor: pointer; } g.f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
		"#title { font-size: 17px; text-anchor: middle; }</style>\n"
		"<script><![CDATA[\nvar P = %d, W = %d;\n%s]]></script>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#eeeeee\"/>\n"
		"<text id=\"title\" x=\"%d\" y=\"24\">",
		SVG_WIDTH, g.height, SVG_WIDTH, g.height, PAD, SVG_WIDTH - 2 * PAD, script,
		SVG_WIDTH / 2);
	render_svg_put_escaped(out, title ? title : "", SIZE_MAX);
	fputs("</text>\n", out);

	render_svg_sweep(&g, order, open, &root);
	fputs("</svg>\n", out);
	free(open);
	free(order);
	return 0;
}
