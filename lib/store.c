/* cprof record's local store: windows written whole, listed from their
 * names, removed oldest first. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "fileio.h"
#include "grow.h"
#include "store.h"

struct store {
	char *dir;
	int lock_fd;
	char tagset[17];
	struct store_window *ws; /* oldest first */
	size_t n, cap;
};

static int store_cmp(const void *a, const void *b)
{
	const struct store_window *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Parse DAY/NAME (a day directory's entry) into W; false if it is no window. */
static bool store_parse(const char *day, const char *name, struct store_window *w)
{
	int y, mo, d, h, mi, s, ms, pid, used = 0;
	long long dur;
	struct tm tm = { 0 };

	memset(w, 0, sizeof(*w));
	if (sscanf(day, "%4d%2d%2d", &y, &mo, &d) != 3 ||
	    sscanf(name, "%2d%2d%2d.%3d_%lld_%63[^_]_%d_%15[^_]_%16[^.].pb.gz%n", &h, &mi, &s, &ms,
		   &dur, w->name, &pid, w->kind, w->tagset, &used) != 9 ||
	    name[used] != '\0' || dur < 0 || pid <= 0)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	w->start_ns = (int64_t)timegm(&tm) * 1000000000 + (int64_t)ms * 1000000;
	w->duration_ns = dur * 1000000;
	w->pid = pid;
	snprintf(w->path, sizeof(w->path), "%.8s/%.100s", day, name);
	return true;
}

/* Is NAME a temporary file that file_write_output left when killed? */
static bool store_is_leftover(const char *name)
{
	const char *t = strstr(name, ".pb.gz.tmp");

	return t && strlen(t) == strlen(".pb.gz.tmp") + 6;
}

/* List DIR's windows into *WS; with CLEAN, remove leftovers as they are met. */
static int store_scan(const char *dir, bool clean, struct store_window **ws, size_t *n,
		      size_t *cap)
{
	struct dirent *de, *fe;
	DIR *d = opendir(dir);

	if (!d)
		return cp_error_errno(errno, "cannot read store %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		char path[4096];
		DIR *day;

		if (strlen(de->d_name) != 8 || strspn(de->d_name, "0123456789") != 8)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!(day = opendir(path)))
			continue;
		while ((fe = readdir(day))) {
			struct store_window w;
			struct stat st;

			if (clean && store_is_leftover(fe->d_name)) {
				unlinkat(dirfd(day), fe->d_name, 0);
				continue;
			}
			if (!store_parse(de->d_name, fe->d_name, &w) ||
			    fstatat(dirfd(day), fe->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
				continue;
			w.bytes = (uint64_t)st.st_size;
			if (CP_GROW(*ws, *cap, *n + 1) < 0) {
				closedir(day);
				closedir(d);
				return -1;
			}
			(*ws)[(*n)++] = w;
		}
		closedir(day);
	}
	closedir(d);
	qsort(*ws, *n, sizeof(**ws), store_cmp);
	return 0;
}

int store_list(const char *dir, struct store_window **ws, size_t *n)
{
	size_t cap = 0;

	*ws = NULL;
	*n = 0;
	if (store_scan(dir, false, ws, n, &cap) < 0) {
		free(*ws);
		*ws = NULL;
		return -1;
	}
	return 0;
}

/* Make directory PATH (mode 0700) unless it is there. */
static int store_mkdir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return cp_error_errno(errno, "cannot make %s: %s", path, strerror(errno));
	return 0;
}

struct store *store_open(const char *dir)
{
	struct store *st = calloc(1, sizeof(*st));
	char path[4096], pid[32];
	ssize_t got;

	if (!st || !(st->dir = strdup(dir))) {
		free(st);
		cp_error("out of memory");
		return NULL;
	}
	st->lock_fd = -1;
	strcpy(st->tagset, "0");
	if (store_mkdir(dir) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/.lock", dir);
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0) {
		cp_error_errno(errno, "cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		got = pread(st->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[got > 0 ? got : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		cp_error_errno(EBUSY, "store %s is in use by another cprof record (pid %s)", dir,
			       pid[0] ? pid : "?");
		goto fail;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(st->lock_fd, 0) < 0 || pwrite(st->lock_fd, pid, strlen(pid), 0) < 0) {
		cp_error_errno(errno, "cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	if (store_scan(dir, true, &st->ws, &st->n, &st->cap) < 0)
		goto fail;
	return st;
fail:
	store_close(st);
	return NULL;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st->ws);
	free(st->dir);
	free(st);
}

static int store_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_set_tags(struct store *st, char *const *tags, size_t ntags)
{
	char **sorted, *text = NULL, path[4096];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t len = 0;
	FILE *f;
	int rc = -1;

	if (ntags == 0) {
		strcpy(st->tagset, "0");
		return 0;
	}
	sorted = malloc(ntags * sizeof(*sorted));
	f = open_memstream(&text, &len);
	if (!sorted || !f) {
		free(sorted);
		if (f)
			fclose(f);
		free(text);
		return cp_error("out of memory");
	}
	memcpy(sorted, tags, ntags * sizeof(*sorted));
	qsort(sorted, ntags, sizeof(*sorted), store_strcmp);
	for (size_t i = 0; i < ntags; i++)
		fprintf(f, "%s\n", sorted[i]);
	if (fclose(f) != 0) {
		cp_error("out of memory");
		goto out;
	}
	/* FNV-1a: names the set, the same for the same tags in any order. */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
	snprintf(st->tagset, sizeof(st->tagset), "%016llx", (unsigned long long)h);
	snprintf(path, sizeof(path), "%s/tags", st->dir);
	if (store_mkdir(path) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/tags/%s", st->dir, st->tagset);
	if (access(path, F_OK) != 0 && file_write_output(path, text, len) < 0)
		goto out;
	rc = 0;
out:
	free(sorted);
	free(text);
	return rc;
}

char *store_tags(const char *dir, const char *tagset)
{
	char path[4096], *buf;
	size_t len;

	if (strcmp(tagset, "0") == 0)
		return strdup("");
	snprintf(path, sizeof(path), "%s/tags/%.16s", dir, tagset);
	if (file_read_all(path, &buf, &len) < 0)
		return NULL;
	return buf;
}

int store_put(struct store *st, struct store_window *w, const void *buf, size_t len)
{
	char day[16], path[4096], name[64];
	time_t secs = (time_t)(w->start_ns / 1000000000);
	struct tm tm;
	size_t i;

	gmtime_r(&secs, &tm);
	for (i = 0; w->name[i] && i < sizeof(name) - 1; i++) {
		char c = w->name[i];

		name[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '+' ? c : '-';
	}
	name[i] = '\0';
	if (i == 0)
		strcpy(name, "-");
	memcpy(w->name, name, sizeof(name));
	memcpy(w->tagset, st->tagset, sizeof(w->tagset));
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	snprintf(path, sizeof(path), "%s/%s", st->dir, day);
	if (store_mkdir(path) < 0)
		return -1;
	snprintf(w->path, sizeof(w->path), "%s/%02d%02d%02d.%03d_%lld_%s_%d_%s_%s.pb.gz", day,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(w->start_ns / 1000000 % 1000),
		 (long long)(w->duration_ns / 1000000), name, (int)w->pid, w->kind, w->tagset);
	snprintf(path, sizeof(path), "%s/%s", st->dir, w->path);
	if (file_write_output(path, buf, len) < 0)
		return -1;
	w->bytes = len;
	if (CP_GROW(st->ws, st->cap, st->n + 1) < 0)
		return -1;
	st->ws[st->n++] = *w;
	return 0;
}

ssize_t store_retain(struct store *st, int64_t max_age_ns, uint64_t max_bytes, int64_t now_ns)
{
	uint64_t total = 0;
	size_t drop = 0;

	for (size_t i = 0; i < st->n; i++)
		total += st->ws[i].bytes;
	while (drop + 1 < st->n &&
	       ((max_age_ns && st->ws[drop].start_ns + st->ws[drop].duration_ns < now_ns - max_age_ns) ||
		(max_bytes && total > max_bytes))) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", st->dir, st->ws[drop].path);
		if (unlink(path) < 0 && errno != ENOENT)
			return cp_error_errno(errno, "cannot remove %s: %s", path, strerror(errno));
		/* The day's directory goes with its last window (rmdir fails until then). */
		*strrchr(path, '/') = '\0';
		rmdir(path);
		total -= st->ws[drop].bytes;
		drop++;
	}
	memmove(st->ws, st->ws + drop, (st->n - drop) * sizeof(*st->ws));
	st->n -= drop;
	return (ssize_t)drop;
}
