/* Compressed debug sections inflated with libdeflate into a memfd; see
 * debuginfo_inflate.h. */
#include <endian.h>
#include <gelf.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "debuginfo_inflate.h"

/* Deflate never shrinks data by more than 1032 to 1: a larger claim is a lie. */
#define MAX_RATIO 1032
#define MAX_ALIGN 4096
/* Below this much compressed data a second thread costs more than it saves. */
#define THREAD_MIN (256 * 1024)

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

struct inflate_job {
	size_t index;  /* of the section */
	uint64_t from; /* the compressed bytes, after the header */
	uint64_t len;
	uint64_t to; /* where the inflated bytes go */
	uint64_t size;
	uint64_t align;
};

struct inflate_work {
	const unsigned char *raw;
	unsigned char *image;
	struct inflate_job *jobs;
	size_t njobs;
	atomic_size_t next;
	atomic_bool failed;
};

static void *debuginfo_inflate_run(void *arg)
{
	struct inflate_work *w = arg;
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	size_t i;

	if (!d) {
		w->failed = true;
		return NULL;
	}
	while (!w->failed && (i = atomic_fetch_add(&w->next, 1)) < w->njobs) {
		const struct inflate_job *j = &w->jobs[i];

		if (libdeflate_zlib_decompress(d, w->raw + j->from, j->len, w->image + j->to, j->size,
					       NULL) != LIBDEFLATE_SUCCESS)
			w->failed = true;
	}
	libdeflate_free_decompressor(d);
	return NULL;
}

static int debuginfo_inflate_by_offset(const void *a, const void *b)
{
	const struct inflate_job *x = a, *y = b;

	return (x->from > y->from) - (x->from < y->from);
}

static int debuginfo_inflate_by_length(const void *a, const void *b)
{
	const struct inflate_job *x = a, *y = b;

	return (x->len < y->len) - (x->len > y->len);
}

/* The compressed sections of the section header table TAB (N entries of
 * class CLASS) in a file of SIZE bytes at RAW, as jobs; -1 when one of them
 * cannot be inflated here (another algorithm, out of bounds, absurd sizes). */
static int debuginfo_inflate_find_jobs(const unsigned char *raw, uint64_t size, int class,
				       const unsigned char *tab, size_t n, struct inflate_job *jobs,
				       size_t *njobs)
{
	*njobs = 0;
	for (size_t i = 1; i < n; i++) {
		uint64_t flags, type, off, len, hdr, csize, calign;
		uint32_t ctype;

		if (class == ELFCLASS64) {
			const Elf64_Shdr *sh = (const Elf64_Shdr *)(tab + i * sizeof(Elf64_Shdr));
			flags = sh->sh_flags, type = sh->sh_type, off = sh->sh_offset, len = sh->sh_size;
			hdr = sizeof(Elf64_Chdr);
		} else {
			const Elf32_Shdr *sh = (const Elf32_Shdr *)(tab + i * sizeof(Elf32_Shdr));
			flags = sh->sh_flags, type = sh->sh_type, off = sh->sh_offset, len = sh->sh_size;
			hdr = sizeof(Elf32_Chdr);
		}
		if (!(flags & SHF_COMPRESSED) || type == SHT_NOBITS)
			continue;
		if (off < sizeof(Elf64_Ehdr) || off > size || len > size - off || len < hdr)
			return -1;
		if (class == ELFCLASS64) {
			Elf64_Chdr ch;
			memcpy(&ch, raw + off, sizeof(ch));
			ctype = ch.ch_type, csize = ch.ch_size, calign = ch.ch_addralign;
		} else {
			Elf32_Chdr ch;
			memcpy(&ch, raw + off, sizeof(ch));
			ctype = ch.ch_type, csize = ch.ch_size, calign = ch.ch_addralign;
		}
		if (calign == 0)
			calign = 1;
		if (ctype != ELFCOMPRESS_ZLIB || csize > (len - hdr) * MAX_RATIO ||
		    (calign & (calign - 1)) || calign > MAX_ALIGN)
			return -1;
		jobs[(*njobs)++] = (struct inflate_job){ .index = i, .from = off + hdr, .len = len - hdr,
						 .size = csize, .align = calign };
	}
	return 0;
}

/* Copies the bytes of RAW that no job reads into IMAGE; JOBS sorted by offset. */
static void debuginfo_inflate_copy_rest(unsigned char *image, const unsigned char *raw,
					uint64_t size, const struct inflate_job *jobs, size_t njobs)
{
	uint64_t at = 0;

	for (size_t i = 0; i < njobs; i++) {
		uint64_t start = jobs[i].from, end = jobs[i].from + jobs[i].len;
		if (start > at)
			memcpy(image + at, raw + at, start - at);
		if (end > at)
			at = end;
	}
	if (size > at)
		memcpy(image + at, raw + at, size - at);
}

/* Points the section header of each job in TAB at its inflated bytes. */
static void debuginfo_inflate_patch_headers(unsigned char *tab, int class,
					    const struct inflate_job *jobs, size_t njobs)
{
	for (size_t i = 0; i < njobs; i++) {
		const struct inflate_job *j = &jobs[i];

		if (class == ELFCLASS64) {
			Elf64_Shdr *sh = (Elf64_Shdr *)(tab + j->index * sizeof(Elf64_Shdr));
			sh->sh_flags &= ~(Elf64_Xword)SHF_COMPRESSED;
			sh->sh_offset = j->to, sh->sh_size = j->size, sh->sh_addralign = j->align;
		} else {
			Elf32_Shdr *sh = (Elf32_Shdr *)(tab + j->index * sizeof(Elf32_Shdr));
			sh->sh_flags &= ~(Elf32_Word)SHF_COMPRESSED;
			sh->sh_offset = j->to, sh->sh_size = j->size, sh->sh_addralign = j->align;
		}
	}
}

/* Place the inflated bytes of JOBS (sorted by offset) after the SIZE bytes of
 * the file, each aligned, into their "to"; the compressed bytes they read into
 * *COMPRESSED. The end of the last, or 0 when two overlap or the file would
 * grow past DEBUGINFO_INFLATE_MAX_GROWTH times. */
static uint64_t debuginfo_inflate_place(struct inflate_job *jobs, size_t njobs, size_t size,
					uint64_t *compressed)
{
	uint64_t total = (size + 63) & ~(uint64_t)63;

	*compressed = 0;
	for (size_t i = 0; i < njobs; i++) {
		if (i > 0 && jobs[i].from < jobs[i - 1].from + jobs[i - 1].len)
			return 0;
		total = (total + jobs[i].align - 1) & ~(jobs[i].align - 1);
		jobs[i].to = total;
		total += jobs[i].size;
		*compressed += jobs[i].len;
		if (total > (uint64_t)size * DEBUGINFO_INFLATE_MAX_GROWTH)
			return 0;
	}
	return total;
}

/* Inflate the jobs of W, the largest first, on two threads when they are
 * large enough to pay for the second. Returns 0, or -1 when one fails. */
static int debuginfo_inflate_all(struct inflate_work *w, uint64_t compressed)
{
	pthread_t helper;
	bool helped = false;

	qsort(w->jobs, w->njobs, sizeof(*w->jobs), debuginfo_inflate_by_length);
	if (compressed >= THREAD_MIN && w->njobs > 1)
		helped = pthread_create(&helper, NULL, debuginfo_inflate_run, w) == 0;
	debuginfo_inflate_run(w);
	if (helped)
		pthread_join(helper, NULL);
	qsort(w->jobs, w->njobs, sizeof(*w->jobs), debuginfo_inflate_by_offset);
	return w->failed ? -1 : 0;
}

int debuginfo_inflate(Elf *elf)
{
	const unsigned char *raw;
	unsigned char *image = MAP_FAILED;
	size_t size, shnum, shentsize, njobs;
	struct inflate_job *jobs = NULL;
	struct inflate_work w = { 0 };
	uint64_t total = 0, shoff, compressed;
	GElf_Ehdr eh;
	int class, fd = -1;

	raw = (const unsigned char *)elf_rawfile(elf, &size);
	if (!raw || !gelf_getehdr(elf, &eh) || elf_getshdrnum(elf, &shnum) != 0 || shnum < 2 ||
	    eh.e_ident[EI_DATA] != HOST_DATA)
		return -1;
	class = eh.e_ident[EI_CLASS];
	shentsize = class == ELFCLASS64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	/* The table is read in place, as structures: it must be aligned. */
	if (eh.e_shentsize != shentsize || eh.e_shoff > size ||
	    (size - eh.e_shoff) / shentsize < shnum || eh.e_shoff % (class == ELFCLASS64 ? 8 : 4))
		return -1;
	jobs = malloc(shnum * sizeof(*jobs));
	if (!jobs ||
	    debuginfo_inflate_find_jobs(raw, size, class, raw + eh.e_shoff, shnum, jobs, &njobs) < 0 ||
	    njobs == 0)
		goto out;

	/* Every byte stays where it was; the inflated sections and a new section
	 * header table go after the end of the file. */
	qsort(jobs, njobs, sizeof(*jobs), debuginfo_inflate_by_offset);
	total = debuginfo_inflate_place(jobs, njobs, size, &compressed);
	if (!total)
		goto out;
	shoff = (total + 7) & ~(uint64_t)7;
	total = shoff + shnum * shentsize;

	fd = memfd_create("cprof-inflated", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, total) < 0)
		goto fail;
	image = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (image == MAP_FAILED)
		goto fail;
	w = (struct inflate_work){ .raw = raw, .image = image, .jobs = jobs, .njobs = njobs };
	if (debuginfo_inflate_all(&w, compressed) < 0)
		goto fail;
	debuginfo_inflate_copy_rest(image, raw, size, jobs, njobs);
	memcpy(image + shoff, raw + eh.e_shoff, shnum * shentsize);
	debuginfo_inflate_patch_headers(image + shoff, class, jobs, njobs);
	if (class == ELFCLASS64)
		((Elf64_Ehdr *)image)->e_shoff = shoff;
	else if (shoff <= UINT32_MAX)
		((Elf32_Ehdr *)image)->e_shoff = shoff;
	else
		goto fail;
	goto out;

fail:
	if (fd >= 0)
		close(fd);
	fd = -1;
out:
	if (image != MAP_FAILED)
		munmap(image, total);
	free(jobs);
	return fd;
}
