/* speedscope's file format (https://www.speedscope.app/file-format-schema.json),
 * its "sampled" profiles: one per stack set, the frames shared. A frame is a
 * function, as --top counts them (by name), with its file and first line, so
 * speedscope's totals per frame are --top's flat and cum. Stacks are written
 * root first, as speedscope reads them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "intern.h"
#include "json.h"
#include "render.h"

#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* A frame of the file: where it was first seen. */
struct speedscope_frame {
	const struct stackset *ss;
	const struct frame *f;
};

struct speedscope {
	const struct stackset *sets;
	size_t nsets;
	struct intern names;           /* frame index by name */
	struct speedscope_frame *frames;
	size_t nframes, frames_cap;
	uint32_t **ids;                /* per set: frame index by name id */
};

/* speedscope's unit for a pprof unit: the ones it knows, else "none". */
static const char *render_speedscope_unit(const char *unit)
{
	static const char *const known[] = { "nanoseconds", "microseconds", "milliseconds",
					     "seconds", "bytes" };

	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		if (strcmp(unit, known[i]) == 0)
			return known[i];
	return "none";
}

/* Number the frames of every set, by name, in the order they are met. */
static int render_speedscope_index(struct speedscope *sc)
{
	for (size_t k = 0; k < sc->nsets; k++) {
		const struct stackset *ss = &sc->sets[k];
		if (!(sc->ids[k] = malloc((ss->nnames + 1) * sizeof(**sc->ids))))
			return cp_error("out of memory");
		memset(sc->ids[k], 0xff, (ss->nnames + 1) * sizeof(**sc->ids));
		for (size_t i = 0; i < ss->nstacks; i++) {
			const struct stack *st = &ss->stacks[i];
			for (size_t j = 0; j < st->nframes; j++) {
				const struct frame *f = &st->frames[j];
				const char *name = stackset_name(ss, f->name);
				int64_t id;
				if (sc->ids[k][f->name] != UINT32_MAX)
					continue;
				if ((id = intern_n(&sc->names, name, strlen(name))) < 0)
					return -1;
				if ((size_t)id == sc->nframes) {
					if (CP_GROW(sc->frames, sc->frames_cap, sc->nframes + 1) < 0)
						return -1;
					sc->frames[sc->nframes++] = (struct speedscope_frame){ ss, f };
				}
				sc->ids[k][f->name] = id;
			}
		}
	}
	return 0;
}

/* A frame: its name, its file (a frame without symbols: its module's), and
 * its function's first line where known. */
static void render_speedscope_frame(FILE *out, const struct speedscope_frame *sf)
{
	const struct frame *f = sf->f;
	uint32_t file = f->synth ? f->map : f->file;

	fputs("{\"name\":", out);
	json_write_string(out, stackset_name(sf->ss, f->name));
	if (file) {
		fputs(",\"file\":", out);
		json_write_string(out, stackset_name(sf->ss, file));
	}
	if (!f->synth && f->start_line > 0)
		fprintf(out, ",\"line\":%ld", (long)f->start_line);
	fputc('}', out);
}

/* A profile's name: "NAME (TYPE)", as a JSON string. 0 or -1. */
static int render_speedscope_name(FILE *out, const char *name, const char *type)
{
	size_t n = strlen(name) + strlen(type) + 4;
	char *full = malloc(n);

	if (!full)
		return cp_error("out of memory");
	snprintf(full, n, "%s (%s)", name, type);
	json_write_string(out, full);
	free(full);
	return 0;
}

/* Stacks root first by their frames' names, so that stacks sharing a path
 * lie side by side: speedscope's time order is then a flame graph with
 * siblings in name order (a pprof profile has no time order to keep). */
static int render_speedscope_by_path(const void *a, const void *b, void *ctx)
{
	const struct stackset *ss = ctx;
	const struct stack *x = *(const struct stack *const *)a, *y = *(const struct stack *const *)b;
	size_t i;

	for (i = 1; i <= x->nframes && i <= y->nframes; i++) {
		uint32_t fx = x->frames[x->nframes - i].name, fy = y->frames[y->nframes - i].name;
		int c = fx == fy ? 0 : strcmp(stackset_name(ss, fx), stackset_name(ss, fy));
		if (c)
			return c;
	}
	return (x->nframes >= i) - (y->nframes >= i);
}

/* The samples of set K, in ORDER, stacks of the same frames written once
 * with their values added, into *WEIGHTS (*NW of them). */
static void render_speedscope_samples(FILE *out, const struct speedscope *sc, size_t k,
				      const struct stack **order, int64_t *weights, size_t *nw)
{
	const struct stackset *ss = &sc->sets[k];

	*nw = 0;
	for (size_t i = 0; i < ss->nstacks; i++) {
		const struct stack *st = order[i];
		if (i && render_speedscope_by_path(&order[i - 1], &order[i], (void *)ss) == 0) {
			weights[*nw - 1] += st->value;
			continue;
		}
		weights[(*nw)++] = st->value;
		fputs(i ? ",[" : "[", out);
		for (size_t j = st->nframes; j-- > 0;)
			fprintf(out, j + 1 < st->nframes ? ",%u" : "%u",
				sc->ids[k][st->frames[j].name]);
		fputc(']', out);
	}
}

/* Set K as a sampled profile: each stack root first, with its value. 0 or -1. */
static int render_speedscope_profile(FILE *out, const struct speedscope *sc, size_t k,
				     const char *name)
{
	const struct stackset *ss = &sc->sets[k];
	const struct profile *p = ss->p;
	const struct stack **order = malloc((ss->nstacks + 1) * sizeof(*order));
	int64_t *weights = malloc((ss->nstacks + 1) * sizeof(*weights)), sum = 0;
	size_t nw;

	if (!order || !weights) {
		free(order);
		free(weights);
		return cp_error("out of memory");
	}
	for (size_t i = 0; i < ss->nstacks; i++) {
		order[i] = &ss->stacks[i];
		sum += ss->stacks[i].value;
	}
	qsort_r(order, ss->nstacks, sizeof(*order), render_speedscope_by_path, (void *)ss);
	fputs("{\"type\":\"sampled\",\"name\":", out);
	if (render_speedscope_name(out, name, profile_str(p, p->sample_types[ss->si].type)) < 0) {
		free(order);
		free(weights);
		return -1;
	}
	fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%lld,\"samples\":[",
		render_speedscope_unit(profile_str(p, p->sample_types[ss->si].unit)),
		(long long)sum);
	render_speedscope_samples(out, sc, k, order, weights, &nw);
	fputs("],\"weights\":[", out);
	for (size_t i = 0; i < nw; i++)
		fprintf(out, i ? ",%lld" : "%lld", (long long)weights[i]);
	fputs("]}", out);
	free(order);
	free(weights);
	return 0;
}

int render_speedscope(FILE *out, const struct stackset *sets, size_t n, size_t active,
		      const char *name)
{
	struct speedscope sc = { .sets = sets, .nsets = n };
	int rc = -1;

	for (size_t k = 0; k < n; k++)
		if (sets[k].diff)
			return cp_error("speedscope cannot show the negative values of a "
					"difference of profiles: write each profile on its own");
	intern_init(&sc.names);
	if (!(sc.ids = calloc(n + 1, sizeof(*sc.ids)))) {
		cp_error("out of memory");
		goto out;
	}
	if (render_speedscope_index(&sc) < 0)
		goto out;
	fputs("{\"$schema\":\"" SPEEDSCOPE_SCHEMA "\",\"exporter\":\"cprof@" PACKAGE_VERSION
	      "\",\"name\":", out);
	json_write_string(out, name);
	fprintf(out, ",\"activeProfileIndex\":%zu,\"shared\":{\"frames\":[", active);
	for (size_t i = 0; i < sc.nframes; i++) {
		if (i)
			fputc(',', out);
		render_speedscope_frame(out, &sc.frames[i]);
	}
	fputs("]},\"profiles\":[", out);
	for (size_t k = 0; k < n; k++) {
		if (k)
			fputc(',', out);
		if (render_speedscope_profile(out, &sc, k, name) < 0)
			goto out;
	}
	fputs("]}\n", out);
	rc = 0;
out:
	for (size_t k = 0; sc.ids && k < n; k++)
		free(sc.ids[k]);
	free(sc.ids);
	free(sc.frames);
	intern_release(&sc.names);
	return rc;
}
