/* A live sampling session: a target (attached or launched) sampled by a
 * thread of its own (its CPU with perf events, or its heap with cprof's
 * allocator library) into a growing profile, with a history of snapshots so
 * that a client can ask, at any time and from any thread, for a private copy
 * of everything since the start (or the last reset) or of the last N
 * seconds. cprof top is its client; the data is refreshed apart from the
 * drawing, as htop's ScreenManager does. */
#ifndef CPROF_LIVE_H
#define CPROF_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile.h"
#include "topview.h"

/* The windowing, apart from any session: snapshots of a growing profile
 * taken at most every EVERY_NS, and only as many as a window of KEEP_NS
 * needs (the newest one at least KEEP_NS old, and those after it). */
struct live_history {
	int64_t keep_ns, every_ns;
	struct top_snapshot *snaps; /* oldest first */
	size_t n, cap;
};

/* An empty history for windows up to KEEP_NS: a snapshot every twentieth of
 * it, and at least one a second. */
void live_history_init(struct live_history *h, int64_t keep_ns);

/* Snapshot P at NOW_NS unless the newest snapshot is younger than every_ns,
 * then drop the snapshots no window needs. Returns 0 or -1 with an error. */
int live_history_add(struct live_history *h, const struct profile *p, int64_t now_ns);

/* The base of the window of the last WINDOW_NS (at most keep_ns) at NOW_NS:
 * the newest snapshot at least that old, or NULL when the history is younger. */
const struct top_snapshot *live_history_base(const struct live_history *h, int64_t now_ns,
					     int64_t window_ns);

/* Drop every snapshot (for a reset); live_history_release frees the rest. */
void live_history_clear(struct live_history *h);
void live_history_release(struct live_history *h);

struct live_opts {
	pid_t pid;          /* attach to this process, or */
	char **cmd;         /* launch this command (NULL-terminated), ended by live_end */
	bool quiet;         /* the command's standard input, output and error on /dev/null */
	unsigned frequency; /* Hz per thread */
	bool fp, user_only; /* as cpu_opts */
	int64_t window_ns;  /* the longest recent window live_profile will be asked for */
	bool heap;          /* sample the heap, not the CPU: */
	uint64_t rate;      /* mean bytes between samples */
	const char *heap_lib; /* the library's path (must outlive the session) */
};

struct live;

/* Attach to O->pid or launch O->cmd, and start sampling it on a thread of
 * its own (which blocks the signals a client waits on, so they reach the
 * client's threads). NULL with an error; the target is then let go as it was
 * (a launched command ended). */
struct live *live_start(const struct live_opts *o);

/* The target's pid, and its command line (as launched, or from /proc). */
pid_t live_pid(const struct live *l);
const char *live_command(const struct live *l);
bool live_launched(const struct live *l);

/* The state of a session when a profile was copied. */
struct live_status {
	uint64_t samples, lost, threads_seen; /* since the start or the last reset */
	uint64_t freed;                       /* heap: sampled allocations freed since */
	int64_t elapsed_ns;                   /* the same span */
	int64_t shown_ns;                     /* the span the copy covers */
	bool exited;                          /* the target has */
	int status;                           /* exited and launched: as from waitpid */
	long threads_now;                     /* in /proc/PID/task; -1 once the target is gone */
	int64_t cpu_ns;                       /* the target's CPU time so far; -1 if unknown */
	char stopped[256];                    /* "" or why the target is stopped */
};

/* A new private copy of the profile: everything since the start or the last
 * reset (WINDOW_NS 0), or the last WINDOW_NS (at most the session's
 * window_ns; everything while sampling is younger), with its duration and
 * time set to the span it covers, and the session's state into *ST. Safe
 * against the sampler thread. NULL with an error, also once sampling failed. */
struct profile *live_profile(struct live *l, int64_t window_ns, struct live_status *st);

/* Start the profile afresh (symbols stay cached; a heap's memory in use
 * stays, what is allocated is counted afresh). Returns 0 or -1 with an error. */
int live_reset(struct live *l);

/* A heap session's profile so far, as live_profile's whole copy, with its
 * allocations counted afresh from the same instant (memory in use stays), so
 * that windows taken back to back miss nothing between them. NULL with an
 * error (also for a CPU session). */
struct profile *live_rotate(struct live *l);

/* Stop sampling, end a launched command (an attached one runs on as
 * before), and free the session; NULL is ignored. */
void live_end(struct live *l);

#endif
