/* The in-memory profile model, shaped like pprof's profile.proto: sample types,
 * samples (a leaf-first stack of locations, values and labels), locations,
 * functions, mappings and an interned string table.
 *
 * Invariants the rest of cprof relies on: string 0 is ""; mapping, location and
 * function ids are dense, id N living at index N - 1 of its array (the decoder
 * renumbers foreign ids); samples with equal stacks and labels are merged on
 * insertion through a hash, so building costs linear time in the samples added. */
#ifndef CPROF_PROFILE_H
#define CPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "intern.h"

struct pf_value_type {
	int64_t type, unit; /* string indices */
};

struct pf_label {
	int64_t key, str, num, num_unit; /* key, str, num_unit: string indices */
};

struct pf_sample {
	uint64_t *locs; /* location ids, leaf first */
	size_t nlocs;
	int64_t *values; /* one per sample type */
	struct pf_label *labels;
	size_t nlabels;
};

struct pf_line {
	uint64_t function_id;
	int64_t line;
};

/* The most lines (inlined frames, then the function that holds them) a
 * location is made with, from a symbolizer's answer or a copied location. */
#define PF_MAX_LINES 64

struct pf_location {
	uint64_t mapping_id; /* 0: none */
	uint64_t address;
	struct pf_line *lines; /* innermost inlined callee first, caller last */
	size_t nlines;
	bool is_folded;
};

struct pf_function {
	int64_t name, system_name, filename; /* string indices */
	int64_t start_line;
};

struct pf_mapping {
	uint64_t memory_start, memory_limit, file_offset;
	int64_t filename, build_id; /* string indices */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct profile {
	struct pf_value_type *sample_types;
	size_t nsample_types;
	struct pf_sample *samples;
	size_t nsamples, samples_cap;
	struct pf_mapping *mappings;
	size_t nmappings, mappings_cap;
	struct pf_location *locations;
	size_t nlocations, locations_cap;
	struct pf_function *functions;
	size_t nfunctions, functions_cap;
	/* The string table, one interner; readers say strings[i] and nstrings
	 * (its strs and n: the same layout). */
	union {
		struct intern strtab;
		struct {
			char **strings;
			size_t nstrings, strings_cap;
			struct hmap string_index;
		};
	};
	int64_t *comments;
	size_t ncomments;

	int64_t drop_frames, keep_frames; /* string indices */
	int64_t time_nanos, duration_nanos;
	struct pf_value_type period_type;
	int64_t period;
	int64_t default_sample_type; /* string index, 0 if unset */
	/* The main executable's mapping id, written first (pprof names the
	 * first mapping as the profile's binary); 0: mapping 1 is. */
	uint64_t main_mapping;

	struct hmap sample_index, location_index, function_index;
};

/* A new empty profile (string 0 already ""), or NULL when out of memory. */
struct profile *profile_new(void);
/* A new profile with SRC's sample types, period type, period and default
 * sample type, and no samples. NULL with an error. */
struct profile *profile_new_like(const struct profile *src);
void profile_free(struct profile *p);

/* The string at index I ("" when out of range). */
const char *profile_str(const struct profile *p, int64_t i);

/* Intern S (N bytes, may hold NULs only at the end) and return its index, or -1. */
int64_t profile_intern_n(struct profile *p, const char *s, size_t n);
int64_t profile_intern(struct profile *p, const char *s);

/* Append the comment TEXT (as go tool pprof -comments shows them). Returns 0 or -1. */
int profile_add_comment(struct profile *p, const char *text);

/* Append a sample type "TYPE/UNIT". Must precede the first sample. Returns 0 or -1. */
int profile_add_sample_type(struct profile *p, const char *type, const char *unit);

/* The id of the function with these fields, added if new; -1 with an error. */
int64_t profile_add_function(struct profile *p, int64_t name, int64_t system_name,
			     int64_t filename, int64_t start_line);

/* Append a mapping and return its id (mappings are not merged); -1 with an error. */
int64_t profile_add_mapping(struct profile *p, const struct pf_mapping *m);

/* The id of the location with this mapping, address and lines, added if new
 * (the lines are copied); -1 with an error. */
int64_t profile_add_location(struct profile *p, uint64_t mapping_id, uint64_t address,
			     const struct pf_line *lines, size_t nlines, bool is_folded);

/* The id of a location of no mapping or address whose one function is NAME
 * (a frame that stands for something other than code, as "[truncated]"),
 * added if new; -1 with an error. */
int64_t profile_add_marker(struct profile *p, const char *name);

/* Add VALUES (one per sample type) to the sample with stack LOCS (leaf first) and
 * LABELS, creating it if new. Labels are compared as given, in order. Returns 0 or -1. */
int profile_add_sample(struct profile *p, const uint64_t *locs, size_t nlocs,
		       const int64_t *values, const struct pf_label *labels, size_t nlabels);

/* The index of the sample type named NAME, or of the default one when NAME is
 * NULL (default_sample_type if set, else the last, as pprof does); N as a
 * decimal index is accepted too. Returns -1 with a message naming the types. */
int profile_sample_index(const struct profile *p, const char *name);

/* The sample type that counts what sample type SI measures, for folded
 * stacks (whose convention is counts): SI if its unit is "count", else the
 * count type named alike up to the first '_' (inuse_space: inuse_objects),
 * else the first count type, else SI. */
int profile_count_index(const struct profile *p, int si);

/* Add SRC's samples, at its sample type index SI, to DST (which has one
 * sample type; with SI < 0, all of SRC's values to a DST with as many sample
 * types), each value multiplied by SCALE and rounded, with LABEL (if
 * non-NULL, given with SRC-independent strings) appended to each sample's
 * labels. Mappings, locations and functions are copied over as needed.
 * Returns 0 or -1. */
int profile_add_profile(struct profile *dst, const struct profile *src, int si, double scale,
			const char *label_key, const char *label_value);

/* The same with, for each of DST's sample types K, SRC's values at sample
 * type index SI[K] multiplied by SCALE[K]. Returns 0 or -1. */
int profile_add_values(struct profile *dst, const struct profile *src, const int *si,
		       const double *scale, const char *label_key, const char *label_value);

/* Whether A and B have the same sample types (names and units, in order)
 * and period type, as pprof asks of profiles it merges. */
bool profile_compatible(const struct profile *a, const struct profile *b);

/* Merge SRC into *DST as go tool pprof merges several profiles: its samples
 * added (a mapping of a binary *DST maps already, by build id or file,
 * size and offset, made that one, its addresses moved to it), its comments
 * appended, the time the earliest, the durations summed, the period the
 * longest. *DST is made like SRC when NULL. Returns 0, or -1 with an error
 * (SRC not compatible: "its sample types ... differ"). */
int profile_merge(struct profile **dst, const struct profile *src);

/* The unit of each numeric label key, as pprof's NumLabelUnits gives it:
 * the first unit any sample gives that key, else bytes for "request" and
 * "alignment", else the key's own name. Into a new array *UNITS indexed by
 * the key's string index (NULL for keys that are never numeric). Returns 0
 * or -1. Labels with neither value nor unit count for nothing, as pprof
 * drops them. */
int profile_num_units(const struct profile *p, const char ***units);

/* Whether label L carries anything (pprof drops a label with no string, no
 * number and no unit). */
bool profile_label_set(const struct pf_label *l);

/* Sum of sample values at sample type index SI. */
int64_t profile_total(const struct profile *p, int si);

#endif
