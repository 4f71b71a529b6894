/* Unit tests of cmd_parse's options bound to fields: each type stores into
 * its field whatever its size, defaults come from the table before any option,
 * --help says them, and each bad value exits 2 with its message (in a child
 * process, since the command side exits). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "test.h"

struct test_opts {
	long number;
	short small;
	unsigned hz;
	double ratio;
	int64_t time_ns;
	const char *time_given;
	bool flag, fp;
	int mode;
	uint32_t stack;
	const char *name;
};

static const struct cmd_option test_options[] = {
	{ CMD_INT(test_opts, number, "number", "N", "a number", -5, 1000000, 7), .short_name = 'n' },
	{ CMD_INT(test_opts, small, "small", "N", "a short", 0, 300, 0) },
	{ CMD_OPT_FREQUENCY(test_opts, hz) },
	{ CMD_DOUBLE(test_opts, ratio, "ratio", "PCT", "a ratio", 0, 100, 0.5) },
	{ CMD_DURATION(test_opts, time_ns, "time", "DURATION", "a duration", 1000, 1000000000),
	  .short_name = 't', CMD_GIVEN(test_opts, time_given) },
	{ CMD_FLAG(test_opts, flag, "flag", "a flag"), .short_name = 'f' },
	{ CMD_OPT_UNWIND(test_opts, fp) },
	{ CMD_CHOICE(test_opts, mode, "mode", "a|bb|ccc", "a choice", 1) },
	{ CMD_OPT_STACK_SIZE(test_opts, stack) },
	{ CMD_STRING(test_opts, name, "name", "X", "a name"), .required = true },
	{ 0 },
};

static const struct cmd_entry test_cmd = {
	.name = "test", .summary = "", .description = "", .options = test_options,
};

/* ARGV (NULL-terminated) parsed into *O; returns the positional count. */
static int test_parse(struct test_opts *o, char **argv, char ***rest, int *nrest)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(o, 0, sizeof(*o));
	cmd_parse(&test_cmd, &argc, argv, o, rest, nrest);
	return argc;
}

static void test_defaults(void)
{
	struct test_opts o;
	char *argv[] = { "--name", "x", NULL };

	CHECK(test_parse(&o, argv, NULL, NULL) == 0);
	CHECK(o.number == 7);
	CHECK(o.small == 0);
	CHECK(o.hz == 99);
	CHECK(o.ratio == 0.5);
	CHECK(o.time_ns == 1000000000);
	CHECK(o.time_given == NULL);
	CHECK(!o.flag && !o.fp);
	CHECK(o.mode == 1);
	CHECK(o.stack == 0);
	CHECK_STR(o.name, "x");
}

static void test_values(void)
{
	struct test_opts o;
	char *argv[] = { "--number", "-3", "-F", "997", "--small=300", "--ratio=2.5", "-t", "2ms",
			 "pos", "-f", "--unwind", "fp", "--mode", "ccc", "--stack-size", "1024",
			 "--name", "y", "-n1000000", NULL };

	CHECK(test_parse(&o, argv, NULL, NULL) == 1);
	CHECK_STR(argv[0], "pos");
	CHECK(o.number == 1000000);
	CHECK(o.small == 300);
	CHECK(o.hz == 997);
	CHECK(o.ratio == 2.5);
	CHECK(o.time_ns == 2000000);
	CHECK_STR(o.time_given, "2ms");
	CHECK(o.flag && o.fp);
	CHECK(o.mode == 2);
	CHECK(o.stack == 1024);
	CHECK_STR(o.name, "y");
}

static void test_rest(void)
{
	struct test_opts o;
	char **rest;
	int nrest;
	char *argv[] = { "--name", "z", "--", "cmd", "--number", "x", NULL };

	CHECK(test_parse(&o, argv, &rest, &nrest) == 0);
	CHECK(nrest == 3);
	CHECK(nrest == 3 && strcmp(rest[0], "cmd") == 0 && strcmp(rest[1], "--number") == 0);
	CHECK(o.number == 7);
}

static const char *test_help(const char *name)
{
	static char buf[512];

	for (const struct cmd_option *o = test_options; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return cmd_option_help(o, buf, sizeof(buf));
	return NULL;
}

static void test_help_defaults(void)
{
	CHECK_STR(test_help("number"), "a number (default 7)");
	CHECK_STR(test_help("small"), "a short");
	CHECK_STR(test_help("frequency"), "samples per second per thread on CPU (default 99)");
	CHECK_STR(test_help("ratio"), "a ratio (default 0.5)");
	CHECK_STR(test_help("time"), "a duration (default 1s)");
	CHECK_STR(test_help("flag"), "a flag");
	CHECK_STR(test_help("mode"), "a choice (default bb)");
	CHECK_STR(test_help("name"), "a name");
	CHECK(strstr(test_help("stack-size"), "(default: auto") != NULL);
}

/* ARGV parsed in a child: it must exit 2 with first stderr line WANT. */
static void test_refused(char **argv, const char *want)
{
	int fds[2], status = 0;
	char err[512] = "";
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		CHECK(!"pipe or fork");
		return;
	}
	if (pid == 0) {
		struct test_opts o;
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		test_parse(&o, argv, NULL, NULL);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], err + got, sizeof(err) - 1 - got)) > 0)
		got += n;
	close(fds[0]);
	waitpid(pid, &status, 0);
	*strchrnul(err, '\n') = '\0';
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_USAGE);
	CHECK_STR(err, want);
}

/* Each bad command line, after "--name x", and the message it gets. */
static const struct {
	const char *args[3], *want;
} test_bad[] = {
	{ { "--number", "1000001" },
	  "cprof: bad value '1000001' for --number (a whole number from -5 to 1000000)" },
	{ { "--small", "301" }, "cprof: bad value '301' for --small (a whole number from 0 to 300)" },
	{ { "--ratio", "1e3" }, "cprof: bad value '1e3' for --ratio (a number from 0 to 100)" },
	{ { "-t", "999ns" }, "cprof: --time 999ns is too short (at least 1us)" },
	{ { "--time", "soon" }, "cprof: --time: bad duration 'soon' (use e.g. 500ms, 30s, 5m, 1h)" },
	{ { "--mode", "b" }, "cprof: bad value 'b' for --mode (a, bb or ccc)" },
	{ { "--unwind", "lbr" }, "cprof: bad value 'lbr' for --unwind (dwarf or fp)" },
	{ { "--stack-size", "1028" }, "cprof: bad value '1028' for --stack-size (a multiple of 8)" },
	{ { "--flag=1" }, "cprof: option '--flag' takes no value" },
	{ { "--frequency" }, "cprof: option '--frequency' needs a value (HZ)" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(test_bad) / sizeof(*test_bad); i++) {
		char *argv[] = { "--name", "x", (char *)test_bad[i].args[0],
				 (char *)test_bad[i].args[1], NULL };
		test_refused(argv, test_bad[i].want);
	}
	test_refused((char *[]){ "--flag", NULL }, "cprof: --name is required");
}

int main(void)
{
	test_defaults();
	test_values();
	test_rest();
	test_help_defaults();
	test_errors();
	return test_done("test-options");
}
