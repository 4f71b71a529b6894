/* regexcheck: reads lines "P PATTERN" and "S SUBJECT" and prints, for each,
 * "P 1" or "P 0" (whether cp_regcomp takes PATTERN) and "1", "0" or "-"
 * (whether the last pattern matches SUBJECT; "-" for a refused one), the
 * lines tests/go/regexcheck.go prints for Go's regexp. tests/regex.sh
 * compares the two. */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

int main(void)
{
	char line[4096];
	regex_t re;
	bool have = false;

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == 'P') {
			if (have)
				regfree(&re);
			have = cp_regcomp(&re, line + 2) == 0;
			printf("P %d\n", have);
		} else {
			puts(!have ? "-" : regexec(&re, line + 2, 0, NULL, 0) == 0 ? "1" : "0");
		}
	}
	if (have)
		regfree(&re);
	return 0;
}
