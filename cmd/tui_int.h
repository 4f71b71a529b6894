/* Inside cprof top's screen: the state its parts share, and each part's
 * calls, in layers that use only those below: tui.c runs the terminal and
 * the loop and refreshes the data; tui_draw.c lays out the screen and draws
 * the header; tui_table.c, tui_flame.c and tui_help.c draw one widget each;
 * tui_keys.c holds the key table that drives the handlers, the footer and
 * the help overlay; tui_model.c builds the view model from the data, and
 * tui_paint.c holds what everything draws with. */
#ifndef CPROF_CMD_TUI_INT_H
#define CPROF_CMD_TUI_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "live.h"
#include "stacks.h"
#include "topview.h"
#include "tui.h"

/* What a key handler did, and so what the loop must redo. */
enum {
	H_REDRAW = 1,   /* draw the screen again */
	H_REBUILD = 2,  /* rebuild the view model from the data, then draw */
	H_FETCH = 4,    /* fetch fresh data even when paused, then rebuild */
	H_QUIT = 8,
};

enum tui_view { VIEW_TABLE, VIEW_FLAME };
enum tui_overlay { OVERLAY_NONE, OVERLAY_HELP, OVERLAY_THREADS, OVERLAY_FILTER };

enum { PAIR_TITLE = 1, PAIR_BAR_A, PAIR_BAR_B, PAIR_KEY, PAIR_ERROR, PAIR_PAUSED };

#define FILTER_PROMPT "Filter (regex; Enter applies, empty clears, Esc cancels): "

/* A call-tree node named by the functions from the root down to it, so the
 * zoom and the cursor survive the tree being rebuilt from fresh data. */
struct tui_path {
	char **names;
	size_t n;
};

struct tui {
	/* The data: a private copy of the profile, replaced by each fetch. */
	struct tui_source src;
	struct profile *p;
	struct live_status st;
	double cpu_percent; /* of one CPU since the last fetch; < 0: unknown */
	int64_t last_cpu_ns, last_cpu_at;
	bool recent;        /* the recent window rather than everything */
	size_t slot;        /* a store range: the slot shown from 1, or 0 for the whole range */
	char title[160];    /* a store range: what is shown */

	enum tui_view view;
	enum tui_overlay overlay;
	enum top_sort sort;
	bool paused, color;
	char *filter; /* a regex on function names, as --focus; NULL: none */
	char input[256];
	int64_t tid; /* the picked thread; 0: all */
	char tid_name[64];
	char msg[512];
	bool msg_error;
	int64_t msg_until;

	/* The view model, rebuilt from p. */
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
	struct tui_path zoom, cursor, *history;
	size_t nhistory;
	size_t line_sel, line_top;
	size_t thr_sel, thr_top;
};

/* One key of the table that drives the handler, the footer and the help. */
struct tui_key {
	int codes[12];         /* the key codes it handles, 0-ended */
	const char *man;       /* its tag in the man page's KEYS section, roff undone */
	const char *help_key;  /* in the help overlay; NULL: not listed there */
	const char *help;      /* lines after the first go under it */
	const char *foot_key;  /* in the footer, labelled in each view (NULL: not shown) */
	const char *foot_table, *foot_flame;
	int foot;              /* the place in the footer, from 1 */
	int (*handler)(struct tui *u, int ch); /* returns H_* flags */
	const char *live_only; /* for a live target only: what a saved profile "cannot" */
};

/* Ended by an entry without a handler. */
extern const struct tui_key tui_keys[];


/* tui_model.c */
void tui_path_free(struct tui_path *p);
void tui_path_of(struct tui_path *p, const struct calltree *t, uint32_t node);
void tui_clamp(size_t *sel, size_t n);
int tui_rebuild(struct tui *u);
void tui_release_model(struct tui *u);

/* tui_paint.c */
const char *tui_base_name(const char *path);
void tui_label(const struct stackset *ss, uint32_t name, uint32_t file, int32_t line,
	       char *buf, size_t n);
void tui_message(struct tui *u, bool err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* printf at Y, X, cut at the right edge. */
void tui_put(int y, int x, attr_t attr, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A whole line of Y in ATTR, so reverse video spans the screen. */
void tui_fill(int y, attr_t attr);
attr_t tui_pair(const struct tui *u, int p);
int tui_body_top(void);
int tui_body_height(void);
void tui_scroll_into_view(size_t sel, size_t *top, size_t h);
/* The end of the rows of a list of N that the body shows, from *TOP,
 * scrolled so that SEL shows; 0 when N is, the body then saying why:
 * FILTERED when there are samples but none to list. */
size_t tui_body_rows(const struct tui *u, size_t n, size_t sel, size_t *top, const char *filtered);

/* tui_draw.c: the whole screen. */
void tui_draw(struct tui *u);

/* The widgets. */
void tui_table_draw(struct tui *u);
void tui_flame_draw(struct tui *u);
void tui_help_draw(void);
void tui_threads_draw(struct tui *u);
void tui_keys_footer_draw(const struct tui *u);

/* tui_keys.c: what key CH does. Returns H_* flags. */
int tui_keys_handle(struct tui *u, int ch);

#endif
