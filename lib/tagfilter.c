/* Label filters as go tool pprof has them; see tagfilter.h. A value that
 * reads as a number or a range of numbers (with units) is a range, as
 * pprof decides it; anything else, regular expressions. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errmsg.h"
#include "tagfilter.h"

struct tagfilter {
	const struct profile *p;
	int64_t key;        /* string index of KEY; -2: none given; -1: not in P */
	bool range;
	/* a range: its ends in base units of a family (-1: open) */
	int family;
	double lo, hi;
	bool has_lo, has_hi;
	regex_t *res;
	size_t nres;
};

/* The units pprof scales between, by family: memory in bytes (powers of
 * 1024), time in nanoseconds. */
static const struct tagfilter_unit {
	const char *name;
	int family;
	double scale;
} tagfilter_units[] = {
	{ "b", 1, 1 }, { "byte", 1, 1 }, { "bytes", 1, 1 },
	{ "kb", 1, 1024.0 }, { "kib", 1, 1024.0 }, { "kilobyte", 1, 1024.0 },
	{ "mb", 1, 1048576.0 }, { "mib", 1, 1048576.0 }, { "megabyte", 1, 1048576.0 },
	{ "gb", 1, 1073741824.0 }, { "gib", 1, 1073741824.0 }, { "gigabyte", 1, 1073741824.0 },
	{ "tb", 1, 1099511627776.0 }, { "tib", 1, 1099511627776.0 },
	{ "ns", 2, 1 }, { "nanosecond", 2, 1 }, { "nanoseconds", 2, 1 },
	{ "us", 2, 1e3 }, { "microsecond", 2, 1e3 }, { "microseconds", 2, 1e3 },
	{ "ms", 2, 1e6 }, { "millisecond", 2, 1e6 }, { "milliseconds", 2, 1e6 },
	{ "s", 2, 1e9 }, { "sec", 2, 1e9 }, { "second", 2, 1e9 }, { "seconds", 2, 1e9 },
	{ "m", 2, 60e9 }, { "min", 2, 60e9 }, { "minute", 2, 60e9 }, { "minutes", 2, 60e9 },
	{ "h", 2, 3600e9 }, { "hour", 2, 3600e9 }, { "hours", 2, 3600e9 },
};

/* UNIT's family and scale (0 and 1 for none, or one not known: those
 * compare only with none). */
static int tagfilter_unit(const char *unit, size_t n, double *scale)
{
	*scale = 1;
	for (size_t i = 0; n && i < sizeof(tagfilter_units) / sizeof(*tagfilter_units); i++) {
		if (strlen(tagfilter_units[i].name) == n &&
		    strncasecmp(tagfilter_units[i].name, unit, n) == 0) {
			*scale = tagfilter_units[i].scale;
			return tagfilter_units[i].family;
		}
	}
	return n ? -1 : 0;
}

/* One end of a range at *S: digits and a unit. Returns false when *S holds
 * no number. */
static bool tagfilter_number(const char **s, double *v, int *family)
{
	const char *p = *s, *u;
	char *end;
	double scale;
	long long n;

	if (!isdigit((unsigned char)p[*p == '-' || *p == '+']))
		return false;
	n = strtoll(p, &end, 10);
	for (u = end; isalpha((unsigned char)*u); u++)
		;
	*family = tagfilter_unit(end, u - end, &scale);
	*v = (double)n * scale;
	*s = u;
	return true;
}

/* VALUE as a range: N, N:, :N, or N:M. False if it is not one. */
static bool tagfilter_parse_range(struct tagfilter *f, const char *value)
{
	const char *s = value;
	int fam = 0, fam2 = 0;

	f->has_lo = tagfilter_number(&s, &f->lo, &fam);
	if (!*s && f->has_lo) {
		f->hi = f->lo;
		f->has_hi = true;
		f->family = fam;
		return true;
	}
	if (*s != ':')
		return false;
	s++;
	f->has_hi = tagfilter_number(&s, &f->hi, &fam2);
	if (*s || (!f->has_lo && !f->has_hi) || (f->has_lo && f->has_hi && fam != fam2))
		return false;
	f->family = f->has_lo ? fam : fam2;
	return true;
}

static int tagfilter_compile(struct tagfilter *f, const char *value, const char *what)
{
	char *copy = strdup(value), *save = NULL;

	if (!copy)
		return cp_error("out of memory");
	for (const char *c = value; *c; c++)
		f->nres += *c == ',';
	f->res = calloc(f->nres + 1, sizeof(*f->res));
	f->nres = 0;
	if (!f->res) {
		free(copy);
		return cp_error("out of memory");
	}
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (cp_regcomp(&f->res[f->nres], t) < 0) {
			cp_error("bad regular expression '%s' for %s: %s", t, what, cp_errmsg());
			free(copy);
			return -1;
		}
		f->nres++;
	}
	free(copy);
	return 0;
}

struct tagfilter *tagfilter_new(const struct profile *p, const char *spec, const char *what)
{
	struct tagfilter *f = calloc(1, sizeof(*f));
	const char *eq = strchr(spec, '='), *value = eq ? eq + 1 : spec;

	if (!f) {
		cp_error("out of memory");
		return NULL;
	}
	f->p = p;
	f->key = -2;
	if (eq) {
		f->key = -1;
		for (size_t i = 1; i < p->nstrings; i++)
			if (strlen(p->strings[i]) == (size_t)(eq - spec) &&
			    strncmp(p->strings[i], spec, eq - spec) == 0)
				f->key = i;
	}
	f->range = tagfilter_parse_range(f, value);
	if (!f->range && tagfilter_compile(f, value, what) < 0) {
		tagfilter_free(f);
		return NULL;
	}
	return f;
}

/* Whether numeric label L is in F's range, in its unit. */
static bool tagfilter_in_range(const struct tagfilter *f, const struct pf_label *l)
{
	const char *unit = l->num_unit ? profile_str(f->p, l->num_unit) : "";
	double scale, v;

	if (!*unit && strcmp(profile_str(f->p, l->key), "bytes") == 0)
		unit = "bytes";
	if (tagfilter_unit(unit, strlen(unit), &scale) != f->family)
		return false;
	v = (double)l->num * scale;
	return (!f->has_lo || v >= f->lo) && (!f->has_hi || v <= f->hi);
}

static bool tagfilter_finds(const regex_t *re, const char *s)
{
	return regexec(re, s, 0, NULL, 0) == 0;
}

bool tagfilter_match(const struct tagfilter *f, const struct pf_sample *s)
{
	char kv[512];

	if (f->key == -1)
		return false;
	if (f->range) {
		for (size_t j = 0; j < s->nlabels; j++)
			if (!s->labels[j].str && (f->key < 0 || s->labels[j].key == f->key) &&
			    tagfilter_in_range(f, &s->labels[j]))
				return true;
		return false;
	}
	for (size_t r = 0; r < f->nres; r++) {
		bool found = false;
		for (size_t j = 0; j < s->nlabels && !found; j++) {
			const struct pf_label *l = &s->labels[j];
			if (!l->str || (f->key >= 0 && l->key != f->key))
				continue;
			if (f->key >= 0) {
				found = tagfilter_finds(&f->res[r], profile_str(f->p, l->str));
			} else {
				snprintf(kv, sizeof(kv), "%s:%s", profile_str(f->p, l->key),
					 profile_str(f->p, l->str));
				found = tagfilter_finds(&f->res[r], kv);
			}
		}
		/* With a key, any expression will do; without, each must. */
		if (f->key >= 0 && found)
			return true;
		if (f->key < 0 && !found)
			return false;
	}
	return f->key < 0;
}

void tagfilter_free(struct tagfilter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nres; i++)
		regfree(&f->res[i]);
	free(f->res);
	free(f);
}
