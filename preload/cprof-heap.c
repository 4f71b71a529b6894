/* libcprof-heap.so: loaded into a process by `cprof heap` (preloaded into a
 * command it starts, or dlopened into a running one through ptrace), it
 * stands between the program and its allocator and samples allocations as
 * tcmalloc, jemalloc and Go do: each thread counts down bytes drawn from an
 * exponential distribution of mean RATE, and the allocation that crosses zero
 * is recorded (size, address, thread, return addresses) in a ring that cprof
 * reads, as is the free of a recorded address (see heapwire.h). An unsampled
 * call costs a thread-local subtraction, and its free one load of a counter
 * (and, with samples live, of a filter byte).
 *
 * Calls are passed on to the allocator the program would have called: the
 * next definition after this library's when preloaded (glibc's, or a jemalloc
 * or tcmalloc the program links or preloads), the one its references were
 * bound to when attached. Attached, the library routes those references
 * (GOT entries of every loaded module) through itself, and puts them back
 * when cprof detaches or is gone. Without cprof every call passes straight
 * through. Kept free of cprof's library and of libstdc++. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "heapwire.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* The allocator's functions that calls are passed on to. Until they are
 * looked up (preloaded: at the first call) they are the stubs below, which
 * look them up and call them, so that no entry point checks. */
struct heap_fns {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
};
static struct heap_fns heap_real;

/* The live sampled addresses: an open-addressing set updated with
 * compare-and-swap, probed at most SET_PROBES slots from home, and in front of
 * it a counting filter whose non-zero buckets are mirrored in a bitmap, so
 * that a free of an unsampled address (nearly all) usually stops at one bit
 * of 8 KiB that stay in the first-level cache. 1 MiB + 72 KiB of anonymous
 * memory, resident only where touched, and given back when sampling stops. */
#define SET_BITS 17
#define FILTER_BITS 16
#define SET_PROBES 64
#define SLOT_EMPTY 0
#define SLOT_TOMB 1

struct heap_tables {
	_Atomic uint64_t slots[1u << SET_BITS];
	_Atomic uint8_t filter[1u << FILTER_BITS];
};
static struct heap_tables *heap_tab;
/* The filter's bucket of an address is its bits 4 to 19 (blocks are 16-byte
 * aligned), not a hash: a free tests one bit with a shift and a mask. In
 * bss, so that the test needs no pointer. */
static _Atomic uint64_t heap_bits[1u << (FILTER_BITS - 6)];

static atomic_int heap_fd = -1; /* -1: pass-through */
static struct heapwire_ring *heap_ring; /* its records follow at HEAPWIRE_RING_OFFSET */
static double heap_rate = 512 * 1024;
static uintptr_t heap_self_start, heap_self_end; /* this library's code */

struct heap_thread {
	int64_t countdown; /* bytes until the next sample */
	uint64_t rng;
	int32_t tid;
	uint32_t samples;
	char name[16]; /* the thread's name, read again every 64 samples */
	bool init;
	bool busy; /* recording a sample: calls made meanwhile are not sampled */
};
static TLS struct heap_thread heap_tl;

static int64_t heap_stop(void);
static void heap_repatch(void);

static inline uint64_t heap_hash(uintptr_t p)
{
	return (uint64_t)(p >> 4) * 0x9e3779b97f4a7c15ULL;
}

/* Bits 8 to 23 of the address: one shift, and blocks the allocator maps a
 * page each (at a page and 16) spread over 4,096 buckets (bits 4 to 19 left
 * them 256), at the price of 256-byte buckets. */
static inline size_t heap_bucket(uintptr_t p)
{
	return (p >> 8) & ((1u << FILTER_BITS) - 1);
}

static int64_t heap_draw(void)
{
	uint64_t x = heap_tl.rng;
	double u;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	heap_tl.rng = x;
	u = (double)(((x * 0x2545f4914f6cdd1dULL) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
	return (int64_t)(-log(u) * heap_rate) + 1;
}

/* Preloaded: the allocator after this library in the lookup order, looked
 * up by the first call. A call that dlsym makes meanwhile on the same thread
 * gets NULL (glibc's dlsym copes: it allocates only to report an error);
 * another thread's waits. */
static __attribute__((noinline)) void heap_resolve(void)
{
	static atomic_int state; /* 0, 1: being looked up, 2: done */
	static TLS bool looking;
	int expected = 0;
	struct heap_fns f;

	if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
		while (!looking && atomic_load(&state) != 2)
			sched_yield();
		return;
	}
	looking = true;
	f.malloc = dlsym(RTLD_NEXT, "malloc");
	f.calloc = dlsym(RTLD_NEXT, "calloc");
	f.realloc = dlsym(RTLD_NEXT, "realloc");
	f.free = dlsym(RTLD_NEXT, "free");
	f.memalign = dlsym(RTLD_NEXT, "memalign");
	f.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	f.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	f.valloc = dlsym(RTLD_NEXT, "valloc");
	f.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	heap_real = f;
	looking = false;
	atomic_store(&state, 2);
}

static void *heap_stub_malloc(size_t n)
{
	heap_resolve();
	return heap_real.malloc == heap_stub_malloc ? NULL : heap_real.malloc(n);
}

static void *heap_stub_calloc(size_t n, size_t size)
{
	heap_resolve();
	return heap_real.calloc == heap_stub_calloc ? NULL : heap_real.calloc(n, size);
}

static void *heap_stub_realloc(void *p, size_t n)
{
	heap_resolve();
	return heap_real.realloc == heap_stub_realloc ? NULL : heap_real.realloc(p, n);
}

static void heap_stub_free(void *p)
{
	heap_resolve();
	if (heap_real.free != heap_stub_free)
		heap_real.free(p);
}

static void *heap_stub_memalign(size_t align, size_t n)
{
	heap_resolve();
	return heap_real.memalign == heap_stub_memalign ? NULL : heap_real.memalign(align, n);
}

static int heap_stub_posix_memalign(void **out, size_t align, size_t n)
{
	heap_resolve();
	return heap_real.posix_memalign == heap_stub_posix_memalign ?
		       ENOMEM : heap_real.posix_memalign(out, align, n);
}

static void *heap_stub_aligned_alloc(size_t align, size_t n)
{
	heap_resolve();
	return heap_real.aligned_alloc == heap_stub_aligned_alloc ? NULL :
								    heap_real.aligned_alloc(align, n);
}

static void *heap_stub_valloc(size_t n)
{
	heap_resolve();
	return heap_real.valloc == heap_stub_valloc ? NULL : heap_real.valloc(n);
}

static void *heap_stub_pvalloc(size_t n)
{
	heap_resolve();
	return heap_real.pvalloc == heap_stub_pvalloc ? NULL : heap_real.pvalloc(n);
}

static struct heap_fns heap_real = {
	heap_stub_malloc, heap_stub_calloc, heap_stub_realloc, heap_stub_free,
	heap_stub_memalign, heap_stub_posix_memalign, heap_stub_aligned_alloc,
	heap_stub_valloc, heap_stub_pvalloc,
};

/* A hello or a sync, on the socket. */
static void heap_send(struct heapwire_msg *m)
{
	int fd = atomic_load_explicit(&heap_fd, memory_order_relaxed);
	ssize_t r;

	if (fd < 0)
		return;
	do
		r = send(fd, m, HEAPWIRE_SIZE(m->nframes), MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	/* cprof is gone: pass everything through from now on. */
	if (r < 0)
		heap_stop();
}

/* Whether cprof's end of the socket is still open. */
static bool heap_peer_alive(void)
{
	int fd = atomic_load(&heap_fd);
	struct pollfd p = { fd, POLLRDHUP, 0 };

	return fd >= 0 && poll(&p, 1, 0) == 0;
}

/* Append M to the ring (see heapwire.h). A full ring means cprof is behind:
 * wait for it, a millisecond at a time, unless it is gone. */
static void heap_put(struct heapwire_msg *m)
{
	size_t len = HEAPWIRE_SIZE(m->nframes), mask = HEAPWIRE_RING_DATA - 1, off, first;
	struct heapwire_ring *ring = heap_ring;
	char *data;
	uint64_t pos;

	if (atomic_load_explicit(&heap_fd, memory_order_relaxed) < 0 || !ring)
		return;
	data = (char *)ring + HEAPWIRE_RING_OFFSET;
	pos = __atomic_fetch_add(&ring->head, len, __ATOMIC_RELAXED);
	while (pos + len - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) > HEAPWIRE_RING_DATA) {
		struct timespec ms = { 0, 1000000 };
		if (!heap_peer_alive()) {
			heap_stop();
			return;
		}
		nanosleep(&ms, NULL);
	}
	/* The 8 bytes of type and count never straddle the end; the rest may. */
	off = pos & mask;
	first = len - 8 < HEAPWIRE_RING_DATA - off - 8 ? len - 8 : HEAPWIRE_RING_DATA - off - 8;
	memcpy(data + off + 8, (char *)m + 8, first);
	memcpy(data, (char *)m + 8 + first, len - 8 - first);
	((uint32_t *)(data + off))[1] = m->nframes;
	__atomic_store_n((uint32_t *)(data + off), m->type, __ATOMIC_RELEASE);
}

/* Give back a count of filter bucket B, clearing its bit with the last. */
static void heap_filter_drop(size_t b)
{
	/* An insert into the bucket between the count reaching zero and the
	 * bit's clearing sets the bit again after it. */
	if (atomic_fetch_sub(&heap_tab->filter[b], 1) == 1) {
		atomic_fetch_and(&heap_bits[b >> 6], ~(1ULL << (b & 63)));
		if (atomic_load(&heap_tab->filter[b]))
			atomic_fetch_or(&heap_bits[b >> 6], 1ULL << (b & 63));
	}
}

static bool heap_insert(uintptr_t p)
{
	uint64_t h = heap_hash(p);
	size_t b = heap_bucket(p), mask = (1u << SET_BITS) - 1, i = h >> (64 - SET_BITS);
	_Atomic uint8_t *f = &heap_tab->filter[b];
	uint8_t c = atomic_load_explicit(f, memory_order_relaxed);

	/* The bucket's count taken first, and never past 255. */
	do
		if (c == 255)
			return false;
	while (!atomic_compare_exchange_weak(f, &c, (uint8_t)(c + 1)));
	if (c == 0)
		atomic_fetch_or(&heap_bits[b >> 6], 1ULL << (b & 63));
	for (int k = 0; k < SET_PROBES; k++, i = (i + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&heap_tab->slots[i], memory_order_relaxed);
		if ((cur == SLOT_EMPTY || cur == SLOT_TOMB) &&
		    atomic_compare_exchange_strong(&heap_tab->slots[i], &cur, p))
			return true;
	}
	heap_filter_drop(b);
	return false;
}

/* Remove P if it is a live sampled address; true if it was. */
static bool heap_remove(uintptr_t p)
{
	uint64_t h = heap_hash(p);
	size_t mask = (1u << SET_BITS) - 1, i = h >> (64 - SET_BITS);

	for (int k = 0; k < SET_PROBES; k++, i = (i + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&heap_tab->slots[i], memory_order_relaxed);
		if (cur == SLOT_EMPTY)
			return false;
		if (cur == p && atomic_compare_exchange_strong(&heap_tab->slots[i], &cur, SLOT_TOMB)) {
			heap_filter_drop(heap_bucket(p));
			return true;
		}
	}
	return false;
}

/* Called before the real free or realloc of P: a sampled address is
 * reported while it is still allocated, so no thread can be handed it again
 * and report it before this free arrives. */
static __attribute__((noinline)) void heap_forget(void *p)
{
	struct heapwire_msg m;
	int cancel;

	if (!p || !heap_remove((uintptr_t)p))
		return;
	/* heap_put may poll and sleep: no cancellation point inside free. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	m.type = HEAPWIRE_FREE;
	m.nframes = 0;
	m.addr = (uintptr_t)p;
	m.size = 0;
	m.tid = 0;
	m.pad = 0;
	memset(m.name, 0, sizeof(m.name));
	heap_put(&m);
	pthread_setcancelstate(cancel, NULL);
}

static void heap_record(void *p, size_t n)
{
	struct heapwire_msg m;
	void *ips[HEAPWIRE_MAX_FRAMES + 8];
	int got, skip = 0;

	if (!heap_tl.tid)
		heap_tl.tid = (int32_t)syscall(SYS_gettid);
	got = unw_backtrace(ips, HEAPWIRE_MAX_FRAMES + 8);
	while (skip < got && (uintptr_t)ips[skip] >= heap_self_start &&
	       (uintptr_t)ips[skip] < heap_self_end)
		skip++;
	m.nframes = 0;
	for (int i = skip; i < got && m.nframes < HEAPWIRE_MAX_FRAMES; i++)
		m.frames[m.nframes++] = (uintptr_t)ips[i];
	m.addr = (uintptr_t)p;
	m.size = n;
	m.tid = heap_tl.tid;
	m.pad = 0;
	if (!(heap_tl.samples++ & 63)) {
		memset(heap_tl.name, 0, sizeof(heap_tl.name));
		prctl(PR_GET_NAME, heap_tl.name);
	}
	memcpy(m.name, heap_tl.name, sizeof(m.name));
	if (!heap_insert((uintptr_t)p)) {
		m.type = HEAPWIRE_LOST;
		m.nframes = 0;
		m.size = 1;
	} else {
		m.type = HEAPWIRE_ALLOC;
	}
	heap_put(&m);
}

/* Whether sampling should end: cprof asked (the ring's flag), or, every
 * eighth sample of a thread, cprof is found gone (a poll of the socket). */
static bool heap_should_stop(void)
{
	struct heapwire_ring *ring = heap_ring;

	return ring && (__atomic_load_n(&ring->detach, __ATOMIC_RELAXED) ||
			(!(heap_tl.samples & 7) && !heap_peer_alive()));
}

/* The countdown crossed zero (or the thread is new): draw the next one and
 * record P unless this thread is already recording. */
static __attribute__((noinline)) void *heap_slow(void *p, size_t n)
{
	int cancel;

	if (!heap_tl.init) {
		heap_tl.init = true;
		heap_tl.rng = ((uint64_t)(uintptr_t)&heap_tl * 0x9e3779b97f4a7c15ULL) ^
			      (uint64_t)clock() ^ ((uint64_t)getpid() << 32) ^ 0x5851f42d4c957f2dULL;
		heap_tl.countdown = heap_draw() - (int64_t)n;
		if (heap_tl.countdown > 0)
			return p;
	}
	heap_tl.countdown = heap_draw();
	if (!p || heap_tl.busy || atomic_load_explicit(&heap_fd, memory_order_relaxed) < 0)
		return p;
	heap_tl.busy = true;
	/* The system calls below (poll, open, read, nanosleep) are cancellation
	 * points: none may act inside malloc. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	if (heap_should_stop()) {
		heap_stop();
	} else {
		heap_record(p, n);
		heap_repatch();
	}
	pthread_setcancelstate(cancel, NULL);
	heap_tl.busy = false;
	return p;
}

static inline void *heap_account(void *p, size_t n)
{
	if (__builtin_expect((heap_tl.countdown -= (int64_t)n) > 0, 1))
		return p;
	return heap_slow(p, n);
}

/* The entry points take the countdown first, so that the common case ends
 * in a jump to the allocator's function rather than a call and a return. */
static inline bool heap_due(size_t n)
{
	return __builtin_expect((heap_tl.countdown -= (int64_t)n) <= 0, 0);
}

static __attribute__((noinline)) void *heap_malloc_sampled(size_t n)
{
	return heap_slow(heap_real.malloc(n), n);
}

/* The entry points, under names of their own so that this library can name
 * them (the exported names may be bound to another definition): exported as
 * the allocator's names below. */
static void *heap_malloc(size_t n)
{
	if (heap_due(n))
		return heap_malloc_sampled(n);
	return heap_real.malloc(n);
}

static void *heap_calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total) || !heap_due(total))
		return heap_real.calloc(n, size);
	return heap_slow(heap_real.calloc(n, size), total);
}

/* The fast negative check of a free: no sample is live in P's filter
 * bucket (NULL's is never set). */
static inline bool heap_maybe_live(void *p)
{
	size_t b = heap_bucket((uintptr_t)p);

	return __builtin_expect(atomic_load_explicit(&heap_bits[b >> 6], memory_order_relaxed) >>
					(b & 63) & 1, 0);
}

static void heap_free(void *p)
{
	if (heap_maybe_live(p))
		heap_forget(p);
	heap_real.free(p);
}

static void *heap_realloc(void *p, size_t n)
{
	void *q;

	if (heap_maybe_live(p))
		heap_forget(p);
	q = heap_real.realloc(p, n);
	if (p && n == 0)
		return q;
	return heap_account(q, n);
}

static void *heap_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return heap_realloc(p, total);
}

static int heap_posix_memalign(void **out, size_t align, size_t n)
{
	int rc = heap_real.posix_memalign(out, align, n);

	if (rc == 0)
		*out = heap_account(*out, n);
	return rc;
}

static void *heap_aligned_alloc(size_t align, size_t n)
{
	return heap_account(heap_real.aligned_alloc(align, n), n);
}

static void *heap_memalign(size_t align, size_t n)
{
	return heap_account(heap_real.memalign(align, n), n);
}

static void *heap_valloc(size_t n)
{
	return heap_account(heap_real.valloc(n), n);
}

/* An allocator without pvalloc (jemalloc has none) gets memalign of whole pages. */
static void *heap_pvalloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (heap_real.pvalloc)
		return heap_account(heap_real.pvalloc(n), n);
	return heap_account(heap_real.memalign(page, (n + page - 1) & ~(page - 1)), n);
}

EXPORT void *malloc(size_t n) __attribute__((alias("heap_malloc")));
EXPORT void *calloc(size_t n, size_t size) __attribute__((alias("heap_calloc")));
EXPORT void free(void *p) __attribute__((alias("heap_free")));
EXPORT void *realloc(void *p, size_t n) __attribute__((alias("heap_realloc")));
EXPORT void *reallocarray(void *p, size_t n, size_t size) __attribute__((alias("heap_reallocarray")));
EXPORT int posix_memalign(void **out, size_t align, size_t n)
	__attribute__((alias("heap_posix_memalign")));
EXPORT void *aligned_alloc(size_t align, size_t n) __attribute__((alias("heap_aligned_alloc")));
EXPORT void *memalign(size_t align, size_t n) __attribute__((alias("heap_memalign")));
EXPORT void *valloc(size_t n) __attribute__((alias("heap_valloc")));
EXPORT void *pvalloc(size_t n) __attribute__((alias("heap_pvalloc")));

/* --- Attached: references rerouted through the library. */

/* The names whose references are rerouted, each with the entry point here
 * and where the allocator's own function is kept. */
static const struct heap_hook {
	const char *name;
	void *ours;
	size_t real; /* offset in struct heap_fns */
} heap_hooks[] = {
	{ "malloc", (void *)heap_malloc, offsetof(struct heap_fns, malloc) },
	{ "calloc", (void *)heap_calloc, offsetof(struct heap_fns, calloc) },
	{ "realloc", (void *)heap_realloc, offsetof(struct heap_fns, realloc) },
	{ "free", (void *)heap_free, offsetof(struct heap_fns, free) },
	{ "memalign", (void *)heap_memalign, offsetof(struct heap_fns, memalign) },
	{ "posix_memalign", (void *)heap_posix_memalign, offsetof(struct heap_fns, posix_memalign) },
	{ "aligned_alloc", (void *)heap_aligned_alloc, offsetof(struct heap_fns, aligned_alloc) },
	{ "valloc", (void *)heap_valloc, offsetof(struct heap_fns, valloc) },
	{ "pvalloc", (void *)heap_pvalloc, offsetof(struct heap_fns, pvalloc) },
	{ "reallocarray", (void *)heap_reallocarray, offsetof(struct heap_fns, realloc) },
};
#define HEAP_NHOOKS (sizeof(heap_hooks) / sizeof(*heap_hooks))

/* A rerouted reference and the allocator's function it held, put back at
 * the end. heap_gots and the rest below are touched only inside
 * dl_iterate_phdr's callbacks, which the dynamic loader runs one thread at a
 * time under its write lock: no lock of this library's, so no lock order to
 * get wrong, and a module listed there is not unmapped meanwhile. */
struct heap_got {
	void **at;
	void *was;
	unsigned hook; /* put back only if it still holds this hook's function */
	bool alive;    /* in a module still loaded, at the last look */
};
#define HEAP_GOT_MAX 16384
static struct heap_got *heap_gots; /* mmap'ed, HEAP_GOT_MAX */
static size_t heap_ngots;
static bool heap_attached;     /* references are rerouted */
/* dl_iterate_phdr's counts of loads and unloads at the last full rerouting,
 * and when the next periodic one is due (slots bound lazily since). */
static unsigned long long heap_adds, heap_subs;
static int64_t heap_next_pass;
#define HEAP_PASS_NS 1000000000
/* Modules seen relocated (their RELRO read-only), by their first address;
 * forgotten when a module is unloaded (another may be at the same address). */
#define HEAP_DONE_MAX 1024
static uintptr_t heap_done[HEAP_DONE_MAX];
static size_t heap_ndone;
static unsigned long long heap_done_subs;
/* Set while references are put back: an attach waits for it to end. */
static atomic_flag heap_unpatching = ATOMIC_FLAG_INIT;
/* By hook: what a slot bound to the allocator holds (the function calls are
 * passed on to, but reallocarray's own for reallocarray), and the program's
 * canonical PLT entry for the name if it has one (see heap_bound): a slot
 * that holds that leads to the program's own rerouted slot, and is left. */
static void *heap_bound_addr[16], *heap_canon[16];

static bool heap_is_ours(const void *v);

struct heap_module {
	uintptr_t base, lo, hi, relro_lo, relro_hi;
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
	const ElfW(Rela) *rels[2]; /* DT_RELA and DT_JMPREL */
	size_t nrels[2];
};

static uintptr_t heap_dyn_ptr(const struct heap_module *m, ElfW(Addr) v)
{
	/* ld.so relocates these in place, except where the section is read-only. */
	return m->base && v < m->base ? v + m->base : v;
}

/* The module of INFO, unless it is this library or the vDSO (whose dynamic
 * section is unrelocated). RELRO as ld.so protects it: whole pages. */
static bool heap_module_read(const struct dl_phdr_info *info, struct heap_module *m)
{
	const ElfW(Dyn) *dyn = NULL;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	memset(m, 0, sizeof(*m));
	m->base = info->dlpi_addr;
	m->lo = UINTPTR_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(m->base + ph->p_vaddr);
		if (ph->p_type == PT_LOAD && ph->p_vaddr < m->lo)
			m->lo = ph->p_vaddr;
		if (ph->p_type == PT_LOAD && ph->p_vaddr + ph->p_memsz > m->hi)
			m->hi = ph->p_vaddr + ph->p_memsz;
		if (ph->p_type == PT_GNU_RELRO) {
			m->relro_lo = (m->base + ph->p_vaddr) & ~(page - 1);
			m->relro_hi = (m->base + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
		}
	}
	if (!dyn || (m->base + m->lo <= heap_self_start && heap_self_start < m->base + m->hi) ||
	    strstr(info->dlpi_name, "linux-vdso"))
		return false;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: m->symtab = (const ElfW(Sym) *)heap_dyn_ptr(m, d->d_un.d_ptr); break;
		case DT_STRTAB: m->strtab = (const char *)heap_dyn_ptr(m, d->d_un.d_ptr); break;
		case DT_STRSZ: m->strsz = d->d_un.d_val; break;
		case DT_RELA: m->rels[0] = (const ElfW(Rela) *)heap_dyn_ptr(m, d->d_un.d_ptr); break;
		case DT_RELASZ: m->nrels[0] = d->d_un.d_val / sizeof(ElfW(Rela)); break;
		case DT_JMPREL: m->rels[1] = (const ElfW(Rela) *)heap_dyn_ptr(m, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: m->nrels[1] = d->d_un.d_val / sizeof(ElfW(Rela)); break;
		}
	}
	return m->symtab && m->strtab;
}

/* Whether the page at ADDR is writable now, from /proc/self/maps, read with
 * system calls alone (this runs inside malloc): 1, 0, or -1 if unknown. */
static int heap_page_writable(uintptr_t addr)
{
	char buf[4096], line[160];
	size_t len = 0;
	bool skip = false;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), rc = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (rc < 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && rc < 0; i++) {
			unsigned long start, end;
			char perms[5];

			if (buf[i] != '\n') {
				if (len + 1 < sizeof(line))
					line[len++] = buf[i];
				else
					skip = true;
				continue;
			}
			line[len] = '\0';
			if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && addr >= start &&
			    addr < end)
				rc = perms[1] == 'w';
			len = 0;
			skip = false;
		}
	}
	(void)skip;
	close(fd);
	return rc;
}

/* Whether the module M is relocated and may be rerouted: no RELRO, or its
 * RELRO made read-only already (dl_iterate_phdr lists a module before the
 * loader has relocated it, and its RELRO stays writable until then: storing
 * and protecting there meanwhile made the loader fault). */
static bool heap_module_ready(const struct heap_module *m, unsigned long long subs)
{
	uintptr_t first = m->base + m->lo;

	if (m->relro_lo >= m->relro_hi)
		return true;
	if (subs != heap_done_subs) {
		heap_ndone = 0;
		heap_done_subs = subs;
	}
	for (size_t i = 0; i < heap_ndone; i++)
		if (heap_done[i] == first)
			return true;
	/* Unknown (no /proc, no descriptor left): not known to be safe. */
	if (heap_page_writable(m->relro_lo) != 0)
		return false;
	if (heap_ndone < HEAP_DONE_MAX)
		heap_done[heap_ndone++] = first;
	return true;
}

/* The hook of relocation R of M, if it is a GOT entry (JUMP_SLOT, GLOB_DAT)
 * for one of heap_hooks' names; -1 if not. */
static int heap_rel_hook(const struct heap_module *m, const ElfW(Rela) *r)
{
	unsigned type = ELF64_R_TYPE(r->r_info);
	const ElfW(Sym) *sym = &m->symtab[ELF64_R_SYM(r->r_info)];
	const char *name;

	if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || !ELF64_R_SYM(r->r_info) ||
	    sym->st_name >= m->strsz)
		return -1;
	name = m->strtab + sym->st_name;
	if (name[0] != 'm' && name[0] != 'c' && name[0] != 'r' && name[0] != 'f' &&
	    name[0] != 'p' && name[0] != 'a' && name[0] != 'v')
		return -1;
	for (size_t h = 0; h < HEAP_NHOOKS; h++)
		if (strcmp(name, heap_hooks[h].name) == 0)
			return (int)h;
	return -1;
}

static bool heap_is_ours(const void *v)
{
	for (size_t h = 0; h < HEAP_NHOOKS; h++)
		if (v == heap_hooks[h].ours)
			return true;
	return false;
}

/* Whether a slot of M's is bound to another allocator than the one calls
 * are passed on to (a module with one of its own, or a DEEPBIND scope):
 * then none of its slots is rerouted, lest its blocks reach the wrong free.
 * A slot not bound yet (lazy binding: its PLT stub, in M) is no sign. */
static bool heap_module_foreign(const struct heap_module *m)
{
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; m->rels[t] && i < m->nrels[t]; i++) {
			int h = heap_rel_hook(m, &m->rels[t][i]);
			void *cur;

			if (h < 0)
				continue;
			cur = __atomic_load_n((void **)(m->base + m->rels[t][i].r_offset), __ATOMIC_ACQUIRE);
			if (cur != heap_bound_addr[h] && !heap_is_ours(cur) && cur != heap_canon[h] &&
			    ((uintptr_t)cur < m->base + m->lo || (uintptr_t)cur >= m->base + m->hi))
				return true;
		}
	return false;
}

/* Store V at AT, on a page that RELRO makes read-only after relocation
 * when RELRO says so: made writable for the store, read-only again after, as
 * the loader left it. */
static bool heap_got_store(const struct heap_module *m, void **at, void *v)
{
	uintptr_t page = (uintptr_t)at & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	bool relro = page >= m->relro_lo && page < m->relro_hi;

	if (relro && mprotect((void *)page, len, PROT_READ | PROT_WRITE) < 0)
		return false;
	__atomic_store_n(at, v, __ATOMIC_RELEASE);
	if (relro)
		mprotect((void *)page, len, PROT_READ);
	return true;
}

struct heap_pass {
	bool frees;      /* this pass reroutes free, realloc, reallocarray; the next the rest */
	bool incomplete; /* a module was skipped while the loader relocates it */
};

static bool heap_hook_frees(size_t h)
{
	return heap_hooks[h].real == offsetof(struct heap_fns, free) ||
	       heap_hooks[h].real == offsetof(struct heap_fns, realloc);
}

/* Reroute M's slots that hold the allocator's function (those of PASS's
 * kind): frees first, over every module, so that no block is sampled through
 * a rerouted malloc and freed through a free not rerouted yet. */
static int heap_patch_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct heap_pass *pass = ctx;
	struct heap_module m;

	/* Stopped meanwhile: nothing more is rerouted. */
	if (atomic_load(&heap_fd) < 0)
		return 1;
	if (!heap_module_read(info, &m))
		return 0;
	if (!heap_module_ready(&m, size >= offsetof(struct dl_phdr_info, dlpi_subs) +
					   sizeof(info->dlpi_subs) ? info->dlpi_subs : 0)) {
		pass->incomplete = true;
		return 0;
	}
	if (heap_module_foreign(&m))
		return 0;
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; m.rels[t] && i < m.nrels[t] && heap_ngots < HEAP_GOT_MAX; i++) {
			int h = heap_rel_hook(&m, &m.rels[t][i]);
			void **at = (void **)(m.base + m.rels[t][i].r_offset);
			void *cur;

			if (h < 0 || heap_hook_frees(h) != pass->frees)
				continue;
			cur = __atomic_load_n(at, __ATOMIC_ACQUIRE);
			/* A free slot not bound yet (its PLT stub) too: else a block
			 * sampled elsewhere and freed through it stays counted. */
			if ((cur == heap_bound_addr[h] ||
			     (pass->frees && ELF64_R_TYPE(m.rels[t][i].r_info) == R_X86_64_JUMP_SLOT &&
			      (uintptr_t)cur >= m.base + m.lo && (uintptr_t)cur < m.base + m.hi)) &&
			    heap_got_store(&m, at, heap_hooks[h].ours))
				heap_gots[heap_ngots++] = (struct heap_got){ at, cur, (unsigned)h, true };
		}
	return 0;
}

/* The loader's counts of loads and unloads, from the first module listed. */
static int heap_counts(struct dl_phdr_info *info, size_t size, void *ctx)
{
	unsigned long long *c = ctx;

	c[0] = c[1] = 0;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		c[0] = info->dlpi_adds;
		c[1] = info->dlpi_subs;
	}
	return 1;
}

/* Drop the entries of modules unloaded since, in two passes (each under the
 * loader's lock, as every touch of the table): the first marks the entries
 * in modules listed now, the second keeps those. A module loaded and
 * unloaded again and again would otherwise fill the table. */
static int heap_prune_mark(struct dl_phdr_info *info, size_t size, void *ctx)
{
	int *first = ctx;
	struct heap_module m;

	(void)size;
	if (*first) {
		for (size_t i = 0; i < heap_ngots; i++)
			heap_gots[i].alive = false;
		*first = 0;
	}
	if (!heap_module_read(info, &m))
		return 0;
	for (size_t i = 0; i < heap_ngots; i++)
		if ((uintptr_t)heap_gots[i].at >= m.base + m.lo && (uintptr_t)heap_gots[i].at < m.base + m.hi)
			heap_gots[i].alive = true;
	return 0;
}

static int heap_prune_keep(struct dl_phdr_info *info, size_t size, void *ctx)
{
	size_t kept = 0;

	(void)info;
	(void)size;
	(void)ctx;
	for (size_t i = 0; i < heap_ngots; i++)
		if (heap_gots[i].alive)
			heap_gots[kept++] = heap_gots[i];
	heap_ngots = kept;
	return 1;
}

/* Reroute the references of every loaded module; the count rerouted so far.
 * A module being relocated meanwhile is left for the next sample. */
static size_t heap_patch_all(void)
{
	struct heap_pass pass = { .frees = true };
	unsigned long long c[2];
	struct timespec now;

	dl_iterate_phdr(heap_counts, c);
	if (c[1] != heap_subs) {
		int first = 1;
		dl_iterate_phdr(heap_prune_mark, &first);
		dl_iterate_phdr(heap_prune_keep, NULL);
	}
	dl_iterate_phdr(heap_patch_module, &pass);
	pass.frees = false;
	dl_iterate_phdr(heap_patch_module, &pass);
	if (!pass.incomplete) {
		heap_adds = c[0];
		heap_subs = c[1];
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	heap_next_pass = now.tv_sec * 1000000000LL + now.tv_nsec + HEAP_PASS_NS;
	heap_attached = true;
	return heap_ngots;
}

/* At a sample: modules loaded since the last rerouting (dlopen), and every
 * second, slots bound since (lazy binding) are rerouted too. */
static void heap_repatch(void)
{
	unsigned long long c[2];
	struct timespec now;

	if (!heap_attached)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	dl_iterate_phdr(heap_counts, c);
	if (c[0] != heap_adds || c[1] != heap_subs ||
	    now.tv_sec * 1000000000LL + now.tv_nsec >= heap_next_pass)
		heap_patch_all();
}

struct heap_unpatched {
	int64_t n;
	bool *done; /* by entry */
};

/* Put back the entries that lie in INFO's module (one still loaded) and
 * still hold this library's function. */
static int heap_unpatch_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct heap_unpatched *u = ctx;
	struct heap_module m;

	(void)size;
	if (!heap_module_read(info, &m))
		return 0;
	for (size_t i = 0; i < heap_ngots; i++) {
		const struct heap_got *g = &heap_gots[i];

		if (u->done[i] || (uintptr_t)g->at < m.base + m.lo || (uintptr_t)g->at >= m.base + m.hi)
			continue;
		u->done[i] = true;
		/* The same hook's function still: a slot of a module unloaded
		 * since, now another's at the same address, holds another. */
		if (__atomic_load_n(g->at, __ATOMIC_ACQUIRE) == heap_hooks[g->hook].ours &&
		    heap_got_store(&m, g->at, g->was))
			u->n++;
	}
	return 0;
}

static int heap_unpatch_clear(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)info;
	(void)size;
	(void)ctx;
	heap_ngots = 0;
	heap_attached = false;
	return 1;
}

/* Put every rerouted reference of the modules still loaded back; how many.
 * Those of modules unloaded since are gone with them. Called once sampling
 * has stopped (heap_fd < 0), after which no pass reroutes any more; by one
 * thread at a time (a remote detach and cprof's death seen at a sample may
 * meet). */
static int64_t heap_unpatch(void)
{
	static bool done[HEAP_GOT_MAX];
	struct heap_unpatched u = { 0, done };

	if (atomic_flag_test_and_set(&heap_unpatching))
		return 0;
	memset(done, 0, sizeof(done));
	dl_iterate_phdr(heap_unpatch_module, &u);
	dl_iterate_phdr(heap_unpatch_clear, NULL);
	atomic_flag_clear(&heap_unpatching);
	return u.n;
}



/* Stop sampling and pass every call through: the socket closed, the
 * references put back, the tables' pages given back (a free that reads them
 * meanwhile finds zeros: not sampled). The ring is cprof's to read to the end
 * and let go of (it holds the memfd); only when cprof is gone are its pages
 * given back here. Safe from any thread, at any time, more than once.
 * Returns how many references were put back. */
static int64_t heap_stop(void)
{
	bool gone = !heap_peer_alive();
	int fd = atomic_exchange(&heap_fd, -1);
	int64_t n;

	if (fd >= 0)
		close(fd);
	n = heap_attached ? heap_unpatch() : 0;
	if (fd >= 0) {
		memset((void *)heap_bits, 0, sizeof(heap_bits));
		if (heap_tab)
			madvise(heap_tab, sizeof(*heap_tab), MADV_DONTNEED);
		if (gone && heap_ring)
			madvise((char *)heap_ring + HEAPWIRE_RING_OFFSET, HEAPWIRE_RING_DATA,
				MADV_REMOVE);
	}
	return n;
}

static int heap_find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
	uintptr_t here = (uintptr_t)ctx;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && here >= start &&
		    here < start + ph->p_memsz) {
			heap_self_start = start;
			heap_self_end = start + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/* A forked child is another process that cprof does not follow: it passes
 * through, and lets go of the socket so that cprof sees the end of the
 * parent's. Its references stay rerouted, passing through. */
static void heap_atfork_child(void)
{
	int fd = atomic_exchange(&heap_fd, -1);

	if (fd >= 0)
		close(fd);
	if (heap_ring)
		munmap(heap_ring, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA);
	heap_ring = NULL;
}

/* What sampling needs before it starts: where this library's code is (its
 * frames are left out of stacks), empty tables, and the fork handler (once). */
static bool heap_prepare(void)
{
	static bool once;

	if (!heap_self_start)
		dl_iterate_phdr(heap_find_self, (void *)(uintptr_t)heap_prepare);
	if (!heap_tab) {
		void *t = mmap(NULL, sizeof(*heap_tab), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (t == MAP_FAILED)
			return false;
		heap_tab = t;
	} else {
		madvise(heap_tab, sizeof(*heap_tab), MADV_DONTNEED);
	}
	memset((void *)heap_bits, 0, sizeof(heap_bits));
	if (!once)
		pthread_atfork(NULL, NULL, heap_atfork_child);
	once = true;
	return true;
}

/* The ring in the memfd RFD, mapped; NULL unless it is one of ours. */
static struct heapwire_ring *heap_map_ring(int rfd)
{
	struct heapwire_ring *ring = mmap(NULL, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA,
					  PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);

	if (ring == MAP_FAILED)
		return NULL;
	if (ring->magic != HEAPWIRE_MAGIC || ring->version != HEAPWIRE_VERSION) {
		munmap(ring, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA);
		return NULL;
	}
	return ring;
}

/* The socket is cprof's only if its other end belongs to our parent: a
 * descriptor number inherited in the environment by some later program could
 * name anything. */
static bool heap_socket_ok(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int type;
	socklen_t tlen = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_SEQPACKET &&
	       getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       cred.pid == getppid();
}

/* Wait (a bounded time) for cprof's answer to a hello or a sync: it has
 * read everything before, and the maps as they are now. */
static void heap_wait_reply(int fd)
{
	struct timeval tv = { .tv_sec = 3 };
	/* A descriptor of its own: another thread's heap_stop may close FD, and
	 * the program reuse its number, meanwhile. */
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	char c;

	if (own < 0)
		return;
	setsockopt(own, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (atomic_load(&heap_fd) >= 0 && recv(own, &c, 1, 0) != 1)
		heap_stop();
	close(own);
}

/* Preloaded by cprof into a command it starts (CPROF_HEAP_FD in the
 * environment); dlopened into a running process, this does nothing. The
 * command waits for cprof to have read its maps, so that a program that ends
 * with _exit, which runs no destructor, is symbolized too. */
static __attribute__((constructor)) void heap_init(void)
{
	const char *env = getenv(HEAPWIRE_ENV), *rate = getenv(HEAPWIRE_RATE_ENV);
	struct heapwire_msg m = { .type = HEAPWIRE_HELLO, .addr = HEAPWIRE_VERSION };
	struct heapwire_ring *ring;
	char *end;
	long fd, rfd;

	if (!env)
		return;
	fd = strtol(env, &end, 10);
	if (*end != ',')
		return;
	rfd = strtol(end + 1, &end, 10);
	/* The descriptors stay open across exec, so that a program this process
	 * execs (a shell script's interpreter, env) is profiled in turn; the
	 * programs it starts fail the check and pass through. */
	if (*end || fd < 0 || fd > 1 << 20 || rfd < 0 || rfd > 1 << 20 || !heap_socket_ok((int)fd))
		return;
	if (!heap_prepare() || !(ring = heap_map_ring((int)rfd)))
		return;
	heap_ring = ring;
	if (rate && atof(rate) >= 1)
		heap_rate = atof(rate);
	m.size = (uint64_t)heap_rate;
	m.tid = getpid();
	atomic_store(&heap_fd, (int)fd);
	heap_send(&m);
	heap_wait_reply((int)fd);
}

/* At exit, wait for cprof to read everything sent so far, while the
 * process's maps can still be read to symbolize it. */
static __attribute__((destructor)) void heap_fini(void)
{
	struct heapwire_msg m = { .type = HEAPWIRE_SYNC };
	int fd = atomic_load(&heap_fd);

	if (fd < 0)
		return;
	heap_send(&m);
	heap_wait_reply(fd);
}

/* --- Attached: the calls cprof makes through ptrace. */

static struct heapwire_attach heap_att;
/* Between cprof_heap_attach and the commit: this side's end of the socket,
 * the descriptors cprof takes (closed here at the commit) and the ring. */
static int heap_pending_sock = -1, heap_pending_peer = -1, heap_pending_rfd = -1;
static struct heapwire_ring *heap_pending_ring;

/* Let go of what an attach made that no commit took. */
static void heap_drop_pending(void)
{
	int *fds[3] = { &heap_pending_sock, &heap_pending_peer, &heap_pending_rfd };

	for (int i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (heap_pending_ring)
		munmap(heap_pending_ring, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA);
	heap_pending_ring = NULL;
}

static const struct heapwire_attach *heap_attach_fail(int err, const char *fmt, const char *arg)
{
	heap_att.status = err;
	snprintf(heap_att.error, sizeof(heap_att.error), fmt, arg);
	return &heap_att;
}

/* A defined function NAME in the module of INFO, through its GNU or SysV
 * hash table, as the dynamic loader finds it: its address, or NULL. */
struct heap_find {
	const char *name;
	void *found;
};

static uint32_t heap_gnu_hash(const char *s)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static uint32_t heap_sysv_hash(const char *s)
{
	uint32_t h = 0, g;

	for (; *s; s++) {
		h = (h << 4) + (unsigned char)*s;
		g = h & 0xf0000000;
		h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

static bool heap_sym_is(const ElfW(Sym) *sym, const char *strtab, const char *name)
{
	return sym->st_shndx != SHN_UNDEF && sym->st_value &&
	       (ELF64_ST_TYPE(sym->st_info) == STT_FUNC || ELF64_ST_TYPE(sym->st_info) == STT_GNU_IFUNC) &&
	       strcmp(strtab + sym->st_name, name) == 0;
}

static const ElfW(Sym) *heap_lookup(const struct heap_module *m, const uint32_t *gnu,
				    const uint32_t *sysv, const char *name)
{
	if (gnu) {
		uint32_t nb = gnu[0], off = gnu[1], nbloom = gnu[2], h = heap_gnu_hash(name);
		const uint32_t *buckets = gnu + 4 + nbloom * (sizeof(ElfW(Addr)) / 4);
		const uint32_t *chain = buckets + nb;

		for (uint32_t i = nb ? buckets[h % nb] : 0; i >= off && i; i++) {
			if ((chain[i - off] | 1) == (h | 1) && heap_sym_is(&m->symtab[i], m->strtab, name))
				return &m->symtab[i];
			if (chain[i - off] & 1)
				break;
		}
		return NULL;
	}
	if (sysv) {
		uint32_t nb = sysv[0], h = heap_sysv_hash(name);
		const uint32_t *chain = sysv + 2 + nb;

		for (uint32_t i = nb ? sysv[2 + h % nb] : 0; i; i = chain[i])
			if (heap_sym_is(&m->symtab[i], m->strtab, name))
				return &m->symtab[i];
	}
	return NULL;
}

static int heap_find_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct heap_find *f = ctx;
	struct heap_module m = { .base = info->dlpi_addr };
	const uint32_t *gnu = NULL, *sysv = NULL;
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *sym;

	(void)size;
	/* Not the program (the first), the vDSO, or this library. */
	if (!info->dlpi_name[0] || strstr(info->dlpi_name, "linux-vdso"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(m.base + ph->p_vaddr);
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
		    heap_self_start >= m.base + ph->p_vaddr &&
		    heap_self_start < m.base + ph->p_vaddr + ph->p_memsz)
			return 0;
	}
	for (const ElfW(Dyn) *d = dyn; d && d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			m.symtab = (const ElfW(Sym) *)heap_dyn_ptr(&m, d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			m.strtab = (const char *)heap_dyn_ptr(&m, d->d_un.d_ptr);
		else if (d->d_tag == DT_GNU_HASH)
			gnu = (const uint32_t *)heap_dyn_ptr(&m, d->d_un.d_ptr);
		else if (d->d_tag == DT_HASH)
			sysv = (const uint32_t *)heap_dyn_ptr(&m, d->d_un.d_ptr);
	}
	if (!m.symtab || !m.strtab || !(sym = heap_lookup(&m, gnu, sysv, f->name)))
		return 0;
	f->found = (void *)(m.base + sym->st_value);
	return 1;
}

/* The definition of NAME that the program's references are bound to, looked
 * up from here (dlopened with RTLD_LOCAL, this library is not in the global
 * scope). A program built without PIE that takes a function's address has a
 * canonical PLT entry for it: its symbol is undefined, with the entry's
 * address as value, dlsym returns the entry, and the entry jumps through the
 * program's own GOT slot, which is rerouted to here (so calls passed on to
 * it would come back). Then the definition is the first object after the
 * program that defines NAME, as the loader binds PLT slots. *OWN says the
 * program defines it itself. */
static void *heap_bound(const char *name, bool *own, void **canon)
{
	void *p = dlsym(RTLD_DEFAULT, name);
	struct link_map *lm = NULL;
	const ElfW(Sym) *sym = NULL;
	struct heap_find f = { name, NULL };
	Dl_info di;

	if (!p || !dladdr1(p, &di, (void **)&lm, RTLD_DL_LINKMAP) || !lm || lm->l_prev)
		return p;
	/* dladdr names the entry by its undefined symbol too: the section says. */
	if (dladdr1(p, &di, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_shndx != SHN_UNDEF) {
		*own = true;
		return p;
	}
	dl_iterate_phdr(heap_find_module, &f);
	*canon = p;
	return f.found;
}

/* The allocator the program's references are bound to into F, and the file
 * that defines it into WHERE; false when that is the program itself (an
 * allocator linked in: its own calls to it go through no reference that
 * could be rerouted). */
static bool heap_bound_allocator(struct heap_fns *f, char *where, size_t n)
{
	struct link_map *lm = NULL;
	bool own = false;
	Dl_info di;

	memset(f, 0, sizeof(*f));
	for (size_t h = 0; h < HEAP_NHOOKS; h++) {
		heap_canon[h] = NULL;
		heap_bound_addr[h] = heap_bound(heap_hooks[h].name, &own, &heap_canon[h]);
		/* reallocarray is passed on as realloc (after its overflow check). */
		if (strcmp(heap_hooks[h].name, "reallocarray"))
			*(void **)((char *)f + heap_hooks[h].real) = heap_bound_addr[h];
	}
	snprintf(where, n, "?");
	if (own) {
		snprintf(where, n, "the program");
		return false;
	}
	if (f->malloc && dladdr1((void *)f->malloc, &di, (void **)&lm, RTLD_DL_LINKMAP) && lm)
		snprintf(where, n, "%s", lm->l_name);
	return true;
}

static void heap_commit(int64_t *out);
static void heap_detach(int64_t *out);

/* cprof's first call into a running process, after dlopen: the allocator to
 * pass calls on to, and a socket and a ring for cprof to take. See
 * heapwire.h. Nothing is rerouted yet. */
static const struct heapwire_attach *heap_attach(uint64_t rate)
{
	struct heap_fns f;
	int sv[2], rfd;
	struct heapwire_ring *ring;

	memset(&heap_att, 0, sizeof(heap_att));
	heap_att.magic = HEAPWIRE_MAGIC;
	heap_att.version = HEAPWIRE_VERSION;
	heap_att.sock = heap_att.ring = -1;
	if (atomic_load(&heap_fd) >= 0 && heap_peer_alive()) {
		struct ucred cred = { 0 };
		socklen_t len = sizeof(cred);
		char who[32];

		getsockopt(atomic_load(&heap_fd), SOL_SOCKET, SO_PEERCRED, &cred, &len);
		snprintf(who, sizeof(who), "%d", (int)cred.pid);
		return heap_attach_fail(EBUSY, "its heap is being profiled already, by cprof pid %s",
					who);
	}
	heap_stop();
	/* A stop seen by another thread may still be putting references back:
	 * let it end before this session reroutes them again. */
	while (atomic_flag_test_and_set(&heap_unpatching))
		sched_yield();
	atomic_flag_clear(&heap_unpatching);
	heap_drop_pending();
	if (!heap_self_start)
		dl_iterate_phdr(heap_find_self, (void *)(uintptr_t)heap_prepare);
	heap_att.preloaded = dlsym(RTLD_DEFAULT, "malloc") == (void *)heap_malloc;
	if (heap_att.preloaded) {
		snprintf(heap_att.allocator, sizeof(heap_att.allocator), "(preloaded)");
	} else {
		if (!heap_bound_allocator(&f, heap_att.allocator, sizeof(heap_att.allocator)))
			return heap_attach_fail(ENOTSUP, "%s",
						"it has an allocator of its own linked in (malloc is "
						"defined in the program), whose calls cannot be rerouted");
		if (!f.malloc || !f.free || !f.calloc || !f.realloc)
			return heap_attach_fail(ENOENT, "%s", "no malloc, free, calloc and realloc to pass calls on to");
		heap_real = f;
	}
	if (!heap_gots) {
		void *g = mmap(NULL, HEAP_GOT_MAX * sizeof(*heap_gots), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (g == MAP_FAILED)
			return heap_attach_fail(errno, "cannot map memory: %s", strerror(errno));
		heap_gots = g;
	}
	if (!heap_prepare())
		return heap_attach_fail(ENOMEM, "%s", "cannot map memory for the sampled addresses");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return heap_attach_fail(errno, "cannot make a socket: %s", strerror(errno));
	rfd = (int)syscall(SYS_memfd_create, "cprof-heap", MFD_CLOEXEC);
	if (rfd < 0 || ftruncate(rfd, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA) < 0 ||
	    (ring = mmap(NULL, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA, PROT_READ | PROT_WRITE,
			 MAP_SHARED, rfd, 0)) == MAP_FAILED) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		if (rfd >= 0)
			close(rfd);
		return heap_attach_fail(e, "cannot make shared memory: %s", strerror(e));
	}
	ring->magic = HEAPWIRE_MAGIC;
	ring->version = HEAPWIRE_VERSION;
	heap_pending_ring = ring;
	heap_pending_sock = sv[0];
	heap_att.sock = heap_pending_peer = sv[1];
	heap_att.ring = heap_pending_rfd = rfd;
	heap_att.commit = (uintptr_t)heap_commit;
	heap_att.detach = (uintptr_t)heap_detach;
	if (rate >= 1)
		heap_rate = (double)rate;
	return &heap_att;
}

EXPORT void cprof_heap_attach(uint64_t rate, struct heapwire_attach *out)
{
	*out = *heap_attach(rate);
}

/* cprof's second call, once it holds the socket and the ring: this side lets
 * go of them, sampling starts and the references are rerouted. A ring of an
 * earlier session stays mapped (its pages given back): a thread may still be
 * on its way out of it. */
static void heap_commit(int64_t *out)
{
	int fd = heap_pending_sock;

	if (fd < 0 || !heap_pending_ring) {
		*out = -EINVAL;
		return;
	}
	heap_ring = heap_pending_ring;
	heap_pending_ring = NULL;
	heap_pending_sock = -1;
	heap_drop_pending();
	atomic_store(&heap_fd, fd);
	*out = heap_att.preloaded ? 0 : (int64_t)heap_patch_all();
}

/* cprof's last call: stop sampling and put the references back (also after
 * an attach whose commit never came). */
static void heap_detach(int64_t *out)
{
	heap_drop_pending();
	*out = heap_stop();
}
