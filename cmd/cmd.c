/* Option parsing, help, errors and stdout checks shared by every command. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "duration.h"
#include "error.h"
#include "fileio.h"

static const struct cmd_option help_option = { "help", 'h', NULL, "show this help and exit", 0, NULL };

/* "cprof: MSG" on stderr, after whatever stdout holds. */
static void report(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("cprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	return -1;
}

int cmd_lib_error(void)
{
	return error("%s", cp_errmsg());
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	exit(code);
}

volatile sig_atomic_t cmd_stop;

static void on_stop_signal(int sig)
{
	cmd_stop = sig;
}

void cmd_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
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
		die(EXIT_ERROR, "%s", cp_errmsg());
	if (strcmp(path, "-"))
		return;
	fflush(stdout);
	fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		die(EXIT_ERROR, "cannot write standard output: %s", strerror(errno));
	file_set_stdout(fd);
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
			fprintf(out, " %s--%s %s%s", open, o->name, o->arg, close);
		else
			fprintf(out, " %s--%s%s", open, o->name, close);
	}
	if (cmd->trailing)
		fprintf(out, " %s", cmd->trailing);
	fputc('\n', out);
}

static void option_line(const struct cmd_option *o, FILE *out)
{
	char left[64];

	if (o->short_name)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	fprintf(out, "  %-26s %s\n", left, o->help);
}

void cmd_help(const struct cmd_entry *cmd, FILE *out)
{
	cmd_print_usage(cmd, out);
	fprintf(out, "\n%s\n\n%s\n\nOptions:\n", cmd->summary, cmd->description);
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		option_line(o, out);
	option_line(&help_option, out);
	fprintf(out, "\nSee cprof-%s(1) for details.\n", cmd->name);
}

void cmd_usage_error(const struct cmd_entry *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	cmd_print_usage(cmd, stderr);
	exit(EXIT_USAGE);
}

static const struct cmd_option *find_long(const struct cmd_entry *cmd, const char *name,
					  size_t len)
{
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const struct cmd_option *find_short(const struct cmd_entry *cmd, char c)
{
	for (const struct cmd_option *o = cmd->options; o->name; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

void cmd_parse(const struct cmd_entry *cmd, int *argc, char **argv, cmd_set_fn set, void *ctx,
	       char ***rest, int *nrest)
{
	int n = *argc, npos = 0;
	unsigned long seen = 0;

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
			o = find_long(cmd, a + 2, len);
			if (!o)
				cmd_usage_error(cmd, "unknown option '--%.*s'", (int)len, a + 2);
			if (eq) {
				if (!o->arg)
					cmd_usage_error(cmd, "option '--%s' takes no value", o->name);
				value = eq + 1;
			}
		} else {
			o = find_short(cmd, a[1]);
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
		if (set(ctx, o->key, value) < 0)
			exit(EXIT_USAGE);
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
