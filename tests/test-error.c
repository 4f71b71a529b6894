/* Unit tests of lib/'s error channel: a failure's message and errno kept
 * together per thread, and real failing calls (a missing file, a bad regular
 * expression, a process that is gone) that leave both for the caller. */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addrspace.h"
#include "attach.h"
#include "error.h"
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

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	check_contract();
	check_missing_file();
	check_bad_regex();
	check_gone_process();
	check_forget_gone();
	return test_done("test-error");
}
