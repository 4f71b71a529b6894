/* Unit tests of the JSON string writer and the UTF-8 check under it: names
 * from a target are bytes, and each must come out as one valid JSON string. */
#include <stdlib.h>

#include "json.h"
#include "test.h"
#include "utf8.h"

/* S as json_write_string writes it (the caller frees). */
static char *json_of(const char *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	json_write_string(f, s);
	fclose(f);
	return buf;
}

#define CHECK_JSON(in, want)              \
	do {                              \
		char *got_ = json_of(in); \
		CHECK_STR(got_, want);    \
		free(got_);               \
	} while (0)

static void test_escapes(void)
{
	CHECK_JSON("", "\"\"");
	CHECK_JSON("pool-1", "\"pool-1\"");
	CHECK_JSON("a\"b", "\"a\\\"b\"");
	CHECK_JSON("back\\slash", "\"back\\\\slash\"");
	CHECK_JSON("\"},{\"x\":1", "\"\\\"},{\\\"x\\\":1\"");
	CHECK_JSON("new\nline\r\t\b\f", "\"new\\nline\\r\\t\\b\\f\"");
	CHECK_JSON("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
	CHECK_JSON("a/b", "\"a/b\"");
}

static void test_utf8(void)
{
	size_t bad = 99;

	/* Well-formed: passed through as bytes. */
	CHECK_JSON("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	CHECK_JSON("\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xe2\x82\xac\xf0\x9f\x98\x80\"");
	CHECK_JSON("\xed\x9f\xbf\xf4\x8f\xbf\xbf", "\"\xed\x9f\xbf\xf4\x8f\xbf\xbf\"");
	/* Ill-formed: one U+FFFD per maximal subpart, as Python decodes. */
	CHECK_JSON("\xff", "\"\xef\xbf\xbd\"");
	CHECK_JSON("a\xc3", "\"a\xef\xbf\xbd\"");
	CHECK_JSON("\xe2\x82x", "\"\xef\xbf\xbdx\"");
	CHECK_JSON("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_JSON("\xe0\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_JSON("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_JSON("\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_JSON("\xf0\x9f\x98\"", "\"\xef\xbf\xbd\\\"\"");
	CHECK_JSON("\x80\xbf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");

	CHECK(utf8_char_len("a", &bad) == 1);
	CHECK(utf8_char_len("", &bad) == 1);
	CHECK(utf8_char_len("\xc3\xa9", &bad) == 2);
	CHECK(utf8_char_len("\xe2\x82\xac", &bad) == 3);
	CHECK(utf8_char_len("\xf0\x9f\x98\x80", &bad) == 4);
	CHECK(utf8_char_len("\xf0\x9f\x98", &bad) == 0 && bad == 3);
	CHECK(utf8_char_len("\xe0\x9f\x80", &bad) == 0 && bad == 1);
	CHECK(utf8_char_len("\xc1\xbf", &bad) == 0 && bad == 1);
	CHECK(utf8_char_len("\xf5\x80\x80\x80", &bad) == 0 && bad == 1);
}

int main(void)
{
	test_escapes();
	test_utf8();
	return test_done("test-json");
}
