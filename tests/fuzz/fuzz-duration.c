/* Fuzz target: durations and option parsing. The command side exits on bad
 * usage, so this harness is built with exit() turned into a longjmp back here
 * and fclose() into fflush() (see tests/fuzz/Makefile rules). */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_exit(int code) __attribute__((noreturn));
int fuzz_fclose(FILE *f);

static jmp_buf back;

void fuzz_exit(int code)
{
	longjmp(back, code + 1);
}

int fuzz_fclose(FILE *f)
{
	return fflush(f);
}

static const struct cmd_option options[] = {
	{ "number", 'n', "N", "a number", 1, NULL },
	{ "ratio", 0, "PCT", "a ratio", 2, NULL },
	{ "time", 't', "DURATION", "a duration", 3, NULL },
	{ "flag", 'f', NULL, "a flag", 4, NULL },
	{ "need", 0, "X", "required", 5, NULL, .required = true },
	{ 0 },
};

static const struct cmd_entry entry = {
	.name = "fuzz", .summary = "", .args = "ARG", .description = "", .options = options,
};

static int set(void *ctx, int key, const char *v)
{
	switch (key) {
	case 1:
		cmd_parse_long(&entry, "number", v, -5, 1000000);
		break;
	case 2:
		cmd_parse_double(&entry, "ratio", v, 0, 100);
		break;
	case 3:
		cmd_parse_duration(&entry, "time", v);
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[64];
	volatile int argc = 0;
	int64_t ns;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	duration_parse(text, &ns);
	/* The input split at NULs and newlines is an argument vector. */
	for (char *p = text; argc < 63 && p < text + size; p += strlen(p) + 1) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	if (!setjmp(back)) {
		int n = argc;
		char **rest;
		int nrest;
		cmd_parse(&entry, &n, argv, set, NULL, size % 2 ? &rest : NULL, &nrest);
	}
	free(text);
	return 0;
}
