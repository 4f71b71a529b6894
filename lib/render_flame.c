/* The text flame graph: one line per call-tree node, its bar placed and sized
 * as the node's box would be in a flame graph, with its share and name. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "render.h"
#include "units.h"

/* Eighth blocks, so a bar's end is drawn at 1/8 of a column. */
static const char *const eighths[] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };

struct flame {
	FILE *out;
	const struct calltree *t;
	int64_t total;
	double min_percent;
	int bar, width;
};

static void bar(FILE *out, double start, double len, int width)
{
	int col = 0, first = (int)(start + 0.5), full;
	int eighth;

	if (len < 0.125)
		len = 0.125;
	full = (int)len;
	eighth = (int)((len - full) * 8 + 0.5);
	if (eighth == 8) {
		full++;
		eighth = 0;
	}
	if (first + full > width)
		full = width - first;
	for (; col < first; col++)
		fputc(' ', out);
	for (int i = 0; i < full; i++, col++)
		fputs("█", out);
	if (eighth && col < width) {
		fputs(eighths[eighth], out);
		col++;
	}
	for (; col < width; col++)
		fputc(' ', out);
}

static void node(struct flame *f, uint32_t i, double start)
{
	const struct cnode *n = &f->t->nodes[i];
	double share = f->total ? (double)llabs(n->total) / (double)llabs(f->total) : 0;
	char pct[32];

	if (share * 100 < f->min_percent)
		return;
	if (i) {
		const char *name = stackset_name(f->t->ss, n->name);
		int room = f->width - f->bar - 9 - (int)(n->depth - 1);
		int len = strlen(name);
		fprintf(f->out, "%7s ", units_percent(pct, sizeof(pct), n->total, f->total));
		bar(f->out, start, share * f->bar, f->bar);
		fprintf(f->out, " %*s", (int)(n->depth - 1), "");
		if (room < 3)
			room = 3;
		if (len > room)
			fprintf(f->out, "%.*s..\n", room - 2, name);
		else
			fprintf(f->out, "%s\n", name);
	}
	for (uint32_t k = n->first_child; k; k = f->t->nodes[k].next_sibling) {
		node(f, k, start);
		start += f->total ? (double)llabs(f->t->nodes[k].total) / llabs(f->total) * f->bar : 0;
	}
}

int render_flame(FILE *out, const struct stackset *ss, int width, double min_percent)
{
	struct calltree t;
	struct flame f = { out, &t, ss->total_all, min_percent, 0, width };

	if (calltree_init(&t, ss) < 0)
		return -1;
	calltree_sort(&t);
	if (f.width < 40)
		f.width = 40;
	f.bar = f.width * 2 / 5;
	node(&f, 0, 0);
	calltree_release(&t);
	return 0;
}
