/* Inflated debug files kept by build id; see debuginfo_cache.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "debuginfo_cache.h"
#include "module.h"
#include "grow.h"

#define SUFFIX ".debug"
#define TMP_PREFIX ".tmp-"
#define STALE_TMP_S 600 /* a temporary file this old was left by a killed run */

struct debuginfo_cached {
	char name[NAME_MAX + 1];
	off_t size;
	struct timespec mtime;
};

static const char *cache_dir;

void debuginfo_cache_set_dir(const char *dir)
{
	cache_dir = dir && *dir ? dir : NULL;
}

/* The cache's file for build id ID into PATH; -1 if there is none. */
static int debuginfo_cache_path(char *path, size_t size, const char *id)
{
	int len;

	if (!cache_dir || !*id || strspn(id, "0123456789abcdef") != strlen(id))
		return -1;
	len = snprintf(path, size, "%s/%s" SUFFIX, cache_dir, id);
	return len >= 0 && (size_t)len < size ? 0 : -1;
}

/* Whether FD holds all of the file with build id ID: debuginfo_inflate writes the
 * section header table last, so that it ends the file. */
static bool debuginfo_cache_whole(int fd, const char *id)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	struct stat st;
	GElf_Ehdr eh;
	size_t shnum;
	uint64_t end;
	bool ok = elf && fstat(fd, &st) == 0 && gelf_getehdr(elf, &eh) &&
		  elf_getshdrnum(elf, &shnum) == 0 &&
		  !__builtin_mul_overflow((uint64_t)shnum, eh.e_shentsize, &end) &&
		  !__builtin_add_overflow(end, eh.e_shoff, &end) && end == (uint64_t)st.st_size &&
		  elf_has_build_id(elf, id);

	elf_end(elf);
	return ok;
}

/* Whether ST is ours alone: owned by us, writable by no one else. Files that
 * someone else could have put or changed are never read (root's cprof would
 * otherwise take a user's file for glibc's symbols). */
static bool debuginfo_cache_ours(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static bool debuginfo_cache_dir_ours(void)
{
	struct stat st;

	return lstat(cache_dir, &st) == 0 && S_ISDIR(st.st_mode) && debuginfo_cache_ours(&st);
}

int debuginfo_cache_open(const char *id)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (debuginfo_cache_path(path, sizeof(path), id) < 0 || !debuginfo_cache_dir_ours())
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !debuginfo_cache_ours(&st)) {
		close(fd);
		return -1;
	}
	if (!debuginfo_cache_whole(fd, id)) {
		close(fd);
		unlink(path);
		return -1;
	}
	futimens(fd, NULL); /* its use, for eviction */
	return fd;
}

/* Make the cache directory, and those above it that are missing, each only
 * inside a directory of ours (root's run under sudo must not leave files in
 * a user's home); true when it is there, not a symbolic link, and ours. */
static bool debuginfo_cache_make_dir(void)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(cache_dir);
	bool parent_ours = cache_dir[0] != '/' && stat(".", &st) == 0 && st.st_uid == geteuid();

	if (len >= sizeof(path))
		return false;
	memcpy(path, cache_dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (stat(path, &st) < 0 &&
		    (errno != ENOENT || !parent_ours || mkdir(path, 0700) < 0 || stat(path, &st) < 0))
			return false;
		parent_ours = S_ISDIR(st.st_mode) && st.st_uid == geteuid();
		path[i] = i < len ? '/' : '\0';
	}
	return debuginfo_cache_dir_ours();
}

static int debuginfo_cache_by_mtime(const void *a, const void *b)
{
	const struct debuginfo_cached *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

static bool debuginfo_cache_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* Remove the least recently used files while the cache holds more than
 * DEBUGINFO_CACHE_MAX_BYTES, and temporary files a killed run left behind. */
static void debuginfo_cache_evict(void)
{
	DIR *d = opendir(cache_dir);
	struct debuginfo_cached *files = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *e;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;

		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
			if (now - st.st_mtim.tv_sec > STALE_TMP_S)
				unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (!debuginfo_cache_ends_with(e->d_name, SUFFIX) || strlen(e->d_name) > NAME_MAX ||
		    CP_GROW(files, cap, n + 1) < 0)
			continue;
		strcpy(files[n].name, e->d_name);
		files[n].size = st.st_size;
		files[n++].mtime = st.st_mtim;
		total += st.st_size;
	}
	if (total > DEBUGINFO_CACHE_MAX_BYTES) {
		qsort(files, n, sizeof(*files), debuginfo_cache_by_mtime);
		for (size_t i = 0; i < n && total > DEBUGINFO_CACHE_MAX_BYTES; i++)
			if (unlinkat(dirfd(d), files[i].name, 0) == 0)
				total -= files[i].size;
	}
	free(files);
	closedir(d);
}

void debuginfo_cache_store(const char *id, int fd)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	off_t off = 0;
	bool ok;
	int out;

	if (debuginfo_cache_path(path, sizeof(path), id) < 0 || fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_size > DEBUGINFO_CACHE_MAX_BYTES / 4 || !debuginfo_cache_make_dir())
		return;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "XXXXXX", cache_dir) >= sizeof(tmp))
		return;
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return;
	while (off < st.st_size && sendfile(out, fd, &off, st.st_size - off) > 0)
		;
	/* On disk before its name: after a crash the name holds all or nothing. */
	ok = off == st.st_size && fsync(out) == 0;
	if (close(out) < 0 || !ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return;
	}
	debuginfo_cache_evict();
}
