/* From samples to named, filtered stacks and the call tree; see stacks.h. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "stacks.h"
#include "tagfilter.h"
#include "units.h"

const char *stackset_name(const struct stackset *ss, uint32_t id)
{
	if (id < ss->p->nstrings)
		return ss->p->strings[id];
	if (id - ss->p->nstrings < ss->nsynth)
		return ss->synth[id - ss->p->nstrings];
	return "";
}

void location_synth_name(const struct profile *p, const struct pf_location *l, char *buf,
			 size_t n)
{
	if (l->mapping_id && l->mapping_id <= p->nmappings) {
		const struct pf_mapping *m = &p->mappings[l->mapping_id - 1];
		const char *file = profile_str(p, m->filename), *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		if (*base && l->address >= m->memory_start) {
			snprintf(buf, n, "%s+0x%llx", base,
				 (unsigned long long)(l->address - m->memory_start + m->file_offset));
			return;
		}
	}
	snprintf(buf, n, "0x%llx", (unsigned long long)l->address);
}

/* The name of a frame without symbols at pprof's default granularity (by
 * function): one per mapping, "[module]", or "<unknown>" outside any. */
static void stacks_mapping_name(const struct profile *p, const struct pf_location *l, char *buf,
				size_t n)
{
	if (l->mapping_id && l->mapping_id <= p->nmappings) {
		const char *file = profile_str(p, p->mappings[l->mapping_id - 1].filename);
		const char *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		if (*base) {
			snprintf(buf, n, "[%s]", base);
			return;
		}
	}
	snprintf(buf, n, "<unknown>");
}

/* The name id of a frame without symbols. */
static int64_t stacks_synth_name(struct stackset *ss, const struct pf_location *l)
{
	const struct profile *p = ss->p;
	char buf[512];
	int64_t i;

	if (ss->addresses)
		location_synth_name(p, l, buf, sizeof(buf));
	else
		stacks_mapping_name(p, l, buf, sizeof(buf));
	i = intern_n(&ss->synth_names, buf, strlen(buf));
	return i < 0 ? -1 : (int64_t)p->nstrings + i;
}

/* pprof's simplifyFunc: NAME without a leading '.' or its argument list. */
static void stacks_simplify(const char *name, char *buf, size_t n)
{
	const char *c;

	if (*name == '.')
		name++;
	for (c = name; (c = strchr(c, '(')); c++)
		if (strncmp(c, "(anonymous namespace)", 21) != 0 &&
		    (c - name < 8 || strncmp(c - 8, "operator()", 10) != 0))
			break;
	snprintf(buf, n, "%.*s", c ? (int)(c - name) : (int)strlen(name), name);
}

static int stacks_compile(regex_t *re, const char *pattern, const char *what)
{
	if (cp_regcomp(re, pattern) < 0)
		return cp_error("bad %s regular expression '%s': %s", what, pattern, cp_errmsg());
	return 0;
}

/* As pprof matches a location's line: by its function's name or file, or
 * by its mapping's file; a frame without a function by the mapping only. */
static int stacks_frame_matches(const struct stackset *ss, const struct frame *f, regex_t *re)
{
	return (!f->synth && (regexec(re, stackset_name(ss, f->name), 0, NULL, 0) == 0 ||
			      (f->file && regexec(re, stackset_name(ss, f->file), 0, NULL, 0) == 0))) ||
	       (f->map && regexec(re, stackset_name(ss, f->map), 0, NULL, 0) == 0);
}

static int stacks_stack_matches(const struct stackset *ss, const struct stack *s, regex_t *re)
{
	for (size_t i = 0; i < s->nframes; i++)
		if (stacks_frame_matches(ss, &s->frames[i], re))
			return 1;
	return 0;
}

/* The string index of "tid" in P, or -1 when no label can have that key. */
static int64_t stacks_tid_key(const struct profile *p)
{
	for (size_t i = 1; i < p->nstrings; i++)
		if (strcmp(p->strings[i], "tid") == 0)
			return i;
	return -1;
}

static int stacks_has_tid(const struct pf_sample *s, int64_t key, int64_t tid)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (s->labels[i].key == key && s->labels[i].num == tid)
			return 1;
	return 0;
}

/* The string index of S in P, or -1 when P has no such string. */
static int64_t stacks_string(const struct profile *p, const char *s)
{
	for (size_t i = 1; i < p->nstrings; i++)
		if (strcmp(p->strings[i], s) == 0)
			return i;
	return -1;
}

/* Whether S is labelled pprof::base=true: the base's part of a diff profile
 * (pprof -diff_base, cprof diff -o). */
static bool stacks_is_base(const struct pf_sample *s, int64_t key, int64_t yes)
{
	for (size_t i = 0; key >= 0 && yes >= 0 && i < s->nlabels; i++)
		if (s->labels[i].key == key && s->labels[i].str == yes)
			return true;
	return false;
}

/* pprof's total (its computeTotal): the sum of the values' magnitudes over
 * the samples labelled pprof::base where those add up to more than 0 (the
 * base's size), else over all of them. Over every sample in ALL, or over
 * the stacks kept. */
static int64_t stacks_total(const struct stackset *ss, bool all, bool mean, int64_t *div)
{
	size_t n = all ? ss->p->nsamples : ss->nstacks;
	int64_t total = 0, base = 0, d = 0, base_d = 0;

	for (size_t i = 0; i < n; i++) {
		const struct pf_sample *s = all ? &ss->p->samples[i] : ss->stacks[i].sample;
		int64_t v = s->values[ss->si], dv = mean ? s->values[0] : 0;
		bool is_base = all ? stacks_is_base(s, ss->base_key, ss->base_true)
				   : ss->stacks[i].base;
		v = v < 0 ? -v : v;
		total += v;
		d += dv;
		if (is_base) {
			base += v;
			base_d += dv;
		}
	}
	*div = base > 0 ? base_d : d;
	return base > 0 ? base : total;
}

/* Frames of one location, innermost first, appended at OUT. */
static int stacks_location_frames(struct stackset *ss, const struct pf_location *l,
				  struct frame *out)
{
	const struct profile *p = ss->p;
	uint32_t map = l->mapping_id && l->mapping_id <= p->nmappings ?
			       (uint32_t)p->mappings[l->mapping_id - 1].filename : 0;
	size_t n = 0;

	/* The last line is the function the code is in; those before, what it inlined. */
	for (size_t j = ss->noinlines && l->nlines ? l->nlines - 1 : 0; j < l->nlines; j++) {
		const struct pf_line *ln = &l->lines[j];
		const struct pf_function *f;
		if (!ln->function_id || ln->function_id > p->nfunctions)
			continue;
		f = &p->functions[ln->function_id - 1];
		out[n].name = f->name ? f->name : f->system_name;
		out[n].file = f->filename;
		out[n].line = ln->line;
		out[n].start_line = f->start_line;
		out[n].map = map;
		out[n].synth = false;
		out[n].inl = j + 1 < l->nlines;
		if (out[n].name)
			n++;
	}
	if (!n) {
		int64_t id = stacks_synth_name(ss, l);
		if (id < 0)
			return -1;
		out[0].name = id;
		out[0].file = 0;
		out[0].line = 0;
		out[0].start_line = 0;
		out[0].map = map;
		out[0].synth = true;
		out[0].inl = false;
		n = 1;
	}
	return n;
}

/* A view's filters, compiled. */
struct stacks_filters {
	const struct stack_filter *f;
	regex_t focus, ignore, hide, show;
	bool has_focus, has_ignore, has_hide, has_show;
	struct tagfilter *tagfocus, *tagignore;
	int64_t tkey;
	regex_t show_from, prune_from;
	bool has_show_from, has_prune_from;
	/* --tagroot's and --tagleaf's keys: string indices (-1: no such
	 * string) and name ids for the frames' file */
	int64_t *root_keys, *leaf_keys;
	uint32_t *root_files, *leaf_files;
	size_t nroot, nleaf;
};

static void stacks_filters_release(struct stacks_filters *x)
{
	if (x->has_focus)
		regfree(&x->focus);
	if (x->has_ignore)
		regfree(&x->ignore);
	if (x->has_hide)
		regfree(&x->hide);
	if (x->has_show)
		regfree(&x->show);
	if (x->has_show_from)
		regfree(&x->show_from);
	if (x->has_prune_from)
		regfree(&x->prune_from);
	tagfilter_free(x->tagfocus);
	tagfilter_free(x->tagignore);
	free(x->root_keys);
	free(x->leaf_keys);
	free(x->root_files);
	free(x->leaf_files);
}

/* The name id of S, made a synthesized name if P has no such string. */
static int64_t stacks_name_id(struct stackset *ss, const char *s)
{
	int64_t i = stacks_string(ss->p, s);

	if (!*s)
		return 0;
	if (i >= 0)
		return i;
	i = intern_n(&ss->synth_names, s, strlen(s));
	return i < 0 ? -1 : (int64_t)ss->p->nstrings + i;
}

/* The keys of LIST (comma-separated, empty ones dropped) into *KEYS and
 * *FILES, *N of them. */
static int stacks_tag_keys(struct stackset *ss, const char *list, int64_t **keys,
			   uint32_t **files, size_t *n)
{
	size_t cap = strlen(list) / 2 + 1;
	char key[512];

	*keys = malloc(cap * sizeof(**keys));
	*files = malloc(cap * sizeof(**files));
	if (!*keys || !*files)
		return cp_error("out of memory");
	for (const char *c = list; *c;) {
		const char *e = strchrnul(c, ',');
		int64_t f;
		snprintf(key, sizeof(key), "%.*s", (int)(e - c), c);
		if (*key) {
			(*keys)[*n] = stacks_string(ss->p, key);
			if ((f = stacks_name_id(ss, key)) < 0)
				return -1;
			(*files)[(*n)++] = (uint32_t)f;
		}
		c = *e ? e + 1 : e;
	}
	return 0;
}

/* The rest of X: --show-from, --prune-from, --tagroot and --tagleaf. */
static int stacks_filters_more(struct stacks_filters *x, struct stackset *ss,
			       const struct stack_filter *f)
{
	if (f->show_from) {
		if (stacks_compile(&x->show_from, f->show_from, "--show-from") < 0)
			return -1;
		x->has_show_from = true;
	}
	if (f->prune_from) {
		if (stacks_compile(&x->prune_from, f->prune_from, "--prune-from") < 0)
			return -1;
		x->has_prune_from = true;
	}
	if ((f->tagroot &&
	     stacks_tag_keys(ss, f->tagroot, &x->root_keys, &x->root_files, &x->nroot) < 0) ||
	    (f->tagleaf &&
	     stacks_tag_keys(ss, f->tagleaf, &x->leaf_keys, &x->leaf_files, &x->nleaf) < 0))
		return -1;
	return 0;
}

/* Which label keys --tagshow and --taghide leave shown. */
static int stacks_key_visibility(struct stackset *ss, const struct stack_filter *f)
{
	regex_t show, hide;
	const struct profile *p = ss->p;

	if (!f || (!f->tagshow && !f->taghide))
		return 0;
	if (f->tagshow && stacks_compile(&show, f->tagshow, "--tagshow") < 0)
		return -1;
	if (f->taghide && stacks_compile(&hide, f->taghide, "--taghide") < 0) {
		if (f->tagshow)
			regfree(&show);
		return -1;
	}
	ss->key_hidden = calloc(p->nstrings + 1, sizeof(*ss->key_hidden));
	for (size_t i = 0; ss->key_hidden && i < p->nstrings; i++)
		ss->key_hidden[i] = (f->tagshow && regexec(&show, p->strings[i], 0, NULL, 0) != 0) ||
				    (f->taghide && regexec(&hide, p->strings[i], 0, NULL, 0) == 0);
	if (f->tagshow)
		regfree(&show);
	if (f->taghide)
		regfree(&hide);
	return ss->key_hidden ? 0 : cp_error("out of memory");
}

bool stackset_key_shown(const struct stackset *ss, int64_t key)
{
	return !ss->key_hidden || key < 0 || (size_t)key >= ss->p->nstrings ||
	       !ss->key_hidden[key];
}

/* pprof's formatLabelValues: S's values of label KEY, strings then numbers
 * (scaled to their unit), joined by commas, into BUF. */
static void stacks_label_values(const struct profile *p, const struct pf_sample *s, int64_t key,
				char *buf, size_t n)
{
	size_t len = 0;
	char num[64];

	buf[0] = '\0';
	for (int pass = 0; pass < 2 && key >= 0; pass++)
		for (size_t i = 0; i < s->nlabels; i++) {
			const struct pf_label *l = &s->labels[i];
			if (l->key != key || (pass == 0) != (l->str != 0) || !profile_label_set(l))
				continue;
			if (pass == 1)
				units_label_to(num, sizeof(num), l->num, profile_str(p, l->num_unit),
					       l->num_unit ? "minimum" : "");
			if (len + 1 < n)
				len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "," : "",
							pass ? num : profile_str(p, l->str));
		}
}

/* The frames of labels KEYS (N) for sample S at OUT, the first key's
 * outermost: pprof's pseudo-locations of -tagroot and -tagleaf. */
static int stacks_tag_frames(struct stackset *ss, const struct pf_sample *s, const int64_t *keys,
			     const uint32_t *files, size_t n, struct frame *out)
{
	char buf[1024];

	for (size_t i = 0; i < n; i++) {
		struct frame *f = &out[n - 1 - i];
		int64_t name;
		stacks_label_values(ss->p, s, keys[i], buf, sizeof(buf));
		if ((name = stacks_name_id(ss, buf)) < 0)
			return -1;
		memset(f, 0, sizeof(*f));
		f->name = (uint32_t)name;
		f->file = files[i];
		f->pos = FRAME_NO_POS;
	}
	return 0;
}

/* --show-from: the rootmost matching frame and those below it; false if
 * none matches. --prune-from: nothing below the leafmost match. */
static bool stacks_filters_cut(const struct stackset *ss, struct stack *st,
			       struct stacks_filters *x)
{
	if (x->has_show_from) {
		size_t k = st->nframes;
		while (k > 0 && !stacks_frame_matches(ss, &st->frames[k - 1], &x->show_from))
			k--;
		if (!k)
			return false;
		st->nframes = k;
	}
	for (size_t i = 0; x->has_prune_from && i < st->nframes; i++) {
		char name[1024];
		if (st->frames[i].synth || !st->frames[i].name)
			continue;
		stacks_simplify(stackset_name(ss, st->frames[i].name), name, sizeof(name));
		if (regexec(&x->prune_from, name, 0, NULL, 0) == 0) {
			memmove(st->frames, st->frames + i, (st->nframes - i) * sizeof(*st->frames));
			st->nframes -= i;
			break;
		}
	}
	return true;
}

static int stacks_filters_init(struct stacks_filters *x, const struct profile *p,
			       const struct stack_filter *f)
{
	memset(x, 0, sizeof(*x));
	x->f = f;
	if (!f)
		return 0;
	x->tkey = f->tid ? stacks_tid_key(p) : -1;
	if (f->focus) {
		if (stacks_compile(&x->focus, f->focus, "--focus") < 0)
			return -1;
		x->has_focus = true;
	}
	if (f->ignore) {
		if (stacks_compile(&x->ignore, f->ignore, "--ignore") < 0)
			goto fail;
		x->has_ignore = true;
	}
	if (f->hide) {
		if (stacks_compile(&x->hide, f->hide, "--hide") < 0)
			goto fail;
		x->has_hide = true;
	}
	if (f->show) {
		if (stacks_compile(&x->show, f->show, "--show") < 0)
			goto fail;
		x->has_show = true;
	}
	/* An empty one is none, as for pprof. */
	if ((f->tagfocus && *f->tagfocus &&
	     !(x->tagfocus = tagfilter_new(p, f->tagfocus, "--tagfocus"))) ||
	    (f->tagignore && *f->tagignore &&
	     !(x->tagignore = tagfilter_new(p, f->tagignore, "--tagignore"))))
		goto fail;
	return 0;
fail:
	stacks_filters_release(x);
	return -1;
}

/* Whether stack ST of SS passes the filters X. */
static bool stacks_filters_keep(const struct stackset *ss, const struct stack *st,
				struct stacks_filters *x)
{
	const struct pf_sample *s = st->sample;

	if (!x->f)
		return true;
	return (!x->f->tid || stacks_has_tid(s, x->tkey, x->f->tid)) &&
	       (!x->tagfocus || tagfilter_match(x->tagfocus, s)) &&
	       (!x->tagignore || !tagfilter_match(x->tagignore, s)) &&
	       (!x->has_focus || stacks_stack_matches(ss, st, &x->focus)) &&
	       (!x->has_ignore || !stacks_stack_matches(ss, st, &x->ignore));
}

/* ST's frames without those --hide matches, or with only those --show
 * matches (after --focus and --ignore, which see them all, as pprof's do). */
static void stacks_filters_prune(const struct stackset *ss, struct stack *st,
				 struct stacks_filters *x)
{
	size_t kept = 0;

	if (!x->has_hide && !x->has_show)
		return;
	for (size_t i = 0; i < st->nframes; i++)
		if ((!x->has_hide || !stacks_frame_matches(ss, &st->frames[i], &x->hide)) &&
		    (!x->has_show ||
		     (!st->frames[i].synth && stacks_frame_matches(ss, &st->frames[i], &x->show))))
			st->frames[kept++] = st->frames[i];
	st->nframes = kept;
}

int stackset_init(struct stackset *ss, const struct profile *p, int si,
		  const struct stack_filter *filter)
{
	struct stacks_filters x;
	size_t nframes = 0, used = 0;

	memset(ss, 0, sizeof(*ss));
	ss->p = p;
	ss->si = si;
	ss->addresses = filter && filter->addresses;
	ss->noinlines = filter && filter->noinlines;
	ss->mean = filter && filter->mean;
	ss->base_key = stacks_string(p, "pprof::base");
	ss->base_true = ss->base_key < 0 ? -1 : stacks_string(p, "true");
	hmap_init(&ss->synth_index);
	if (stacks_filters_init(&x, p, filter) < 0)
		return -1;
	if ((filter && stacks_filters_more(&x, ss, filter) < 0) ||
	    stacks_key_visibility(ss, filter) < 0)
		goto fail;
	for (size_t i = 0; i < p->nsamples && !(filter && filter->no_frames); i++) {
		const struct pf_sample *s = &p->samples[i];
		nframes += x.nroot + x.nleaf;
		for (size_t j = 0; j < s->nlocs; j++) {
			const struct pf_location *l = &p->locations[s->locs[j] - 1];
			nframes += l->nlines ? l->nlines : 1;
		}
	}
	ss->arena = malloc((nframes + 1) * sizeof(*ss->arena));
	ss->stacks = malloc((p->nsamples + 1) * sizeof(*ss->stacks));
	if (!ss->arena || !ss->stacks) {
		cp_error("out of memory");
		goto fail;
	}
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pf_sample *s = &p->samples[i];
		struct stack *st = &ss->stacks[ss->nstacks];
		st->sample = s;
		st->value = s->values[si];
		st->div = filter && filter->mean ? s->values[0] : 0;
		st->base = stacks_is_base(s, ss->base_key, ss->base_true);
		st->frames = ss->arena + used;
		st->nframes = x.nleaf;
		if (filter && filter->no_frames) {
			if ((st->value || st->div || filter->zero) && stacks_filters_keep(ss, st, &x))
				ss->nstacks++;
			continue;
		}
		if (stacks_tag_frames(ss, s, x.leaf_keys, x.leaf_files, x.nleaf, st->frames) < 0)
			goto fail;
		for (size_t j = 0; j < s->nlocs; j++) {
			int n = stacks_location_frames(ss, &p->locations[s->locs[j] - 1],
						st->frames + st->nframes);
			if (n < 0)
				goto fail;
			for (int k = 0; k < n; k++)
				st->frames[st->nframes + k].pos = j;
			st->nframes += n;
		}
		if (stacks_tag_frames(ss, s, x.root_keys, x.root_files, x.nroot,
				      st->frames + st->nframes) < 0)
			goto fail;
		st->nframes += x.nroot;
		if ((st->value == 0 && st->div == 0 && !(filter && filter->zero)) ||
		    !stacks_filters_keep(ss, st, &x))
			continue;
		stacks_filters_prune(ss, st, &x);
		if (!st->nframes || !stacks_filters_cut(ss, st, &x))
			continue;
		used += st->nframes;
		ss->nstacks++;
	}
	ss->nnames = p->nstrings + ss->nsynth;
	for (size_t i = 0; i < p->nsamples; i++)
		ss->diff |= p->samples[i].values[si] < 0;
	ss->total_all = stacks_total(ss, true, filter && filter->mean, &ss->div_all);
	ss->total = stacks_total(ss, false, filter && filter->mean, &ss->div);
	stacks_filters_release(&x);
	return 0;
fail:
	stacks_filters_release(&x);
	stackset_release(ss);
	return -1;
}

bool *stackset_lines_kept(const struct profile *p, const struct stack_filter *f)
{
	struct stackset ss = { .p = p };
	struct stacks_filters x;
	size_t n = 0;
	bool *kept;

	for (size_t i = 0; i < p->nlocations; i++)
		n += p->locations[i].nlines;
	if (!(kept = malloc(n + 1))) {
		cp_error("out of memory");
		return NULL;
	}
	if (stacks_filters_init(&x, p, f) < 0) {
		free(kept);
		return NULL;
	}
	n = 0;
	for (size_t i = 0; i < p->nlocations; i++) {
		const struct pf_location *l = &p->locations[i];
		uint32_t map = l->mapping_id && l->mapping_id <= p->nmappings ?
				       (uint32_t)p->mappings[l->mapping_id - 1].filename : 0;
		for (size_t j = 0; j < l->nlines; j++, n++) {
			const struct pf_function *fn = l->lines[j].function_id &&
							       l->lines[j].function_id <= p->nfunctions ?
							       &p->functions[l->lines[j].function_id - 1] : NULL;
			struct frame fr = { .map = map };
			fr.name = fn ? (uint32_t)(fn->name ? fn->name : fn->system_name) : 0;
			fr.file = fn ? (uint32_t)fn->filename : 0;
			kept[n] = (!x.has_hide || !stacks_frame_matches(&ss, &fr, &x.hide)) &&
				  (!x.has_show || stacks_frame_matches(&ss, &fr, &x.show));
		}
	}
	stacks_filters_release(&x);
	return kept;
}

void stackset_release(struct stackset *ss)
{
	intern_release(&ss->synth_names);
	free(ss->key_hidden);
	free(ss->stacks);
	free(ss->arena);
	memset(ss, 0, sizeof(*ss));
}

int stackset_functions(const struct stackset *ss, struct func_total **out, size_t *n)
{
	struct func_total *rows = calloc(ss->nnames + 1, sizeof(*rows));
	uint32_t *seen = calloc(ss->nnames + 1, sizeof(*seen));
	size_t k = 0;

	if (!rows || !seen) {
		free(rows);
		free(seen);
		return cp_error("out of memory");
	}
	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct stack *s = &ss->stacks[i];
		for (size_t j = 0; j < s->nframes; j++) {
			const struct frame *f = &s->frames[j];
			struct func_total *r = &rows[f->name];
			if (!r->name) {
				r->name = f->name;
				r->file = f->file;
				r->start_line = f->start_line;
			}
			if (j == 0)
				r->flat += s->value;
			if (seen[f->name] != i + 1) {
				seen[f->name] = i + 1;
				r->cum += s->value;
			}
		}
	}
	free(seen);
	for (size_t i = 0; i < ss->nnames; i++)
		if (rows[i].name && (rows[i].flat || rows[i].cum))
			rows[k++] = rows[i];
	*out = rows;
	*n = k;
	return 0;
}

struct child_key {
	const struct calltree *t;
	uint32_t parent, name;
};

static int stacks_child_eq(void *ctx, uint32_t idx)
{
	struct child_key *k = ctx;
	const struct cnode *n = &k->t->nodes[idx];

	return n->parent == k->parent && n->name == k->name;
}

static int64_t stacks_child(struct calltree *t, uint32_t parent, const struct frame *f)
{
	struct child_key k = { t, parent, f->name };
	uint64_t h = hash_bytes(hash_bytes(HASH_SEED, &parent, sizeof(parent)), &f->name,
				sizeof(f->name));
	int64_t i = hmap_find(&t->index, h, stacks_child_eq, &k);
	struct cnode *n, *pn;

	if (i >= 0)
		return i;
	if (CP_GROW(t->nodes, t->cap, t->nnodes + 1) < 0 ||
	    hmap_insert(&t->index, h, t->nnodes) < 0)
		return -1;
	n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof(*n));
	n->name = f->name;
	n->file = f->file;
	n->line = f->line;
	n->start_line = f->start_line;
	n->parent = parent;
	pn = &t->nodes[parent];
	n->depth = pn->depth + 1;
	if (n->depth > t->max_depth)
		t->max_depth = n->depth;
	if (!pn->first_child)
		pn->first_child = t->nnodes;
	else
		t->nodes[pn->last_child].next_sibling = t->nnodes;
	pn->last_child = t->nnodes;
	return t->nnodes++;
}

int calltree_init(struct calltree *t, const struct stackset *ss)
{
	memset(t, 0, sizeof(*t));
	t->ss = ss;
	hmap_init(&t->index);
	if (CP_GROW(t->nodes, t->cap, 1) < 0)
		return -1;
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->nnodes = 1;
	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct stack *s = &ss->stacks[i];
		uint32_t at = 0;
		int64_t mag = s->value < 0 ? -s->value : s->value;
		t->nodes[0].total += s->value;
		t->nodes[0].abs_total += mag;
		for (size_t j = s->nframes; j-- > 0;) {
			int64_t c = stacks_child(t, at, &s->frames[j]);
			if (c < 0) {
				calltree_release(t);
				return -1;
			}
			at = c;
			t->nodes[at].total += s->value;
			t->nodes[at].abs_total += mag;
		}
		t->nodes[at].self += s->value;
		if (s->base || s->value < 0)
			t->nodes[at].base_self -= s->value;
	}
	return 0;
}

void calltree_release(struct calltree *t)
{
	free(t->nodes);
	hmap_release(&t->index);
	memset(t, 0, sizeof(*t));
}

static int stacks_by_total(const void *a, const void *b, void *ctx)
{
	const struct calltree *sort_tree = ctx;
	const struct cnode *x = &sort_tree->nodes[*(const uint32_t *)a];
	const struct cnode *y = &sort_tree->nodes[*(const uint32_t *)b];
	int64_t ax = x->abs_total, ay = y->abs_total;

	if (ax != ay)
		return ax > ay ? -1 : 1;
	return strcmp(stackset_name(sort_tree->ss, x->name), stackset_name(sort_tree->ss, y->name));
}

int calltree_sort(struct calltree *t)
{
	uint32_t *kids = NULL;
	size_t cap = 0;
	int rc = -1;

	for (size_t i = 0; i < t->nnodes; i++) {
		size_t n = 0;
		for (uint32_t c = t->nodes[i].first_child; c; c = t->nodes[c].next_sibling) {
			if (CP_GROW(kids, cap, n + 1) < 0)
				goto out;
			kids[n++] = c;
		}
		if (n < 2)
			continue;
		qsort_r(kids, n, sizeof(*kids), stacks_by_total, t);
		t->nodes[i].first_child = kids[0];
		for (size_t j = 0; j + 1 < n; j++)
			t->nodes[kids[j]].next_sibling = kids[j + 1];
		t->nodes[kids[n - 1]].next_sibling = 0;
		t->nodes[i].last_child = kids[n - 1];
	}
	rc = 0;
out:
	free(kids);
	return rc;
}
