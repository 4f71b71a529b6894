/* The text flame graph: one line per call-tree node, its bar placed and sized
 * as the node's box would be in a flame graph, with its share and name. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "render.h"
#include "units.h"

/* Eighth blocks, so a bar's end is drawn at 1/8 of a column. */
const char *const render_eighths[8] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };

int render_flame_bar(double start, double len, int width, bool whole, int *first, int *full)
{
	int eighth;

	*first = (int)(start + 0.5);
	if (len < 0.125)
		len = 0.125;
	*full = (int)len;
	eighth = (int)((len - *full) * 8 + 0.5);
	if (eighth == 8) {
		(*full)++;
		eighth = 0;
	}
	if (whole) {
		if (eighth >= 4)
			(*full)++;
		if (*full == 0)
			*full = 1;
		eighth = 0;
	}
	if (*first + *full > width)
		*full = width - *first;
	return eighth;
}

struct flame {
	FILE *out;
	const struct calltree *t;
	int64_t total;      /* for shares: the profile's (a diff's base) */
	int64_t width_total; /* for bar widths: the root's magnitude */
	double min_percent;
	int bar, width;
	bool diff, color;
};

/* A bar from column START, LEN columns long (eighths drawn), in GLYPH. */
static void render_flame_put_bar(FILE *out, double start, double len, int width,
				 const char *glyph)
{
	int col = 0, first, full;
	bool solid = strcmp(glyph, "█") == 0;
	int eighth = render_flame_bar(start, len, width, false, &first, &full);

	for (; col < first; col++)
		fputc(' ', out);
	for (int i = 0; i < full; i++, col++)
		fputs(glyph, out);
	if (eighth && col < width) {
		fputs(solid ? render_eighths[eighth] : glyph, out);
		col++;
	}
	for (; col < width; col++)
		fputc(' ', out);
}

static double render_flame_width_of(const struct flame *f, const struct cnode *n)
{
	return f->width_total ? (double)n->abs_total / f->width_total * f->bar : 0;
}

static void render_flame_node(struct flame *f, uint32_t i, double start)
{
	const struct cnode *n = &f->t->nodes[i];
	double share = f->width_total ? 100.0 * n->abs_total / f->width_total : 0;
	char pct[32];

	if (share < f->min_percent)
		return;
	if (i) {
		const char *name = stackset_name(f->t->ss, n->name);
		int room = f->width - f->bar - 9 - (int)(n->depth - 1);
		int len = strlen(name);
		/* In a diff, a change that rounds to 0.00 points is no change. */
		bool same = f->diff && (!f->total || fabs(100.0 * n->total / f->total) < 0.005);
		bool grew = !same && n->total > 0, shrank = !same && n->total < 0;
		const char *glyph = !f->diff || grew ? "█" : shrank ? "░" : "▒";
		if (same)
			snprintf(pct, sizeof(pct), " 0%%");
		else
			units_percent(pct + 1, sizeof(pct) - 1, n->total, f->total);
		pct[0] = '+';
		fprintf(f->out, "%7s ", f->diff && grew ? pct : pct + 1);
		if (f->color && (grew || shrank))
			fputs(grew ? "\033[31m" : "\033[34m", f->out);
		render_flame_put_bar(f->out, start, render_flame_width_of(f, n), f->bar, glyph);
		if (f->color && (grew || shrank))
			fputs("\033[0m", f->out);
		fprintf(f->out, " %*s", (int)(n->depth - 1), "");
		if (room < 3)
			room = 3;
		if (len > room)
			fprintf(f->out, "%.*s..\n", room - 2, name);
		else
			fprintf(f->out, "%s\n", name);
	}
	for (uint32_t k = n->first_child; k; k = f->t->nodes[k].next_sibling) {
		render_flame_node(f, k, start);
		start += render_flame_width_of(f, &f->t->nodes[k]);
	}
}

int render_flame(FILE *out, const struct stackset *ss, int width, double min_percent, int flags)
{
	struct calltree t;
	struct flame f = {
		.out = out, .t = &t, .total = ss->total_all, .min_percent = min_percent,
		.width = width, .diff = ss->diff, .color = flags & RENDER_COLOR,
	};

	if (calltree_init(&t, ss) < 0)
		return -1;
	/* The widest a bar can be: everything, or in a diff both profiles. */
	f.width_total = ss->diff ? t.nodes[0].abs_total : ss->total_all;
	if (calltree_sort(&t) < 0) {
		calltree_release(&t);
		return -1;
	}
	if (f.width < 40)
		f.width = 40;
	f.bar = f.width * 2 / 5;
	render_flame_node(&f, 0, 0);
	calltree_release(&t);
	return 0;
}
