/* Process metrics from /proc in Prometheus' text format. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "fileio.h"
#include "metrics.h"
#include "proc.h"
#include "utf8.h"

static double metrics_btime;
static pthread_once_t metrics_btime_once = PTHREAD_ONCE_INIT;

static void metrics_read_btime(void)
{
	char line[256];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &metrics_btime) == 1)
			break;
	fclose(f);
}

/* Seconds since the epoch at boot, from /proc/stat's btime (read once); 0 if unknown. */
static double metrics_boot_time(void)
{
	pthread_once(&metrics_btime_once, metrics_read_btime);
	return metrics_btime;
}

/* Entries of directory PATH but "." and "..", or -1 where it cannot be read. */
static long metrics_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The soft limit on open files from /proc/PID/limits. */
static double metrics_max_fds(pid_t pid)
{
	char path[64], line[256], soft[32];
	double v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Max open files", 14) == 0 && sscanf(line + 14, " %31s", soft) == 1) {
			v = strcmp(soft, "unlimited") == 0 ? INFINITY : strtod(soft, NULL);
			break;
		}
	fclose(f);
	return v;
}

/* Add the context switches of each live thread of PID into M. */
static void metrics_switches(pid_t pid, struct metrics_proc *m)
{
	char path[64], line[256];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		unsigned long long v;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", (int)pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
				m->voluntary += v;
			else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				m->involuntary += v;
		}
		fclose(f);
	}
	closedir(d);
}

int metrics_read(pid_t pid, struct metrics_proc *m)
{
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct proc_stat st;
	char path[64];

	memset(m, 0, sizeof(*m));
	if (proc_stat_read(pid, &st) < 0)
		return -1;
	m->pid = pid;
	memcpy(m->comm, st.comm, sizeof(m->comm));
	m->threads = st.threads;
	m->resident_bytes = st.rss * (uint64_t)page;
	m->virtual_bytes = st.vsize;
	m->cpu_seconds = (double)(st.utime + st.stime) / (double)hz;
	m->start_time = metrics_boot_time() + (double)st.start / (double)hz;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	m->open_fds = metrics_count_dir(path);
	m->max_fds = metrics_max_fds(pid);
	metrics_switches(pid, m);
	return 0;
}

/* A label value with Prometheus' escapes, ill-formed UTF-8 as U+FFFD. */
static void metrics_label(FILE *out, const char *s)
{
	while (*s) {
		size_t bad, len = utf8_char_len(s, &bad);

		if (len == 0) {
			fputs("\xef\xbf\xbd", out);
			s += bad;
		} else if (*s == '\\' || *s == '"') {
			fputc('\\', out);
			fputc(*s++, out);
		} else if (*s == '\n') {
			fputs("\\n", out);
			s++;
		} else {
			fwrite(s, 1, len, out);
			s += len;
		}
	}
}

static void metrics_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_sample(FILE *out, const char *name, const struct metrics_proc *m,
			   const char *extra, double v)
{
	fprintf(out, "%s{pid=\"%d\",comm=\"", name, (int)m->pid);
	metrics_label(out, m->comm);
	fprintf(out, "\"%s} ", extra ? extra : "");
	if (isinf(v))
		fputs("+Inf\n", out);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(out, "%.0f\n", v);
	else
		fprintf(out, "%.15g\n", v);
}

int metrics_write(FILE *out, const struct metrics_proc *procs, size_t n)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds." },
		{ "process_resident_memory_bytes", "gauge", "Resident memory size in bytes." },
		{ "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes." },
		{ "process_threads", "gauge", "Number of OS threads in the process." },
		{ "process_open_fds", "gauge", "Number of open file descriptors." },
		{ "process_max_fds", "gauge", "Maximum number of open file descriptors (the soft limit)." },
		{ "process_context_switches_total", "counter", "Context switches of the process's live threads, voluntary (waits) and nonvoluntary (preemptions)." },
		{ "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds." },
		{ "cprof_heap_inuse_bytes", "gauge", "Heap memory in use, estimated from cprof heap's samples." },
		{ "cprof_heap_inuse_objects", "gauge", "Heap blocks in use, estimated from cprof heap's samples." },
	};
	bool any_heap = false, any_fds = false;

	for (size_t i = 0; i < n; i++) {
		any_heap |= procs[i].heap;
		any_fds |= procs[i].open_fds >= 0;
	}
	for (size_t f = 0; f < sizeof(fam) / sizeof(*fam); f++) {
		if (n == 0 || (f >= 8 && !any_heap) || (f == 4 && !any_fds))
			continue;
		metrics_family(out, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < n; i++) {
			const struct metrics_proc *m = &procs[i];

			switch (f) {
			case 0: metrics_sample(out, fam[f].name, m, NULL, m->cpu_seconds); break;
			case 1: metrics_sample(out, fam[f].name, m, NULL, (double)m->resident_bytes); break;
			case 2: metrics_sample(out, fam[f].name, m, NULL, (double)m->virtual_bytes); break;
			case 3: metrics_sample(out, fam[f].name, m, NULL, (double)m->threads); break;
			case 4:
				if (m->open_fds >= 0)
					metrics_sample(out, fam[f].name, m, NULL, (double)m->open_fds);
				break;
			case 5:
				if (m->max_fds >= 0)
					metrics_sample(out, fam[f].name, m, NULL, m->max_fds);
				break;
			case 6:
				metrics_sample(out, fam[f].name, m, ",ctxswitchtype=\"voluntary\"",
					       (double)m->voluntary);
				metrics_sample(out, fam[f].name, m, ",ctxswitchtype=\"nonvoluntary\"",
					       (double)m->involuntary);
				break;
			case 7: metrics_sample(out, fam[f].name, m, NULL, m->start_time); break;
			case 8:
				if (m->heap)
					metrics_sample(out, fam[f].name, m, NULL, m->heap_bytes);
				break;
			default:
				if (m->heap)
					metrics_sample(out, fam[f].name, m, NULL, m->heap_objects);
				break;
			}
		}
	}
	return ferror(out) ? -1 : 0;
}
