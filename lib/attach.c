/* Finding or starting the target process, noticing its exit, and explaining
 * permission failures; see attach.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "errmsg.h"
#include "proc.h"

static int target_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static void target_init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->go_fd = t->err_fd = t->pidfd = -1;
}

int target_attach(struct target *t, pid_t pid)
{
	char path[64];
	struct stat st;
	char state;

	target_init(t);
	if (pid <= 0)
		return cp_error_errno(ESRCH, "no such process %d", pid);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st) < 0 || kill(pid, 0) < 0) {
		if (errno != EPERM)
			return cp_error_errno(ESRCH, "no such process %d", pid);
	}
	/* Alive while any thread is: the main thread may have called pthread_exit. */
	switch (proc_run_state(pid)) {
	case PROC_GONE:
		return cp_error_errno(ESRCH, "no such process %d", pid);
	case PROC_ZOMBIE:
		return cp_error("process %d is a zombie: it has exited and has nothing left to profile", pid);
	default:
		break;
	}
	/* An exited main thread has no exe link either, and is no kernel thread. */
	state = proc_thread_state(pid, pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (state != 'Z' && readlink(path, (char[8]){ 0 }, 8) < 0 && errno == ENOENT)
		return cp_error("process %d is a kernel thread: cprof profiles user space only", pid);
	t->pid = pid;
	t->pidfd = target_pidfd_open(pid);
	return 0;
}

int target_launch(struct target *t, char *const argv[])
{
	int go[2], err[2];
	pid_t pid;

	target_init(t);
	if (pipe2(go, O_CLOEXEC) < 0)
		return cp_error("cannot start %s: %s", argv[0], strerror(errno));
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return cp_error("cannot start %s: %s", argv[0], strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return cp_error("cannot start %s: %s", argv[0], strerror(e));
	}
	if (pid == 0) {
		char c;
		int e;
		close(go[1]);
		close(err[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[0], argv);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	t->pid = pid;
	t->launched = true;
	t->cmd = argv[0];
	t->go_fd = go[1];
	t->err_fd = err[0];
	t->pidfd = target_pidfd_open(pid);
	return 0;
}

int target_go(struct target *t)
{
	int e = 0;
	ssize_t n;

	if (write(t->go_fd, "x", 1) != 1)
		return cp_error("cannot start the command: %s", strerror(errno));
	close(t->go_fd);
	t->go_fd = -1;
	/* The exec closes the error pipe (O_CLOEXEC): EOF means it ran. */
	do
		n = read(t->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(t->err_fd);
	t->err_fd = -1;
	if (n == sizeof(e)) {
		target_check_exit(t);
		waitpid(t->pid, NULL, 0);
		t->exited = true;
		if (e == ENOENT && !strchr(t->cmd, '/'))
			return cp_error("cannot run %s: no such command in PATH", t->cmd);
		return cp_error("cannot run %s: %s", t->cmd, strerror(e));
	}
	return 0;
}

bool target_check_exit(struct target *t)
{
	if (t->exited)
		return true;
	if (t->launched) {
		int status;
		pid_t r = waitpid(t->pid, &status, WNOHANG);
		if (r == t->pid || (r < 0 && errno == ECHILD)) {
			t->status = r == t->pid ? status : 0;
			t->exited = true;
		}
		return t->exited;
	}
	if (t->pidfd >= 0) {
		struct pollfd p = { t->pidfd, POLLIN, 0 };
		if (poll(&p, 1, 0) > 0)
			t->exited = true;
		return t->exited;
	}
	if (kill(t->pid, 0) < 0 && errno == ESRCH)
		t->exited = true;
	else if (proc_run_state(t->pid) <= PROC_ZOMBIE)
		t->exited = true;
	return t->exited;
}

void target_stop(struct target *t, int grace_ms)
{
	if (!t->launched || target_check_exit(t))
		return;
	kill(t->pid, SIGTERM);
	for (int waited = 0; waited < grace_ms; waited += 10) {
		if (target_check_exit(t))
			return;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	kill(t->pid, SIGKILL);
	while (!target_check_exit(t))
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

void target_release(struct target *t)
{
	if (t->go_fd >= 0)
		close(t->go_fd);
	if (t->err_fd >= 0)
		close(t->err_fd);
	if (t->pidfd >= 0)
		close(t->pidfd);
	target_init(t);
}

int target_check_access(const struct target *t, const char *what)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return target_permission_error(t, errno == ENOENT ? ESRCH : errno, what);
	close(fd);
	return 0;
}

#ifndef CAP_PERFMON
#define CAP_PERFMON 38 /* Linux 5.8 */
#endif

int target_permission_error(const struct target *t, int err, const char *what)
{
	int paranoid = (int)proc_sysctl("kernel/perf_event_paranoid", -1);
	int yama = (int)proc_sysctl("kernel/yama/ptrace_scope", -1);
	char path[64];
	struct stat st;
	uid_t owner = (uid_t)-1;
	pid_t tracer;

	if (err == ESRCH)
		return cp_error_errno(err, "no such process %d", t->pid);
	if (err == ENOBUFS)
		return cp_error_errno(err, "cannot %s process %d: its ring buffers need more locked "
				      "memory than this user has left (sysctl kernel.perf_event_mlock_kb, "
				      "then ulimit -l): raise either, stop other profilers, or run as "
				      "root or with CAP_IPC_LOCK", what, t->pid);
	if (err != EACCES && err != EPERM)
		return cp_error_errno(err, "cannot %s process %d: %s", what, t->pid, strerror(err));
	/* A thread has one tracer: even root is refused while another holds it. */
	if (strcmp(what, "trace") == 0 && (tracer = proc_tracer(t->pid)) > 0) {
		char comm[64];

		proc_thread_name(tracer, tracer, comm, sizeof(comm));
		return cp_error_errno(err,
				      "process %d is already traced by PID %d (%s): detach it first",
				      t->pid, (int)tracer, comm[0] ? comm : "gone");
	}
	snprintf(path, sizeof(path), "/proc/%d", t->pid);
	if (stat(path, &st) == 0)
		owner = st.st_uid;

	if (strcmp(what, "profile") == 0 && paranoid > 2)
		return cp_error_errno(err,
				      "not allowed to profile process %d: kernel.perf_event_paranoid is %d; "
				      "set it to 2 (sysctl kernel.perf_event_paranoid=2) or run with CAP_PERFMON",
				      t->pid, paranoid);
	/* With CAP_SYS_PTRACE (to profile, CAP_PERFMON or CAP_SYS_ADMIN too)
	 * neither owners nor Yama's scopes below 3 stand in the way, so
	 * something above them does. */
	if (proc_has_cap(CAP_SYS_PTRACE) && yama < 3 &&
	    (strcmp(what, "profile") != 0 || proc_has_cap(CAP_PERFMON) ||
	     proc_has_cap(CAP_SYS_ADMIN)))
		return cp_error_errno(err,
				      "not allowed to %s process %d (%s), although cprof has "
				      "CAP_SYS_PTRACE: the process is outside cprof's user namespace "
				      "(cprof runs in a container or sandbox), or a security module "
				      "(AppArmor, SELinux) forbids it", what, t->pid, strerror(err));
	if (owner != (uid_t)-1 && owner != geteuid())
		return cp_error_errno(err,
				      "not allowed to %s process %d: it belongs to uid %u; run cprof as that "
				      "user or as root, or give cprof CAP_SYS_PTRACE%s", what, t->pid,
				      (unsigned)owner, strcmp(what, "profile") == 0 ? " and CAP_PERFMON" : "");
	if (yama > 0)
		return cp_error_errno(err,
				      "not allowed to %s process %d: kernel.yama.ptrace_scope is %d; "
				      "run as root or with CAP_SYS_PTRACE, or set it to 0 "
				      "(sysctl kernel.yama.ptrace_scope=0)", what, t->pid, yama);
	return cp_error_errno(err,
			      "not allowed to %s process %d (%s): run as root or with CAP_SYS_PTRACE%s",
			      what, t->pid, strerror(err),
			      strcmp(what, "profile") == 0 ? " and CAP_PERFMON" : "");
}

bool target_stopped(const struct target *t, char *why, size_t n)
{
	pid_t tracer;
	char comm[64];

	/* Only the pid is read: top asks while its sampler thread updates the rest. */
	if (proc_run_state(t->pid) != PROC_STOPPED)
		return false;
	/* A tracer stops its tracee at each system call, for microseconds:
	 * stopped is what lasts. */
	nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	if (proc_run_state(t->pid) != PROC_STOPPED)
		return false;
	tracer = proc_tracer(t->pid);
	if (tracer > 0) {
		proc_thread_name(tracer, tracer, comm, sizeof(comm));
		snprintf(why, n, "process %d is stopped: its tracer, PID %d (%s), holds it",
			 t->pid, (int)tracer, comm[0] ? comm : "gone");
	} else {
		snprintf(why, n, "process %d is stopped (by SIGSTOP or Ctrl-Z; kill -CONT %d "
			 "resumes it)", t->pid, t->pid);
	}
	return true;
}
