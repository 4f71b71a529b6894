/* The target of a profile: a running process found by pid, or a command that
 * cprof starts held just before its exec, so profiling can begin at its first
 * instruction. Also the permission checks that turn EPERM into advice. */
#ifndef CPROF_ATTACH_H
#define CPROF_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct target {
	pid_t pid;
	bool launched;   /* started by cprof */
	int go_fd;       /* launched: writing a byte here lets the command exec */
	int err_fd;      /* launched: the child reports a failed exec here */
	const char *cmd; /* launched: the command's name, ARGV[0] */
	int pidfd;       /* readable when the process exits; -1 if unsupported */
	bool exited;
	int status;      /* launched: as from waitpid, once exited */
};

/* Attach to PID: check it exists and is not a zombie (judged by all its
 * threads: the main one may have exited while others run) or a kernel thread.
 * Returns 0, or -1 with "no such process PID" and the like. */
int target_attach(struct target *t, pid_t pid);

/* Start ARGV[0] (searched in PATH) held before exec. Returns 0 or -1. */
int target_launch(struct target *t, char *const argv[]);

/* Let a launched command exec. Returns 0, or -1 with an error such as
 * "cannot run CMD: No such file or directory" when the exec failed. */
int target_go(struct target *t);

/* Has the target exited? Reaps a launched command (recording its status). */
bool target_check_exit(struct target *t);

/* End a launched command that is still running (SIGTERM, then SIGKILL after
 * GRACE_MS) and reap it. */
void target_stop(struct target *t, int grace_ms);

void target_release(struct target *t);

/* Check that cprof may read the target's memory map (ptrace-read access),
 * the first thing tracing it needs. Returns 0, or -1 with the error of
 * target_permission_error (WHAT as there). */
int target_check_access(const struct target *t, const char *what);

/* After perf_event_open or ptrace failed with ERR (an errno) on the target, set
 * an error that says what would allow it: the sysctl (kernel.perf_event_paranoid,
 * kernel.yama.ptrace_scope), the capability (CAP_PERFMON, CAP_SYS_PTRACE) or the
 * user to run as. WHAT names the operation ("profile", "trace"). Returns -1, the
 * error's errno ERR (callers pass cp_errno() of the failure). */
int target_permission_error(const struct target *t, int err, const char *what);

/* Is every live thread of the target stopped, by a signal or by a tracer?
 * Then a sentence saying so, and what would resume it, goes to WHY (N bytes):
 * "process PID is stopped (by SIGSTOP or Ctrl-Z; kill -CONT PID resumes it)".
 * cprof leaves a stopped target as it found it. */
bool target_stopped(const struct target *t, char *why, size_t n);

#endif
