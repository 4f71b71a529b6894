/* Label filters as go tool pprof has them (internal/driver's
 * compileTagFilter); see tagfilter.h. A value that reads as a number or a
 * range of numbers (with units) is a range, as pprof decides it; anything
 * else, regular expressions. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "tagfilter.h"
#include "units.h"

struct tagfilter {
	const struct profile *p;
	int64_t key;        /* string index of KEY; -2: none given; -1: not in P */
	const char **units; /* numeric keys' units (profile_num_units) */
	bool range;
	/* a range: its ends in UNIT, pprof's canonical name of the filter's */
	char unit[32];
	double lo, hi;
	bool has_lo, has_hi;
	regex_t *res;       /* the expressions; NULL where one is empty (any value) */
	bool *empty;
	size_t nres;
};

/* One end of a range at *S: digits and letters. False when *S has none. */
static bool tagfilter_number(const char **s, long long *v, char *unit, size_t n)
{
	const char *p = *s, *u;
	char *end;
	size_t len;

	if (!isdigit((unsigned char)p[*p == '-' || *p == '+']))
		return false;
	*v = strtoll(p, &end, 10);
	for (u = end; isalpha((unsigned char)*u); u++)
		;
	len = (size_t)(u - end) < n ? (size_t)(u - end) : n - 1;
	memcpy(unit, end, len);
	unit[len] = '\0';
	*s = u;
	return true;
}

/* VALUE as a range, N, N:, :N or N:M, its numbers scaled to the first's
 * unit as pprof scales them. False if it is not one. */
static bool tagfilter_parse_range(struct tagfilter *f, const char *value)
{
	const char *s = value;
	char u1[32] = "", u2[32] = "";
	long long a = 0, b = 0;
	bool has_a, has_b = false;

	has_a = tagfilter_number(&s, &a, u1, sizeof(u1));
	if (*s == ':') {
		s++;
		has_b = tagfilter_number(&s, &b, u2, sizeof(u2));
	} else if (has_a && !*s) {
		has_b = true;
		b = a;
		memcpy(u2, u1, sizeof(u2));
	}
	if (*s || (!has_a && !has_b))
		return false;
	if (has_a) {
		snprintf(f->unit, sizeof(f->unit), "%s", units_scale(a, u1, u1, &f->lo));
		if (has_b && strcmp(units_scale(b, u2, f->unit, &f->hi), f->unit) != 0)
			return false;
	} else {
		snprintf(f->unit, sizeof(f->unit), "%s", units_scale(b, u2, u2, &f->hi));
	}
	f->has_lo = has_a;
	f->has_hi = has_b;
	return true;
}

/* VALUE's comma-separated expressions; an empty one finds anything. */
static int tagfilter_compile(struct tagfilter *f, const char *value, const char *what)
{
	size_t n = 1;

	for (const char *c = value; *c; c++)
		n += *c == ',';
	f->res = calloc(n, sizeof(*f->res));
	f->empty = calloc(n, sizeof(*f->empty));
	if (!f->res || !f->empty)
		return cp_error("out of memory");
	for (const char *t = value;; f->nres++) {
		const char *end = strchr(t, ',');
		size_t len = end ? (size_t)(end - t) : strlen(t);
		char *one = strndup(t, len);
		if (!one)
			return cp_error("out of memory");
		f->empty[f->nres] = !len;
		if (len && cp_regcomp(&f->res[f->nres], one) < 0) {
			cp_error("bad regular expression '%s' for %s: %s", one, what, cp_errmsg());
			free(one);
			return -1;
		}
		free(one);
		if (!end) {
			f->nres++;
			return 0;
		}
		t = end + 1;
	}
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
	/* "=V" has no key, as for pprof. */
	if (eq && eq > spec) {
		f->key = -1;
		for (size_t i = 1; i < p->nstrings; i++)
			if (strlen(p->strings[i]) == (size_t)(eq - spec) &&
			    strncmp(p->strings[i], spec, eq - spec) == 0)
				f->key = i;
	}
	f->range = tagfilter_parse_range(f, value);
	if ((f->range && profile_num_units(p, &f->units) < 0) ||
	    (!f->range && tagfilter_compile(f, value, what) < 0)) {
		tagfilter_free(f);
		return NULL;
	}
	return f;
}

/* Whether numeric label L is in F's range, scaled from its key's unit. */
static bool tagfilter_in_range(const struct tagfilter *f, const struct pf_label *l)
{
	const char *unit = l->key >= 0 && (size_t)l->key < f->p->nstrings && f->units[l->key] ?
			   f->units[l->key] : "";
	double v;

	if (strcmp(units_scale(l->num, unit, f->unit, &v), f->unit) != 0)
		return false;
	return (!f->has_lo || v >= f->lo) && (!f->has_hi || v <= f->hi);
}

/* Whether expression R of F finds S; for a label without a key, its
 * "key:value" (KEY given). */
static bool tagfilter_finds(const struct tagfilter *f, size_t r, const char *key, const char *s)
{
	char *kv;
	bool found;

	if (f->empty[r])
		return true;
	if (!key)
		return regexec(&f->res[r], s, 0, NULL, 0) == 0;
	if (asprintf(&kv, "%s:%s", key, s) < 0)
		return false;
	found = regexec(&f->res[r], kv, 0, NULL, 0) == 0;
	free(kv);
	return found;
}

bool tagfilter_match(const struct tagfilter *f, const struct pf_sample *s)
{
	if (f->key == -1)
		return false;
	if (f->range) {
		for (size_t j = 0; j < s->nlabels; j++)
			if (!s->labels[j].str && profile_label_set(&s->labels[j]) &&
			    (f->key < 0 || s->labels[j].key == f->key) &&
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
			found = tagfilter_finds(f, r, f->key >= 0 ? NULL : profile_str(f->p, l->key),
						profile_str(f->p, l->str));
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
		if (!f->empty[i])
			regfree(&f->res[i]);
	free(f->res);
	free(f->empty);
	free(f->units);
	free(f);
}
