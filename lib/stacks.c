/* From samples to named, filtered stacks and the call tree; see stacks.h. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "stacks.h"
#include "tagfilter.h"

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
static int64_t stacks_total(const struct stackset *ss, bool all)
{
	size_t n = all ? ss->p->nsamples : ss->nstacks;
	int64_t total = 0, base = 0;

	for (size_t i = 0; i < n; i++) {
		const struct pf_sample *s = all ? &ss->p->samples[i] : ss->stacks[i].sample;
		int64_t v = s->values[ss->si];
		bool is_base = all ? stacks_is_base(s, ss->base_key, ss->base_true)
				   : ss->stacks[i].base;
		v = v < 0 ? -v : v;
		total += v;
		if (is_base)
			base += v;
	}
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
	tagfilter_free(x->tagfocus);
	tagfilter_free(x->tagignore);
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
	ss->base_key = stacks_string(p, "pprof::base");
	ss->base_true = ss->base_key < 0 ? -1 : stacks_string(p, "true");
	hmap_init(&ss->synth_index);
	if (stacks_filters_init(&x, p, filter) < 0)
		return -1;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pf_sample *s = &p->samples[i];
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
		st->base = stacks_is_base(s, ss->base_key, ss->base_true);
		st->frames = ss->arena + used;
		st->nframes = 0;
		for (size_t j = 0; j < s->nlocs; j++) {
			int n = stacks_location_frames(ss, &p->locations[s->locs[j] - 1],
						st->frames + st->nframes);
			if (n < 0)
				goto fail;
			for (int k = 0; k < n; k++)
				st->frames[st->nframes + k].pos = j;
			st->nframes += n;
		}
		if ((st->value == 0 && !(filter && filter->zero)) ||
		    !stacks_filters_keep(ss, st, &x))
			continue;
		stacks_filters_prune(ss, st, &x);
		if (!st->nframes)
			continue;
		used += st->nframes;
		ss->nstacks++;
	}
	ss->nnames = p->nstrings + ss->nsynth;
	for (size_t i = 0; i < p->nsamples; i++)
		ss->diff |= p->samples[i].values[si] < 0;
	ss->total_all = stacks_total(ss, true);
	ss->total = stacks_total(ss, false);
	stacks_filters_release(&x);
	return 0;
fail:
	stacks_filters_release(&x);
	stackset_release(ss);
	return -1;
}

void stackset_release(struct stackset *ss)
{
	intern_release(&ss->synth_names);
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
