/* cprof top's overlays: the help, written from the key table, and the
 * thread picker. */
#include <stdio.h>
#include <string.h>

#include "tui_int.h"
#include "units.h"

static const char *const help_head[] = { "cprof top keys", "" };
static const char *const help_tail[] = {
	"",
	"Shares are of all samples in the window (of the thread's, with t).",
	"Press any key to close this help.",
};

static void tui_help_box(int y, int x, int h, int w)
{
	for (int i = 0; i < h; i++) {
		move(y + i, x);
		for (int j = 0; j < w; j++)
			addch(' ');
	}
	attron(A_BOLD);
	mvhline(y, x, ACS_HLINE, w);
	mvhline(y + h - 1, x, ACS_HLINE, w);
	mvvline(y, x, ACS_VLINE, h);
	mvvline(y, x + w - 1, ACS_VLINE, h);
	mvaddch(y, x, ACS_ULCORNER);
	mvaddch(y, x + w - 1, ACS_URCORNER);
	mvaddch(y + h - 1, x, ACS_LLCORNER);
	mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
	attroff(A_BOLD);
}

/* The help's lines into LINES (of at most MAX, each N bytes): each key of
 * the table with its help, a help's later lines under its first. */
static int tui_help_lines(char lines[][128], int max)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(help_head) / sizeof(*help_head) && n < max; i++)
		snprintf(lines[n++], sizeof(lines[0]), "%s", help_head[i]);
	for (const struct tui_key *k = tui_keys; k->handler; k++) {
		const char *key = k->help_key, *s = k->help;
		int width = strlen(key ? key : "") > 10 ? (int)strlen(key) + 2 : 10;
		while (key && n < max) {
			const char *end = strchr(s, '\n');
			int len = end ? (int)(end - s) : (int)strlen(s);
			snprintf(lines[n++], sizeof(lines[0]), "  %-*s %.*s", width, key, len, s);
			if (!end)
				break;
			key = "";
			s = end + 1;
		}
	}
	for (size_t i = 0; i < sizeof(help_tail) / sizeof(*help_tail) && n < max; i++)
		snprintf(lines[n++], sizeof(lines[0]), "%s", help_tail[i]);
	return n;
}

void tui_help_draw(void)
{
	char lines[40][128];
	int n = tui_help_lines(lines, 40), w = 76, h, y, x;

	h = n + 2 < LINES ? n + 2 : LINES;
	if (w > COLS)
		w = COLS;
	y = (LINES - h) / 2;
	x = (COLS - w) / 2;
	tui_help_box(y, x, h, w);
	for (int i = 0; i < n && i + 2 < h; i++)
		mvaddnstr(y + 1 + i, x + 2, lines[i], w - 4);
}

void tui_threads_draw(struct tui *u)
{
	int w = 60, h = (int)u->nthreads + 4, y, x, rows;
	char pct[32];

	if (h > LINES - 2)
		h = LINES - 2;
	if (w > COLS)
		w = COLS;
	if (h < 5)
		return;
	y = (LINES - h) / 2;
	x = (COLS - w) / 2;
	rows = h - 3;
	tui_help_box(y, x, h, w);
	tui_put(y + 1, x + 2, A_BOLD, "Thread (Enter picks, Esc cancels)");
	tui_scroll_into_view(u->thr_sel, &u->thr_top, rows);
	for (size_t i = u->thr_top; i < u->nthreads + 1 && i < u->thr_top + rows; i++) {
		int yy = y + 2 + (int)(i - u->thr_top);
		attr_t at = i == u->thr_sel ? A_REVERSE : 0;
		attron(at);
		mvhline(yy, x + 1, ' ', w - 2);
		if (at)
			mvaddch(yy, x + 1, '>');
		if (i == 0) {
			units_percent(pct, sizeof(pct), u->ss.total_all, u->ss.total_all);
			mvprintw(yy, x + 2, "%7s  %-8s %.*s", pct, "", w - 22, "all threads");
		} else {
			const struct top_thread *th = &u->threads[i - 1];
			units_percent(pct, sizeof(pct), th->value, u->ss.total_all);
			mvprintw(yy, x + 2, "%7s  %-8lld %.*s", pct, (long long)th->tid, w - 22,
				 th->name);
		}
		attroff(at);
	}
}
