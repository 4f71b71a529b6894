/* The command framework: every subcommand is one `struct cmd_entry`, and its
 * option table is the single source of its usage line, --help, the man page
 * synopsis check and the shell completions. */
#ifndef CPROF_CMD_H
#define CPROF_CMD_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_LEAK = 3 };

struct cmd_option {
	const char *name;   /* long name, without "--" */
	char short_name;    /* 0: none */
	const char *arg;    /* metavariable, or NULL for a flag */
	const char *help;
	int key;            /* passed to the command's setter */
	const char *complete; /* completion: "file", "pid", or words separated by '|' */
	bool required;      /* shown without brackets, and cmd_parse insists on it */
};

struct cmd_entry {
	const char *name;
	const char *summary;
	const char *args;     /* positional arguments, before the options in the synopsis */
	const char *trailing; /* after the options, e.g. "[-- CMD [ARG...]]" */
	const char *description;
	const struct cmd_option *options; /* ends with a zeroed entry */
	/* Complete positional arguments with: "file", "pid" or NULL. */
	const char *complete_args;
	int (*exec)(int argc, char **argv);
};

/* Option parsing: calls SET(ctx, key, value) for each option in order (value
 * NULL for flags) and collects positional arguments into ARGV[0..*ARGC). A
 * "--" ends the options; with STOP_AT_DASHDASH the rest, "--" excluded, goes to
 * *REST. --help prints help and exits 0; errors print usage and exit 2. */
typedef int (*cmd_set_fn)(void *ctx, int key, const char *value);
void cmd_parse(const struct cmd_entry *cmd, int *argc, char **argv, cmd_set_fn set, void *ctx,
	       char ***rest, int *nrest);

/* Report a usage error for CMD (one line, then its usage line) and exit 2. */
void cmd_usage_error(const struct cmd_entry *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Print the help of CMD to OUT; the first line is the usage line. */
void cmd_help(const struct cmd_entry *cmd, FILE *out);

/* Print the usage line "usage: cprof NAME ..." of CMD, made from its option table. */
void cmd_print_usage(const struct cmd_entry *cmd, FILE *out);

/* "cprof: MSG" on stderr; returns -1 (git's error()). */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "cprof: " and the library's last error (cp_errmsg) on stderr; returns -1. */
int cmd_lib_error(void);
/* "cprof: MSG" on stderr and exit with CODE. */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Finish with stdout: flush and check it, so a full disk is an error. Returns
 * CODE, or EXIT_ERROR if stdout failed. */
int cmd_finish_stdout(int code);

/* Option value parsers that exit 2 with a message naming OPT on bad input. */
long cmd_parse_long(const struct cmd_entry *cmd, const char *opt, const char *value, long min,
		    long max);
double cmd_parse_double(const struct cmd_entry *cmd, const char *opt, const char *value,
			double min, double max);
int64_t cmd_parse_duration(const struct cmd_entry *cmd, const char *opt, const char *value);

/* Set by SIGINT, SIGTERM and SIGHUP once cmd_catch_signals() has run: long
 * commands stop early and still finish their work. SIGPIPE is ignored. */
extern volatile sig_atomic_t cmd_stop;
void cmd_catch_signals(void);

/* Exit 1 at once, before any work, if PATH cannot become the output (see
 * file_check_output). With PATH "-" the output goes to standard output, so
 * from here on what the command prints, and what a command it starts prints,
 * goes to standard error. */
void cmd_check_writable(const char *path);

/* PATH as the "Wrote ..." line names it. */
const char *cmd_output_name(const char *path);

/* Allocation that never returns NULL (it dies). */
void *xmalloc(size_t n);
char *xstrdup(const char *s);

/* The command table, NULL-terminated. */
extern const struct cmd_entry *const cmd_table[];
extern const struct cmd_entry cmd_cpu;
extern const struct cmd_entry cmd_diff;
extern const struct cmd_entry cmd_report;
extern const struct cmd_entry cmd_threads;
extern const struct cmd_entry cmd_top;

#endif
