/* Calls into a running process through ptrace; see inject.h. x86_64 only,
 * as the unwinder is. */
#include <elf.h>
#include <errno.h>
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
#include "inject.h"
#include "proc.h"
#include "snapshot.h"
#include "symbolize.h"
#include "unwind.h"

#define INJECT_STACK_COPY 65536      /* of the held thread's stack, to judge it */
#define INJECT_STOP_NS 200000000     /* for a thread to stop once interrupted */
#define INJECT_RED_ZONE 256          /* the ABI's 128 bytes below rsp, and more */
#define INJECT_XSTATE_MAX 16384      /* the largest XSAVE area (AMX) is 11 KiB */
#define INJECT_PASS_PAUSE_NS 5000000 /* between passes over the threads */

struct inject {
	pid_t pid, tid;
	int sig; /* a signal that stopped the thread before our interrupt did */
	struct user_regs_struct regs;
	unsigned char *xstate; /* vector and x87 state (XSAVE layout) */
	size_t xstate_len;
	struct user_fpregs_struct fpregs; /* where XSAVE state cannot be read */
	uint64_t scratch; /* the lowest byte pushed below the thread's stack */
	int64_t stopped_ns;
};

/* Functions that, on a thread's stack, mean it may hold a lock that loading
 * code or allocating takes: the allocator's (glibc's arenas), the dynamic
 * loader's, fork's and thread creation's (the stack cache, which a library
 * with static TLS takes). Whole names, or prefixes ending in '*'. */
static const char *const inject_unsafe[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
	"aligned_alloc", "valloc", "pvalloc", "mallinfo*", "mallopt", "malloc_*", "__malloc_*",
	"_int_*", "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
	"__libc_memalign", "__libc_valloc", "__libc_pvalloc", "tcache_*", "arena_*", "sysmalloc",
	"systrim", "ptmalloc_*", "_dl_*", "__dl*", "dl_*", "dlopen*", "dlclose", "dlsym",
	"dlvsym", "dladdr*", "dlinfo", "dlmopen", "dlerror", "__libc_dlopen*", "fork", "_Fork",
	"__libc_fork", "vfork", "pthread_create*", "__pthread_create*", "allocate_stack",
	"__nptl_deallocate_stack", "__nptl_free_stacks", "__run_exit_handlers", "exit",
	"__call_tls_dtors", "__libc_thread_freeres",
};

/* Files whose code holds such locks wherever it is: the loader, allocators
 * in libraries of their own, and cprof's heap library. */
static const char *const inject_unsafe_files[] = {
	"ld-linux", "ld.so", "ld-2.", "libjemalloc", "libtcmalloc", "libmimalloc",
	"libcprof-heap",
};

static bool inject_name_unsafe(const char *name)
{
	for (size_t i = 0; name && i < sizeof(inject_unsafe) / sizeof(*inject_unsafe); i++) {
		const char *u = inject_unsafe[i];
		size_t n = strlen(u);

		if (u[n - 1] == '*' ? strncmp(name, u, n - 1) == 0 : strcmp(name, u) == 0)
			return true;
	}
	return false;
}

static bool inject_pc_unsafe(const struct addrspace *as, struct symbolizer *sym, uint64_t pc,
			     bool caller)
{
	const struct as_map *m = addrspace_find(as, pc);
	const struct sym_frame *frames;
	const char *base;
	int n;

	if (m && m->path && (base = strrchr(m->path, '/'))) {
		for (size_t i = 0; i < sizeof(inject_unsafe_files) / sizeof(*inject_unsafe_files); i++)
			if (strncmp(base + 1, inject_unsafe_files[i], strlen(inject_unsafe_files[i])) == 0)
				return true;
	}
	n = symbolizer_lookup(sym, pc, caller, &frames);
	for (int i = 0; i < n; i++)
		if (inject_name_unsafe(frames[i].name) || inject_name_unsafe(frames[i].system_name))
			return true;
	return false;
}

/* Whether the stopped thread TID, with registers R, may be called into:
 * no frame of its stack is unsafe. A stack that cannot be unwound to its
 * end is judged by the frames found. */
static bool inject_safe(pid_t tid, const struct user_regs_struct *r, const struct addrspace *as,
			struct unwinder *u, struct symbolizer *sym, unsigned char *stack)
{
	uint64_t regs[UREG_COUNT], pcs[UNWIND_MAX_FRAMES];
	size_t got;
	bool complete;
	int n;

	snapshot_regs_from_user(regs, r);
	got = snapshot_copy_stack(tid, r->rsp, stack, INJECT_STACK_COPY);
	n = unwinder_walk(u, regs, stack, got, pcs, UNWIND_MAX_FRAMES, &complete);
	for (int i = 0; i < n; i++)
		if (inject_pc_unsafe(as, sym, pcs[i], i > 0))
			return false;
	return n > 0;
}

static void inject_let_go(pid_t tid, int sig)
{
	ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
}

/* Seize, stop and judge TID. 1: held in IN; 0: not now (gone, unsafe, did
 * not stop); -1 with an error: may not trace it. */
static int inject_try(struct inject *in, pid_t tid, const struct addrspace *as,
		      struct unwinder *u, struct symbolizer *sym, unsigned char *stack)
{
	struct iovec iov = { &in->regs, sizeof(in->regs) };
	char state = proc_thread_state(in->pid, tid);
	int sig;

	/* Uninterruptible sleep would not stop in time; a zombie never. */
	if (!state || state == 'D' || state == 'Z' || state == 'X')
		return 0;
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		int err = errno;
		if (err == ESRCH || (err == EPERM && proc_thread_gone(in->pid, tid)))
			return 0;
		return cp_error_errno(err, "cannot trace thread %d of process %d: %s", tid, in->pid,
				      strerror(err));
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		snapshot_wait_stop(tid, 0);
		return 0;
	}
	sig = snapshot_wait_stop(tid, INJECT_STOP_NS);
	if (sig == -2)
		sig = snapshot_wait_stop(tid, 10 * (int64_t)INJECT_STOP_NS);
	if (sig < 0)
		return sig == -1 ? 0 : cp_error_errno(EBUSY, "thread %d of process %d would not stop",
						      tid, in->pid);
	in->stopped_ns = clock_ns(CLOCK_MONOTONIC);
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0 ||
	    !inject_safe(tid, &in->regs, as, u, sym, stack)) {
		inject_let_go(tid, sig);
		return 0;
	}
	in->tid = tid;
	in->sig = sig;
	return 1;
}

/* Save the held thread's vector state, to be put back at the end. */
static int inject_save_fp(struct inject *in)
{
	struct iovec iov;

	if (!(in->xstate = malloc(INJECT_XSTATE_MAX)))
		return cp_error_errno(ENOMEM, "out of memory");
	iov = (struct iovec){ in->xstate, INJECT_XSTATE_MAX };
	if (ptrace(PTRACE_GETREGSET, in->tid, (void *)NT_X86_XSTATE, &iov) == 0) {
		in->xstate_len = iov.iov_len;
		return 0;
	}
	free(in->xstate);
	in->xstate = NULL;
	if (ptrace(PTRACE_GETFPREGS, in->tid, NULL, &in->fpregs) < 0)
		return cp_error("cannot read the registers of thread %d: %s", in->tid,
				strerror(errno));
	return 0;
}

/* Long: one pass over the threads after another until one is held, each
 * outcome (held, busy, refused, gone) ending it differently. */
struct inject *inject_start(pid_t pid, struct addrspace *as, int64_t timeout_ns)
{
	int64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
	struct inject *in = calloc(1, sizeof(*in));
	unsigned char *stack = malloc(INJECT_STACK_COPY);
	struct unwinder *u = unwinder_new(as);
	struct symbolizer *sym = symbolizer_new(as);
	sigset_t chld, old;
	bool seen = false;
	int rc = 0;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	if (!in || !stack || !u || !sym) {
		if (!in || !stack)
			cp_error_errno(ENOMEM, "out of memory");
		goto fail;
	}
	in->pid = pid;
	while (rc == 0) {
		pid_t *tids;
		ssize_t n = proc_tasks(pid, &tids);

		if (n < 0)
			goto fail;
		/* The main thread first: a server's often waits in a system call. */
		for (ssize_t i = 0; i < n && rc == 0; i++)
			if (tids[i] == pid)
				rc = inject_try(in, pid, as, u, sym, stack);
		for (ssize_t i = 0; i < n && rc == 0; i++)
			if (tids[i] != pid)
				rc = inject_try(in, tids[i], as, u, sym, stack);
		seen |= n > 0;
		free(tids);
		if (rc == 0 && clock_ns(CLOCK_MONOTONIC) >= deadline) {
			cp_error_errno(seen ? EBUSY : ESRCH,
				       seen ? "no thread of process %d was outside its allocator and "
					      "dynamic loader long enough to be called into; try again"
					    : "no such process %d",
				       pid);
			goto fail;
		}
		if (rc == 0)
			nanosleep(&(struct timespec){ 0, INJECT_PASS_PAUSE_NS }, NULL);
	}
	if (rc < 0)
		goto fail;
	if (inject_save_fp(in) < 0) {
		inject_let_go(in->tid, in->sig);
		goto fail;
	}
	in->scratch = (in->regs.rsp - INJECT_RED_ZONE) & ~15ULL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	symbolizer_free(sym);
	unwinder_free(u);
	free(stack);
	return in;
fail:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	symbolizer_free(sym);
	unwinder_free(u);
	free(stack);
	free(in);
	return NULL;
}

pid_t inject_tid(const struct inject *in)
{
	return in->tid;
}

/* Write N bytes at ADDR in the held thread's memory. */
static int inject_write(struct inject *in, uint64_t addr, const void *data, size_t n)
{
	struct iovec local = { (void *)data, n }, remote = { (void *)addr, n };

	if (process_vm_writev(in->tid, &local, 1, &remote, 1, 0) == (ssize_t)n)
		return 0;
	return cp_error("cannot write to process %d at %#llx: %s", in->pid,
			(unsigned long long)addr, strerror(errno));
}

int inject_read(struct inject *in, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { buf, n }, remote = { (void *)addr, n };

	if (process_vm_readv(in->tid, &local, 1, &remote, 1, 0) == (ssize_t)n)
		return 0;
	return cp_error("cannot read process %d at %#llx: %s", in->pid, (unsigned long long)addr,
			strerror(errno));
}

uint64_t inject_push(struct inject *in, const void *data, size_t n)
{
	uint64_t at = (in->scratch - n) & ~15ULL;

	if (inject_write(in, at, data, n) < 0)
		return 0;
	in->scratch = at;
	return at;
}

/* Put the held thread's registers back as they were. */
static int inject_restore(struct inject *in)
{
	struct iovec iov = { &in->regs, sizeof(in->regs) };

	if (ptrace(PTRACE_SETREGSET, in->tid, (void *)NT_PRSTATUS, &iov) < 0)
		return cp_error("cannot restore thread %d: %s", in->tid, strerror(errno));
	iov = (struct iovec){ in->xstate, in->xstate_len };
	if (in->xstate ? ptrace(PTRACE_SETREGSET, in->tid, (void *)NT_X86_XSTATE, &iov) < 0 :
			 ptrace(PTRACE_SETFPREGS, in->tid, NULL, &in->fpregs) < 0)
		return cp_error("cannot restore thread %d: %s", in->tid, strerror(errno));
	return 0;
}

/* Long: the wait for the call's end, through the signals and stops that may
 * come first, each handled apart. */
int inject_call(struct inject *in, uint64_t fn, const uint64_t *args, int nargs, uint64_t *ret)
{
	struct user_regs_struct r = in->regs;
	struct iovec iov = { &r, sizeof(r) };
	uint64_t sp = ((in->scratch - 64) & ~15ULL) - 8, zero = 0;
	unsigned long long *argregs[6] = { &r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9 };
	int status, sig = 0;

	/* At a function's entry rsp + 8 is a multiple of 16; the return
	 * address, 0, is at rsp. */
	if (inject_write(in, sp, &zero, sizeof(zero)) < 0)
		return -1;
	for (int i = 0; i < nargs && i < 6; i++)
		*argregs[i] = args[i];
	r.rip = fn;
	r.rsp = sp;
	r.rax = 0;
	/* Not in a system call: the kernel must not restart one over the call. */
	r.orig_rax = (uint64_t)-1;
	if (ptrace(PTRACE_SETREGSET, in->tid, (void *)NT_PRSTATUS, &iov) < 0)
		return cp_error("cannot set the registers of thread %d: %s", in->tid, strerror(errno));
	for (;;) {
		pid_t w;

		if (ptrace(PTRACE_CONT, in->tid, NULL, (void *)(long)sig) < 0)
			return cp_error_errno(ESRCH, "process %d exited during a call into it", in->pid);
		do
			w = waitpid(in->tid, &status, __WALL);
		while (w < 0 && errno == EINTR);
		if (w < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return cp_error_errno(ESRCH, "process %d exited during a call into it", in->pid);
		sig = 0;
		if (!WIFSTOPPED(status) || status >> 16 == PTRACE_EVENT_STOP)
			continue;
		sig = WSTOPSIG(status);
		if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGTRAP)
			continue;
		if (ptrace(PTRACE_GETREGSET, in->tid, (void *)NT_PRSTATUS, &iov) < 0)
			return cp_error_errno(ESRCH, "process %d exited during a call into it", in->pid);
		if (sig == SIGSEGV && r.rip == 0)
			break;
		/* The call itself faulted: put the thread back rather than let the
		 * fault end the process. */
		inject_restore(in);
		return cp_error("a call into process %d faulted (signal %d at %#llx)", in->pid, sig,
				(unsigned long long)r.rip);
	}
	*ret = r.rax;
	return 0;
}

int64_t inject_end(struct inject *in)
{
	int64_t held;

	if (!in)
		return 0;
	inject_restore(in);
	inject_let_go(in->tid, in->sig);
	held = clock_ns(CLOCK_MONOTONIC) - in->stopped_ns;
	free(in->xstate);
	free(in);
	return held;
}

int inject_symbol(const struct addrspace *as, const char *prefix, const char *name,
		  uint64_t *addr)
{
	size_t n;
	const struct as_map *maps = addrspace_maps(as, &n);

	for (size_t i = 0; i < n; i++) {
		const char *base = maps[i].path ? strrchr(maps[i].path, '/') : NULL;
		uint64_t vaddr;

		if (!maps[i].mod || !base || strncmp(base + 1, prefix, strlen(prefix)) ||
		    module_symbol(maps[i].mod, name, &vaddr) < 0)
			continue;
		*addr = vaddr + maps[i].bias;
		return 0;
	}
	return -1;
}
