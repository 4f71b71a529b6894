/* Thread dumps and leak watching over ptrace snapshots; see threads.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addrspace.h"
#include "errmsg.h"
#include "grow.h"
#include "hmap.h"
#include "leak.h"
#include "locate.h"
#include "proc.h"
#include "symbolize.h"
#include "threads.h"
#include "unwind.h"


struct thread_stack {
	uint64_t *locs;
	size_t n;
	size_t group;
};

struct threads_session {
	pid_t pid;
	size_t stack_size;
	struct profile *p;
	struct addrspace *as;
	struct unwinder *uw;
	struct symbolizer *sym;
	struct locator *loc;
	struct snapshot snap;
	bool have_snap;
	struct thread_stack *stacks; /* per thread of the last snapshot */
	size_t nstacks;
	struct thread_group *groups; /* every group ever seen */
	size_t ngroups, groups_cap;
	struct hmap group_index;
	struct thread_group *last;   /* the last poll's groups, sorted */
	size_t nlast;
	size_t npolls;
	int64_t median_stop_ns, median_wait_ns;
	bool profiled;
};

struct threads_session *threads_session_new(pid_t pid, size_t stack_size)
{
	struct threads_session *ts = calloc(1, sizeof(*ts));

	if (!ts) {
		cp_error("out of memory");
		return NULL;
	}
	ts->pid = pid;
	ts->stack_size = stack_size;
	hmap_init(&ts->group_index);
	ts->p = profile_new();
	if (!ts->p || profile_add_sample_type(ts->p, "threads", "count") < 0)
		goto fail;
	ts->as = addrspace_new(pid);
	if (!ts->as)
		goto fail;
	ts->uw = unwinder_new(ts->as);
	ts->sym = symbolizer_new(ts->as);
	if (!ts->uw || !ts->sym)
		goto fail;
	ts->loc = locator_new(ts->p, ts->as, ts->sym, ts->uw, true);
	if (!ts->loc)
		goto fail;
	return ts;
fail:
	threads_session_free(ts);
	return NULL;
}

static void threads_free_stacks(struct threads_session *ts)
{
	for (size_t i = 0; i < ts->nstacks; i++)
		free(ts->stacks[i].locs);
	free(ts->stacks);
	ts->stacks = NULL;
	ts->nstacks = 0;
}

void threads_session_free(struct threads_session *ts)
{
	if (!ts)
		return;
	threads_free_stacks(ts);
	for (size_t i = 0; i < ts->ngroups; i++) {
		free(ts->groups[i].locs);
		free(ts->groups[i].members);
		free(ts->groups[i].history);
		free(ts->groups[i].tids);
	}
	free(ts->groups);
	free(ts->last);
	hmap_release(&ts->group_index);
	if (ts->have_snap)
		snapshot_release(&ts->snap);
	locator_free(ts->loc);
	unwinder_free(ts->uw);
	symbolizer_free(ts->sym);
	addrspace_free(ts->as);
	profile_free(ts->p);
	free(ts);
}

/* Stacks that print alike group together: compare their lines, not addresses. */
static uint64_t threads_stack_key(const struct profile *p, const uint64_t *locs, size_t n)
{
	uint64_t h = HASH_SEED;

	for (size_t i = 0; i < n; i++) {
		const struct pf_location *l = &p->locations[locs[i] - 1];
		if (l->nlines)
			h = hash_bytes(h, l->lines, l->nlines * sizeof(*l->lines));
		else
			h = hash_bytes(h, &l->address, sizeof(l->address));
	}
	return h;
}

static bool threads_same_location(const struct profile *p, uint64_t a, uint64_t b)
{
	const struct pf_location *x = &p->locations[a - 1], *y = &p->locations[b - 1];

	if (a == b)
		return true;
	if (x->nlines != y->nlines)
		return false;
	if (!x->nlines)
		return x->address == y->address;
	return memcmp(x->lines, y->lines, x->nlines * sizeof(*x->lines)) == 0;
}

struct group_key {
	const struct threads_session *ts;
	const uint64_t *locs;
	size_t n;
};

static int threads_group_eq(void *ctx, uint32_t idx)
{
	const struct group_key *k = ctx;
	const struct thread_group *g = &k->ts->groups[idx];

	if (g->nlocs != k->n)
		return 0;
	for (size_t i = 0; i < k->n; i++)
		if (!threads_same_location(k->ts->p, g->locs[i], k->locs[i]))
			return 0;
	return 1;
}

/* The group of a stack, created (with an all-zero history) if new. */
static int64_t threads_group_of(struct threads_session *ts, const uint64_t *locs, size_t n)
{
	struct group_key k = { ts, locs, n };
	uint64_t h = threads_stack_key(ts->p, locs, n);
	int64_t i = hmap_find(&ts->group_index, h, threads_group_eq, &k);
	struct thread_group *g;

	if (i >= 0)
		return i;
	if (CP_GROW(ts->groups, ts->groups_cap, ts->ngroups + 1) < 0)
		return -1;
	g = &ts->groups[ts->ngroups];
	memset(g, 0, sizeof(*g));
	g->key = h;
	g->nlocs = n;
	g->locs = malloc((n + 1) * sizeof(*locs));
	g->history = calloc(ts->npolls + 2, sizeof(*g->history));
	if (!g->locs || !g->history || hmap_insert(&ts->group_index, h, ts->ngroups) < 0) {
		free(g->locs);
		free(g->history);
		return cp_error("out of memory");
	}
	memcpy(g->locs, locs, n * sizeof(*locs));
	return ts->ngroups++;
}

/* Note whether G kept its threads since the last poll, and remember them. */
static int threads_track_members(struct threads_session *ts, struct thread_group *g)
{
	pid_t *now = malloc((g->count + 1) * sizeof(*now));
	size_t kept = 0, j = 0;

	if (!now)
		return cp_error("out of memory");
	for (size_t i = 0; i < g->count; i++)
		now[i] = ts->snap.threads[g->members[i]].tid;
	qsort(now, g->count, sizeof(*now), proc_tid_cmp);
	for (size_t i = 0; i < g->ntids; i++) {
		while (j < g->count && now[j] < g->tids[i])
			j++;
		kept += j < g->count && now[j] == g->tids[i];
	}
	if (kept * 10 < g->ntids * 9)
		g->turned_over = true;
	free(g->tids);
	g->tids = now;
	g->ntids = g->count;
	return 0;
}

static int threads_by_count(const void *a, const void *b, void *ctx)
{
	const struct thread_group *x = a, *y = b;
	const struct profile *p = ctx;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->nlocs && y->nlocs) {
		const struct pf_location *lx = &p->locations[x->locs[0] - 1];
		const struct pf_location *ly = &p->locations[y->locs[0] - 1];
		if (lx->nlines && ly->nlines) {
			int c = strcmp(profile_str(p, p->functions[lx->lines[0].function_id - 1].name),
				       profile_str(p, p->functions[ly->lines[0].function_id - 1].name));
			if (c)
				return c;
		}
	}
	return x->key < y->key ? -1 : x->key > y->key;
}

static int threads_by_ns(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The medians of the snapshot's times held and waits to stop. */
static int threads_medians(struct threads_session *ts)
{
	const struct snapshot *s = &ts->snap;
	int64_t *held = malloc((s->nthreads + 1) * sizeof(*held));
	int64_t *wait = malloc((s->nthreads + 1) * sizeof(*wait));

	if (!held || !wait) {
		free(held);
		free(wait);
		return -1;
	}
	for (size_t i = 0; i < s->nthreads; i++) {
		held[i] = s->threads[i].stop_ns;
		wait[i] = s->threads[i].wait_ns;
	}
	qsort(held, s->nthreads, sizeof(*held), threads_by_ns);
	qsort(wait, s->nthreads, sizeof(*wait), threads_by_ns);
	ts->median_stop_ns = s->nthreads ? held[s->nthreads / 2] : 0;
	ts->median_wait_ns = s->nthreads ? wait[s->nthreads / 2] : 0;
	free(held);
	free(wait);
	return 0;
}

/* The poll's groups, sorted, with their members; -1 when out of memory. */
static int threads_sort_groups(struct threads_session *ts)
{
	free(ts->last);
	ts->last = NULL;
	ts->nlast = 0;
	for (size_t i = 0; i < ts->ngroups; i++) {
		struct thread_group *g = &ts->groups[i];
		free(g->members);
		g->members = NULL;
		if (!g->count)
			continue;
		g->members = malloc(g->count * sizeof(*g->members));
		if (!g->members)
			return -1;
		g->count = 0;
	}
	for (size_t i = 0; i < ts->nstacks; i++) {
		struct thread_group *g = &ts->groups[ts->stacks[i].group];
		g->members[g->count++] = i;
	}
	for (size_t i = 0; i < ts->ngroups; i++)
		if (threads_track_members(ts, &ts->groups[i]) < 0)
			return -1;
	ts->last = malloc((ts->ngroups + 1) * sizeof(*ts->last));
	if (!ts->last)
		return -1;
	for (size_t i = 0; i < ts->ngroups; i++)
		if (ts->groups[i].count)
			ts->last[ts->nlast++] = ts->groups[i];
	qsort_r(ts->last, ts->nlast, sizeof(*ts->last), threads_by_count, ts->p);
	return 0;
}

int threads_poll(struct threads_session *ts)
{
	uint64_t pcs[UNWIND_MAX_FRAMES];
	struct snapshot snap;

	/* A failed poll (the process exited) leaves the last one whole, for
	 * the verdict. */
	if (snapshot_take(&snap, ts->pid, ts->stack_size) < 0)
		return -1;
	if (ts->have_snap)
		snapshot_release(&ts->snap);
	ts->snap = snap;
	ts->have_snap = true;
	threads_free_stacks(ts);
	for (size_t i = 0; i < ts->ngroups; i++) {
		size_t *h = realloc(ts->groups[i].history, (ts->npolls + 2) * sizeof(*h));
		if (!h)
			goto oom;
		ts->groups[i].history = h;
		h[ts->npolls] = 0;
		ts->groups[i].count = 0;
	}
	ts->stacks = calloc(ts->snap.nthreads + 1, sizeof(*ts->stacks));
	if (!ts->stacks)
		goto oom;
	ts->nstacks = ts->snap.nthreads;
	for (size_t i = 0; i < ts->snap.nthreads; i++) {
		const struct thread_snap *t = &ts->snap.threads[i];
		struct thread_stack *st = &ts->stacks[i];
		int n = t->regs[UREG_IP] ? unwinder_unwind(ts->uw, t->regs, t->stack, t->stack_size,
							   pcs, UNWIND_MAX_FRAMES) : 0;
		int64_t g;
		st->locs = malloc((n + 1) * sizeof(*st->locs));
		if (!st->locs)
			goto oom;
		for (int j = 0; j < n; j++) {
			int64_t id = locator_get(ts->loc, pcs[j], j > 0);
			if (id < 0)
				goto oom;
			st->locs[j] = id;
		}
		st->n = n;
		g = threads_group_of(ts, st->locs, st->n);
		if (g < 0)
			goto oom;
		st->group = g;
		ts->groups[g].count++;
		ts->groups[g].history[ts->npolls] = ts->groups[g].count;
	}
	ts->npolls++;
	if (threads_sort_groups(ts) < 0 || threads_medians(ts) < 0)
		goto oom;
	return 0;
oom:
	return cp_error_errno(ENOMEM, "out of memory");
}

const struct snapshot *threads_last(const struct threads_session *ts)
{
	return &ts->snap;
}

struct thread_group *threads_groups(const struct threads_session *ts, size_t *n)
{
	*n = ts->nlast;
	return ts->last;
}

struct thread_group *threads_all_groups(const struct threads_session *ts, size_t *n,
					size_t *npolls)
{
	*n = ts->ngroups;
	*npolls = ts->npolls;
	return ts->groups;
}

const uint64_t *threads_stack(const struct threads_session *ts, size_t thread, size_t *n)
{
	*n = ts->stacks[thread].n;
	return ts->stacks[thread].locs;
}

struct profile *threads_profile(struct threads_session *ts)
{
	int64_t one = 1;
	int64_t k_thread = profile_intern(ts->p, "thread"), k_tid = profile_intern(ts->p, "tid");
	int64_t k_state = profile_intern(ts->p, "state");

	if (ts->profiled)
		return ts->p;
	if (k_thread < 0 || k_tid < 0 || k_state < 0 || locator_finish(ts->loc) < 0)
		return NULL;
	ts->p->time_nanos = ts->snap.time_ns;
	for (size_t i = 0; i < ts->nstacks; i++) {
		const struct thread_snap *t = &ts->snap.threads[i];
		char state[2] = { t->state, 0 };
		struct pf_label labels[3] = {
			{ k_thread, profile_intern(ts->p, t->name), 0, 0 },
			{ k_tid, 0, t->tid, 0 },
			{ k_state, profile_intern(ts->p, state), 0, 0 },
		};
		if (labels[0].str < 0 || labels[2].str < 0 ||
		    profile_add_sample(ts->p, ts->stacks[i].locs, ts->stacks[i].n, &one, labels, 3) < 0)
			return NULL;
	}
	ts->profiled = true;
	return ts->p;
}

static double threads_history_at(const void *ctx, size_t i)
{
	const struct thread_group *g = ctx;

	return (double)g->history[i];
}

bool threads_leaking(const struct thread_group *g, size_t npolls)
{
	return !g->turned_over && leak_steady(npolls, threads_history_at, g, 2);
}

size_t threads_suspects(const struct threads_session *ts, int64_t span_ns,
			void (*fn)(const struct thread_group *g, size_t start, size_t end,
				   double per_minute, void *ctx),
			void *ctx)
{
	double minutes = span_ns / 60e9;
	size_t n = 0;

	for (size_t i = 0; i < ts->ngroups; i++) {
		const struct thread_group *g = &ts->groups[i];
		size_t start, end;
		if (!threads_leaking(g, ts->npolls))
			continue;
		n++;
		start = g->history[0];
		end = g->history[ts->npolls - 1];
		if (fn)
			fn(g, start, end, minutes > 0 ? (end - start) / minutes : 0.0, ctx);
	}
	return n;
}

void threads_time_of_day(const struct snapshot *s, char *buf, size_t n)
{
	time_t now = s->time_ns / 1000000000;
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, n, "%H:%M:%S", &tm);
}

int64_t threads_median_stop(const struct threads_session *ts, bool wait)
{
	return wait ? ts->median_wait_ns : ts->median_stop_ns;
}

void threads_group_states(const struct snapshot *s, const struct thread_group *g, char *buf,
			  size_t n)
{
	static const char order[] = "RSDTtZXIWP";
	size_t used = 0;

	buf[0] = '\0';
	for (const char *st = order; *st && used < n; st++) {
		size_t k = 0;
		for (size_t i = 0; i < g->count; i++)
			k += s->threads[g->members[i]].state == *st;
		if (k)
			used += snprintf(buf + used, n - used, "%s%c×%zu", used ? " " : "", *st, k);
	}
}

void threads_group_names(const struct snapshot *s, const struct thread_group *g,
			 bool (*fn)(const char *name, size_t count, void *ctx), void *ctx)
{
	for (size_t i = 0; i < g->count; i++) {
		const char *name = s->threads[g->members[i]].name;
		size_t k = 0;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(s->threads[g->members[j]].name, name) == 0;
		if (seen)
			continue;
		for (size_t j = i; j < g->count; j++)
			k += strcmp(s->threads[g->members[j]].name, name) == 0;
		if (!fn(name, k, ctx))
			return;
	}
}
