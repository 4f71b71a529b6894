/* The profile as the filters leave it, as a pprof file (what go tool pprof
 * -proto writes after the same filters): the original profile's samples that
 * the stack set kept, whole (every sample type's value, their labels), each
 * location with only the lines its kept frames are of, and a location left
 * with none dropped from its stack, as pprof's -hide and -show do. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errmsg.h"
#include "pprof.h"
#include "render.h"

struct proto_build {
	const struct profile *src;
	struct profile *dst;
	uint64_t *functions; /* dst's id of src's function id - 1, 0: not yet */
	struct pf_line *lines;
	uint64_t *locs;
	struct pf_label *labels;
};

static int64_t render_proto_string(struct proto_build *b, int64_t i)
{
	return i ? profile_intern(b->dst, profile_str(b->src, i)) : 0;
}

/* DST as SRC is but for its samples: sample types, period, times, comments
 * and every mapping, with the same ids. */
static int render_proto_header(struct proto_build *b)
{
	const struct profile *src = b->src;
	struct profile *dst = b->dst;

	for (size_t i = 0; i < src->ncomments; i++)
		if (profile_add_comment(dst, profile_str(src, src->comments[i])) < 0)
			return -1;
	for (size_t i = 0; i < src->nmappings; i++) {
		struct pf_mapping m = src->mappings[i];
		if ((m.filename = render_proto_string(b, m.filename)) < 0 ||
		    (m.build_id = render_proto_string(b, m.build_id)) < 0 ||
		    profile_add_mapping(dst, &m) < 0)
			return -1;
	}
	dst->main_mapping = src->main_mapping;
	dst->time_nanos = src->time_nanos;
	dst->duration_nanos = src->duration_nanos;
	if ((dst->drop_frames = render_proto_string(b, src->drop_frames)) < 0 ||
	    (dst->keep_frames = render_proto_string(b, src->keep_frames)) < 0)
		return -1;
	return 0;
}

/* DST's id of SRC's function ID, copied the first time; -1 on error. */
static int64_t render_proto_function(struct proto_build *b, uint64_t id)
{
	if (!b->functions[id - 1]) {
		const struct pf_function *f = &b->src->functions[id - 1];
		int64_t name = render_proto_string(b, f->name);
		int64_t sys = render_proto_string(b, f->system_name);
		int64_t file = render_proto_string(b, f->filename);
		int64_t nf;
		if (name < 0 || sys < 0 || file < 0 ||
		    (nf = profile_add_function(b->dst, name, sys, file, f->start_line)) < 0)
			return -1;
		b->functions[id - 1] = nf;
	}
	return b->functions[id - 1];
}

/* Location L with the lines the N frames F (all of L, in its order) are
 * of: each frame is the next line of its function and line number. */
static int64_t render_proto_location(struct proto_build *b, const struct pf_location *l,
				     const struct frame *f, size_t n)
{
	size_t kept = 0, next = 0;

	for (size_t i = 0; i < l->nlines && next < n && !f[next].synth; i++) {
		const struct pf_line *ln = &l->lines[i];
		const struct pf_function *fn;
		int64_t id;
		if (!ln->function_id || ln->function_id > b->src->nfunctions)
			continue;
		fn = &b->src->functions[ln->function_id - 1];
		if ((uint32_t)(fn->name ? fn->name : fn->system_name) != f[next].name ||
		    ln->line != f[next].line)
			continue;
		if ((id = render_proto_function(b, ln->function_id)) < 0)
			return -1;
		b->lines[kept++] = (struct pf_line){ (uint64_t)id, ln->line };
		next++;
	}
	return profile_add_location(b->dst, l->mapping_id, l->address, b->lines, kept,
				    l->is_folded);
}

/* Stack ST as a sample of DST: its locations as its frames leave them. */
static int render_proto_sample(struct proto_build *b, const struct stack *st)
{
	const struct pf_sample *s = st->sample;
	size_t nlocs = 0;

	for (size_t i = 0, j; i < st->nframes; i = j) {
		uint32_t pos = st->frames[i].pos;
		int64_t id;
		for (j = i; j < st->nframes && st->frames[j].pos == pos; j++)
			;
		if (pos == FRAME_NO_POS) /* --tagroot's: not the profile's */
			continue;
		id = render_proto_location(b, &b->src->locations[s->locs[pos] - 1],
					   st->frames + i, j - i);
		if (id < 0)
			return -1;
		b->locs[nlocs++] = id;
	}
	for (size_t i = 0; i < s->nlabels; i++) {
		struct pf_label l = s->labels[i];
		size_t k = i;
		if ((l.key = render_proto_string(b, s->labels[i].key)) < 0 ||
		    (l.str = render_proto_string(b, s->labels[i].str)) < 0 ||
		    (l.num_unit = render_proto_string(b, s->labels[i].num_unit)) < 0)
			return -1;
		/* By key, a key's values in their order: samples that differ only
		 * in the order of their labels (Go writes them from a map) are one,
		 * as pprof's merge makes them. */
		for (; k > 0 && strcmp(profile_str(b->dst, b->labels[k - 1].key),
				       profile_str(b->dst, l.key)) > 0; k--)
			b->labels[k] = b->labels[k - 1];
		b->labels[k] = l;
	}
	return profile_add_sample(b->dst, b->locs, nlocs, s->values, b->labels, s->nlabels);
}

/* Room for the longest location, stack and labels of SS. */
static int render_proto_alloc(struct proto_build *b, const struct stackset *ss)
{
	size_t nlines = 1, nlocs = 1, nlabels = 1;

	for (size_t i = 0; i < b->src->nlocations; i++)
		if (b->src->locations[i].nlines > nlines)
			nlines = b->src->locations[i].nlines;
	for (size_t i = 0; i < ss->nstacks; i++) {
		if (ss->stacks[i].sample->nlocs > nlocs)
			nlocs = ss->stacks[i].sample->nlocs;
		if (ss->stacks[i].sample->nlabels > nlabels)
			nlabels = ss->stacks[i].sample->nlabels;
	}
	b->functions = calloc(b->src->nfunctions + 1, sizeof(*b->functions));
	b->lines = malloc(nlines * sizeof(*b->lines));
	b->locs = malloc(nlocs * sizeof(*b->locs));
	b->labels = malloc(nlabels * sizeof(*b->labels));
	if (!b->functions || !b->lines || !b->locs || !b->labels)
		return cp_error("out of memory");
	return 0;
}

int render_proto(FILE *out, const struct stackset *ss)
{
	struct proto_build b = { .src = ss->p };
	void *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (!(b.dst = profile_new_like(ss->p)) || render_proto_alloc(&b, ss) < 0 ||
	    render_proto_header(&b) < 0)
		goto out;
	for (size_t i = 0; i < ss->nstacks; i++)
		if (render_proto_sample(&b, &ss->stacks[i]) < 0)
			goto out;
	if (pprof_encode(b.dst, &buf, &len) < 0)
		goto out;
	if (fwrite(buf, 1, len, out) != len) {
		cp_error("cannot write the profile: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(buf);
	free(b.functions);
	free(b.lines);
	free(b.locs);
	free(b.labels);
	profile_free(b.dst);
	return rc;
}

