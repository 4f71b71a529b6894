/* Parsing of human durations; see duration.h. */
#include <ctype.h>
#include <string.h>

#include "duration.h"
#include "errmsg.h"

#define YEAR_NS (366.0 * 24 * 3600 * 1e9)

int duration_parse(const char *s, int64_t *ns)
{
	static const struct {
		const char *suffix;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 },
		{ "h", 3600e9 }, { "", 1e9 },
	};
	const char *p = s;
	double v = 0, scale = 1;
	int digits = 0;

	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p++ - '0');
		digits++;
		if (v > YEAR_NS)
			goto range;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			scale /= 10;
			v += (*p++ - '0') * scale;
			digits++;
		}
	}
	if (!digits)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			double t = v * units[i].ns;
			if (t < 1 || t > YEAR_NS)
				goto range;
			*ns = (int64_t)t;
			return 0;
		}
	}
bad:
	return cp_error("bad duration '%s' (use e.g. 500ms, 30s, 5m, 1h)", s);
range:
	return cp_error("bad duration '%s': out of range (from 1ns to 8784h, 366 days)", s);
}
