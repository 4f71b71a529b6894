/* cprof top's screen, as its command sees it: what to show (a live session
 * or a saved profile), the terminal set up and put back, and the loop that
 * runs until q, Ctrl-C or a signal. */
#ifndef CPROF_CMD_TUI_H
#define CPROF_CMD_TUI_H

#include <stdbool.h>
#include <stdint.h>

#include "live.h"
#include "profile.h"
#include "store.h"

struct tui_source {
	struct live *live;      /* a live session, or NULL for: */
	struct profile *saved;  /* a saved profile (the screen's from tui_new on) */
	const char *path;       /* and its file */
	int si;                 /* the sample index of the table's values */
	unsigned frequency;     /* live: for the header */
	bool fp;
	bool heap;              /* live: the heap, not the CPU */
	uint64_t rate;          /* its mean bytes between samples */
	char *heap_lib;         /* the heap library's path */
	bool recent;            /* live: start with the recent window */
	int64_t window_ns;      /* its length */
	int64_t interval_ns;    /* between fetches */
	/* A store range (top --store): saved is the whole range, merged; [ and ]
	 * step through its slots, each the windows that begin in [from, to). */
	const char *store;
	struct store_select sel;
	struct tui_slot {
		int64_t from_ns, to_ns;
	} *slots;
	size_t nslots;
};

struct tui;

/* Can the terminal (TERM) be driven? Checked before anything starts, so a
 * terminal that cannot move the cursor is refused rather than left blank.
 * Returns 0, or -1 with an error. */
int tui_check_terminal(void);

/* The screen's state with its first copy of the data, fetched before the
 * terminal is taken over so that a failure reads as any other error. NULL
 * with an error. */
struct tui *tui_new(const struct tui_source *src);
void tui_free(struct tui *u);

/* Set up the terminal (and the handlers that put it back when cprof dies of
 * a signal). Returns 0 or -1 with an error. */
int tui_start(void);

/* Run until q, Ctrl-C or a signal. Returns 0, or -1 with an error, the
 * terminal restored either way. */
int tui_run(struct tui *u);

/* Put the terminal back as it was; safe to call more than once. */
void tui_end(void);

#endif
