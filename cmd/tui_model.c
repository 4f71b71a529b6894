/* cprof top's view model: the table's rows, the call tree and its flame
 * lines, and the threads, rebuilt from each copy of the data with the zoom
 * and the cursor kept as paths of function names. */
#include <stdlib.h>

#include "cmd.h"
#include "tui_int.h"

/* Flame view nodes under this share of the zoom root are left out. */
#define FLAME_MIN_PERCENT 0.5

void tui_path_free(struct tui_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->names[i]);
	free(p->names);
	p->names = NULL;
	p->n = 0;
}

void tui_path_of(struct tui_path *p, const struct calltree *t, uint32_t node)
{
	size_t n = 0;

	tui_path_free(p);
	for (uint32_t i = node; i; i = t->nodes[i].parent)
		n++;
	p->names = xmalloc((n + 1) * sizeof(*p->names));
	p->n = n;
	for (uint32_t i = node; i; i = t->nodes[i].parent)
		p->names[--n] = xstrdup(stackset_name(t->ss, t->nodes[i].name));
}

/* The node at P in the tree, or 0 when it is not (all) there. */
static uint32_t tui_path_node(const struct tui *u, const struct tui_path *p)
{
	size_t depth;
	uint32_t n = topview_find_path(&u->tree, p->names, p->n, &depth);

	return depth == p->n ? n : 0;
}

void tui_release_model(struct tui *u)
{
	if (!u->built)
		return;
	free(u->rows);
	free(u->lines);
	free(u->threads);
	calltree_release(&u->tree);
	stackset_release(&u->ss);
	u->rows = NULL;
	u->lines = NULL;
	u->threads = NULL;
	u->nrows = u->nlines = u->nthreads = 0;
	u->built = false;
}

void tui_clamp(size_t *sel, size_t n)
{
	if (*sel >= n)
		*sel = n ? n - 1 : 0;
}

static void tui_place_cursor(struct tui *u)
{
	uint32_t want = u->cursor.n ? tui_path_node(u, &u->cursor) : 0;

	for (size_t i = 0; want && i < u->nlines; i++) {
		if (u->lines[i].node == want) {
			u->line_sel = i;
			return;
		}
	}
	tui_clamp(&u->line_sel, u->nlines);
}

int tui_rebuild(struct tui *u)
{
	struct stack_filter f = { .focus = u->filter, .tid = u->tid };
	/* The thread list is re-sorted by samples: the picker stays on its thread. */
	int64_t picked = u->thr_sel > 0 && u->thr_sel <= u->nthreads ? u->threads[u->thr_sel - 1].tid : 0;
	size_t depth;

	tui_release_model(u);
	if (stackset_init(&u->ss, u->p, u->src.si, &f) < 0)
		return -1;
	u->built = true;
	if (stackset_functions(&u->ss, &u->rows, &u->nrows) < 0 ||
	    calltree_init(&u->tree, &u->ss) < 0)
		goto fail;
	topview_sort(&u->ss, u->rows, u->nrows, u->sort);
	if (calltree_sort(&u->tree) < 0)
		goto fail;
	u->root = topview_find_path(&u->tree, u->zoom.names, u->zoom.n, &depth);
	if (topview_flame(&u->tree, u->root, 1.0, FLAME_MIN_PERCENT, &u->lines, &u->nlines) < 0 ||
	    topview_threads(u->p, u->src.si, NULL, &u->threads, &u->nthreads) < 0)
		goto fail;
	u->denom = u->ss.total_all;
	if (u->tid) {
		u->denom = 0;
		for (size_t i = 0; i < u->nthreads; i++)
			if (u->threads[i].tid == u->tid)
				u->denom = u->threads[i].value;
	}
	tui_clamp(&u->row_sel, u->nrows);
	tui_place_cursor(u);
	for (size_t i = 0; picked && i < u->nthreads; i++)
		if (u->threads[i].tid == picked)
			u->thr_sel = i + 1;
	tui_clamp(&u->thr_sel, u->nthreads + 1);
	return 0;
fail:
	/* The arrays not yet made are NULL, and calltree_release takes a zeroed tree. */
	tui_release_model(u);
	return -1;
}
