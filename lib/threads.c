/* Thread dumps and leak watching over ptrace snapshots; see threads.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addrspace.h"
#include "error.h"
#include "grow.h"
#include "hmap.h"
#include "locate.h"
#include "symbolize.h"
#include "threads.h"
#include "unwind.h"

#define MAX_FRAMES 256

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

static void free_stacks(struct threads_session *ts)
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
	free_stacks(ts);
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
static uint64_t stack_key(const struct profile *p, const uint64_t *locs, size_t n)
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

static bool same_location(const struct profile *p, uint64_t a, uint64_t b)
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

static int group_eq(void *ctx, uint32_t idx)
{
	const struct group_key *k = ctx;
	const struct thread_group *g = &k->ts->groups[idx];

	if (g->nlocs != k->n)
		return 0;
	for (size_t i = 0; i < k->n; i++)
		if (!same_location(k->ts->p, g->locs[i], k->locs[i]))
			return 0;
	return 1;
}

/* The group of a stack, created (with an all-zero history) if new. */
static int64_t group_of(struct threads_session *ts, const uint64_t *locs, size_t n)
{
	struct group_key k = { ts, locs, n };
	uint64_t h = stack_key(ts->p, locs, n);
	int64_t i = hmap_find(&ts->group_index, h, group_eq, &k);
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

static int by_tid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* Note whether G kept its threads since the last poll, and remember them. */
static int track_members(struct threads_session *ts, struct thread_group *g)
{
	pid_t *now = malloc((g->count + 1) * sizeof(*now));
	size_t kept = 0, j = 0;

	if (!now)
		return cp_error("out of memory");
	for (size_t i = 0; i < g->count; i++)
		now[i] = ts->snap.threads[g->members[i]].tid;
	qsort(now, g->count, sizeof(*now), by_tid);
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

static int by_count(const void *a, const void *b, void *ctx)
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

int threads_poll(struct threads_session *ts)
{
	uint64_t pcs[MAX_FRAMES];

	if (ts->have_snap)
		snapshot_release(&ts->snap);
	ts->have_snap = false;
	free_stacks(ts);
	for (size_t i = 0; i < ts->ngroups; i++) {
		size_t *h = realloc(ts->groups[i].history, (ts->npolls + 2) * sizeof(*h));
		if (!h)
			goto oom;
		ts->groups[i].history = h;
		h[ts->npolls] = 0;
		ts->groups[i].count = 0;
	}
	if (snapshot_take(&ts->snap, ts->pid, ts->stack_size) < 0)
		return -1;
	ts->have_snap = true;
	ts->stacks = calloc(ts->snap.nthreads + 1, sizeof(*ts->stacks));
	if (!ts->stacks)
		goto oom;
	ts->nstacks = ts->snap.nthreads;
	for (size_t i = 0; i < ts->snap.nthreads; i++) {
		const struct thread_snap *t = &ts->snap.threads[i];
		struct thread_stack *st = &ts->stacks[i];
		int n = t->regs[UREG_IP] ? unwinder_unwind(ts->uw, t->regs, t->stack, t->stack_size,
							   pcs, MAX_FRAMES) : 0;
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
		g = group_of(ts, st->locs, st->n);
		if (g < 0)
			goto oom;
		st->group = g;
		ts->groups[g].count++;
		ts->groups[g].history[ts->npolls] = ts->groups[g].count;
	}
	ts->npolls++;

	/* The poll's groups, sorted, with their members. */
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
			goto oom;
		g->count = 0;
	}
	for (size_t i = 0; i < ts->nstacks; i++) {
		struct thread_group *g = &ts->groups[ts->stacks[i].group];
		g->members[g->count++] = i;
	}
	for (size_t i = 0; i < ts->ngroups; i++)
		if (track_members(ts, &ts->groups[i]) < 0)
			goto oom;
	ts->last = malloc((ts->ngroups + 1) * sizeof(*ts->last));
	if (!ts->last)
		goto oom;
	for (size_t i = 0; i < ts->ngroups; i++)
		if (ts->groups[i].count)
			ts->last[ts->nlast++] = ts->groups[i];
	qsort_r(ts->last, ts->nlast, sizeof(*ts->last), by_count, ts->p);
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

bool threads_leaking(const struct thread_group *g, size_t npolls)
{
	const size_t *c = g->history;
	size_t rises = 0;

	if (npolls < 3 || g->turned_over)
		return false;
	for (size_t i = 1; i < npolls; i++) {
		if (c[i] < c[i - 1])
			return false;
		rises += c[i] > c[i - 1];
	}
	return rises * 2 >= npolls - 1 && c[npolls - 1] >= c[0] + 2;
}
