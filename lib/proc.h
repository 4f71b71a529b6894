/* What /proc says about a target: its memory mappings, its threads and their
 * names and states. */
#ifndef CPROF_PROC_H
#define CPROF_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_map {
	uint64_t start, end, offset, inode;
	unsigned dev_major, dev_minor;
	bool r, w, x, shared;
	char *path; /* "" for anonymous mappings; "[vdso]", "[stack]"...; never NULL */
};

struct proc_maps {
	struct proc_map *maps; /* sorted by start, as the kernel lists them */
	size_t n;
};

/* Parse the text of a /proc/PID/maps file (LEN bytes, need not end in NUL).
 * Paths are kept as given (spaces, " (deleted)"). Malformed lines make it fail
 * with an error naming the line; lines out of order are sorted. On success M
 * must be released. Returns 0 or -1. */
int proc_maps_parse(struct proc_maps *m, const char *text, size_t len);

/* Read and parse /proc/PID/maps. Returns 0, or -1 with an error. */
int proc_maps_read(struct proc_maps *m, pid_t pid);
void proc_maps_release(struct proc_maps *m);

/* The mapping that holds ADDR, or NULL. */
const struct proc_map *proc_maps_find(const struct proc_maps *m, uint64_t addr);

/* The thread ids of PID (from /proc/PID/task) into a new array. Returns the
 * count, or -1 with an error (ESRCH-style "no such process" when PID is gone). */
ssize_t proc_tasks(pid_t pid, pid_t **tids);

/* Append to *PIDS (of *N, room for *CAP) the processes PID's threads
 * started, from /proc/PID/task/TID/children. Returns 0 (PID gone: none), or
 * -1 when out of memory. */
int proc_children(pid_t pid, pid_t **pids, size_t *n, size_t *cap);

/* qsort's comparison of two pid_t values, lowest first. */
int proc_tid_cmp(const void *a, const void *b);

/* Thread TID's name (comm) into BUF; "" when the thread is gone. */
void proc_thread_name(pid_t pid, pid_t tid, char *buf, size_t n);

/* The state letter of TID from /proc/PID/task/TID/stat (R, S, D, T, t, Z...),
 * or 0 when it is gone. */
char proc_thread_state(pid_t pid, pid_t tid);

/* Whether thread TID of PID is gone, or a zombie or dead, as /proc shows it. */
bool proc_thread_gone(pid_t pid, pid_t tid);

/* Both at once, from TID/stat under TASKDIR (an open /proc/PID/task): one
 * read where the two above take two. The name goes to BUF (N > 0 bytes). */
char proc_task_stat(int taskdir, pid_t tid, char *buf, size_t n);

/* A thread of PID that has not exited (the main thread, unless it called
 * pthread_exit while others run on), or 0 when none is left. */
pid_t proc_live_thread(pid_t pid);

/* The process as its threads say it is: some thread may run (whatever the
 * main thread's state), every live thread is stopped (by a signal, T, or by
 * its tracer, t), every thread has exited (a zombie), or it is gone. */
enum proc_run { PROC_GONE, PROC_ZOMBIE, PROC_STOPPED, PROC_RUNNING };
enum proc_run proc_run_state(pid_t pid);

/* The pid of another process than this one tracing a thread of PID
 * (TracerPid in its status), or 0 when there is none. */
pid_t proc_tracer(pid_t pid);

/* The process's command line, NUL-separated words joined by spaces, into BUF;
 * falls back to comm; "" when the process is gone. */
void proc_cmdline(pid_t pid, char *buf, size_t n);

/* The CPU time the process has used, user and system, in nanoseconds (from
 * /proc/PID/stat, so in clock ticks), or -1 when it is gone. */
int64_t proc_cpu_ns(pid_t pid);

/* The same apart: time in user space and in the kernel. Returns 0, or -1
 * when the process is gone. */
int proc_cpu_times(pid_t pid, int64_t *user_ns, int64_t *system_ns);

/* The fields of /proc/PID/stat that describe the whole process. */
struct proc_stat {
	char comm[64];         /* the name between the parentheses, as is */
	char state;
	pid_t ppid;
	unsigned flags;        /* the kernel's PF_* flags: PROC_KTHREAD for a kernel thread */
	uint64_t utime, stime; /* clock ticks (sysconf(_SC_CLK_TCK)) */
	long threads;
	uint64_t start;        /* clock ticks after boot: with the pid, the process's identity */
	uint64_t vsize;        /* bytes */
	uint64_t rss;          /* pages */
};
#define PROC_KTHREAD 0x00200000 /* PF_KTHREAD */
/* Read process PID's stat. Returns 0, or -1 with an error (ESRCH when gone). */
int proc_stat_read(pid_t pid, struct proc_stat *st);
/* The real, effective and saved user ids of PID (its status's Uid line) into
 * UIDS. Returns 0, or -1 with an error (ESRCH when gone). */
int proc_uids(pid_t pid, uid_t uids[3]);
/* The start time of PID in clock ticks after boot, or 0 when it is gone. */
uint64_t proc_start_ticks(pid_t pid);

/* The number in /proc/sys/NAME (e.g. "kernel/perf_event_paranoid"), or
 * UNKNOWN when it cannot be read. */
long proc_sysctl(const char *name, long unknown);
/* Whether this process holds capability CAP in its effective set. */
bool proc_has_cap(int cap);

#endif
