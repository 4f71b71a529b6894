/* The cprof side of heap profiling: launch with the preload, read its
 * messages, keep the live sampled allocations and per-stack totals, and make
 * the profile; see heap.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrspace.h"
#include "clock.h"
#include "errmsg.h"
#include "grow.h"
#include "heap.h"
#include "heapinject.h"
#include "heapwire.h"
#include "hmap.h"
#include "leak.h"
#include "locate.h"
#include "proc.h"
#include "symbolize.h"

#define HEAP_POLL_MS 10
#define HEAP_RING_BYTES (HEAPWIRE_RING_OFFSET + HEAPWIRE_RING_DATA)

/* The allocations of one stack on one thread, in sampled objects scaled to
 * what they stand for. */
struct heap_bucket {
	uint64_t *locs;
	size_t nlocs;
	pid_t tid;
	uint32_t thread; /* index in threads */
	uint32_t stack;  /* index in stacks */
	double alloc_objects, alloc_space, inuse_objects, inuse_space;
};

/* A live sampled allocation. */
struct heap_live {
	uint64_t addr; /* 0: an empty slot */
	uint32_t bucket;
	double objects, bytes;
};

struct heap {
	const struct heap_opts *o;
	struct target *t;
	int sock;
	int ring_fd;
	struct heapwire_ring *ring;
	unsigned char *data; /* the ring's records */
	struct profile *p;
	struct addrspace *as;
	struct symbolizer *sym;
	struct locator *loc;
	struct heap_bucket *buckets;
	size_t nbuckets, buckets_cap;
	struct hmap bucket_index;
	/* Live allocations by address: linear probing, deletion by backward shift. */
	struct heap_live *live;
	size_t live_cap, nlive;
	struct heap_thread {
		pid_t tid;
		char name[16];
	} *threads;
	size_t nthreads, threads_cap;
	/* With --watch: the buckets' stacks on any thread, and each poll's
	 * in-use bytes of each (stacks made after the poll left out: 0). */
	struct heap_stack {
		const uint64_t *locs; /* the first bucket's */
		size_t nlocs;
	} *stacks;
	size_t nstacks, stacks_cap;
	struct hmap stack_index;
	struct heap_polled {
		double *inuse;
		size_t n;
		int64_t elapsed_ns;
	} *polls;
	size_t npolls, polls_cap;
	int64_t next_poll;
	struct heap_stats st;
	struct heapinject inj; /* attached: how the library was loaded */
	uint64_t rate;
	bool hello, eof;
	bool unloaded; /* attached: let go already */
	int64_t start;
};

double heap_weight(uint64_t size, uint64_t rate)
{
	if (!size || rate <= 1)
		return 1;
	return 1 / (1 - exp(-(double)size / (double)rate));
}

static char *heap_env(const char *name, const char *value, const char *old)
{
	size_t n = strlen(name) + strlen(value) + (old ? strlen(old) : 0) + 3;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", value, old && *old ? ":" : "", old ? old : "");
	return s;
}

/* Whether PATH is an ELF shared object (e_type ET_DYN, in the file's byte
 * order): anything else would be preloaded in vain, after the command ran. */
static bool heap_is_library(const char *path)
{
	unsigned char e[18];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, e, sizeof(e));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)sizeof(e) && memcmp(e, ELFMAG, SELFMAG) == 0 &&
	       (e[EI_DATA] == ELFDATA2MSB ? e[16] << 8 | e[17] : e[17] << 8 | e[16]) == ET_DYN;
}

/* A session over T, its library at O->preload; NULL with an error. */
static struct heap *heap_new(struct target *t, const struct heap_opts *o)
{
	struct heap *h = calloc(1, sizeof(*h));

	if (!h) {
		cp_error("out of memory");
		return NULL;
	}
	h->o = o;
	h->t = t;
	h->sock = h->ring_fd = -1;
	h->rate = o->rate ? o->rate : HEAP_DEFAULT_RATE;
	hmap_init(&h->bucket_index);
	hmap_init(&h->stack_index);
	if (access(o->preload, R_OK) < 0) {
		cp_error("cannot read the heap library %s: %s; reinstall cprof or set "
			 "CPROF_HEAP_LIB to its path", o->preload, strerror(errno));
		heap_free(h);
		return NULL;
	}
	if (!heap_is_library(o->preload)) {
		cp_error("the heap library %s is not a shared library; reinstall cprof or set "
			 "CPROF_HEAP_LIB to its path", o->preload);
		heap_free(h);
		return NULL;
	}
	return h;
}

struct heap *heap_launch(struct target *t, char *const argv[], const struct heap_opts *o)
{
	struct heap *h = heap_new(t, o);
	char *old_preload = NULL, *preload = NULL, fdbuf[32], ratebuf[32];
	const char *env;
	int sv[2] = { -1, -1 }, child_ring = -1, rc;

	if (!h)
		return NULL;
	/* The command's end is not close-on-exec; cprof's is. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0 ||
	    fcntl(sv[0], F_SETFD, FD_CLOEXEC) < 0) {
		cp_error("cannot make a socket for the heap library: %s", strerror(errno));
		goto fail;
	}
	h->sock = sv[0];
	if ((h->ring_fd = memfd_create("cprof-heap", MFD_CLOEXEC)) < 0 ||
	    ftruncate(h->ring_fd, HEAP_RING_BYTES) < 0 ||
	    (h->ring = mmap(NULL, HEAP_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, h->ring_fd,
			    0)) == MAP_FAILED ||
	    (child_ring = fcntl(h->ring_fd, F_DUPFD, 3)) < 0) {
		cp_error("cannot make shared memory for the heap library: %s", strerror(errno));
		if (h->ring == MAP_FAILED)
			h->ring = NULL;
		close(sv[1]);
		goto fail;
	}
	h->data = (unsigned char *)h->ring + HEAPWIRE_RING_OFFSET;
	h->ring->magic = HEAPWIRE_MAGIC;
	h->ring->version = HEAPWIRE_VERSION;
	if ((env = getenv("LD_PRELOAD")) && !(old_preload = strdup(env)))
		goto oom;
	if (!(preload = heap_env("LD_PRELOAD", o->preload, old_preload)))
		goto oom;
	snprintf(fdbuf, sizeof(fdbuf), "%d,%d", sv[1], child_ring);
	snprintf(ratebuf, sizeof(ratebuf), "%llu", (unsigned long long)h->rate);
	setenv("LD_PRELOAD", preload, 1);
	setenv(HEAPWIRE_ENV, fdbuf, 1);
	setenv(HEAPWIRE_RATE_ENV, ratebuf, 1);
	rc = target_launch(t, argv);
	if (old_preload)
		setenv("LD_PRELOAD", old_preload, 1);
	else
		unsetenv("LD_PRELOAD");
	unsetenv(HEAPWIRE_ENV);
	unsetenv(HEAPWIRE_RATE_ENV);
	close(sv[1]);
	close(child_ring);
	free(preload);
	free(old_preload);
	if (rc < 0) {
		heap_free(h);
		return NULL;
	}
	return h;
oom:
	cp_error("out of memory");
	free(old_preload);
	close(sv[1]);
	close(child_ring);
fail:
	heap_free(h);
	return NULL;
}

struct heap *heap_attach(struct target *t, const struct heap_opts *o)
{
	struct heap *h = heap_new(t, o);
	char name[64];

	if (!h)
		return NULL;
	snprintf(name, sizeof(name), "process %d", (int)t->pid);
	if (heapinject_check_program(t->pid, name) < 0 ||
	    heapinject_load(&h->inj, t->pid, t->pidfd, o->preload, h->rate) < 0)
		goto fail;
	h->sock = h->inj.sock;
	h->ring_fd = h->inj.ring;
	h->ring = mmap(NULL, HEAP_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, h->ring_fd, 0);
	if (h->ring == MAP_FAILED) {
		h->ring = NULL;
		cp_error("cannot map the heap library's ring: %s", strerror(errno));
		goto fail_loaded;
	}
	if (h->ring->magic != HEAPWIRE_MAGIC || h->ring->version != HEAPWIRE_VERSION) {
		cp_error("the heap library in process %d made a ring cprof cannot read", t->pid);
		goto fail_loaded;
	}
	h->data = (unsigned char *)h->ring + HEAPWIRE_RING_OFFSET;
	h->st.attached = true;
	h->st.rerouted = h->inj.rerouted;
	h->st.preloaded = h->inj.preloaded;
	h->st.load_ns = h->inj.took_ns;
	h->st.load_held_ns = h->inj.held_ns;
	h->st.held_tid = h->inj.tid;
	snprintf(h->st.allocator, sizeof(h->st.allocator), "%s", h->inj.allocator);
	return h;
fail_loaded:
	{
		int64_t took, held;
		heapinject_unload(&h->inj, t->pid, &took, &held);
	}
fail:
	heap_free(h);
	return NULL;
}

void heap_free(struct heap *h)
{
	if (!h)
		return;
	if (h->sock >= 0)
		close(h->sock);
	if (h->ring)
		munmap(h->ring, HEAP_RING_BYTES);
	if (h->ring_fd >= 0)
		close(h->ring_fd);
	locator_free(h->loc);
	symbolizer_free(h->sym);
	addrspace_free(h->as);
	profile_free(h->p);
	for (size_t i = 0; i < h->nbuckets; i++)
		free(h->buckets[i].locs);
	free(h->buckets);
	hmap_release(&h->bucket_index);
	for (size_t i = 0; i < h->npolls; i++)
		free(h->polls[i].inuse);
	free(h->polls);
	free(h->stacks);
	hmap_release(&h->stack_index);
	free(h->live);
	free(h->threads);
	free(h);
}

static uint64_t heap_addr_hash(uint64_t addr)
{
	return (addr >> 4) * 0x9e3779b97f4a7c15ULL;
}

static struct heap_live *heap_live_find(struct heap *h, uint64_t addr)
{
	size_t mask = h->live_cap - 1;

	if (!h->live_cap)
		return NULL;
	for (size_t i = heap_addr_hash(addr) & mask;; i = (i + 1) & mask) {
		if (h->live[i].addr == addr)
			return &h->live[i];
		if (!h->live[i].addr)
			return NULL;
	}
}

static int heap_live_put(struct heap *h, const struct heap_live *e);

static int heap_live_grow(struct heap *h)
{
	struct heap_live *old = h->live;
	size_t oldcap = h->live_cap, cap = oldcap ? oldcap * 2 : 1024;

	if (!(h->live = calloc(cap, sizeof(*h->live)))) {
		h->live = old;
		return cp_error("out of memory");
	}
	h->live_cap = cap;
	h->nlive = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].addr)
			heap_live_put(h, &old[i]);
	free(old);
	return 0;
}

/* Insert E, or replace the entry of its address (an allocation whose free
 * was never seen). */
static int heap_live_put(struct heap *h, const struct heap_live *e)
{
	size_t mask, i;

	if ((h->nlive + 1) * 2 > h->live_cap && heap_live_grow(h) < 0)
		return -1;
	mask = h->live_cap - 1;
	for (i = heap_addr_hash(e->addr) & mask; h->live[i].addr && h->live[i].addr != e->addr;
	     i = (i + 1) & mask)
		;
	if (!h->live[i].addr)
		h->nlive++;
	h->live[i] = *e;
	return 0;
}

static void heap_live_remove(struct heap *h, struct heap_live *e)
{
	size_t mask = h->live_cap - 1, i = e - h->live, j = i;

	for (;;) {
		size_t home;
		j = (j + 1) & mask;
		if (!h->live[j].addr)
			break;
		home = heap_addr_hash(h->live[j].addr) & mask;
		/* Move J back into the hole at I unless its home lies in (I, J]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			h->live[i] = h->live[j];
			i = j;
		}
	}
	h->live[i].addr = 0;
	h->nlive--;
}

struct heap_key {
	struct heap *h;
	const uint64_t *locs;
	size_t nlocs;
	pid_t tid;
};

static int heap_bucket_eq(void *ctx, uint32_t idx)
{
	const struct heap_key *k = ctx;
	const struct heap_bucket *b = &k->h->buckets[idx];

	return b->tid == k->tid && b->nlocs == k->nlocs &&
	       !memcmp(b->locs, k->locs, k->nlocs * sizeof(*k->locs));
}

static int heap_stack_eq(void *ctx, uint32_t idx)
{
	const struct heap_key *k = ctx;
	const struct heap_stack *st = &k->h->stacks[idx];

	return st->nlocs == k->nlocs && !memcmp(st->locs, k->locs, k->nlocs * sizeof(*k->locs));
}

/* The index of bucket B's stack, whichever its thread; -1 when out of memory. */
static int64_t heap_stack_of(struct heap *h, const struct heap_bucket *b)
{
	struct heap_key k = { h, b->locs, b->nlocs, 0 };
	uint64_t hash = hash_bytes(HASH_SEED, b->locs, b->nlocs * sizeof(*b->locs));
	int64_t i = hmap_find(&h->stack_index, hash, heap_stack_eq, &k);

	if (i >= 0)
		return i;
	if (CP_GROW(h->stacks, h->stacks_cap, h->nstacks + 1) < 0 ||
	    hmap_insert(&h->stack_index, hash, h->nstacks) < 0)
		return -1;
	h->stacks[h->nstacks] = (struct heap_stack){ b->locs, b->nlocs };
	return h->nstacks++;
}

/* The bucket of LOCS on TID, made if new; -1 when out of memory. */
static int64_t heap_bucket(struct heap *h, const uint64_t *locs, size_t nlocs, pid_t tid)
{
	struct heap_key k = { h, locs, nlocs, tid };
	uint64_t hash = hash_bytes(hash_bytes(HASH_SEED, &tid, sizeof(tid)), locs,
				   nlocs * sizeof(*locs));
	int64_t i = hmap_find(&h->bucket_index, hash, heap_bucket_eq, &k);
	struct heap_bucket *b;
	size_t t;

	if (i >= 0)
		return i;
	if (CP_GROW(h->buckets, h->buckets_cap, h->nbuckets + 1) < 0)
		return -1;
	for (t = 0; t < h->nthreads && h->threads[t].tid != tid; t++)
		;
	if (t == h->nthreads) {
		if (CP_GROW(h->threads, h->threads_cap, h->nthreads + 1) < 0)
			return -1;
		h->threads[h->nthreads].tid = tid;
		h->threads[h->nthreads++].name[0] = '\0';
		h->st.threads++;
	}
	b = &h->buckets[h->nbuckets];
	memset(b, 0, sizeof(*b));
	if (!(b->locs = malloc((nlocs ? nlocs : 1) * sizeof(*locs))))
		return cp_error("out of memory");
	memcpy(b->locs, locs, nlocs * sizeof(*locs));
	b->nlocs = nlocs;
	b->tid = tid;
	if (hmap_insert(&h->bucket_index, hash, h->nbuckets) < 0 || (i = heap_stack_of(h, b)) < 0) {
		free(b->locs);
		return -1;
	}
	b->stack = (uint32_t)i;
	b->thread = t;
	return h->nbuckets++;
}

static int heap_alloc(struct heap *h, const struct heapwire_msg *m)
{
	uint64_t locs[HEAPWIRE_MAX_FRAMES + 1];
	size_t n = 0;
	struct heap_live e = { .addr = m->addr };
	struct heap_live *old;
	struct heap_bucket *b;
	double w = heap_weight(m->size, h->rate);
	int64_t bi;

	for (uint32_t i = 0; i < m->nframes; i++) {
		int64_t id = locator_get(h->loc, m->frames[i], true);
		if (id < 0)
			return -1;
		locs[n++] = id;
	}
	if (m->nframes == HEAPWIRE_MAX_FRAMES || !n) {
		int64_t id = profile_add_marker(h->p, n ? "[truncated]" : "[no stack]");
		if (id < 0)
			return -1;
		locs[n++] = id;
	}
	if ((bi = heap_bucket(h, locs, n, m->tid)) < 0)
		return -1;
	/* An address handed out again whose free was lost: it is no longer in use. */
	if ((old = heap_live_find(h, m->addr))) {
		h->buckets[old->bucket].inuse_objects -= old->objects;
		h->buckets[old->bucket].inuse_space -= old->bytes;
	}
	b = &h->buckets[bi];
	/* The name the thread had at its last sample. */
	if (m->name[0]) {
		memcpy(h->threads[b->thread].name, m->name, sizeof(m->name));
		h->threads[b->thread].name[sizeof(m->name) - 1] = '\0';
	}
	e.bucket = bi;
	e.objects = w;
	e.bytes = w * m->size;
	b->alloc_objects += e.objects;
	b->alloc_space += e.bytes;
	b->inuse_objects += e.objects;
	b->inuse_space += e.bytes;
	h->st.allocs++;
	return heap_live_put(h, &e);
}

static void heap_release_addr(struct heap *h, uint64_t addr)
{
	struct heap_live *e = heap_live_find(h, addr);

	if (!e)
		return;
	h->buckets[e->bucket].inuse_objects -= e->objects;
	h->buckets[e->bucket].inuse_space -= e->bytes;
	h->st.frees++;
	heap_live_remove(h, e);
}

/* Let the command go on from a hello or a sync: what it sent before is
 * read. A command gone meanwhile is no error. */
static int heap_reply(struct heap *h)
{
	if (send(h->sock, "y", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		return cp_error("cannot answer the heap library: %s", strerror(errno));
	return 0;
}

static int heap_message(struct heap *h, const struct heapwire_msg *m, size_t len);

/* Read the committed records of the ring, in order (see heapwire.h). */
static int heap_ring_drain(struct heap *h)
{
	struct heapwire_msg m;
	uint64_t tail = h->ring->tail, head = __atomic_load_n(&h->ring->head, __ATOMIC_ACQUIRE);
	size_t mask = HEAPWIRE_RING_DATA - 1;

	while (tail < head) {
		size_t off = tail & mask, len, first;
		uint32_t *hdr = (uint32_t *)(h->data + off);

		m.type = __atomic_load_n(&hdr[0], __ATOMIC_ACQUIRE);
		if (!m.type)
			break;
		m.nframes = hdr[1];
		if (m.nframes > HEAPWIRE_MAX_FRAMES)
			return cp_error("a malformed record from the heap library (%u frames)",
					m.nframes);
		len = HEAPWIRE_SIZE(m.nframes);
		first = len < HEAPWIRE_RING_DATA - off ? len : HEAPWIRE_RING_DATA - off;
		memcpy(&m, h->data + off, first);
		memcpy((char *)&m + first, h->data, len - first);
		memset(h->data + off, 0, first);
		memset(h->data, 0, len - first);
		tail += len;
		__atomic_store_n(&h->ring->tail, tail, __ATOMIC_RELEASE);
		if (heap_message(h, &m, len) < 0)
			return -1;
	}
	return 0;
}

/* Drop a record left half written by a program that exec'ed mid-sample:
 * the next program starts on an empty ring. */
static void heap_ring_reset(struct heap *h)
{
	uint64_t head = __atomic_load_n(&h->ring->head, __ATOMIC_ACQUIRE);

	if (h->ring->tail == head)
		return;
	memset(h->data, 0, HEAPWIRE_RING_DATA);
	__atomic_store_n(&h->ring->tail, head, __ATOMIC_RELEASE);
}

/* The process's maps read, to symbolize what comes: sampling has begun. */
static int heap_read_maps(struct heap *h)
{
	if (!(h->as = addrspace_new(h->t->pid)) || !(h->sym = symbolizer_new(h->as)) ||
	    !(h->loc = locator_new(h->p, h->as, h->sym, NULL, true)))
		return -1;
	h->hello = true;
	if (h->o->started && !h->st.execs)
		h->o->started(h->o->ctx);
	return 0;
}

static int heap_hello(struct heap *h, const struct heapwire_msg *m)
{
	if (m->addr != HEAPWIRE_VERSION)
		return cp_error("the heap library %s is of another cprof version; reinstall cprof",
				h->o->preload);
	if (m->tid != h->t->pid)
		return cp_error("the heap library spoke from process %d, not %d", m->tid, h->t->pid);
	/* Again: the command exec'ed another program, which frees everything. */
	if (h->hello) {
		if (heap_ring_drain(h) < 0)
			return -1;
		heap_ring_reset(h);
		for (size_t i = 0; i < h->nbuckets; i++)
			h->buckets[i].inuse_objects = h->buckets[i].inuse_space = 0;
		if (h->live)
			memset(h->live, 0, h->live_cap * sizeof(*h->live));
		h->nlive = 0;
		if (locator_finish(h->loc) < 0)
			return -1;
		locator_free(h->loc);
		symbolizer_free(h->sym);
		addrspace_free(h->as);
		h->loc = NULL;
		h->sym = NULL;
		h->as = NULL;
		h->p->main_mapping = 0;
		h->st.execs++;
	}
	if (heap_read_maps(h) < 0)
		return -1;
	return heap_reply(h);
}

static int heap_message(struct heap *h, const struct heapwire_msg *m, size_t len)
{
	if (len < HEAPWIRE_SIZE(0) || m->nframes > HEAPWIRE_MAX_FRAMES ||
	    len != HEAPWIRE_SIZE(m->nframes))
		return cp_error("a malformed message from the heap library (%zu bytes)", len);
	if (!h->hello && m->type != HEAPWIRE_HELLO)
		return cp_error("the heap library did not introduce itself");
	switch (m->type) {
	case HEAPWIRE_HELLO:
		return heap_hello(h, m);
	case HEAPWIRE_ALLOC:
		return heap_alloc(h, m);
	case HEAPWIRE_FREE:
		heap_release_addr(h, m->addr);
		return 0;
	case HEAPWIRE_LOST:
		h->st.lost += m->size;
		return 0;
	case HEAPWIRE_SYNC:
		if (heap_ring_drain(h) < 0)
			return -1;
		return heap_reply(h);
	}
	return cp_error("an unknown message %u from the heap library", m->type);
}

/* Read what is waiting on the socket. Returns 0, or -1 with an error. */
static int heap_drain(struct heap *h)
{
	struct heapwire_msg m;

	while (!h->eof) {
		ssize_t n = recv(h->sock, &m, sizeof(m), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return cp_error("cannot read from the heap library: %s", strerror(errno));
		if (n == 0) {
			h->eof = true;
			break;
		}
		if (heap_message(h, &m, n) < 0)
			return -1;
	}
	return 0;
}

/* An empty heap profile at RATE; NULL with an error. */
static struct profile *heap_new_profile(uint64_t rate)
{
	struct profile *p = profile_new();

	if (!p || profile_add_sample_type(p, "alloc_objects", "count") < 0 ||
	    profile_add_sample_type(p, "alloc_space", "bytes") < 0 ||
	    profile_add_sample_type(p, "inuse_objects", "count") < 0 ||
	    profile_add_sample_type(p, "inuse_space", "bytes") < 0) {
		profile_free(p);
		cp_error("out of memory");
		return NULL;
	}
	p->period_type.type = profile_intern(p, "space");
	p->period_type.unit = profile_intern(p, "bytes");
	p->period = rate;
	p->default_sample_type = profile_intern(p, "inuse_space");
	p->time_nanos = clock_ns(CLOCK_REALTIME);
	return p;
}

/* The buckets as samples, with thread labels, their values times SIGN: -1
 * takes back what a 1 added (for a snapshot). */
static int heap_fill(struct heap *h, int sign)
{
	struct profile *p = h->p;
	int64_t k_thread = profile_intern(p, "thread"), k_tid = profile_intern(p, "tid");

	if (k_thread < 0 || k_tid < 0 || locator_finish(h->loc) < 0)
		return -1;
	for (size_t i = 0; i < h->nbuckets; i++) {
		const struct heap_bucket *b = &h->buckets[i];
		int64_t v[4] = { sign * llround(b->alloc_objects), sign * llround(b->alloc_space),
				 sign * llround(b->inuse_objects), sign * llround(b->inuse_space) };
		struct pf_label labels[2];
		int64_t s;

		/* Memory still in use counts after a reset, with nothing allocated since. */
		if (!v[0] && !v[1] && !v[2] && !v[3])
			continue;
		if ((s = profile_intern(p, h->threads[b->thread].name)) < 0)
			return -1;
		labels[0] = (struct pf_label){ k_thread, s, 0, 0 };
		labels[1] = (struct pf_label){ k_tid, 0, b->tid, 0 };
		if (profile_add_sample(p, b->locs, b->nlocs, v, labels, 2) < 0)
			return -1;
	}
	return 0;
}

struct profile *heap_snapshot(struct heap *h)
{
	struct profile *s = heap_new_profile(h->rate);

	if (!s)
		return NULL;
	/* The samples are made in the session's profile, whose locations they
	 * name, copied out, and taken back, leaving it as it was. */
	if (h->loc && (heap_fill(h, 1) < 0 || profile_add_profile(s, h->p, -1, 1, NULL, NULL) < 0 ||
		       heap_fill(h, -1) < 0)) {
		profile_free(s);
		return NULL;
	}
	s->duration_nanos = clock_ns(CLOCK_MONOTONIC) - h->start;
	return s;
}

/* A poll of --watch: what is in use now, by stack, and the caller told. */
static int heap_watch_poll(struct heap *h, int64_t now)
{
	struct heap_polled *row;
	struct heap_poll s = { .elapsed_ns = now - h->start, .time_ns = clock_ns(CLOCK_REALTIME) };

	if (heap_drain(h) < 0 || (h->hello && heap_ring_drain(h) < 0))
		return -1;
	if (CP_GROW(h->polls, h->polls_cap, h->npolls + 1) < 0)
		return -1;
	row = &h->polls[h->npolls];
	if (!(row->inuse = calloc(h->nstacks ? h->nstacks : 1, sizeof(*row->inuse))))
		return cp_error("out of memory");
	row->n = h->nstacks;
	row->elapsed_ns = s.elapsed_ns;
	h->npolls++;
	for (size_t i = 0; i < h->nbuckets; i++) {
		row->inuse[h->buckets[i].stack] += h->buckets[i].inuse_space;
		s.inuse_bytes += h->buckets[i].inuse_space;
		s.inuse_objects += h->buckets[i].inuse_objects;
	}
	h->next_poll += h->o->interval_ns;
	return h->o->poll ? h->o->poll(h->o->ctx, h, &s) : 0;
}

struct heap_history {
	const struct heap *h;
	size_t stack, first;
};

static double heap_history_at(const void *ctx, size_t i)
{
	const struct heap_history *c = ctx;
	const struct heap_polled *row = &c->h->polls[c->first + i];

	return c->stack < row->n ? row->inuse[c->stack] : 0;
}

size_t heap_suspects(const struct heap *h, heap_suspect_fn *fn, void *ctx)
{
	size_t n = 0, np = h->npolls;
	double minutes = np > 1 ? (h->polls[np - 1].elapsed_ns - h->polls[0].elapsed_ns) / 60e9 : 0;
	double rise = 2.0 * h->rate;

	for (size_t i = 0; i < h->nstacks; i++) {
		struct heap_history all = { h, i, 0 }, late = { h, i, (np - 1) / 2 };
		double start, end;

		if (np < HEAP_MIN_POLLS || !leak_steady(np, heap_history_at, &all, rise) ||
		    !leak_steady(np - late.first, heap_history_at, &late, rise))
			continue;
		n++;
		start = heap_history_at(&all, 0);
		end = heap_history_at(&all, np - 1);
		if (fn)
			fn(h->stacks[i].locs, h->stacks[i].nlocs, start, end,
			   minutes > 0 ? (end - start) / minutes : 0.0, ctx);
	}
	return n;
}

size_t heap_polls(const struct heap *h)
{
	return h->npolls;
}

int heap_start(struct heap *h)
{
	struct target *t = h->t;

	if (!(h->p = heap_new_profile(h->rate)))
		return -1;
	if (t->launched && (target_go(t) < 0 || heapinject_check_program(t->pid, t->cmd) < 0))
		return -1;
	h->next_poll = h->start = clock_ns(CLOCK_MONOTONIC);
	return t->launched ? 0 : heap_read_maps(h);
}

int heap_step(struct heap *h, int64_t wait_ms)
{
	/* Once the command runs, the socket is read every HEAP_POLL_MS rather
	 * than woken on: a send that wakes a sleeping reader costs the sender
	 * a wake-up (in a VM an inter-processor interrupt) each time, a send
	 * into a queue nobody waits on almost nothing. */
	struct pollfd fds[2] = { { h->eof || h->hello ? -1 : h->sock, POLLIN, 0 },
				 { h->t->pidfd, POLLIN, 0 } };
	bool exited;

	if (h->hello && wait_ms > HEAP_POLL_MS)
		wait_ms = HEAP_POLL_MS;
	if (poll(fds, 2, (int)wait_ms) < 0 && errno != EINTR)
		return cp_error("poll: %s", strerror(errno));
	exited = (fds[1].revents & POLLIN) ||
		 (h->t->pidfd < 0 && h->t->launched && target_check_exit(h->t));
	/* Once the process has exited, everything it sent is waiting. */
	if (heap_drain(h) < 0 || (h->hello && heap_ring_drain(h) < 0))
		return -1;
	if (!exited)
		return 0;
	h->st.target_exited = true;
	return 1;
}

/* Step until the target exits, the duration passes or *stop is set, with
 * the polls of --watch on their way. */
static int heap_loop(struct heap *h)
{
	for (;;) {
		int64_t now = clock_ns(CLOCK_MONOTONIC), wait_ms = 100;
		int rc;

		if (h->o->stop && *h->o->stop) {
			h->st.stopped = true;
			return 0;
		}
		/* Polls a loaded machine (or a poll slower than the interval)
		 * delayed past the next one's time are not made up; then on to the
		 * end's checks and a step. */
		if (h->o->interval_ns && now >= h->next_poll) {
			if (heap_watch_poll(h, now) < 0)
				return -1;
			now = clock_ns(CLOCK_MONOTONIC);
			if (h->next_poll <= now)
				h->next_poll = now + h->o->interval_ns;
		}
		if (h->o->duration_ns && now - h->start >= h->o->duration_ns)
			return 0;
		if (h->o->duration_ns && (h->o->duration_ns - (now - h->start)) / 1000000 < wait_ms)
			wait_ms = (h->o->duration_ns - (now - h->start)) / 1000000 + 1;
		if (h->o->interval_ns && (h->next_poll - now) / 1000000 < wait_ms)
			wait_ms = (h->next_poll - now) / 1000000 + 1;
		if ((rc = heap_step(h, wait_ms)) != 0)
			return rc < 0 ? -1 : 0;
	}
}

/* An attached process still running is let go: the library stops sampling
 * and puts its references back, called through ptrace; failing that (no
 * thread could be held), the ring's flag tells it to at its next sample.
 * Once only. */
static void heap_unload(struct heap *h)
{
	int64_t n;

	if (!h->st.attached || h->st.target_exited || h->eof || h->unloaded)
		return;
	h->unloaded = true;
	n = heapinject_unload(&h->inj, h->t->pid, &h->st.unload_ns, &h->st.unload_held_ns);
	if (n < 0) {
		__atomic_store_n(&h->ring->detach, 1, __ATOMIC_RELEASE);
		snprintf(h->st.unload_error, sizeof(h->st.unload_error), "%s", cp_errmsg());
		return;
	}
	h->st.restored = n;
}

int heap_finish(struct heap *h)
{
	if (!h->unloaded)
		h->st.detached = h->eof && !h->st.target_exited;
	heap_unload(h);
	if (heap_drain(h) < 0 || (h->hello && heap_ring_drain(h) < 0))
		return -1;
	/* The records' pages given back, in the process too; not the header,
	 * whose detach flag the library still reads when the unload through
	 * ptrace failed, nor anything while it may still write. */
	if (h->st.attached && !h->st.unload_error[0])
		fallocate(h->ring_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  HEAPWIRE_RING_OFFSET, HEAPWIRE_RING_DATA);
	return 0;
}

const struct heap_stats *heap_stats(struct heap *h)
{
	h->st.elapsed_ns = h->start ? clock_ns(CLOCK_MONOTONIC) - h->start : 0;
	return &h->st;
}

void heap_reset(struct heap *h)
{
	for (size_t i = 0; i < h->nbuckets; i++)
		h->buckets[i].alloc_objects = h->buckets[i].alloc_space = 0;
	h->st.allocs = h->st.frees = h->st.lost = 0;
	h->start = clock_ns(CLOCK_MONOTONIC);
}

/* The steps after the loop, each of which may fail apart. */
struct profile *heap_run(struct heap *h, struct heap_stats *st)
{
	struct target *t = h->t;
	struct profile *p = NULL;

	if (heap_start(h) < 0 || heap_loop(h) < 0 || heap_finish(h) < 0)
		goto out;
	if (!h->hello) {
		if (h->st.target_exited)
			cp_error("%s did not load the heap library: a statically linked or setuid "
				 "program cannot be profiled by preloading", t->cmd);
		else
			cp_error("%s has not loaded the heap library: is it statically linked?",
				 t->cmd);
		goto out;
	}
	if (heap_fill(h, 1) < 0)
		goto out;
	h->st.elapsed_ns = clock_ns(CLOCK_MONOTONIC) - h->start;
	h->p->duration_nanos = h->st.elapsed_ns;
	p = h->p;
	h->p = NULL;
out:
	if (st)
		*st = h->st;
	return p;
}
