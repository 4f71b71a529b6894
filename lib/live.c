/* A live sampling session and its windowing; see live.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cpu.h"
#include "errmsg.h"
#include "grow.h"
#include "heap.h"
#include "live.h"
#include "proc.h"

void live_history_init(struct live_history *h, int64_t keep_ns)
{
	memset(h, 0, sizeof(*h));
	h->keep_ns = keep_ns;
	h->every_ns = keep_ns / 20 < 1000000000 ? keep_ns / 20 : 1000000000;
}

int live_history_add(struct live_history *h, const struct profile *p, int64_t now_ns)
{
	if (h->n && now_ns - h->snaps[h->n - 1].when_ns < h->every_ns)
		return 0;
	if (CP_GROW(h->snaps, h->cap, h->n + 1) < 0 ||
	    topview_snapshot(&h->snaps[h->n], p, now_ns) < 0)
		return -1;
	h->n++;
	while (h->n >= 2 && h->snaps[1].when_ns <= now_ns - h->keep_ns) {
		topview_snapshot_release(&h->snaps[0]);
		memmove(h->snaps, h->snaps + 1, --h->n * sizeof(*h->snaps));
	}
	return 0;
}

const struct top_snapshot *live_history_base(const struct live_history *h, int64_t now_ns,
					     int64_t window_ns)
{
	const struct top_snapshot *base = NULL;

	if (window_ns > h->keep_ns)
		window_ns = h->keep_ns;
	for (size_t i = 0; i < h->n && h->snaps[i].when_ns <= now_ns - window_ns; i++)
		base = &h->snaps[i];
	return base;
}

void live_history_clear(struct live_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		topview_snapshot_release(&h->snaps[i]);
	h->n = 0;
}

void live_history_release(struct live_history *h)
{
	live_history_clear(h);
	free(h->snaps);
	h->snaps = NULL;
	h->cap = 0;
}

/* How often a heap session's state is copied for clients. */
#define LIVE_HEAP_EVERY_NS 250000000

/* Everything below the lock is the sampler's between copies. */
struct live {
	struct target t;
	struct cpu_opts co;
	struct cpu *c;             /* a CPU session, or */
	struct heap_opts ho;
	struct heap *h;            /* a heap session, touched by the sampler only */
	atomic_bool reset_asked;   /* of the heap session, by a client */
	atomic_bool rotate_asked;  /* a copy, then a reset, at one instant */
	struct profile *rotated;   /* the copy, for the client (under lock) */
	bool final_taken;          /* the last copy, once the target exited, handed over */
	char command[256];
	pthread_t thread;
	bool running;
	atomic_bool stop;

	pthread_mutex_t lock;
	struct live_history hist;
	struct profile *heap_now;  /* the heap session's last copy */
	struct heap_stats heap_st; /* and its counts then */
	bool exited, failed;
	char errmsg[512];
};

/* Start CMD (for a heap session, with the library) with /dev/null for its
 * standard input, output and error, so that it neither draws over a screen
 * nor reads its keys. */
static int live_launch_quietly(struct live *l, char **cmd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), saved[3], rc;

	if (null < 0)
		return cp_error("cannot open /dev/null: %s", strerror(errno));
	for (int fd = 0; fd < 3; fd++) {
		saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		dup2(null, fd);
	}
	if (l->ho.preload)
		rc = (l->h = heap_launch(&l->t, cmd, &l->ho)) ? 0 : -1;
	else
		rc = target_launch(&l->t, cmd);
	for (int fd = 0; fd < 3; fd++) {
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
		}
	}
	close(null);
	return rc;
}

/* A copy of the heap session's state for clients, and the history's; under
 * the lock. Returns 0 or -1 with an error. */
static int live_heap_copy(struct live *l, int64_t now)
{
	struct profile *p = heap_snapshot(l->h);

	if (!p)
		return -1;
	profile_free(l->heap_now);
	l->heap_now = p;
	l->heap_st = *heap_stats(l->h);
	return live_history_add(&l->hist, p, now);
}

/* A client's rotation, on the sampler thread under the lock: everything so
 * far handed over, before the reset that follows at the same instant. */
static int live_heap_hand_over(struct live *l)
{
	struct profile *p = heap_snapshot(l->h);

	if (!p)
		return -1;
	profile_free(l->rotated);
	l->rotated = p;
	return 0;
}

/* The heap session's sampler: the library's records read as they come (a
 * reset asked for done here, where the session is touched), a copy for
 * clients made every LIVE_HEAP_EVERY_NS. */
static void *live_heap_main(void *arg)
{
	struct live *l = arg;
	int64_t next = 0;
	bool done = false;

	while (!done && !atomic_load(&l->stop)) {
		int exited = heap_step(l->h, 100);
		int64_t now = clock_ns(CLOCK_MONOTONIC);

		if (exited < 0 || exited > 0 || now >= next || atomic_load(&l->reset_asked) ||
		    atomic_load(&l->rotate_asked)) {
			bool rotate;

			pthread_mutex_lock(&l->lock);
			rotate = atomic_load(&l->rotate_asked) && exited >= 0;
			if (rotate && live_heap_hand_over(l) < 0) {
				l->failed = true;
				snprintf(l->errmsg, sizeof(l->errmsg), "%s", cp_errmsg());
			} else if (rotate || atomic_load(&l->reset_asked)) {
				heap_reset(l->h);
				live_history_clear(&l->hist);
			}
			if (exited < 0 || live_heap_copy(l, now) < 0) {
				l->failed = true;
				snprintf(l->errmsg, sizeof(l->errmsg), "%s", cp_errmsg());
			}
			if (rotate)
				atomic_store(&l->rotate_asked, false);
			atomic_store(&l->reset_asked, false);
			l->exited = exited > 0;
			/* A launched command is reaped here, for its status. */
			if (l->exited && l->t.launched)
				target_check_exit(&l->t);
			done = l->failed || l->exited;
			pthread_mutex_unlock(&l->lock);
			next = now + LIVE_HEAP_EVERY_NS;
		}
	}
	return NULL;
}

/* Sampling never waits on a client: this thread holds the lock only while
 * it adds what the kernel buffered, and a client only while it copies. */
static void *live_sampler_main(void *arg)
{
	struct live *l = arg;
	bool done = false;

	while (!done && !atomic_load(&l->stop)) {
		int exited = cpu_wait(l->c, 100);
		pthread_mutex_lock(&l->lock);
		if (cpu_collect(l->c) < 0 ||
		    live_history_add(&l->hist, cpu_profile_now(l->c), clock_ns(CLOCK_MONOTONIC)) < 0) {
			l->failed = true;
			snprintf(l->errmsg, sizeof(l->errmsg), "%s", cp_errmsg());
		}
		l->exited = exited;
		done = l->failed || l->exited;
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

static void live_name_command(struct live *l, char **cmd)
{
	size_t used = 0;

	if (!cmd) {
		proc_cmdline(l->t.pid, l->command, sizeof(l->command));
		return;
	}
	for (char **a = cmd; *a && used + 1 < sizeof(l->command); a++)
		used += snprintf(l->command + used, sizeof(l->command) - used, "%s%s",
				 a == cmd ? "" : " ", *a);
}

/* The sampler thread, with every signal blocked but faults, whose handler
 * must run where they happen (blocked, the kernel would kill the process
 * without it, leaving a client's terminal raw). */
static int live_start_thread(struct live *l)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&l->thread, NULL, l->h ? live_heap_main : live_sampler_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return cp_error("cannot start the sampling thread: %s", strerror(rc));
	l->running = true;
	return 0;
}

struct live *live_start(const struct live_opts *o)
{
	struct live *l = calloc(1, sizeof(*l));
	int rc;

	if (!l) {
		cp_error("out of memory");
		return NULL;
	}
	/* As a failed attach leaves it: nothing for target_release to close. */
	l->t.go_fd = l->t.err_fd = l->t.pidfd = -1;
	pthread_mutex_init(&l->lock, NULL);
	live_history_init(&l->hist, o->window_ns);
	l->co = (struct cpu_opts){
		.frequency = o->frequency,
		.fp = o->fp,
		.stack_size = cpu_default_stack_size(CPU_MODE_CPU, o->frequency),
		.user_only = o->user_only,
	};
	if (o->heap)
		l->ho = (struct heap_opts){ .rate = o->rate, .preload = o->heap_lib };
	if (o->cmd && o->quiet)
		rc = live_launch_quietly(l, o->cmd);
	else if (o->cmd)
		rc = o->heap ? ((l->h = heap_launch(&l->t, o->cmd, &l->ho)) ? 0 : -1) :
			       target_launch(&l->t, o->cmd);
	else
		rc = target_attach(&l->t, o->pid);
	if (rc < 0)
		goto fail;
	if (o->heap && !o->cmd) {
		char why[256];

		/* Loading the library needs a thread that runs; it stays stopped. */
		if (target_stopped(&l->t, why, sizeof(why))) {
			cp_error("%s; the heap view needs it running to load its library", why);
			goto fail;
		}
		if (!(l->h = heap_attach(&l->t, &l->ho))) {
			if (cp_errno() == EPERM)
				target_permission_error(&l->t, EPERM, "trace");
			goto fail;
		}
	}
	if (l->h ? heap_start(l->h) < 0 : !(l->c = cpu_start(&l->t, &l->co)))
		goto fail;
	live_name_command(l, o->cmd);
	if ((l->h ? live_heap_copy(l, clock_ns(CLOCK_MONOTONIC)) :
		    live_history_add(&l->hist, cpu_profile_now(l->c), clock_ns(CLOCK_MONOTONIC))) < 0 ||
	    live_start_thread(l) < 0)
		goto fail;
	return l;
fail:
	live_end(l);
	return NULL;
}

pid_t live_pid(const struct live *l)
{
	return l->t.pid;
}

const char *live_command(const struct live *l)
{
	return l->command;
}

bool live_launched(const struct live *l)
{
	return l->t.launched;
}

/* What /proc says of the target, outside the lock. */
static void live_proc_status(struct live *l, struct live_status *st)
{
	pid_t *tids;
	ssize_t n = st->exited ? -1 : proc_tasks(l->t.pid, &tids);

	if (n >= 0)
		free(tids);
	st->threads_now = n;
	st->cpu_ns = st->exited ? -1 : proc_cpu_ns(l->t.pid);
	if (st->exited || !target_stopped(&l->t, st->stopped, sizeof(st->stopped)))
		st->stopped[0] = '\0';
}

struct profile *live_profile(struct live *l, int64_t window_ns, struct live_status *st)
{
	const struct top_snapshot *base;
	const struct cpu_stats *cs;
	struct profile *p;
	int64_t now = clock_ns(CLOCK_MONOTONIC);

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&l->lock);
	if (l->failed) {
		pthread_mutex_unlock(&l->lock);
		cp_error("%s", l->errmsg);
		return NULL;
	}
	base = window_ns ? live_history_base(&l->hist, now, window_ns) : NULL;
	if (l->h) {
		p = topview_copy(l->heap_now, base);
		st->samples = l->heap_st.allocs;
		st->freed = l->heap_st.frees;
		st->lost = l->heap_st.lost;
		st->threads_seen = l->heap_st.threads;
		st->elapsed_ns = l->heap_st.elapsed_ns;
	} else {
		p = topview_copy(cpu_profile_now(l->c), base);
		cs = cpu_stats(l->c);
		st->samples = cs->samples;
		st->lost = cs->lost;
		st->threads_seen = cs->threads;
		st->elapsed_ns = cs->elapsed_ns;
	}
	st->shown_ns = base ? now - base->when_ns : st->elapsed_ns;
	st->exited = l->exited;
	if (st->exited)
		st->status = l->t.status;
	pthread_mutex_unlock(&l->lock);
	if (!p)
		return NULL;
	p->duration_nanos = st->shown_ns;
	p->time_nanos = clock_ns(CLOCK_REALTIME) - st->shown_ns;
	live_proc_status(l, st);
	return p;
}

int live_reset(struct live *l)
{
	int rc = 0;

	/* The sampler thread does it, as it alone touches the heap session. */
	if (l->h) {
		atomic_store(&l->reset_asked, true);
		for (int i = 0; i < 200 && atomic_load(&l->reset_asked) && !l->exited; i++)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		return 0;
	}
	pthread_mutex_lock(&l->lock);
	live_history_clear(&l->hist);
	if (cpu_reset(l->c) < 0 ||
	    live_history_add(&l->hist, cpu_profile_now(l->c), clock_ns(CLOCK_MONOTONIC)) < 0)
		rc = -1;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* Once the target has exited: the last copy, and after it the memory in
 * use alone, as nothing more is allocated. Under the lock. */
static struct profile *live_heap_final(struct live *l)
{
	struct profile *p = topview_copy(l->heap_now, NULL);

	if (p && l->final_taken)
		for (size_t i = 0; i < p->nsamples; i++)
			p->samples[i].values[0] = p->samples[i].values[1] = 0; /* alloc_* */
	l->final_taken = true;
	return p;
}

struct profile *live_rotate(struct live *l)
{
	struct profile *p = NULL;
	bool failed = false;

	if (!l->h)
		return cp_error("only a heap session rotates"), NULL;
	atomic_store(&l->rotate_asked, true);
	for (int i = 0; i < 400 && !p && !failed; i++) {
		if (i)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		pthread_mutex_lock(&l->lock);
		p = l->rotated;
		l->rotated = NULL;
		failed = !p && l->failed;
		if (failed)
			cp_error("%s", l->errmsg);
		else if (!p && l->exited) /* the sampler has stopped: what it had last */
			p = live_heap_final(l);
		pthread_mutex_unlock(&l->lock);
	}
	if (!p && !failed)
		cp_error("the heap sampler did not answer in 2 s");
	atomic_store(&l->rotate_asked, false);
	return p;
}

void live_end(struct live *l)
{
	if (!l)
		return;
	if (l->running) {
		atomic_store(&l->stop, true);
		pthread_join(l->thread, NULL);
	}
	cpu_free(l->c);
	/* An attached process is let go of the library's references first. */
	if (l->h)
		heap_finish(l->h);
	heap_free(l->h);
	profile_free(l->heap_now);
	profile_free(l->rotated);
	if (l->t.launched)
		target_stop(&l->t, 1000);
	target_release(&l->t);
	live_history_release(&l->hist);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
