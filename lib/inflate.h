/* Inflating an ELF file's compressed debug sections ahead of libdw. */
#ifndef CPROF_INFLATE_H
#define CPROF_INFLATE_H

#include <libelf.h>

/* A memfd holding ELF (an ELF file opened by libelf) with its zlib-compressed
 * (SHF_COMPRESSED) sections inflated, for libdw to map instead of the file.
 * libdw would inflate every debug section with zlib when it opens the file,
 * one after the other: libdeflate is about 2.5 times faster, and two sections
 * inflate at a time. Every other byte keeps its offset (the copy holds all of
 * the file, in memory). -1 when ELF has no such section, or they overlap or
 * would inflate past MAX_GROWTH times the file: the caller uses the file
 * itself, and libelf inflates what libdw asks for. */
#define MAX_GROWTH 32

int inflate_elf(Elf *elf);

#endif
