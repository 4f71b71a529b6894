/* Option parsing, help, errors and stdout checks shared by every command. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cmd.h"
#include "duration.h"
#include "errmsg.h"
#include "fetch.h"
#include "fileio.h"
#include "pprof.h"
#include "store.h"
#include "units.h"

static const struct cmd_option cmd_help_option = {
	.name = "help", .short_name = 'h', .help = "show this help and exit", .type = CMD_OPT_FLAG,
};

/* "cprof: MSG" on stderr, after whatever stdout holds. */
static void cmd_verror(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("cprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cmd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_verror(fmt, ap);
	va_end(ap);
	return -1;
}

int cmd_lib_error(void)
{
	return cmd_error("%s", cp_errmsg());
}

void cmd_lib_die(void)
{
	die(EXIT_ERROR, "%s", cp_errmsg());
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_verror(fmt, ap);
	va_end(ap);
	exit(code);
}

volatile sig_atomic_t cmd_stop;

static void cmd_on_stop_signal(int sig)
{
	cmd_stop = sig;
}

void cmd_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmd_on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void cmd_check_writable(const char *path)
{
	int fd;

	if (file_check_output(path) < 0)
		cmd_lib_die();
	if (strcmp(path, "-"))
		return;
	fflush(stdout);
	fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		die(EXIT_ERROR, "cannot write standard output: %s", strerror(errno));
	file_set_stdout(fd);
}

void cmd_check_not_input(const struct cmd_entry *cmd, const char *option, const char *output,
			 char *const *inputs, size_t n)
{
	struct stat out, in;

	if (strcmp(output, "-") == 0 || stat(output, &out) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (inputs[i] && strcmp(inputs[i], "-") != 0 && stat(inputs[i], &in) == 0 &&
		    in.st_dev == out.st_dev && in.st_ino == out.st_ino)
			cmd_usage_error(cmd, "--%s '%s' is the profile '%s' read: writing it would "
					"destroy it; name another file", option, output, inputs[i]);
}

static char *cmd_default_output(const char *kind, const char *ext, pid_t pid)
{
	char *path = xmalloc(96);
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	snprintf(path, 96, "cprof-%s-%d-%04d%02d%02d-%02d%02d%02d%s", kind, pid,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ext);
	return path;
}

char *cmd_output_path(const char *kind, const char *ext, const char *path, struct target *t)
{
	char *out = path ? xstrdup(path) : cmd_default_output(kind, ext, t->pid);

	/* The default name needs the PID: a launched command is held before its
	 * exec until sampling starts, so it is checked here and never runs. */
	if (!path && file_check_output(out) < 0) {
		cmd_error("%s; pass -o FILE to write the profile elsewhere", cp_errmsg());
		target_stop(t, 1000);
		free(out);
		return NULL;
	}
	return out;
}

int cmd_write_profile(const struct profile *p, const char *path)
{
	return !p || pprof_write(p, path) < 0 ? cmd_lib_error() : 0;
}

void cmd_print_exit_status(int status)
{
	if (WIFEXITED(status))
		printf("Command exited with status %d\n", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("Command killed by signal %d (%s)\n", WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
}

const char *cmd_output_name(const char *path)
{
	return strcmp(path, "-") ? path : "standard output";
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die(EXIT_ERROR, "out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

void cmd_print_usage(const struct cmd_entry *cmd, FILE *out)
{
	fprintf(out, "usage: cprof %s", cmd->name);
	if (cmd->args)
		fprintf(out, " %s", cmd->args);
	for (const struct cmd_option *o = cmd->options; o->name; o++) {
		const char *open = o->required ? "" : "[", *close = o->required ? "" : "]";
		if (o->arg)
			fprintf(out, " %s--%s %s%s%s", open, o->name, o->arg, close,
				o->repeats ? "..." : "");
		else
			fprintf(out, " %s--%s%s", open, o->name, close);
	}
	if (cmd->trailing)
		fprintf(out, " %s", cmd->trailing);
	fputc('\n', out);
}

/* Word I of a choice's words "a|b|c" into BUF; "" past the last. */
static const char *cmd_choice_word(const struct cmd_option *o, int64_t i, char *buf, size_t n)
{
	const char *w = o->arg;

	for (; i > 0 && w; i--)
		w = strchr(w, '|') ? strchr(w, '|') + 1 : NULL;
	snprintf(buf, n, "%.*s", w ? (int)strcspn(w, "|") : 0, w ? w : "");
	return buf;
}

const char *cmd_option_help(const struct cmd_option *o, char *buf, size_t n)
{
	char def[64] = "";

	if (o->def_text)
		return snprintf(buf, n, "%s (default: %s)", o->help, o->def_text), buf;
	if (o->type == CMD_OPT_INT && o->def)
		snprintf(def, sizeof(def), "%lld", (long long)o->def);
	else if (o->type == CMD_OPT_DOUBLE && o->ddef)
		snprintf(def, sizeof(def), "%g", o->ddef);
	else if (o->type == CMD_OPT_DURATION && o->def)
		units_format(def, sizeof(def), o->def, "nanoseconds");
	else if (o->type == CMD_OPT_CHOICE)
		cmd_choice_word(o, o->def, def, sizeof(def));
	snprintf(buf, n, *def ? "%s (default %s)" : "%s", o->help, def);
	return buf;
}

static void cmd_option_line(const struct cmd_option *o, FILE *out)
{
	char left[64], help[512];

	if (o->short_name)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	fprintf(out, "  %-26s %s\n", left, cmd_option_help(o, help, sizeof(help)));
}

void cmd_help(const struct cmd_entry *cmd, FILE *out)
{
	cmd_print_usage(cmd, out);
	fprintf(out, "\n%s\n\n%s\n\nOptions:\n", cmd->summary, cmd->description);
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		cmd_option_line(o, out);
	cmd_option_line(&cmd_help_option, out);
	fprintf(out, "\nSee cprof-%s(1) for details.\n", cmd->name);
}

void cmd_usage_error(const struct cmd_entry *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_verror(fmt, ap);
	va_end(ap);
	cmd_print_usage(cmd, stderr);
	exit(EXIT_USAGE);
}

static const struct cmd_option *cmd_find_long(const struct cmd_entry *cmd, const char *name,
					      size_t len)
{
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const struct cmd_option *cmd_find_short(const struct cmd_entry *cmd, char c)
{
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

/* V into the integer FIELD of SIZE bytes (a bool where it is one byte). */
static void cmd_store_int(void *field, size_t size, int64_t v)
{
	bool b = v != 0;
	int16_t i16 = v;
	int32_t i32 = v;

	if (size == sizeof(b))
		memcpy(field, &b, size);
	else if (size == sizeof(i16))
		memcpy(field, &i16, size);
	else if (size == sizeof(i32))
		memcpy(field, &i32, size);
	else
		memcpy(field, &v, sizeof(v));
}

/* The index of VALUE among the words of choice O, or exit 2 naming them. */
static int64_t cmd_parse_choice(const struct cmd_entry *cmd, const struct cmd_option *o,
				const char *value)
{
	char words[256] = "", w[64];
	size_t used = 0;
	int64_t n = 0;

	for (; *cmd_choice_word(o, n, w, sizeof(w)); n++)
		if (strcmp(w, value) == 0)
			return n;
	for (int64_t i = 0; i < n && used < sizeof(words); i++)
		used += snprintf(words + used, sizeof(words) - used, "%s%s",
				 !i ? "" : i == n - 1 ? " or " : ", ", cmd_choice_word(o, i, w, sizeof(w)));
	cmd_usage_error(cmd, "bad value '%s' for --%s (%s)", value, o->name, words);
}

/* Each option's default into its field of OPTS. */
static void cmd_store_defaults(const struct cmd_entry *cmd, void *opts)
{
	for (const struct cmd_option *o = cmd->options; o->name; o++) {
		void *field = (char *)opts + o->off;
		if (o->type == CMD_OPT_INT || o->type == CMD_OPT_CHOICE ||
		    o->type == CMD_OPT_DURATION)
			cmd_store_int(field, o->size, o->def);
		else if (o->type == CMD_OPT_DOUBLE)
			memcpy(field, &o->ddef, sizeof(o->ddef));
	}
}

/* Option O given with VALUE (NULL for a flag) into its field of OPTS. */
static void cmd_store(const struct cmd_entry *cmd, const struct cmd_option *o, const char *value,
		      void *opts)
{
	void *field = (char *)opts + o->off;
	const char *given = value ? value : o->name;
	double d;
	int64_t ns;
	char min[32];

	switch (o->type) {
	case CMD_OPT_FLAG:
		cmd_store_int(field, o->size, 1);
		break;
	case CMD_OPT_INT:
		cmd_store_int(field, o->size, cmd_parse_long(cmd, o->name, value, o->min, o->max));
		break;
	case CMD_OPT_DOUBLE:
		d = cmd_parse_double(cmd, o->name, value, o->dmin, o->dmax);
		memcpy(field, &d, sizeof(d));
		break;
	case CMD_OPT_DURATION:
		ns = cmd_parse_duration(cmd, o->name, value);
		if (ns < o->min)
			cmd_usage_error(cmd, "--%s %s is too short (at least %s)", o->name, value,
					units_format(min, sizeof(min), o->min, "nanoseconds"));
		memcpy(field, &ns, sizeof(ns));
		break;
	case CMD_OPT_STRING:
		memcpy(field, &value, sizeof(value));
		break;
	case CMD_OPT_CHOICE:
		cmd_store_int(field, o->size, cmd_parse_choice(cmd, o, value));
		break;
	case CMD_OPT_CALLBACK:
		o->set(cmd, o, value, field);
		break;
	}
	if (o->given)
		memcpy((char *)opts + o->given - 1, &given, sizeof(given));
}

void cmd_set_stack_size(const struct cmd_entry *cmd, const struct cmd_option *o,
			const char *value, void *field)
{
	uint32_t v = cmd_parse_long(cmd, o->name, value, o->min, o->max);

	if (v % 8)
		cmd_usage_error(cmd, "bad value '%s' for --%s (a multiple of 8)", value, o->name);
	memcpy(field, &v, sizeof(v));
}

void cmd_parse(const struct cmd_entry *cmd, int *argc, char **argv, void *opts, char ***rest,
	       int *nrest)
{
	int n = *argc, npos = 0;
	unsigned long seen = 0;

	cmd_store_defaults(cmd, opts);
	if (rest) {
		*rest = NULL;
		*nrest = 0;
	}
	for (int i = 0; i < n; i++) {
		char *a = argv[i];
		const struct cmd_option *o;
		const char *value = NULL;

		if (strcmp(a, "--") == 0) {
			if (rest) {
				*rest = argv + i + 1;
				*nrest = n - i - 1;
				break;
			}
			while (++i < n)
				argv[npos++] = argv[i];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			argv[npos++] = a;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cmd_help(cmd, stdout);
			exit(cmd_finish_stdout(EXIT_OK));
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = cmd_find_long(cmd, a + 2, len);
			if (!o)
				cmd_usage_error(cmd, "unknown option '--%.*s'", (int)len, a + 2);
			if (eq) {
				if (!o->arg)
					cmd_usage_error(cmd, "option '--%s' takes no value", o->name);
				value = eq + 1;
			}
		} else {
			o = cmd_find_short(cmd, a[1]);
			if (!o)
				cmd_usage_error(cmd, "unknown option '-%c'", a[1]);
			if (a[2]) {
				if (!o->arg)
					cmd_usage_error(cmd, "option '-%c' takes no value", a[1]);
				value = a + 2;
			}
		}
		if (o->arg && !value) {
			if (i + 1 >= n)
				cmd_usage_error(cmd, "option '--%s' needs a value (%s)", o->name, o->arg);
			value = argv[++i];
		}
		cmd_store(cmd, o, value, opts);
		seen |= 1UL << (o - cmd->options);
	}
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		if (o->required && !(seen & (1UL << (o - cmd->options))))
			cmd_usage_error(cmd, "--%s is required", o->name);
	*argc = npos;
}

int cmd_finish_stdout(int code)
{
	int err = 0;

	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		err = errno ? errno : EIO;
	if (fclose(stdout) != 0 && !err)
		err = errno ? errno : EIO;
	if (err) {
		fprintf(stderr, "cprof: cannot write standard output: %s\n", strerror(err));
		return EXIT_ERROR;
	}
	return code;
}

long cmd_parse_long(const struct cmd_entry *cmd, const char *opt, const char *value, long min,
		    long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (!*value || *end || errno || v < min || v > max)
		cmd_usage_error(cmd, "bad value '%s' for --%s (a whole number from %ld to %ld)",
				value, opt, min, max);
	return v;
}

double cmd_parse_double(const struct cmd_entry *cmd, const char *opt, const char *value,
			double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (!*value || *end || errno || !(v >= min && v <= max))
		cmd_usage_error(cmd, "bad value '%s' for --%s (a number from %g to %g)", value, opt,
				min, max);
	return v;
}

int64_t cmd_parse_duration(const struct cmd_entry *cmd, const char *opt, const char *value)
{
	int64_t ns;

	if (duration_parse(value, &ns) < 0)
		cmd_usage_error(cmd, "--%s: %s", opt, cp_errmsg());
	return ns;
}

void cmd_check_watch(const struct cmd_entry *cmd, int64_t watch_ns, int64_t interval_ns,
		     const char *watch, const char *interval, const char *without)
{
	char d[32];

	if (interval && !watch_ns)
		cmd_usage_error(cmd, "--interval is the time between polls of --watch: "
				"give --watch too, or no --interval%s", without);
	if (watch_ns && interval_ns > watch_ns) {
		if (interval)
			cmd_usage_error(cmd, "--interval %s is longer than --watch %s", interval, watch);
		cmd_usage_error(cmd, "--watch %s is shorter than the default --interval "
				"of %s: pass a shorter --interval", watch,
				units_format(d, sizeof(d), interval_ns, "nanoseconds"));
	}
}

void cmd_check_target(const struct cmd_entry *cmd, int argc, char **argv, pid_t pid, int ncmd)
{
	if (argc > 0)
		cmd_usage_error(cmd, "unexpected argument '%s' (a command goes after --)", argv[0]);
	if (!pid && !ncmd)
		cmd_usage_error(cmd, "nothing to profile: give --pid PID or -- CMD");
	if (pid && ncmd)
		cmd_usage_error(cmd, "give --pid or a command, not both");
}

/* Set by Makefile.am; a build that installs nothing (scripts/fuzz) has none. */
#ifndef CPROF_PKGLIBDIR
#define CPROF_PKGLIBDIR "/usr/local/lib/cprof"
#endif

char *cmd_heap_library(void)
{
	const char *env = getenv("CPROF_HEAP_LIB");
	char self[PATH_MAX], *path, *slash;
	ssize_t n;

	if (env && *env)
		return realpath(env, NULL) ?: xstrdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			path = xmalloc(PATH_MAX);
			snprintf(path, PATH_MAX, "%.*s/libcprof-heap.so", (int)(slash - self), self);
			if (access(path, R_OK) == 0)
				return path;
			free(path);
		}
	}
	return xstrdup(CPROF_PKGLIBDIR "/libcprof-heap.so");
}

struct profile *cmd_read_profile(const char *path)
{
	if (fetch_is_url(path)) {
		fprintf(stderr, "Fetching profile over HTTP from %s\n", path);
		fflush(stderr);
	}
	return pprof_read(path);
}

void cmd_list_append(struct cmd_list *l, const void *item, size_t size)
{
	char *v = realloc(l->v, (l->n + 1) * size);

	if (!v)
		die(EXIT_ERROR, "out of memory");
	memcpy(v + l->n * size, item, size);
	l->v = v;
	l->n++;
}

void cmd_list_free_strings(struct cmd_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(((char **)l->v)[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void cmd_add_pid(const struct cmd_entry *cmd, const struct cmd_option *o, const char *value,
		 void *field)
{
	pid_t pid = (pid_t)cmd_parse_long(cmd, o->name, value, 1, 0x7fffffff);
	struct cmd_list *l = field;

	for (size_t i = 0; i < l->n; i++)
		if (((pid_t *)l->v)[i] == pid)
			return;
	cmd_list_append(field, &pid, sizeof(pid));
}

void cmd_add_tag(const struct cmd_entry *cmd, const struct cmd_option *o, const char *value,
		 void *field)
{
	const char *eq = strchr(value, '=');
	size_t klen = eq ? (size_t)(eq - value) : 0;
	char *tag;

	/* Keys and values that survive as Pyroscope's and Prometheus' labels. */
	if (!eq || klen == 0 || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_.") != klen || (value[0] >= '0' && value[0] <= '9') ||
	    !eq[1] || strpbrk(eq + 1, ",{}=\"\\ \t\r\n"))
		cmd_usage_error(cmd, "bad --%s '%s': give KEY=VALUE, the key letters, digits, '_' "
				"and '.', the value without spaces or any of ,{}=\"\\", o->name, value);
	tag = xstrdup(value);
	cmd_list_append(field, &tag, sizeof(tag));
}

void cmd_store_sel_release(struct cmd_store_sel *sel)
{
	cmd_list_free_strings(&sel->tags);
}

void cmd_check_store_sel(const struct cmd_entry *cmd, const struct cmd_store_sel *sel)
{
	if (!sel->store && (sel->name || sel->from || sel->to || sel->tags.n || sel->kind))
		cmd_usage_error(cmd, "--name, --from, --to, --tag and --kind select windows of a "
				"store: give --store DIR too");
	if (sel->kind && strcmp(sel->kind, "cpu") != 0 && strcmp(sel->kind, "wall") != 0 &&
	    strcmp(sel->kind, "offcpu") != 0 && strcmp(sel->kind, "heap") != 0)
		cmd_usage_error(cmd, "bad --kind '%s': cpu, wall, offcpu or heap", sel->kind);
}

void cmd_store_select(const struct cmd_store_sel *sel, struct store_select *ss)
{
	int64_t now = clock_ns(CLOCK_REALTIME);

	*ss = (struct store_select){ .name = sel->name, .tags = sel->tags.v,
				     .ntags = sel->tags.n, .kind = sel->kind };
	if ((sel->from && store_parse_time(sel->from, now, &ss->from_ns) < 0) ||
	    (sel->to && store_parse_time(sel->to, now, &ss->to_ns) < 0)) {
		cmd_lib_error();
		exit(EXIT_USAGE);
	}
	if (ss->from_ns && ss->to_ns && ss->from_ns >= ss->to_ns) {
		cmd_error("the time range from %s to %s is empty: its start is not before its end",
			  sel->from, sel->to);
		exit(EXIT_USAGE);
	}
}

void cmd_store_desc(const struct profile *p, size_t n, char *desc, size_t dn)
{
	char from[32], to[32];
	time_t t = (time_t)(p->time_nanos / 1000000000);

	strftime(from, sizeof(from), "%Y-%m-%d %H:%M:%S", localtime(&t));
	t = (time_t)((p->time_nanos + p->duration_nanos) / 1000000000);
	strftime(to, sizeof(to), "%H:%M:%S", localtime(&t));
	snprintf(desc, dn, "%zu window%s, %s to %s", n, n == 1 ? "" : "s", from, to);
}

struct profile *cmd_read_store(const struct cmd_store_sel *sel, const char *side, char *desc,
			       size_t dn)
{
	struct store_select ss;
	struct profile *p;
	size_t n, len;

	cmd_store_select(sel, &ss);
	p = store_read(sel->store, &ss, &n);
	if (!p && side)
		return cmd_error("%s: %s", side, cp_errmsg()), NULL;
	if (!p)
		return cmd_lib_error(), NULL;
	len = (size_t)snprintf(desc, dn, "%s: ", sel->store);
	cmd_store_desc(p, n, desc + (len < dn ? len : dn), len < dn ? dn - len : 0);
	return p;
}
