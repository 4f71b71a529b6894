/* From program counters to profile locations, cached per counter; see locate.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errmsg.h"
#include "grow.h"
#include "loccache.h"
#include "locate.h"

#define REFRESH_NS 100000000

struct locator {
	struct profile *p;
	struct addrspace *as;
	struct symbolizer *sym;
	struct unwinder *uw;
	struct loccache pcs;
	bool refresh_on_miss;
	int64_t last_refresh;
	uint64_t *map_ids; /* profile mapping id by address-space mapping id */
	size_t map_ids_cap;
};

static int locator_claim_main(struct locator *l);

struct locator *locator_new(struct profile *p, struct addrspace *as, struct symbolizer *sym,
			    struct unwinder *uw, bool refresh_on_miss)
{
	struct locator *l = calloc(1, sizeof(*l));

	if (!l) {
		cp_error("out of memory");
		return NULL;
	}
	l->p = p;
	l->as = as;
	l->sym = sym;
	l->uw = uw;
	l->refresh_on_miss = refresh_on_miss;
	l->last_refresh = clock_ns(CLOCK_MONOTONIC);
	loccache_init(&l->pcs);
	if (locator_claim_main(l) < 0) {
		locator_free(l);
		return NULL;
	}
	return l;
}

void locator_free(struct locator *l)
{
	if (!l)
		return;
	loccache_release(&l->pcs);
	free(l->map_ids);
	free(l);
}

/* The profile's mapping for M, added the first time: the profile may hold
 * mappings of several address spaces, so ids are translated. -1 on error. */
static int64_t locator_mapping(struct locator *l, const struct as_map *m)
{
	struct pf_mapping pm = {
		.memory_start = m->start,
		.memory_limit = m->end,
		.file_offset = m->offset,
		.has_functions = true,
		.has_filenames = true,
		.has_line_numbers = true,
		.has_inline_frames = true,
	};
	size_t cap = l->map_ids_cap;
	int64_t id;

	if (m->id >= cap) {
		if (CP_GROW(l->map_ids, l->map_ids_cap, m->id + 1) < 0)
			return -1;
		memset(l->map_ids + cap, 0, (l->map_ids_cap - cap) * sizeof(*l->map_ids));
	}
	if (l->map_ids[m->id])
		return l->map_ids[m->id];
	pm.filename = profile_intern(l->p, m->path);
	pm.build_id = profile_intern(l->p, m->mod ? module_build_id(m->mod) : "");
	if (pm.filename < 0 || pm.build_id < 0 || (id = profile_add_mapping(l->p, &pm)) < 0)
		return -1;
	return l->map_ids[m->id] = id;
}

/* Make the target's executable (/proc/PID/exe) the profile's main mapping,
 * which pprof names as the profile's binary, unless a locator made before
 * (the target's, before its children's) did. */
static int locator_claim_main(struct locator *l)
{
	pid_t pid = addrspace_pid(l->as);
	char link[64], exe[PATH_MAX];
	const struct as_map *maps;
	size_t n;
	ssize_t len;

	if (l->p->main_mapping || pid <= 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len <= 0)
		return 0;
	exe[len] = '\0';
	maps = addrspace_maps(l->as, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(maps[i].path, exe) == 0) {
			int64_t id = locator_mapping(l, &maps[i]);
			if (id < 0)
				return -1;
			l->p->main_mapping = id;
			return 0;
		}
	return 0;
}

int locator_refresh(struct locator *l)
{
	l->last_refresh = clock_ns(CLOCK_MONOTONIC);
	if (addrspace_refresh(l->as) < 0)
		return -1;
	unwinder_flush(l->uw);
	/* The counters that were in no known mapping may be in the new maps.
	 * Their locations stay in the profile for the samples that have them. */
	return l->pcs.unmapped ? loccache_keep_mapped(&l->pcs) : 0;
}

int64_t locator_get(struct locator *l, uint64_t pc, bool caller)
{
	int64_t id = (int64_t)loccache_find(&l->pcs, pc, caller);
	const struct as_map *m;
	const struct sym_frame *fr = NULL;
	struct pf_line lines[PF_MAX_LINES];
	int n;

	if (id)
		return id;
	m = addrspace_find(l->as, pc);
	/* A mapping made after the last read (dlopen): look again, but not for
	 * every stray address. */
	if (!m && l->refresh_on_miss && clock_ns(CLOCK_MONOTONIC) - l->last_refresh > REFRESH_NS) {
		/* Maps that cannot be read leave PC in none; memory running out is an error. */
		if (locator_refresh(l) < 0 && cp_errno() == ENOMEM)
			return -1;
		m = addrspace_find(l->as, pc);
	}
	if (m && locator_mapping(l, m) < 0)
		return -1;
	n = symbolizer_lookup(l->sym, pc, caller, &fr);
	if (n < 0)
		return -1;
	if (n > PF_MAX_LINES)
		n = PF_MAX_LINES;
	for (int j = 0; j < n; j++) {
		int64_t name = profile_intern(l->p, fr[j].name ? fr[j].name : "");
		int64_t sys = profile_intern(l->p, fr[j].system_name ? fr[j].system_name : "");
		int64_t file = profile_intern(l->p, fr[j].file ? fr[j].file : "");
		if (name < 0 || sys < 0 || file < 0 ||
		    (id = profile_add_function(l->p, name, sys, file, fr[j].start_line)) < 0)
			return -1;
		lines[j].function_id = id;
		lines[j].line = fr[j].line;
	}
	id = profile_add_location(l->p, m ? locator_mapping(l, m) : 0, pc, lines, n, false);
	if (id < 0 || loccache_add(&l->pcs, pc, caller, m != NULL, id) < 0)
		return -1;
	return id;
}

int locator_forget(struct locator *l)
{
	loccache_clear(&l->pcs);
	return locator_refresh(l);
}

int locator_finish(struct locator *l)
{
	size_t n;
	const struct as_map *maps = addrspace_maps(l->as, &n);

	for (size_t i = 0; i < n; i++)
		if (locator_mapping(l, &maps[i]) < 0)
			return cp_error("cannot record mapping %s", maps[i].path);
	return 0;
}
