/* cprof record's local store: windows written whole, listed from their
 * names, removed oldest first. */
#include <dirent.h>
#include <regex.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "errmsg.h"
#include "fileio.h"
#include "grow.h"
#include "hmap.h"
#include "pprof.h"
#include "profile.h"
#include "store.h"

struct store {
	char *dir;
	int lock_fd;
	char tagset[17];
	struct store_window *ws; /* in seq order */
	size_t n, cap;
	uint64_t seq;            /* the last given */
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
	if (strlen(name) >= sizeof(w->path) - 10 || sscanf(day, "%4d%2d%2d", &y, &mo, &d) != 3 ||
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
	snprintf(w->path, sizeof(w->path), "%.8s/%s", day, name);
	return true;
}

/* Is NAME a temporary file that file_write_output left when killed? */
static bool store_is_leftover(const char *name)
{
	const char *t = strstr(name, ".pb.gz.tmp");

	return t && strlen(t) == strlen(".pb.gz.tmp") + 6;
}

/* Remove the temporary files a killed writer left in DIR/SUB (named as
 * file_write_output names them where it cannot make unnamed ones). */
static void store_clean(const char *dir, const char *sub)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		const char *t = strstr(e->d_name, ".tmp");

		if (t && strlen(t) == 10)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
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
	if (*n > 1)
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
	store_clean(dir, "cursors");
	store_clean(dir, "tags");
	if (store_scan(dir, true, &st->ws, &st->n, &st->cap) < 0)
		goto fail;
	for (size_t i = 0; i < st->n; i++)
		st->ws[i].seq = ++st->seq;
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
	/* Names the set, the same for the same tags in any order. */
	snprintf(st->tagset, sizeof(st->tagset), "%016llx",
		 (unsigned long long)hash_bytes(HASH_SEED, text, len));
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

int store_write(const struct store *st, struct store_window *w, const void *buf, size_t len)
{
	char day[16], path[4096], name[33];
	time_t secs;
	struct tm tm;
	size_t i;

	/* To the millisecond, as the name will say when the store is read again. */
	w->start_ns -= w->start_ns % 1000000;
	secs = (time_t)(w->start_ns / 1000000000);
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
	return 0;
}

int store_commit(struct store *st, struct store_window *w)
{
	if (CP_GROW(st->ws, st->cap, st->n + 1) < 0)
		return -1;
	w->seq = ++st->seq;
	st->ws[st->n++] = *w;
	return 0;
}

ssize_t store_retain(struct store *st, int64_t max_age_ns, uint64_t max_bytes, int64_t now_ns,
		     void (*fn)(const struct store_window *w, void *ctx), void *ctx)
{
	uint64_t total = 0;
	size_t drop = 0;
	bool failed = false;

	for (size_t i = 0; i < st->n; i++)
		total += st->ws[i].bytes;
	while (drop + 1 < st->n &&
	       ((max_age_ns && st->ws[drop].start_ns + st->ws[drop].duration_ns < now_ns - max_age_ns) ||
		(max_bytes && total > max_bytes))) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", st->dir, st->ws[drop].path);
		if (unlink(path) < 0 && errno != ENOENT) {
			cp_error_errno(errno, "cannot remove %s: %s", path, strerror(errno));
			failed = true;
			break;
		}
		/* The day's directory goes with its last window (rmdir fails until then). */
		*strrchr(path, '/') = '\0';
		rmdir(path);
		total -= st->ws[drop].bytes;
		if (fn)
			fn(&st->ws[drop], ctx);
		drop++;
	}
	if (drop > 0) {
		memmove(st->ws, st->ws + drop, (st->n - drop) * sizeof(*st->ws));
		st->n -= drop;
	}
	return failed ? -1 : (ssize_t)drop;
}

/* Do the tags of window W (in the store at DIR) hold all of SEL's? */
static bool store_has_tags(const char *dir, const struct store_window *w,
			   const struct store_select *sel)
{
	char *tags;
	bool all = true;

	if (sel->ntags == 0)
		return true;
	tags = store_tags(dir, w->tagset);
	if (!tags)
		return false;
	for (size_t i = 0; all && i < sel->ntags; i++) {
		size_t len = strlen(sel->tags[i]);
		const char *p = tags;

		all = false;
		for (; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
			if (strncmp(p, sel->tags[i], len) == 0 && (p[len] == '\n' || p[len] == '\0')) {
				all = true;
				break;
			}
	}
	free(tags);
	return all;
}

/* Carry window W's comments (P's) over to MERGED, each after the window's
 * start (UTC), process name and pid. Returns 0 or -1. */
static int store_add_comments(struct profile *merged, const struct profile *p,
			      const struct store_window *w)
{
	time_t t = (time_t)(w->start_ns / 1000000000);
	char when[32], *text;
	struct tm tm;
	int rc;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	for (size_t i = 0; i < p->ncomments; i++) {
		if (asprintf(&text, "%s %s %d %s", when, w->name, (int)w->pid,
			     p->strings[p->comments[i]]) < 0)
			return cp_error("out of memory");
		rc = profile_add_comment(merged, text);
		free(text);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Add window W of the store at DIR to *MERGED (made like W's profile if NULL). */
static int store_add(const char *dir, const struct store_window *w, struct profile **merged)
{
	char path[4096];
	struct profile *p;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, w->path);
	p = pprof_read(path);
	if (!p)
		return -1;
	if (!*merged && !(*merged = profile_new_like(p)))
		goto out;
	if (p->nsample_types != (*merged)->nsample_types) {
		cp_error("%s: its sample types are not the other windows'", path);
		goto out;
	}
	if (profile_add_profile(*merged, p, -1, 1.0, NULL, NULL) < 0 ||
	    store_add_comments(*merged, p, w) < 0)
		goto out;
	rc = 0;
out:
	profile_free(p);
	return rc;
}

/* The kind of windows SEL selects: cpu unless it says. */
static const char *store_kind(const struct store_select *sel)
{
	return sel->kind ? sel->kind : "cpu";
}

/* Keep (moved to the front of WS, in order) the N windows that SEL selects
 * (its name compiled into RE) of KIND; with NEWEST, of heap windows,
 * snapshots, only the newest of each process (pid and name). Returns how
 * many are kept. */
static size_t store_select_windows(const char *dir, const struct store_select *sel,
				   const regex_t *re, const char *kind, struct store_window *ws,
				   size_t n, bool newest)
{
	size_t m = 0, kept = 0;

	for (size_t i = 0; i < n; i++) {
		const struct store_window *w = &ws[i];

		if (strcmp(w->kind, kind) != 0 || (sel->pid && w->pid != sel->pid) ||
		    (sel->from_ns && w->start_ns < sel->from_ns) ||
		    (sel->to_ns && w->start_ns >= sel->to_ns) ||
		    (sel->name && regexec(re, w->name, 0, NULL, 0) != 0) ||
		    !store_has_tags(dir, w, sel))
			continue;
		ws[m++] = *w;
	}
	if (!newest || strcmp(kind, "heap") != 0)
		return m;
	/* From the newest back: a window whose process has a newer one goes. */
	for (size_t i = m; i-- > 0;) {
		bool newer = false;

		for (size_t j = m - kept; !newer && j < m; j++)
			newer = ws[j].pid == ws[i].pid && strcmp(ws[j].name, ws[i].name) == 0;
		if (!newer) {
			struct store_window w = ws[i];

			memmove(&ws[i], &ws[i + 1], (m - kept - i - 1) * sizeof(*ws));
			ws[m - ++kept] = w;
		}
	}
	memmove(ws, ws + m - kept, kept * sizeof(*ws));
	return kept;
}

int store_windows(const char *dir, const struct store_select *sel, struct store_window **ws,
		  size_t *n)
{
	regex_t re;
	int rc = -1;

	if (sel->name && cp_regcomp(&re, sel->name) < 0)
		return -1;
	if (store_list(dir, ws, n) == 0) {
		*n = store_select_windows(dir, sel, &re, store_kind(sel), *ws, *n,
					  false);
		rc = 0;
	}
	if (sel->name)
		regfree(&re);
	return rc;
}

struct profile *store_read(const char *dir, const struct store_select *sel, size_t *n)
{
	struct store_window *ws;
	struct profile *merged = NULL;
	int64_t first = 0, last = 0;
	size_t count;
	regex_t re;

	*n = 0;
	if (sel->name && cp_regcomp(&re, sel->name) < 0)
		return NULL;
	if (store_list(dir, &ws, &count) < 0)
		goto out_re;
	count = store_select_windows(dir, sel, &re, store_kind(sel), ws, count, true);
	for (size_t i = 0; i < count; i++) {
		const struct store_window *w = &ws[i];
		int64_t end = w->start_ns + w->duration_ns;

		if (store_add(dir, w, &merged) < 0) {
			/* Removed by a running record's retention since the listing. */
			if (cp_errno() == ENOENT)
				continue;
			profile_free(merged);
			merged = NULL;
			goto out;
		}
		if (*n == 0)
			first = w->start_ns;
		last = end > last ? end : last;
		(*n)++;
	}
	if (!merged) {
		cp_error_errno(ENOENT, "no %s window in store %s matches%s%s%s%s",
			       store_kind(sel), dir,
			       sel->name ? " the name " : "", sel->name ? sel->name : "",
			       sel->from_ns || sel->to_ns ? " in that time range" : "",
			       sel->ntags ? " with those tags" : "");
		goto out;
	}
	merged->time_nanos = first;
	merged->duration_nanos = last - first;
out:
	free(ws);
out_re:
	if (sel->name)
		regfree(&re);
	return merged;
}

int store_parse_time(const char *s, int64_t now_ns, int64_t *ns)
{
	static const char *const formats[] = { "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%H:%M" };
	struct tm tm = { 0 };
	time_t now = (time_t)(now_ns / 1000000000);
	const char *end;
	int64_t ago;
	bool utc;

	if (strcmp(s, "now") == 0) {
		*ns = now_ns;
		return 0;
	}
	if (s[0] == '-') {
		if (duration_parse(s + 1, &ago) < 0)
			return cp_error("bad time '%s': a duration ago is written -90m, -2h", s);
		*ns = now_ns - ago;
		return 0;
	}
	end = NULL;
	/* A time of day alone is today's, in UTC where a Z says so. */
	utc = s[0] && s[strlen(s) - 1] == 'Z';
	/* Each format from today afresh: a failed one may have set some fields. */
	for (size_t i = 0; !end && i < sizeof(formats) / sizeof(*formats); i++) {
		if (utc)
			gmtime_r(&now, &tm);
		else
			localtime_r(&now, &tm);
		tm.tm_sec = 0;
		end = strptime(s, formats[i], &tm);
	}
	if (!end)
		return cp_error("bad time '%s': give 10:00, 2026-12-06T10:00[:SS][Z], now or -1h", s);
	if (*end == ':' && !(end = strptime(end, ":%S", &tm)))
		return cp_error("bad time '%s': bad seconds", s);
	if (*end != (utc ? 'Z' : '\0') || (utc && end[1]))
		return cp_error("bad time '%s': give 10:00, 2026-12-06T10:00[:SS][Z], now or -1h", s);
	tm.tm_isdst = -1;
	*ns = (int64_t)(utc ? timegm(&tm) : mktime(&tm)) * 1000000000;
	return 0;
}

bool store_next(const struct store *st, uint64_t seq, struct store_window *w)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->ws[i].seq > seq) {
			*w = st->ws[i];
			return true;
		}
	return false;
}

uint64_t store_seq_at(const struct store *st, int64_t start_ns, const char *path)
{
	uint64_t seq = 0;

	for (size_t i = 0; i < st->n; i++) {
		const struct store_window *w = &st->ws[i];

		if ((w->start_ns < start_ns || (w->start_ns == start_ns && strcmp(w->path, path) <= 0)) &&
		    w->seq > seq)
			seq = w->seq;
	}
	return seq;
}

bool store_last(const struct store *st, struct store_window *w)
{
	if (st->n == 0)
		return false;
	*w = st->ws[st->n - 1];
	return true;
}

const char *store_dir(const struct store *st)
{
	return st->dir;
}

int store_cursor_load(const struct store *st, const char *key, int64_t *start_ns, char *path)
{
	char file[4096], *buf;
	size_t len;
	long long start = 0;
	int rc;

	snprintf(file, sizeof(file), "%s/cursors/%s", st->dir, key);
	if (access(file, F_OK) != 0)
		return 0;
	if (file_read_all(file, &buf, &len) < 0)
		return -1;
	rc = sscanf(buf, "%lld %255s", &start, path) == 2 ? 1 : cp_error("%s: not a cursor", file);
	*start_ns = start;
	free(buf);
	return rc;
}

int store_cursor_save(const struct store *st, const char *key, int64_t start_ns,
		      const char *path)
{
	char file[4096], line[300];
	int n;

	snprintf(file, sizeof(file), "%s/cursors", st->dir);
	if (store_mkdir(file) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s/cursors/%s", st->dir, key);
	n = snprintf(line, sizeof(line), "%lld %s\n", (long long)start_ns, path);
	return file_write_output(file, line, (size_t)n);
}
