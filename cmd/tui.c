/* cprof top's screen: the ncurses header, function table, flame view, help
 * and thread picker, and the keys. As in htop, fetching the data (top.c),
 * building the view model from it (lib/topview.c) and drawing are separate
 * steps, and key handlers return flags saying which of them to redo. The
 * terminal is put back on every way out: q, Ctrl-C, SIGTERM, SIGHUP, errors,
 * exit() and fatal signals. */
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "error.h"
#include "stacks.h"
#include "top.h"
#include "topview.h"
#include "units.h"

/* What a key handler did, and so what the loop must redo. */
enum {
	H_REDRAW = 1,   /* draw the screen again */
	H_REBUILD = 2,  /* rebuild the view model from the data, then draw */
	H_FETCH = 4,    /* fetch fresh data even when paused, then rebuild */
	H_QUIT = 8,
};

enum view { VIEW_TABLE, VIEW_FLAME };
enum overlay { OVERLAY_NONE, OVERLAY_HELP, OVERLAY_THREADS, OVERLAY_FILTER };

enum { PAIR_TITLE = 1, PAIR_BAR_A, PAIR_BAR_B, PAIR_KEY, PAIR_ERROR, PAIR_PAUSED };

/* Flame view nodes under this share of the zoom root are left out. */
#define FLAME_MIN_PERCENT 0.5
#define MESSAGE_NS 5000000000LL
#define FILTER_PROMPT "Filter (regex; Enter applies, empty clears, Esc cancels): "

/* A call-tree node named by the functions from the root down to it, so the
 * zoom and the cursor survive the tree being rebuilt from fresh data. */
struct path {
	char **names;
	size_t n;
};

struct ui {
	struct top *t;
	enum view view;
	enum overlay overlay;
	enum top_sort sort;
	bool paused, color;
	char *filter; /* a regex on function names, as --focus; NULL: none */
	char input[256];
	int64_t tid; /* the picked thread; 0: all */
	char tid_name[64];
	char msg[512];
	bool msg_error;
	int64_t msg_until;

	/* The view model, rebuilt from t->p. */
	bool built;
	struct stackset ss;
	struct func_total *rows;
	size_t nrows;
	struct calltree tree;
	struct flame_line *lines;
	size_t nlines;
	uint32_t root;
	struct top_thread *threads;
	size_t nthreads;
	int64_t denom; /* the total that shares are of */

	size_t row_sel, row_top;
	struct path zoom, cursor, *history;
	size_t nhistory;
	size_t line_sel, line_top;
	size_t thr_sel, thr_top;
};

/* The terminal as it was, for putting back from a signal handler. */
static struct termios saved_tio;
static bool have_tio;
static char restore_seq[256];
static size_t restore_len;
static volatile sig_atomic_t tui_active;
static SCREEN *screen;
static FILE *tty_in;
static bool utf8;

/* Async-signal-safe: the saved terminal modes and the escape sequences that
 * endwin() would send, written straight to the terminal. */
static void on_fatal(int sig)
{
	if (tui_active) {
		if (have_tio)
			tcsetattr(STDOUT_FILENO, TCSANOW, &saved_tio);
		if (write(STDOUT_FILENO, restore_seq, restore_len) < 0)
			restore_len = 0;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void add_restore(const char *cap)
{
	char *s = tigetstr(cap);
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (restore_len + n < sizeof(restore_seq)) {
		memcpy(restore_seq + restore_len, s, n);
		restore_len += n;
	}
}

static void catch_fatal(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void at_exit(void)
{
	tui_end();
}

int tui_start(void)
{
	static bool registered;
	const char *term = getenv("TERM");

	setlocale(LC_ALL, "");
	/* Numbers are formatted as everywhere else in cprof. */
	setlocale(LC_NUMERIC, "C");
	utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	have_tio = tcgetattr(STDOUT_FILENO, &saved_tio) == 0;
	tty_in = isatty(STDIN_FILENO) ? stdin : fopen("/dev/tty", "r");
	if (!tty_in)
		return cp_error("top needs a terminal to read keys from");
	screen = newterm(NULL, stdout, tty_in);
	if (!screen)
		return cp_error("cannot drive the terminal (TERM=%s); set TERM to one terminfo knows",
				term ? term : "");
	restore_len = 0;
	add_restore("sgr0");
	add_restore("cnorm");
	add_restore("rmkx");
	add_restore("rmcup");
	tui_active = 1;
	catch_fatal();
	if (!registered) {
		atexit(at_exit);
		registered = true;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_TITLE, COLOR_CYAN, -1);
		init_pair(PAIR_BAR_A, COLOR_RED, -1);
		init_pair(PAIR_BAR_B, COLOR_YELLOW, -1);
		init_pair(PAIR_KEY, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_ERROR, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_PAUSED, COLOR_BLACK, COLOR_YELLOW);
	}
	return 0;
}

void tui_end(void)
{
	if (!tui_active)
		return;
	tui_active = 0;
	endwin();
	fflush(stdout);
}

/* --- Paths of call-tree nodes. */

static void path_free(struct path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->names[i]);
	free(p->names);
	p->names = NULL;
	p->n = 0;
}

static void path_of(struct path *p, const struct calltree *t, uint32_t node)
{
	size_t n = 0;

	path_free(p);
	for (uint32_t i = node; i; i = t->nodes[i].parent)
		n++;
	p->names = xmalloc((n + 1) * sizeof(*p->names));
	p->n = n;
	for (uint32_t i = node; i; i = t->nodes[i].parent)
		p->names[--n] = xstrdup(stackset_name(t->ss, t->nodes[i].name));
}

/* The node at P in the tree, or 0 when it is not (all) there. */
static uint32_t path_node(const struct ui *u, const struct path *p)
{
	size_t depth;
	uint32_t n = topview_find_path(&u->tree, p->names, p->n, &depth);

	return depth == p->n ? n : 0;
}

/* --- The view model. */

static void release_model(struct ui *u)
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

static void clamp(size_t *sel, size_t n)
{
	if (*sel >= n)
		*sel = n ? n - 1 : 0;
}

static void place_cursor(struct ui *u)
{
	uint32_t want = u->cursor.n ? path_node(u, &u->cursor) : 0;

	for (size_t i = 0; want && i < u->nlines; i++) {
		if (u->lines[i].node == want) {
			u->line_sel = i;
			return;
		}
	}
	clamp(&u->line_sel, u->nlines);
}

static int rebuild(struct ui *u)
{
	struct stack_filter f = { .focus = u->filter, .tid = u->tid };
	const struct top *t = u->t;
	/* The thread list is re-sorted by samples: the picker stays on its thread. */
	int64_t picked = u->thr_sel > 0 && u->thr_sel <= u->nthreads ? u->threads[u->thr_sel - 1].tid : 0;
	size_t depth;

	release_model(u);
	if (stackset_init(&u->ss, t->p, t->si, &f) < 0)
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
	    topview_threads(t->p, t->si, &u->threads, &u->nthreads) < 0)
		goto fail;
	u->denom = u->ss.total_all;
	if (u->tid) {
		u->denom = 0;
		for (size_t i = 0; i < u->nthreads; i++)
			if (u->threads[i].tid == u->tid)
				u->denom = u->threads[i].value;
	}
	clamp(&u->row_sel, u->nrows);
	place_cursor(u);
	for (size_t i = 0; picked && i < u->nthreads; i++)
		if (u->threads[i].tid == picked)
			u->thr_sel = i + 1;
	clamp(&u->thr_sel, u->nthreads + 1);
	return 0;
fail:
	/* The arrays not yet made are NULL, and calltree_release takes a zeroed tree. */
	release_model(u);
	return -1;
}

/* --- Drawing. */

static void message(struct ui *u, bool err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void message(struct ui *u, bool err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
	va_end(ap);
	u->msg_error = err;
	u->msg_until = clock_ns(CLOCK_MONOTONIC) + MESSAGE_NS;
}

/* printf at Y, X, cut at the right edge. */
static void put(int y, int x, attr_t attr, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void put(int y, int x, attr_t attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (y < 0 || y >= LINES || x >= COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	attron(attr);
	mvaddnstr(y, x, buf, COLS - x);
	attroff(attr);
}

/* A whole line of Y in ATTR, so reverse video spans the screen. */
static void fill(int y, attr_t attr)
{
	attron(attr);
	mvhline(y, 0, ' ', COLS);
	attroff(attr);
}

static attr_t pair(const struct ui *u, int p)
{
	return u->color ? COLOR_PAIR(p) : 0;
}

static char *fmt_time(char *buf, size_t n, int64_t ns)
{
	long long s = ns / 1000000000;

	if (s < 60)
		snprintf(buf, n, "%llds", s);
	else if (s < 3600)
		snprintf(buf, n, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, n, "%lldh%02lldm", s / 3600, s / 60 % 60);
	return buf;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void draw_header(const struct ui *u)
{
	const struct top *t = u->t;
	const struct profile *p = t->p;
	const char *unit = profile_str(p, p->sample_types[t->si].unit);
	char a[32], b[32], c[64];
	attr_t title = pair(u, PAIR_TITLE) | A_BOLD;

	if (t->live) {
		put(0, 0, title, "cprof top");
		put(0, 10, A_BOLD, "pid %d", (int)t->pid);
		put(0, 22, 0, "%s", t->command);
		if (t->exited) {
			if (t->launched && WIFEXITED(t->status))
				snprintf(c, sizeof(c), " exited with status %d ", WEXITSTATUS(t->status));
			else if (t->launched && WIFSIGNALED(t->status))
				snprintf(c, sizeof(c), " killed by signal %d ", WTERMSIG(t->status));
			else
				snprintf(c, sizeof(c), " exited ");
			put(0, COLS - (int)strlen(c), pair(u, PAIR_ERROR) | A_BOLD, "%s", c);
		} else if (t->stopped[0]) {
			put(0, COLS - 9, pair(u, PAIR_ERROR) | A_BOLD | (u->color ? 0 : A_REVERSE),
			    " STOPPED ");
		} else if (u->paused) {
			put(0, COLS - 8, pair(u, PAIR_PAUSED) | A_BOLD | (u->color ? 0 : A_REVERSE),
			    " PAUSED ");
		}
		if (t->cpu_percent >= 0)
			snprintf(c, sizeof(c), "%.1f%%", t->cpu_percent);
		else
			snprintf(c, sizeof(c), "-");
		if (t->threads_now >= 0)
			snprintf(b, sizeof(b), "%ld", t->threads_now);
		else
			snprintf(b, sizeof(b), "-");
		put(1, 0, 0, "%u Hz %s  samples %llu  lost %llu  threads %s (%llu sampled)  CPU %s  elapsed %s",
		    t->frequency, t->fp ? "fp" : "dwarf", (unsigned long long)t->samples,
		    (unsigned long long)t->lost, b, (unsigned long long)t->threads_seen, c,
		    fmt_time(a, sizeof(a), t->elapsed_ns));
		if (t->recent && t->shown_ns >= t->window_ns)
			snprintf(c, sizeof(c), "last %s", fmt_time(a, sizeof(a), t->window_ns));
		else if (t->recent)
			snprintf(c, sizeof(c), "last %s (all %s so far)",
				 fmt_time(a, sizeof(a), t->window_ns), fmt_time(b, sizeof(b), t->shown_ns));
		else
			snprintf(c, sizeof(c), "all since start");
	} else {
		put(0, 0, title, "cprof top");
		put(0, 10, A_BOLD, "%s", base_name(t->path));
		put(1, 0, 0, "Type: %s  Total: %s  Duration: %s",
		    profile_str(p, p->sample_types[t->si].type),
		    units_format(a, sizeof(a), u->ss.total_all, unit),
		    p->duration_nanos ? units_format(b, sizeof(b), p->duration_nanos, "nanoseconds") :
					"-");
		snprintf(c, sizeof(c), "the whole profile");
	}
	put(2, 0, 0, "window: %s  sort: %s  thread: %s%s  filter: %s", c,
	    u->sort == TOP_SORT_SELF ? "self" : "total", u->tid ? "" : "all",
	    u->tid ? u->tid_name : "", u->filter ? u->filter : "none");
}

/* "name (file:line)" with the file's base name. */
static void label(const struct stackset *ss, uint32_t name, uint32_t file, int32_t line,
		  char *buf, size_t n)
{
	const char *f = file ? base_name(stackset_name(ss, file)) : "";

	if (!*f)
		snprintf(buf, n, "%s", stackset_name(ss, name));
	else if (line > 0)
		snprintf(buf, n, "%s (%s:%d)", stackset_name(ss, name), f, line);
	else
		snprintf(buf, n, "%s (%s)", stackset_name(ss, name), f);
}

static int body_top(void)
{
	return 4;
}

static int body_height(void)
{
	int h = LINES - body_top() - 1;

	return h > 0 ? h : 0;
}

static void scroll_into_view(size_t sel, size_t *top, size_t h)
{
	if (!h)
		return;
	if (sel < *top)
		*top = sel;
	else if (sel >= *top + h)
		*top = sel - h + 1;
}

/* The table's numeric columns, in the order shown. */
static const struct {
	const char *title;
	int width;
} table_cols[] = { { "%Self", 7 }, { "%Total", 7 }, { "Self", 9 }, { "Total", 9 } };

/* Fewer columns than this for the names, and numbers give way to them. */
#define NAME_MIN 30

/* The numeric columns that fit beside the names (bit i: table_cols[i]):
 * Total's time goes first, then Self's, then the share not sorted by. */
static unsigned table_shown(const struct ui *u)
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
static void table_line(unsigned shown, const char *const vals[4], const char *name, int sorted,
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

static void draw_table(struct ui *u)
{
	const char *unit = profile_str(u->t->p, u->t->p->sample_types[u->t->si].unit);
	size_t h = body_height();
	unsigned shown = table_shown(u);
	int sorted = u->sort == TOP_SORT_SELF ? 0 : 1, sort_x = 0, sort_w = 0;
	const char *titles[4];
	char a[32], b[32], c[32], d[32], name[1024], line[1200];

	for (int i = 0; i < 4; i++)
		titles[i] = table_cols[i].title;
	table_line(shown, titles, "Function (file:line)", sorted, line, sizeof(line), &sort_x, &sort_w);
	fill(3, A_REVERSE);
	put(3, 0, A_REVERSE, "%s", line);
	put(3, sort_x, A_REVERSE | A_BOLD, "%*s", sort_w, titles[sorted]);
	if (!u->nrows) {
		if (u->ss.total_all)
			put(body_top(), 2, A_DIM, "(no function matches)");
		else if (u->t->stopped[0])
			put(body_top(), 2, A_DIM, "(no samples: %s)", u->t->stopped);
		else
			put(body_top(), 2, A_DIM, "(no samples yet)");
		return;
	}
	scroll_into_view(u->row_sel, &u->row_top, h);
	for (size_t i = u->row_top; i < u->nrows && i < u->row_top + h; i++) {
		const struct func_total *r = &u->rows[i];
		int y = body_top() + (int)(i - u->row_top);
		attr_t at = i == u->row_sel ? A_REVERSE : 0;
		const char *vals[4] = {
			units_percent(a, sizeof(a), r->flat, u->denom),
			units_percent(b, sizeof(b), r->cum, u->denom),
			units_format(c, sizeof(c), r->flat, unit),
			units_format(d, sizeof(d), r->cum, unit),
		};
		label(&u->ss, r->name, r->file, r->start_line, name, sizeof(name));
		table_line(shown, vals, name, sorted, line, sizeof(line), &sort_x, &sort_w);
		if (at)
			fill(y, at);
		put(y, 0, at, "%s", line);
	}
}

/* Eighth blocks, so a bar's end is drawn at 1/8 of a column. */
static const char *const eighths[] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };

/* A bar from column START, LEN columns long, in a bar area of WIDTH from X. */
static void draw_bar(int y, int x, double start, double len, int width, attr_t attr)
{
	int first = (int)(start + 0.5), full, eighth;

	if (len < 0.125)
		len = 0.125;
	full = (int)len;
	eighth = (int)((len - full) * 8 + 0.5);
	if (eighth == 8) {
		full++;
		eighth = 0;
	}
	if (!utf8 && eighth >= 4)
		full++;
	if (!utf8 && full == 0)
		full = 1;
	if (first >= width)
		first = width - 1;
	if (first + full > width)
		full = width - first;
	move(y, x + first);
	attron(attr);
	for (int i = 0; i < full; i++)
		addstr(utf8 ? "█" : "#");
	if (utf8 && eighth && first + full < width)
		addstr(eighths[eighth]);
	attroff(attr);
}

static void draw_flame(struct ui *u)
{
	const struct calltree *t = &u->tree;
	size_t h = body_height();
	int bar = COLS * 2 / 5, x0 = 9, name_x = x0 + bar + 1;
	uint32_t root_depth = t->nodes[u->root].depth;
	char pct[32], crumbs[1024];
	size_t used = 0;

	if (bar < 10)
		bar = 10;
	used = snprintf(crumbs, sizeof(crumbs), " Flame: all");
	if (u->root) {
		struct path p = { 0 };
		path_of(&p, t, u->root);
		for (size_t i = 0; i < p.n && used < sizeof(crumbs); i++)
			used += snprintf(crumbs + used, sizeof(crumbs) - used, " > %s", p.names[i]);
		path_free(&p);
	}
	fill(3, A_REVERSE);
	/* A deep zoom keeps its end in sight. */
	if (used >= sizeof(crumbs))
		used = sizeof(crumbs) - 1;
	if ((int)used > COLS && COLS > 20)
		put(3, 0, A_REVERSE, " Flame: ...%s", crumbs + used - (COLS - 11));
	else
		put(3, 0, A_REVERSE, "%s", crumbs);
	if (!u->nlines) {
		if (u->ss.total_all)
			put(body_top(), 2, A_DIM, "(nothing here)");
		else if (u->t->stopped[0])
			put(body_top(), 2, A_DIM, "(no samples: %s)", u->t->stopped);
		else
			put(body_top(), 2, A_DIM, "(no samples yet)");
		return;
	}
	scroll_into_view(u->line_sel, &u->line_top, h);
	for (size_t i = u->line_top; i < u->nlines && i < u->line_top + h; i++) {
		const struct flame_line *l = &u->lines[i];
		const struct cnode *n = &t->nodes[l->node];
		int y = body_top() + (int)(i - u->line_top);
		uint32_t d = n->depth - (u->root ? root_depth : 1);
		bool sel = i == u->line_sel;
		attr_t at = sel ? A_REVERSE : 0;
		char name[1024];
		if (sel)
			fill(y, at);
		units_percent(pct, sizeof(pct), n->total, u->denom);
		put(y, 0, at, "%c%7s", sel ? '>' : ' ', pct);
		draw_bar(y, x0, l->start * bar, l->len * bar, bar,
			 sel ? A_REVERSE : pair(u, n->depth % 2 ? PAIR_BAR_A : PAIR_BAR_B));
		label(&u->ss, n->name, 0, 0, name, sizeof(name));
		put(y, name_x, at | (sel ? A_BOLD : 0), "%*s%s", (int)(d < 40 ? d : 40), "", name);
	}
}

struct key_help {
	const char *key, *what;
};

static const struct key_help keys_table[] = {
	{ "q", "Quit" }, { "f", "Flame" }, { "Enter", "Zoom" }, { "s/c", "Sort" },
	{ "/", "Filter" }, { "t", "Thread" }, { "a", "Window" }, { "p", "Pause" },
	{ "r", "Reset" }, { "w", "Write" }, { "?", "Help" }, { NULL, NULL },
};

static const struct key_help keys_flame[] = {
	{ "q", "Quit" }, { "f", "Table" }, { "Enter", "Zoom in" }, { "Bksp", "Out" },
	{ "/", "Filter" }, { "t", "Thread" }, { "a", "Window" }, { "p", "Pause" },
	{ "r", "Reset" }, { "w", "Write" }, { "?", "Help" }, { NULL, NULL },
};

static void draw_footer(const struct ui *u)
{
	const struct key_help *keys;
	int y = LINES - 1, x = 0, width;
	size_t n = 0, shown = 0;

	if (u->overlay == OVERLAY_FILTER) {
		put(y, 0, A_BOLD, FILTER_PROMPT);
		put(y, strlen(FILTER_PROMPT), 0, "%s", u->input);
		curs_set(1);
		return;
	}
	curs_set(0);
	if (u->msg[0]) {
		attr_t at = u->msg_error ? pair(u, PAIR_ERROR) | A_BOLD : A_BOLD;
		put(y, 0, at, "%s", u->msg);
		return;
	}
	keys = u->view == VIEW_FLAME ? keys_flame : keys_table;
	while (keys[n + 1].key)
		n++;
	/* The keys that fit, from the first; "? Help", which lists them all,
	 * is the last to go. */
	width = (int)(strlen(keys[n].key) + 1 + strlen(keys[n].what));
	while (shown < n && width + (int)(strlen(keys[shown].key) + strlen(keys[shown].what)) + 3 <= COLS) {
		width += strlen(keys[shown].key) + strlen(keys[shown].what) + 3;
		shown++;
	}
	for (size_t i = 0; i <= n && x < COLS; i++) {
		const struct key_help *k = &keys[i];
		if (i >= shown && i < n)
			continue;
		put(y, x, A_BOLD, "%s", k->key);
		x += strlen(k->key) + 1;
		put(y, x, pair(u, PAIR_KEY), "%s", k->what);
		x += strlen(k->what) + 2;
	}
}

static const char *const help_text[] = {
	"cprof top keys",
	"",
	"  Up/Down PgUp/PgDn Home/End   move (also j/k, g/G)",
	"  f          the table or the flame view of the call tree",
	"  Enter      table: open the flame view at the selected function",
	"             flame: zoom into the selected frame (it becomes the root)",
	"  Backspace  flame: zoom back out one level",
	"  s / c      sort the table by self / total time (also < and >)",
	"  /          filter: samples through a function matching a regex",
	"  t          pick one thread, or all",
	"  a          all samples since the start / the recent window",
	"  p          pause the display (sampling goes on; p again catches up)",
	"  r          reset: start the profile afresh",
	"  w          write the profile shown to cprof-top-PID-TIME.pb.gz",
	"  q Ctrl-C   quit (an attached process runs on untouched)",
	"",
	"Shares are of all samples in the window (of the thread's, with t).",
	"Press any key to close this help.",
	NULL,
};

static void draw_box(int y, int x, int h, int w)
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

static void draw_help(void)
{
	int n = 0, w = 76, h, y, x;

	while (help_text[n])
		n++;
	h = n + 2 < LINES ? n + 2 : LINES;
	if (w > COLS)
		w = COLS;
	y = (LINES - h) / 2;
	x = (COLS - w) / 2;
	draw_box(y, x, h, w);
	for (int i = 0; i < n && i + 2 < h; i++)
		mvaddnstr(y + 1 + i, x + 2, help_text[i], w - 4);
}

static void draw_threads(struct ui *u)
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
	draw_box(y, x, h, w);
	put(y + 1, x + 2, A_BOLD, "Thread (Enter picks, Esc cancels)");
	scroll_into_view(u->thr_sel, &u->thr_top, rows);
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

static void draw(struct ui *u)
{
	erase();
	if (LINES < 8 || COLS < 40) {
		put(0, 0, A_BOLD, "cprof top: the terminal is too small (%dx%d)", COLS, LINES);
		refresh();
		return;
	}
	draw_header(u);
	if (u->view == VIEW_TABLE)
		draw_table(u);
	else
		draw_flame(u);
	draw_footer(u);
	if (u->overlay == OVERLAY_HELP)
		draw_help();
	else if (u->overlay == OVERLAY_THREADS)
		draw_threads(u);
	if (u->overlay == OVERLAY_FILTER) {
		int x = strlen(FILTER_PROMPT) + strlen(u->input);
		move(LINES - 1, x < COLS ? x : COLS - 1);
	}
	refresh();
}

/* --- Keys. */

static bool is_enter(int ch)
{
	return ch == '\n' || ch == '\r' || ch == KEY_ENTER;
}

static bool is_backspace(int ch)
{
	return ch == KEY_BACKSPACE || ch == 127 || ch == 8;
}

/* Move SEL among N entries by the key CH; false if CH is no movement. */
static bool move_key(int ch, size_t *sel, size_t n)
{
	size_t page = body_height() > 1 ? body_height() - 1 : 1;

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
		clamp(sel, n);
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

static void zoom_to(struct ui *u, uint32_t node)
{
	u->history = realloc(u->history, (u->nhistory + 1) * sizeof(*u->history));
	if (!u->history)
		die(EXIT_ERROR, "out of memory");
	u->history[u->nhistory++] = u->zoom;
	u->zoom = (struct path){ 0 };
	path_of(&u->zoom, &u->tree, node);
	path_of(&u->cursor, &u->tree, node);
	u->line_sel = 0;
	u->line_top = 0;
}

static int zoom_out(struct ui *u)
{
	if (!u->nhistory) {
		message(u, false, "At the root already");
		return H_REDRAW;
	}
	path_free(&u->cursor);
	u->cursor = u->zoom;
	u->zoom = u->history[--u->nhistory];
	return H_REBUILD;
}

/* Enter in the table: the flame view zoomed into the biggest node of the
 * selected function. */
static int open_function(struct ui *u)
{
	uint32_t best = 0;

	if (!u->nrows)
		return 0;
	for (uint32_t i = 1; i < u->tree.nnodes; i++)
		if (u->tree.nodes[i].name == u->rows[u->row_sel].name &&
		    (!best || u->tree.nodes[i].abs_total > u->tree.nodes[best].abs_total))
			best = i;
	u->view = VIEW_FLAME;
	if (best && best != u->root)
		zoom_to(u, best);
	return H_REBUILD;
}

static int write_profile(struct ui *u)
{
	char path[4096];

	if (top_write(u->t, path, sizeof(path)) < 0)
		message(u, true, "cannot write the profile: %s", cp_errmsg());
	else
		message(u, false, "Wrote %s", path);
	return H_REDRAW;
}

static int set_filter(struct ui *u)
{
	regex_t re;

	if (!u->input[0]) {
		free(u->filter);
		u->filter = NULL;
		return H_REBUILD;
	}
	if (cp_regcomp(&re, u->input) < 0) {
		message(u, true, "bad regular expression '%s': %s", u->input, cp_errmsg());
		return H_REDRAW;
	}
	regfree(&re);
	free(u->filter);
	u->filter = xstrdup(u->input);
	u->row_sel = u->row_top = 0;
	return H_REBUILD;
}

static int key_filter(struct ui *u, int ch)
{
	size_t n = strlen(u->input);

	if (is_enter(ch)) {
		u->overlay = OVERLAY_NONE;
		return set_filter(u);
	}
	if (ch == 27) {
		u->overlay = OVERLAY_NONE;
	} else if (is_backspace(ch)) {
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

static int key_threads(struct ui *u, int ch)
{
	if (move_key(ch, &u->thr_sel, u->nthreads + 1))
		return H_REDRAW;
	if (is_enter(ch)) {
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

static int key_live_only(struct ui *u, const char *what)
{
	message(u, true, "A saved profile cannot %s", what);
	return H_REDRAW;
}

static int handle_key(struct ui *u, int ch)
{
	struct top *t = u->t;

	if (ch == KEY_RESIZE)
		return H_REDRAW;
	switch (u->overlay) {
	case OVERLAY_HELP:
		u->overlay = OVERLAY_NONE;
		return H_REDRAW;
	case OVERLAY_FILTER:
		return key_filter(u, ch);
	case OVERLAY_THREADS:
		return key_threads(u, ch);
	case OVERLAY_NONE:
		break;
	}
	u->msg[0] = '\0';
	if (u->view == VIEW_TABLE && move_key(ch, &u->row_sel, u->nrows))
		return H_REDRAW;
	if (u->view == VIEW_FLAME && move_key(ch, &u->line_sel, u->nlines)) {
		if (u->nlines)
			path_of(&u->cursor, &u->tree, u->lines[u->line_sel].node);
		return H_REDRAW;
	}
	if (is_enter(ch)) {
		if (u->view == VIEW_TABLE)
			return open_function(u);
		if (u->nlines && u->lines[u->line_sel].node != u->root)
			zoom_to(u, u->lines[u->line_sel].node);
		return H_REBUILD;
	}
	if (is_backspace(ch))
		return u->view == VIEW_FLAME ? zoom_out(u) : H_REDRAW;
	switch (ch) {
	case 'q':
	case 'Q':
	case 3: /* Ctrl-C, should the terminal deliver it as a key */
		return H_QUIT;
	case '?':
	case 'h':
	case KEY_F(1):
		u->overlay = OVERLAY_HELP;
		return H_REDRAW;
	case 'f':
	case 'F':
		u->view = u->view == VIEW_TABLE ? VIEW_FLAME : VIEW_TABLE;
		return H_REDRAW;
	case 's':
		u->sort = TOP_SORT_SELF;
		return H_REBUILD;
	case 'c':
		u->sort = TOP_SORT_TOTAL;
		return H_REBUILD;
	case '<':
	case '>':
		u->sort = u->sort == TOP_SORT_SELF ? TOP_SORT_TOTAL : TOP_SORT_SELF;
		return H_REBUILD;
	case '/':
		snprintf(u->input, sizeof(u->input), "%s", u->filter ? u->filter : "");
		u->overlay = OVERLAY_FILTER;
		return H_REDRAW;
	case 't':
		u->overlay = OVERLAY_THREADS;
		u->thr_sel = 0;
		for (size_t i = 0; i < u->nthreads; i++)
			if (u->threads[i].tid == u->tid)
				u->thr_sel = i + 1;
		return H_REDRAW;
	case 'a':
		if (!t->live)
			return key_live_only(u, "show a recent window");
		t->recent = !t->recent;
		return H_FETCH;
	case 'p':
		if (!t->live)
			return key_live_only(u, "pause");
		u->paused = !u->paused;
		return u->paused ? H_REDRAW : H_FETCH;
	case 'r':
		if (!t->live)
			return key_live_only(u, "be reset");
		if (t->exited) {
			message(u, true, "The target has exited: a reset would throw away all there is "
					 "(w writes it)");
			return H_REDRAW;
		}
		if (top_reset(t) < 0) {
			message(u, true, "cannot reset: %s", cp_errmsg());
			return H_REDRAW;
		}
		message(u, false, "Reset: sampling starts afresh");
		return H_FETCH;
	case 'w':
		return write_profile(u);
	}
	return 0;
}

static void release_ui(struct ui *u)
{
	release_model(u);
	path_free(&u->zoom);
	path_free(&u->cursor);
	for (size_t i = 0; i < u->nhistory; i++)
		path_free(&u->history[i]);
	free(u->history);
	free(u->filter);
}

int tui_run(struct top *t)
{
	struct ui u = { .t = t, .color = has_colors() };
	int64_t next_fetch = clock_ns(CLOCK_MONOTONIC) + t->interval_ns;
	int flags = H_REBUILD, rc = 0;

	for (;;) {
		int64_t now = clock_ns(CLOCK_MONOTONIC), wait;
		int ch;

		if (cmd_stop)
			break;
		if ((flags & H_FETCH) || (t->live && !u.paused && now >= next_fetch)) {
			if (top_fetch(t) < 0) {
				rc = -1;
				break;
			}
			next_fetch = now + t->interval_ns;
			flags |= H_REBUILD;
		}
		if (flags & H_REBUILD) {
			if (rebuild(&u) < 0) {
				rc = -1;
				break;
			}
			flags |= H_REDRAW;
		}
		if (u.msg[0] && now > u.msg_until) {
			u.msg[0] = '\0';
			flags |= H_REDRAW;
		}
		if (flags & H_REDRAW)
			draw(&u);
		wait = (next_fetch - now) / 1000000;
		timeout(u.paused || !t->live ? 250 : wait < 10 ? 10 : wait > 250 ? 250 : (int)wait);
		ch = getch();
		flags = ch == ERR ? 0 : handle_key(&u, ch);
		if (flags & H_QUIT)
			break;
	}
	release_ui(&u);
	tui_end();
	return rc;
}

/* Last in the file: term.h defines the capabilities' names (lines, columns
 * and hundreds more) as macros, which the code above must not meet. */
#include <term.h>

int tui_check_terminal(void)
{
	const char *term = getenv("TERM");
	char *cup;
	bool moves;
	int err = 0;

	if (setupterm(NULL, STDOUT_FILENO, &err) != OK)
		return cp_error("cannot drive the terminal (TERM=%s); set TERM to one terminfo knows",
				term ? term : "");
	cup = tigetstr("cup");
	moves = cup && cup != (char *)-1;
	del_curterm(cur_term);
	/* TERM=dumb and the like are known but cannot place the cursor: the
	 * screen would stay blank. */
	if (!moves)
		return cp_error("cannot drive the terminal (TERM=%s): it cannot move the cursor; "
				"set TERM to one that can, such as xterm-256color", term ? term : "");
	return 0;
}
