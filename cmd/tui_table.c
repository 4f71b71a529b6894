/* cprof top's table of functions: shares and times by self or total, the
 * numbers giving way to the names on a narrow terminal. */
#include <stdio.h>

#include "tui_int.h"
#include "units.h"

/* The table's numeric columns, in the order shown. */
static const struct {
	const char *title;
	int width;
} table_cols[] = { { "%Self", 7 }, { "%Total", 7 }, { "Self", 9 }, { "Total", 9 } };

/* Fewer columns than this for the names, and numbers give way to them. */
#define NAME_MIN 30

/* The numeric columns that fit beside the names (bit i: table_cols[i]):
 * Total's time goes first, then Self's, then the share not sorted by. */
static unsigned tui_table_shown(const struct tui *u)
{
	const int drop[] = { 3, 2, u->sort == TOP_SORT_SELF ? 1 : 0 };
	unsigned shown = 0xf;
	int used = 1;

	for (size_t i = 0; i < 4; i++)
		used += table_cols[i].width + 1;
	for (size_t k = 0; k < 3 && COLS - used < NAME_MIN; k++) {
		shown &= ~(1u << drop[k]);
		used -= table_cols[drop[k]].width + 1;
	}
	return shown;
}

/* The shown columns of VALS (one per table_cols) then NAME into BUF; the
 * sorted column's start and width into *SORT_X and *SORT_W. */
static void tui_table_line(unsigned shown, const char *const vals[4], const char *name, int sorted,
			   char *buf, size_t n, int *sort_x, int *sort_w)
{
	size_t used = 0;

	for (int i = 0; i < 4; i++) {
		if (!(shown & 1u << i))
			continue;
		if (i == sorted) {
			*sort_x = (int)used;
			*sort_w = table_cols[i].width;
		}
		used += snprintf(buf + used, n - used, "%*s ", table_cols[i].width, vals[i]);
		if (used >= n)
			return;
	}
	snprintf(buf + used, n - used, " %s", name);
}

void tui_table_draw(struct tui *u)
{
	const char *unit = profile_str(u->p, u->p->sample_types[u->src.si].unit);
	size_t end;
	unsigned shown = tui_table_shown(u);
	int sorted = u->sort == TOP_SORT_SELF ? 0 : 1, sort_x = 0, sort_w = 0;
	const char *titles[4];
	char a[32], b[32], c[32], d[32], name[1024], line[1200];

	for (int i = 0; i < 4; i++)
		titles[i] = table_cols[i].title;
	tui_table_line(shown, titles, "Function (file:line)", sorted, line, sizeof(line), &sort_x,
		       &sort_w);
	tui_fill(3, A_REVERSE);
	tui_put(3, 0, A_REVERSE, "%s", line);
	tui_put(3, sort_x, A_REVERSE | A_BOLD, "%*s", sort_w, titles[sorted]);
	end = tui_body_rows(u, u->nrows, u->row_sel, &u->row_top, "(no function matches)");
	for (size_t i = u->row_top; i < end; i++) {
		const struct func_total *r = &u->rows[i];
		int y = tui_body_top() + (int)(i - u->row_top);
		attr_t at = i == u->row_sel ? A_REVERSE : 0;
		const char *vals[4] = {
			units_percent(a, sizeof(a), r->flat, u->denom),
			units_percent(b, sizeof(b), r->cum, u->denom),
			units_format(c, sizeof(c), r->flat, unit),
			units_format(d, sizeof(d), r->cum, unit),
		};
		tui_label(&u->ss, r->name, r->file, r->start_line, name, sizeof(name));
		tui_table_line(shown, vals, name, sorted, line, sizeof(line), &sort_x, &sort_w);
		if (at)
			tui_fill(y, at);
		tui_put(y, 0, at, "%s", line);
	}
}
