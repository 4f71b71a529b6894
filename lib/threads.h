/* Thread dumps: snapshots unwound and symbolized, threads grouped by
 * identical stack (most populous first), a history of group sizes across polls,
 * and the leak verdict: groups that grew steadily. */
#ifndef CPROF_THREADS_H
#define CPROF_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile.h"
#include "snapshot.h"

struct thread_group {
	uint64_t *locs;        /* the shared stack, leaf first (location ids) */
	size_t nlocs;
	size_t *members;       /* indices into the poll's snapshot threads */
	size_t count;
	size_t *history;       /* count at each poll so far (0: absent) */
	uint64_t key;
	pid_t *tids;           /* the last poll's members, sorted */
	size_t ntids;
	bool turned_over;      /* a poll kept under 90% of the previous one's threads */
};

struct threads_session;

/* The bytes of stack a thread dump copies from each thread: enough for the
 * stacks of most services (see BENCHMARKS.md), and each copy is made while
 * the thread is held. */
#define THREADS_STACK_SIZE 8192

/* A session over PID: its address space, unwinder, symbolizer and a profile
 * that accumulates locations across polls. NULL with an error. */
struct threads_session *threads_session_new(pid_t pid, size_t stack_size);
void threads_session_free(struct threads_session *ts);

/* Take a snapshot and group it. Returns 0, or -1 with an error (its errno as
 * snapshot_take's). */
int threads_poll(struct threads_session *ts);

/* The last poll: its snapshot, and its groups sorted by count (largest first,
 * then by first frame name). */
const struct snapshot *threads_last(const struct threads_session *ts);
struct thread_group *threads_groups(const struct threads_session *ts, size_t *n);

/* Every group seen in any poll, with its history, and the number of polls. */
struct thread_group *threads_all_groups(const struct threads_session *ts, size_t *n,
					size_t *npolls);

/* The profile (threads/count) holding the locations; its samples are the last
 * poll's threads, with labels thread, tid and state, after threads_profile(). */
struct profile *threads_profile(struct threads_session *ts);

/* A thread's own stack (leaf first) in the last poll. */
const uint64_t *threads_stack(const struct threads_session *ts, size_t thread, size_t *n);

/* The median of the last poll's threads' times held, or with WAIT of their
 * waits to stop. */
int64_t threads_median_stop(const struct threads_session *ts, bool wait);

/* "S×3 R×1": the states of group G's threads (of snapshot S), most common
 * kinds first in the order RSDTtZXIWP, into BUF (N bytes). */
void threads_group_states(const struct snapshot *s, const struct thread_group *g, char *buf,
			  size_t n);

/* The distinct names of group G's threads (of snapshot S), in the order they
 * first appear, each with how many of them bear it, through FN until it
 * returns false. */
void threads_group_names(const struct snapshot *s, const struct thread_group *g,
			 bool (*fn)(const char *name, size_t count, void *ctx), void *ctx);

/* The leak suspects after the polls so far (the groups threads_leaking
 * names), each through FN unless it is NULL, with its thread count at the
 * first and the last poll and its growth per minute over SPAN_NS. Returns how
 * many there are. */
size_t threads_suspects(const struct threads_session *ts, int64_t span_ns,
			void (*fn)(const struct thread_group *g, size_t start, size_t end,
				   double per_minute, void *ctx),
			void *ctx);

/* "HH:MM:SS": the local time snapshot S was taken, into BUF (N bytes). */
void threads_time_of_day(const struct snapshot *s, char *buf, size_t n);

/* The leak rule, over a group's history C0..Cn (n >= 2 intervals): it never
 * fell between two polls, rose in at least half of the intervals, ended at
 * least 2 above where it started, and kept its threads: every poll found at
 * least 90% of the previous poll's threads still in it (threads that come and
 * go turn over; leaked ones stay). */
bool threads_leaking(const struct thread_group *g, size_t npolls);

#endif
