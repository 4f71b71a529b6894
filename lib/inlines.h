/* The DWARF side of a program counter's frames: the scopes that hold it,
 * innermost first (the inlined instances within the function that holds the
 * code), found through an index of each unit's functions by address made the
 * first time a PC falls in the unit, since dwarf_getscopes walks the whole
 * unit for every address; and the names and call sites of those scopes. */
#ifndef CPROF_INLINES_H
#define CPROF_INLINES_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>

#include "hmap.h"

struct inlines_unit;

struct inlines {
	struct inlines_unit *units;
	size_t nunits, units_cap;
	struct hmap unit_index;
	Dwarf_Die *scopes; /* the answer of the last inlines_scopes */
	size_t scopes_cap;
};

void inlines_init(struct inlines *in);
void inlines_release(struct inlines *in);

/* The scopes of unit CU holding ADDR (a DWARF address), innermost first,
 * into *SCOPES (valid until the next call). Returns the count, or -1 with an
 * error when out of memory. */
int inlines_scopes(struct inlines *in, Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die **scopes);

/* Whether a scope with TAG is a function (out of line or inlined). */
bool inlines_is_function(int tag);

/* The name of function DIE: the linkage name first, since a C++ function's
 * DW_AT_name lacks its class and namespace ("push_back"). */
const char *inlines_name(Dwarf_Die *die);

/* The call site of inlined instance D of unit CUDIE: the file and line the
 * next function out is on (NULL and 0 when unknown). *FILES caches the
 * unit's file table between calls (start with NULL). */
void inlines_call_site(Dwarf_Die *d, Dwarf_Die *cudie, Dwarf_Files **files, const char **file,
		       int *line);

#endif
