/* pprof's file format: gzipped (or plain) perftools.profiles.Profile protobufs,
 * decoded into and encoded from the profile model. */
#ifndef CPROF_PPROF_H
#define CPROF_PPROF_H

#include <stddef.h>

#include "profile.h"

/* Decode LEN bytes, gzipped or plain, into a new profile: a protobuf, or
 * failing that one of the legacy formats go tool pprof reads (legacy.h).
 * Every index in the input is checked, so corrupt input yields NULL and an
 * error, never a crash. */
struct profile *pprof_decode(const void *buf, size_t len);

/* Read and decode the file at PATH ("-" for standard input), or fetch it
 * where PATH is an http(s) URL (fetch_url, with go tool pprof's timeout);
 * NULL and an error message naming PATH on failure. A legacy profile's
 * addresses are named from the files of its memory map where they are on
 * this machine (LEGACY_SYMBOLIZE), as go tool pprof names them. */
struct profile *pprof_read(const char *path);

/* Give P's functions the names go tool pprof's default demangling gives
 * those whose name is their system name (as read, not demangled yet): C++
 * names, mangled or not, without their parameters and templates. Returns 0
 * or -1 (out of memory). */
int pprof_simplify_names(struct profile *p);

/* Encode P, gzipped, into a new malloc'ed buffer *BUF of *LEN bytes. Returns 0 or -1. */
int pprof_encode(const struct profile *p, void **buf, size_t *len);

/* Write P gzipped to PATH as file_write_output does: "-" is standard output,
 * a device or FIFO is written in place, a file whole or not at all. Returns
 * 0, or -1 (and no file) with an error. */
int pprof_write(const struct profile *p, const char *path);

#endif
