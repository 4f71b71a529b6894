/* cprof top's keys: one table of what each key does, its label in the
 * footer and its help, which drives the handlers, the footer and the help
 * overlay (and a unit test holds the man page's KEYS section against it);
 * and the keys of the filter prompt and the thread picker, which take every
 * key while open. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "errmsg.h"
#include "pprof.h"
#include "tui_int.h"

/* Move SEL among N entries by the key CH; false if CH is no movement. */
static bool tui_keys_move_in(int ch, size_t *sel, size_t n)
{
	size_t page = tui_body_height() > 1 ? tui_body_height() - 1 : 1;

	switch (ch) {
	case KEY_UP:
	case 'k':
		if (*sel > 0)
			(*sel)--;
		break;
	case KEY_DOWN:
	case 'j':
		if (*sel + 1 < n)
			(*sel)++;
		break;
	case KEY_PPAGE:
		*sel = *sel > page ? *sel - page : 0;
		break;
	case KEY_NPAGE:
		*sel += page;
		tui_clamp(sel, n);
		break;
	case KEY_HOME:
	case 'g':
		*sel = 0;
		break;
	case KEY_END:
	case 'G':
		*sel = n ? n - 1 : 0;
		break;
	default:
		return false;
	}
	return true;
}

static int tui_keys_move(struct tui *u, int ch)
{
	if (u->view == VIEW_TABLE) {
		tui_keys_move_in(ch, &u->row_sel, u->nrows);
		return H_REDRAW;
	}
	tui_keys_move_in(ch, &u->line_sel, u->nlines);
	if (u->nlines)
		tui_path_of(&u->cursor, &u->tree, u->lines[u->line_sel].node);
	return H_REDRAW;
}

static void tui_keys_zoom_to(struct tui *u, uint32_t node)
{
	u->history = realloc(u->history, (u->nhistory + 1) * sizeof(*u->history));
	if (!u->history)
		die(EXIT_ERROR, "out of memory");
	u->history[u->nhistory++] = u->zoom;
	u->zoom = (struct tui_path){ 0 };
	tui_path_of(&u->zoom, &u->tree, node);
	tui_path_of(&u->cursor, &u->tree, node);
	u->line_sel = 0;
	u->line_top = 0;
}

/* Enter in the table: the flame view zoomed into the biggest node of the
 * selected function; in the flame view: zoom into the selected frame. */
static int tui_keys_enter(struct tui *u, int ch)
{
	uint32_t best = 0;

	(void)ch;
	if (u->view == VIEW_FLAME) {
		if (u->nlines && u->lines[u->line_sel].node != u->root)
			tui_keys_zoom_to(u, u->lines[u->line_sel].node);
		return H_REBUILD;
	}
	if (!u->nrows)
		return 0;
	for (uint32_t i = 1; i < u->tree.nnodes; i++)
		if (u->tree.nodes[i].name == u->rows[u->row_sel].name &&
		    (!best || u->tree.nodes[i].abs_total > u->tree.nodes[best].abs_total))
			best = i;
	u->view = VIEW_FLAME;
	if (best && best != u->root)
		tui_keys_zoom_to(u, best);
	return H_REBUILD;
}

static int tui_keys_zoom_out(struct tui *u, int ch)
{
	(void)ch;
	if (u->view != VIEW_FLAME)
		return H_REDRAW;
	if (!u->nhistory) {
		tui_message(u, false, "At the root already");
		return H_REDRAW;
	}
	tui_path_free(&u->cursor);
	u->cursor = u->zoom;
	u->zoom = u->history[--u->nhistory];
	return H_REBUILD;
}

static int tui_keys_quit(struct tui *u, int ch)
{
	(void)u;
	(void)ch;
	return H_QUIT;
}

static int tui_keys_help(struct tui *u, int ch)
{
	(void)ch;
	u->overlay = OVERLAY_HELP;
	return H_REDRAW;
}

static int tui_keys_view(struct tui *u, int ch)
{
	(void)ch;
	u->view = u->view == VIEW_TABLE ? VIEW_FLAME : VIEW_TABLE;
	return H_REDRAW;
}

static int tui_keys_sort(struct tui *u, int ch)
{
	if (ch == 's')
		u->sort = TOP_SORT_SELF;
	else if (ch == 'c')
		u->sort = TOP_SORT_TOTAL;
	else
		u->sort = u->sort == TOP_SORT_SELF ? TOP_SORT_TOTAL : TOP_SORT_SELF;
	return H_REBUILD;
}

static int tui_keys_filter(struct tui *u, int ch)
{
	(void)ch;
	snprintf(u->input, sizeof(u->input), "%s", u->filter ? u->filter : "");
	u->overlay = OVERLAY_FILTER;
	return H_REDRAW;
}

static int tui_keys_thread(struct tui *u, int ch)
{
	(void)ch;
	u->overlay = OVERLAY_THREADS;
	u->thr_sel = 0;
	for (size_t i = 0; i < u->nthreads; i++)
		if (u->threads[i].tid == u->tid)
			u->thr_sel = i + 1;
	return H_REDRAW;
}

static int tui_keys_window(struct tui *u, int ch)
{
	(void)ch;
	u->recent = !u->recent;
	return H_FETCH;
}

static int tui_keys_pause(struct tui *u, int ch)
{
	(void)ch;
	u->paused = !u->paused;
	return u->paused ? H_REDRAW : H_FETCH;
}

/* The profile's next sample type: a heap profile's in-use and allocated
 * bytes and objects, a CPU profile's samples and time. */
static int tui_keys_type(struct tui *u, int ch)
{
	(void)ch;
	if (!u->p || u->p->nsample_types < 2) {
		tui_message(u, true, "The profile has one sample type");
		return H_REDRAW;
	}
	u->src.si = (u->src.si + 1) % (int)u->p->nsample_types;
	tui_message(u, false, "Showing %s", profile_str(u->p, u->p->sample_types[u->src.si].type));
	return H_REBUILD;
}

static int tui_keys_reset(struct tui *u, int ch)
{
	(void)ch;
	if (u->st.exited) {
		tui_message(u, true, "The target has exited: a reset would throw away all there is "
				     "(w writes it)");
		return H_REDRAW;
	}
	if (live_reset(u->src.live) < 0) {
		tui_message(u, true, "cannot reset: %s", cp_errmsg());
		return H_REDRAW;
	}
	tui_message(u, false, "Reset: sampling starts afresh");
	return H_FETCH;
}

/* A store range: the next (]) or previous ([) slot of windows alone, and
 * past either end the whole range again. */
static int tui_keys_step(struct tui *u, int ch)
{
	size_t n = u->src.nslots + 1, count, len = 0;
	size_t slot = ch == ']' ? (u->slot + 1) % n : (u->slot + n - 1) % n;
	struct store_select sel = u->src.sel;
	struct profile *p;

	if (!u->src.store) {
		tui_message(u, true, "Only a store range steps through windows (cprof top --store)");
		return H_REDRAW;
	}
	if (slot) {
		sel.from_ns = u->src.slots[slot - 1].from_ns;
		sel.to_ns = u->src.slots[slot - 1].to_ns;
	}
	p = store_read(u->src.store, &sel, &count);
	if (!p) {
		tui_message(u, true, "%s", cp_errmsg());
		return H_REDRAW;
	}
	profile_free(u->p);
	u->p = p;
	u->slot = slot;
	if (slot)
		len = (size_t)snprintf(u->title, sizeof(u->title), "window %zu of %zu: ", slot, n - 1);
	cmd_store_desc(p, count, u->title + len, sizeof(u->title) - len);
	return H_REBUILD;
}

/* Write the profile shown to a new file cprof-top-PID-YYYYmmdd-HHMMSS.pb.gz
 * in the current directory, its path into PATH. Returns 0 or -1. */
static int tui_keys_write_file(const struct tui *u, char *path, size_t n)
{
	char name[96], stamp[32], cwd[4096];
	time_t now = time(NULL);
	struct tm tm;
	int len;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	if (u->src.live)
		len = snprintf(name, sizeof(name), "cprof-top-%d-%s", (int)live_pid(u->src.live), stamp);
	else
		len = snprintf(name, sizeof(name), "cprof-top-%s", stamp);
	/* Two writes within a second get names of their own. */
	for (int i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(name + len, sizeof(name) - len, ".pb.gz");
		else
			snprintf(name + len, sizeof(name) - len, "-%d.pb.gz", i);
		if (access(name, F_OK) < 0)
			break;
	}
	if (pprof_write(u->p, name) < 0)
		return -1;
	if (getcwd(cwd, sizeof(cwd)) && (size_t)snprintf(path, n, "%s/%s", cwd, name) < n)
		return 0;
	snprintf(path, n, "%s", name);
	return 0;
}

static int tui_keys_write(struct tui *u, int ch)
{
	char path[4096];

	(void)ch;
	if (tui_keys_write_file(u, path, sizeof(path)) < 0)
		tui_message(u, true, "cannot write the profile: %s", cp_errmsg());
	else
		tui_message(u, false, "Wrote %s", path);
	return H_REDRAW;
}

const struct tui_key tui_keys[] = {
	{ { KEY_UP, 'k', KEY_DOWN, 'j', KEY_PPAGE, KEY_NPAGE, KEY_HOME, 'g', KEY_END, 'G' },
	  "Up, Down, PgUp, PgDn, Home, End", "Up/Down PgUp/PgDn Home/End", "move (also j/k, g/G)",
	  NULL, NULL, NULL, 0, tui_keys_move },
	{ { 'f', 'F' }, "f", "f", "the table or the flame view of the call tree",
	  "f", "Flame", "Table", 2, tui_keys_view },
	{ { '\n', '\r', KEY_ENTER }, "Enter", "Enter",
	  "table: open the flame view at the selected function\n"
	  "flame: zoom into the selected frame (it becomes the root)",
	  "Enter", "Zoom", "Zoom in", 3, tui_keys_enter },
	{ { KEY_BACKSPACE, 127, 8 }, "Backspace", "Backspace", "flame: zoom back out one level",
	  "Bksp", NULL, "Out", 4, tui_keys_zoom_out },
	{ { 's', 'c', '<', '>' }, "s, c", "s / c", "sort the table by self / total time (also < and >)",
	  "s/c", "Sort", NULL, 4, tui_keys_sort },
	{ { '/' }, "/", "/", "filter: samples through a function matching a regex",
	  "/", "Filter", "Filter", 5, tui_keys_filter },
	{ { 't' }, "t", "t", "pick one thread, or all", "t", "Thread", "Thread", 6, tui_keys_thread },
	{ { 'a' }, "a", "a", "all samples since the start / the recent window",
	  "a", "Window", "Window", 7, tui_keys_window, "show a recent window" },
	{ { 'i' }, "i", "i", "the next sample type (heap: in use, allocated; bytes, objects)",
	  "i", "Type", "Type", 11, tui_keys_type },
	{ { '[', ']' }, "[, ]", "[ / ]", "a store range: the previous / next window "
	  "(past the ends: all)", NULL, NULL, NULL, 0, tui_keys_step },
	{ { 'p' }, "p", "p", "pause the display (sampling goes on; p again catches up)",
	  "p", "Pause", "Pause", 8, tui_keys_pause, "pause" },
	{ { 'r' }, "r", "r", "reset: start the profile afresh",
	  "r", "Reset", "Reset", 9, tui_keys_reset, "be reset" },
	{ { 'w' }, "w", "w", "write the profile shown to cprof-top-PID-TIME.pb.gz",
	  "w", "Write", "Write", 10, tui_keys_write },
	{ { '?', 'h', KEY_F(1) }, "?, h, F1", NULL, NULL, "?", "Help", "Help", 12, tui_keys_help },
	/* Ctrl-C, should the terminal deliver it as a key. */
	{ { 'q', 'Q', 3 }, "q, Ctrl-C", "q Ctrl-C", "quit (an attached process runs on untouched)",
	  "q", "Quit", "Quit", 1, tui_keys_quit },
	{ { 0 } },
};

static const struct tui_key *tui_keys_find(int ch)
{
	for (const struct tui_key *k = tui_keys; k->handler; k++)
		for (const int *c = k->codes; *c; c++)
			if (*c == ch)
				return k;
	return NULL;
}

/* Is CH one of the keys that HANDLER handles? */
static bool tui_keys_is(int ch, int (*handler)(struct tui *u, int ch))
{
	const struct tui_key *k = tui_keys_find(ch);

	return k && k->handler == handler;
}

static const char *tui_keys_label(const struct tui *u, const struct tui_key *k)
{
	return u->view == VIEW_FLAME ? k->foot_flame : k->foot_table;
}

/* The footer's keys in the view shown, by their places; returns how many. */
static size_t tui_keys_footer(const struct tui *u, const struct tui_key **out, size_t max)
{
	size_t n = 0;
	int last = 0;

	for (const struct tui_key *k = tui_keys; k->handler; k++)
		last = k->foot > last ? k->foot : last;
	for (int place = 1; place <= last; place++)
		for (const struct tui_key *k = tui_keys; k->handler && n < max; k++)
			if (k->foot == place && tui_keys_label(u, k))
				out[n++] = k;
	return n;
}

/* The keys that fit, from the first; the last ("? Help", which lists them
 * all) is the last to go. */
static void tui_keys_footer_keys(const struct tui *u)
{
	const struct tui_key *keys[32];
	size_t n = tui_keys_footer(u, keys, 32) - 1, shown = 0;
	int y = LINES - 1, x = 0, width;

	width = (int)(strlen(keys[n]->foot_key) + 1 + strlen(tui_keys_label(u, keys[n])));
	while (shown < n) {
		int w = strlen(keys[shown]->foot_key) + strlen(tui_keys_label(u, keys[shown])) + 3;
		if (width + w > COLS)
			break;
		width += w;
		shown++;
	}
	for (size_t i = 0; i <= n && x < COLS; i++) {
		const char *label = tui_keys_label(u, keys[i]);
		if (i >= shown && i < n)
			continue;
		tui_put(y, x, A_BOLD, "%s", keys[i]->foot_key);
		x += strlen(keys[i]->foot_key) + 1;
		tui_put(y, x, tui_pair(u, PAIR_KEY), "%s", label);
		x += strlen(label) + 2;
	}
}

void tui_keys_footer_draw(const struct tui *u)
{
	int y = LINES - 1;

	if (u->overlay == OVERLAY_FILTER) {
		tui_put(y, 0, A_BOLD, FILTER_PROMPT);
		tui_put(y, strlen(FILTER_PROMPT), 0, "%s", u->input);
		curs_set(1);
		return;
	}
	curs_set(0);
	if (u->msg[0]) {
		attr_t at = u->msg_error ? tui_pair(u, PAIR_ERROR) | A_BOLD : A_BOLD;
		tui_put(y, 0, at, "%s", u->msg);
		return;
	}
	tui_keys_footer_keys(u);
}

static int tui_keys_set_filter(struct tui *u)
{
	regex_t re;

	if (!u->input[0]) {
		free(u->filter);
		u->filter = NULL;
		return H_REBUILD;
	}
	if (cp_regcomp(&re, u->input) < 0) {
		tui_message(u, true, "bad regular expression '%s': %s", u->input, cp_errmsg());
		return H_REDRAW;
	}
	regfree(&re);
	free(u->filter);
	u->filter = xstrdup(u->input);
	u->row_sel = u->row_top = 0;
	return H_REBUILD;
}

/* A key while the filter prompt is open. */
static int tui_keys_in_filter(struct tui *u, int ch)
{
	size_t n = strlen(u->input);

	if (tui_keys_is(ch, tui_keys_enter)) {
		u->overlay = OVERLAY_NONE;
		return tui_keys_set_filter(u);
	}
	if (ch == 27) {
		u->overlay = OVERLAY_NONE;
	} else if (tui_keys_is(ch, tui_keys_zoom_out)) {
		if (n)
			u->input[n - 1] = '\0';
	} else if (ch == 21) { /* Ctrl-U */
		u->input[0] = '\0';
	} else if (ch >= 32 && ch < 256 && ch != 127 && n + 1 < sizeof(u->input)) {
		u->input[n] = ch;
		u->input[n + 1] = '\0';
	}
	return H_REDRAW;
}

/* A key while the thread picker is open. */
static int tui_keys_in_threads(struct tui *u, int ch)
{
	if (tui_keys_move_in(ch, &u->thr_sel, u->nthreads + 1))
		return H_REDRAW;
	if (tui_keys_is(ch, tui_keys_enter)) {
		u->overlay = OVERLAY_NONE;
		if (u->thr_sel == 0 || u->thr_sel > u->nthreads) {
			u->tid = 0;
		} else {
			const struct top_thread *th = &u->threads[u->thr_sel - 1];
			u->tid = th->tid;
			snprintf(u->tid_name, sizeof(u->tid_name), "%lld %s", (long long)th->tid,
				 th->name);
		}
		u->row_sel = u->row_top = 0;
		return H_REBUILD;
	}
	if (ch == 27 || ch == 'q' || ch == 't')
		u->overlay = OVERLAY_NONE;
	return H_REDRAW;
}

int tui_keys_handle(struct tui *u, int ch)
{
	const struct tui_key *k;

	if (ch == KEY_RESIZE)
		return H_REDRAW;
	switch (u->overlay) {
	case OVERLAY_HELP:
		u->overlay = OVERLAY_NONE;
		return H_REDRAW;
	case OVERLAY_FILTER:
		return tui_keys_in_filter(u, ch);
	case OVERLAY_THREADS:
		return tui_keys_in_threads(u, ch);
	case OVERLAY_NONE:
		break;
	}
	u->msg[0] = '\0';
	k = tui_keys_find(ch);
	if (k && k->live_only && !u->src.live) {
		tui_message(u, true, "A saved profile cannot %s", k->live_only);
		return H_REDRAW;
	}
	return k ? k->handler(u, ch) : 0;
}
