/* ptrace thread snapshots; see snapshot.h. One thread is held at a time:
 * PTRACE_SEIZE (which does not stop it), PTRACE_INTERRUPT, wait for the stop,
 * copy registers and stack, PTRACE_DETACH (which lets it go and delivers any
 * signal that arrived meanwhile); each thread's wait to stop and time held
 * are measured apart. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errmsg.h"
#include "grow.h"
#include "proc.h"
#include "snapshot.h"

#define STOP_TIMEOUT_NS 200000000 /* a thread that does not stop by then is skipped */
#define LINGER_LAST_NS 2000000000LL /* for one that cannot be remembered as lingering */
#define PAGE 4096

/* Threads seized but not yet stopped when their wait timed out (deep in an
 * uninterruptible sleep, or starved of CPU): they are let go as soon as they
 * stop, at the end of a snapshot, at the start of the next and while
 * snapshot_wait_until waits. If cprof dies first, the kernel detaches them and
 * drops the pending interrupt. */
static pid_t *lingering;
static size_t nlingering, lingering_cap;
static int schedstat_fd = -1; /* /proc/thread-self/schedstat during a snapshot */

/* cprof's own scheduling, kept while it takes a snapshot at real-time priority. */
struct snapshot_sched {
	int policy;
	struct sched_param param;
};

/* Let go of a stopped thread, delivering SIG if non-zero. */
static void snapshot_let_go(pid_t tid, int sig)
{
	ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
}

/* Sleeping in sigtimedwait for SIGCHLD, which the kernel sends the tracer
 * at each stop, wakes at once, where polling would compete for the CPU with
 * the target's threads. */
int snapshot_wait(pid_t tid, int64_t timeout_ns, int *status)
{
	int64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			int64_t left = deadline - clock_ns(CLOCK_MONOTONIC);
			struct timespec ts;
			if (left <= 0)
				return -2;
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			sigtimedwait(&chld, NULL, &ts);
			continue;
		}
		if (WIFEXITED(*status) || WIFSIGNALED(*status))
			return -1;
		if (WIFSTOPPED(*status))
			return 0;
	}
}

int snapshot_wait_stop(pid_t tid, int64_t timeout_ns)
{
	int status, rc = snapshot_wait(tid, timeout_ns, &status);

	if (rc < 0)
		return rc;
	/* PTRACE_EVENT_STOP: our interrupt, or a group stop (which detaching
	 * leaves in place). A plain stop is a signal on its way in: hold it and
	 * hand it back on release. */
	if (status >> 16 == PTRACE_EVENT_STOP)
		return 0;
	return WSTOPSIG(status);
}

static void snapshot_settle_lingering(void)
{
	size_t kept = 0;

	for (size_t i = 0; i < nlingering; i++) {
		int sig = snapshot_wait_stop(lingering[i], 0);
		if (sig >= 0)
			snapshot_let_go(lingering[i], sig);
		else if (sig == -2)
			lingering[kept++] = lingering[i];
	}
	nlingering = kept;
}

void snapshot_regs_from_user(uint64_t *u, const struct user_regs_struct *r)
{
	u[UREG_AX] = r->rax;
	u[UREG_BX] = r->rbx;
	u[UREG_CX] = r->rcx;
	u[UREG_DX] = r->rdx;
	u[UREG_SI] = r->rsi;
	u[UREG_DI] = r->rdi;
	u[UREG_BP] = r->rbp;
	u[UREG_SP] = r->rsp;
	u[UREG_IP] = r->rip;
	u[UREG_FLAGS] = r->eflags;
	u[UREG_CS] = r->cs;
	u[UREG_SS] = r->ss;
	u[UREG_R8] = r->r8;
	u[UREG_R9] = r->r9;
	u[UREG_R10] = r->r10;
	u[UREG_R11] = r->r11;
	u[UREG_R12] = r->r12;
	u[UREG_R13] = r->r13;
	u[UREG_R14] = r->r14;
	u[UREG_R15] = r->r15;
}

/* One iovec per page: the read stops at the first page that is not mapped,
 * keeping what came before. */
size_t snapshot_copy_stack(pid_t pid, uint64_t sp, unsigned char *buf, size_t size)
{
	struct iovec local = { buf, size }, remote[64];
	size_t n = 0;
	uint64_t at = sp;
	ssize_t got;

	while (at < sp + size && n < sizeof(remote) / sizeof(*remote)) {
		uint64_t end = (at | (PAGE - 1)) + 1;
		if (end > sp + size)
			end = sp + size;
		remote[n].iov_base = (void *)at;
		remote[n++].iov_len = end - at;
		at = end;
	}
	got = process_vm_readv(pid, &local, 1, remote, n, 0);
	return got > 0 ? (size_t)got : 0;
}

/* The calling thread's run delay (time runnable but waiting for a CPU, ns)
 * from schedstat_fd, or 0 when it cannot be read. */
static int64_t snapshot_run_delay(void)
{
	char buf[96];
	ssize_t n = schedstat_fd >= 0 ? pread(schedstat_fd, buf, sizeof(buf) - 1, 0) : -1;
	unsigned long long run, delay;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu", &run, &delay) == 2 ? (int64_t)delay : 0;
}

/* Raise the calling thread to SCHED_FIFO at the lowest real-time priority
 * where it may (root, CAP_SYS_NICE or RLIMIT_RTPRIO), saving its scheduling
 * in SS: on a loaded machine a normal thread waits for a CPU when the held
 * thread's stop wakes it and can be descheduled while it holds, and the thread
 * stays stopped meanwhile. For the whole snapshot, not each hold: going back
 * to the fair class after every thread queued cprof behind the busy threads
 * each time (a snapshot of 1000 threads took 10 s instead of 3.5 s; see
 * BENCHMARKS.md). Whether it did; a thread already real-time is left as it is. */
static bool snapshot_raise(struct snapshot_sched *ss)
{
	struct sched_param rt = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };

	ss->policy = sched_getscheduler(0);
	if (ss->policy != SCHED_OTHER && ss->policy != SCHED_BATCH && ss->policy != SCHED_IDLE)
		return false;
	return sched_getparam(0, &ss->param) == 0 && sched_setscheduler(0, SCHED_FIFO, &rt) == 0;
}

static void snapshot_lower(const struct snapshot_sched *ss)
{
	sched_setscheduler(0, ss->policy, &ss->param);
}

/* Hold TID just long enough to copy it into T. Returns 0, 1 if the thread is
 * gone or would not stop, or -1 with an error when it may not be traced. */
static int snapshot_copy_thread(struct snapshot *s, pid_t tid, size_t stack_size,
				struct thread_snap *t)
{
	struct user_regs_struct regs;
	struct iovec iov = { &regs, sizeof(regs) };
	int64_t t0, seen, late, delay0;
	int sig;

	/* Still seized from an earlier snapshot, where it would not stop: a
	 * second seize would fail as if cprof had no right to it. */
	for (size_t i = 0; i < nlingering; i++)
		if (lingering[i] == tid)
			return 1;
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		int err = errno;

		if (err == ESRCH)
			return 1;
		/* A thread that has exited but is not yet reaped refuses with EPERM. */
		if (err == EPERM && proc_thread_gone(s->pid, tid))
			return 1;
		return cp_error_errno(err, "cannot trace thread %d of process %d: %s", tid, s->pid,
				      strerror(err));
	}
	delay0 = snapshot_run_delay();
	t0 = clock_ns(CLOCK_MONOTONIC);
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		/* Seized but gone already: reap it if it left a status. */
		snapshot_wait_stop(tid, 0);
		return 1;
	}
	sig = snapshot_wait_stop(tid, STOP_TIMEOUT_NS);
	if (sig == -1)
		return 1;
	if (sig == -2) {
		if (CP_GROW(lingering, lingering_cap, nlingering + 1) == 0)
			lingering[nlingering++] = tid;
		else if ((sig = snapshot_wait_stop(tid, LINGER_LAST_NS)) >= 0)
			snapshot_let_go(tid, sig); /* no room to remember it: wait once more */
		return 1;
	}
	/* Where cprof waited for a CPU after the interrupt, the thread had
	 * (most likely) stopped already and waited for cprof: held, not waiting. */
	seen = clock_ns(CLOCK_MONOTONIC);
	late = snapshot_run_delay() - delay0;
	late = late < 0 ? 0 : late > seen - t0 ? seen - t0 : late;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0) {
		snapshot_let_go(tid, sig);
		return 1;
	}
	snapshot_regs_from_user(t->regs, &regs);
	/* By the thread: a main thread that exited has no memory left to read. */
	t->stack_size = snapshot_copy_stack(tid, regs.rsp, t->stack, stack_size);
	snapshot_let_go(tid, sig);
	t->stop_ns = clock_ns(CLOCK_MONOTONIC) - seen + late;
	t->wait_ns = seen - t0 - late;
	return 0;
}

static int snapshot_take_one(struct snapshot *s, pid_t pid, size_t stack_size, int taskdir,
			     pid_t **tidsp)
{
	pid_t *tids;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->time_ns = clock_ns(CLOCK_REALTIME);
	snapshot_settle_lingering();
	n = proc_tasks(pid, &tids);
	if (n < 0)
		return -1;
	*tidsp = tids;
	if (CP_GROW(s->threads, s->cap, (size_t)n + 1) < 0)
		goto fail_oom;
	for (ssize_t i = 0; i < n; i++) {
		struct thread_snap *t = &s->threads[s->nthreads];
		int rc;

		memset(t, 0, sizeof(*t));
		t->tid = tids[i];
		t->state = proc_task_stat(taskdir, tids[i], t->name, sizeof(t->name));
		if (!t->state || t->state == 'Z' || t->state == 'X') {
			s->vanished++;
			continue;
		}
		t->stack = malloc(stack_size ? stack_size : 1);
		if (!t->stack)
			goto fail_oom;
		/* A thread in uninterruptible sleep would not stop: it is listed
		 * without a stack rather than waited for. */
		rc = t->state == 'D' ? 0 : snapshot_copy_thread(s, tids[i], stack_size, t);
		if (rc < 0) {
			free(t->stack);
			snapshot_release(s);
			s->pid = pid;
			return -1;
		}
		if (rc > 0) {
			free(t->stack);
			s->vanished++;
			continue;
		}
		s->stopped_ns += t->stop_ns;
		if (t->stop_ns > s->worst_stop_ns)
			s->worst_stop_ns = t->stop_ns;
		s->waited_ns += t->wait_ns;
		if (t->wait_ns > s->worst_wait_ns)
			s->worst_wait_ns = t->wait_ns;
		s->nthreads++;
	}
	return 0;
fail_oom:
	snapshot_release(s);
	return cp_error_errno(ENOMEM, "out of memory");
}

int snapshot_take(struct snapshot *s, pid_t pid, size_t stack_size)
{
	int64_t start = clock_ns(CLOCK_MONOTONIC);
	struct snapshot_sched ss;
	pid_t *tids = NULL;
	sigset_t chld, old;
	char path[32];
	int rc, taskdir;
	bool raised;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	taskdir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (taskdir < 0) {
		memset(s, 0, sizeof(*s));
		s->pid = pid;
		rc = cp_error_errno(errno == ENOENT ? ESRCH : errno, "cannot read %s: %s", path,
				    strerror(errno));
	} else {
		schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
		raised = snapshot_raise(&ss);
		rc = snapshot_take_one(s, pid, stack_size, taskdir, &tids);
		snapshot_settle_lingering();
		if (raised)
			snapshot_lower(&ss);
		s->held_rt = raised || ss.policy == SCHED_FIFO || ss.policy == SCHED_RR;
		if (schedstat_fd >= 0)
			close(schedstat_fd);
		schedstat_fd = -1;
		close(taskdir);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(tids);
	s->elapsed_ns = clock_ns(CLOCK_MONOTONIC) - start;
	return rc;
}

void snapshot_wait_until(int64_t when_ns)
{
	sigset_t chld, old;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	for (;;) {
		int64_t left = when_ns - clock_ns(CLOCK_MONOTONIC);
		struct timespec ts;

		snapshot_settle_lingering();
		if (left <= 0)
			break;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		/* A lingering thread's stop wakes this wait; any other signal ends it. */
		if (nlingering ? sigtimedwait(&chld, NULL, &ts) < 0 && errno == EINTR :
				 nanosleep(&ts, NULL) < 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void snapshot_release(struct snapshot *s)
{
	for (size_t i = 0; i < s->nthreads; i++)
		free(s->threads[i].stack);
	free(s->threads);
	memset(s, 0, sizeof(*s));
}
