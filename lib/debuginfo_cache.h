/* A cache of inflated debug files by build id (see debuginfo_inflate.h), so
 * that each is inflated once rather than on every run, as perf keeps ~/.debug
 * and debuginfod its client cache. Best effort: any failure means no cache. */
#ifndef CPROF_DEBUGINFO_CACHE_H
#define CPROF_DEBUGINFO_CACHE_H

/* The most the cache holds; the least recently used files go first. */
#define DEBUGINFO_CACHE_MAX_BYTES (1ULL << 30)

/* Cache in DIR (created, mode 0700, if its parent is ours), or nowhere when
 * DIR is NULL or empty. DIR must stay valid. */
void debuginfo_cache_set_dir(const char *dir);

/* A descriptor of the cached file for build id ID (lowercase hex), or -1. */
int debuginfo_cache_open(const char *id);

/* Keep a copy of the inflated debug file FD for build id ID (lowercase hex). */
void debuginfo_cache_store(const char *id, int fd);

#endif
