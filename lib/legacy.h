/* The formats go tool pprof read before profile.proto, and still reads:
 *  - Go's count profiles in text ("goroutine profile: total N", the
 *    threadcreate one: /debug/pprof/NAME?debug=1), whose "#" lines name
 *    each address's function and file:line;
 *  - heap profiles in text: gperftools' ("@ heapprofile", "@ heap_v2/N",
 *    growthz, fragmentationz) and Go's ("@ heap/N"), the sampling undone as
 *    pprof undoes it;
 *  - contention profiles ("--- contention:", "--- mutex:", gperftools'
 *    "--- contentionz"), Go's block and mutex profiles at debug=1;
 *  - gperftools' binary CPU profile (words 0, 3, 0, period, 0; samples of
 *    count, depth and addresses; the maps text after the trailer).
 * Each becomes the profile pprof makes of it: its sample types, values,
 * addresses (return addresses less one) and mappings (from the
 * /proc/PID/maps lines that follow "MAPPED_LIBRARIES:" or
 * "--- Memory map: ---"), without the frames pprof leaves out (its
 * DropFrames: an allocator's in heap profiles, a lock's in contention
 * profiles, the CPU profiler's signal handler's). */
#ifndef CPROF_LEGACY_H
#define CPROF_LEGACY_H

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

/* Name the addresses that no "#" line names from the files of the memory
 * map, as pprof does with the local binaries: each file that is still the
 * one mapped (same inode) is read for its symbols and debug information. */
#define LEGACY_SYMBOLIZE 1

/* Parse the LEN bytes at BUF (already inflated) as one of the legacy
 * formats, tried in pprof's order; FLAGS: 0 or LEGACY_SYMBOLIZE. Returns a
 * new profile, or NULL with an error; *KNOWN then says whether BUF began as
 * one of the formats (the error says what is wrong in it) or as none of
 * them. Corrupt input yields NULL and an error, never a crash. */
struct profile *legacy_parse(const void *buf, size_t len, int flags, bool *known);

#endif
