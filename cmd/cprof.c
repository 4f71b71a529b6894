/* cprof's entry point: dispatches to the command table, and answers help,
 * --version and the completion helper that the shell completions call. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "debuginfo_cache.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_cpu,
	&cmd_threads,
	&cmd_diff,
	&cmd_report,
	&cmd_top,
	&cmd_heap,
	&cmd_offcpu,
	&cmd_trace,
	&cmd_serve,
	&cmd_record,
	NULL,
};

static const struct cmd_entry *cprof_find_cmd(const char *name)
{
	for (size_t i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

static void cprof_overview(FILE *out)
{
	fprintf(out, "usage: cprof COMMAND [OPTIONS] [ARGS]\n\n"
		     "A profiler for native Linux processes that speaks pprof.\n\nCommands:\n");
	for (size_t i = 0; cmd_table[i]; i++)
		fprintf(out, "  %-10s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fprintf(out, "  %-10s %s\n", "help", "show help for cprof or one command");
	fprintf(out, "\nRun 'cprof help COMMAND' or 'cprof COMMAND --help' for a command's options.\n");
}

/* The completion helper: `cprof --complete` lists the commands; `cprof
 * --complete CMD` lists CMD's options as "--name<TAB>ARG<TAB>COMPLETE<TAB>HELP"
 * and its positional completion as ":args<TAB>KIND". */
static int cprof_complete(int argc, char **argv)
{
	const struct cmd_entry *cmd;
	char help[512];

	if (argc < 1) {
		for (size_t i = 0; cmd_table[i]; i++)
			printf("%s\t%s\n", cmd_table[i]->name, cmd_table[i]->summary);
		printf("help\tshow help for cprof or one command\n");
		return cmd_finish_stdout(EXIT_OK);
	}
	cmd = cprof_find_cmd(argv[0]);
	if (!cmd)
		return cmd_finish_stdout(EXIT_OK);
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		printf("--%s\t%s\t%s\t%s\n", o->name, o->arg ? o->arg : "",
		       o->complete ? o->complete : "", cmd_option_help(o, help, sizeof(help)));
	printf("--help\t\t\tshow this help and exit\n");
	printf(":args\t%s\n", cmd->complete_args ? cmd->complete_args : "");
	return cmd_finish_stdout(EXIT_OK);
}

/* Where inflated debug files are kept: $CPROF_CACHE_DIR (empty: nowhere),
 * else $XDG_CACHE_HOME/cprof, else $HOME/.cache/cprof. */
static void cprof_set_cache_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("CPROF_CACHE_DIR"), *base = getenv("XDG_CACHE_HOME");
	int n = -1;

	if (env) {
		debuginfo_cache_set_dir(env);
		return;
	}
	if (base && base[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/cprof", base);
	else if ((base = getenv("HOME")) && base[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/.cache/cprof", base);
	if (n > 0 && (size_t)n < sizeof(dir))
		debuginfo_cache_set_dir(dir);
}

int main(int argc, char **argv)
{
	const struct cmd_entry *cmd;

	if (argc < 2) {
		cprof_overview(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("cprof %s\n", PACKAGE_VERSION);
		return cmd_finish_stdout(EXIT_OK);
	}
	if (strcmp(argv[1], "--complete") == 0)
		return cprof_complete(argc - 2, argv + 2);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0 && strcmp(argv[2], "help")) {
			cmd = cprof_find_cmd(argv[2]);
			if (!cmd)
				die(EXIT_USAGE, "no command '%s' (see 'cprof help')", argv[2]);
			cmd_help(cmd, stdout);
		} else {
			cprof_overview(stdout);
		}
		return cmd_finish_stdout(EXIT_OK);
	}
	cmd = cprof_find_cmd(argv[1]);
	if (!cmd) {
		cmd_error("no command '%s'", argv[1]);
		cprof_overview(stderr);
		return EXIT_USAGE;
	}
	cprof_set_cache_dir();
	return cmd->exec(argc - 2, argv + 2);
}
