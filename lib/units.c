/* pprof-style formatting of values and shares; see units.h. */
#include <math.h>
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
	if (strcmp(unit, "microseconds") == 0)
		return units_format(buf, n, v * 1000, "nanoseconds");
	if (strcmp(unit, "milliseconds") == 0)
		return units_format(buf, n, v * 1000000, "nanoseconds");
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

char *units_format_1(char *buf, size_t n, int64_t v, const char *unit)
{
	static const struct { const char *sfx; double f; } ns[] = {
		{ "hrs", 3600e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 }, { "ns", 1 },
	}, bytes[] = {
		{ "PB", 1125899906842624.0 }, { "TB", 1099511627776.0 }, { "GB", 1073741824.0 },
		{ "MB", 1048576.0 }, { "kB", 1024.0 }, { "B", 1 },
	};
	double a = fabs((double)v);
	size_t i;

	if (strcmp(unit, "nanoseconds") == 0) {
		for (i = 0; i + 1 < sizeof(ns) / sizeof(*ns) && a < ns[i].f; i++)
			;
		snprintf(buf, n, "%.1f%s", v / ns[i].f, ns[i].sfx);
	} else if (strcmp(unit, "bytes") == 0) {
		for (i = 0; i + 1 < sizeof(bytes) / sizeof(*bytes) && a < bytes[i].f; i++)
			;
		snprintf(buf, n, "%.1f%s", v / bytes[i].f, bytes[i].sfx);
	} else {
		snprintf(buf, n, "%.1f", (double)v);
	}
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
