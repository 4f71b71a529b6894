/* Values with units, formatted as pprof prints them (1.25s, 30ms, 1.50MB, 42). */
#ifndef CPROF_UNITS_H
#define CPROF_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Format V, measured in UNIT ("nanoseconds", "bytes", "count", ...), into BUF. */
char *units_format(char *buf, size_t n, int64_t v, const char *unit);

/* pprof's measurement.Scale: V in unit FROM expressed in unit TO, or with
 * TO "minimum" (or "auto") in the largest unit of FROM's family (memory,
 * time, GCU) it is at least one of, into *OUT. Returns the unit's canonical
 * name ("MB", "ms"); for a FROM pprof does not know, "" where TO is
 * minimum, auto, count, sample or unit, and TO itself otherwise. */
const char *units_scale(int64_t v, const char *from, const char *to, double *out);

/* pprof's measurement.ScaledLabel to the minimum unit: "64kB", "2hrs", "42". */
char *units_label(char *buf, size_t n, int64_t v, const char *unit);
/* The same in unit TO (pprof's ScaledLabel): "1500ms" in ms. */
char *units_label_to(char *buf, size_t n, int64_t v, const char *unit, const char *to);

/* Format V in UNIT with one decimal in the largest unit it is at least one
 * of, as pprof's -tags prints totals: "12.2s", "147.5ms", "1.5MB", "5832.0". */
char *units_format_1(char *buf, size_t n, int64_t v, const char *unit);

/* Format a share as pprof does: "12.34%" (or "100%" / "0%" exactly). */
char *units_percent(char *buf, size_t n, int64_t v, int64_t total);

/* The same padded to five places as pprof's -tags has it: "( 1.21%)". */
char *units_percent_padded(char *buf, size_t n, int64_t v, int64_t total);

#endif
