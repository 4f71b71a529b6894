/* Inflating the compressed sections of a debug file (or of a binary with
 * debug info) ahead of libdw, for the symbolizer. */
#ifndef CPROF_DEBUGINFO_INFLATE_H
#define CPROF_DEBUGINFO_INFLATE_H

#include <libelf.h>

/* A memfd holding ELF (an ELF file opened by libelf) with its zlib-compressed
 * (SHF_COMPRESSED) sections inflated, for libdw to map instead of the file.
 * libdw would inflate every debug section with zlib when it opens the file,
 * one after the other: libdeflate is about 2.5 times faster, and two sections
 * inflate at a time. Every other byte keeps its offset (the copy holds all of
 * the file, in memory). -1 when ELF has no such section, or they overlap or
 * would inflate past DEBUGINFO_INFLATE_MAX_GROWTH times the file: the caller
 * uses the file itself, and libelf inflates what libdw asks for. */
#define DEBUGINFO_INFLATE_MAX_GROWTH 32

int debuginfo_inflate(Elf *elf);

#endif
