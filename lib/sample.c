/* perf_event_open sampling: per-(thread, CPU) cpu-clock and context-switch
 * events with inherit, redirected into one ring buffer per CPU and event, as
 * `perf record -p` does, and read back merged in time order; see sample.h. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errmsg.h"
#include "grow.h"
#include "hmap.h"
#include "proc.h"
#include "sample.h"
#include "unwind.h"

struct ring {
	int fd; /* -1: CPU offline or not opened yet */
	enum sampler_event event;
	struct perf_event_mmap_page *meta;
	char *data;
	size_t size, map_size;
	uint64_t head, tail; /* what this drain reads */
	uint64_t next_time;  /* of the record at tail */
};

/* An event's period as sampler_dither last set it, and the event's count
 * (nanoseconds on CPU) then: the kernel samples at every period after it. */
struct dither {
	uint64_t period, since;
	double waste;  /* the share of CPU time resets threw away, on average */
	double u;      /* the rate's last draw */
	bool second;   /* the current period is the second of its pair */
};

struct sampler {
	struct sampler_opts o;
	struct dither *dith; /* per fd, as many as dith_cap */
	size_t dith_cap, dith_next;
	uint64_t rng;
	int ncpus, nrings;
	struct ring *rings; /* the cpu-clock rings, then the switch rings, by CPU */
	int *fds;           /* cpu-clock events */
	size_t nfds, fds_cap;
	int *sw_fds;        /* context-switch records */
	size_t nsw, sw_cap;
	int *ss_fds;        /* context-switch samples */
	size_t nss, ss_cap;
	bool switch_stacks;
	uint64_t switch_period;
	/* The context-switch sampling events by id (which the samples of the
	 * events they pass on to new threads carry too), each with its period:
	 * the events open now, and those closed last time, whose samples may
	 * still be in the rings. */
	struct sampler_periods {
		struct { uint64_t id, period; } *v;
		size_t n, cap;
		struct hmap index;
	} periods[2];
	bool reopening;
	pid_t *tids;
	size_t ntids, tids_cap;
	struct hmap tid_index;
	char *copy; /* a record that wraps the buffer's end, made whole */
	size_t copy_cap;
	uint64_t *chain;
	size_t chain_cap;
	struct pollfd *pfds;
	struct perf_event_header *heads; /* per CPU: the record at its ring's tail */
	bool *live;                      /* per CPU: a record is there */
};

/* The pages of ring an unprivileged user may lock, for the rings of all
 * online CPUs: perf_event_mlock_kb per online CPU, then RLIMIT_MEMLOCK, as
 * perf_mmap counts them; SIZE_MAX with CAP_IPC_LOCK, perf_event_paranoid -1
 * or no limit. */
static size_t sampler_lock_budget(long cpus)
{
	long page = sysconf(_SC_PAGESIZE), kb = proc_sysctl("kernel/perf_event_mlock_kb", -1);
	struct rlimit rl;

	/* Unreadable sysctls (-1), as their negative values, set no limit. */
	if (kb < 0 || proc_sysctl("kernel/perf_event_paranoid", -1) < 0 ||
	    proc_has_cap(CAP_IPC_LOCK) ||
	    getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return SIZE_MAX;
	return (size_t)kb * 1024 / (size_t)page * (size_t)cpus + (size_t)rl.rlim_cur / (size_t)page;
}

/* Ring sizes cut until every ring fits the locked-memory budget: mapped as
 * they come, the first rings would take it all and the last get none. Rings
 * are mapped on the online CPUs only. */
static void sampler_fit_rings(struct sampler *s)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	size_t cpus = online > 0 && online < s->ncpus ? (size_t)online : (size_t)s->ncpus;
	size_t budget = sampler_lock_budget((long)cpus);
	size_t nclock = s->o.no_clock ? 0 : cpus, nswitch = s->o.switches ? cpus : 0;
	size_t *clock = &s->o.buffer_pages, *sw = &s->o.switch_pages;

	while (nclock * (*clock + 1) + nswitch * (*sw + 1) > budget) {
		if (nswitch && *sw > 8 && (*sw >= *clock || !nclock || *clock <= 8))
			*sw /= 2;
		else if (nclock && *clock > 8)
			*clock /= 2;
		else
			break;
	}
}

struct sampler *sampler_new(const struct sampler_opts *o)
{
	struct sampler *s = calloc(1, sizeof(*s));
	long n = sysconf(_SC_NPROCESSORS_CONF);
	struct rlimit rl;

	if (!s) {
		cp_error("out of memory");
		return NULL;
	}
	s->o = *o;
	s->rng = ((uint64_t)clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)getpid() << 32) | 1;
	s->ncpus = n > 0 ? n : 1;
	s->nrings = 2 * s->ncpus;
	s->switch_stacks = o->switches && !o->no_switch_stacks;
	s->switch_period = 1;
	sampler_fit_rings(s);
	s->rings = calloc(s->nrings, sizeof(*s->rings));
	s->pfds = calloc(s->nrings + 1, sizeof(*s->pfds));
	s->heads = calloc(s->nrings, sizeof(*s->heads));
	s->live = calloc(s->nrings, sizeof(*s->live));
	if (!s->rings || !s->pfds || !s->heads || !s->live) {
		cp_error("out of memory");
		sampler_free(s);
		return NULL;
	}
	for (int c = 0; c < s->nrings; c++) {
		s->rings[c].fd = -1;
		s->rings[c].event = c < s->ncpus ? SAMPLER_CLOCK : SAMPLER_SWITCH;
	}
	hmap_init(&s->tid_index);
	hmap_init(&s->periods[0].index);
	hmap_init(&s->periods[1].index);
	/* Each thread costs a descriptor per CPU and event. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return s;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	for (int c = 0; s->rings && c < s->nrings; c++)
		if (s->rings[c].meta)
			munmap(s->rings[c].meta, s->rings[c].map_size);
	for (size_t i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	for (size_t i = 0; i < s->nsw; i++)
		close(s->sw_fds[i]);
	for (size_t i = 0; i < s->nss; i++)
		close(s->ss_fds[i]);
	hmap_release(&s->tid_index);
	for (int i = 0; i < 2; i++) {
		hmap_release(&s->periods[i].index);
		free(s->periods[i].v);
	}
	free(s->fds);
	free(s->sw_fds);
	free(s->ss_fds);
	free(s->dith);
	free(s->tids);
	free(s->rings);
	free(s->pfds);
	free(s->heads);
	free(s->live);
	free(s->copy);
	free(s->chain);
	free(s);
}

static uint64_t sampler_dither_random(struct sampler *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

/* A period drawn uniformly around the mean K, from (K + 1) / 2 to the
 * same distance above it, then the next prime: a sample every P-th
 * switch-out of a thread is in step with no pattern of its waits shorter
 * than P (two that alternate, three in turn), as an even P would be. */
static uint64_t sampler_switch_draw(struct sampler *s)
{
	uint64_t k = s->switch_period, lo = (k + 1) / 2, p;
	bool prime = false;

	if (k < 2)
		return 1;
	p = lo + sampler_dither_random(s) % (2 * (k - lo) + 1);
	for (p = p < 3 && k > 2 ? 3 : p; !prime; p++) {
		prime = p >= 2;
		for (uint64_t d = 2; d * d <= p && prime; d++)
			prime = p % d != 0;
	}
	return p - 1;
}

/* The cpu-clock event's attributes. */
static void sampler_clock_attr(const struct sampler *s, struct perf_event_attr *a)
{
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_CPU_CLOCK;
	/* A fixed period in nanoseconds of CPU, so every sample weighs the same. */
	a->sample_period = 1000000000ULL / s->o.frequency;
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
	if (s->o.fp) {
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
	} else {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = UNWIND_REGS_MASK;
		a->sample_stack_user = s->o.stack_size;
		/* The kernel walks its own stack; the user one is unwound here. */
		if (s->o.kernel) {
			a->sample_type |= PERF_SAMPLE_CALLCHAIN;
			a->exclude_callchain_user = 1;
		}
	}
	/* perf_event_paranoid 2 allows user space only, unless root or
	 * CAP_PERFMON: without them, time in the kernel goes unsampled. */
	a->exclude_kernel = !s->o.kernel;
	a->exclude_callchain_kernel = !s->o.kernel;
}

/* A context-switch event's: the records of each switch in and out (a
 * dummy event, allowed to all), or a sample at each switch-out with the
 * user registers and stack (the switch happens in the kernel, so sampling
 * it needs the kernel allowed). */
static void sampler_switch_attr(struct sampler *s, struct perf_event_attr *a,
				bool samples)
{
	a->type = PERF_TYPE_SOFTWARE;
	a->sample_period = 1;
	/* Every record in these rings (lost, throttled, switches) then ends
	 * with the same sample_id: pid, tid, time, id. */
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID;
	if (!samples) {
		a->config = PERF_COUNT_SW_DUMMY;
		a->exclude_kernel = 1;
		a->context_switch = 1;
		return;
	}
	a->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
	/* The id tells the event, so its period. Not PERF_SAMPLE_PERIOD: with
	 * it a software event samples at every occurrence whatever its period. */
	a->sample_period = sampler_switch_draw(s);
	if (s->o.fp) {
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
		a->exclude_callchain_kernel = 1;
	} else {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = UNWIND_REGS_MASK;
		a->sample_stack_user = s->o.stack_size;
	}
}

/* Map the ring of R for FD, halving it while the locked-memory limit
 * (perf_event_mlock_kb) says no; ENOBUFS when even the least is refused. */
static int sampler_map_ring(struct ring *r, int fd, size_t pages)
{
	long page = sysconf(_SC_PAGESIZE);

	for (; pages >= 8; pages /= 2) {
		size_t len = (pages + 1) * page;
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			if (errno == EPERM || errno == ENOMEM)
				continue;
			return -1;
		}
		r->fd = fd;
		r->meta = m;
		r->data = (char *)m + page;
		r->size = pages * page;
		r->map_size = len;
		return 0;
	}
	errno = ENOBUFS;
	return -1;
}

static int sampler_period_eq(void *ctx, uint32_t idx)
{
	void **k = ctx;

	return ((struct sampler_periods *)k[0])->v[idx].id == *(uint64_t *)k[1];
}

/* Note switch-sampling event FD of PERIOD. Returns 0, or -1 with errno. */
static int sampler_period_add(struct sampler *s, int fd, uint64_t period)
{
	struct sampler_periods *t = &s->periods[0];
	uint64_t id;

	if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
		return -1;
	if (CP_GROW(t->v, t->cap, t->n + 1) < 0 ||
	    hmap_insert(&t->index, hash_bytes(HASH_SEED, &id, sizeof(id)), t->n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	t->v[t->n].id = id;
	t->v[t->n++].period = period;
	return 0;
}

/* The switch-outs a sample of the switch-sampling event ID stands for: its
 * period (1 if unknown). */
static uint64_t sampler_period_of(struct sampler *s, uint64_t id)
{
	for (int i = 0; i < 2; i++) {
		void *k[2] = { &s->periods[i], &id };
		int64_t j = hmap_find(&s->periods[i].index, hash_bytes(HASH_SEED, &id, sizeof(id)),
				      sampler_period_eq, k);
		if (j >= 0)
			return s->periods[i].v[j].period;
	}
	return 1;
}

/* The events opened per thread and CPU. */
enum sampler_fd { FD_CLOCK, FD_SWITCH_RECORDS, FD_SWITCH_SAMPLES };

/* Keep FD, of KIND, among the sampler's. Returns 0, or -1 (closed). */
static int sampler_keep_fd(struct sampler *s, int fd, enum sampler_fd kind)
{
	int **arr = kind == FD_CLOCK ? &s->fds : kind == FD_SWITCH_RECORDS ? &s->sw_fds : &s->ss_fds;
	size_t *n = kind == FD_CLOCK ? &s->nfds : kind == FD_SWITCH_RECORDS ? &s->nsw : &s->nss;
	size_t *cap = kind == FD_CLOCK ? &s->fds_cap : kind == FD_SWITCH_RECORDS ? &s->sw_cap :
					 &s->ss_cap;

	if (cp_grow(arr, cap, *n + 1, sizeof(int)) < 0) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	(*arr)[(*n)++] = fd;
	return 0;
}

static int sampler_open_event(struct sampler *s, pid_t pid, int cpu, bool child,
			      enum sampler_fd kind)
{
	struct perf_event_attr a;
	enum sampler_event ev = kind == FD_CLOCK ? SAMPLER_CLOCK : SAMPLER_SWITCH;
	struct ring *r = &s->rings[ev * s->ncpus + cpu];
	size_t pages = ev == SAMPLER_CLOCK ? s->o.buffer_pages : s->o.switch_pages;
	int fd;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	if (ev == SAMPLER_CLOCK)
		sampler_clock_attr(s, &a);
	else
		sampler_switch_attr(s, &a, kind == FD_SWITCH_SAMPLES);
	a.exclude_hv = 1;
	a.inherit = 1;
	a.disabled = 1;
	a.enable_on_exec = child;
	/* What happens to the target, told once: by the cpu-clock events if any. */
	if (kind == FD_CLOCK || (kind == FD_SWITCH_RECORDS && s->o.no_clock)) {
		a.comm = 1;
		a.comm_exec = 1;
		a.task = 1; /* forks and exits: which processes the inherited events follow */
		/* Executable mappings made later (the libraries of a launched
		 * command, dlopen) are announced, and every record is timed so
		 * the rings can be read in order: a mapping's record comes
		 * before the samples inside it. */
		a.mmap = 1;
	}
	a.sample_id_all = 1;
	/* Times on CLOCK_MONOTONIC, so a drain can stop at a moment it reads. */
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.watermark = 1;
	a.wakeup_watermark = pages * sysconf(_SC_PAGESIZE) / 4;
	fd = syscall(SYS_perf_event_open, &a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	/* The first event of each tells whether the kernel may be sampled
	 * (EACCES under perf_event_paranoid); all the others follow it. */
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		if (kind == FD_CLOCK && s->o.kernel && !s->nfds) {
			s->o.kernel = false;
			return sampler_open_event(s, pid, cpu, child, kind);
		}
		if (kind == FD_SWITCH_SAMPLES && !s->nss && !s->reopening) {
			s->switch_stacks = false;
			return 0;
		}
	}
	if (fd < 0 || sampler_keep_fd(s, fd, kind) < 0)
		return -1;
	if (kind == FD_SWITCH_SAMPLES && sampler_period_add(s, fd, a.sample_period) < 0)
		return -1;
	if (r->fd >= 0)
		return ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) < 0 ? -1 : 0;
	/* The first event on this CPU owns its buffer. */
	return sampler_map_ring(r, fd, pages);
}

/* Open FD per CPU for PID; CPUs that do not exist (ENODEV) are skipped. */
static int sampler_open_all_cpus(struct sampler *s, pid_t pid, bool child)
{
	int opened = 0;

	for (int c = 0; c < s->ncpus; c++) {
		if ((s->o.no_clock || sampler_open_event(s, pid, c, child, FD_CLOCK) == 0) &&
		    (!s->o.switches ||
		     (sampler_open_event(s, pid, c, child, FD_SWITCH_RECORDS) == 0 &&
		      (!s->switch_stacks ||
		       sampler_open_event(s, pid, c, child, FD_SWITCH_SAMPLES) == 0)))) {
			opened++;
			continue;
		}
		if (errno == ENODEV)
			continue;
		return -1;
	}
	if (!opened) {
		errno = ENODEV;
		return -1;
	}
	return 0;
}

static int sampler_tid_eq(void *ctx, uint32_t idx)
{
	void **c = ctx;

	return ((struct sampler *)c[0])->tids[idx] == *(pid_t *)c[1];
}

static bool sampler_tid_known(struct sampler *s, pid_t tid)
{
	void *ctx[2] = { s, &tid };
	uint64_t h = hash_bytes(HASH_SEED, &tid, sizeof(tid));

	return hmap_find(&s->tid_index, h, sampler_tid_eq, ctx) >= 0;
}

int sampler_open_pid(struct sampler *s, pid_t pid)
{
	for (int pass = 0; pass < 20; pass++) {
		pid_t *tids;
		ssize_t n = proc_tasks(pid, &tids);
		size_t fresh = 0;

		if (n < 0)
			return -1;
		for (ssize_t i = 0; i < n; i++) {
			if (sampler_tid_known(s, tids[i]))
				continue;
			if (sampler_open_all_cpus(s, tids[i], false) < 0) {
				if (errno == ESRCH)
					continue; /* the thread exited meanwhile */
				cp_error("cannot open perf events on thread %d: %s", tids[i],
					 strerror(errno));
				free(tids);
				return -1;
			}
			if (CP_GROW(s->tids, s->tids_cap, s->ntids + 1) < 0 ||
			    hmap_insert(&s->tid_index, hash_bytes(HASH_SEED, &tids[i], sizeof(pid_t)),
					s->ntids) < 0) {
				free(tids);
				return -1;
			}
			s->tids[s->ntids++] = tids[i];
			fresh++;
		}
		free(tids);
		if (!fresh && s->ntids)
			return 0;
	}
	if (!s->ntids)
		return cp_error_errno(ESRCH, "no such process %d", pid);
	return 0;
}

int sampler_open_child(struct sampler *s, pid_t pid)
{
	if (sampler_open_all_cpus(s, pid, true) < 0)
		return cp_error("cannot open perf events on process %d: %s", pid, strerror(errno));
	if (CP_GROW(s->tids, s->tids_cap, 1) < 0)
		return -1;
	s->tids[s->ntids++] = pid;
	return 0;
}

int sampler_enable(struct sampler *s)
{
	for (size_t i = 0; i < s->nfds + s->nsw + s->nss; i++) {
		int fd = i < s->nfds ? s->fds[i] : i < s->nfds + s->nsw ? s->sw_fds[i - s->nfds] :
			 s->ss_fds[i - s->nfds - s->nsw];
		if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0 && errno != ESRCH)
			return cp_error("cannot enable perf events: %s", strerror(errno));
	}
	return 0;
}

void sampler_disable(struct sampler *s)
{
	for (size_t i = 0; i < s->nfds; i++)
		ioctl(s->fds[i], PERF_EVENT_IOC_DISABLE, 0);
	for (size_t i = 0; i < s->nsw; i++)
		ioctl(s->sw_fds[i], PERF_EVENT_IOC_DISABLE, 0);
	for (size_t i = 0; i < s->nss; i++)
		ioctl(s->ss_fds[i], PERF_EVENT_IOC_DISABLE, 0);
}

int sampler_wait(struct sampler *s, int fd, int timeout_ms)
{
	int n = 0, rc;

	for (int c = 0; c < s->nrings; c++) {
		if (s->rings[c].fd < 0)
			continue;
		s->pfds[n].fd = s->rings[c].fd;
		s->pfds[n++].events = POLLIN;
	}
	if (fd >= 0) {
		s->pfds[n].fd = fd;
		s->pfds[n++].events = POLLIN;
	}
	rc = poll(s->pfds, n, timeout_ms);
	return rc > 0 && fd >= 0 && (s->pfds[n - 1].revents & (POLLIN | POLLHUP));
}

static void sampler_parse_sample(struct sampler *s, const uint64_t *p, const uint64_t *end,
				 struct sampler_record *r)
{
	bool sw = r->event == SAMPLER_SWITCH;

	r->type = REC_SAMPLE;
	if (end - p < 3)
		goto bad;
	r->ip = *p++;
	r->pid = (uint32_t)*p;
	r->tid = (uint32_t)(*p++ >> 32);
	r->time = *p++;
	r->period = 1;
	if (sw) {
		if (p >= end)
			goto bad;
		r->period = sampler_period_of(s, *p++);
	}
	if (s->o.fp || (s->o.kernel && !sw)) {
		uint64_t nr;
		if (p >= end)
			goto bad;
		nr = *p++;
		if (nr > (uint64_t)(end - p))
			goto bad;
		if (CP_GROW(s->chain, s->chain_cap, nr + 1) < 0)
			goto bad;
		r->chain = s->chain;
		r->nchain = 0;
		for (uint64_t i = 0; i < nr; i++, p++) {
			if (*p >= (uint64_t)PERF_CONTEXT_MAX)
				continue;
			s->chain[r->nchain++] = *p;
		}
		/* The chain starts with the sampled ip itself (a switch's:
		 * with the user's, where the kernel's is left out). */
		if (r->nchain && s->chain[0] == r->ip && !sw) {
			r->chain++;
			r->nchain--;
		}
	}
	if (!s->o.fp) {
		uint64_t size;
		if (p >= end)
			goto bad;
		if (*p++) {
			if (end - p < UREG_COUNT)
				goto bad;
			r->regs = p;
			p += UREG_COUNT;
		}
		if (p >= end)
			goto bad;
		size = *p++;
		if (size) {
			if (size / 8 + 1 > (uint64_t)(end - p))
				goto bad;
			r->stack = p;
			/* dyn_size: the bytes the kernel could actually copy */
			r->stack_size = p[size / 8] < size ? p[size / 8] : size;
		}
	}
	return;
bad:
	r->regs = NULL;
	r->stack = NULL;
	r->stack_size = 0;
	r->nchain = 0;
}

/* Copy LEN bytes at OFF of R's data, which may wrap its end, into DST. */
static void sampler_ring_copy(const struct ring *r, uint64_t off, void *dst, size_t len)
{
	size_t o = off % r->size, first = r->size - o < len ? r->size - o : len;

	memcpy(dst, r->data + o, first);
	memcpy((char *)dst + first, r->data, len - first);
}

/* Read the header and time of the record at R's tail; false when the ring is
 * read out, or holds a record that cannot be (the rest of it is skipped).
 * A sample carries its time after ip and pid/tid; every other record carries
 * it last, in the sample_id that sample_id_all appends. */
static bool sampler_ring_peek(struct ring *r, struct perf_event_header *h)
{
	uint64_t time = 0;

	if (r->tail >= r->head)
		return false;
	sampler_ring_copy(r, r->tail, h, sizeof(*h));
	if (h->size < sizeof(*h) || h->size > r->head - r->tail || h->size % 8) {
		r->tail = r->head;
		return false;
	}
	if (h->type == PERF_RECORD_SAMPLE && h->size >= sizeof(*h) + 24)
		sampler_ring_copy(r, r->tail + sizeof(*h) + 16, &time, sizeof(time));
	else if (h->type != PERF_RECORD_SAMPLE && h->size >= sizeof(*h) + 24)
		sampler_ring_copy(r, r->tail + h->size - (r->event == SAMPLER_SWITCH ? 16 : 8),
				  &time, sizeof(time));
	r->next_time = time;
	return true;
}

static void sampler_handle(struct sampler *s, const struct ring *r,
			   const struct perf_event_header *h, const char *rec, sampler_fn fn,
			   void *ctx)
{
	const char *body = rec + sizeof(*h);
	struct sampler_record rr;

	memset(&rr, 0, sizeof(rr));
	rr.event = r->event;
	rr.cpu = (int)((r - s->rings) % s->ncpus);
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		sampler_parse_sample(s, (const uint64_t *)body, (const uint64_t *)(rec + h->size),
				     &rr);
		fn(ctx, &rr);
		break;
	case PERF_RECORD_COMM:
		if (h->size >= sizeof(*h) + 9) {
			const uint32_t *ids = (const uint32_t *)body;
			rr.type = REC_COMM;
			rr.pid = ids[0];
			rr.tid = ids[1];
			rr.comm = (const char *)(ids + 2);
			rr.exec = h->misc & PERF_RECORD_MISC_COMM_EXEC;
			if (memchr(rr.comm, '\0', rec + h->size - rr.comm))
				fn(ctx, &rr);
		}
		break;
	case PERF_RECORD_MMAP:
		/* pid, tid; addr, len, pgoff; the file name */
		if (h->size > sizeof(*h) + 32) {
			const uint32_t *ids = (const uint32_t *)body;
			rr.type = REC_MMAP;
			rr.pid = ids[0];
			rr.tid = ids[1];
			rr.path = body + 32;
			if (memchr(rr.path, '\0', rec + h->size - rr.path))
				fn(ctx, &rr);
		}
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		/* pid, ppid, tid, ptid; time */
		if (h->size >= sizeof(*h) + 24) {
			const uint32_t *ids = (const uint32_t *)body;
			rr.type = h->type == PERF_RECORD_FORK ? REC_FORK : REC_EXIT;
			rr.pid = ids[0];
			rr.ppid = ids[1];
			rr.tid = ids[2];
			rr.ptid = ids[3];
			memcpy(&rr.time, body + 16, sizeof(rr.time));
			fn(ctx, &rr);
		}
		break;
	case PERF_RECORD_SWITCH:
		/* sample_id: pid, tid; time */
		if (h->size >= sizeof(*h) + 16) {
			const uint32_t *ids = (const uint32_t *)body;
			rr.type = REC_SWITCH;
			rr.pid = ids[0];
			rr.tid = ids[1];
			memcpy(&rr.time, body + 8, sizeof(rr.time));
			rr.out = h->misc & PERF_RECORD_MISC_SWITCH_OUT;
			rr.preempt = h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT;
			fn(ctx, &rr);
		}
		break;
	case PERF_RECORD_LOST:
		if (h->size >= sizeof(*h) + 16) {
			rr.type = REC_LOST;
			memcpy(&rr.lost, body + 8, sizeof(rr.lost));
			fn(ctx, &rr);
		}
		break;
	case PERF_RECORD_LOST_SAMPLES:
		if (h->size >= sizeof(*h) + 8) {
			rr.type = REC_LOST;
			memcpy(&rr.lost, body, sizeof(rr.lost));
			fn(ctx, &rr);
		}
		break;
	}
}

/* Whether R's next record is there and not after UNTIL. */
static bool sampler_ring_next(struct ring *r, struct perf_event_header *h, uint64_t until)
{
	return sampler_ring_peek(r, h) && r->next_time <= until;
}

size_t sampler_drain(struct sampler *s, uint64_t until, sampler_fn fn, void *ctx)
{
	struct perf_event_header *hs = s->heads;
	size_t n = 0;

	/* Records after UNTIL wait for the next drain: one written on another
	 * CPU while these rings are read could be older than them. */
	for (int c = 0; c < s->nrings; c++) {
		struct ring *r = &s->rings[c];
		s->live[c] = false;
		if (!r->meta)
			continue;
		r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
		r->tail = r->meta->data_tail;
		if (r->head - r->tail > r->size)
			r->tail = r->head;
		s->live[c] = sampler_ring_next(r, &hs[c], until);
	}
	for (;;) {
		struct ring *r;
		const char *rec;
		int best = -1;

		for (int c = 0; c < s->nrings; c++)
			if (s->live[c] && (best < 0 || s->rings[c].next_time < s->rings[best].next_time))
				best = c;
		if (best < 0)
			break;
		r = &s->rings[best];
		if (r->tail % r->size + hs[best].size <= r->size) {
			rec = r->data + r->tail % r->size;
		} else if (CP_GROW(s->copy, s->copy_cap, hs[best].size) == 0) {
			sampler_ring_copy(r, r->tail, s->copy, hs[best].size);
			rec = s->copy;
		} else {
			rec = NULL; /* out of memory: the record is skipped */
		}
		if (rec)
			sampler_handle(s, r, &hs[best], rec, fn, ctx);
		r->tail += hs[best].size;
		/* Handing a sample over (unwinding it) takes long: its room goes
		 * back to the kernel at once, not at the end of the drain. */
		__atomic_store_n(&r->meta->data_tail, r->tail, __ATOMIC_RELEASE);
		n++;
		s->live[best] = sampler_ring_next(r, &hs[best], until);
	}
	for (int c = 0; c < s->nrings; c++)
		if (s->rings[c].meta)
			__atomic_store_n(&s->rings[c].meta->data_tail, s->rings[c].tail,
					 __ATOMIC_RELEASE);
	return n;
}

bool sampler_kernel(const struct sampler *s)
{
	return s->o.kernel;
}

/* A new period for an event: the rate uniform in [0.5, 1.5] times the
 * frequency, drawn in pairs f(1 + u), f(1 - u) so that over every two spans
 * the rate is the frequency and a run's samples vary little more than with
 * the period fixed; the period shortened by the share of CPU time that the
 * resets throw away (PERF_EVENT_IOC_PERIOD restarts the period from now). */
static uint64_t sampler_dither_period(struct sampler *s, struct dither *d)
{
	double period;

	d->second = !d->second;
	if (d->second)
		d->u = (sampler_dither_random(s) >> 11) * 0x1p-53 - 0.5;
	period = 1e9 / (s->o.frequency * (d->second ? 1 + d->u : 1 - d->u)) * (1 - d->waste);
	return period < 20000 ? 20000 : (uint64_t)period;
}

int sampler_dither(struct sampler *s)
{
	uint64_t mean = 1000000000ULL / s->o.frequency;
	/* A read and maybe an ioctl per event: at most 64 a call (13,000 a
	 * second at 5 ms), so a target of many threads costs little. */
	size_t budget = s->nfds < 64 ? s->nfds : 64;

	if (s->o.steady || !s->nfds)
		return 0;
	if (s->dith_cap < s->nfds) {
		size_t old = s->dith_cap;
		if (CP_GROW(s->dith, s->dith_cap, s->nfds) < 0)
			return -1;
		memset(s->dith + old, 0, (s->dith_cap - old) * sizeof(*s->dith));
	}
	for (size_t k = 0; k < budget; k++) {
		size_t i = s->dith_next++ % s->nfds;
		struct dither *d = &s->dith[i];
		uint64_t count, period = d->period ? d->period : mean, gone, next;

		if (read(s->fds[i], &count, sizeof(count)) != sizeof(count) || count < d->since)
			continue;
		gone = count - d->since;
		/* Only an event that sampled within the last half period is reset,
		 * so little progress is thrown away, and only one that has run a
		 * mean period since its last reset: a thread that runs little still
		 * reaches its samples. Spans are short, a few samples, so that few
		 * samples in a row share a period that happens to match a loop's.
		 * The span is the same whatever the period: were it longer for a
		 * longer period, those would weigh more and the rate would fall
		 * below the mean. */
		if (gone < mean || (gone % period) * 2 >= period)
			continue;
		d->waste = 0.9 * d->waste + 0.1 * (double)(gone % period) / gone;
		next = sampler_dither_period(s, d);
		/* The count read again: the target ran on while this thread
		 * was between the two calls (or preempted there), and the new
		 * period starts at the ioctl. */
		if (ioctl(s->fds[i], PERF_EVENT_IOC_PERIOD, &next) < 0 ||
		    read(s->fds[i], &count, sizeof(count)) != sizeof(count))
			continue;
		d->period = next;
		d->since = count;
	}
	return 0;
}

bool sampler_switch_stacks(const struct sampler *s)
{
	return s->switch_stacks;
}

/* The processes PIDS (N) and all their descendants, each once, into a new
 * array *OUT. Returns how many, or -1 when out of memory. */
static ssize_t sampler_family(const pid_t *pids, size_t n, pid_t **out)
{
	pid_t *all = NULL;
	size_t nall = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < nall && !seen; j++)
			seen = all[j] == pids[i];
		if (!seen && CP_GROW(all, cap, nall + 1) < 0)
			goto fail;
		if (!seen)
			all[nall++] = pids[i];
	}
	/* all grows as the walk goes: each one's children are appended. */
	for (size_t i = 0; i < nall; i++) {
		size_t before = nall;
		if (proc_children(all[i], &all, &nall, &cap) < 0)
			goto fail;
		for (size_t k = before; k < nall;) {
			bool seen = false;
			for (size_t j = 0; j < k && !seen; j++)
				seen = all[j] == all[k];
			if (seen)
				all[k] = all[--nall];
			else
				k++;
		}
	}
	*out = all;
	return nall;
fail:
	free(all);
	return -1;
}

/* Open the switch-sampling events of the new generation on every thread
 * of PID not in DONE (*NDONE of them), enabled, until a scan finds no new
 * thread. Threads that cannot have them are passed over. Returns 0, or -1
 * when out of memory. */
static int sampler_switch_open_pid(struct sampler *s, pid_t pid, pid_t **done, size_t *ndone,
				   size_t *cap)
{
	for (int pass = 0; pass < 20; pass++) {
		pid_t *tids;
		ssize_t nt = proc_tasks(pid, &tids);
		size_t fresh = 0;

		for (ssize_t i = 0; i < nt; i++) {
			bool seen = false;
			for (size_t j = 0; j < *ndone && !seen; j++)
				seen = (*done)[j] == tids[i];
			if (seen)
				continue;
			if (cp_grow(done, cap, *ndone + 1, sizeof(pid_t)) < 0) {
				free(tids);
				return -1;
			}
			(*done)[(*ndone)++] = tids[i];
			fresh++;
			for (int c = 0; c < s->ncpus; c++) {
				size_t before = s->nss;
				if (s->rings[s->ncpus + c].fd < 0)
					continue;
				if (sampler_open_event(s, tids[i], c, false, FD_SWITCH_SAMPLES) < 0) {
					if (errno == ENOMEM) {
						free(tids);
						return -1;
					}
					if (errno != ENODEV)
						break; /* exited, or not allowed: passed over */
					continue;
				}
				if (s->nss > before)
					ioctl(s->ss_fds[s->nss - 1], PERF_EVENT_IOC_ENABLE, 0);
			}
		}
		if (nt > 0)
			free(tids);
		if (!fresh)
			break;
	}
	return 0;
}

int sampler_switch_period(struct sampler *s, const pid_t *pids, size_t n, uint64_t period)
{
	struct sampler_periods gone = s->periods[1];
	int *old = s->ss_fds;
	size_t nold = s->nss;
	pid_t *family = NULL, *done = NULL;
	size_t ndone = 0, cap = 0;
	ssize_t nf;
	int rc = 0;

	if (!s->switch_stacks)
		return 0;
	nf = sampler_family(pids, n, &family);
	if (nf < 0)
		return cp_error("out of memory");
	/* The new events first, so that a thread started meanwhile inherits
	 * them; then the old ones go (closing an event closes those its
	 * threads inherited). The last generation's ids are kept, for its
	 * samples still in the rings. */
	s->periods[1] = s->periods[0];
	hmap_release(&gone.index);
	gone.n = 0;
	hmap_init(&gone.index);
	s->periods[0] = gone;
	s->ss_fds = NULL;
	s->nss = s->ss_cap = 0;
	s->switch_period = period ? period : 1;
	s->reopening = true;
	for (ssize_t k = 0; k < nf && rc == 0; k++)
		rc = sampler_switch_open_pid(s, family[k], &done, &ndone, &cap);
	s->reopening = false;
	for (size_t i = 0; i < nold; i++)
		close(old[i]);
	free(old);
	free(family);
	free(done);
	return rc < 0 ? cp_error("out of memory") : 0;
}

size_t sampler_threads(const struct sampler *s)
{
	return s->ntids;
}
