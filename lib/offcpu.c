/* Off-CPU waits from context-switch records; see offcpu.h. A switch-out
 * comes as a sample (its stack, where allowed) and then a record (its time
 * and whether the thread was preempted); the switch-in's record ends it. */
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "hmap.h"
#include "offcpu.h"

struct offcpu_state {
	uint64_t out;       /* when the open wait began */
	bool open, preempt, before;
	bool newborn;       /* created since the start, not switched yet */
	bool sampled;       /* the stack below is this wait's */
	uint64_t stack_time; /* when the stack below was sampled; 0: none waiting */
	bool whole;
	uint64_t weight;
	uint64_t *pcs;
	size_t npcs, pcs_cap;
};

/* A switch-out's sample and its record are written in the same pass through
 * the scheduler, microseconds apart: a sample older than this is not the
 * record's (the record was lost). */
#define OFFCPU_PAIR_NS 1000000

struct offcpu {
	uint64_t start;
	bool attached;
	uint64_t missed;
	struct offcpu_thread *threads;
	struct offcpu_state *states;
	size_t n, cap, states_cap;
	struct hmap index;
};

struct offcpu *offcpu_new(uint64_t start, bool attached)
{
	struct offcpu *o = calloc(1, sizeof(*o));

	if (!o) {
		cp_error("out of memory");
		return NULL;
	}
	o->start = start;
	o->attached = attached;
	hmap_init(&o->index);
	return o;
}

void offcpu_free(struct offcpu *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		free(o->states[i].pcs);
	free(o->threads);
	free(o->states);
	hmap_release(&o->index);
	free(o);
}

static int offcpu_eq(void *ctx, uint32_t idx)
{
	void **k = ctx;

	return ((struct offcpu *)k[0])->threads[idx].tid == *(pid_t *)k[1];
}

/* TID's entry; *FRESH: made now. NULL when out of memory. */
static int64_t offcpu_get(struct offcpu *o, pid_t pid, pid_t tid, bool *fresh)
{
	void *k[2] = { o, &tid };
	uint64_t h = hash_bytes(HASH_SEED, &tid, sizeof(tid));
	int64_t i = hmap_find(&o->index, h, offcpu_eq, k);

	*fresh = i < 0;
	if (i >= 0)
		return i;
	if (CP_GROW(o->threads, o->cap, o->n + 1) < 0 ||
	    CP_GROW(o->states, o->states_cap, o->n + 1) < 0 ||
	    hmap_insert(&o->index, h, o->n) < 0)
		return -1;
	memset(&o->threads[o->n], 0, sizeof(o->threads[0]));
	memset(&o->states[o->n], 0, sizeof(o->states[0]));
	o->threads[o->n].pid = pid;
	o->threads[o->n].tid = tid;
	return o->n++;
}

int offcpu_sampled(struct offcpu *o, pid_t pid, pid_t tid, uint64_t time, const uint64_t *pcs,
		   size_t n, bool whole, uint64_t weight)
{
	bool fresh;
	int64_t i = offcpu_get(o, pid, tid, &fresh);
	struct offcpu_state *st;

	if (i < 0)
		return -1;
	st = &o->states[i];
	if (CP_GROW(st->pcs, st->pcs_cap, n) < 0)
		return -1;
	memcpy(st->pcs, pcs, n * sizeof(*pcs));
	st->npcs = n;
	st->whole = whole;
	st->weight = weight;
	st->stack_time = time ? time : 1;
	return 0;
}

/* Hand thread I's open wait, up to END, to FN and count it. */
static void offcpu_end(struct offcpu *o, size_t i, uint64_t end, offcpu_fn fn, void *ctx)
{
	struct offcpu_state *st = &o->states[i];
	struct offcpu_thread *t = &o->threads[i];
	struct offcpu_wait w = {
		.pid = t->pid,
		.tid = t->tid,
		.delay_ns = end > st->out ? (int64_t)(end - st->out) : 0,
		.end = end,
		.preempt = st->preempt,
		.before = st->before,
		.pcs = st->sampled && !st->before ? st->pcs : NULL,
		.npcs = st->npcs,
		.whole = st->whole,
		.weight = st->sampled && !st->before && st->weight ? st->weight : 1,
	};

	if (st->before) {
		t->before_ns += w.delay_ns;
	} else if (st->preempt) {
		t->runnable_ns += w.delay_ns;
		t->runnable_waits++;
	} else {
		t->blocked_ns += w.delay_ns;
		t->blocked_waits++;
	}
	t->waits++;
	fn(ctx, &w);
}

int offcpu_switch(struct offcpu *o, pid_t pid, pid_t tid, uint64_t time, bool out,
		  bool preempt, offcpu_fn fn, void *ctx)
{
	bool fresh;
	int64_t i = offcpu_get(o, pid, tid, &fresh);
	struct offcpu_state *st;

	if (i < 0)
		return -1;
	st = &o->states[i];
	if (out) {
		/* Its return was lost: so is the wait it ended. */
		o->missed += st->open;
		st->newborn = false;
		st->open = true;
		st->out = time;
		st->preempt = preempt;
		st->before = false;
		st->sampled = st->stack_time && st->stack_time <= time &&
			      time - st->stack_time < OFFCPU_PAIR_NS;
		st->stack_time = 0;
		return 0;
	}
	/* A thread of an attached target first seen coming back was off
	 * the CPU since before the start. */
	if (fresh && o->attached && time > o->start) {
		st->open = true;
		st->out = o->start;
		st->before = true;
	}
	if (st->open)
		offcpu_end(o, i, time, fn, ctx);
	else if (!fresh && !st->newborn)
		o->missed++;
	st->open = st->sampled = st->before = st->newborn = false;
	return 0;
}

int offcpu_task(struct offcpu *o, pid_t pid, pid_t tid, bool exit)
{
	bool fresh;
	int64_t i = offcpu_get(o, pid, tid, &fresh);

	if (i < 0)
		return -1;
	o->states[i].open = o->states[i].sampled = o->states[i].before = false;
	o->states[i].stack_time = 0;
	o->states[i].newborn = !exit;
	if (!exit)
		o->threads[i].pid = pid;
	return 0;
}

uint64_t offcpu_missed(const struct offcpu *o)
{
	return o->missed;
}

void offcpu_cut(struct offcpu *o, uint64_t end, pid_t pid, const pid_t *tids,
		const char *states, size_t n, offcpu_fn fn, void *ctx)
{
	for (size_t k = 0; k < n; k++) {
		bool fresh;
		int64_t i;
		/* One that never left its CPU is not waiting. */
		if (!o->attached || states[k] == 'R' || offcpu_find(o, tids[k]) >= 0)
			continue;
		i = offcpu_get(o, pid, tids[k], &fresh);
		if (i >= 0) {
			o->states[i].open = o->states[i].before = true;
			o->states[i].out = o->start;
		}
	}
	for (size_t i = 0; i < o->n; i++) {
		if (!o->states[i].open)
			continue;
		offcpu_end(o, i, end, fn, ctx);
		o->states[i].out = end;
	}
}

void offcpu_restart(struct offcpu *o, uint64_t start)
{
	o->start = start;
	for (size_t i = 0; i < o->n; i++) {
		o->threads[i].blocked_ns = o->threads[i].runnable_ns = 0;
		o->threads[i].before_ns = 0;
		o->threads[i].waits = o->threads[i].blocked_waits = 0;
		o->threads[i].runnable_waits = 0;
	}
}

int64_t offcpu_find(const struct offcpu *o, pid_t tid)
{
	void *k[2] = { (void *)o, &tid };

	return hmap_find(&o->index, hash_bytes(HASH_SEED, &tid, sizeof(tid)), offcpu_eq, k);
}

const struct offcpu_thread *offcpu_threads(const struct offcpu *o, size_t *n)
{
	*n = o->n;
	return o->threads;
}
