/* Unit tests of the profile model, durations, units and the stack views. */
#include <stdlib.h>

#include "duration.h"
#include "errmsg.h"
#include "profile.h"
#include "render.h"
#include "stacks.h"
#include "test.h"
#include "topview.h"
#include "units.h"

/* A location for function NAME (one line, or none when NAME is NULL). */
static uint64_t loc(struct profile *p, const char *name, uint64_t addr)
{
	struct pf_line line = { 0, 10 };

	if (!name)
		return profile_add_location(p, 0, addr, NULL, 0, false);
	line.function_id = profile_add_function(p, profile_intern(p, name), 0,
						profile_intern(p, "x.c"), 3);
	return profile_add_location(p, 0, addr, &line, 1, false);
}

static void test_interning(void)
{
	struct profile *p = profile_new();
	int64_t a = profile_intern(p, "alpha"), b = profile_intern(p, "beta");

	CHECK_STR(profile_str(p, 0), "");
	CHECK(profile_intern(p, "") == 0);
	CHECK(a > 0 && b > 0 && a != b);
	CHECK(profile_intern(p, "alpha") == a);
	CHECK(profile_intern_n(p, "alphabet", 5) == a);
	CHECK_STR(profile_str(p, 9999), "");
	CHECK(profile_add_function(p, a, 0, b, 1) == profile_add_function(p, a, 0, b, 1));
	CHECK(profile_add_function(p, a, 0, b, 1) != profile_add_function(p, a, 0, b, 2));
	CHECK(loc(p, "f", 0x10) == loc(p, "f", 0x10));
	CHECK(loc(p, "f", 0x10) != loc(p, "f", 0x20));
	CHECK(p->nfunctions == 3 && p->nlocations == 2);
	profile_free(p);
}

static void test_merging(void)
{
	struct profile *p = profile_new();
	uint64_t s1[2], s2[2];
	int64_t v[2] = { 1, 10 };
	struct pf_label lab = { profile_intern(p, "thread"), profile_intern(p, "main"), 0, 0 };

	CHECK(profile_add_sample_type(p, "samples", "count") == 0);
	CHECK(profile_add_sample_type(p, "cpu", "nanoseconds") == 0);
	s1[0] = loc(p, "leaf", 1);
	s1[1] = loc(p, "root", 2);
	s2[0] = loc(p, "other", 3);
	s2[1] = s1[1];
	for (int i = 0; i < 5; i++)
		CHECK(profile_add_sample(p, s1, 2, v, NULL, 0) == 0);
	CHECK(profile_add_sample(p, s2, 2, v, NULL, 0) == 0);
	CHECK(profile_add_sample(p, s1, 2, v, &lab, 1) == 0);
	CHECK(profile_add_sample(p, s1, 1, v, NULL, 0) == 0);
	CHECK(p->nsamples == 4);
	CHECK(p->samples[0].values[0] == 5 && p->samples[0].values[1] == 50);
	CHECK(profile_total(p, 1) == 80);
	CHECK(profile_add_sample_type(p, "late", "count") < 0);

	CHECK(profile_sample_index(p, NULL) == 1);
	CHECK(profile_sample_index(p, "samples") == 0);
	CHECK(profile_sample_index(p, "1") == 1);
	CHECK(profile_sample_index(p, "bogus") < 0);
	CHECK(strstr(cp_errmsg(), "samples, cpu") != NULL);
	CHECK(profile_sample_index(p, "2") < 0);
	p->default_sample_type = profile_intern(p, "samples");
	CHECK(profile_sample_index(p, NULL) == 0);
	profile_free(p);
}

/* A million samples over 10,000 distinct stacks merge into 10,000 samples. */
static void test_many_samples(void)
{
	struct profile *p = profile_new();
	uint64_t stack[8];
	int64_t v = 1;
	char name[32];
	uint64_t ids[100];

	profile_add_sample_type(p, "samples", "count");
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "fn%d", i);
		ids[i] = loc(p, name, i);
	}
	for (int i = 0; i < 1000000; i++) {
		int k = i % 10000;
		for (int j = 0; j < 8; j++)
			stack[j] = ids[(k * (j + 3) + j * 7) % 100];
		stack[0] = ids[k % 100];
		stack[1] = ids[k / 100];
		if (profile_add_sample(p, stack, 8, &v, NULL, 0) < 0)
			break;
	}
	CHECK(p->nsamples == 10000);
	CHECK(profile_total(p, 0) == 1000000);
	profile_free(p);
}

static void test_durations(void)
{
	int64_t ns = 0;

	CHECK(duration_parse("500ms", &ns) == 0 && ns == 500000000);
	CHECK(duration_parse("30s", &ns) == 0 && ns == 30000000000LL);
	CHECK(duration_parse("5m", &ns) == 0 && ns == 300000000000LL);
	CHECK(duration_parse("1h", &ns) == 0 && ns == 3600000000000LL);
	CHECK(duration_parse("12", &ns) == 0 && ns == 12000000000LL);
	CHECK(duration_parse("1.5s", &ns) == 0 && ns == 1500000000);
	CHECK(duration_parse("250us", &ns) == 0 && ns == 250000);
	CHECK(duration_parse("", &ns) < 0);
	CHECK(duration_parse("0", &ns) < 0);
	CHECK(strstr(cp_errmsg(), "from 1ns to 8784h") != NULL);
	CHECK(duration_parse("-1s", &ns) < 0);
	CHECK(duration_parse("5 s", &ns) < 0);
	CHECK(duration_parse("5x", &ns) < 0);
	CHECK(duration_parse("s", &ns) < 0);
	CHECK(duration_parse(".", &ns) < 0);
	CHECK(duration_parse("99999999999999999999999h", &ns) < 0);
	CHECK(strstr(cp_errmsg(), "bad duration") != NULL);
	CHECK(strstr(cp_errmsg(), "from 1ns to 8784h") != NULL);
	CHECK(duration_parse("8785h", &ns) < 0);
	CHECK(strstr(cp_errmsg(), "from 1ns to 8784h") != NULL);
}

static void test_units(void)
{
	char b[32];

	CHECK_STR(units_format(b, sizeof(b), 1230000000, "nanoseconds"), "1.23s");
	CHECK_STR(units_format(b, sizeof(b), 10000000, "nanoseconds"), "10ms");
	CHECK_STR(units_format(b, sizeof(b), 0, "nanoseconds"), "0");
	CHECK_STR(units_format(b, sizeof(b), 1536, "bytes"), "1.50kB");
	CHECK_STR(units_format(b, sizeof(b), 42, "count"), "42");
	CHECK_STR(units_format(b, sizeof(b), -2000000000, "nanoseconds"), "-2s");
	CHECK_STR(units_percent(b, sizeof(b), 1, 3), "33.33%");
	CHECK_STR(units_percent(b, sizeof(b), 3, 3), "100%");
	CHECK_STR(units_percent(b, sizeof(b), 0, 3), "0%");
	CHECK_STR(units_percent(b, sizeof(b), 1, 1000), "0.1%");
	/* Other time units, and past int64 once in nanoseconds. */
	CHECK_STR(units_format(b, sizeof(b), 1500, "microseconds"), "1.50ms");
	CHECK_STR(units_format(b, sizeof(b), 1500, "milliseconds"), "1.50s");
	CHECK(units_format(b, sizeof(b), INT64_MAX / 2, "milliseconds")[0] != '-');
	/* pprof's measurement package: labels and -tags totals. */
	CHECK_STR(units_label(b, sizeof(b), 65536, "bytes"), "64kB");
	CHECK_STR(units_label(b, sizeof(b), 512, "bytes"), "512B");
	CHECK_STR(units_label(b, sizeof(b), 3, "kilobytes"), "3kB");
	CHECK_STR(units_label(b, sizeof(b), 7200, "seconds"), "2hrs");
	CHECK_STR(units_label(b, sizeof(b), 4096, "tid"), "4096");
	CHECK_STR(units_label(b, sizeof(b), 0, "bytes"), "0");
	CHECK_STR(units_format_1(b, sizeof(b), 0, "nanoseconds"), "0.0s");
	CHECK_STR(units_format_1(b, sizeof(b), 147500000, "nanoseconds"), "147.5ms");
	CHECK_STR(units_format_1(b, sizeof(b), 5832, "count"), "5832.0");
	CHECK_STR(units_format_1(b, sizeof(b), -1500000000, "nanoseconds"), "-1.5s");
}

/* main -> work -> {hot x3, cold x1}; main -> unknown address x1. */
static struct profile *tree_profile(void)
{
	struct profile *p = profile_new();
	uint64_t hot[3] = { loc(p, "hot", 1), loc(p, "work", 2), loc(p, "main", 3) };
	uint64_t cold[3] = { loc(p, "cold", 4), hot[1], hot[2] };
	uint64_t unk[2] = { loc(p, NULL, 0x1234), hot[2] };
	int64_t v = 1;

	profile_add_sample_type(p, "samples", "count");
	for (int i = 0; i < 3; i++)
		profile_add_sample(p, hot, 3, &v, NULL, 0);
	profile_add_sample(p, cold, 3, &v, NULL, 0);
	profile_add_sample(p, unk, 2, &v, NULL, 0);
	return p;
}

static void test_stacks(void)
{
	struct profile *p = tree_profile();
	struct stackset ss;
	struct calltree t;
	struct stack_filter focus = { "cold", NULL }, ignore = { NULL, "^work$" };

	CHECK(stackset_init(&ss, p, 0, NULL) == 0);
	CHECK(ss.nstacks == 3 && ss.total == 5 && ss.total_all == 5);
	CHECK_STR(stackset_name(&ss, ss.stacks[2].frames[0].name), "<unknown>");
	CHECK(calltree_init(&t, &ss) == 0);
	calltree_sort(&t);
	CHECK(t.nodes[0].total == 5);
	{
		const struct cnode *main_ = &t.nodes[t.nodes[0].first_child];
		const struct cnode *work = &t.nodes[main_->first_child];
		const struct cnode *hot = &t.nodes[work->first_child];
		CHECK_STR(stackset_name(&ss, main_->name), "main");
		CHECK(main_->total == 5 && main_->self == 0);
		CHECK_STR(stackset_name(&ss, work->name), "work");
		CHECK(work->total == 4);
		CHECK_STR(stackset_name(&ss, hot->name), "hot");
		CHECK(hot->total == 3 && hot->self == 3);
		CHECK(t.max_depth == 3);
	}
	calltree_release(&t);
	stackset_release(&ss);

	CHECK(stackset_init(&ss, p, 0, &focus) == 0);
	CHECK(ss.nstacks == 1 && ss.total == 1 && ss.total_all == 5);
	stackset_release(&ss);
	CHECK(stackset_init(&ss, p, 0, &ignore) == 0);
	CHECK(ss.nstacks == 1 && ss.total == 1);
	stackset_release(&ss);
	focus.focus = "(";
	CHECK(stackset_init(&ss, p, 0, &focus) < 0);
	profile_free(p);
}

/* Render VIEW of the tree profile into a string. */
static char *render(int view)
{
	struct profile *p = tree_profile();
	struct stackset ss;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	stackset_init(&ss, p, 0, NULL);
	switch (view) {
	case 0: render_top(f, &ss, 0); break;
	case 1: render_folded(f, &ss); break;
	case 2: render_flame(f, &ss, 80, 0, 0); break;
	case 3: render_tree(f, &ss, 30); break;
	case 4: render_svg(f, &ss, "t<&>"); break;
	}
	fclose(f);
	stackset_release(&ss);
	profile_free(p);
	return buf;
}

static void test_renderers(void)
{
	char *top = render(0), *folded = render(1), *flame = render(2), *tree = render(3);
	char *svg = render(4);

	CHECK(strstr(top, "Showing nodes accounting for 5, 100% of 5 total") != NULL);
	CHECK(strstr(top, "         3  60.00%  60.00%          3  60.00%  hot (x.c:3)\n") != NULL);
	CHECK(strstr(top, "         0      0%    100%          5    100%  main (x.c:3)\n") != NULL);
	CHECK(strstr(folded, "main;work;hot 3\n") != NULL);
	CHECK(strstr(folded, "main;work;cold 1\n") != NULL);
	CHECK(strstr(folded, "main;<unknown> 1\n") != NULL);
	CHECK(strstr(flame, " 60.00% ") != NULL && strstr(flame, "  hot\n") != NULL);
	CHECK(strstr(tree, "work") != NULL && strstr(tree, "cold") == NULL);
	CHECK(strstr(svg, "<svg") != NULL && strstr(svg, "</svg>") != NULL);
	CHECK(strstr(svg, "t&lt;&amp;&gt;") != NULL && strstr(svg, "t<&>") == NULL);
	free(top);
	free(folded);
	free(flame);
	free(tree);
	free(svg);
}

/* The thread filter keeps the samples labelled with one "tid". */
static void test_thread_filter(void)
{
	struct profile *p = profile_new();
	uint64_t a[1] = { loc(p, "a", 1) }, b[1] = { loc(p, "b", 2) };
	struct pf_label l1 = { profile_intern(p, "tid"), 0, 101, 0 };
	struct pf_label l2 = { l1.key, 0, 102, 0 };
	struct stack_filter f = { .tid = 102 };
	struct stackset ss;
	int64_t v = 1, three = 3;

	profile_add_sample_type(p, "samples", "count");
	profile_add_sample(p, a, 1, &v, &l1, 1);
	profile_add_sample(p, b, 1, &three, &l2, 1);
	profile_add_sample(p, a, 1, &v, NULL, 0);
	CHECK(stackset_init(&ss, p, 0, &f) == 0);
	CHECK(ss.nstacks == 1 && ss.total == 3 && ss.total_all == 5);
	CHECK_STR(stackset_name(&ss, ss.stacks[0].frames[0].name), "b");
	stackset_release(&ss);
	f.tid = 999;
	CHECK(stackset_init(&ss, p, 0, &f) == 0);
	CHECK(ss.nstacks == 0 && ss.total == 0);
	stackset_release(&ss);
	f.tid = 0;
	CHECK(stackset_init(&ss, p, 0, &f) == 0);
	CHECK(ss.nstacks == 3 && ss.total == 5);
	stackset_release(&ss);
	profile_free(p);
}

/* A copy with every sample type, and a copy that subtracts an earlier one. */
static void test_copy_all_types(void)
{
	struct profile *src = profile_new(), *dst = profile_new(), *one = profile_new();
	uint64_t a[1] = { loc(src, "a", 1) };
	int64_t v[2] = { 2, 20 };

	profile_add_sample_type(src, "samples", "count");
	profile_add_sample_type(src, "cpu", "nanoseconds");
	profile_add_sample(src, a, 1, v, NULL, 0);
	profile_add_sample_type(dst, "samples", "count");
	profile_add_sample_type(dst, "cpu", "nanoseconds");
	profile_add_sample_type(one, "samples", "count");
	CHECK(profile_add_profile(dst, src, -1, 1.0, NULL, NULL) == 0);
	CHECK(dst->nsamples == 1 && dst->samples[0].values[0] == 2 &&
	      dst->samples[0].values[1] == 20);
	CHECK(profile_add_profile(dst, src, -1, -0.5, NULL, NULL) == 0);
	CHECK(dst->nsamples == 1 && dst->samples[0].values[0] == 1 &&
	      dst->samples[0].values[1] == 10);
	CHECK(profile_add_profile(one, src, -1, 1.0, NULL, NULL) < 0);
	profile_free(src);
	profile_free(dst);
	profile_free(one);
}

/* cprof top's view model: a window made by subtracting a snapshot, the
 * threads in the labels, the flame lines of a zoomed tree. */
static void test_topview(void)
{
	struct profile *live = profile_new(), *w;
	uint64_t hot[3] = { loc(live, "hot", 1), loc(live, "work", 2), loc(live, "main", 3) };
	uint64_t cold[3] = { loc(live, "cold", 4), hot[1], hot[2] };
	int64_t k_tid = profile_intern(live, "tid"), k_name = profile_intern(live, "thread");
	struct pf_label t1[2] = { { k_name, profile_intern(live, "one"), 0, 0 }, { k_tid, 0, 11, 0 } };
	struct pf_label t2[2] = { { k_name, profile_intern(live, "two"), 0, 0 }, { k_tid, 0, 22, 0 } };
	int64_t v[2] = { 1, 10 };
	struct top_snapshot snap;
	struct top_thread *th;
	struct stackset ss;
	struct calltree t;
	struct flame_line *lines;
	size_t n, depth;
	char *path[] = { "main", "work", "nowhere" };

	profile_add_sample_type(live, "samples", "count");
	profile_add_sample_type(live, "cpu", "nanoseconds");
	live->period = 10;
	for (int i = 0; i < 3; i++)
		profile_add_sample(live, hot, 3, v, t1, 2);
	CHECK(topview_snapshot(&snap, live, 5) == 0);
	CHECK(snap.nsamples == 1 && snap.ntypes == 2 && snap.values[1] == 30);
	profile_add_sample(live, hot, 3, v, t1, 2);
	profile_add_sample(live, cold, 3, v, t2, 2);
	profile_add_sample(live, cold, 3, v, t2, 2);

	/* Since the snapshot: one hot, two cold; the live profile is as it was. */
	w = topview_copy(live, &snap);
	CHECK(w && w->nsample_types == 2 && w->period == 10);
	CHECK(live->samples[0].values[0] == 4 && live->samples[0].values[1] == 40);
	CHECK(w && profile_total(w, 0) == 3 && profile_total(w, 1) == 30);
	CHECK(topview_threads(w, 1, NULL, &th, &n) == 0);
	CHECK(n == 2 && th[0].tid == 22 && th[0].value == 20 && th[1].tid == 11);
	CHECK_STR(th[0].name, "two");
	free(th);
	profile_free(w);

	w = topview_copy(live, NULL);
	CHECK(w && profile_total(w, 0) == 6);
	stackset_init(&ss, w, 1, NULL);
	calltree_init(&t, &ss);
	calltree_sort(&t);
	/* From the root: main, work, hot (4 of 6), cold (2 of 6, after hot). */
	CHECK(topview_flame(&t, 0, 60, 0, &lines, &n) == 0);
	CHECK(n == 4);
	CHECK_STR(stackset_name(&ss, t.nodes[lines[2].node].name), "hot");
	CHECK(lines[2].start == 0 && lines[2].len == 40);
	CHECK_STR(stackset_name(&ss, t.nodes[lines[3].node].name), "cold");
	CHECK(lines[3].start == 40 && lines[3].len == 20);
	free(lines);
	/* Zoomed into work: work itself spans the width; pruned under 40%. */
	CHECK(topview_find_path(&t, path, 3, &depth) != 0 && depth == 2);
	CHECK(topview_flame(&t, topview_find_path(&t, path, 2, NULL), 60, 40, &lines, &n) == 0);
	CHECK(n == 2 && lines[0].len == 60 && lines[1].len == 40);
	free(lines);
	calltree_release(&t);
	stackset_release(&ss);
	profile_free(w);
	topview_snapshot_release(&snap);
	profile_free(live);
}

/* Frames without symbols: one per mapping, as pprof's default granularity
 * has them, or one per address. */
static void test_unsymbolized(void)
{
	struct profile *p = profile_new();
	struct pf_mapping m = {
		.memory_start = 0x400000, .memory_limit = 0x500000, .file_offset = 0x1000,
		.filename = profile_intern(p, "/usr/bin/app"),
	};
	uint64_t mid = profile_add_mapping(p, &m);
	uint64_t s1[2] = { profile_add_location(p, mid, 0x401234, NULL, 0, false), loc(p, "main", 9) };
	uint64_t s2[2] = { profile_add_location(p, mid, 0x402000, NULL, 0, false), s1[1] };
	struct stack_filter addresses = { .addresses = true };
	struct stackset ss;
	struct func_total *ft;
	size_t n;
	int64_t v = 2, w = 3;

	profile_add_sample_type(p, "samples", "count");
	profile_add_sample(p, s1, 2, &v, NULL, 0);
	profile_add_sample(p, s2, 2, &w, NULL, 0);
	CHECK(stackset_init(&ss, p, 0, NULL) == 0);
	CHECK(stackset_functions(&ss, &ft, &n) == 0);
	CHECK(n == 2);
	for (size_t i = 0; i < n; i++)
		if (strcmp(stackset_name(&ss, ft[i].name), "main") != 0) {
			CHECK_STR(stackset_name(&ss, ft[i].name), "[app]");
			CHECK(ft[i].flat == 5 && ft[i].cum == 5);
		}
	free(ft);
	stackset_release(&ss);
	CHECK(stackset_init(&ss, p, 0, &addresses) == 0);
	CHECK(stackset_functions(&ss, &ft, &n) == 0);
	CHECK(n == 3);
	CHECK_STR(stackset_name(&ss, ss.stacks[0].frames[0].name), "app+0x2234");
	CHECK_STR(stackset_name(&ss, ss.stacks[1].frames[0].name), "app+0x3000");
	free(ft);
	stackset_release(&ss);
	profile_free(p);
}

/* Folded stacks: counts by default, ';' kept out of names, and a diff as
 * difffolded.pl's two columns. */
static void test_folded(void)
{
	struct profile *p = profile_new(), *h = profile_new();
	uint64_t a[2] = { loc(p, "f[go.shape.struct { a int; b string }]", 1), loc(p, "main", 2) };
	uint64_t b[2] = { loc(p, "g", 3), a[1] };
	struct pf_label base = { profile_intern(p, "pprof::base"), profile_intern(p, "true"), 0, 0 };
	struct stackset ss;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int64_t v[2] = { 2, 20 }, w[2] = { -3, -30 }, x[2] = { -1, -10 };

	profile_add_sample_type(p, "samples", "count");
	profile_add_sample_type(p, "cpu", "nanoseconds");
	CHECK(profile_count_index(p, 1) == 0 && profile_count_index(p, 0) == 0);
	profile_add_sample(p, a, 2, v, NULL, 0);
	profile_add_sample(p, a, 2, w, &base, 1);
	profile_add_sample(p, b, 2, x, NULL, 0);
	profile_add_sample(p, b, 2, v, NULL, 0);
	CHECK(stackset_init(&ss, p, 0, NULL) == 0);
	CHECK(render_folded(f, &ss) == 0);
	fclose(f);
	CHECK(strstr(buf, "main;f[go.shape.struct { a int: b string }] 3 2\n") != NULL);
	CHECK(strstr(buf, "main;g 0 1\n") != NULL);
	free(buf);
	stackset_release(&ss);
	profile_free(p);

	/* A heap profile counts objects: in use for in-use bytes. */
	profile_add_sample_type(h, "alloc_objects", "count");
	profile_add_sample_type(h, "alloc_space", "bytes");
	profile_add_sample_type(h, "inuse_objects", "count");
	profile_add_sample_type(h, "inuse_space", "bytes");
	CHECK(profile_count_index(h, 3) == 2 && profile_count_index(h, 1) == 0);
	profile_free(h);
}

/* Totals as pprof takes them: of the values' magnitudes, or of the samples
 * labelled pprof::base where there are such. */
static void test_totals(void)
{
	struct profile *p = profile_new();
	uint64_t a[1] = { loc(p, "a", 1) }, b[1] = { loc(p, "b", 2) }, c[1] = { loc(p, "c", 3) };
	struct pf_label base = { profile_intern(p, "pprof::base"), profile_intern(p, "true"), 0, 0 };
	struct stack_filter only_a = { .focus = "^a$" };
	struct stackset ss;
	int64_t v = 6, w = -3, x = 1;

	profile_add_sample_type(p, "samples", "count");
	profile_add_sample(p, a, 1, &v, NULL, 0);
	profile_add_sample(p, b, 1, &w, NULL, 0);
	CHECK(stackset_init(&ss, p, 0, NULL) == 0);
	CHECK(ss.diff && ss.total_all == 9 && ss.total == 9);
	stackset_release(&ss);
	CHECK(stackset_init(&ss, p, 0, &only_a) == 0);
	CHECK(ss.total_all == 9 && ss.total == 6);
	stackset_release(&ss);
	/* With a labelled base, the base's size: the labelled |-1| + |1|. */
	w = -1;
	profile_add_sample(p, c, 1, &w, &base, 1);
	profile_add_sample(p, b, 1, &x, &base, 1);
	CHECK(stackset_init(&ss, p, 0, NULL) == 0);
	CHECK(ss.total_all == 2 && ss.total == 2);
	stackset_release(&ss);
	profile_free(p);
}

int main(void)
{
	test_interning();
	test_merging();
	test_many_samples();
	test_durations();
	test_units();
	test_stacks();
	test_renderers();
	test_thread_filter();
	test_unsymbolized();
	test_totals();
	test_folded();
	test_copy_all_types();
	test_topview();
	return test_done("test-model");
}
