/* The cpu profiler's loop: sample, unwind, symbolize, add to the profile;
 * see cpu.h. Everything is symbolized at capture time, while the target's
 * files are certainly there, and cached per program counter. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addrspace.h"
#include "cpu.h"
#include "error.h"
#include "grow.h"
#include "hmap.h"
#include "proc.h"
#include "sample.h"
#include "symbolize.h"
#include "unwind.h"

#define MAX_FRAMES 256

struct pc_entry {
	uint64_t pc;
	bool caller;
	uint64_t location;
};

struct thread_entry {
	pid_t tid;
	int64_t name; /* string index */
};

struct cpu {
	struct target *t;
	const struct cpu_opts *o;
	struct cpu_stats *st;
	struct profile *p;
	struct addrspace *as;
	struct unwinder *uw;
	struct symbolizer *sym;
	struct pc_entry *pcs;
	size_t npcs, pcs_cap;
	struct hmap pc_index;
	struct thread_entry *threads;
	size_t nthreads, threads_cap;
	struct hmap thread_index;
	int64_t k_thread, k_tid;
	int64_t values[2];
	uint64_t frames[MAX_FRAMES], locs[MAX_FRAMES];
	struct timespec last_refresh;
	int error;
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct pc_key {
	const struct cpu *c;
	uint64_t pc;
	bool caller;
};

static int pc_eq(void *ctx, uint32_t idx)
{
	const struct pc_key *k = ctx;
	const struct pc_entry *e = &k->c->pcs[idx];

	return e->pc == k->pc && e->caller == k->caller;
}

/* The profile location of PC, symbolized the first time it is seen. */
static uint64_t location(struct cpu *c, uint64_t pc, bool caller)
{
	struct pc_key k = { c, pc, caller };
	uint64_t h = hash_bytes(hash_bytes(HASH_SEED, &pc, sizeof(pc)), &caller, sizeof(caller));
	int64_t i = hmap_find(&c->pc_index, h, pc_eq, &k);
	const struct as_map *m;
	const struct sym_frame *fr;
	struct pf_line lines[32];
	int n;
	uint64_t id;

	if (i >= 0)
		return c->pcs[i].location;
	m = addrspace_find(c->as, pc);
	if (!m) {
		/* A mapping made after the last read (dlopen): look again, at most
		 * every 100 ms so stray addresses don't cost a read each. */
		int64_t now = now_ns(CLOCK_MONOTONIC);
		int64_t last = c->last_refresh.tv_sec * 1000000000LL + c->last_refresh.tv_nsec;
		if (now - last > 100000000) {
			clock_gettime(CLOCK_MONOTONIC, &c->last_refresh);
			if (addrspace_refresh(c->as) == 0) {
				unwinder_flush(c->uw);
				m = addrspace_find(c->as, pc);
			}
		}
	}
	n = symbolizer_lookup(c->sym, pc, caller, &fr);
	if (n > (int)(sizeof(lines) / sizeof(*lines)))
		n = sizeof(lines) / sizeof(*lines);
	for (int j = 0; j < n; j++) {
		int64_t name = profile_intern(c->p, fr[j].name ? fr[j].name : "");
		int64_t file = profile_intern(c->p, fr[j].file ? fr[j].file : "");
		lines[j].function_id = profile_add_function(c->p, name, name, file, fr[j].start_line);
		lines[j].line = fr[j].line;
		if (name < 0 || file < 0 || !lines[j].function_id)
			return 0;
	}
	id = profile_add_location(c->p, m ? m->id : 0, pc, lines, n, false);
	if (!id)
		return 0;
	if (CP_GROW(c->pcs, c->pcs_cap, c->npcs + 1) < 0 || hmap_insert(&c->pc_index, h, c->npcs) < 0)
		return 0;
	c->pcs[c->npcs].pc = pc;
	c->pcs[c->npcs].caller = caller;
	c->pcs[c->npcs++].location = id;
	c->st->locations++;
	return id;
}

static int thread_eq(void *ctx, uint32_t idx)
{
	void **k = ctx;

	return ((struct cpu *)k[0])->threads[idx].tid == *(pid_t *)k[1];
}

static struct thread_entry *thread(struct cpu *c, pid_t tid, const char *comm)
{
	void *k[2] = { c, &tid };
	uint64_t h = hash_bytes(HASH_SEED, &tid, sizeof(tid));
	int64_t i = hmap_find(&c->thread_index, h, thread_eq, k);
	char name[64];

	if (i >= 0) {
		if (comm)
			c->threads[i].name = profile_intern(c->p, comm);
		return &c->threads[i];
	}
	if (!comm) {
		proc_thread_name(c->t->pid, tid, name, sizeof(name));
		comm = name;
	}
	if (CP_GROW(c->threads, c->threads_cap, c->nthreads + 1) < 0 ||
	    hmap_insert(&c->thread_index, h, c->nthreads) < 0)
		return NULL;
	c->threads[c->nthreads].tid = tid;
	c->threads[c->nthreads].name = profile_intern(c->p, comm);
	return &c->threads[c->nthreads++];
}

static void on_sample(struct cpu *c, const struct sampler_record *r)
{
	struct thread_entry *te;
	struct pf_label labels[2];
	int n = 0;

	c->st->samples++;
	if (r->ip == 0)
		return;
	if (c->o->fp) {
		c->frames[n++] = r->ip;
		for (size_t i = 0; i < r->nchain && n < MAX_FRAMES; i++)
			c->frames[n++] = r->chain[i];
	} else if (r->regs && r->stack) {
		n = unwinder_unwind(c->uw, r->regs, r->stack, r->stack_size, c->frames, MAX_FRAMES);
	}
	if (n <= 0) {
		c->frames[0] = r->ip;
		n = 1;
	}
	c->st->unwound_frames += n;
	for (int i = 0; i < n; i++) {
		c->locs[i] = location(c, c->frames[i], i > 0);
		if (!c->locs[i]) {
			c->error = 1;
			return;
		}
	}
	te = thread(c, r->tid, NULL);
	if (!te) {
		c->error = 1;
		return;
	}
	labels[0] = (struct pf_label){ c->k_thread, te->name, 0, 0 };
	labels[1] = (struct pf_label){ c->k_tid, 0, r->tid, 0 };
	if (profile_add_sample(c->p, c->locs, n, c->values, labels, 2) < 0)
		c->error = 1;
}

static void on_record(void *ctx, const struct sampler_record *r)
{
	struct cpu *c = ctx;

	if (c->error)
		return;
	switch (r->type) {
	case REC_SAMPLE:
		on_sample(c, r);
		break;
	case REC_LOST:
		c->st->lost += r->lost;
		break;
	case REC_COMM:
		if (r->exec) {
			/* A new program: new mappings, unwind tables and code at the
			 * addresses cached so far. */
			if (addrspace_refresh(c->as) == 0)
				unwinder_flush(c->uw);
			hmap_release(&c->pc_index);
			hmap_init(&c->pc_index);
			c->npcs = 0;
		}
		if (!thread(c, r->tid, r->comm))
			c->error = 1;
		break;
	}
}

static int add_mappings(struct cpu *c)
{
	size_t n;
	const struct as_map *maps = addrspace_maps(c->as, &n);

	for (size_t i = 0; i < n; i++) {
		const struct as_map *m = &maps[i];
		struct pf_mapping pm = {
			.memory_start = m->start,
			.memory_limit = m->end,
			.file_offset = m->offset,
			.filename = profile_intern(c->p, m->path),
			.build_id = profile_intern(c->p, m->mod ? module_build_id(m->mod) : ""),
			.has_functions = true,
			.has_filenames = true,
			.has_line_numbers = true,
			.has_inline_frames = true,
		};
		if (pm.filename < 0 || pm.build_id < 0 || profile_add_mapping(c->p, &pm) != m->id)
			return cp_error("cannot record mapping %s", m->path);
	}
	return 0;
}

static int setup(struct cpu *c)
{
	c->p = profile_new();
	if (!c->p)
		return -1;
	if (profile_add_sample_type(c->p, "samples", "count") < 0 ||
	    profile_add_sample_type(c->p, "cpu", "nanoseconds") < 0)
		return -1;
	c->p->period_type.type = profile_intern(c->p, "cpu");
	c->p->period_type.unit = profile_intern(c->p, "nanoseconds");
	c->p->period = 1000000000LL / c->o->frequency;
	c->k_thread = profile_intern(c->p, "thread");
	c->k_tid = profile_intern(c->p, "tid");
	c->values[0] = 1;
	c->values[1] = c->p->period;
	hmap_init(&c->pc_index);
	hmap_init(&c->thread_index);
	return 0;
}

static void cleanup(struct cpu *c)
{
	unwinder_free(c->uw);
	symbolizer_free(c->sym);
	addrspace_free(c->as);
	hmap_release(&c->pc_index);
	hmap_release(&c->thread_index);
	free(c->pcs);
	free(c->threads);
}

struct profile *cpu_profile(struct target *t, const struct cpu_opts *o, struct cpu_stats *st)
{
	struct sampler_opts so = {
		.frequency = o->frequency,
		.fp = o->fp,
		.stack_size = o->stack_size,
		.buffer_pages = 256,
	};
	struct cpu c = { .t = t, .o = o, .st = st };
	struct sampler *s = NULL;
	int64_t start, deadline;
	int err = 0;

	memset(st, 0, sizeof(*st));
	if (setup(&c) < 0)
		goto fail;
	s = sampler_new(&so);
	if (!s)
		goto fail;
	if (t->launched) {
		if (sampler_open_child(s, t->pid, &err) < 0) {
			target_permission_error(t, err, "profile");
			goto fail;
		}
	} else if (sampler_open_pid(s, t->pid, &err) < 0) {
		target_permission_error(t, err, "profile");
		goto fail;
	}
	if (!t->launched && sampler_enable(s) < 0)
		goto fail;
	c.p->time_nanos = now_ns(CLOCK_REALTIME);
	start = now_ns(CLOCK_MONOTONIC);
	if (t->launched && target_go(t) < 0)
		goto fail;
	if (o->started)
		o->started(o->ctx);
	/* The maps are read after the exec, so a launched command's are its own. */
	c.as = addrspace_new(t->pid);
	if (!c.as) {
		/* Gone already: what it ran cannot be symbolized, so it is left out. */
		if (!target_check_exit(t))
			goto fail;
		st->target_exited = true;
		goto done;
	}
	c.uw = o->fp ? NULL : unwinder_new(c.as);
	c.sym = symbolizer_new(c.as);
	if ((!o->fp && !c.uw) || !c.sym)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &c.last_refresh);
	deadline = o->duration_ns ? start + o->duration_ns : INT64_MAX;
	for (;;) {
		int64_t now = now_ns(CLOCK_MONOTONIC), left = deadline - now;
		int exited;
		if (o->stop && *o->stop) {
			st->stopped = true;
			break;
		}
		if (left <= 0)
			break;
		exited = sampler_wait(s, t->pidfd, left > 100000000 ? 100 : left / 1000000 + 1);
		sampler_drain(s, on_record, &c);
		if (c.error)
			goto fail;
		if (exited || target_check_exit(t)) {
			st->target_exited = true;
			break;
		}
	}
	sampler_disable(s);
	sampler_drain(s, on_record, &c);
	if (c.error)
		goto fail;
	if (add_mappings(&c) < 0)
		goto fail;
done:
	st->elapsed_ns = now_ns(CLOCK_MONOTONIC) - start;
	c.p->duration_nanos = st->elapsed_ns;
	st->threads = c.nthreads;
	sampler_free(s);
	cleanup(&c);
	return c.p;
fail:
	sampler_free(s);
	cleanup(&c);
	profile_free(c.p);
	return NULL;
}
