/* pprof's Prune by drop_frames and keep_frames; see prune.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "prune.h"

int prune_init(struct prune *pr, const char *drop, const char *keep)
{
	char re[4096];

	memset(pr, 0, sizeof(*pr));
	if ((size_t)snprintf(re, sizeof(re), "^(%s)$", drop) >= sizeof(re))
		return cp_error("drop_frames is too long");
	if (cp_regcomp(&pr->drop, re) < 0)
		return -1;
	if (!keep || !*keep)
		return 0;
	if ((size_t)snprintf(re, sizeof(re), "^(%s)$", keep) >= sizeof(re)) {
		regfree(&pr->drop);
		return cp_error("keep_frames is too long");
	}
	if (cp_regcomp(&pr->keep, re) < 0) {
		regfree(&pr->drop);
		return -1;
	}
	pr->keep_set = true;
	return 0;
}

void prune_release(struct prune *pr)
{
	regfree(&pr->drop);
	if (pr->keep_set)
		regfree(&pr->keep);
}

bool prune_dropped(const struct prune *pr, const char *name)
{
	char buf[1024], *s = buf;
	size_t i = 0;
	bool dropped;

	if (*name == '.')
		name++;
	while (name[i]) {
		if (strncmp(name + i, "(anonymous namespace)", 21) == 0)
			i += 21;
		else if (strncmp(name + i, "operator()", 10) == 0)
			i += 10;
		else if (name[i] == '(')
			break;
		else
			i++;
	}
	/* A C++ template's name can be longer than any buffer: matched whole. */
	if (i >= sizeof(buf) && !(s = strndup(name, i)))
		return false;
	if (s == buf)
		snprintf(buf, sizeof(buf), "%.*s", (int)i, name);
	dropped = regexec(&pr->drop, s, 0, NULL, 0) == 0 &&
		  !(pr->keep_set && regexec(&pr->keep, s, 0, NULL, 0) == 0);
	if (s != buf)
		free(s);
	return dropped;
}

enum prune_kind prune_lines(const struct prune *pr, const struct profile *p,
			    struct pf_line *lines, size_t *n)
{
	for (size_t i = *n; i-- > 0;) {
		uint64_t fid = lines[i].function_id;
		const char *name = fid && fid <= p->nfunctions ?
					   profile_str(p, p->functions[fid - 1].name) : "";
		if (!*name || !prune_dropped(pr, name))
			continue;
		if (i == *n - 1)
			return PRUNE_ALL;
		memmove(lines, lines + i + 1, (*n - i - 1) * sizeof(*lines));
		*n -= i + 1;
		return PRUNE_BENEATH;
	}
	return PRUNE_NONE;
}

size_t prune_stack(const unsigned char *kinds, size_t n)
{
	bool stays = false;

	for (size_t i = n; i-- > 0;) {
		if (kinds[i] == PRUNE_NONE)
			stays = true;
		else if (stays)
			return kinds[i] == PRUNE_ALL ? i + 1 : i;
	}
	return 0;
}
