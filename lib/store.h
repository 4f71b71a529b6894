/* cprof record's local store: one gzipped pprof file per process and window,
 * DIR/YYYYmmdd/HHMMSS.mmm_DURATIONms_NAME_PID_KIND_TAGSET.pb.gz (UTC), each
 * written whole or not at all (file_write_output). The file names are the
 * index: a window is in the store once its rename is done, so a writer
 * killed at any moment leaves a store that reads as before, less the window
 * it was writing. Tag sets (k=v lines) are kept once each under DIR/tags/. */
#ifndef CPROF_STORE_H
#define CPROF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store_window {
	int64_t start_ns;      /* wall clock: ns since the epoch */
	int64_t duration_ns;   /* to the millisecond */
	pid_t pid;
	char name[64];         /* the process's name, [A-Za-z0-9.+-] (others '-'), at most 32 */
	char kind[16];         /* "cpu", "wall", "offcpu" or "heap" */
	char tagset[17];       /* 16 hex digits, or "0" without tags */
	char path[256];        /* under the store's directory */
	uint64_t bytes;
	uint64_t seq;          /* written: the order of the windows in an open store (1, 2...),
				* those found at its opening first, by start */
};

struct store;

/* Open the store at DIR for writing, made if missing (mode 0700), held by
 * this process alone (a second writer is refused, naming the first's pid).
 * Temporary files left by a writer that was killed are removed. NULL with
 * an error. */
struct store *store_open(const char *dir);
void store_close(struct store *st);

/* Set the tags of the windows put from now on ("k=v" each, NTAGS of them). Returns 0 or -1. */
int store_set_tags(struct store *st, char *const *tags, size_t ntags);

/* Write LEN bytes (a gzipped pprof) as the window W describes (start,
 * duration, pid, name as the process calls itself, kind; its file name and
 * size are set here), whole or not at all. It touches nothing shared, so
 * windows may be written by several threads at once; store_commit then adds
 * it to the store's list (under the caller's lock). Returns 0, or -1 with
 * an error and nothing written. */
int store_write(const struct store *st, struct store_window *w, const void *buf, size_t len);
int store_commit(struct store *st, struct store_window *w);

/* Remove the oldest windows until none is older than MAX_AGE_NS at NOW_NS
 * (0: no bound) and all together take at most MAX_BYTES (0: no bound); the
 * newest window always stays. FN (unless NULL) hears of each window removed.
 * Returns how many were removed, or -1. */
ssize_t store_retain(struct store *st, int64_t max_age_ns, uint64_t max_bytes, int64_t now_ns,
		     void (*fn)(const struct store_window *w, void *ctx), void *ctx);

/* The first window written after window SEQ into *W; false when there is none yet. */
bool store_next(const struct store *st, uint64_t seq, struct store_window *w);
/* The seq of the last window that began no later than (START_NS, PATH), by
 * start and then path; 0 when none did. */
uint64_t store_seq_at(const struct store *st, int64_t start_ns, const char *path);
/* The newest window into *W; false when the store is empty. */
bool store_last(const struct store *st, struct store_window *w);

/* The store's directory. */
const char *store_dir(const struct store *st);

/* A reader's place in the store, kept as DIR/cursors/KEY (written whole):
 * the last window it has dealt with. Load returns 1 and fills *START_NS and
 * PATH (256 bytes), 0 when there is none, -1 on an error. */
int store_cursor_load(const struct store *st, const char *key, int64_t *start_ns, char *path);
int store_cursor_save(const struct store *st, const char *key, int64_t start_ns,
		      const char *path);

/* Every window in the store at DIR, oldest first, into a new array *WS of
 * *N. Files whose names do not parse are passed over. Returns 0 or -1. */
int store_list(const char *dir, struct store_window **ws, size_t *n);

/* The tags of TAGSET in the store at DIR, "k=v\n" lines, into a new string
 * ("" for "0"). NULL with an error. */
char *store_tags(const char *dir, const char *tagset);

/* Which windows to read: those that match all that is given. */
struct store_select {
	const char *name;       /* an extended regex the process name must match; NULL: any */
	pid_t pid;              /* 0: any */
	int64_t from_ns, to_ns; /* wall clock: windows that begin in [from, to); 0: no bound */
	char *const *tags;      /* "k=v" each: the window's tags hold them all */
	size_t ntags;
	const char *kind;       /* "cpu" (NULL), "wall", "offcpu" or "heap" */
};

/* The windows of the store at DIR that SEL selects (every heap window),
 * oldest first, into a new array *WS of *N. Returns 0 or -1. */
int store_windows(const char *dir, const struct store_select *sel, struct store_window **ws,
		  size_t *n);
/* The windows of the store at DIR that SEL selects, merged into one
 * profile: its time the first window's start, its duration up to the last
 * one's end. Heap windows are snapshots of memory in use: of those, only
 * the newest of each process is taken. *N gets how many there were. NULL with an error, also
 * when none matches (saying what was looked for). */
struct profile *store_read(const char *dir, const struct store_select *sel, size_t *n);

/* A time as a user gives it, into ns since the epoch: "2026-12-06T10:00",
 * "2026-12-06 10:00:30" (local time; UTC with a trailing Z), "10:00" (today,
 * local time), "now", or a duration ago, "-90m". NOW_NS is the present.
 * Returns 0, or -1 with an error. */
int store_parse_time(const char *s, int64_t now_ns, int64_t *ns);

#endif
