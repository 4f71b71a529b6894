/* The command framework: every subcommand is one `struct cmd_entry`, and its
 * option table is the single source of its usage line, --help, the man page
 * synopsis check and the shell completions. */
#ifndef CPROF_CMD_H
#define CPROF_CMD_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_LEAK = 3 };

/* What an option stores in the field it is bound to. */
enum cmd_opt_type {
	CMD_OPT_FLAG = 1, /* true, into a bool */
	CMD_OPT_INT,      /* a whole number from min to max, into an integer of any size */
	CMD_OPT_DOUBLE,   /* a number from dmin to dmax, into a double */
	CMD_OPT_DURATION, /* "500ms", "5m", "30" (seconds), of at least min ns, into an int64_t */
	CMD_OPT_STRING,   /* the argument itself, into a const char * */
	CMD_OPT_CHOICE,   /* the index of the argument among the words of arg, into an integer */
	CMD_OPT_CALLBACK, /* whatever set does with the argument */
};

struct cmd_entry;

struct cmd_option {
	const char *name;   /* long name, without "--" */
	char short_name;    /* 0: none */
	const char *arg;    /* metavariable (CMD_OPT_CHOICE: the words, '|' between), NULL for a flag */
	const char *help;   /* without the default: --help adds it from def, ddef or def_text */
	enum cmd_opt_type type;
	size_t off, size;   /* the field set, in the command's options struct */
	size_t given;       /* 0, or 1 + the offset of a const char * set to the argument as
			     * typed (a flag: its name), so a command knows what was given */
	int64_t min, max;   /* CMD_OPT_INT bounds; CMD_OPT_DURATION: min */
	double dmin, dmax;  /* CMD_OPT_DOUBLE bounds */
	int64_t def;        /* the default stored before parsing (CMD_OPT_CHOICE: the word's index) */
	double ddef;
	const char *def_text; /* the default as --help says it where def cannot: "auto, ..." */
	/* CMD_OPT_CALLBACK: parse VALUE into FIELD; exit 2 through cmd_usage_error if bad. */
	void (*set)(const struct cmd_entry *cmd, const struct cmd_option *o, const char *value,
		    void *field);
	const char *complete; /* completion: "file", "pid", or words separated by '|' */
	bool required;      /* shown without brackets, and cmd_parse insists on it */
	bool repeats;       /* may be given more than once, each time adding (a CMD_OPT_CALLBACK) */
};

/* The designators of a row bound to field F of struct T. Rows are written
 * { CMD_INT(...), .short_name = 'x' } with more designators after the macro. */
#define CMD_FIELD(T, f) .off = offsetof(struct T, f), .size = sizeof(((struct T *)0)->f)
#define CMD_OPT_ROW(T, f, name_, arg_, type_, help_) \
	.name = (name_), .arg = (arg_), .type = (type_), .help = (help_), CMD_FIELD(T, f)
#define CMD_FLAG(T, f, name_, help_) CMD_OPT_ROW(T, f, name_, NULL, CMD_OPT_FLAG, help_)
#define CMD_INT(T, f, name_, arg_, help_, min_, max_, def_) \
	CMD_OPT_ROW(T, f, name_, arg_, CMD_OPT_INT, help_), .min = (min_), .max = (max_), .def = (def_)
#define CMD_DOUBLE(T, f, name_, arg_, help_, min_, max_, def_) \
	CMD_OPT_ROW(T, f, name_, arg_, CMD_OPT_DOUBLE, help_), .dmin = (min_), .dmax = (max_), \
		.ddef = (def_)
#define CMD_DURATION(T, f, name_, arg_, help_, min_, def_) \
	CMD_OPT_ROW(T, f, name_, arg_, CMD_OPT_DURATION, help_), .min = (min_), .def = (def_)
#define CMD_STRING(T, f, name_, arg_, help_) CMD_OPT_ROW(T, f, name_, arg_, CMD_OPT_STRING, help_)
#define CMD_CHOICE(T, f, name_, words_, help_, def_) \
	CMD_OPT_ROW(T, f, name_, words_, CMD_OPT_CHOICE, help_), .def = (def_), .complete = (words_)
#define CMD_CALLBACK(T, f, name_, arg_, help_, set_) \
	CMD_OPT_ROW(T, f, name_, arg_, CMD_OPT_CALLBACK, help_), .set = (set_)
/* Also keep the argument as typed in const char *F of struct T (NULL when the
 * option is not given). */
#define CMD_GIVEN(T, f) \
	.given = offsetof(struct T, f) + 1 + 0 * sizeof(((struct T *)0)->f = (const char *)0)

/* The options every command that samples or writes spells the same way. */
#define CMD_OPT_PID(T, f) \
	CMD_INT(T, f, "pid", "PID", "the running process PID (all its threads)", 1, 0x7fffffff, 0), \
		.short_name = 'p', .complete = "pid"
#define CMD_OPT_SECONDS(T, f) \
	CMD_DURATION(T, f, "seconds", "N", "stop after N seconds or a duration like 500ms, 5m; " \
		     "without it, a command runs until it exits", 1, 30 * 1000000000LL)
#define CMD_OPT_FREQUENCY(T, f) \
	CMD_INT(T, f, "frequency", "HZ", "samples per second per thread on CPU", 1, 10000, 99), \
		.short_name = 'F'
#define CMD_OPT_UNWIND(T, f) \
	CMD_CHOICE(T, f, "unwind", "dwarf|fp", "dwarf: unwind copied stacks with DWARF CFI; fp: " \
		   "follow frame pointers", 0)
#define CMD_OPT_STACK_SIZE(T, f) \
	CMD_CALLBACK(T, f, "stack-size", "BYTES", "bytes of user stack copied per sample for " \
		     "dwarf unwinding, a multiple of 8", cmd_set_stack_size), \
		.min = 8, .max = 65528, .def_text = "auto, the most at a low --frequency, less at higher"
#define CMD_OPT_USER_ONLY(T, f) \
	CMD_FLAG(T, f, "user-only", "sample user space only, also where the kernel could be sampled")
#define CMD_OPT_OUTPUT(T, f, help_) \
	CMD_STRING(T, f, "output", "FILE", help_), .short_name = 'o', .complete = "file"

/* The profile a command writes, named for its KIND by default (cmd_output_path). */
#define CMD_OPT_PROFILE_OUTPUT(T, f, kind_) \
	CMD_OPT_OUTPUT(T, f, "where to write the profile"), \
		.def_text = "cprof-" kind_ "-PID-YYYYmmdd-HHMMSS.pb.gz"
/* How many functions the summary a command prints lists. */
#define CMD_OPT_TOP(T, f, help_) CMD_INT(T, f, "top", "N", help_ ", 0 for none", 0, 1000000, 10)

#define CMD_OPT_SAMPLE_INDEX(T, f, help_) \
	CMD_STRING(T, f, "sample-index", "NAME|N", help_), \
		.def_text = "the profile's default, else the last"
#define CMD_OPT_ADDRESSES(T, f) \
	CMD_FLAG(T, f, "addresses", "frames without symbols one per address (module+offset), not " \
		 "one per module ([module])")

/* The values of an option given more than once (.repeats), in order. */
struct cmd_list {
	void *v;
	size_t n;
};
/* Append ITEM (SIZE bytes) to L; dies when out of memory. */
void cmd_list_append(struct cmd_list *l, const void *item, size_t size);
/* Free the strings (char *) L holds, and its array; L is left empty. */
void cmd_list_free_strings(struct cmd_list *l);
/* A setter appending a process id (1 to INT_MAX) as a pid_t to the struct
 * cmd_list FIELD, once however often it is given. */
void cmd_add_pid(const struct cmd_entry *cmd, const struct cmd_option *o, const char *value,
		 void *field);
/* A setter appending a "K=V" argument (checked: a key, '=', no newline) to
 * the struct cmd_list FIELD as a char *. */
void cmd_add_tag(const struct cmd_entry *cmd, const struct cmd_option *o, const char *value,
		 void *field);

/* A selection of windows of cprof record's store, where report and diff
 * take a profile. */
struct cmd_store_sel {
	const char *store, *name, *from, *to, *kind;
	struct cmd_list tags;
};
#define CMD_OPT_STORE_ROWS(T, f) \
	{ CMD_STRING(T, f.store, "store", "DIR", "read windows of cprof record's store DIR, " \
		     "merged, instead of a file"), .complete = "file" }, \
	{ CMD_STRING(T, f.name, "name", "REGEX", "with --store, windows of processes whose " \
		     "name matches REGEX") }, \
	{ CMD_STRING(T, f.from, "from", "TIME", "with --store, windows from TIME: 10:00, " \
		     "2026-12-06T10:00[:SS][Z], now or -1h") }, \
	{ CMD_STRING(T, f.to, "to", "TIME", "with --store, windows up to TIME") }, \
	{ CMD_CALLBACK(T, f.tags, "tag", "K=V", "with --store, windows tagged K=V (repeat " \
		       "for more)", cmd_add_tag), .repeats = true }, \
	{ CMD_STRING(T, f.kind, "kind", "cpu|wall|offcpu|heap", "with --store, windows of this " \
		     "kind: as record --mode wrote them, or heap (from record --heap), which " \
		     "reads the newest heap window of each process in range"), .def_text = "cpu" }
/* The windows SEL selects, merged, and what they are into DESC (N bytes):
 * "DIR: 6 windows, 2026-12-06 10:00:00 to 10:01:00" (local time). NULL
 * after reporting the error, after SIDE (e.g. "BASE"; NULL: none). A range
 * that ends before it begins exits 2. */
struct profile *cmd_read_store(const struct cmd_store_sel *sel, const char *side, char *desc,
			       size_t n);
/* SEL as the store reads it into *SS (its times parsed; exits 2 on a bad one). */
struct store_select;
void cmd_store_select(const struct cmd_store_sel *sel, struct store_select *ss);
/* "6 windows, 2026-12-06 10:00:00 to 10:01:00" (local time), of N windows merged into P. */
void cmd_store_desc(const struct profile *p, size_t n, char *desc, size_t dn);
/* Free the tags SEL holds. */
void cmd_store_sel_release(struct cmd_store_sel *sel);
/* Refuse the selection options without --store, naming COMMAND's way. */
void cmd_check_store_sel(const struct cmd_entry *cmd, const struct cmd_store_sel *sel);

/* CMD_OPT_STACK_SIZE's setter: a whole number from o->min to o->max, a
 * multiple of 8, into a uint32_t. */
void cmd_set_stack_size(const struct cmd_entry *cmd, const struct cmd_option *o,
			const char *value, void *field);

/* The options of `cpu` and `offcpu`, which run the same way (cmd_cpu_run). */
struct cpu_cmd_opts {
	pid_t pid;
	int format;          /* trace --format: the index of json|pprof */
	long max_events;     /* trace --max-events */
	int64_t duration_ns;
	const char *duration_given;
	unsigned frequency;
	int mode;            /* cpu --mode: the index of cpu|wall */
	unsigned max_rate;
	bool fp;
	uint32_t stack_size;
	bool user_only;
	bool no_stacks;       /* trace --no-stacks */
	const char *output;
	long top;
};
#define CMD_OPT_MAX_RATE(T, f) \
	CMD_INT(T, f, "max-rate", "N", "switch-outs sampled per second at most: beyond it, one " \
		"in about rate / N, each weighted by that; 0 for all", 0, 10000000, 10000)
enum cmd_cpu_kind { CMD_CPU_CPU, CMD_CPU_OFFCPU, CMD_CPU_TRACE };
/* What a command run as cprof cpu runs adds to it (cprof trace's timeline),
 * each with CTX: SETUP before the target runs (-1 after an error), WATCH
 * the sampling's options, BEGIN as sampling starts, FINISH with the
 * profile instead of writing it and the summary (PROCESS names the target;
 * -1 after an error, reported), RELEASE at the end. */
struct cpu_opts;
struct cpu_stats;
struct cmd_cpu_hooks {
	void *ctx;
	int (*setup)(void *ctx, const struct cpu_cmd_opts *o);
	void (*watch)(void *ctx, struct cpu_opts *co);
	void (*begin)(void *ctx);
	int (*finish)(void *ctx, const struct cpu_cmd_opts *o, const struct cpu_stats *st,
		      const struct profile *p, const char *output, const char *process);
	void (*release)(void *ctx);
};
/* Run CMD (cpu, offcpu or trace, with its HOOKS, or NULL) with its
 * arguments; its exit code. */
int cmd_cpu_run(const struct cmd_entry *cmd, enum cmd_cpu_kind kind,
		const struct cmd_cpu_hooks *hooks, int argc, char **argv);

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

/* Option parsing: stores each option's default, then each option given, in
 * order, into its field of OPTS (the command's options struct, zeroed by the
 * caller), and collects positional arguments into ARGV[0..*ARGC). A "--" ends
 * the options; with REST non-NULL the rest, "--" excluded, goes to *REST.
 * --help prints help and exits 0; errors print usage and exit 2. */
void cmd_parse(const struct cmd_entry *cmd, int *argc, char **argv, void *opts, char ***rest,
	       int *nrest);

/* The help of option O with its default, "HELP (default X)", into BUF of N
 * bytes, for --help and the completions. */
const char *cmd_option_help(const struct cmd_option *o, char *buf, size_t n);

/* --watch WATCH --interval INTERVAL (each as given, NULL if not) as threads
 * and heap take them: --interval only with --watch (else exit 2 saying
 * "give --watch too, or no --interval" and WITHOUT), and not longer than it. */
void cmd_check_watch(const struct cmd_entry *cmd, int64_t watch_ns, int64_t interval_ns,
		     const char *watch, const char *interval, const char *without);

/* Report a usage error for CMD (one line, then its usage line) and exit 2. */
void cmd_usage_error(const struct cmd_entry *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Print the help of CMD to OUT; the first line is the usage line. */
void cmd_help(const struct cmd_entry *cmd, FILE *out);

/* Print the usage line "usage: cprof NAME ..." of CMD, made from its option table. */
void cmd_print_usage(const struct cmd_entry *cmd, FILE *out);

/* "cprof: MSG" on stderr; returns -1, as git's error() does (named so as
 * not to shadow glibc's error(3)). */
int cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "cprof: " and the library's last error (cp_errmsg) on stderr; returns -1. */
int cmd_lib_error(void);
/* "cprof: " and the library's last error on stderr, and exit 1. */
void cmd_lib_die(void) __attribute__((noreturn));
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
/* Refuse (exit 2) OUTPUT, the file of --OPTION, when it is one of the N
 * profiles INPUTS (NULL ones passed over) that the command reads. */
void cmd_check_not_input(const struct cmd_entry *cmd, const char *option, const char *output,
			 char *const *inputs, size_t n);

/* The output of a profile of target T: PATH, or the default name for KIND
 * and the extension EXT (cprof-KIND-PID-YYYYmmdd-HHMMSS.pb.gz), checked here
 * since it needs the pid. NULL after an error (reported), with the target stopped if launched. */
struct target;
char *cmd_output_path(const char *kind, const char *ext, const char *path, struct target *t);

/* Write profile P (NULL: the library failed to make it) to PATH; 0, or -1
 * with the library's error reported. */
struct profile;
int cmd_write_profile(const struct profile *p, const char *path);

/* The profile at PATH, a file or an http(s) URL (fetching one says so on
 * stderr, as go tool pprof does); NULL with the library's error. */
struct profile *cmd_read_profile(const char *path);

/* "Command exited with status N" or "Command killed by signal N (NAME)" on
 * stdout, for a launched command's wait STATUS. */
void cmd_print_exit_status(int status);

/* PATH as the "Wrote ..." line names it. */
const char *cmd_output_name(const char *path);

/* What a command that samples a process checks after cmd_parse: no
 * argument left but the command after "--", and one target, --pid or that
 * command. Exits 2 with the usage otherwise. */
void cmd_check_target(const struct cmd_entry *cmd, int argc, char **argv, pid_t pid, int ncmd);

/* The path of cprof's heap library, a new string: $CPROF_HEAP_LIB (made
 * absolute), else the one next to this binary (a build tree), else the
 * installed one. */
char *cmd_heap_library(void);

/* Allocation that never returns NULL (it dies). */
void *xmalloc(size_t n);
char *xstrdup(const char *s);

/* The command table, NULL-terminated. */
extern const struct cmd_entry *const cmd_table[];
extern const struct cmd_entry cmd_cpu;
extern const struct cmd_entry cmd_diff;
extern const struct cmd_entry cmd_heap;
extern const struct cmd_entry cmd_offcpu;
extern const struct cmd_entry cmd_record;
extern const struct cmd_entry cmd_report;
extern const struct cmd_entry cmd_serve;
extern const struct cmd_entry cmd_threads;
extern const struct cmd_entry cmd_top;
extern const struct cmd_entry cmd_trace;

#endif
