/* libcprof-heap.so: preloaded into a command by `cprof heap`, it interposes
 * the allocator's entry points and samples allocations as tcmalloc, jemalloc
 * and Go do: each thread counts down bytes drawn from an exponential
 * distribution of mean RATE, and the allocation that crosses zero is recorded
 * (size, address, thread, return addresses) in a ring that cprof reads, as
 * is the free of a recorded address (see heapwire.h). An unsampled call costs
 * a thread-local subtraction, and its free one load of a counter (and, with
 * samples live, of a filter byte). Without cprof (no socket, or cprof gone)
 * every call passes straight through to glibc's allocator. Kept free of
 * cprof's library and of libstdc++. */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
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

/* glibc's own allocator under its exported internal names: no dlsym, so no
 * bootstrap recursion. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);

/* The live sampled addresses: an open-addressing set updated with
 * compare-and-swap, probed at most SET_PROBES slots from home, and in front of
 * it a counting filter whose non-zero buckets are mirrored in a bitmap, so
 * that a free of an unsampled address (nearly all) usually stops at one bit
 * of 8 KiB that stay in the first-level cache. 1 MiB + 72 KiB of bss,
 * resident only where touched. */
#define SET_BITS 17
#define FILTER_BITS 16
#define SET_PROBES 64
#define SLOT_EMPTY 0
#define SLOT_TOMB 1

static _Atomic uint64_t heap_slots[1u << SET_BITS];
static _Atomic uint8_t heap_filter[1u << FILTER_BITS];
static _Atomic uint64_t heap_bits[1u << (FILTER_BITS - 6)];
static atomic_long heap_live;

static atomic_int heap_fd = -1; /* -1: pass-through */
static struct heapwire_ring *heap_ring;
static char *heap_data; /* HEAPWIRE_RING_DATA bytes of records */
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

static inline uint64_t heap_hash(uintptr_t p)
{
	return (uint64_t)(p >> 4) * 0x9e3779b97f4a7c15ULL;
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
		atomic_store(&heap_fd, -1);
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
	uint64_t pos;

	if (atomic_load_explicit(&heap_fd, memory_order_relaxed) < 0 || !heap_ring)
		return;
	pos = __atomic_fetch_add(&heap_ring->head, len, __ATOMIC_RELAXED);
	while (pos + len - __atomic_load_n(&heap_ring->tail, __ATOMIC_ACQUIRE) > HEAPWIRE_RING_DATA) {
		struct timespec ms = { 0, 1000000 };
		if (!heap_peer_alive()) {
			atomic_store(&heap_fd, -1);
			return;
		}
		nanosleep(&ms, NULL);
	}
	/* The 8 bytes of type and count never straddle the end; the rest may. */
	off = pos & mask;
	first = len - 8 < HEAPWIRE_RING_DATA - off - 8 ? len - 8 : HEAPWIRE_RING_DATA - off - 8;
	memcpy(heap_data + off + 8, (char *)m + 8, first);
	memcpy(heap_data, (char *)m + 8 + first, len - 8 - first);
	((uint32_t *)(heap_data + off))[1] = m->nframes;
	__atomic_store_n((uint32_t *)(heap_data + off), m->type, __ATOMIC_RELEASE);
}

static bool heap_insert(uintptr_t p)
{
	uint64_t h = heap_hash(p);
	_Atomic uint8_t *f = &heap_filter[h >> (64 - FILTER_BITS)];
	size_t mask = (1u << SET_BITS) - 1, i = h >> (64 - SET_BITS);

	if (atomic_load_explicit(f, memory_order_relaxed) == 255)
		return false;
	for (int k = 0; k < SET_PROBES; k++, i = (i + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&heap_slots[i], memory_order_relaxed);
		if ((cur == SLOT_EMPTY || cur == SLOT_TOMB) &&
		    atomic_compare_exchange_strong(&heap_slots[i], &cur, p)) {
			size_t b = h >> (64 - FILTER_BITS);
			if (atomic_fetch_add(f, 1) == 0)
				atomic_fetch_or(&heap_bits[b >> 6], 1ULL << (b & 63));
			atomic_fetch_add(&heap_live, 1);
			return true;
		}
	}
	return false;
}

/* Remove P if it is a live sampled address; true if it was. */
static bool heap_remove(uintptr_t p)
{
	uint64_t h = heap_hash(p);
	size_t mask = (1u << SET_BITS) - 1, i = h >> (64 - SET_BITS);

	for (int k = 0; k < SET_PROBES; k++, i = (i + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&heap_slots[i], memory_order_relaxed);
		if (cur == SLOT_EMPTY)
			return false;
		if (cur == p && atomic_compare_exchange_strong(&heap_slots[i], &cur, SLOT_TOMB)) {
			size_t b = h >> (64 - FILTER_BITS);
			/* An insert into the bucket between the count reaching zero
			 * and the bit's clearing sets the bit again after it. */
			if (atomic_fetch_sub(&heap_filter[b], 1) == 1) {
				atomic_fetch_and(&heap_bits[b >> 6], ~(1ULL << (b & 63)));
				if (atomic_load(&heap_filter[b]))
					atomic_fetch_or(&heap_bits[b >> 6], 1ULL << (b & 63));
			}
			atomic_fetch_sub(&heap_live, 1);
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

	if (!p || !heap_remove((uintptr_t)p))
		return;
	m.type = HEAPWIRE_FREE;
	m.nframes = 0;
	m.addr = (uintptr_t)p;
	m.size = 0;
	m.tid = 0;
	m.pad = 0;
	memset(m.name, 0, sizeof(m.name));
	heap_put(&m);
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

/* The countdown crossed zero (or the thread is new): draw the next one and
 * record P unless this thread is already recording. */
static __attribute__((noinline)) void *heap_slow(void *p, size_t n)
{
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
	heap_record(p, n);
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
 * in a jump to glibc's function rather than a call and a return. */
static inline bool heap_due(size_t n)
{
	return __builtin_expect((heap_tl.countdown -= (int64_t)n) <= 0, 0);
}

static __attribute__((noinline)) void *heap_malloc_sampled(size_t n)
{
	return heap_slow(__libc_malloc(n), n);
}

EXPORT void *malloc(size_t n)
{
	if (heap_due(n))
		return heap_malloc_sampled(n);
	return __libc_malloc(n);
}

EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total) || !heap_due(total))
		return __libc_calloc(n, size);
	return heap_slow(__libc_calloc(n, size), total);
}

/* The fast negative check of a free: no sample is live, or none in P's
 * filter bucket. */
static inline bool heap_maybe_live(void *p)
{
	size_t b = heap_hash((uintptr_t)p) >> (64 - FILTER_BITS);

	return __builtin_expect(atomic_load_explicit(&heap_live, memory_order_relaxed) != 0, 0) &&
	       (atomic_load_explicit(&heap_bits[b >> 6], memory_order_relaxed) >> (b & 63) & 1);
}

EXPORT void free(void *p)
{
	if (heap_maybe_live(p))
		heap_forget(p);
	__libc_free(p);
}

static void *heap_realloc(void *p, size_t n)
{
	void *q;

	if (heap_maybe_live(p))
		heap_forget(p);
	q = __libc_realloc(p, n);
	if (p && n == 0)
		return q;
	return heap_account(q, n);
}

EXPORT void *realloc(void *p, size_t n)
{
	return heap_realloc(p, n);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return heap_realloc(p, total);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align % sizeof(void *) || (align & (align - 1)) || !align)
		return EINVAL;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = heap_account(p, n);
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return heap_account(__libc_memalign(align, n), n);
}

EXPORT void *memalign(size_t align, size_t n)
{
	return heap_account(__libc_memalign(align, n), n);
}

EXPORT void *valloc(size_t n)
{
	return heap_account(__libc_valloc(n), n);
}

EXPORT void *pvalloc(size_t n)
{
	return heap_account(__libc_pvalloc(n), n);
}

static int heap_find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
	uintptr_t here = (uintptr_t)ctx;

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
 * parent's. */
static void heap_atfork_child(void)
{
	int fd = atomic_exchange(&heap_fd, -1);

	if (fd >= 0)
		close(fd);
	if (heap_ring)
		munmap(heap_ring, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA);
	heap_ring = NULL;
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
	char c;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (atomic_load(&heap_fd) >= 0 && recv(fd, &c, 1, 0) != 1)
		atomic_store(&heap_fd, -1);
}

/* The command waits for cprof to have read its maps, so that a program
 * that ends with _exit, which runs no destructor, is symbolized too. */
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
	ring = mmap(NULL, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA, PROT_READ | PROT_WRITE,
		    MAP_SHARED, (int)rfd, 0);
	if (ring == MAP_FAILED)
		return;
	if (ring->magic != HEAPWIRE_MAGIC || ring->version != HEAPWIRE_VERSION) {
		munmap(ring, HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA);
		return;
	}
	heap_ring = ring;
	heap_data = (char *)ring + HEAPWIRE_RING_OFFSET;
	if (rate && atof(rate) >= 1)
		heap_rate = atof(rate);
	dl_iterate_phdr(heap_find_self, (void *)(uintptr_t)heap_init);
	pthread_atfork(NULL, NULL, heap_atfork_child);
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
