/* The threads' timeline from their switch records; see trace.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "hmap.h"
#include "json.h"
#include "proc.h"
#include "trace.h"

struct trace {
	uint64_t start;
	struct trace_thread *threads;
	size_t nthreads, threads_cap;
	struct hmap index;                /* tid -> the live thread */
	struct trace_interval *intervals;
	size_t nintervals, intervals_cap, max_intervals;
	uint64_t dropped, missed;
	/* The runnable intervals' lengths: all of them up to TRACE_LATENCIES,
	 * then a uniform sample of that many (a reservoir); their count and
	 * the longest. */
	int64_t *runnable;
	size_t nrunnable, runnable_cap;
	uint64_t runnable_seen, rng;
	int64_t runnable_max;
	/* per thread: its last interval kept (+ 1, 0: none) and when it ended */
	size_t *last;
	uint64_t *last_end;
	size_t last_cap;
	/* per thread: the stack of its open wait, where it came before the
	 * wait ended (a wait cut at the end) */
	uint64_t **open_stack;
	size_t *open_n;
};

struct trace_key {
	const struct trace *t;
	pid_t tid;
};

static int trace_eq(void *ctx, uint32_t idx)
{
	const struct trace_key *k = ctx;

	return k->t->threads[idx].tid == k->tid && !k->t->threads[idx].gone;
}

static uint64_t trace_hash(pid_t tid)
{
	return hash_bytes(HASH_SEED, &tid, sizeof(tid));
}

/* Room in the per-thread arrays for one more thread; each array is
 * replaced only once it has grown, so a failure leaves them all valid. */
static int trace_grow(struct trace *t)
{
	size_t cap = t->last_cap ? 2 * t->last_cap : 16;
	void *a, *b, *c, *d;

	if (t->nthreads < t->last_cap)
		return 0;
	if (!(a = realloc(t->last, cap * sizeof(*t->last))))
		return -1;
	t->last = a;
	if (!(b = realloc(t->last_end, cap * sizeof(*t->last_end))))
		return -1;
	t->last_end = b;
	if (!(c = realloc(t->open_stack, cap * sizeof(*t->open_stack))))
		return -1;
	t->open_stack = c;
	if (!(d = realloc(t->open_n, cap * sizeof(*t->open_n))))
		return -1;
	t->open_n = d;
	t->last_cap = cap;
	return 0;
}

/* The live thread TID, made (unseen) if there is none; -1 when out of memory. */
static int64_t trace_thread(struct trace *t, pid_t pid, pid_t tid)
{
	struct trace_key k = { t, tid };
	int64_t i = hmap_find(&t->index, trace_hash(tid), trace_eq, &k);
	struct trace_thread *th;

	if (i >= 0)
		return i;
	if (CP_GROW(t->threads, t->threads_cap, t->nthreads + 1) < 0 || trace_grow(t) < 0 ||
	    hmap_insert(&t->index, trace_hash(tid), (uint32_t)t->nthreads) < 0)
		return cp_error("out of memory");
	t->open_stack[t->nthreads] = NULL;
	t->open_n[t->nthreads] = 0;
	th = &t->threads[t->nthreads];
	memset(th, 0, sizeof(*th));
	th->pid = pid;
	th->tid = tid;
	th->cpu = -1;
	/* Its name, while it lives: the kernel tells of a rename only. */
	proc_thread_name(pid, tid, th->name, sizeof(th->name));
	t->last[t->nthreads] = 0;
	t->last_end[t->nthreads] = 0;
	return (int64_t)t->nthreads++;
}

struct trace *trace_new(uint64_t start, size_t max_intervals)
{
	struct trace *t = calloc(1, sizeof(*t));

	if (!t) {
		cp_error("out of memory");
		return NULL;
	}
	t->start = start;
	t->max_intervals = max_intervals;
	t->rng = 0x9e3779b97f4a7c15ULL;
	hmap_init(&t->index);
	return t;
}

void trace_start(struct trace *t, uint64_t start)
{
	t->start = start;
}

void trace_free(struct trace *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nthreads; i++) {
		free(t->threads[i].stack[0]);
		free(t->threads[i].stack[1]);
		free(t->open_stack[i]);
	}
	free(t->open_stack);
	free(t->open_n);
	free(t->threads);
	free(t->intervals);
	free(t->runnable);
	free(t->last);
	free(t->last_end);
	hmap_release(&t->index);
	free(t);
}

#define TRACE_LATENCIES (1 << 20)

static int trace_latency_add(struct trace *t, int64_t len)
{
	uint64_t k;

	t->runnable_seen++;
	if (len > t->runnable_max)
		t->runnable_max = len;
	if (t->nrunnable < TRACE_LATENCIES) {
		if (CP_GROW(t->runnable, t->runnable_cap, t->nrunnable + 1) < 0)
			return -1;
		t->runnable[t->nrunnable++] = len;
		return 0;
	}
	t->rng ^= t->rng << 13; /* xorshift64 */
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	if ((k = t->rng % t->runnable_seen) < TRACE_LATENCIES)
		t->runnable[k] = len;
	return 0;
}

/* Thread I's interval in its state from its SINCE to END, counted, and kept
 * while there is room. */
static int trace_close(struct trace *t, size_t i, uint64_t end)
{
	struct trace_thread *th = &t->threads[i];
	int64_t len;
	int k = th->state == TRACE_BLOCKED ? 0 : th->state == TRACE_RUNNABLE ? 1 : -1;

	if (end < th->since)
		end = th->since;
	len = (int64_t)(end - th->since);

	th->ns[th->state] += len;
	th->count[th->state]++;
	if (k >= 0 && len > th->longest[k]) {
		th->longest[k] = len;
		th->longest_at[k] = th->since;
		th->nstack[k] = 0;
	}
	if (th->state == TRACE_RUNNABLE && trace_latency_add(t, len) < 0)
		return -1;
	t->last_end[i] = end;
	t->last[i] = 0;
	if (t->nintervals >= t->max_intervals) {
		t->dropped++;
		return 0;
	}
	if (CP_GROW(t->intervals, t->intervals_cap, t->nintervals + 1) < 0)
		return -1;
	t->intervals[t->nintervals] = (struct trace_interval){
		th->since, end, 0, (uint32_t)i, th->state == TRACE_RUNNING ? th->cpu : -1, th->state
	};
	t->last[i] = ++t->nintervals;
	return 0;
}

/* The stack LOCS (N) of thread I's interval that ended last, at END. */
static int trace_set_stack(struct trace *t, size_t i, uint64_t end, const uint64_t *locs,
			   size_t n)
{
	struct trace_thread *th = &t->threads[i];

	if (t->last[i])
		t->intervals[t->last[i] - 1].loc = locs[0];
	for (int k = 0; k < 2; k++) {
		if (!th->longest[k] || th->longest_at[k] + (uint64_t)th->longest[k] != end ||
		    th->nstack[k])
			continue;
		free(th->stack[k]);
		if (!(th->stack[k] = malloc(n * sizeof(*locs))))
			return cp_error("out of memory");
		memcpy(th->stack[k], locs, n * sizeof(*locs));
		th->nstack[k] = n;
	}
	return 0;
}

/* What thread I was doing before its first record at TIME, since the start
 * (or since it was made): running if it now leaves a CPU, else off it. */
static void trace_first(struct trace *t, size_t i, bool out)
{
	struct trace_thread *th = &t->threads[i];

	th->known = true;
	th->since = t->start;
	th->state = out ? TRACE_RUNNING : TRACE_UNKNOWN;
}

/* Records may come from before the start was taken (between the events'
 * enabling and it): the timeline starts at the first. */
static void trace_seen(struct trace *t, uint64_t time)
{
	if (time && (!t->start || time < t->start))
		t->start = time;
}

int trace_switch(struct trace *t, pid_t pid, pid_t tid, uint64_t time, bool out, bool preempt,
		 int cpu)
{
	int64_t i = trace_thread(t, pid, tid);
	struct trace_thread *th;

	if (i < 0)
		return -1;
	trace_seen(t, time);
	th = &t->threads[i];
	if (!th->known)
		trace_first(t, (size_t)i, out);
	if (out != (th->state == TRACE_RUNNING)) {
		t->missed++; /* its other switch was lost: what it did between is unknown */
	} else if (trace_close(t, (size_t)i, time) < 0) {
		return -1;
	}
	th = &t->threads[i];
	th->state = !out ? TRACE_RUNNING : preempt ? TRACE_RUNNABLE : TRACE_BLOCKED;
	th->since = time > th->since ? time : th->since; /* one ends where the next begins */
	th->cpu = (int16_t)(out ? -1 : cpu);
	return 0;
}

int trace_task(struct trace *t, pid_t pid, pid_t tid, pid_t ptid, uint64_t time, bool exit)
{
	struct trace_key pk = { t, ptid };
	int64_t parent = hmap_find(&t->index, trace_hash(ptid), trace_eq, &pk);
	struct trace_key k = { t, tid };
	int64_t i = hmap_find(&t->index, trace_hash(tid), trace_eq, &k);

	trace_seen(t, time);
	if (exit) {
		if (i >= 0 && t->threads[i].known && trace_close(t, (size_t)i, time) < 0)
			return -1;
		if (i >= 0)
			t->threads[i].gone = true;
		return 0;
	}
	if (i >= 0) /* a tid seen before: that thread is gone */
		t->threads[i].gone = true;
	if ((i = trace_thread(t, pid, tid)) < 0)
		return -1;
	t->threads[i].known = true;
	t->threads[i].state = TRACE_RUNNABLE;
	t->threads[i].since = time;
	/* A new thread is named as its creator was, until it renames itself. */
	if (!t->threads[i].name[0] && parent >= 0)
		memcpy(t->threads[i].name, t->threads[parent].name, sizeof(t->threads[i].name));
	return 0;
}

int trace_idle(struct trace *t, pid_t pid, pid_t tid)
{
	int64_t i = trace_thread(t, pid, tid);

	if (i < 0)
		return -1;
	if (!t->threads[i].known) {
		t->threads[i].known = true;
		t->threads[i].state = TRACE_UNKNOWN;
		t->threads[i].since = t->start;
	}
	return 0;
}

int trace_name(struct trace *t, pid_t pid, pid_t tid, const char *name)
{
	int64_t i = trace_thread(t, pid, tid);

	if (i < 0)
		return -1;
	snprintf(t->threads[i].name, sizeof(t->threads[i].name), "%s", name);
	return 0;
}

int trace_stack(struct trace *t, pid_t tid, uint64_t start, uint64_t end, const uint64_t *locs,
		size_t n)
{
	struct trace_key key = { t, tid };
	int64_t i = hmap_find(&t->index, trace_hash(tid), trace_eq, &key);
	struct trace_thread *th;

	if (i < 0 || !n)
		return 0;
	th = &t->threads[i];
	if (t->last_end[i] == end)
		return trace_set_stack(t, (size_t)i, end, locs, n);
	if (th->state != TRACE_RUNNING && th->since == start) {
		/* a wait still open, cut at the end: its stack waits for it */
		free(t->open_stack[i]);
		if (!(t->open_stack[i] = malloc(n * sizeof(*locs))))
			return cp_error("out of memory");
		memcpy(t->open_stack[i], locs, n * sizeof(*locs));
		t->open_n[i] = n;
	}
	return 0;
}

int trace_end(struct trace *t, uint64_t end)
{
	for (size_t i = 0; i < t->nthreads; i++) {
		if (!t->threads[i].known || t->threads[i].gone || t->threads[i].since >= end)
			continue;
		if (trace_close(t, i, end) < 0 ||
		    (t->open_n[i] && trace_set_stack(t, i, end, t->open_stack[i], t->open_n[i]) < 0))
			return -1;
	}
	return 0;
}

const struct trace_thread *trace_threads(const struct trace *t, size_t *n)
{
	*n = t->nthreads;
	return t->threads;
}

const struct trace_interval *trace_intervals(const struct trace *t, size_t *n, uint64_t *dropped)
{
	*n = t->nintervals;
	*dropped = t->dropped;
	return t->intervals;
}

uint64_t trace_missed(const struct trace *t)
{
	return t->missed;
}

static int trace_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

size_t trace_latency(const struct trace *t, const double *q, size_t n, int64_t *out)
{
	qsort(t->runnable, t->nrunnable, sizeof(*t->runnable), trace_cmp);
	for (size_t i = 0; i < n; i++)
		out[i] = !t->nrunnable ? 0 : q[i] >= 1.0 ? t->runnable_max :
			 t->runnable[(size_t)(q[i] * (double)(t->nrunnable - 1) + 0.5)];
	return t->runnable_seen;
}

static const char *const trace_names[TRACE_NSTATES] = { "running", "blocked", "runnable",
							 "off-CPU (since before the start)" };

/* The function of location LOC of P (its innermost line's), or its binary. */
static const char *trace_function(const struct profile *p, uint64_t loc)
{
	const struct pf_location *l;

	if (!p || !loc || loc > p->nlocations)
		return NULL;
	l = &p->locations[loc - 1];
	if (l->nlines && l->lines[0].function_id && l->lines[0].function_id <= p->nfunctions)
		return profile_str(p, p->functions[l->lines[0].function_id - 1].name);
	if (l->mapping_id && l->mapping_id <= p->nmappings)
		return profile_str(p, p->mappings[l->mapping_id - 1].filename);
	return NULL;
}

/* Chrome's metadata events: each process's and thread's name. */
static void trace_json_names(const struct trace *t, FILE *out, const char *process)
{
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct trace_thread *th = &t->threads[i];
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = t->threads[j].pid != th->pid;
		if (first) {
			fprintf(out, "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":%d,"
				     "\"args\":{\"name\":", i ? ",\n" : "", th->pid, th->pid);
			json_write_string(out, process);
			fputs("}}", out);
		}
		fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,"
			     "\"args\":{\"name\":", th->pid, th->tid);
		json_write_string(out, th->name[0] ? th->name : "thread");
		fputs("}}", out);
	}
}

/* Append S to P; the end. */
static char *trace_put(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* Append V in decimal to P; the end. */
static char *trace_put_u64(char *p, uint64_t v)
{
	char d[20];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = d[--n];
	return p;
}

static char *trace_put_int(char *p, int v)
{
	if (v < 0)
		*p++ = '-';
	return trace_put_u64(p, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

int trace_write_json(const struct trace *t, FILE *out, const struct profile *p,
		     const char *process)
{
	/* An interval a line, formatted by hand: a million of them through
	 * fprintf cost most of a busy trace's time. */
	char line[256], *q;

	fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", out);
	trace_json_names(t, out, process);
	for (size_t i = 0; i < t->nintervals; i++) {
		const struct trace_interval *v = &t->intervals[i];
		const struct trace_thread *th = &t->threads[v->thread];
		const char *fn = trace_function(p, v->loc);
		/* Whole microseconds, each end the next start exactly: viewers nest
		 * an event that overlaps the one before by a rounding. */
		uint64_t us = (v->start - t->start) / 1000, end = (v->end - t->start) / 1000;

		q = trace_put(line, i || t->nthreads ? ",\n{\"ph\":\"X\",\"name\":\"" :
						      "{\"ph\":\"X\",\"name\":\"");
		q = trace_put(q, trace_names[v->state]);
		q = trace_put(q, v->state == TRACE_RUNNING ? "\",\"cat\":\"cpu\",\"pid\":" :
							     "\",\"cat\":\"off-cpu\",\"pid\":");
		q = trace_put_int(q, th->pid);
		q = trace_put_int(trace_put(q, ",\"tid\":"), th->tid);
		q = trace_put_u64(trace_put(q, ",\"ts\":"), us);
		q = trace_put_u64(trace_put(q, ",\"dur\":"), end - us);
		if (v->cpu >= 0)
			q = trace_put(trace_put_u64(trace_put(q, ",\"args\":{\"cpu\":"),
						    (uint64_t)v->cpu), "}");
		if (v->cpu >= 0 || !fn) {
			*q++ = '}';
			fwrite(line, 1, (size_t)(q - line), out);
			continue;
		}
		fwrite(line, 1, (size_t)(q - line), out);
		fputs(",\"args\":{\"in\":", out);
		json_write_string(out, fn);
		fputs("}}", out);
	}
	fprintf(out, "\n],\"otherData\":{\"producer\":\"cprof trace\",\"intervals_dropped\":%" PRIu64
		     ",\"switches_missed\":%" PRIu64 "}}\n", t->dropped, t->missed);
	return ferror(out) ? cp_error("cannot write the trace") : 0;
}
