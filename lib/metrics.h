/* Prometheus metrics of processes: what /proc says about each (threads,
 * memory, CPU time, file descriptors, context switches, start time) and,
 * for a process under a heap session, its sampled heap in use, written in
 * Prometheus' text exposition format 0.0.4 with the names Prometheus'
 * client libraries give a process's own metrics (process_*). */
#ifndef CPROF_METRICS_H
#define CPROF_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The Content-Type of the format. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_proc {
	pid_t pid;
	char comm[64];
	long threads;
	uint64_t resident_bytes, virtual_bytes;
	double cpu_seconds;        /* user and system */
	long open_fds;             /* -1: not readable */
	double max_fds;            /* the soft limit; -1: not readable, +Inf: unlimited */
	uint64_t voluntary, involuntary; /* context switches, summed over the live threads */
	double start_time;         /* seconds since the epoch */
	bool heap;                 /* under a heap session: */
	double heap_bytes, heap_objects; /* sampled, in use */
};

/* Read what /proc says about PID into *M (heap left unset). Returns 0, or -1
 * with an error (ESRCH when the process is gone). */
int metrics_read(pid_t pid, struct metrics_proc *m);

/* Write N processes' metrics to OUT, each family with its HELP and TYPE
 * before its samples, labelled pid and comm. Returns 0, or -1 if OUT failed. */
int metrics_write(FILE *out, const struct metrics_proc *procs, size_t n);

#endif
