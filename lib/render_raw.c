/* go tool pprof -raw: the profile as pprof's Profile.String prints it after
 * its merge (every location, function and mapping numbered in the order
 * the samples use them, samples whose values are all 0 left out, samples
 * alike in locations and labels one) and its filters (samples dropped,
 * lines hidden; the numbers stay). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errmsg.h"
#include "hmap.h"
#include "render.h"

struct raw {
	const struct profile *p;
	const struct stackset *ss;
	const bool *lines_kept; /* NULL: all */
	size_t *line_base;      /* per location: its first line's index in lines_kept */
	uint64_t *loc, *map;    /* new id of each old id - 1; 0: unused */
	uint64_t *loc_order, *map_order; /* old ids by new id - 1 */
	size_t nloc, nmap;
	uint32_t *group;        /* per sample: the first sample alike, + 1; 0: all values 0 */
	int64_t *values;        /* per sample that is first of its group: the group's sums */
	const struct stack **stack; /* per sample: its kept stack, or NULL */
	struct pf_label *a, *b; /* scratch: two samples' labels by key */
};

static bool raw_zero(const struct profile *p, const struct pf_sample *s)
{
	for (size_t v = 0; v < p->nsample_types; v++)
		if (s->values[v])
			return false;
	return true;
}

/* MAP (an id; 0 for none, which pprof gives a fake mapping of its own,
 * here id nmappings + 1) numbered on first use. */
static void raw_map(struct raw *r, uint64_t map)
{
	if (!map)
		map = r->p->nmappings + 1;
	if (map <= r->p->nmappings + 1 && !r->map[map - 1]) {
		r->map[map - 1] = ++r->nmap;
		r->map_order[r->nmap - 1] = map;
	}
}

/* The new ids: the first mapping (pprof's fake one for a profile with
 * none, samples or not), then as the samples use them. */
static void raw_number(struct raw *r)
{
	const struct profile *p = r->p;

	raw_map(r, p->nmappings ? 1 : 0);
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pf_sample *s = &p->samples[i];
		for (size_t j = 0; !raw_zero(p, s) && j < s->nlocs; j++) {
			if (r->loc[s->locs[j] - 1])
				continue;
			r->loc[s->locs[j] - 1] = ++r->nloc;
			r->loc_order[r->nloc - 1] = s->locs[j];
			raw_map(r, p->locations[s->locs[j] - 1].mapping_id);
		}
	}
}

/* S's labels stably sorted by key, into OUT. */
static void raw_sort_labels(const struct profile *p, const struct pf_sample *s,
			    struct pf_label *out)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		size_t k = i;
		for (; k > 0 && strcmp(profile_str(p, out[k - 1].key),
				       profile_str(p, s->labels[i].key)) > 0; k--)
			out[k] = out[k - 1];
		out[k] = s->labels[i];
	}
}

struct raw_key {
	struct raw *r;
	const struct pf_sample *s; /* its labels sorted in r->a */
};

/* pprof's sample key: the same locations, the same labels in any order. */
static int raw_eq(void *ctx, uint32_t idx)
{
	const struct raw_key *k = ctx;
	const struct pf_sample *t = &k->r->p->samples[idx], *s = k->s;

	if (t->nlocs != s->nlocs || t->nlabels != s->nlabels ||
	    (s->nlocs && memcmp(t->locs, s->locs, s->nlocs * sizeof(*s->locs)) != 0))
		return 0;
	raw_sort_labels(k->r->p, t, k->r->b);
	for (size_t i = 0; i < s->nlabels; i++)
		if (k->r->a[i].key != k->r->b[i].key || k->r->a[i].str != k->r->b[i].str ||
		    k->r->a[i].num != k->r->b[i].num || k->r->a[i].num_unit != k->r->b[i].num_unit)
			return 0;
	return 1;
}

/* pprof's merge: each sample whose values are not all 0 into the group of
 * the first alike, whose values add up. */
static int raw_group(struct raw *r)
{
	const struct profile *p = r->p;
	struct hmap index;
	int rc = -1;

	hmap_init(&index);
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pf_sample *s = &p->samples[i];
		struct raw_key k = { r, s };
		uint64_t h = hash_bytes(HASH_SEED, s->locs, s->nlocs * sizeof(*s->locs));
		int64_t at;
		if (raw_zero(p, s))
			continue;
		raw_sort_labels(p, s, r->a);
		for (size_t j = 0; j < s->nlabels; j++)
			h = hash_bytes(h, &r->a[j].key, sizeof(r->a[j].key)) ^ (uint64_t)r->a[j].str;
		if ((at = hmap_find(&index, h, raw_eq, &k)) < 0) {
			if (hmap_insert(&index, h, (uint32_t)i) < 0)
				goto out;
			at = (int64_t)i;
		}
		r->group[i] = (uint32_t)at + 1;
		for (size_t v = 0; v < p->nsample_types; v++)
			r->values[at * p->nsample_types + v] += s->values[v];
	}
	rc = 0;
out:
	hmap_release(&index);
	return rc;
}

/* Go's time.Duration.String, to its first four characters as pprof's
 * "%.4v" prints it. */
static void raw_duration(FILE *out, int64_t ns)
{
	char buf[64], *c = buf;
	int n = 0;

	if (ns < 1000)
		snprintf(buf, sizeof(buf), "%lldns", (long long)ns);
	else if (ns < 1000000)
		snprintf(buf, sizeof(buf), "%.9g\xc2\xb5s", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, sizeof(buf), "%.9gms", ns / 1e6);
	else if (ns < 60000000000LL)
		snprintf(buf, sizeof(buf), "%.9gs", ns / 1e9);
	else if (ns < 3600000000000LL)
		snprintf(buf, sizeof(buf), "%lldm%.9gs", (long long)(ns / 60000000000LL),
			 (double)(ns % 60000000000LL) / 1e9);
	else
		snprintf(buf, sizeof(buf), "%lldh%lldm%.9gs", (long long)(ns / 3600000000000LL),
			 (long long)(ns % 3600000000000LL / 60000000000LL),
			 (double)(ns % 60000000000LL) / 1e9);
	for (; *c && n < 4; n++) /* four runes: µ is two bytes */
		c += (*c & 0xc0) == 0xc0 ? 2 : 1;
	fprintf(out, "Duration: %.*s\n", (int)(c - buf), buf);
}

/* Go's time.Time.String of NS since the epoch, in local time. */
static void raw_time(FILE *out, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	char when[64], zone[64], digits[16] = "";
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z %Z", &tm);
	if (frac) {
		int len = snprintf(digits, sizeof(digits), ".%09ld", frac);
		while (len > 1 && digits[len - 1] == '0')
			digits[--len] = '\0';
	}
	fprintf(out, "Time: %s%s %s\n", when, digits, zone);
}

static void raw_header(FILE *out, const struct profile *p)
{
	const char *dflt = profile_str(p, p->default_sample_type);

	for (size_t i = 0; i < p->ncomments; i++)
		fprintf(out, "Comment: %s\n", profile_str(p, p->comments[i]));
	fprintf(out, "PeriodType: %s %s\n", profile_str(p, p->period_type.type),
		profile_str(p, p->period_type.unit));
	fprintf(out, "Period: %lld\n", (long long)p->period);
	if (p->time_nanos)
		raw_time(out, p->time_nanos);
	if (p->duration_nanos)
		raw_duration(out, p->duration_nanos);
	fputs("Samples:\n", out);
	for (size_t i = 0; i < p->nsample_types; i++) {
		const char *type = profile_str(p, p->sample_types[i].type);
		fprintf(out, "%s%s/%s%s", i ? " " : "", type, profile_str(p, p->sample_types[i].unit),
			strcmp(type, dflt) == 0 ? "[dflt]" : "");
	}
	fputc('\n', out);
}

static int raw_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One key's values: "key:[v v]", numbers with their units where any has one. */
static char *raw_key_values(const struct profile *p, const struct pf_sample *s, size_t i, bool num)
{
	const struct pf_label *l = &s->labels[i];
	bool units = false;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	for (size_t j = i; j < s->nlabels; j++)
		units |= s->labels[j].key == l->key && !s->labels[j].str && s->labels[j].num_unit;
	if (!(m = open_memstream(&buf, &len)))
		return NULL;
	fprintf(m, "%s:[", profile_str(p, l->key));
	for (size_t j = i, first = 1; j < s->nlabels; j++) {
		const struct pf_label *x = &s->labels[j];
		if (x->key != l->key || !profile_label_set(x) || (x->str != 0) == num)
			continue;
		fputs(first ? "" : " ", m);
		first = 0;
		if (!num)
			fputs(profile_str(p, x->str), m);
		else
			fprintf(m, units ? "%lld %s" : "%lld", (long long)x->num, profile_str(p, x->num_unit));
	}
	fputc(']', m);
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* pprof's labelsToString (or with NUM numLabelsToString) of S, after a
 * line break and 16 spaces; nothing without such labels. */
static int raw_labels(FILE *out, const struct profile *p, const struct pf_sample *s, bool num)
{
	char **keys = calloc(s->nlabels + 1, sizeof(*keys));
	size_t n = 0;
	int rc = -1;

	if (!keys)
		return cp_error("out of memory");
	for (size_t i = 0; i < s->nlabels; i++) {
		const struct pf_label *l = &s->labels[i];
		bool seen = false;
		if (!profile_label_set(l) || (l->str != 0) == num)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= s->labels[j].key == l->key && profile_label_set(&s->labels[j]) &&
				(s->labels[j].str != 0) != num;
		if (!seen && !(keys[n++] = raw_key_values(p, s, i, num))) {
			cp_error("out of memory");
			goto out;
		}
	}
	qsort(keys, n, sizeof(*keys), raw_str_cmp);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? " " : "\n                ", keys[i]);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

static void raw_location(FILE *out, const struct raw *r, uint64_t id)
{
	const struct profile *p = r->p;
	const struct pf_location *l = &p->locations[id - 1];
	size_t shown = 0;
	char head[96];
	int len = snprintf(head, sizeof(head), "%6llu: 0x%llx ", (unsigned long long)r->loc[id - 1],
			   (unsigned long long)l->address);

	len += snprintf(head + len, sizeof(head) - (size_t)len, "M=%llu ",
			(unsigned long long)r->map[(l->mapping_id && l->mapping_id <= p->nmappings ?
						    l->mapping_id : p->nmappings + 1) - 1]);
	if (l->is_folded)
		snprintf(head + len, sizeof(head) - (size_t)len, "[F] ");
	for (size_t i = 0; i < l->nlines; i++) {
		const struct pf_line *ln = &l->lines[i];
		const struct pf_function *f = ln->function_id && ln->function_id <= p->nfunctions ?
						      &p->functions[ln->function_id - 1] : NULL;
		if (r->lines_kept && !r->lines_kept[r->line_base[id - 1] + i])
			continue;
		fputs(shown++ ? "             " : head, out);
		if (!f) {
			fputs("??\n", out);
			continue;
		}
		fprintf(out, "%s %s:%lld s=%lld", profile_str(p, f->name), profile_str(p, f->filename),
			(long long)ln->line, (long long)f->start_line);
		if (strcmp(profile_str(p, f->name), profile_str(p, f->system_name)) != 0)
			fprintf(out, "(%s)", profile_str(p, f->system_name));
		fputc('\n', out);
	}
	if (!shown)
		fprintf(out, "%s\n", head);
}

static void raw_mapping(FILE *out, const struct raw *r, size_t k)
{
	const struct profile *p = r->p;
	const struct pf_mapping *m;

	if (r->map_order[k] > p->nmappings) {
		fprintf(out, "%zu: 0x0/0x0/0x0   \n", k + 1); /* pprof's fake mapping */
		return;
	}
	m = &p->mappings[r->map_order[k] - 1];
	fprintf(out, "%zu: 0x%llx/0x%llx/0x%llx %s %s %s%s%s%s\n", k + 1,
		(unsigned long long)m->memory_start, (unsigned long long)m->memory_limit,
		(unsigned long long)m->file_offset, profile_str(p, m->filename),
		profile_str(p, m->build_id), m->has_functions ? "[FN]" : "",
		m->has_filenames ? "[FL]" : "", m->has_line_numbers ? "[LN]" : "",
		m->has_inline_frames ? "[IN]" : "");
}

/* Sample I (the first of its group) as its kept stack leaves it. */
static int raw_sample(FILE *out, const struct raw *r, size_t i)
{
	const struct profile *p = r->p;
	const struct pf_sample *s = &p->samples[i];
	const struct stack *st = r->stack[i];

	for (size_t v = 0; v < p->nsample_types; v++)
		fprintf(out, " %10lld", (long long)r->values[i * p->nsample_types + v]);
	fputs(": ", out);
	for (size_t j = 0; j < st->nframes; j++) {
		uint32_t pos = st->frames[j].pos;
		if (pos != FRAME_NO_POS && (j == 0 || st->frames[j - 1].pos != pos))
			fprintf(out, "%llu ", (unsigned long long)r->loc[s->locs[pos] - 1]);
	}
	if (raw_labels(out, p, s, false) < 0 || raw_labels(out, p, s, true) < 0)
		return -1;
	fputc('\n', out);
	return 0;
}

static int raw_alloc(struct raw *r)
{
	const struct profile *p = r->p;
	size_t maxl = 1, lines = 0;

	for (size_t i = 0; i < p->nsamples; i++)
		maxl = p->samples[i].nlabels > maxl ? p->samples[i].nlabels : maxl;
	r->loc = calloc(p->nlocations + 1, sizeof(*r->loc));
	r->map = calloc(p->nmappings + 2, sizeof(*r->map));
	r->loc_order = malloc((p->nlocations + 1) * sizeof(*r->loc_order));
	r->map_order = malloc((p->nmappings + 2) * sizeof(*r->map_order));
	r->line_base = malloc((p->nlocations + 1) * sizeof(*r->line_base));
	r->group = calloc(p->nsamples + 1, sizeof(*r->group));
	r->values = calloc(p->nsamples * p->nsample_types + 1, sizeof(*r->values));
	r->stack = calloc(p->nsamples + 1, sizeof(*r->stack));
	r->a = malloc(maxl * sizeof(*r->a));
	r->b = malloc(maxl * sizeof(*r->b));
	if (!r->loc || !r->map || !r->loc_order || !r->map_order || !r->line_base || !r->group ||
	    !r->values || !r->stack || !r->a || !r->b)
		return cp_error("out of memory");
	for (size_t i = 0; i < p->nlocations; i++) {
		r->line_base[i] = lines;
		lines += p->locations[i].nlines;
	}
	return 0;
}

int render_raw(FILE *out, const struct stackset *ss, const bool *lines_kept)
{
	struct raw r = { .p = ss->p, .ss = ss, .lines_kept = lines_kept };
	const struct profile *p = ss->p;
	int rc = -1;

	if (raw_alloc(&r) < 0 || raw_group(&r) < 0)
		goto out;
	raw_number(&r);
	for (size_t i = 0; i < ss->nstacks; i++)
		r.stack[ss->stacks[i].sample - p->samples] = &ss->stacks[i];
	raw_header(out, p);
	for (size_t i = 0; i < p->nsamples; i++)
		if (r.group[i] == i + 1 && r.stack[i] && raw_sample(out, &r, i) < 0)
			goto out;
	fputs("Locations\n", out);
	for (size_t i = 0; i < r.nloc; i++)
		raw_location(out, &r, r.loc_order[i]);
	fputs("Mappings\n", out);
	for (size_t i = 0; i < r.nmap; i++)
		raw_mapping(out, &r, i);
	rc = 0;
out:
	free(r.loc);
	free(r.map);
	free(r.loc_order);
	free(r.map_order);
	free(r.line_base);
	free(r.group);
	free(r.values);
	free(r.stack);
	free(r.a);
	free(r.b);
	return rc;
}
