/* cprof top's flame view: one line per call-tree node from the zoom root
 * down, its bar where its box would be in a flame graph, and the way back to
 * the root as breadcrumbs. */
#include <langinfo.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "tui_int.h"
#include "units.h"

/* A bar from column START, LEN columns long, in a bar area of WIDTH from X. */
static void tui_flame_bar(int y, int x, double start, double len, int width, attr_t attr,
			  bool utf8)
{
	int first, full, eighth;

	/* Even a bar that rounds to past the end shows, in the last column. */
	if ((int)(start + 0.5) >= width)
		start = width - 1;
	eighth = render_flame_bar(start, len, width, !utf8, &first, &full);
	move(y, x + first);
	attron(attr);
	for (int i = 0; i < full; i++)
		addstr(utf8 ? "█" : "#");
	if (utf8 && eighth && first + full < width)
		addstr(render_eighths[eighth]);
	attroff(attr);
}

/* The zoom root's path on line 3, its end kept in sight. */
static void tui_flame_crumbs(const struct tui *u)
{
	char crumbs[1024];
	size_t used = snprintf(crumbs, sizeof(crumbs), " Flame: all");

	if (u->root) {
		struct tui_path p = { 0 };
		tui_path_of(&p, &u->tree, u->root);
		for (size_t i = 0; i < p.n && used < sizeof(crumbs); i++)
			used += snprintf(crumbs + used, sizeof(crumbs) - used, " > %s", p.names[i]);
		tui_path_free(&p);
	}
	tui_fill(3, A_REVERSE);
	if (used >= sizeof(crumbs))
		used = sizeof(crumbs) - 1;
	if ((int)used > COLS && COLS > 20)
		tui_put(3, 0, A_REVERSE, " Flame: ...%s", crumbs + used - (COLS - 11));
	else
		tui_put(3, 0, A_REVERSE, "%s", crumbs);
}

void tui_flame_draw(struct tui *u)
{
	const struct calltree *t = &u->tree;
	size_t end;
	int bar = COLS * 2 / 5, x0 = 9, name_x = x0 + bar + 1;
	uint32_t root_depth = t->nodes[u->root].depth;
	bool utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	char pct[32];

	if (bar < 10)
		bar = 10;
	tui_flame_crumbs(u);
	end = tui_body_rows(u, u->nlines, u->line_sel, &u->line_top, "(nothing here)");
	for (size_t i = u->line_top; i < end; i++) {
		const struct flame_line *l = &u->lines[i];
		const struct cnode *n = &t->nodes[l->node];
		int y = tui_body_top() + (int)(i - u->line_top);
		uint32_t d = n->depth - (u->root ? root_depth : 1);
		bool sel = i == u->line_sel;
		attr_t at = sel ? A_REVERSE : 0;
		char name[1024];
		if (sel)
			tui_fill(y, at);
		units_percent(pct, sizeof(pct), n->total, u->denom);
		tui_put(y, 0, at, "%c%7s", sel ? '>' : ' ', pct);
		tui_flame_bar(y, x0, l->start * bar, l->len * bar, bar,
			      sel ? A_REVERSE : tui_pair(u, n->depth % 2 ? PAIR_BAR_A : PAIR_BAR_B),
			      utf8);
		tui_label(&u->ss, n->name, 0, 0, name, sizeof(name));
		tui_put(y, name_x, at | (sel ? A_BOLD : 0), "%*s%s", (int)(d < 40 ? d : 40), "", name);
	}
}
