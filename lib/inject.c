/* Calls into a running process through ptrace, each returning through a
 * signal frame that puts the thread back; see inject.h. x86_64 only, as the
 * unwinder is. */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
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
#define INJECT_FXSAVE 512            /* the legacy part of the vector state */
#define INJECT_SW_BYTES 464          /* where an XSAVE signal frame says its size */
#define INJECT_LET_GO_NS 100000000   /* to stop a thread running a call, to let it go */

/* The kernel's x86_64 signal frame (struct rt_sigframe, its ucontext and
 * sigcontext), which rt_sigreturn reads at the stack pointer less 8. */
struct inject_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
	uint64_t eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved[8];
};

struct inject_sigframe {
	uint64_t pretcode; /* the return address of the call: the trampoline */
	uint64_t uc_flags, uc_link;
	uint64_t ss_sp;
	int32_t ss_flags, ss_pad;
	uint64_t ss_size;
	struct inject_sigcontext mc;
	uint64_t uc_sigmask;
	unsigned char info[128];
};

#define INJECT_UC_FP_XSTATE 0x1
#define INJECT_UC_SIGCONTEXT_SS 0x2
#define INJECT_UC_STRICT_RESTORE_SS 0x4
/* An altstack setting sigaltstack refuses (EINVAL): rt_sigreturn, which
 * ignores the failure, leaves the thread's own as it is. */
#define INJECT_SS_KEEP 3

struct inject {
	pid_t pid, tid;
	struct user_regs_struct regs; /* as held */
	unsigned char *fp;            /* vector state as a signal frame holds it */
	size_t fp_len;
	bool xsave;                   /* fp is an XSAVE area (else FXSAVE) */
	unsigned char *xstate;        /* the same as ptrace gave it */
	uint64_t sigmask;             /* blocked signals, as held */
	uint64_t restorer;            /* mov $15, %rax; syscall (__restore_rt) */
	int64_t rseq_offset;          /* of a thread's rseq area from its fs base; 0: none */
	uint64_t args_top;            /* pushed arguments grow down from here */
	uint64_t frame;               /* the last call's frame */
	bool at_entry;                /* stopped at the entry of that frame's rt_sigreturn */
	bool let_go;                  /* let go in the middle of a call */
	bool broken;                  /* a call faulted: no more calls */
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
 * its stack unwinds to its end (an unwinder that gave up may have missed the
 * frame that holds a lock, such as malloc's under a signal handler), and no
 * frame of it is unsafe. */
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
	return n > 0 && complete;
}

/* Let go of a stopped thread, delivering SIG if non-zero. */
static void inject_let_go(pid_t tid, int sig)
{
	ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
}

/* Whether R is a thread in a system call that swaps its signal mask for
 * its length (sigsuspend, and ppoll, pselect6, epoll_pwait with a mask):
 * SigBlk then shows the call's mask, not the thread's, and a frame that
 * restored it would keep it. */
static bool inject_in_mask_call(const struct user_regs_struct *r)
{
	switch ((long)r->orig_rax) {
	case SYS_rt_sigsuspend:
		return true;
	case SYS_ppoll:
		return r->r10 != 0;
	case SYS_pselect6:
		return r->r9 != 0;
	case SYS_epoll_pwait:
	case 441: /* epoll_pwait2 */
		return r->r8 != 0;
	default:
		return false;
	}
}

/* Whether the thread with registers R is inside an rseq critical section
 * (its rseq area's rseq_cs covers its ip): moved elsewhere and back without
 * the kernel's abort, the section would commit what it must not. */
static bool inject_in_rseq(const struct inject *in, pid_t tid, const struct user_regs_struct *r)
{
	struct { uint32_t version, flags; uint64_t start, post_commit, abort_ip; } cs;
	uint64_t cs_addr = 0;
	struct iovec local = { &cs_addr, sizeof(cs_addr) };
	struct iovec remote = { (void *)(r->fs_base + in->rseq_offset + 8), sizeof(cs_addr) };

	if (!in->rseq_offset || process_vm_readv(tid, &local, 1, &remote, 1, 0) != sizeof(cs_addr) ||
	    !cs_addr)
		return false;
	local = (struct iovec){ &cs, sizeof(cs) };
	remote = (struct iovec){ (void *)cs_addr, sizeof(cs) };
	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == sizeof(cs) &&
	       r->rip >= cs.start && r->rip < cs.start + cs.post_commit;
}

/* Blocked signals of TID (SigBlk in its status), read while it is held. */
static uint64_t inject_sigmask(pid_t pid, pid_t tid)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask;
}

/* Seize, stop and judge TID. 1: held in IN; 0: not now (gone, stopped by a
 * signal or a group stop, unsafe); -1 with an error: may not trace it, or it
 * would not stop. */
static int inject_try(struct inject *in, pid_t tid, const struct addrspace *as,
		      struct unwinder *u, struct symbolizer *sym, unsigned char *stack)
{
	struct iovec iov = { &in->regs, sizeof(in->regs) };
	char state = proc_thread_state(in->pid, tid);
	int status, rc;

	/* Uninterruptible sleep would not stop in time; a zombie never; a
	 * stopped thread is left stopped. */
	if (!state || strchr("DZXTt", state))
		return 0;
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)PTRACE_O_TRACESYSGOOD) < 0) {
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
	/* Once interrupted, it must stop before it can be let go; should it
	 * never, cprof's exit lets it go and drops the interrupt. */
	rc = snapshot_wait(tid, INJECT_STOP_NS, &status);
	if (rc == -2)
		rc = snapshot_wait(tid, 10 * (int64_t)INJECT_STOP_NS, &status);
	if (rc == -1)
		return 0;
	if (rc == -2)
		return cp_error_errno(EBUSY, "thread %d of process %d would not stop", tid, in->pid);
	in->stopped_ns = clock_ns(CLOCK_MONOTONIC);
	/* Our interrupt only: a signal on its way in, or a group stop, is left
	 * to happen as it would have. */
	if (status >> 16 != PTRACE_EVENT_STOP || WSTOPSIG(status) != SIGTRAP) {
		inject_let_go(tid, status >> 16 == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(status));
		return 0;
	}
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0 ||
	    inject_in_mask_call(&in->regs) || inject_in_rseq(in, tid, &in->regs) ||
	    !inject_safe(tid, &in->regs, as, u, sym, stack)) {
		inject_let_go(tid, 0);
		return 0;
	}
	in->tid = tid;
	in->sigmask = inject_sigmask(in->pid, tid);
	return 1;
}

/* The size of an XSAVE area (standard format) holding FEATURES: the end of
 * its last component, from CPUID leaf 0xD. */
static size_t inject_xsave_size(uint64_t features)
{
	size_t size = INJECT_FXSAVE + 64; /* the legacy area and the header */

	for (unsigned i = 2; i < 63; i++) {
		unsigned a, b, c, d;
		if (!(features >> i & 1))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		(void)c;
		(void)d;
		if ((size_t)b + a > size)
			size = (size_t)b + a;
	}
	return size;
}

/* The held thread's vector state, as ptrace gives it (to set back) and as
 * a signal frame holds it: its XSAVE area with the frame's software bytes
 * (XCR0 in their place in the ptrace form) and closing magic, or else its
 * FXSAVE area alone. A thread that has not used AMX's tile data gets a frame
 * without it: the kernel refuses a frame larger than the thread's own state
 * and would restore the legacy part alone, losing the upper halves of its
 * vector registers. */
static int inject_save_fp(struct inject *in)
{
	struct iovec iov;
	uint32_t *sw, magic2 = FP_XSTATE_MAGIC2;
	uint64_t xcr0, bv, features;
	size_t size;

	if (!(in->xstate = malloc(INJECT_XSTATE_MAX)) || !(in->fp = malloc(INJECT_XSTATE_MAX + 4)))
		return cp_error_errno(ENOMEM, "out of memory");
	iov = (struct iovec){ in->xstate, INJECT_XSTATE_MAX };
	if (ptrace(PTRACE_GETREGSET, in->tid, (void *)NT_X86_XSTATE, &iov) == 0 &&
	    iov.iov_len > INJECT_FXSAVE + 64) {
		memcpy(&xcr0, in->xstate + INJECT_SW_BYTES, sizeof(xcr0));
		memcpy(&bv, in->xstate + INJECT_FXSAVE, sizeof(bv)); /* XSTATE_BV */
		features = bv & (1ULL << 18) ? xcr0 : xcr0 & ~(1ULL << 18);
		size = inject_xsave_size(features);
		if (size > iov.iov_len)
			size = iov.iov_len;
		memcpy(in->fp, in->xstate, size);
		memcpy(in->fp + INJECT_FXSAVE, &(uint64_t){ bv & features }, sizeof(bv));
		memset(in->fp + INJECT_SW_BYTES, 0, INJECT_FXSAVE - INJECT_SW_BYTES);
		sw = (uint32_t *)(in->fp + INJECT_SW_BYTES);
		sw[0] = FP_XSTATE_MAGIC1;
		sw[1] = (uint32_t)(size + sizeof(magic2)); /* extended_size */
		memcpy(&sw[2], &features, sizeof(features)); /* xfeatures */
		sw[4] = (uint32_t)size;                      /* xstate_size */
		memcpy(in->fp + size, &magic2, sizeof(magic2));
		in->fp_len = size + sizeof(magic2);
		in->xsave = true;
		return 0;
	}
	if (ptrace(PTRACE_GETFPREGS, in->tid, NULL, in->xstate) < 0)
		return cp_error("cannot read the registers of thread %d: %s", in->tid,
				strerror(errno));
	memcpy(in->fp, in->xstate, INJECT_FXSAVE);
	memset(in->fp + INJECT_SW_BYTES, 0, INJECT_FXSAVE - INJECT_SW_BYTES);
	in->fp_len = INJECT_FXSAVE;
	return 0;
}

/* The C library's signal return trampoline, `mov $15, %rax; syscall` in
 * glibc (__restore_rt, a local symbol) or `mov $15, %eax; syscall` in musl,
 * found by its bytes in the library's code. */
static int inject_find_restorer(const struct addrspace *as, pid_t pid, uint64_t *addr)
{
	static const unsigned char glibc[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	static const unsigned char musl[] = { 0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	unsigned char buf[65536 + 16];
	size_t n;
	const struct as_map *maps = addrspace_maps(as, &n);

	for (size_t i = 0; i < n; i++) {
		const char *base = maps[i].path ? strrchr(maps[i].path, '/') : NULL;
		bool is_musl = base && strncmp(base + 1, "ld-musl", 7) == 0;

		if (!maps[i].mod || !base || (strncmp(base + 1, "libc.so", 7) && !is_musl))
			continue;
		for (uint64_t at = 0; at < maps[i].end - maps[i].start; at += sizeof(buf) - 16) {
			size_t want = maps[i].end - maps[i].start - at;
			unsigned char *hit;

			want = want < sizeof(buf) ? want : sizeof(buf);
			if (module_read(maps[i].mod, maps[i].offset + at, buf, want) < 0)
				break;
			if ((hit = memmem(buf, want, glibc, sizeof(glibc))) ||
			    (hit = memmem(buf, want, musl, sizeof(musl)))) {
				*addr = maps[i].start + at + (uint64_t)(hit - buf);
				return 0;
			}
		}
	}
	return cp_error_errno(ENOEXEC, "cannot find the signal return trampoline in the C library "
			      "of process %d (neither glibc nor musl?)", pid);
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
	if (inject_find_restorer(as, pid, &in->restorer) < 0)
		goto fail;
	/* glibc 2.35 and later register an rseq area per thread at this offset. */
	{
		uint64_t at;
		struct iovec local = { &in->rseq_offset, sizeof(in->rseq_offset) }, remote;
		if (inject_symbol(as, "ld-linux", "__rseq_offset", &at) == 0) {
			remote = (struct iovec){ (void *)at, sizeof(in->rseq_offset) };
			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(in->rseq_offset))
				in->rseq_offset = 0;
		}
	}
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
				       seen ? "no thread of process %d was running, and outside its "
					      "allocator and dynamic loader, long enough to be called "
					      "into; try again"
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
		inject_let_go(in->tid, 0);
		goto fail;
	}
	in->args_top = (in->regs.rsp - INJECT_RED_ZONE) & ~15ULL;
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
	if (in) {
		free(in->fp);
		free(in->xstate);
	}
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
	uint64_t at = (in->args_top - n) & ~15ULL;

	if (inject_write(in, at, data, n) < 0)
		return 0;
	in->args_top = at;
	return at;
}

/* Write below the arguments a signal frame that holds the thread as it was
 * held, with a system call it was in set to be made again (rt_sigreturn
 * restarts nothing, and wipes the record restart_syscall would resume a
 * sleep from: it would end at once with EINTR), and its vector state; its
 * address (the call's stack pointer) into *FRAME. A relative sleep is made
 * again for what was left of it, which the kernel wrote to its REM argument
 * when it was interrupted (without one, for its whole length); absolute ones
 * (as glibc's timed waits on futexes are) and all else, as they were. */
static int inject_write_frame(struct inject *in, uint64_t *frame)
{
	const struct user_regs_struct *r = &in->regs;
	uint64_t fp = (in->args_top - 64 - in->fp_len) & ~63ULL;
	uint64_t f = ((fp - sizeof(struct inject_sigframe)) & ~15ULL) - 8;
	struct inject_sigframe sf = {
		.pretcode = in->restorer,
		.uc_flags = INJECT_UC_SIGCONTEXT_SS | INJECT_UC_STRICT_RESTORE_SS |
			    (in->xsave ? INJECT_UC_FP_XSTATE : 0),
		.ss_flags = INJECT_SS_KEEP,
		.mc = { r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rdi, r->rsi,
			r->rbp, r->rbx, r->rdx, r->rax, r->rcx, r->rsp, r->rip, r->eflags,
			(uint16_t)r->cs, (uint16_t)r->gs, (uint16_t)r->fs, (uint16_t)r->ss },
		.uc_sigmask = in->sigmask,
	};

	sf.mc.fpstate = fp;
	if ((int64_t)r->orig_rax >= 0) {
		switch ((int64_t)r->rax) {
		case -512: /* ERESTARTSYS */
		case -513: /* ERESTARTNOINTR */
		case -514: /* ERESTARTNOHAND */
		case -516: /* ERESTART_RESTARTBLOCK */
			sf.mc.rax = r->orig_rax;
			sf.mc.rip -= 2; /* the syscall instruction again */
			if (r->orig_rax == SYS_nanosleep && r->rsi)
				sf.mc.rdi = r->rsi; /* nanosleep(rem, rem) */
			else if (r->orig_rax == SYS_clock_nanosleep && !(r->rsi & TIMER_ABSTIME) && r->r10)
				sf.mc.rdx = r->r10;
			break;
		}
	}
	if (inject_write(in, fp, in->fp, in->fp_len) < 0 || inject_write(in, f, &sf, sizeof(sf)) < 0)
		return -1;
	*frame = f;
	return 0;
}

/* Let go of the thread while it runs a call, which then returns through its
 * frame and puts it back by itself; a signal that stopped it is delivered. */
static void inject_abandon(struct inject *in)
{
	int status;

	in->let_go = true;
	if (ptrace(PTRACE_INTERRUPT, in->tid, NULL, NULL) == 0 &&
	    snapshot_wait(in->tid, INJECT_LET_GO_NS, &status) == 0) {
		bool plain = status >> 16 != PTRACE_EVENT_STOP && WSTOPSIG(status) != (SIGTRAP | 0x80);
		inject_let_go(in->tid, plain ? WSTOPSIG(status) : 0);
	}
	/* Else cprof's exit lets it go. */
}

/* From the entry of the last call's rt_sigreturn, let it run (the thread
 * back as held) and stop at its exit, where the next call is set up: no
 * system call is skipped, which a seccomp filter that allows only known
 * numbers would see as -1 and kill the process for. */
static int inject_past_return(struct inject *in, int64_t deadline)
{
	int status, sig = 0;

	for (;;) {
		int64_t left = deadline - clock_ns(CLOCK_MONOTONIC);
		int w;

		if (ptrace(PTRACE_SYSCALL, in->tid, NULL, (void *)(long)sig) < 0 ||
		    (w = snapshot_wait(in->tid, left > 0 ? left : 0, &status)) == -1) {
			in->let_go = true;
			return cp_error_errno(ESRCH, "process %d exited during a call into it", in->pid);
		}
		if (w == -2) {
			inject_abandon(in);
			return cp_error_errno(ETIMEDOUT, "thread %d of process %d did not come back",
					      in->tid, in->pid);
		}
		sig = 0;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80))
			break;
		if (status >> 16 != PTRACE_EVENT_STOP)
			sig = WSTOPSIG(status);
	}
	in->at_entry = false;
	return 0;
}

/* Whether the held thread, stopped by signal SIG, faulted in the call (the
 * kernel raised it) rather than was sent a signal. */
static bool inject_faulted(const struct inject *in, int sig)
{
	siginfo_t si;

	return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) &&
	       ptrace(PTRACE_GETSIGINFO, in->tid, NULL, &si) == 0 && si.si_code > 0;
}

/* Long: the wait for the call's end, through the system calls, signals and
 * stops that come first, each handled apart. */
int inject_call(struct inject *in, uint64_t fn, const uint64_t *args, int nargs, int64_t timeout_ns)
{
	int64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
	struct user_regs_struct r = in->regs;
	struct iovec iov = { &r, sizeof(r) };
	unsigned long long *argregs[6] = { &r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9 };
	uint64_t frame;
	int status, sig = 0, faulted = 0, rc = -1;
	sigset_t chld, old;

	static int calls;

	if (in->broken || in->let_go)
		return cp_error("no more calls into process %d: an earlier one failed", in->pid);
	/* The waits sleep until SIGCHLD, which must be blocked to be waited for. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	if ((in->at_entry && inject_past_return(in, deadline) < 0) ||
	    inject_write_frame(in, &frame) < 0)
		goto out;
	for (int i = 0; i < nargs && i < 6; i++)
		*argregs[i] = args[i];
	r.rip = fn;
	r.rsp = frame;
	r.rax = 0;
	/* Not in a system call: none is restarted over the call. */
	r.orig_rax = (uint64_t)-1;
	if (ptrace(PTRACE_SETREGSET, in->tid, (void *)NT_PRSTATUS, &iov) < 0) {
		cp_error("cannot set the registers of thread %d: %s", in->tid, strerror(errno));
		goto out;
	}
	in->frame = frame;
	calls++;
	for (;;) {
		int64_t left = deadline - clock_ns(CLOCK_MONOTONIC);
		int w;

		if (ptrace(PTRACE_SYSCALL, in->tid, NULL, (void *)(long)sig) < 0) {
			cp_error_errno(ESRCH, "process %d exited during a call into it", in->pid);
			in->let_go = true;
			break;
		}
		/* The tests' way to kill cprof in the middle of a call. */
		if (getenv("CPROF_INJECT_DIE_AT") && atoi(getenv("CPROF_INJECT_DIE_AT")) == calls)
			kill(getpid(), SIGKILL);
		if ((w = snapshot_wait(in->tid, left > 0 ? left : 0, &status)) == -1) {
			cp_error_errno(ESRCH, "process %d exited during a call into it", in->pid);
			in->let_go = true;
			break;
		}
		if (w == -2) {
			inject_abandon(in);
			cp_error_errno(ETIMEDOUT, "a call into process %d did not return in %lld s; its "
				       "thread puts itself back when it does", in->pid,
				       (long long)(timeout_ns / 1000000000));
			break;
		}
		sig = 0;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			/* The frame's rt_sigreturn: the call (or the fault) is done. */
			if (ptrace(PTRACE_GETREGSET, in->tid, (void *)NT_PRSTATUS, &iov) == 0 &&
			    r.orig_rax == SYS_rt_sigreturn && r.rsp == frame + 8) {
				in->at_entry = true;
				rc = faulted ? cp_error("a call into process %d faulted (signal %d): its "
							"thread was put back, but may hold a lock the call "
							"took; restart the process to be sure", in->pid,
							faulted) : 0;
				in->broken = faulted;
				break;
			}
			continue;
		}
		if (status >> 16 == PTRACE_EVENT_STOP)
			continue;
		sig = WSTOPSIG(status);
		/* A fault of the call's own: not let end the process; the thread
		 * is sent to its frame's return. */
		if (inject_faulted(in, sig) &&
		    ptrace(PTRACE_GETREGSET, in->tid, (void *)NT_PRSTATUS, &iov) == 0) {
			faulted = sig;
			r.rip = in->restorer;
			r.rsp = frame + 8;
			ptrace(PTRACE_SETREGSET, in->tid, (void *)NT_PRSTATUS, &iov);
			sig = 0;
		}
	}
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int64_t inject_end(struct inject *in)
{
	int64_t held;

	if (!in)
		return 0;
	/* Let go at the entry of the frame's rt_sigreturn, which puts the thread
	 * back as it goes on; with no call made, it stands as it was held. */
	if (!in->let_go)
		inject_let_go(in->tid, 0);
	held = clock_ns(CLOCK_MONOTONIC) - in->stopped_ns;
	free(in->fp);
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
