/* Unit tests of lib/'s error channel: a failure's message and errno kept
 * together per thread, and real failing calls (a missing file, a bad regular
 * expression, a process that is gone) that leave both for the caller. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addrspace.h"
#include "attach.h"
#include "errmsg.h"
#include "fileio.h"
#include "locate.h"
#include "profile.h"
#include "sample.h"
#include "snapshot.h"
#include "stacks.h"
#include "symbolize.h"
#include "test.h"

static void *other_thread(void *arg)
{
	cp_error_errno(EPERM, "in another thread");
	*(int *)arg = cp_errno();
	return NULL;
}

static void check_contract(void)
{
	pthread_t th;
	int theirs = 0;

	errno = EACCES;
	CHECK(cp_error("first %d", 1) == -1);
	CHECK_STR(cp_errmsg(), "first 1");
	CHECK(cp_errno() == EACCES);
	CHECK(errno == EACCES);

	errno = 0;
	CHECK(cp_error_errno(ENOENT, "second") == -1);
	CHECK_STR(cp_errmsg(), "second");
	CHECK(cp_errno() == ENOENT);
	CHECK(errno == ENOENT);

	/* A message may quote the last one. */
	errno = EIO;
	cp_error("outer: %s", cp_errmsg());
	CHECK_STR(cp_errmsg(), "outer: second");
	CHECK(cp_errno() == EIO);

	/* The errno stays with its message when errno moves on. */
	errno = EBADF;
	CHECK(cp_errno() == EIO);

	CHECK(pthread_create(&th, NULL, other_thread, &theirs) == 0);
	pthread_join(th, NULL);
	CHECK(theirs == EPERM);
	CHECK_STR(cp_errmsg(), "outer: second");
	CHECK(cp_errno() == EIO);
}

static void check_missing_file(void)
{
	const char *path = "/nonexistent-cprof-dir/profile.pb.gz";
	char *buf = NULL;
	size_t len;

	errno = 0;
	CHECK(file_read_all(path, &buf, &len) == -1);
	CHECK(cp_errno() == ENOENT);
	CHECK(strstr(cp_errmsg(), path) != NULL);
	CHECK(file_read_all("/", &buf, &len) == -1);
	CHECK(cp_errno() == EISDIR);
	free(buf);
}

static void check_bad_regex(void)
{
	struct profile *p = profile_new();
	struct stack_filter f = { .focus = "main(" };
	struct stackset ss;
	char want[256], msg[512];
	regex_t re;
	int rc = regcomp(&re, "main(", REG_EXTENDED | REG_NOSUB);

	CHECK(rc != 0);
	regerror(rc, &re, want, sizeof(want));
	CHECK(cp_regcomp(&re, "main(") == -1);
	CHECK_STR(cp_errmsg(), want);
	CHECK(cp_errno() == EINVAL);
	CHECK(cp_regcomp(&re, "^main$") == 0);
	regfree(&re);

	CHECK(p && profile_add_sample_type(p, "samples", "count") == 0);
	if (!p)
		return;
	snprintf(msg, sizeof(msg), "bad --focus regular expression 'main(': %s", want);
	CHECK(stackset_init(&ss, p, 0, &f) == -1);
	CHECK_STR(cp_errmsg(), msg);
	CHECK(cp_errno() == EINVAL);
	profile_free(p);
}

/* RE2's syntax (Go's, as pprof users write it) matches what Go's regexp
 * matches (each row checked against Go 1.19's regexp.MatchString), and what
 * POSIX cannot say is refused, not matched otherwise. */
static void check_regex_dialect(void)
{
	static const struct {
		const char *re, *s;
		bool match;
	} rows[] = {
		{ "\\d+", "main.f2", true },
		{ "\\d+", "main.f", false },
		{ "(?i)MAIN\\.", "main.run", true },
		{ "(?:foo|bar)baz", "xbarbaz", true },
		{ "(?:foo|bar)baz", "xbaz", false },
		{ "a.*?b", "aXXb", true },
		{ "a+?$", "caaa", true },
		{ "x{2,3}?y", "xxy", true },
		{ "\\Amain", "main.x", true },
		{ "\\Amain", "amain", false },
		{ "run\\z", "x.run", true },
		{ "run\\z", "x.runs", false },
		{ "[\\d_]+x", "_9x", true },
		{ "[\\d_]+x", "ax", false },
		{ "[\\w.]+\\(", "pkg.F(", true },
		{ "[\\s]", "a b", true },
		{ "[\\.]", "a\\b", false },
		{ "[\\.]", "a.b", true },
		{ "[^\\d]", "123", false },
		{ "[^\\d]", "12a", true },
		{ "[[:alpha:]]+\\d", "ab1", true },
		{ "[]a]", "]", true },
		{ "[^]a]", "]", false },
		{ "\\[x", "[x", true },
		{ "\\[x\\]", "a[x]", true },
		{ "\\bword\\b", "a word here", true },
		{ "\\D\\W", "a.", true },
		{ "std::vector<.*>::push", "std::vector<int>::push_back", true },
		{ "operator\\(\\)", "Foo::operator()", true },
		{ "a}?", "xa", true },
		{ "a}?", "a}", true },
		{ "x{2}?y", "xxy", true },
		{ "x{2,}?y", "xy", false },
		{ "x{,2}?y", "x{,2y", true },
		{ "vector\\<int", "vector<int>", true },
		{ "vector\\<int\\>", "vector<int>", true },
		{ "a\\:b", "ns::a:b", true },
		{ "\\bmain\\B", "mainx", true },
		{ "[a[]", "[", true },
		{ "[[:digit:]_]+$", "f_12", true },
		{ "f\\.\\*", "f.*", true },
		{ "\\s", "a\vb", false },
		{ "\\s", "a\fb", true },
	};
	static const char *const refused[] = {
		"(?P<x>a)", "(?s)a.b", "a(?i)b", "[\\-]", "[\\D]", "[a\\]]", "[^\\n]", "[[.a.]]",
		"[[=a=]]", "[\\[:alpha:]]", "\\t", "\\x41", "\\Qa.b\\E", "\\pL",
	};
	regex_t re;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool ok = cp_regcomp(&re, rows[i].re) == 0;
		CHECK(ok);
		if (!ok) {
			fprintf(stderr, "  %s: %s\n", rows[i].re, cp_errmsg());
			continue;
		}
		if ((regexec(&re, rows[i].s, 0, NULL, 0) == 0) != rows[i].match)
			fprintf(stderr, "  %s against %s: expected %d\n", rows[i].re, rows[i].s,
				rows[i].match);
		CHECK((regexec(&re, rows[i].s, 0, NULL, 0) == 0) == rows[i].match);
		regfree(&re);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK(cp_regcomp(&re, refused[i]) == -1 && cp_errno() == EINVAL);
		CHECK(strstr(cp_errmsg(), "not supported") != NULL);
	}
}

/* A child that has exited and been reaped: its pid names no process. */
static pid_t gone_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

/* What the errno out-parameters said is cp_errno() now. */
static void check_gone_process(void)
{
	struct sampler_opts so = { .frequency = 99, .fp = true, .buffer_pages = 8 };
	struct sampler *s = sampler_new(&so);
	pid_t pid = gone_pid();
	struct snapshot snap;
	struct target t;
	char want[64];

	CHECK(pid > 0 && s != NULL);
	if (pid <= 0 || !s)
		goto out;
	snprintf(want, sizeof(want), "no such process %d", (int)pid);

	errno = 0;
	CHECK(snapshot_take(&snap, pid, 4096) == -1);
	CHECK(cp_errno() == ESRCH);
	snapshot_release(&snap);

	errno = 0;
	CHECK(sampler_open_pid(s, pid) == -1);
	CHECK(cp_errno() == ESRCH);
	CHECK_STR(cp_errmsg(), want);

	errno = 0;
	CHECK(target_attach(&t, pid) == -1);
	CHECK(cp_errno() == ESRCH);
	CHECK_STR(cp_errmsg(), want);

	/* The advice keeps the errno it explains, whatever its own look-ups left. */
	errno = 0;
	t.pid = pid;
	CHECK(target_permission_error(&t, EPERM, "trace") == -1);
	CHECK(cp_errno() == EPERM);
	CHECK(strstr(cp_errmsg(), "trace") != NULL);
out:
	sampler_free(s);
}

/* Forgetting a locator's counters re-reads the maps: once the process is
 * gone that fails, and says so, where it was dropped. */
static void check_forget_gone(void)
{
	struct profile *p = profile_new();
	struct addrspace *as = NULL;
	struct symbolizer *sym = NULL;
	struct locator *l = NULL;
	char want[64];
	int go[2];
	pid_t pid;

	CHECK(p != NULL && pipe(go) == 0);
	pid = fork();
	if (pid == 0) {
		char c;

		close(go[1]);
		_exit(read(go[0], &c, 1) == 1);
	}
	close(go[0]);
	CHECK(pid > 0);
	if (pid <= 0)
		goto out;
	as = addrspace_new(pid);
	sym = as ? symbolizer_new(as) : NULL;
	l = sym ? locator_new(p, as, sym, NULL, false) : NULL;
	CHECK(l != NULL);
	CHECK(l && locator_forget(l) == 0);
	close(go[1]);
	waitpid(pid, NULL, 0);
	snprintf(want, sizeof(want), "no such process %d", (int)pid);
	errno = 0;
	CHECK(l && locator_forget(l) == -1);
	CHECK(cp_errno() == ESRCH);
	CHECK_STR(cp_errmsg(), want);
out:
	locator_free(l);
	symbolizer_free(sym);
	addrspace_free(as);
	profile_free(p);
}

/* The address space this process has mapped, in bytes (VmSize), or -1. */
static long mapped_bytes(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* In a child: a call tree whose root has NFUNCS children, sorted once the
 * address space may grow by no more than a few pages (RLIMIT_AS), so the
 * array of the root's children cannot grow. Exits 0 when calltree_sort said
 * so (-1, "out of memory", ENOMEM), 2 when it claimed success, 3 when the
 * tree could not be built. */
static void calltree_sort_oom_child(size_t nfuncs)
{
	struct profile *p;
	struct stackset ss;
	struct calltree t;
	struct rlimit rl;
	int64_t one = 1;
	long used;
	char name[32];
	int rc;

	/* Big blocks in their own mappings, so no free heap space can serve the
	 * children array once the limit is set. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	p = profile_new();
	if (!p || profile_add_sample_type(p, "samples", "count") < 0)
		_exit(3);
	for (size_t i = 0; i < nfuncs; i++) {
		struct pf_line line = { 0, 1 };
		int64_t f, l;
		uint64_t loc;

		snprintf(name, sizeof(name), "f%zu", i);
		f = profile_add_function(p, profile_intern(p, name), 0, 0, 0);
		if (f < 0)
			_exit(3);
		line.function_id = f;
		l = profile_add_location(p, 0, 0x1000 + i, &line, 1, false);
		if (l < 0)
			_exit(3);
		loc = l;
		if (profile_add_sample(p, &loc, 1, &one, NULL, 0) < 0)
			_exit(3);
	}
	if (stackset_init(&ss, p, 0, NULL) < 0 || calltree_init(&t, &ss) < 0 ||
	    t.nodes[0].first_child == 0)
		_exit(3);
	malloc_trim(0);
	used = mapped_bytes();
	if (used < 0)
		_exit(3);
	if (getrlimit(RLIMIT_AS, &rl) < 0)
		_exit(3);
	if (rl.rlim_max == RLIM_INFINITY || (rlim_t)used + 16 * 4096 < rl.rlim_max)
		rl.rlim_cur = used + 16 * 4096;
	if (setrlimit(RLIMIT_AS, &rl) < 0)
		_exit(3);
	rc = calltree_sort(&t);
	_exit(rc == -1 && strcmp(cp_errmsg(), "out of memory") == 0 && cp_errno() == ENOMEM ?
		      0 : 2);
}

/* calltree_sort ran out of memory without a word, leaving the tree part
 * sorted; now it fails with the error. Not under AddressSanitizer, whose
 * allocator reserves its own memory and aborts where malloc would fail. */
static void check_calltree_sort_oom(void)
{
#if defined(__SANITIZE_ADDRESS__)
	printf("test-error: calltree_sort out of memory: skipped (AddressSanitizer)\n");
#else
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		calltree_sort_oom_child(1 << 17);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "calltree_sort child: %s %d\n",
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
#endif
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	check_contract();
	check_missing_file();
	check_bad_regex();
	check_regex_dialect();
	check_gone_process();
	check_forget_gone();
	check_calltree_sort_oom();
	return test_done("test-error");
}
