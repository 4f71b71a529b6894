/* Renderers: the non-interactive views of a profile, each written to a stream
 * the caller owns. They return 0, or -1 with an error (out of memory). */
#ifndef CPROF_RENDER_H
#define CPROF_RENDER_H

#include <stdio.h>

#include "stacks.h"

/* pprof -top: flat, flat%, sum%, cum, cum%, name and file:line, sorted by flat;
 * N rows (0: all). */
int render_top(FILE *out, const struct stackset *ss, size_t n);

/* The call tree from the roots down, indented, with total and self shares;
 * nodes under MIN_PERCENT of the total are pruned. */
int render_tree(FILE *out, const struct stackset *ss, double min_percent);

/* Every sample's stack, leaf first, with its value and labels, largest first. */
int render_traces(FILE *out, const struct stackset *ss);

/* A text flame graph WIDTH columns wide: the call tree with bars proportional
 * to each node's share of the total; nodes under MIN_PERCENT are pruned. In a
 * diff, bars are as wide as the node's samples in both profiles, and its share
 * is its change in points: growth drawn solid (red with RENDER_COLOR), shrinkage
 * shaded (blue). */
#define RENDER_COLOR 1
int render_flame(FILE *out, const struct stackset *ss, int width, double min_percent, int flags);

/* The cells of a bar from column START, LEN columns long (at least an
 * eighth), in an area WIDTH wide: its first column into *FIRST and the
 * whole cells into *FULL, cut at WIDTH; returns the eighths (0 to 7) of the
 * cell after them. With WHOLE, for a terminal without block glyphs, there
 * are none: half a cell or more is a cell, and a bar is one at least. The
 * glyph of N eighths is render_eighths[N]. */
int render_flame_bar(double start, double len, int width, bool whole, int *first, int *full);
extern const char *const render_eighths[8];

/* Brendan Gregg's folded stacks: "root;...;leaf value" lines, a ';' in a
 * name written ':'. In a diff (negative values, or pprof::base samples):
 * difffolded.pl's "root;...;leaf base new" lines, both magnitudes. */
int render_folded(FILE *out, const struct stackset *ss);

/* A self-contained SVG flame graph titled TITLE (names, values and shares
 * on hover); in a profile with negative values (a diff) width is by the
 * absolute value, and frames that grew are red and those that shrank blue. */
int render_svg(FILE *out, const struct stackset *ss, const char *title);

#endif
