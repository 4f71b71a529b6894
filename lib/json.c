/* JSON output for the JSON views; see json.h. */
#include "json.h"
#include "utf8.h"

void json_write_string(FILE *out, const char *s)
{
	static const char short_escape[0x20] = {
		['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	};
	size_t len, bad;

	putc('"', out);
	for (; *s; s += len) {
		unsigned char c = *s;
		len = utf8_char_len(s, &bad);
		if (!len) {
			fputs("\xef\xbf\xbd", out);
			len = bad;
		} else if (c == '"' || c == '\\') {
			fprintf(out, "\\%c", c);
		} else if (c < 0x20 && short_escape[c]) {
			fprintf(out, "\\%c", short_escape[c]);
		} else if (c < 0x20) {
			fprintf(out, "\\u%04x", c);
		} else {
			fwrite(s, 1, len, out);
		}
	}
	putc('"', out);
}
