/* pprof's label filters (-tagfocus, -tagignore): [KEY=]REGEX[,REGEX...]
 * over string labels, or [KEY=]RANGE over numeric ones (42, 1mb:, :2kb,
 * 10ms:1s), as go tool pprof reads them. */
#ifndef CPROF_TAGFILTER_H
#define CPROF_TAGFILTER_H

#include <stdbool.h>

#include "profile.h"

struct tagfilter;

/* SPEC compiled for the samples of P (its strings). NULL with an error for
 * a regular expression that does not compile; WHAT names the option. */
struct tagfilter *tagfilter_new(const struct profile *p, const char *spec, const char *what);

/* Whether sample S has a label F accepts: with KEY, a label KEY whose value
 * one of the expressions finds, or which is in the range; without, for
 * every expression a label whose "key:value" it finds, or a numeric label
 * in the range. */
bool tagfilter_match(const struct tagfilter *f, const struct pf_sample *s);

void tagfilter_free(struct tagfilter *f);

#endif
