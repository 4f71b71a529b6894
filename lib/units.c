/* pprof-style formatting of values and shares; see units.h. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

static char *units_scaled(char *buf, size_t n, double v, const char *suffix)
{
	size_t len;

	snprintf(buf, n, "%.2f", v);
	len = strlen(buf);
	if (len > 3 && strcmp(buf + len - 3, ".00") == 0)
		buf[len - 3] = '\0';
	len = strlen(buf);
	snprintf(buf + len, n > len ? n - len : 0, "%s", suffix);
	return buf;
}

char *units_format(char *buf, size_t n, int64_t v, const char *unit)
{
	double a = fabs((double)v);

	if (v == 0) {
		snprintf(buf, n, "0");
		return buf;
	}
	if (strcmp(unit, "nanoseconds") == 0) {
		if (a >= 1e9)
			return units_scaled(buf, n, v / 1e9, "s");
		if (a >= 1e6)
			return units_scaled(buf, n, v / 1e6, "ms");
		if (a >= 1e3)
			return units_scaled(buf, n, v / 1e3, "us");
		return units_scaled(buf, n, v, "ns");
	}
	if (strcmp(unit, "microseconds") == 0 || strcmp(unit, "milliseconds") == 0) {
		double ns = (double)v * (unit[2] == 'c' ? 1e3 : 1e6);
		if (fabs(ns) >= 1e9)
			return units_scaled(buf, n, ns / 1e9, "s");
		if (fabs(ns) >= 1e6)
			return units_scaled(buf, n, ns / 1e6, "ms");
		return units_scaled(buf, n, ns / 1e3, "us");
	}
	if (strcmp(unit, "bytes") == 0) {
		static const char *const sfx[] = { "B", "kB", "MB", "GB", "TB", "PB" };
		size_t i = 0;
		double x = v;
		while (fabs(x) >= 1024 && i + 1 < sizeof(sfx) / sizeof(*sfx)) {
			x /= 1024;
			i++;
		}
		return units_scaled(buf, n, x, sfx[i]);
	}
	snprintf(buf, n, "%lld", (long long)v);
	return buf;
}

/* pprof's unit families (internal/measurement): each unit's canonical
 * name, the names it is known by, and its size in the family's base. */
static const struct units_unit {
	const char *name, *aliases[3];
	double factor;
} units_memory[] = {
	{ "B", { "b", "byte" }, 1 },
	{ "kB", { "kb", "kbyte", "kilobyte" }, 1024.0 },
	{ "MB", { "mb", "mbyte", "megabyte" }, 1048576.0 },
	{ "GB", { "gb", "gbyte", "gigabyte" }, 1073741824.0 },
	{ "TB", { "tb", "tbyte", "terabyte" }, 1099511627776.0 },
	{ "PB", { "pb", "pbyte", "petabyte" }, 1125899906842624.0 },
	{ NULL, { NULL }, 0 },
}, units_time[] = {
	{ "ns", { "ns", "nanosecond" }, 1 },
	{ "us", { "\xce\xbcs", "us", "microsecond" }, 1e3 },
	{ "ms", { "ms", "millisecond" }, 1e6 },
	{ "s", { "s", "sec", "second" }, 1e9 },
	{ "hrs", { "hour", "hr" }, 3600e9 },
	{ NULL, { NULL }, 0 },
}, units_gcu[] = {
	{ "n*GCU", { "nanogcu" }, 1e-9 }, { "u*GCU", { "microgcu" }, 1e-6 },
	{ "m*GCU", { "milligcu" }, 1e-3 }, { "GCU", { "gcu" }, 1 },
	{ "k*GCU", { "kilogcu" }, 1e3 }, { "M*GCU", { "megagcu" }, 1e6 },
	{ "G*GCU", { "gigagcu" }, 1e9 }, { "T*GCU", { "teragcu" }, 1e12 },
	{ "P*GCU", { "petagcu" }, 1e15 },
	{ NULL, { NULL }, 0 },
};
static const struct units_family {
	const struct units_unit *units;
	const struct units_unit *base; /* the default unit */
} units_families[] = {
	{ units_memory, &units_memory[0] },
	{ units_time, &units_time[3] },
	{ units_gcu, &units_gcu[3] },
};

/* UNIT as pprof sniffs it (lower case, a trailing s dropped past two
 * letters) in family F, or NULL. */
static const struct units_unit *units_sniff(const struct units_family *f, const char *unit)
{
	char u[64];
	size_t n = 0;

	for (; unit[n] && n + 1 < sizeof(u); n++)
		u[n] = (char)((unit[n] >= 'A' && unit[n] <= 'Z') ? unit[n] + 32 : unit[n]);
	u[n] = '\0';
	if (n > 2 && u[n - 1] == 's')
		u[--n] = '\0';
	for (const struct units_unit *x = f->units; x->name; x++)
		for (size_t a = 0; a < 3 && x->aliases[a]; a++)
			if (strcmp(u, x->aliases[a]) == 0)
				return x;
	return NULL;
}

const char *units_scale(int64_t v, const char *from, const char *to, double *out)
{
	bool autoscale = strcmp(to, "minimum") == 0 || strcmp(to, "auto") == 0;

	if (v < 0 && v != INT64_MIN) {
		const char *u = units_scale(-v, from, to, out);
		*out = -*out;
		return u;
	}
	for (size_t i = 0; i < sizeof(units_families) / sizeof(*units_families); i++) {
		const struct units_family *f = &units_families[i];
		const struct units_unit *fu = units_sniff(f, from), *tu, *best = NULL;
		double base;
		if (!fu)
			continue;
		base = (double)v * fu->factor;
		if (autoscale) {
			for (const struct units_unit *x = f->units; x->name; x++)
				if ((!best || x->factor >= best->factor) && base / x->factor >= 1.0)
					best = x;
			tu = best ? best : f->base;
		} else {
			tu = units_sniff(f, to);
			tu = tu ? tu : f->base;
		}
		*out = base / tu->factor;
		return tu->name;
	}
	*out = (double)v;
	if (autoscale || strcmp(to, "count") == 0 || strcmp(to, "sample") == 0 ||
	    strcmp(to, "unit") == 0)
		return "";
	return to;
}

char *units_label(char *buf, size_t n, int64_t v, const char *unit)
{
	return units_label_to(buf, n, v, unit, "minimum");
}

char *units_label_to(char *buf, size_t n, int64_t v, const char *unit, const char *to)
{
	double x;
	const char *u = units_scale(v, unit, to, &x);
	size_t len;

	snprintf(buf, n, "%.2f", x);
	len = strlen(buf);
	if (len > 3 && strcmp(buf + len - 3, ".00") == 0)
		buf[len - 3] = '\0';
	if (strcmp(buf, "0") == 0 || strcmp(buf, "-0") == 0) {
		snprintf(buf, n, "0");
		return buf;
	}
	len = strlen(buf);
	snprintf(buf + len, n > len ? n - len : 0, "%s", u);
	return buf;
}

char *units_format_1(char *buf, size_t n, int64_t v, const char *unit)
{
	double x;
	const char *u = units_scale(v, unit, "minimum", &x);

	snprintf(buf, n, "%.1f%s", x, u);
	return buf;
}

/* pprof's measurement.Percentage: width 5, "  100%" at a hundred. */
char *units_percent_padded(char *buf, size_t n, int64_t v, int64_t total)
{
	double r = total ? fabs((double)v / (double)total) * 100 : 0;

	if (r >= 99.95 && r <= 100.05)
		snprintf(buf, n, "  100%%");
	else if (r >= 1)
		snprintf(buf, n, "%5.2f%%", r);
	else
		snprintf(buf, n, "%5.2g%%", r);
	return buf;
}

char *units_percent(char *buf, size_t n, int64_t v, int64_t total)
{
	double r = total ? (double)v / (double)total * 100 : 0;

	if (fabs(r) >= 99.95 && fabs(r) <= 100.05)
		snprintf(buf, n, "%s100%%", r < 0 ? "-" : "");
	else if (r == 0)
		snprintf(buf, n, "0%%");
	else if (fabs(r) >= 1)
		snprintf(buf, n, "%.2f%%", r);
	else
		snprintf(buf, n, "%.2g%%", r);
	return buf;
}
