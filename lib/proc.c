/* Reading /proc for a target: /proc/PID/maps parsed into mappings, the thread
 * ids under /proc/PID/task, and each thread's name and state. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errmsg.h"
#include "fileio.h"
#include "grow.h"
#include "proc.h"

/* Read all of a /proc file into a new NUL-terminated buffer. Returns the
 * length, or -1 with errno set (no error message: callers word their own). */
static ssize_t proc_read_file(const char *path, char **out)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = file_read_fd(fd, out);
	err = errno;
	close(fd);
	errno = err;
	return n;
}

/* Read a small /proc file, PATH under directory DIR, into BUF (N > 0 bytes,
 * NUL-terminated). Returns the length read, or -1 when it cannot be read. */
static ssize_t proc_read_small_at(int dir, const char *path, char *buf, size_t n)
{
	ssize_t r;
	int fd;

	fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		r = read(fd, buf, n - 1);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return r;
}

static ssize_t proc_read_small(const char *path, char *buf, size_t n)
{
	return proc_read_small_at(AT_FDCWD, path, buf, n);
}

static int proc_errno_gone(int err)
{
	return err == ENOENT || err == ESRCH;
}

/* Calls FN(TID, CTX) for each thread of PID until it returns non-zero, which
 * it returns; 0 after the last, -1 when the task directory cannot be read. */
static int proc_each_task(pid_t pid, int (*fn)(pid_t pid, pid_t tid, void *ctx), void *ctx)
{
	char path[64];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (!rc && (de = readdir(d))) {
		char *e;
		long tid = strtol(de->d_name, &e, 10);

		if (!*e && tid > 0)
			rc = fn(pid, tid, ctx);
	}
	closedir(d);
	return rc;
}

bool proc_thread_gone(pid_t pid, pid_t tid)
{
	char st = proc_thread_state(pid, tid);

	return !st || st == 'Z' || st == 'X';
}

struct proc_first {
	pid_t (*fn)(pid_t pid, pid_t tid);
	pid_t found;
};

static int proc_first_one(pid_t pid, pid_t tid, void *ctx)
{
	struct proc_first *f = ctx;

	f->found = f->fn(pid, tid);
	return f->found != 0;
}

/* The first non-zero FN(PID, TID) over the threads of PID, or 0. */
static pid_t proc_first_task(pid_t pid, pid_t (*fn)(pid_t pid, pid_t tid))
{
	struct proc_first f = { fn, 0 };

	proc_each_task(pid, proc_first_one, &f);
	return f.found;
}

static pid_t proc_pick_live(pid_t pid, pid_t tid)
{
	return proc_thread_gone(pid, tid) ? 0 : tid;
}

pid_t proc_live_thread(pid_t pid)
{
	return proc_first_task(pid, proc_pick_live);
}

static int proc_judge(pid_t pid, pid_t tid, void *ctx)
{
	enum proc_run *run = ctx;
	char st = proc_thread_state(pid, tid);

	if (!st)
		return 0;
	if (st == 'Z' || st == 'X') {
		if (*run == PROC_GONE)
			*run = PROC_ZOMBIE;
		return 0;
	}
	if (st == 'T' || st == 't') {
		*run = PROC_STOPPED;
		return 0;
	}
	*run = PROC_RUNNING;
	return 1;
}

enum proc_run proc_run_state(pid_t pid)
{
	enum proc_run run = PROC_GONE;

	proc_each_task(pid, proc_judge, &run);
	return run;
}

static pid_t proc_find_tracer(pid_t pid, pid_t tid)
{
	char path[64], buf[2048];
	const char *at;
	long tracer;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (proc_read_small(path, buf, sizeof(buf)) < 0 || !(at = strstr(buf, "\nTracerPid:")))
		return 0;
	tracer = strtol(at + strlen("\nTracerPid:"), NULL, 10);
	return tracer <= 0 || tracer == getpid() ? 0 : tracer;
}

pid_t proc_tracer(pid_t pid)
{
	return proc_first_task(pid, proc_find_tracer);
}

/* Parse hex digits at *P (before END) into *V: at least one digit, at most 16. */
static int proc_parse_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0;

	for (; s < end && isxdigit((unsigned char)*s); s++, n++) {
		int d = *s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10;
		if (n == 16)
			return -1;
		x = x << 4 | d;
	}
	if (!n)
		return -1;
	*p = s;
	*v = x;
	return 0;
}

static int proc_parse_dec(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s == end || !isdigit((unsigned char)*s))
		return -1;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*s - '0');
	}
	*p = s;
	*v = x;
	return 0;
}

static int proc_expect(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

/* One line, without its newline: "start-end perms offset major:minor inode [path]".
 * Returns 0, -1 when malformed, -2 when out of memory. */
static int proc_maps_parse_line(struct proc_map *m, const char *s, const char *end)
{
	uint64_t major, minor;
	const char *perm;

	if (proc_parse_hex(&s, end, &m->start) < 0 || proc_expect(&s, end, '-') < 0 ||
	    proc_parse_hex(&s, end, &m->end) < 0 || proc_expect(&s, end, ' ') < 0)
		return -1;
	if (m->end < m->start || end - s < 5)
		return -1;
	perm = s;
	if ((perm[0] != 'r' && perm[0] != '-') || (perm[1] != 'w' && perm[1] != '-') ||
	    (perm[2] != 'x' && perm[2] != '-') || (perm[3] != 's' && perm[3] != 'p'))
		return -1;
	m->r = perm[0] == 'r';
	m->w = perm[1] == 'w';
	m->x = perm[2] == 'x';
	m->shared = perm[3] == 's';
	s += 4;
	if (proc_expect(&s, end, ' ') < 0 || proc_parse_hex(&s, end, &m->offset) < 0 ||
	    proc_expect(&s, end, ' ') < 0 || proc_parse_hex(&s, end, &major) < 0 ||
	    proc_expect(&s, end, ':') < 0 || proc_parse_hex(&s, end, &minor) < 0 ||
	    proc_expect(&s, end, ' ') < 0 || proc_parse_dec(&s, end, &m->inode) < 0)
		return -1;
	if (major > 0xffffffffu || minor > 0xffffffffu)
		return -1;
	m->dev_major = major;
	m->dev_minor = minor;
	if (s < end && *s != ' ')
		return -1;
	while (s < end && *s == ' ')
		s++;
	if (memchr(s, '\0', end - s))
		return -1;
	m->path = strndup(s, end - s);
	if (!m->path) {
		cp_error("out of memory");
		return -2;
	}
	return 0;
}

static int proc_map_cmp(const void *a, const void *b)
{
	const struct proc_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int proc_maps_parse(struct proc_maps *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t cap = 0, line = 0;
	int sorted = 1;

	m->maps = NULL;
	m->n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;
		struct proc_map pm = { 0 };

		line++;
		if (CP_GROW(m->maps, cap, m->n + 1) < 0)
			goto fail;
		switch (proc_maps_parse_line(&pm, p, eol)) {
		case -1:
			cp_error("malformed maps line %zu: \"%.*s\"", line,
				 (int)(eol - p > 80 ? 80 : eol - p), p);
			goto fail;
		case -2:
			goto fail;
		}
		if (m->n && pm.start < m->maps[m->n - 1].start)
			sorted = 0;
		m->maps[m->n++] = pm;
		p = nl ? nl + 1 : end;
	}
	/* The kernel lists mappings in order, but a read split across changes to
	 * the target can repeat or reorder one. */
	if (!sorted)
		qsort(m->maps, m->n, sizeof(*m->maps), proc_map_cmp);
	/* Lookups search by address, so keep the first of overlapping entries. */
	if (m->n) {
		size_t kept = 1;
		for (size_t i = 1; i < m->n; i++) {
			if (m->maps[i].start < m->maps[kept - 1].end)
				free(m->maps[i].path);
			else
				m->maps[kept++] = m->maps[i];
		}
		m->n = kept;
	}
	return 0;
fail:
	proc_maps_release(m);
	return -1;
}

int proc_maps_read(struct proc_maps *m, pid_t pid)
{
	char path[64], *text;
	ssize_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	len = proc_read_file(path, &text);
	if (len < 0) {
		if (proc_errno_gone(errno))
			return cp_error_errno(ESRCH, "no such process %d", (int)pid);
		return cp_error("cannot read %s: %s", path, strerror(errno));
	}
	/* A zombie or exiting process has no mm: its maps read empty. So do a
	 * process's whose main thread exited while the others run on: theirs
	 * are the process's. */
	if (len == 0) {
		pid_t tid = proc_live_thread(pid);

		free(text);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/maps", (int)pid, (int)tid);
		len = tid > 0 ? proc_read_file(path, &text) : -1;
		if (len > 0)
			goto parse;
		if (len == 0)
			free(text);
		return cp_error("process %d has no address space (exited?)", (int)pid);
	}
parse:
	r = proc_maps_parse(m, text, len);
	free(text);
	return r;
}

void proc_maps_release(struct proc_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->n = 0;
}

const struct proc_map *proc_maps_find(const struct proc_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->maps[mid].start)
			hi = mid;
		else if (addr >= m->maps[mid].end)
			lo = mid + 1;
		else
			return &m->maps[mid];
	}
	return NULL;
}

int proc_tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

int proc_children(pid_t pid, pid_t **pids, size_t *n, size_t *cap)
{
	pid_t *tids;
	ssize_t nt = proc_tasks(pid, &tids);
	int rc = 0;

	for (ssize_t i = 0; i < nt && rc == 0; i++) {
		char path[96];
		long child;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tids[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (rc == 0 && fscanf(f, "%ld", &child) == 1) {
			if (cp_grow(pids, cap, *n + 1, sizeof(pid_t)) < 0)
				rc = -1;
			else
				(*pids)[(*n)++] = child;
		}
		fclose(f);
	}
	if (nt > 0)
		free(tids);
	return rc;
}

ssize_t proc_tasks(pid_t pid, pid_t **tids)
{
	char path[64];
	struct dirent *de;
	pid_t *t = NULL;
	size_t n = 0, cap = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d) {
		if (proc_errno_gone(errno))
			return cp_error_errno(ESRCH, "no such process %d", (int)pid);
		return cp_error("cannot read %s: %s", path, strerror(errno));
	}
	for (;;) {
		char *e;
		long tid;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		tid = strtol(de->d_name, &e, 10);
		if (*e || tid <= 0)
			continue;
		if (CP_GROW(t, cap, n + 1) < 0)
			goto fail;
		t[n++] = tid;
	}
	if (errno) {
		if (proc_errno_gone(errno))
			cp_error_errno(ESRCH, "no such process %d", (int)pid);
		else
			cp_error("cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	closedir(d);
	/* Every thread gone but the directory still open: the process exited. */
	if (!n) {
		free(t);
		return cp_error_errno(ESRCH, "no such process %d", (int)pid);
	}
	qsort(t, n, sizeof(*t), proc_tid_cmp);
	*tids = t;
	return n;
fail:
	free(t);
	closedir(d);
	return -1;
}

void proc_thread_name(pid_t pid, pid_t tid, char *buf, size_t n)
{
	char path[64];
	ssize_t r;

	if (!n)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	r = proc_read_small(path, buf, n);
	if (r < 0) {
		buf[0] = '\0';
		return;
	}
	if (r > 0 && buf[r - 1] == '\n')
		buf[r - 1] = '\0';
}

/* The state in LINE, a stat file's text, and the name into BUF (N bytes; none
 * if N is 0); 0 when LINE is no stat line. */
static char proc_stat_fields(const char *line, char *buf, size_t n)
{
	/* The name in parentheses may itself hold ") ": the state follows the last one. */
	const char *lp = strchr(line, '('), *rp = strrchr(line, ')');
	size_t len;

	if (!lp || !rp || rp < lp || rp[1] != ' ' || !rp[2])
		return 0;
	if (n) {
		len = (size_t)(rp - lp - 1) < n - 1 ? (size_t)(rp - lp - 1) : n - 1;
		memcpy(buf, lp + 1, len);
		buf[len] = '\0';
	}
	return rp[2];
}

char proc_thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (proc_read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	return proc_stat_fields(buf, NULL, 0);
}

char proc_task_stat(int taskdir, pid_t tid, char *buf, size_t n)
{
	char path[32], line[512];

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%d/stat", (int)tid);
	if (proc_read_small_at(taskdir, path, line, sizeof(line)) < 0)
		return 0;
	return proc_stat_fields(line, buf, n);
}

void proc_cmdline(pid_t pid, char *buf, size_t n)
{
	char path[64], *text;
	ssize_t len;
	size_t k;

	if (!n)
		return;
	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	len = proc_read_file(path, &text);
	if (len < 0)
		return;
	while (len > 0 && text[len - 1] == '\0')
		len--;
	if (len == 0) {
		pid_t tid = proc_live_thread(pid);

		/* Kernel threads and zombies have an empty command line; so has a
		 * main thread that exited before the others, who still know it. */
		free(text);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/cmdline", (int)pid, (int)tid);
		len = tid > 0 && tid != pid ? proc_read_file(path, &text) : -1;
		while (len > 0 && text[len - 1] == '\0')
			len--;
		if (len <= 0) {
			if (len == 0)
				free(text);
			proc_thread_name(pid, pid, buf, n);
			return;
		}
	}
	k = (size_t)len < n - 1 ? (size_t)len : n - 1;
	for (size_t i = 0; i < k; i++)
		buf[i] = text[i] ? text[i] : ' ';
	buf[k] = '\0';
	free(text);
}

int proc_cpu_times(pid_t pid, int64_t *user_ns, int64_t *system_ns)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (proc_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	/* After the name: state (field 3) ... utime and stime (fields 14 and 15). */
	p = strrchr(buf, ')');
	if (!p || hz <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	*user_ns = (int64_t)(utime * (1000000000.0 / hz));
	*system_ns = (int64_t)(stime * (1000000000.0 / hz));
	return 0;
}

int64_t proc_cpu_ns(pid_t pid)
{
	int64_t user, system;

	return proc_cpu_times(pid, &user, &system) < 0 ? -1 : user + system;
}

int proc_stat_read(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *open, *close;
	unsigned long long v[6];
	long threads;
	int ppid;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (proc_read_small(path, buf, sizeof(buf)) < 0)
		return proc_errno_gone(errno) ? cp_error_errno(ESRCH, "no such process %d", (int)pid) :
			cp_error_errno(errno, "cannot read %s: %s", path, strerror(errno));
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	/* Fields 4 (ppid), 9 (flags), 14, 15 (utime, stime), 20 (threads), 22 (start), 23
	 * and 24 (vsize, rss). */
	if (!open || !close || close < open ||
	    sscanf(close + 1, " %c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
		   "%*d %ld %*d %llu %llu %llu", &st->state, &ppid, &st->flags, &v[0], &v[1],
		   &threads, &v[2], &v[3], &v[4]) != 9)
		return cp_error("cannot parse %s", path);
	n = (size_t)(close - open - 1);
	if (n >= sizeof(st->comm))
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, n);
	st->comm[n] = '\0';
	st->ppid = (pid_t)ppid;
	st->utime = v[0];
	st->stime = v[1];
	st->threads = threads;
	st->start = v[2];
	st->vsize = v[3];
	st->rss = v[4];
	return 0;
}

uint64_t proc_start_ticks(pid_t pid)
{
	struct proc_stat st;

	return proc_stat_read(pid, &st) < 0 ? 0 : st.start;
}

int proc_uids(pid_t pid, uid_t uids[3])
{
	char path[64], buf[4096], *line;
	unsigned long r, e, sv;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (proc_read_small(path, buf, sizeof(buf)) < 0)
		return proc_errno_gone(errno) ? cp_error_errno(ESRCH, "no such process %d", (int)pid) :
			cp_error_errno(errno, "cannot read %s: %s", path, strerror(errno));
	line = strstr(buf, "\nUid:");
	if (!line || sscanf(line + 5, "%lu %lu %lu", &r, &e, &sv) != 3)
		return cp_error("cannot parse %s", path);
	uids[0] = (uid_t)r;
	uids[1] = (uid_t)e;
	uids[2] = (uid_t)sv;
	return 0;
}

long proc_sysctl(const char *name, long unknown)
{
	char path[128];
	FILE *f;
	long v;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	if (!(f = fopen(path, "r")))
		return unknown;
	if (fscanf(f, "%ld", &v) != 1)
		v = unknown;
	fclose(f);
	return v;
}

bool proc_has_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (cap < 0 || cap >= 64 || syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[cap / 32].effective >> (cap % 32) & 1;
}
