/* cprof top in two parts: top.c owns the data (the options, the target, the
 * sampler thread and the private copies of the profile that the screen
 * shows) and tui.c owns the terminal (drawing, keys, restoring it on every
 * way out). The screen asks for data through the top_* calls below and never
 * touches the sampling session. */
#ifndef CPROF_CMD_TOP_H
#define CPROF_CMD_TOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile.h"

struct top_live;

struct top {
	/* What the screen shows: a private copy, replaced by top_fetch. */
	struct profile *p;
	int si; /* the sample index of the table's values */

	/* The header. A live target: */
	struct top_live *live; /* NULL when showing a saved profile */
	pid_t pid;
	char command[256];
	unsigned frequency;
	bool fp;
	bool launched, exited;
	int status;          /* launched and exited: as from waitpid */
	uint64_t samples, lost, threads_seen;
	long threads_now;    /* in /proc/PID/task; -1 once the target is gone */
	char stopped[256];   /* "" or why the target is stopped (and so runs no code) */
	double cpu_percent;  /* of one CPU since the last fetch; < 0: unknown */
	int64_t elapsed_ns;  /* since sampling started or was reset */
	bool recent;         /* the recent window rather than everything */
	int64_t window_ns;   /* its length */
	int64_t shown_ns;    /* the span the copy covers */
	/* A saved profile: */
	const char *path;

	int64_t interval_ns; /* between fetches */
};

/* Replace T->p with a fresh copy of the live profile (the recent window if
 * T->recent) and update the header. A saved profile does not change.
 * Returns 0, or -1 with an error when sampling failed. */
int top_fetch(struct top *t);

/* Start the live profile afresh. Returns 0 or -1 with an error. */
int top_reset(struct top *t);

/* Write T->p to a new file cprof-top-PID-YYYYmmdd-HHMMSS.pb.gz in the current
 * directory, its path into PATH. Returns 0 or -1 with an error. */
int top_write(struct top *t, char *path, size_t n);

/* The screen: set up the terminal (and the handlers that put it back when
 * cprof dies of a signal), run until q, Ctrl-C or a signal, and put it back.
 * tui_run returns 0, or -1 with an error, the terminal restored either way. */
int tui_start(void);
/* Can the terminal (TERM) be driven? Checked before anything starts, so a
 * terminal that cannot move the cursor is refused rather than left blank.
 * Returns 0, or -1 with an error. */
int tui_check_terminal(void);
int tui_run(struct top *t);
/* Put the terminal back as it was; safe to call more than once. */
void tui_end(void);

#endif
