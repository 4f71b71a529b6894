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

struct fuzz_opts {
	long number;
	double ratio;
	int64_t time;
	bool flag;
	int mode;
	uint32_t stack;
	const char *need, *time_given;
};

static const struct cmd_option options[] = {
	{ CMD_INT(fuzz_opts, number, "number", "N", "a number", -5, 1000000, 7), .short_name = 'n' },
	{ CMD_DOUBLE(fuzz_opts, ratio, "ratio", "PCT", "a ratio", 0, 100, 0.5) },
	{ CMD_DURATION(fuzz_opts, time, "time", "DURATION", "a duration", 1000, 0), .short_name = 't',
	  CMD_GIVEN(fuzz_opts, time_given) },
	{ CMD_FLAG(fuzz_opts, flag, "flag", "a flag"), .short_name = 'f' },
	{ CMD_CHOICE(fuzz_opts, mode, "mode", "a|bb|ccc", "a choice", 1) },
	{ CMD_OPT_STACK_SIZE(fuzz_opts, stack) },
	{ CMD_STRING(fuzz_opts, need, "need", "X", "required"), .required = true },
	{ 0 },
};

static const struct cmd_entry entry = {
	.name = "fuzz", .summary = "", .args = "ARG", .description = "", .options = options,
};

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
		struct fuzz_opts o = { 0 };
		cmd_parse(&entry, &n, argv, &o, size % 2 ? &rest : NULL, &nrest);
	}
	free(text);
	return 0;
}
