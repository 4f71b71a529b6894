/* A generator of large synthetic pprof profiles for bench/diff.sh, built on
 * cprof's own profile model and encoder (lib/libcprof.a):
 *
 *   gen_profile --variant base|new [--samples M] [--stacks K] [--functions F]
 *               [--min-depth A] [--max-depth B] [--threads T] [--seed S] -o FILE
 *
 * writes a CPU profile shaped like cprof's (sample types samples/count and
 * cpu/nanoseconds, period 1/99 s, one mapping, functions with file and start
 * line, 4 locations per function of which one in 8 carries an inlined frame)
 * with M samples in all over K distinct stacks, each A..B frames deep
 * (uniform). The stacks are walks down a fixed random call graph (every
 * function has 8 callees, the first ones likelier), so stacks share
 * prefixes as real ones do. Every stack gets one sample and the other M - K
 * are drawn with Zipf-like weights (1 / rank^1.1), so a few stacks are hot
 * and most are cold. With --threads T > 0 each sample also carries cprof's
 * labels (thread name, tid, pid) for one of T threads, which splits a stack
 * into up to T sample records.
 *
 * base and new share the call graph and 95% of the stacks; new replaces the
 * other 5% with stacks of its own, shuffles the weights of a fifth of the
 * stacks, and triples the weight of every stack through one function
 * ("hot" function: printed on standard error), so the diff has real changes
 * to find. The same arguments always give the same profile. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "profile.h"

#define LOCS_PER_FUNC 4
#define CALLEES 8
#define PERIOD (1000000000LL / 99)

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	return r->s = mix(r->s);
}

static double unit(struct rng *r)
{
	return (next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static void die(const char *what)
{
	fprintf(stderr, "gen_profile: %s\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	long samples = 1000000, stacks = 100000, functions = 3000, min_depth = 10, max_depth = 40;
	long threads = 0;
	uint64_t seed = 1;
	const char *variant = NULL, *out = NULL;
	struct profile *p;
	uint64_t *locs, *walk;
	int64_t mapping;
	uint64_t *loc_ids, *callees;
	double *cum;
	long *count, hot, *order;
	int64_t k_thread = 0, k_tid = 0, k_pid = 0, *thread_names = NULL;
	bool is_new;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			die("an option lacks its value");
		if (!strcmp(a, "--variant"))
			variant = v;
		else if (!strcmp(a, "--samples"))
			samples = atol(v);
		else if (!strcmp(a, "--stacks"))
			stacks = atol(v);
		else if (!strcmp(a, "--functions"))
			functions = atol(v);
		else if (!strcmp(a, "--min-depth"))
			min_depth = atol(v);
		else if (!strcmp(a, "--max-depth"))
			max_depth = atol(v);
		else if (!strcmp(a, "--threads"))
			threads = atol(v);
		else if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "-o"))
			out = v;
		else
			die("usage: gen_profile --variant base|new [--samples M] [--stacks K] "
			    "[--functions F] [--min-depth A] [--max-depth B] [--threads T] [--seed S] -o FILE");
		i++;
	}
	if (!variant || !out || (strcmp(variant, "base") && strcmp(variant, "new")))
		die("--variant base|new and -o FILE are required");
	if (stacks < 1 || samples < stacks || functions < 16 || min_depth < 2 ||
	    max_depth < min_depth || max_depth > 1000 || threads < 0)
		die("bad sizes: need samples >= stacks >= 1, functions >= 16, 2 <= min-depth <= max-depth");
	is_new = !strcmp(variant, "new");

	p = profile_new();
	if (!p || profile_add_sample_type(p, "samples", "count") < 0 ||
	    profile_add_sample_type(p, "cpu", "nanoseconds") < 0)
		die("out of memory");
	p->period_type.type = profile_intern(p, "cpu");
	p->period_type.unit = profile_intern(p, "nanoseconds");
	p->period = PERIOD;
	p->time_nanos = 1764000000000000000LL;
	p->duration_nanos = samples * PERIOD / 2; /* as if 2 CPUs were busy */
	mapping = profile_add_mapping(p, &(struct pf_mapping){
		.memory_start = 0x400000, .memory_limit = 0x400000 + (uint64_t)functions * 256 + 4096,
		.filename = profile_intern(p, "/usr/local/bin/synthetic-server"),
		.build_id = profile_intern(p, "0123456789abcdef0123456789abcdef01234567"),
		.has_functions = true, .has_filenames = true, .has_line_numbers = true,
		.has_inline_frames = true });
	if (mapping < 0)
		die("out of memory");

	/* Functions and their locations; the call graph. Same for both variants. */
	loc_ids = malloc(sizeof(*loc_ids) * functions * LOCS_PER_FUNC);
	callees = malloc(sizeof(*callees) * functions * CALLEES);
	if (!loc_ids || !callees)
		die("out of memory");
	{
		struct rng r = { seed * 1000003 };
		int64_t *fids = malloc(sizeof(*fids) * functions);
		if (!fids)
			die("out of memory");
		for (long f = 0; f < functions; f++) {
			char name[128], file[96];
			long mod = f % 97;
			if (f == 0)
				snprintf(name, sizeof(name), "main");
			else
				snprintf(name, sizeof(name), "app::module%02ld::Component%05ld::handle_request", mod, f);
			snprintf(file, sizeof(file), "src/module%02ld/component%05ld.cc", mod, f);
			fids[f] = profile_add_function(p, profile_intern(p, name), profile_intern(p, name),
						       profile_intern(p, file), 10 + next(&r) % 2000);
			if (fids[f] < 0)
				die("out of memory");
		}
		for (long f = 0; f < functions; f++) {
			int64_t start = p->functions[fids[f] - 1].start_line;
			for (int k = 0; k < LOCS_PER_FUNC; k++) {
				struct pf_line lines[2];
				size_t n = 0;
				if (next(&r) % 8 == 0) /* an inlined callee, innermost first */
					lines[n++] = (struct pf_line){ fids[1 + next(&r) % (functions - 1)],
								       20 + next(&r) % 500 };
				lines[n++] = (struct pf_line){ fids[f], start + 1 + k * 3 };
				int64_t id = profile_add_location(
					p, mapping, 0x400000 + (uint64_t)f * 256 + k * 16 + 5, lines, n, false);
				if (id < 0)
					die("out of memory");
				loc_ids[f * LOCS_PER_FUNC + k] = id;
			}
			for (int k = 0; k < CALLEES; k++)
				callees[f * CALLEES + k] = 1 + next(&r) % (functions - 1);
		}
		free(fids);
	}

	/* The hot function of the new profile: a callee reached often. */
	hot = callees[0 * CALLEES + 0];
	hot = callees[hot * CALLEES + 1];
	fprintf(stderr, "gen_profile: the hot function of new is %s\n",
		profile_str(p, p->functions[p->locations[loc_ids[hot * LOCS_PER_FUNC] - 1]
					       .lines[p->locations[loc_ids[hot * LOCS_PER_FUNC] - 1].nlines - 1]
					       .function_id - 1].name));

	/* Weights: rank r weighs 1 / (r + 1)^1.1; base gives stack i rank i, new
	 * shuffles the ranks of a fifth of the stacks. */
	order = malloc(sizeof(*order) * stacks);
	cum = malloc(sizeof(*cum) * stacks);
	count = calloc(stacks, sizeof(*count));
	locs = malloc(sizeof(*locs) * (max_depth + 1));
	walk = malloc(sizeof(*walk) * (max_depth + 1));
	if (!order || !cum || !count || !locs || !walk)
		die("out of memory");
	for (long i = 0; i < stacks; i++)
		order[i] = i;
	if (is_new) {
		struct rng r = { seed * 7919 + 17 };
		for (long i = 0; i < stacks; i++) {
			if (next(&r) % 5)
				continue;
			long j = next(&r) % stacks;
			long t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
	}

	/* The stacks: stack i is the walk seeded by i (base), or by i + 10^9 for
	 * the last 5% in new. Root first: main, then down the call graph. */
	{
		double total = 0;
		long *depth_of = malloc(sizeof(*depth_of) * stacks);
		uint64_t **stack_locs = malloc(sizeof(*stack_locs) * stacks);
		struct rng draw = { seed * 104729 + (is_new ? 2 : 1) };
		int64_t values[2];
		long pid = 4242;

		if (!depth_of || !stack_locs)
			die("out of memory");
		if (threads) {
			k_thread = profile_intern(p, "thread");
			k_tid = profile_intern(p, "tid");
			k_pid = profile_intern(p, "pid");
			thread_names = malloc(sizeof(*thread_names) * threads);
			if (!thread_names)
				die("out of memory");
			for (long t = 0; t < threads; t++) {
				char name[32];
				snprintf(name, sizeof(name), "worker-%ld", t);
				thread_names[t] = profile_intern(p, name);
			}
		}
		for (long i = 0; i < stacks; i++) {
			uint64_t ws = (is_new && i >= stacks - stacks / 20) ? (uint64_t)i + 1000000000ULL : (uint64_t)i;
			struct rng r = { mix(seed ^ mix(ws)) };
			long d = min_depth + next(&r) % (max_depth - min_depth + 1);
			bool through_hot = false;
			long f = 0;
			for (long j = 0; j < d; j++) {
				/* callee k with weight ~ 1/(k+1): the first callees likelier */
				double u = unit(&r) * 2.7178571; /* H(8) */
				int k = 0;
				for (double acc = 1.0; k < CALLEES - 1 && u > acc; k++)
					acc += 1.0 / (k + 2);
				walk[j] = loc_ids[f * LOCS_PER_FUNC + next(&r) % LOCS_PER_FUNC];
				through_hot |= f == hot;
				if (j + 1 < d)
					f = callees[f * CALLEES + k];
			}
			/* leaf first, as pprof stores them */
			stack_locs[i] = malloc(sizeof(uint64_t) * d);
			if (!stack_locs[i])
				die("out of memory");
			for (long j = 0; j < d; j++)
				stack_locs[i][j] = walk[d - 1 - j];
			depth_of[i] = d;
			{
				double w = 1.0 / pow((double)order[i] + 1, 1.1);
				if (is_new && through_hot)
					w *= 3;
				total += w;
				cum[i] = total;
			}
		}
		for (long i = 0; i < stacks; i++)
			count[i] = 1;
		for (long s = stacks; s < samples; s++) {
			double u = unit(&draw) * total;
			long lo = 0, hi = stacks - 1;
			while (lo < hi) {
				long mid = (lo + hi) / 2;
				if (cum[mid] < u)
					lo = mid + 1;
				else
					hi = mid;
			}
			count[lo]++;
		}
		/* Add them: with labels, a sample at a time (each draws a thread). */
		for (long i = 0; i < stacks; i++) {
			if (!threads) {
				values[0] = count[i];
				values[1] = count[i] * PERIOD;
				if (profile_add_sample(p, stack_locs[i], depth_of[i], values, NULL, 0) < 0)
					die("out of memory");
			} else {
				for (long c = 0; c < count[i]; c++) {
					long t = next(&draw) % threads;
					struct pf_label labels[3] = {
						{ k_thread, thread_names[t], 0, 0 },
						{ k_tid, 0, pid + 1 + t, 0 },
						{ k_pid, 0, pid, 0 },
					};
					values[0] = 1;
					values[1] = PERIOD;
					if (profile_add_sample(p, stack_locs[i], depth_of[i], values, labels, 3) < 0)
						die("out of memory");
				}
			}
			free(stack_locs[i]);
		}
		free(stack_locs);
		free(depth_of);
	}
	fprintf(stderr, "gen_profile: %s: %ld samples, %zu sample records, %zu locations, %zu functions\n",
		out, samples, p->nsamples, p->nlocations, p->nfunctions);
	if (pprof_write(p, out) < 0)
		die("cannot write the profile");
	profile_free(p);
	free(order);
	free(cum);
	free(count);
	free(locs);
	free(walk);
	free(loc_ids);
	free(callees);
	free(thread_names);
	return 0;
}
