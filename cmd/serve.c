/* cprof serve: Go's /debug/pprof endpoints and Prometheus' /metrics for
 * native processes, from outside them, until SIGTERM or Ctrl-C. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "errmsg.h"
#include "fileio.h"
#include "heap.h"
#include "serve.h"

struct serve_cmd_opts {
	const char *listen;
	struct cmd_list pids, uids;
	const char *token_file;
	long max_seconds;
	bool heap;
	long rate;
};

static void cmd_serve_add_uid(const struct cmd_entry *cmd, const struct cmd_option *o,
			      const char *value, void *field);

static const struct cmd_option cmd_serve_options[] = {
	{ CMD_STRING(serve_cmd_opts, listen, "listen", "ADDR:PORT",
		     "the address and port to listen on; an address other than loopback needs "
		     "--token-file"), .def_text = "127.0.0.1:6060" },
	{ CMD_CALLBACK(serve_cmd_opts, pids, "pid", "PID", "serve process PID (repeat for more)",
		       cmd_add_pid), .short_name = 'p', .complete = "pid", .repeats = true },
	{ CMD_CALLBACK(serve_cmd_opts, uids, "allow-uid", "UID",
		       "serve every process of user UID (a number or a name; repeat for more)",
		       cmd_serve_add_uid), .repeats = true },
	{ CMD_STRING(serve_cmd_opts, token_file, "token-file", "FILE",
		     "ask every request for the token in FILE (Authorization: Bearer TOKEN); "
		     "FILE must not be readable by others"), .complete = "file" },
	{ CMD_INT(serve_cmd_opts, max_seconds, "max-seconds", "N",
		  "the longest CPU profile a request may ask for", 1, 3600, 60) },
	{ CMD_FLAG(serve_cmd_opts, heap, "heap",
		   "sample the heap of each --pid process, as cprof heap --pid does, for "
		   "/debug/pprof/heap and the heap metrics") },
	{ CMD_INT(serve_cmd_opts, rate, "rate", "BYTES",
		  "with --heap, sample an allocation every BYTES allocated on average", 1,
		  1LL << 40, HEAP_DEFAULT_RATE) },
	{ 0 },
};

static int cmd_serve_exec(int argc, char **argv);

const struct cmd_entry cmd_serve = {
	.name = "serve",
	.summary = "serve /debug/pprof and Prometheus /metrics for running processes",
	.description =
		"An HTTP server with Go's /debug/pprof endpoints and Prometheus' /metrics for the\n"
		"processes given by --pid and those of the users given by --allow-uid, answered from\n"
		"outside them: go tool pprof, curl, Parca, Grafana Alloy and Prometheus read them as\n"
		"they read a Go service's. profile?seconds=N takes a CPU profile as cprof cpu does,\n"
		"block?seconds=N an off-CPU profile as cprof offcpu does, threads (or goroutine) a\n"
		"thread dump as cprof threads does (debug=1 and debug=2 as text); the same tree is\n"
		"under /pid/PID/ for scrapers with fixed paths. Listens on loopback unless --listen\n"
		"and --token-file say otherwise; one CPU or block profile per process at a time.\n"
		"One log line per request on standard error. Runs until SIGTERM or Ctrl-C,\n"
		"which end the profiles in flight early.",
	.options = cmd_serve_options,
	.exec = cmd_serve_exec,
};

static void cmd_serve_add_uid(const struct cmd_entry *cmd, const struct cmd_option *o,
			      const char *value, void *field)
{
	struct passwd *pw = value[0] < '0' || value[0] > '9' ? getpwnam(value) : NULL;
	uid_t uid;

	if (pw)
		uid = pw->pw_uid;
	else if (value[0] < '0' || value[0] > '9')
		cmd_usage_error(cmd, "no such user '%s' for --%s", value, o->name);
	else
		uid = (uid_t)cmd_parse_long(cmd, o->name, value, 0, 0x7fffffff);
	cmd_list_append(field, &uid, sizeof(uid));
}

/* The token in PATH: its first line, which must be printable without
 * spaces, in a file others may not read. Exits 1 otherwise. */
static char *cmd_serve_token(const char *path)
{
	struct stat st;
	char *buf;
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die(EXIT_ERROR, "cannot read token file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		die(EXIT_ERROR, "token file %s is not a regular file", path);
	if (fstat(fd, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
		die(EXIT_ERROR, "token file %s is readable or writable by others: chmod o-rw %s",
		    path, path);
	len = file_read_fd(fd, &buf);
	close(fd);
	if (len < 0)
		die(EXIT_ERROR, "cannot read token file %s: %s", path, strerror(errno));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0)
		die(EXIT_ERROR, "token file %s is empty", path);
	for (ssize_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f)
			die(EXIT_ERROR, "token file %s: the token must be one line of printable "
			    "characters without spaces", path);
	return buf;
}

static void cmd_serve_log(const char *line, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

static int cmd_serve_exec(int argc, char **argv)
{
	struct serve_cmd_opts o = { 0 };
	struct serve_opts so = { 0 };
	sigset_t block, old;
	struct serve *s;
	char *token = NULL, *lib = NULL;
	char host[INET6_ADDRSTRLEN];

	cmd_parse(&cmd_serve, &argc, argv, &o, NULL, NULL);
	if (argc > 0)
		cmd_usage_error(&cmd_serve, "unexpected argument '%s'", argv[0]);
	if (o.pids.n == 0 && o.uids.n == 0)
		cmd_usage_error(&cmd_serve, "nothing to serve: give --pid PID or --allow-uid UID");
	if (o.heap && o.pids.n == 0)
		cmd_usage_error(&cmd_serve, "--heap samples the processes given by --pid: give one");
	if (serve_parse_listen(o.listen ? o.listen : "127.0.0.1:6060", &so.addr, &so.addrlen) < 0)
		cmd_usage_error(&cmd_serve, "%s", cp_errmsg());
	if (!serve_loopback(&so.addr) && !o.token_file)
		cmd_usage_error(&cmd_serve, "--listen %s is reachable from other machines: give "
				"--token-file too, or listen on 127.0.0.1", o.listen);
	if (o.token_file)
		token = cmd_serve_token(o.token_file);
	if (o.heap)
		lib = cmd_heap_library();

	so.pids = o.pids.v;
	so.npids = o.pids.n;
	so.uids = o.uids.v;
	so.nuids = o.uids.n;
	so.token = token;
	so.max_seconds = (int)o.max_seconds;
	so.heap = o.heap;
	so.heap_rate = (uint64_t)o.rate;
	so.heap_lib = lib;
	so.stop = &cmd_stop;
	so.log = cmd_serve_log;

	/* Only this thread takes the stop signals: the server's threads inherit the block. */
	cmd_catch_signals();
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	s = serve_start(&so);
	if (!s) {
		cmd_lib_error();
		free(token);
		free(lib);
		free(o.pids.v);
		free(o.uids.v);
		return EXIT_ERROR;
	}
	inet_ntop(so.addr.ss_family, so.addr.ss_family == AF_INET6 ?
		  (void *)&((struct sockaddr_in6 *)&so.addr)->sin6_addr :
		  (void *)&((struct sockaddr_in *)&so.addr)->sin_addr, host, sizeof(host));
	fprintf(stderr, "cprof: serving %zu process%s%s on http://%s%s%s:%u/debug/pprof/ "
		"and /metrics\n", o.pids.n, o.pids.n == 1 ? "" : "es",
		o.uids.n ? " and those of the users allowed" : "",
		so.addr.ss_family == AF_INET6 ? "[" : "", host,
		so.addr.ss_family == AF_INET6 ? "]" : "", serve_port(s));
	while (!cmd_stop)
		sigsuspend(&old);
	fprintf(stderr, "cprof: stopping (signal %d): ending the requests in flight\n",
		(int)cmd_stop);
	serve_free(s);
	free(token);
	free(lib);
	free(o.pids.v);
	free(o.uids.v);
	return EXIT_OK;
}
