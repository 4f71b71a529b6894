/* cprof top's key table against what documents it: the man page's KEYS
 * section names the same keys in the same order, top's description names
 * only keys the footer shows, no key code is handled twice, and keys reach
 * the handlers the table gives them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "test.h"
#include "tui_int.h"

/* The text of roff line LINE without its request: ".B a b" is "a b" and
 * ".BR a \", \" b" is "a, b" (the arguments of .BR run together); quotes
 * and \- undone. */
static void roff_text(const char *line, char *out, size_t n)
{
	bool alternate = strncmp(line, ".BR ", 4) == 0 || strncmp(line, ".RB ", 4) == 0;
	const char *s = line;
	size_t used = 0;
	bool first = true;

	if (*s == '.')
		while (*s && *s != ' ')
			s++;
	while (*s && used + 1 < n) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		if (!first && !alternate)
			out[used++] = ' ';
		first = false;
		bool quoted = *s == '"';
		if (quoted)
			s++;
		while (*s && used + 1 < n && (quoted ? *s != '"' : *s != ' ')) {
			if (s[0] == '\\' && s[1] == '-')
				s++;
			out[used++] = *s++;
		}
		if (quoted && *s == '"')
			s++;
	}
	out[used] = '\0';
}

/* The tags of the man page's KEYS section (the line after each .TP), into
 * TAGS; returns how many. */
static size_t man_keys(const char *path, char tags[][128], size_t max)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool on = false, tag = false;
	size_t n = 0;

	CHECK(f != NULL);
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < max) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".SH", 3) == 0) {
			on = strcmp(line, ".SH KEYS") == 0;
			continue;
		}
		if (on && tag)
			roff_text(line, tags[n++], sizeof(tags[0]));
		tag = on && strcmp(line, ".TP") == 0;
	}
	fclose(f);
	return n;
}

static void test_man_page(void)
{
	const char *dir = getenv("top_srcdir");
	char path[4096], tags[64][128];
	size_t n, i = 0;

	snprintf(path, sizeof(path), "%s/man/cprof-top.1", dir ? dir : ".");
	n = man_keys(path, tags, 64);
	CHECK(n > 0);
	for (const struct tui_key *k = tui_keys; k->handler; k++, i++) {
		CHECK(i < n);
		if (i < n && strcmp(k->man, tags[i]) != 0)
			fprintf(stderr, "man page KEYS item %zu is '%s', the key table's '%s'\n", i + 1,
				tags[i], k->man);
		CHECK(i < n && strcmp(k->man, tags[i]) == 0);
	}
	if (i != n)
		fprintf(stderr, "the man page has %zu KEYS items, the key table %zu\n", n, i);
	CHECK(i == n);
}

/* "Keys: / filter, t thread, ... q quit." in top's description: each key
 * named there is one the footer shows. */
static void test_description(void)
{
	const char *s = strstr(cmd_top.description, "Keys: ");
	int named = 0;

	CHECK(s != NULL);
	if (!s)
		return;
	s += strlen("Keys: ");
	for (;;) {
		char key[16];
		size_t len = strcspn(s, " \n");
		bool found = false;
		snprintf(key, sizeof(key), "%.*s", (int)len, s);
		for (const struct tui_key *k = tui_keys; k->handler; k++)
			found |= k->foot && strcmp(k->foot_key, key) == 0;
		if (!found)
			fprintf(stderr, "top's description names key '%s', not in the footer\n", key);
		CHECK(found);
		named++;
		s += strcspn(s, ",.");
		if (*s != ',')
			break;
		s += strspn(s, ", \n");
	}
	CHECK(named >= 5);
}

static void test_table(void)
{
	for (const struct tui_key *k = tui_keys; k->handler; k++) {
		CHECK(k->codes[0] != 0 && k->man && *k->man);
		CHECK(!k->help_key == !k->help);
		CHECK(!k->foot == !k->foot_key);
		CHECK(!k->foot || k->foot_table || k->foot_flame);
		for (const int *c = k->codes; *c; c++)
			for (const struct tui_key *o = tui_keys; o->handler; o++)
				for (const int *d = o->codes; *d; d++)
					CHECK(*c != *d || (c == d && k == o));
	}
}

static void test_dispatch(void)
{
	struct tui u = { 0 };

	CHECK(tui_keys_handle(&u, 'q') == H_QUIT);
	CHECK(tui_keys_handle(&u, 3) == H_QUIT);
	CHECK(tui_keys_handle(&u, 'c') == H_REBUILD && u.sort == TOP_SORT_TOTAL);
	CHECK(tui_keys_handle(&u, '<') == H_REBUILD && u.sort == TOP_SORT_SELF);
	CHECK(tui_keys_handle(&u, 'f') == H_REDRAW && u.view == VIEW_FLAME);
	CHECK(tui_keys_handle(&u, 'F') == H_REDRAW && u.view == VIEW_TABLE);
	CHECK(tui_keys_handle(&u, KEY_F(1)) == H_REDRAW && u.overlay == OVERLAY_HELP);
	/* The help takes any key, q too, to close. */
	CHECK(tui_keys_handle(&u, 'q') == H_REDRAW && u.overlay == OVERLAY_NONE);
	/* A saved profile: the live keys say why not. */
	CHECK(tui_keys_handle(&u, 'p') == H_REDRAW && !u.paused && strstr(u.msg, "pause"));
	CHECK(tui_keys_handle(&u, 'x') == 0 && !u.msg[0]);
	CHECK(tui_keys_handle(&u, '/') == H_REDRAW && u.overlay == OVERLAY_FILTER);
	/* The prompt takes keys as text. */
	CHECK(tui_keys_handle(&u, 'q') == H_REDRAW && strcmp(u.input, "q") == 0);
	CHECK(tui_keys_handle(&u, 27) == H_REDRAW && u.overlay == OVERLAY_NONE);
}

int main(void)
{
	test_man_page();
	test_description();
	test_table();
	test_dispatch();
	return test_done("test-keys");
}
