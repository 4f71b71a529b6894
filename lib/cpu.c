/* The cpu profiler's loop: sample, unwind, symbolize, add to the profile;
 * see cpu.h. Everything is symbolized at capture time, while the target's
 * files are certainly there, and cached per program counter. Off the CPU,
 * a wait's stack is unwound at its switch-out and added at its end. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addrspace.h"
#include "clock.h"
#include "cpu.h"
#include "errmsg.h"
#include "grow.h"
#include "hmap.h"
#include "kallsyms.h"
#include "locate.h"
#include "proc.h"
#include "sample.h"
#include "symbolize.h"
#include "unwind.h"

/* perf_event_max_stack's default is 127. */
#define KERNEL_FRAMES 128

struct thread_entry {
	pid_t tid;
	int64_t name; /* string index */
};

/* A process of the target (it, or a child it forked): each has its own
 * address space, unwind tables, symbols and locator into the shared profile. */
struct cpu_process {
	pid_t pid;
	struct addrspace *as; /* NULL: gone before its maps could be read */
	struct unwinder *uw;
	struct symbolizer *sym;
	struct locator *loc;
	bool stale;         /* it mapped a file since its maps were read */
	uint64_t refreshed; /* the drain that last re-read them */
};

struct cpu {
	struct target *t;
	const struct cpu_opts *o;
	struct cpu_stats stats;
	struct sampler *s;
	int64_t start;
	struct profile *p;
	struct cpu_process *procs; /* the target first */
	size_t nprocs, procs_cap;
	pid_t *forked;             /* children forked since sampling began, not yet exited */
	size_t nforked, forked_cap;
	struct hmap proc_index;
	struct thread_entry *threads;
	size_t nthreads, threads_cap;
	struct hmap thread_index;
	int64_t k_thread, k_tid, k_pid, k_state;
	int64_t s_running, s_blocked, s_runnable, s_unknown;
	int64_t values[2];
	struct offcpu *off;    /* off-CPU and wall modes */
	uint64_t m_offcpu, m_before, m_nostack; /* markers' locations; 0: not made yet */
	uint64_t outs;         /* switch-outs since the rate was last looked at */
	int64_t rate_at;
	uint64_t missed0;      /* offcpu_missed at the window's start */
	int64_t redraw_at;     /* when the switch-sampling periods are drawn again */
	bool finishing;
	uint64_t frames[KERNEL_FRAMES + UNWIND_MAX_FRAMES];
	uint64_t locs[KERNEL_FRAMES + UNWIND_MAX_FRAMES + 1];
	uint64_t truncated; /* the [truncated] root's location; 0: not made yet */
	struct kallsyms *ks;            /* loaded at the first kernel frame */
	struct kallsyms_locator *kl;    /* into the current profile */
	int64_t user0_ns, system0_ns;   /* the target's CPU times at the start */
	uint64_t drains;
	int error;
};

static void cpu_process_release(struct cpu_process *pr)
{
	locator_free(pr->loc);
	unwinder_free(pr->uw);
	symbolizer_free(pr->sym);
	addrspace_free(pr->as);
	memset(pr, 0, sizeof(*pr));
}

static int cpu_process_eq(void *ctx, uint32_t idx)
{
	void **k = ctx;

	return ((struct cpu *)k[0])->procs[idx].pid == *(pid_t *)k[1];
}

/* The process PID of the target, set up the first time it is seen; NULL
 * only when out of memory. A process gone already gets no address space. */
static struct cpu_process *cpu_process_get(struct cpu *c, pid_t pid)
{
	void *k[2] = { c, &pid };
	uint64_t h = hash_bytes(HASH_SEED, &pid, sizeof(pid));
	int64_t i = hmap_find(&c->proc_index, h, cpu_process_eq, k);
	struct cpu_process *pr;

	if (i >= 0)
		return &c->procs[i];
	if (CP_GROW(c->procs, c->procs_cap, c->nprocs + 1) < 0 ||
	    hmap_insert(&c->proc_index, h, c->nprocs) < 0)
		return NULL;
	pr = &c->procs[c->nprocs++];
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;
	pr->as = addrspace_new(pid);
	if (!pr->as)
		return pr;
	pr->uw = c->o->fp ? NULL : unwinder_new(pr->as);
	pr->sym = symbolizer_new(pr->as);
	pr->loc = pr->sym ? locator_new(c->p, pr->as, pr->sym, pr->uw, false) : NULL;
	if ((!c->o->fp && !pr->uw) || !pr->loc) {
		cpu_process_release(pr);
		c->nprocs--;
		return NULL;
	}
	return pr;
}

static int cpu_thread_eq(void *ctx, uint32_t idx)
{
	void **k = ctx;

	return ((struct cpu *)k[0])->threads[idx].tid == *(pid_t *)k[1];
}

static struct thread_entry *cpu_thread_get(struct cpu *c, pid_t pid, pid_t tid, const char *comm)
{
	void *k[2] = { c, &tid };
	uint64_t h = hash_bytes(HASH_SEED, &tid, sizeof(tid));
	int64_t i = hmap_find(&c->thread_index, h, cpu_thread_eq, k);
	char name[64];

	if (i >= 0) {
		if (comm)
			c->threads[i].name = profile_intern(c->p, comm);
		return &c->threads[i];
	}
	if (!comm) {
		proc_thread_name(pid, tid, name, sizeof(name));
		comm = name;
	}
	if (CP_GROW(c->threads, c->threads_cap, c->nthreads + 1) < 0 ||
	    hmap_insert(&c->thread_index, h, c->nthreads) < 0)
		return NULL;
	c->threads[c->nthreads].tid = tid;
	c->threads[c->nthreads].name = profile_intern(c->p, comm);
	return &c->threads[c->nthreads++];
}

/* Re-read PR's maps. A process whose maps cannot be read is gone: it is not
 * tried again before another record says so. Memory running out is an error. */
static void cpu_refresh(struct cpu *c, struct cpu_process *pr)
{
	if (locator_refresh(pr->loc) < 0 && cp_errno() == ENOMEM)
		c->error = 1;
	pr->stale = false;
	pr->refreshed = c->drains;
}

static bool cpu_all_known(const struct cpu_process *pr, const uint64_t *pcs, int n)
{
	for (int i = 0; i < n; i++)
		if (!kallsyms_is_kernel(pcs[i]) && !addrspace_find(pr->as, pcs[i] - (i > 0)))
			return false;
	return true;
}

/* The stack of R into c->frames; returns its depth, at least 1. *WHOLE:
 * the unwinder reached the outermost frame (fp chains: always true, the
 * kernel's walk gives no sign of where it stopped). */
static int cpu_frames(struct cpu *c, struct cpu_process *pr, const struct sampler_record *r,
		      bool *whole)
{
	int n = 0, u;

	*whole = c->o->fp;
	if (c->o->fp) {
		c->frames[n++] = r->ip;
		for (size_t i = 0; i < r->nchain && n < UNWIND_MAX_FRAMES; i++)
			c->frames[n++] = r->chain[i];
		return n;
	}
	/* In the kernel: its chain, then the user stack from where it entered. */
	if (kallsyms_is_kernel(r->ip)) {
		c->frames[n++] = r->ip;
		for (size_t i = 0; i < r->nchain && n < KERNEL_FRAMES; i++)
			c->frames[n++] = r->chain[i];
	}
	if (r->regs && r->stack) {
		u = unwinder_walk(pr->uw, r->regs, r->stack, r->stack_size, c->frames + n,
				  UNWIND_MAX_FRAMES, whole);
		n += u > 0 ? u : 0;
	}
	if (n <= 0) {
		c->frames[0] = r->ip;
		n = 1;
	}
	return n;
}

/* The location of kernel counter PC, the kernel's symbols read the first
 * time. A kernel that hides them (kptr_restrict) leaves the frames bare. */
static int64_t cpu_kernel_location(struct cpu *c, uint64_t pc, bool caller)
{
	if (!c->ks && !(c->ks = kallsyms_load()))
		return -1;
	if (!c->kl && !(c->kl = kallsyms_locator_new(c->p, c->ks)))
		return -1;
	return kallsyms_locator_get(c->kl, pc, caller);
}

/* A marker's location, made the first time (*ID 0) in the profile. */
static int64_t cpu_marker(struct cpu *c, uint64_t *id, const char *name)
{
	if (!*id) {
		int64_t m = profile_add_marker(c->p, name);
		if (m < 0)
			return -1;
		*id = m;
	}
	return *id;
}

/* The locations of c->frames (N of them) in PR into c->locs, with a
 * [truncated] root where the unwinder stopped short. Returns how many,
 * or -1 when out of memory. */
static int cpu_locate(struct cpu *c, struct cpu_process *pr, int n, bool whole)
{
	for (int i = 0; i < n; i++) {
		int64_t id = kallsyms_is_kernel(c->frames[i]) ?
				     cpu_kernel_location(c, c->frames[i], i > 0) :
				     locator_get(pr->loc, c->frames[i], i > 0);
		if (id < 0)
			return -1;
		c->locs[i] = id;
	}
	/* A stack the unwinder could not finish gets a root that says so, in
	 * every view of the profile. */
	if (!whole) {
		c->stats.truncated++;
		if (cpu_marker(c, &c->truncated, "[truncated]") < 0)
			return -1;
		c->locs[n++] = c->truncated;
	}
	return n;
}

/* Add the stack in c->locs (N) of thread TID of PID with VALUES, labelled
 * with STATE (a string index; 0: none). */
static void cpu_add(struct cpu *c, pid_t pid, pid_t tid, int n, const int64_t *values,
		    int64_t state)
{
	struct thread_entry *te = cpu_thread_get(c, pid, tid, NULL);
	struct pf_label labels[4];
	size_t nl = 2;

	if (!te) {
		c->error = 1;
		return;
	}
	labels[0] = (struct pf_label){ c->k_thread, te->name, 0, 0 };
	labels[1] = (struct pf_label){ c->k_tid, 0, tid, 0 };
	/* Children of the target say whose they are. */
	if (pid != c->t->pid)
		labels[nl++] = (struct pf_label){ c->k_pid, 0, pid, 0 };
	if (state)
		labels[nl++] = (struct pf_label){ c->k_state, state, 0, 0 };
	if (profile_add_sample(c->p, c->locs, n, values, labels, nl) < 0)
		c->error = 1;
}

/* R's process, its maps re-read if a mapping record said so; NULL where
 * the sample is to be left out (counted) or on an error (c->error). */
static struct cpu_process *cpu_sample_process(struct cpu *c, const struct sampler_record *r)
{
	struct cpu_process *pr = cpu_process_get(c, r->pid);

	if (!pr) {
		c->error = 1;
		return NULL;
	}
	if (!pr->as) {
		c->stats.dropped++;
		return NULL;
	}
	/* After a mapping record the maps are re-read before the next sample,
	 * but once a drain at most (a program may map files at any rate), and
	 * again only for a stack that reaches into what they do not know. */
	if (pr->stale && pr->refreshed != c->drains)
		cpu_refresh(c, pr);
	return pr;
}

static void cpu_on_sample(struct cpu *c, const struct sampler_record *r)
{
	struct cpu_process *pr;
	bool whole;
	int n;

	c->stats.samples++;
	if (r->ip == 0 || !(pr = cpu_sample_process(c, r)))
		return;
	n = cpu_frames(c, pr, r, &whole);
	if (pr->stale && !cpu_all_known(pr, c->frames, n)) {
		cpu_refresh(c, pr);
		n = cpu_frames(c, pr, r, &whole);
	}
	c->stats.unwound_frames += n;
	c->stats.kernel_samples += kallsyms_is_kernel(c->frames[0]);
	n = cpu_locate(c, pr, n, whole);
	if (n < 0) {
		c->error = 1;
		return;
	}
	cpu_add(c, r->pid, r->tid, n, c->values,
		c->o->mode == CPU_MODE_WALL ? c->s_running : 0);
}

/* The user stack at a switch-out into c->frames: its depth (0: none). */
static int cpu_switch_frames(struct cpu *c, struct cpu_process *pr,
			     const struct sampler_record *r, bool *whole)
{
	int n = 0;

	*whole = c->o->fp;
	if (c->o->fp) {
		for (size_t i = 0; i < r->nchain && n < UNWIND_MAX_FRAMES; i++)
			c->frames[n++] = r->chain[i];
		return n;
	}
	if (r->regs && r->stack)
		n = unwinder_walk(pr->uw, r->regs, r->stack, r->stack_size, c->frames,
				  UNWIND_MAX_FRAMES, whole);
	return n > 0 ? n : 0;
}

/* A switch-out's sample: its stack unwound now (the stack copy lives only
 * as long as the record) and kept for the wait it begins. */
static void cpu_on_switch_sample(struct cpu *c, const struct sampler_record *r)
{
	struct cpu_process *pr;
	bool whole = true;
	int n = 0;

	c->stats.switch_samples++;
	/* A stack that cannot be had still says the switch-out was sampled. */
	if ((pr = cpu_sample_process(c, r))) {
		n = cpu_switch_frames(c, pr, r, &whole);
		if (pr->stale && !cpu_all_known(pr, c->frames, n)) {
			cpu_refresh(c, pr);
			n = cpu_switch_frames(c, pr, r, &whole);
		}
	}
	c->stats.unwound_frames += n;
	if (offcpu_sampled(c->off, r->pid, r->tid, r->time, c->frames, n, whole, r->period) < 0)
		c->error = 1;
}

/* A wait ended: added under its stack, or a marker where it has none. */
static void cpu_on_wait(void *ctx, const struct offcpu_wait *w)
{
	struct cpu *c = ctx;
	struct cpu_process *pr;
	int64_t values[2] = { (int64_t)w->weight, (int64_t)w->weight * w->delay_ns };
	int64_t state = w->before ? c->s_unknown : w->preempt ? c->s_runnable : c->s_blocked;
	int n;

	c->stats.waits++;
	c->stats.waits_sampled += w->pcs != NULL;
	c->stats.blocked_ns += !w->before && !w->preempt ? w->delay_ns : 0;
	c->stats.runnable_ns += !w->before && w->preempt ? w->delay_ns : 0;
	c->stats.before_ns += w->before ? w->delay_ns : 0;
	if (w->pcs && w->npcs && (pr = cpu_process_get(c, w->pid)) && pr->as) {
		memcpy(c->frames, w->pcs, w->npcs * sizeof(*w->pcs));
		n = cpu_locate(c, pr, (int)w->npcs, w->whole);
	} else if (w->pcs) {
		n = cpu_marker(c, &c->m_nostack, "[no user stack]") < 0 ? -1 : 1;
		c->locs[0] = c->m_nostack;
	} else if (c->stats.switch_stacks && !w->before) {
		/* Its switch-out was not sampled: the sampled ones stand for it. */
		c->stats.waits_unsampled++;
		return;
	} else {
		n = cpu_marker(c, w->before ? &c->m_before : &c->m_offcpu,
			       w->before ? "[off-CPU since before the start]" : "[off-CPU]") < 0 ?
			    -1 : 1;
		c->locs[0] = w->before ? c->m_before : c->m_offcpu;
	}
	if (n < 0) {
		c->error = 1;
		return;
	}
	if (c->o->on_wait)
		c->o->on_wait(c->o->watch_ctx, w, w->pcs && w->npcs ? c->locs : NULL,
			      w->pcs && w->npcs ? (size_t)n : 0);
	cpu_add(c, w->pid, w->tid, n, values, state);
}

/* Only files are symbolized (deleted ones too, through map_files): memory a
 * JIT maps, often and anonymously, need not cost a re-read of the maps. */
static bool cpu_names_file(const char *path)
{
	return path[0] == '/' && strcmp(path, "//anon") != 0;
}

/* A fork or an exit: the children the inherited events follow, for
 * cpu_pids (threads are no concern here). */
static void cpu_on_task(struct cpu *c, const struct sampler_record *r)
{
	size_t i;

	if (c->off && offcpu_task(c->off, r->pid, r->tid, r->type == REC_EXIT) < 0)
		c->error = 1;
	if (r->type == REC_FORK ? r->pid == r->ppid : r->pid != r->tid)
		return;
	for (i = 0; i < c->nforked && c->forked[i] != r->pid; i++)
		;
	if (r->type == REC_EXIT) {
		if (i < c->nforked)
			c->forked[i] = c->forked[--c->nforked];
	} else if (i == c->nforked) {
		if (CP_GROW(c->forked, c->forked_cap, c->nforked + 1) < 0)
			c->error = 1;
		else
			c->forked[c->nforked++] = r->pid;
	}
}

static void cpu_switch_rate(struct cpu *c);

static void cpu_on_record(void *ctx, const struct sampler_record *r)
{
	struct cpu *c = ctx;
	struct cpu_process *pr;

	if (c->error)
		return;
	if (c->o->on_record)
		c->o->on_record(c->o->watch_ctx, r);
	switch (r->type) {
	case REC_SAMPLE:
		if (r->event == SAMPLER_SWITCH)
			cpu_on_switch_sample(c, r);
		else
			cpu_on_sample(c, r);
		break;
	case REC_SWITCH:
		/* Past the budget of the rate bound, stop sampling now: unwinding
		 * what comes in the meantime would delay the next look. */
		if (r->out && ++c->outs / c->stats.switch_period > c->o->max_rate / 4)
			cpu_switch_rate(c);
		if (offcpu_switch(c->off, r->pid, r->tid, r->time, r->out, r->preempt,
				  cpu_on_wait, c) < 0)
			c->error = 1;
		break;
	case REC_MMAP: {
		/* A process seen for the first time has its maps read now. */
		size_t known = c->nprocs;
		if (!cpu_names_file(r->path))
			break;
		pr = cpu_process_get(c, r->pid);
		if (!pr)
			c->error = 1;
		else if (c->nprocs == known)
			pr->stale = true;
		break;
	}
	case REC_FORK:
	case REC_EXIT:
		cpu_on_task(c, r);
		break;
	case REC_LOST:
		/* Mappings may have been among what was lost. */
		c->stats.lost += r->lost;
		if (c->off && r->event == SAMPLER_SWITCH)
			c->outs += r->lost / 2;
		for (size_t i = 0; i < c->nprocs; i++)
			c->procs[i].stale = true;
		break;
	case REC_COMM:
		if (r->exec) {
			pr = cpu_process_get(c, r->pid);
			if (!pr)
				c->error = 1;
			else if (pr->loc && locator_forget(pr->loc) < 0 && cp_errno() == ENOMEM)
				c->error = 1; /* as in cpu_refresh() */
		}
		if (!cpu_thread_get(c, r->pid, r->tid, r->comm))
			c->error = 1;
		break;
	}
}

/* A fresh profile with the mode's sample types and labels. */
static int cpu_setup(struct cpu *c)
{
	static const char *const types[][4] = {
		[CPU_MODE_CPU] = { "samples", "count", "cpu", "nanoseconds" },
		[CPU_MODE_OFF] = { "contentions", "count", "delay", "nanoseconds" },
		[CPU_MODE_WALL] = { "samples", "count", "wall", "nanoseconds" },
	};
	const char *const *ty = types[c->o->mode];

	c->p = profile_new();
	if (!c->p)
		return -1;
	if (profile_add_sample_type(c->p, ty[0], ty[1]) < 0 ||
	    profile_add_sample_type(c->p, ty[2], ty[3]) < 0)
		return -1;
	/* Go's block profile: a period of one contention. */
	c->p->period_type.type = profile_intern(c->p, ty[c->o->mode == CPU_MODE_OFF ? 0 : 2]);
	c->p->period_type.unit = profile_intern(c->p, ty[c->o->mode == CPU_MODE_OFF ? 1 : 3]);
	c->p->period = c->o->mode == CPU_MODE_OFF ? 1 : 1000000000LL / c->o->frequency;
	c->k_thread = profile_intern(c->p, "thread");
	c->k_tid = profile_intern(c->p, "tid");
	c->k_pid = profile_intern(c->p, "pid");
	/* A CPU profile keeps to the strings it uses. */
	if (c->o->mode != CPU_MODE_CPU) {
		c->k_state = profile_intern(c->p, "state");
		c->s_running = profile_intern(c->p, "running");
		c->s_blocked = profile_intern(c->p, "blocked");
		c->s_runnable = profile_intern(c->p, "runnable");
		c->s_unknown = profile_intern(c->p, "unknown");
	}
	c->values[0] = 1;
	c->values[1] = 1000000000LL / c->o->frequency;
	c->truncated = c->m_offcpu = c->m_before = c->m_nostack = 0;
	kallsyms_locator_free(c->kl);
	c->kl = NULL;
	return 0;
}

uint32_t cpu_default_stack_size(enum cpu_mode mode, unsigned frequency)
{
	/* About 6.5 MB/s of copies per busy thread: 64 KiB at 99 Hz, which
	 * reaches the root of deep C++ and database stacks, and perf's 8 KiB at
	 * 800 Hz and more. */
	uint64_t size = 6500000 / (frequency ? frequency : 1) / 8 * 8;

	size = size < 8192 ? 8192 : size > 65528 ? 65528 : size;
	/* Stacks at switches come as often as the switches: perf's 8 KiB
	 * doubled, whatever the cpu-clock's frequency. */
	if (mode == CPU_MODE_OFF || (mode == CPU_MODE_WALL && size > 16384))
		size = 16384;
	return (uint32_t)size;
}

/* The target's CPU times from here on, to tell how much of its time was in
 * the kernel where the kernel is not sampled. */
static void cpu_times_start(struct cpu *c)
{
	if (proc_cpu_times(c->t->pid, &c->user0_ns, &c->system0_ns) < 0)
		c->user0_ns = c->system0_ns = 0;
	c->stats.user_ns = c->stats.system_ns = 0;
}

static void cpu_cleanup(struct cpu *c)
{
	for (size_t i = 0; i < c->nprocs; i++)
		cpu_process_release(&c->procs[i]);
	free(c->procs);
	free(c->forked);
	hmap_release(&c->proc_index);
	hmap_release(&c->thread_index);
	free(c->threads);
	kallsyms_locator_free(c->kl);
	kallsyms_free(c->ks);
	offcpu_free(c->off);
}

/* Ring pages per CPU to hold half a second of samples from one thread on
 * it (with dwarf unwinding each carries its stack), so a drain may be that
 * late on a loaded machine; 1 MiB at least, 4 MiB at most, 64 MiB in all. */
static size_t cpu_ring_pages(const struct cpu_opts *o)
{
	long page = sysconf(_SC_PAGESIZE), ncpus = sysconf(_SC_NPROCESSORS_CONF);
	size_t record = o->fp ? 1024 : o->stack_size + 512;
	size_t want = (size_t)o->frequency * record / 2 / page, pages = 256;
	size_t most = (64 << 20) / page / (ncpus > 0 ? ncpus : 1);

	while (pages < want && pages < 1024 && pages * 2 <= most)
		pages *= 2;
	return pages;
}

/* Ring pages per CPU for the switches: a quarter second at the rate bound
 * spread over the CPUs, each sample with its stack; 4 to 16 MiB, as a burst
 * comes before the bound is applied. Without a bound the most: every switch
 * is sampled. */
static size_t cpu_switch_pages(const struct cpu_opts *o)
{
	long page = sysconf(_SC_PAGESIZE), ncpus = sysconf(_SC_NPROCESSORS_CONF);
	size_t record = o->no_switch_stacks ? 64 : (o->fp ? 1024 : o->stack_size + 512) + 64;
	size_t rate = o->max_rate ? o->max_rate : 1000000;
	size_t want = rate * record / 4 / (ncpus > 0 ? ncpus : 1) / page, pages = 256;
	size_t most = (64 << 20) / page / (ncpus > 0 ? ncpus : 1);

	want = want < 1024 ? 1024 : want;
	while (pages < want && pages < 4096 && pages * 2 <= most)
		pages *= 2;
	return pages;
}

/* Whether T exits within MS milliseconds. A process whose maps read empty
 * has begun to exit, but can be reaped only once the kernel is done with it. */
static bool cpu_await_exit(struct target *t, int ms)
{
	int64_t deadline = clock_ns(CLOCK_MONOTONIC) + (int64_t)ms * 1000000;

	while (!target_check_exit(t)) {
		if (clock_ns(CLOCK_MONOTONIC) >= deadline)
			return false;
		if (t->pidfd < 0 || poll(&(struct pollfd){ t->pidfd, POLLIN, 0 }, 1, 10) < 0)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return true;
}

struct cpu *cpu_start(struct target *t, const struct cpu_opts *o)
{
	struct sampler_opts so = {
		.frequency = o->frequency,
		.fp = o->fp,
		.stack_size = o->stack_size,
		.kernel = !o->user_only,
		.buffer_pages = cpu_ring_pages(o),
		.steady = o->steady,
		.switches = o->mode != CPU_MODE_CPU,
		.switch_pages = cpu_switch_pages(o),
		.no_clock = o->mode == CPU_MODE_OFF,
		.no_switch_stacks = o->no_switch_stacks,
	};
	struct cpu *c = calloc(1, sizeof(*c));
	struct cpu_process *pr;

	if (!c) {
		cp_error("out of memory");
		return NULL;
	}
	c->t = t;
	c->o = o;
	hmap_init(&c->thread_index);
	hmap_init(&c->proc_index);
	if (cpu_setup(c) < 0)
		goto fail;
	c->s = sampler_new(&so);
	if (!c->s)
		goto fail;
	if (so.switches && !(c->off = offcpu_new(clock_ns(CLOCK_MONOTONIC), !t->launched)))
		goto fail;
	if (t->launched) {
		if (sampler_open_child(c->s, t->pid) < 0) {
			target_permission_error(t, cp_errno(), "profile");
			goto fail;
		}
	} else if (sampler_open_pid(c->s, t->pid) < 0) {
		target_permission_error(t, cp_errno(), "profile");
		goto fail;
	}
	if (!t->launched && sampler_enable(c->s) < 0)
		goto fail;
	c->stats.kernel = !so.no_clock && sampler_kernel(c->s);
	c->stats.switch_stacks = so.switches && sampler_switch_stacks(c->s);
	c->stats.switch_period = 1;
	cpu_times_start(c);
	c->p->time_nanos = clock_ns(CLOCK_REALTIME);
	c->start = c->rate_at = clock_ns(CLOCK_MONOTONIC);
	c->stats.start_ns = c->start;
	if (c->off)
		offcpu_restart(c->off, c->start);
	if (t->launched && target_go(t) < 0)
		goto fail;
	if (o->started)
		o->started(o->ctx);
	/* The maps are read after the exec, so a launched command's are its own. */
	pr = cpu_process_get(c, t->pid);
	if (!pr)
		goto fail;
	if (!pr->as) {
		/* Gone already: what it ran cannot be symbolized, so it is left out. */
		if (!cpu_await_exit(t, 1000))
			goto fail;
		c->stats.target_exited = true;
	}
	return c;
fail:
	cpu_free(c);
	return NULL;
}

int cpu_wait(struct cpu *c, int timeout_ms)
{
	if (c->stats.target_exited)
		return 1;
	return sampler_wait(c->s, c->t->pidfd, timeout_ms) || target_check_exit(c->t);
}

/* Off the CPU: keep the sampled switch-outs under the rate bound. Every
 * quarter second (at once when over the bound) K is set from the
 * switch-outs counted, all of them: their records come whatever is
 * sampled; the kernel then samples one switch-out in about K of each
 * thread, the events' periods drawn at random around K. While K > 1 they
 * are drawn again every quarter second or so (a new generation of events,
 * each beginning its count afresh), so that no pattern of waits (two that
 * alternate) stays in step with one period. */
static void cpu_switch_rate(struct cpu *c)
{
	int64_t now = clock_ns(CLOCK_MONOTONIC), dt = now - c->rate_at;
	uint64_t cur = c->stats.switch_period, k = cur;
	pid_t pids[256];
	size_t n;

	if (!c->stats.switch_stacks || !c->o->max_rate || c->finishing)
		return;
	/* A quarter second's budget spent early (a burst) is looked at at once. */
	if (dt >= 250000000 || (c->outs / cur > c->o->max_rate / 4 && dt > 0)) {
		double x = (double)c->outs * 1e9 / dt / c->o->max_rate;
		k = x <= 1 ? 1 : (uint64_t)x + 1;
		c->outs = 0;
		c->rate_at = now;
		/* Up at once; down only by half or more, so that it does not flap. */
		if (k < cur && k * 2 > cur)
			k = cur;
	}
	if (k == cur && (k == 1 || now < c->redraw_at))
		return;
	/* The target, its children the fork records told (reparented ones
	 * too); the walk of /proc finds the other descendants. */
	pids[0] = c->t->pid;
	for (n = 1; n - 1 < c->nforked && n < sizeof(pids) / sizeof(pids[0]); n++)
		pids[n] = c->forked[n - 1];
	if (sampler_switch_period(c->s, pids, n, k) < 0) {
		c->error = 1;
		return;
	}
	/* Each generation costs an open per thread and CPU: at most 1% of the time. */
	c->redraw_at = clock_ns(CLOCK_MONOTONIC);
	c->redraw_at += 100 * (c->redraw_at - now) > 250000000 ? 100 * (c->redraw_at - now) :
								   250000000;
	c->stats.switch_period = k;
	if (k > c->stats.switch_period_max)
		c->stats.switch_period_max = k;
}

/* The group (thread, state) of sample S into *T (an index of offcpu_threads)
 * and *ST (0 blocked, 1 runnable); false for another sample. */
static bool cpu_wait_group(const struct cpu *c, const struct pf_sample *s, int64_t *t, int *st)
{
	pid_t tid = 0;

	*st = -1;
	for (size_t j = 0; j < s->nlabels; j++) {
		if (s->labels[j].key == c->k_tid)
			tid = s->labels[j].num;
		else if (s->labels[j].key == c->k_state)
			*st = s->labels[j].str == c->s_blocked ? 0 :
			      s->labels[j].str == c->s_runnable ? 1 : -1;
	}
	*t = *st >= 0 ? offcpu_find(c->off, tid) : -1;
	return *t >= 0;
}

/* Thread T's exact count (K 0) or time (K 1) of waits in state ST. */
static double cpu_exact(const struct offcpu_thread *t, int st, int k)
{
	return k ? st ? t->runnable_ns : t->blocked_ns : st ? t->runnable_waits : t->blocked_waits;
}

/* One thread's sampled waits in one state: their weighted count and time,
 * the factors that scale them, and the time they come to then. */
struct cpu_group {
	double count, time, fcount, ftime, got;
};

/* Add the samples of each group into G (by thread, then state); with
 * SCALE, scale each first by its group's factors. */
static void cpu_group_sums(struct cpu *c, struct cpu_group (*g)[2], bool scale)
{
	for (size_t i = 0; i < c->p->nsamples; i++) {
		int64_t *v = c->p->samples[i].values, t;
		int st;
		if (!cpu_wait_group(c, &c->p->samples[i], &t, &st))
			continue;
		if (scale) {
			v[0] = llround(v[0] * g[t][st].fcount);
			v[1] = llround(v[1] * g[t][st].ftime);
			g[t][st].got += v[1];
		} else {
			g[t][st].count += v[0];
			g[t][st].time += v[1];
		}
	}
}

/* Where not every wait was sampled, the sampled ones estimate each
 * thread's waits by stack, each weighted by the switch-outs its sample
 * stood for; the thread's totals, blocked and runnable, are known exactly
 * (every switch is recorded). The weighted count of its waits is scaled
 * to the exact count: switch-outs no event could sample (a new generation
 * of events starts its count afresh) are alike whatever their stack, and
 * so count for all the sampled ones. The time left of the exact total then
 * goes under [off-CPU, not sampled] (a rare long wait none of whose
 * switch-outs was sampled shows there, not under the stacks that were);
 * time over the total is scaled down to it. The profile's sums are then
 * the exact totals. Returns 0 or -1. */
static int cpu_rescale(struct cpu *c)
{
	size_t n;
	const struct offcpu_thread *th = offcpu_threads(c->off, &n);
	struct cpu_group (*g)[2] = calloc(n + 1, sizeof(*g));
	uint64_t marker = 0;

	if (!g)
		return cp_error("out of memory");
	cpu_group_sums(c, g, false);
	for (size_t t = 0; t < n; t++) {
		for (int st = 0; st < 2; st++) {
			struct cpu_group *x = &g[t][st];
			double exact = cpu_exact(&th[t], st, 1);
			x->fcount = x->count > 0 ? cpu_exact(&th[t], st, 0) / x->count : 0;
			x->ftime = x->time * x->fcount > exact ? exact / x->time : x->fcount;
		}
	}
	cpu_group_sums(c, g, true);
	for (size_t t = 0; t < n && !c->error; t++) {
		for (int st = 0; st < 2; st++) {
			double left = cpu_exact(&th[t], st, 1) - g[t][st].got;
			/* Its waits are counted where they were sampled, or here when none was. */
			int64_t v[2] = { g[t][st].count > 0 ? 0 : (int64_t)cpu_exact(&th[t], st, 0),
					 llround(left) };
			if (left < 1)
				continue;
			if (cpu_marker(c, &marker, "[off-CPU, not sampled]") < 0) {
				c->error = 1;
				break;
			}
			c->locs[0] = marker;
			cpu_add(c, th[t].pid, th[t].tid, 1, v, st ? c->s_runnable : c->s_blocked);
		}
	}
	free(g);
	return c->error ? -1 : 0;
}

/* End the waits open at END (CLOCK_MONOTONIC) into the profile, through FN,
 * the target's threads never seen with them (they waited all along). */
static void cpu_cut(struct cpu *c, uint64_t end, offcpu_fn fn)
{
	pid_t *tids = NULL;
	char *states = NULL;
	ssize_t n;

	if (!c->off)
		return;
	n = c->stats.target_exited ? 0 : proc_tasks(c->t->pid, &tids);
	if (n > 0 && !(states = malloc(n))) {
		c->error = 1;
		n = 0;
	}
	for (ssize_t i = 0; i < n; i++)
		states[i] = proc_thread_state(c->t->pid, tids[i]);
	offcpu_cut(c->off, end, c->t->pid, tids, states, n > 0 ? (size_t)n : 0, fn, c);
	free(states);
	free(tids);
}

static int cpu_collect_until(struct cpu *c, uint64_t until)
{
	int64_t user, system;

	/* The last reading while the target can still be read. */
	if (proc_cpu_times(c->t->pid, &user, &system) == 0) {
		c->stats.user_ns = user - c->user0_ns;
		c->stats.system_ns = system - c->system0_ns;
	}
	c->drains++;
	if (sampler_dither(c->s) < 0)
		return -1;
	sampler_drain(c->s, until, cpu_on_record, c);
	cpu_switch_rate(c);
	if (c->off)
		c->stats.waits_lost = offcpu_missed(c->off) - c->missed0;
	c->stats.elapsed_ns = clock_ns(CLOCK_MONOTONIC) - c->start;
	c->stats.threads = c->nthreads;
	c->stats.locations = c->p->nlocations;
	return c->error ? -1 : 0;
}

int cpu_collect(struct cpu *c)
{
	return cpu_collect_until(c, clock_ns(CLOCK_MONOTONIC));
}

struct profile *cpu_profile_now(const struct cpu *c)
{
	return c->p;
}

const struct cpu_stats *cpu_stats(const struct cpu *c)
{
	return &c->stats;
}

/* Whether process PID has exited (a zombie or gone). */
static bool cpu_exited(pid_t pid)
{
	enum proc_run st = proc_run_state(pid);

	return st == PROC_GONE || st == PROC_ZOMBIE;
}

/* Forget the target's children that have exited, so that a long session of
 * a forking target keeps only the live ones. Returns 0, or -1 (out of
 * memory) with the session unchanged. */
static int cpu_prune(struct cpu *c)
{
	bool *gone = calloc(c->nprocs, sizeof(*gone));
	struct hmap index;
	size_t i, kept = 0;

	if (!gone)
		return cp_error("out of memory");
	hmap_init(&index);
	for (i = 0; i < c->nprocs; i++) {
		gone[i] = i && cpu_exited(c->procs[i].pid);
		if (!gone[i] && hmap_insert(&index, hash_bytes(HASH_SEED, &c->procs[i].pid,
							      sizeof(pid_t)), (uint32_t)kept++) < 0) {
			hmap_release(&index);
			free(gone);
			return -1;
		}
	}
	for (i = 0, kept = 0; i < c->nprocs; i++) {
		if (gone[i])
			cpu_process_release(&c->procs[i]);
		else
			c->procs[kept++] = c->procs[i];
	}
	/* Exits may have been lost with the ring. */
	for (i = 0; i < c->nforked;) {
		if (cpu_exited(c->forked[i]))
			c->forked[i] = c->forked[--c->nforked];
		else
			i++;
	}
	c->nprocs = kept;
	hmap_release(&c->proc_index);
	c->proc_index = index;
	free(gone);
	return 0;
}

const struct offcpu_thread *cpu_offcpu_threads(const struct cpu *c, size_t *n)
{
	*n = 0;
	return c->off ? offcpu_threads(c->off, n) : NULL;
}

size_t cpu_pids(const struct cpu *c, pid_t *pids, size_t max)
{
	for (size_t i = 0; i < c->nprocs + c->nforked && i < max; i++)
		pids[i] = i < c->nprocs ? c->procs[i].pid : c->forked[i - c->nprocs];
	return c->nprocs + c->nforked;
}

/* Start a fresh profile at START (CLOCK_MONOTONIC), handing the old one to
 * *OLD. Returns 0 or -1 (the session unchanged). */
static int cpu_renew(struct cpu *c, int64_t start, struct profile **old_out)
{
	struct profile *old = c->p;
	struct locator **locs;
	size_t i;

	if ((c->nprocs > 1 || c->nforked) && cpu_prune(c) < 0)
		return -1;
	locs = calloc(c->nprocs + 1, sizeof(*locs));
	if (!locs)
		return cp_error("out of memory");
	c->p = NULL;
	if (cpu_setup(c) < 0)
		goto fail;
	/* Locations live in the profile: each process needs a new locator. */
	for (i = 0; i < c->nprocs; i++)
		if (c->procs[i].as && !(locs[i] = locator_new(c->p, c->procs[i].as, c->procs[i].sym,
							     c->procs[i].uw, false)))
			goto fail;
	for (i = 0; i < c->nprocs; i++) {
		locator_free(c->procs[i].loc);
		c->procs[i].loc = locs[i];
	}
	free(locs);
	*old_out = old;
	c->nthreads = 0;
	hmap_release(&c->thread_index);
	hmap_init(&c->thread_index);
	c->p->time_nanos = clock_ns(CLOCK_REALTIME) - (clock_ns(CLOCK_MONOTONIC) - start);
	c->start = start;
	c->stats.samples = c->stats.lost = c->stats.unwound_frames = c->stats.dropped = 0;
	c->stats.truncated = c->stats.kernel_samples = 0;
	c->stats.waits = c->stats.waits_unsampled = c->stats.waits_lost = 0;
	c->stats.waits_sampled = c->stats.switch_samples = 0;
	c->missed0 = c->off ? offcpu_missed(c->off) : 0;
	c->stats.blocked_ns = c->stats.runnable_ns = c->stats.before_ns = 0;
	if (c->off)
		offcpu_restart(c->off, start);
	cpu_times_start(c);
	return 0;
fail:
	for (i = 0; i < c->nprocs; i++)
		locator_free(locs[i]);
	free(locs);
	profile_free(c->p);
	c->p = old;
	return -1;
}

static void cpu_drop_wait(void *ctx, const struct offcpu_wait *w)
{
	(void)ctx;
	(void)w;
}

int cpu_reset(struct cpu *c)
{
	struct profile *old;

	cpu_cut(c, clock_ns(CLOCK_MONOTONIC), cpu_drop_wait);
	if (cpu_renew(c, clock_ns(CLOCK_MONOTONIC), &old) < 0)
		return -1;
	profile_free(old);
	return 0;
}

struct profile *cpu_rotate(struct cpu *c, struct cpu_stats *st)
{
	/* One instant ends this window and begins the next: no time between them. */
	int64_t now = clock_ns(CLOCK_MONOTONIC);
	struct profile *p;

	if (cpu_collect_until(c, (uint64_t)now) < 0)
		return NULL;
	cpu_cut(c, now, cpu_on_wait);
	if ((c->stats.waits_unsampled || c->stats.switch_period_max > 1) && cpu_rescale(c) < 0)
		return NULL;
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].loc && locator_finish(c->procs[i].loc) < 0)
			return NULL;
	c->p->duration_nanos = now - c->start;
	*st = c->stats;
	if (cpu_renew(c, now, &p) < 0)
		return NULL;
	return p;
}

struct profile *cpu_finish(struct cpu *c)
{
	struct profile *p;
	int64_t end = clock_ns(CLOCK_MONOTONIC);

	c->finishing = true;
	sampler_disable(c->s);
	if (cpu_collect_until(c, UINT64_MAX) < 0)
		return NULL;
	cpu_cut(c, end, cpu_on_wait);
	if (c->error ||
	    ((c->stats.waits_unsampled || c->stats.switch_period_max > 1) && cpu_rescale(c) < 0))
		return NULL;
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].loc && locator_finish(c->procs[i].loc) < 0)
			return NULL;
	c->p->duration_nanos = c->stats.elapsed_ns;
	p = c->p;
	c->p = NULL;
	return p;
}

void cpu_free(struct cpu *c)
{
	if (!c)
		return;
	sampler_free(c->s);
	cpu_cleanup(c);
	profile_free(c->p);
	free(c);
}

struct profile *cpu_profile(struct target *t, const struct cpu_opts *o, struct cpu_stats *st)
{
	struct cpu *c = cpu_start(t, o);
	struct profile *p = NULL;
	int64_t deadline;

	memset(st, 0, sizeof(*st));
	if (!c)
		return NULL;
	deadline = o->duration_ns ? c->start + o->duration_ns : INT64_MAX;
	while (!c->stats.target_exited) {
		int64_t left = deadline - clock_ns(CLOCK_MONOTONIC);
		int exited;
		if (o->stop && *o->stop) {
			c->stats.stopped = true;
			break;
		}
		if (left <= 0)
			break;
		/* Every 5 ms: sampler_dither needs to see events soon after they sampled. */
		exited = cpu_wait(c, left > 5000000 ? 5 : left / 1000000 + 1);
		if (cpu_collect(c) < 0)
			goto out;
		c->stats.target_exited = exited;
	}
	p = cpu_finish(c);
out:
	*st = c->stats;
	cpu_free(c);
	return p;
}
