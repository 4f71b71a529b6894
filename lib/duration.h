/* Durations as users type them: 500ms, 30s, 5m, 1h, 1.5s, or bare seconds. */
#ifndef CPROF_DURATION_H
#define CPROF_DURATION_H

#include <stdint.h>

/* Parse S into nanoseconds (> 0, at most a year). Returns 0, or -1 with an error. */
int duration_parse(const char *s, int64_t *ns);

#endif
