/* Symbolizing program counters of a target with elfutils' libdwfl: function
 * names, file:line and inlined frames, debug info found by build-id and
 * .gnu_debuglink (under /usr/lib/debug), each answer cached per address. */
#ifndef CPROF_SYMBOLIZE_H
#define CPROF_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addrspace.h"

struct sym_frame {
	const char *name;        /* function name, demangled; NULL when unknown */
	const char *system_name; /* as the binary spells it (mangled), or NAME */
	const char *file;     /* source file; NULL when unknown */
	int line;             /* 0 when unknown */
	int start_line;       /* the function's first line (DW_AT_decl_line); 0 if unknown */
};

struct symbolizer;

/* A symbolizer over AS (which must outlive it). NULL with an error. */
struct symbolizer *symbolizer_new(struct addrspace *as);
void symbolizer_free(struct symbolizer *s);

/* Frames for program counter PC, innermost inlined function first, the
 * function that holds the code last. CALLER says PC is a return address, so the
 * line of the call (PC - 1) is wanted. The last frame is named from the symbol
 * table (without "@VERSION"; of aliases the public name: exported, fewest
 * leading underscores, global, shortest), falling back to DWARF; inlined frames carry their
 * DWARF names (the linkage name when there is one). C++ and Rust names are
 * demangled (Rust's legacy ones without their "::h" hash); SYSTEM_NAME keeps
 * the mangled one. Without debug info there is one frame with
 * no file. Returns the count (0, with *FRAMES NULL: no module or no symbol; the
 * caller then shows module+offset), or -1 with an error when out of memory.
 * The frames and their strings stay valid until symbolizer_free; a repeated
 * lookup is a hash probe that returns the same pointers. */
int symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool caller,
		      const struct sym_frame **frames);

#endif
