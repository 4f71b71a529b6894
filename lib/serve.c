/* cprof serve: the HTTP side (requests, access, replies, logging) over
 * libmicrohttpd, and the endpoints, each answered by the library's own
 * profilers: a CPU profile per request, a thread dump per request, the
 * running heap session of a process, and /proc for /metrics. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cpu.h"
#include "errmsg.h"
#include "fileio.h"
#include "grow.h"
#include "live.h"
#include "metrics.h"
#include "pprof.h"
#include "proc.h"
#include "render.h"
#include "route.h"
#include "serve.h"
#include "threads.h"

#define SERVE_DEFAULT_SECONDS 30
#define SERVE_DEFAULT_FREQUENCY 99
#define SERVE_MAX_BODY 65536       /* a symbol request's addresses */
#define SERVE_MAX_LISTED 200       /* processes of --allow-uid users in the index */
#define SERVE_IDLE_TIMEOUT 30      /* seconds a connection may sit idle */
#define SERVE_DRAIN_NS 10000000000LL /* the longest a stop waits for requests in flight */
#define SERVE_TEXT "text/plain; charset=utf-8"

/* A process given by pid: its identity (pid and start time), so that a pid
 * reused by another process is not served in its place. */
struct serve_proc {
	pid_t pid;
	uint64_t start;
	struct live *heap; /* with serve --heap */
};

/* A CPU profile in flight: another of the same process waits until END_NS. */
struct serve_busy {
	pid_t pid;
	int64_t end_ns;
};

struct serve {
	struct serve_opts o;
	struct serve_proc *procs;
	size_t nprocs;
	struct MHD_Daemon *daemon;
	unsigned port;
	pthread_mutex_t lock; /* busy */
	struct serve_busy *busy;
	size_t nbusy, busy_cap;
	/* Thread dumps one at a time: the snapshotter keeps threads that would
	 * not stop in a list of its own. */
	pthread_mutex_t dump_lock;
	unsigned inflight; /* requests begun and not yet done (under lock) */
	/* While the daemon starts (its threads may log), libmicrohttpd's
	 * message, kept for the error line (its own names a port of 0, as the
	 * address is given whole). */
	bool starting;
	char start_msg[256];
};

/* One request, from its first line to its log line. */
struct serve_req {
	char *target;       /* as sent, cut at ROUTE_MAX_TARGET + 1 bytes */
	size_t target_len;
	char client[64];
	char method[40];    /* escaped for the log */
	int64_t start_ns;
	unsigned calls;     /* of the access handler */
	size_t body;        /* bytes of body received */
	unsigned status;    /* 0 until a reply is queued */
	size_t bytes;
};

/* A reply being made: its status, type and body (malloc'ed). */
struct serve_reply {
	unsigned status;
	const char *type;
	char *body;
	size_t len;
	char location[96];
	int retry_after;    /* seconds, or 0 */
	const char *disposition;
};

static void serve_log(const struct serve *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void serve_log(const struct serve *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!s->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o.log(line, s->o.ctx);
}

int serve_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai;
	const char *colon = strrchr(listen, ':'), *given = listen;
	char host[256], *end;
	size_t hl;
	long port;
	int rc;

	if (!colon || colon[1] == '\0')
		return cp_error_errno(EINVAL, "bad address '%s': give ADDR:PORT, e.g. 127.0.0.1:6060",
				      listen);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return cp_error_errno(EINVAL, "bad port in '%s': a number from 0 to 65535", listen);
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return cp_error_errno(EINVAL, "bad address '%s': host name too long", given);
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (hl == 0)
		hints.ai_family = AF_INET;
	rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0)
		return cp_error_errno(EINVAL, "bad address '%s': %s", given, gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

bool serve_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Does a request's Host header (NULL: none, as HTTP/1.0 allows) name this
 * machine's loopback: localhost, 127.x.y.z or [::1], with any port? */
static bool serve_host_loopback(const char *host)
{
	struct sockaddr_storage ss = { 0 };
	char name[64];
	const char *end;
	size_t n;

	if (!host)
		return true;
	if (host[0] == '[') {
		end = strchr(host, ']');
		host++;
	} else {
		end = strchr(host, ':');
	}
	n = end ? (size_t)(end - host) : strlen(host);
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, name, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, name, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return serve_loopback(&ss);
}

/* Equal, in a time that depends on WANT's length only. */
static bool serve_token_equal(const char *given, const char *want)
{
	size_t gl = strlen(given), wl = strlen(want);
	unsigned char d = gl != wl;

	for (size_t i = 0; i < wl; i++)
		d |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? given[i] : 0);
	return d == 0;
}

static void serve_reply_text(struct serve_reply *rp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An error or a short text: one line. */
static void serve_reply_text(struct serve_reply *rp, unsigned status, const char *fmt, ...)
{
	va_list ap;
	int n;

	rp->status = status;
	rp->type = SERVE_TEXT;
	va_start(ap, fmt);
	n = vasprintf(&rp->body, fmt, ap);
	va_end(ap);
	if (n < 0) {
		rp->body = NULL;
		rp->len = 0;
		return;
	}
	rp->len = (size_t)n;
}

/* The library's last error as the reply, with STATUS. */
static void serve_reply_error(struct serve_reply *rp, unsigned status)
{
	serve_reply_text(rp, status, "%s\n", cp_errmsg());
}

/* Is PID still the process SP was when the server started (SP NULL: any
 * process will do)? Else a 404 into RP. Asked again once the process is
 * attached (its pidfd pins it), so a pid reused in between is caught. */
static bool serve_same(const struct serve_proc *sp, pid_t pid, struct serve_reply *rp)
{
	uint64_t start;

	if (!sp)
		return true;
	start = proc_start_ticks(pid);
	if (start == 0)
		serve_reply_text(rp, 404, "process %d has exited\n", (int)pid);
	else if (start != sp->start)
		serve_reply_text(rp, 404, "process %d has exited (its pid now names another "
				 "process, which is not served)\n", (int)pid);
	return start != 0 && start == sp->start;
}

/* The status for the library's last error: the process gone, or not ours to trace. */
static unsigned serve_status_of(int err)
{
	return err == ESRCH ? 404 : err == EPERM || err == EACCES ? 403 : 500;
}

/* Is process PID one of an allowed user's: its real, effective and saved
 * uids all allowed (a setuid program started by an allowed user is not), and
 * neither this server nor a kernel thread? 1 yes, 0 no, -1 gone. */
static int serve_users_proc(const struct serve *s, pid_t pid)
{
	struct proc_stat st;
	uid_t uids[3];

	if (proc_stat_read(pid, &st) < 0 || proc_uids(pid, uids) < 0)
		return cp_errno() == ESRCH ? -1 : 0;
	if (pid == getpid() || (st.flags & PROC_KTHREAD))
		return 0;
	for (int k = 0; k < 3; k++) {
		bool allowed = false;

		for (size_t i = 0; i < s->o.nuids; i++)
			allowed |= uids[k] == s->o.uids[i];
		if (!allowed)
			return 0;
	}
	return 1;
}

/* Is PID served? 200 with *SP set for a process given by pid (NULL for a
 * user's), or the status of the refusal in RP. */
static unsigned serve_admit(struct serve *s, pid_t pid, struct serve_proc **sp,
			    struct serve_reply *rp)
{
	int mine;

	*sp = NULL;
	for (size_t i = 0; i < s->nprocs; i++) {
		if (s->procs[i].pid != pid)
			continue;
		if (!serve_same(&s->procs[i], pid, rp))
			return rp->status;
		*sp = &s->procs[i];
		return 200;
	}
	mine = s->o.nuids > 0 ? serve_users_proc(s, pid) : 0;
	if (mine > 0)
		return 200;
	if (mine < 0) {
		serve_reply_text(rp, 404, "no such process %d\n", (int)pid);
		return 404;
	}
	serve_reply_text(rp, 403, "process %d is not served: cprof serve serves the processes "
			 "given by --pid and those of the users given by --allow-uid\n", (int)pid);
	return 403;
}

/* The process a request is for: its pid, or the one process served. */
static unsigned serve_pick(struct serve *s, const struct route *r, struct serve_proc **sp,
			   pid_t *pid, struct serve_reply *rp)
{
	*pid = r->pid;
	if (!*pid) {
		if (s->nprocs != 1 || s->o.nuids > 0) {
			serve_reply_text(rp, 400, "give pid=PID: this server serves several "
					 "processes (listed at /debug/pprof/)\n");
			return 400;
		}
		*pid = s->procs[0].pid;
	}
	return serve_admit(s, *pid, sp, rp);
}

/* Claim PID for a CPU profile until END_NS; false (with the seconds to wait
 * in *WAIT) while another runs. */
static bool serve_claim(struct serve *s, pid_t pid, int64_t end_ns, int *wait)
{
	int64_t now = clock_ns(CLOCK_MONOTONIC);
	bool ok = true;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nbusy; i++)
		if (s->busy[i].pid == pid) {
			int64_t left = s->busy[i].end_ns - now;

			*wait = left > 0 ? (int)((left + 999999999) / 1000000000) + 1 : 1;
			ok = false;
		}
	if (ok) {
		if (CP_GROW(s->busy, s->busy_cap, s->nbusy + 1) == 0)
			s->busy[s->nbusy++] = (struct serve_busy){ pid, end_ns };
		else
			*wait = 1, ok = false;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void serve_unclaim(struct serve *s, pid_t pid)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nbusy; i++)
		if (s->busy[i].pid == pid) {
			s->busy[i] = s->busy[--s->nbusy];
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

/* Encode P as the reply, gzipped pprof. */
static void serve_reply_profile(struct serve_reply *rp, const struct profile *p)
{
	void *buf;
	size_t len;

	if (pprof_encode(p, &buf, &len) < 0) {
		serve_reply_error(rp, 500);
	} else {
		rp->status = 200;
		rp->type = "application/octet-stream";
		rp->disposition = "attachment; filename=\"profile\"";
		rp->body = buf;
		rp->len = len;
	}
}

static void serve_profile(struct serve *s, const struct route *r, const struct serve_proc *sp,
			  pid_t pid, struct serve_reply *rp)
{
	int seconds = r->seconds ? r->seconds :
		SERVE_DEFAULT_SECONDS < s->o.max_seconds ? SERVE_DEFAULT_SECONDS : s->o.max_seconds;
	struct cpu_opts co = {
		.mode = r->kind == ROUTE_BLOCK ? CPU_MODE_OFF : CPU_MODE_CPU,
		.max_rate = 10000, /* cprof offcpu's default */
		.frequency = r->frequency ? r->frequency : SERVE_DEFAULT_FREQUENCY,
		.duration_ns = seconds * 1000000000LL,
		.stop = s->o.stop,
	};
	struct cpu_stats st;
	struct target t;
	struct profile *p;
	int wait;

	co.stack_size = cpu_default_stack_size(co.mode, co.frequency);
	if (!serve_claim(s, pid, clock_ns(CLOCK_MONOTONIC) + co.duration_ns, &wait)) {
		serve_reply_text(rp, 429, "a CPU or block profile of process %d is being taken: "
				 "one at a time per process\n", (int)pid);
		rp->retry_after = wait;
		return;
	}
	if (target_attach(&t, pid) < 0) {
		serve_reply_error(rp, serve_status_of(cp_errno()));
		goto out;
	}
	if (!serve_same(sp, pid, rp)) {
		target_release(&t);
		goto out;
	}
	p = cpu_profile(&t, &co, &st);
	target_release(&t);
	if (!p) {
		serve_reply_error(rp, serve_status_of(cp_errno()));
	} else {
		serve_reply_profile(rp, p);
		profile_free(p);
	}
out:
	serve_unclaim(s, pid);
}

struct serve_dump {
	pid_t pid;
	const struct serve_proc *sp;
	int debug;
	struct serve_reply *rp;
};

/* A thread dump, on a thread of its own: a thread of the target seized but
 * not stopped in time stays seized by the thread that seized it, and the
 * kernel lets it go when that thread exits. */
static void *serve_dump_thread(void *arg)
{
	struct serve_dump *d = arg;
	struct threads_session *ts;
	struct target t;
	char cmdline[256];

	if (target_attach(&t, d->pid) < 0) {
		serve_reply_error(d->rp, serve_status_of(cp_errno()));
		return NULL;
	}
	ts = NULL;
	if (!serve_same(d->sp, d->pid, d->rp))
		goto out;
	if (target_check_access(&t, "trace") < 0) {
		serve_reply_error(d->rp, serve_status_of(cp_errno()));
		goto out;
	}
	ts = threads_session_new(d->pid, THREADS_STACK_SIZE);
	if (!ts || threads_poll(ts) < 0 || !threads_profile(ts)) {
		int err = cp_errno();

		if (err == EPERM || err == EACCES)
			target_permission_error(&t, err, "trace");
		serve_reply_error(d->rp, serve_status_of(err));
	} else if (d->debug == 0) {
		serve_reply_profile(d->rp, threads_profile(ts));
	} else {
		FILE *f = open_memstream(&d->rp->body, &d->rp->len);

		if (f) {
			proc_cmdline(d->pid, cmdline, sizeof(cmdline));
			render_threads_text.dump(f, ts, cmdline, d->debug == 2);
			if (fclose(f) == 0) {
				d->rp->status = 200;
				d->rp->type = SERVE_TEXT;
			}
		}
		if (!d->rp->status) {
			free(d->rp->body);
			d->rp->body = NULL;
			serve_reply_text(d->rp, 500, "out of memory\n");
		}
	}
out:
	threads_session_free(ts);
	target_release(&t);
	return NULL;
}

static void serve_threads(struct serve *s, const struct route *r, const struct serve_proc *sp,
			  pid_t pid, struct serve_reply *rp)
{
	struct serve_dump d = { pid, sp, r->debug, rp };
	pthread_t th;

	pthread_mutex_lock(&s->dump_lock);
	if (pthread_create(&th, NULL, serve_dump_thread, &d) == 0)
		pthread_join(th, NULL);
	else
		serve_reply_text(rp, 503, "cannot start a thread for the dump\n");
	pthread_mutex_unlock(&s->dump_lock);
}

static void serve_heap(const struct route *r, const struct serve_proc *sp, pid_t pid,
		       struct serve_reply *rp)
{
	struct live_status st;
	struct profile *p;

	if (!sp || !sp->heap) {
		serve_reply_text(rp, 404, "no heap profile of process %d: cprof serve --heap keeps "
				 "one for each process given by --pid\n", (int)pid);
		return;
	}
	if (r->debug) {
		serve_reply_text(rp, 400, "heap profiles are pprof only: leave out debug=\n");
		return;
	}
	p = live_profile(sp->heap, 0, &st);
	if (!p) {
		serve_reply_error(rp, 500);
		return;
	}
	if (strcmp(r->name, "allocs") == 0)
		p->default_sample_type = profile_intern(p, "alloc_space");
	serve_reply_profile(rp, p);
	profile_free(p);
}

static void serve_cmdline(pid_t pid, struct serve_reply *rp)
{
	char path[32], *buf;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (file_read_all(path, &buf, &len) < 0) {
		serve_reply_error(rp, 404);
		return;
	}
	/* Go's handler joins the words with NULs, without one at the end. */
	if (len > 0 && buf[len - 1] == '\0')
		len--;
	rp->status = 200;
	rp->type = SERVE_TEXT;
	rp->body = buf;
	rp->len = len;
}

/* Each process of a --allow-uid user, through FN until it returns false. */
static void serve_each_user_proc(const struct serve *s, bool (*fn)(pid_t pid, void *ctx),
				 void *ctx)
{
	struct dirent *e;
	DIR *d;

	if (s->o.nuids == 0 || !(d = opendir("/proc")))
		return;
	while ((e = readdir(d))) {
		long pid = strtol(e->d_name, NULL, 10);
		bool listed = pid > 0;

		for (size_t i = 0; listed && i < s->nprocs; i++)
			listed = s->procs[i].pid != pid;
		if (listed && serve_users_proc(s, (pid_t)pid) > 0 && !fn((pid_t)pid, ctx))
			break;
	}
	closedir(d);
}

static void serve_html(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

struct serve_index {
	FILE *f;
	const struct serve *s;
	size_t n;
};

static bool serve_index_proc(pid_t pid, void *ctx)
{
	struct serve_index *x = ctx;
	char cmdline[512];
	const struct serve_proc *sp = NULL;

	if (x->n++ == SERVE_MAX_LISTED) {
		fputs("<tr><td colspan=\"2\">and more: ask for any of the users' processes by "
		      "pid</td></tr>\n", x->f);
		return false;
	}
	for (size_t i = 0; i < x->s->nprocs; i++)
		if (x->s->procs[i].pid == pid)
			sp = &x->s->procs[i];
	proc_cmdline(pid, cmdline, sizeof(cmdline));
	fprintf(x->f, "<tr><td>%d</td><td>", (int)pid);
	serve_html(x->f, cmdline);
	fprintf(x->f, "</td><td><a href=\"/pid/%d/debug/pprof/profile?seconds=30\">profile</a> "
		"<a href=\"/pid/%d/debug/pprof/block?seconds=30\">block</a> "
		"<a href=\"/pid/%d/debug/pprof/threads?debug=1\">threads</a> "
		"<a href=\"/pid/%d/debug/pprof/goroutine?debug=2\">(each)</a> ",
		(int)pid, (int)pid, (int)pid, (int)pid);
	if (sp && sp->heap)
		fprintf(x->f, "<a href=\"/pid/%d/debug/pprof/heap\">heap</a> ", (int)pid);
	fprintf(x->f, "<a href=\"/pid/%d/debug/pprof/cmdline\">cmdline</a></td></tr>\n", (int)pid);
	return true;
}

static void serve_index(struct serve *s, struct serve_reply *rp)
{
	struct serve_index x = { NULL, s, 0 };

	x.f = open_memstream(&rp->body, &rp->len);
	if (!x.f) {
		serve_reply_text(rp, 500, "out of memory\n");
		return;
	}
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>/debug/pprof/</title>"
	      "</head>\n<body>\n<h1>/debug/pprof/</h1>\n<p>Profiles of native processes, "
	      "served by cprof. Read them with <code>go tool pprof URL</code> or "
	      "<code>cprof report</code>. <a href=\"/metrics\">/metrics</a> has their "
	      "figures for Prometheus.</p>\n<table>\n<tr><th>pid</th><th>command</th>"
	      "<th>profiles</th></tr>\n", x.f);
	for (size_t i = 0; i < s->nprocs; i++)
		if (proc_start_ticks(s->procs[i].pid) == s->procs[i].start)
			serve_index_proc(s->procs[i].pid, &x);
	serve_each_user_proc(s, serve_index_proc, &x);
	fputs("</table>\n<p>profile: a CPU profile for <code>seconds</code> (default 30); "
	      "block: where the threads wait, off the CPU, for <code>seconds</code> (cprof "
	      "offcpu); threads (goroutine): every thread's stack, <code>debug=1</code> grouped as text, "
	      "<code>debug=2</code> each thread; heap (allocs): the sampled heap under "
	      "<code>cprof serve --heap</code>. The same paths take <code>?pid=PID</code>.</p>\n"
	      "</body></html>\n", x.f);
	if (fclose(x.f) != 0) {
		free(rp->body);
		rp->body = NULL;
		serve_reply_text(rp, 500, "out of memory\n");
		return;
	}
	rp->status = 200;
	rp->type = "text/html; charset=utf-8";
}

struct serve_gather {
	struct metrics_proc *m;
	size_t n, cap;
};

static bool serve_gather_proc(pid_t pid, void *ctx)
{
	struct serve_gather *g = ctx;

	if (CP_GROW(g->m, g->cap, g->n + 1) < 0)
		return false;
	if (metrics_read(pid, &g->m[g->n]) == 0)
		g->n++;
	return true;
}

/* The sampled heap in use of session L into M. */
static void serve_heap_metrics(struct live *l, struct metrics_proc *m)
{
	struct live_status st;
	struct profile *p = live_profile(l, 0, &st);
	int bytes, objects;

	if (!p)
		return;
	bytes = profile_sample_index(p, "inuse_space");
	objects = profile_sample_index(p, "inuse_objects");
	if (bytes >= 0 && objects >= 0) {
		m->heap = true;
		m->heap_bytes = (double)profile_total(p, bytes);
		m->heap_objects = (double)profile_total(p, objects);
	}
	profile_free(p);
}

static void serve_metrics(struct serve *s, struct serve_reply *rp)
{
	struct serve_gather g = { 0 };
	bool bad;
	FILE *f;

	for (size_t i = 0; i < s->nprocs; i++) {
		if (proc_start_ticks(s->procs[i].pid) != s->procs[i].start ||
		    !serve_gather_proc(s->procs[i].pid, &g))
			continue;
		if (s->procs[i].heap && g.n > 0 && g.m[g.n - 1].pid == s->procs[i].pid)
			serve_heap_metrics(s->procs[i].heap, &g.m[g.n - 1]);
	}
	serve_each_user_proc(s, serve_gather_proc, &g);
	f = open_memstream(&rp->body, &rp->len);
	bad = !f;
	if (f) {
		bad = metrics_write(f, g.m, g.n) < 0;
		bad |= fclose(f) != 0;
	}
	if (bad) {
		if (f)
			free(rp->body);
		rp->body = NULL;
		serve_reply_text(rp, 500, "out of memory\n");
	} else {
		rp->status = 200;
		rp->type = METRICS_CONTENT_TYPE;
	}
	free(g.m);
}

/* May the request be answered at all: its method, its Host (without a
 * token) or its token? Else the refusal into RP. */
static bool serve_allowed(const struct serve *s, struct MHD_Connection *c,
			  const struct serve_req *rq, struct serve_reply *rp)
{
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0 &&
	    strcmp(rq->method, "POST") != 0) {
		serve_reply_text(rp, 405, "method %s not allowed: GET or HEAD (POST for symbol)\n",
				 rq->method);
		return false;
	}
	/* Without a token, loopback is the only guard: a web page whose name was
	 * made to resolve to 127.0.0.1 (DNS rebinding) still sends its own Host. */
	if (!s->o.token && !serve_host_loopback(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
									     MHD_HTTP_HEADER_HOST))) {
		serve_reply_text(rp, 403, "Host is not a loopback name: without --token-file, cprof "
				 "serve answers requests for localhost, 127.0.0.1 or [::1] only\n");
		return false;
	}
	if (s->o.token) {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								MHD_HTTP_HEADER_AUTHORIZATION);

		if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 ||
		    !serve_token_equal(auth + 7, s->o.token)) {
			serve_reply_text(rp, 401, "%s: send the token as Authorization: Bearer TOKEN\n",
					 auth ? "wrong token" : "this server asks for a token");
			return false;
		}
	}
	return true;
}

/* Answer request RQ into RP. */
static void serve_answer(struct serve *s, struct MHD_Connection *c, struct serve_req *rq,
			 struct serve_reply *rp)
{
	struct serve_proc *sp;
	struct route r;
	char why[256];
	unsigned status;
	pid_t pid;

	if (!serve_allowed(s, c, rq, rp))
		return;
	status = route_parse(rq->target, rq->target_len, s->o.max_seconds, &r, why, sizeof(why));
	if (status != 200) {
		serve_reply_text(rp, status, "%s\n", why);
		return;
	}
	if (strcmp(rq->method, "POST") == 0 && r.kind != ROUTE_SYMBOL) {
		serve_reply_text(rp, 405, "method POST not allowed: GET or HEAD\n");
		return;
	}
	switch (r.kind) {
	case ROUTE_REDIRECT:
		serve_reply_text(rp, 301, "%s\n", r.location);
		snprintf(rp->location, sizeof(rp->location), "%s", r.location);
		return;
	case ROUTE_INDEX:
		serve_index(s, rp);
		return;
	case ROUTE_METRICS:
		serve_metrics(s, rp);
		return;
	case ROUTE_SYMBOL:
		/* pprof asks only where a mapping has no symbols: cprof has none to add. */
		serve_reply_text(rp, 200, "num_symbols: 0\n");
		return;
	default:
		break;
	}
	if (serve_pick(s, &r, &sp, &pid, rp) != 200)
		return;
	if ((r.kind == ROUTE_PROFILE || r.kind == ROUTE_BLOCK) && strcmp(rq->method, "HEAD") == 0) {
		serve_reply_text(rp, 405, "HEAD of a profile would take one: GET it\n");
		return;
	}
	if (r.seconds && r.kind != ROUTE_PROFILE && r.kind != ROUTE_BLOCK) {
		serve_reply_text(rp, 400, "seconds= is for profile and block: %s is a snapshot\n",
				 r.name);
		return;
	}
	switch (r.kind) {
	case ROUTE_PROFILE:
	case ROUTE_BLOCK:
		serve_profile(s, &r, sp, pid, rp);
		break;
	case ROUTE_THREADS:
		serve_threads(s, &r, sp, pid, rp);
		break;
	case ROUTE_HEAP:
		serve_heap(&r, sp, pid, rp);
		break;
	default:
		serve_cmdline(pid, rp);
		break;
	}
}

static enum MHD_Result serve_queue(struct serve_req *rq, struct MHD_Connection *c,
				   struct serve_reply *rp)
{
	struct MHD_Response *res;
	enum MHD_Result ok;
	char num[16];

	if (!rp->body && !rp->status)
		serve_reply_text(rp, 500, "out of memory\n");
	res = MHD_create_response_from_buffer(rp->len, rp->body ? rp->body : (char *)"",
					      rp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!res) {
		free(rp->body);
		return MHD_NO;
	}
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, rp->type ? rp->type : SERVE_TEXT);
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	if (rp->status >= 400)
		/* As Go's handlers mark errors, so that pprof shows the text. */
		MHD_add_response_header(res, "X-Go-Pprof", "1");
	if (rp->status == 401)
		MHD_add_response_header(res, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cprof\"");
	if (rp->status == 405)
		MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
	if (rp->location[0])
		MHD_add_response_header(res, MHD_HTTP_HEADER_LOCATION, rp->location);
	if (rp->disposition)
		MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_DISPOSITION, rp->disposition);
	if (rp->retry_after) {
		snprintf(num, sizeof(num), "%d", rp->retry_after);
		MHD_add_response_header(res, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	rq->status = rp->status;
	rq->bytes = rp->len;
	ok = MHD_queue_response(c, rp->status, res);
	MHD_destroy_response(res);
	return ok;
}

static void serve_escape(const char *in, size_t len, char *buf, size_t n);

static enum MHD_Result serve_handle(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct serve *s = cls;
	struct serve_req *rq = *req_cls;
	struct serve_reply rp = { 0 };

	(void)url;
	(void)version;
	(void)upload_data;
	if (!rq)
		return MHD_NO;
	if (rq->calls++ == 0) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							      MHD_HTTP_HEADER_CONTENT_LENGTH);

		serve_escape(method, strlen(method), rq->method, sizeof(rq->method));
		/* Refused before its body is read, which libmicrohttpd then skips. */
		if (cl && strtoull(cl, NULL, 10) > SERVE_MAX_BODY) {
			serve_reply_text(&rp, 413, "request body over %d bytes\n", SERVE_MAX_BODY);
			return serve_queue(rq, c, &rp);
		}
		return MHD_YES;
	}
	if (rq->status)
		return MHD_YES;
	if (*upload_data_size) {
		rq->body += *upload_data_size;
		*upload_data_size = 0;
		if (rq->body <= SERVE_MAX_BODY)
			return MHD_YES;
		/* A chunked body past the bound: no reply can be queued mid-body. */
		rq->status = 413;
		return MHD_NO;
	}
	serve_answer(s, c, rq, &rp);
	return serve_queue(rq, c, &rp);
}

/* The first thing libmicrohttpd knows of a request: its target as sent. */
static void *serve_begin(void *cls, const char *uri, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct serve_req *rq = calloc(1, sizeof(*rq));
	size_t len = strnlen(uri, ROUTE_MAX_TARGET + 1);
	struct serve *s = cls;

	if (!rq)
		return NULL;
	rq->target = strndup(uri, len);
	if (!rq->target) {
		free(rq);
		return NULL;
	}
	rq->target_len = len;
	rq->start_ns = clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&s->lock);
	s->inflight++;
	pthread_mutex_unlock(&s->lock);
	strcpy(rq->method, "-");
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		char host[INET6_ADDRSTRLEN] = "?";

		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			snprintf(rq->client, sizeof(rq->client), "%s:%u", host, ntohs(in->sin_port));
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(rq->client, sizeof(rq->client), "[%s]:%u", host, ntohs(in6->sin6_port));
		}
	}
	if (!rq->client[0])
		strcpy(rq->client, "-");
	return rq;
}

/* LEN bytes of IN for a log line into BUF (N bytes): bytes that could forge
 * or garble a line as \\xNN escapes, cut after 200. */
static void serve_escape(const char *in, size_t len, char *buf, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (i == 200) {
			o += (size_t)snprintf(buf + o, n - o, "...");
			break;
		}
		if (ch < 0x21 || ch >= 0x7f || ch == '\\')
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
}

static void serve_done(void *cls, struct MHD_Connection *c, void **req_cls,
		       enum MHD_RequestTerminationCode toe)
{
	struct serve *s = cls;
	struct serve_req *rq = *req_cls;
	char when[32], target[1024], status[16] = "-";
	struct timespec now;
	struct tm tm;

	(void)c;
	if (!rq)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	serve_escape(rq->target, rq->target_len, target, sizeof(target));
	if (rq->status)
		snprintf(status, sizeof(status), "%u", rq->status);
	serve_log(s, "%s.%03ldZ %s %s %s %s %zu %.3fs%s", when, now.tv_nsec / 1000000, rq->client,
		  rq->method, target, rq->status ? status : "-", rq->bytes,
		  (double)(clock_ns(CLOCK_MONOTONIC) - rq->start_ns) / 1e9,
		  toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		  toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)" :
		  toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " (client gone)" : " (not completed)");
	free(rq->target);
	free(rq);
	*req_cls = NULL;
	pthread_mutex_lock(&s->lock);
	s->inflight--;
	pthread_mutex_unlock(&s->lock);
}

static void serve_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct serve *s = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	/* The first message about binding, else the first: the reason. */
	if (__atomic_load_n(&s->starting, __ATOMIC_ACQUIRE)) {
		if (!s->start_msg[0] || (!strstr(s->start_msg, "bind") && strstr(line, "bind")))
			snprintf(s->start_msg, sizeof(s->start_msg), "%s", line);
	} else
		serve_log(s, "libmicrohttpd: %s", line);
}

static int serve_add_procs(struct serve *s)
{
	s->procs = calloc(s->o.npids ? s->o.npids : 1, sizeof(*s->procs));
	if (!s->procs)
		return cp_error("out of memory");
	for (size_t i = 0; i < s->o.npids; i++) {
		struct serve_proc *sp = &s->procs[s->nprocs];
		struct target t;
		bool dup = false;

		for (size_t j = 0; j < s->nprocs; j++)
			dup |= s->procs[j].pid == s->o.pids[i];
		if (dup)
			continue;
		if (target_attach(&t, s->o.pids[i]) < 0)
			return -1;
		if (target_check_access(&t, "profile") < 0) {
			target_release(&t);
			return -1;
		}
		target_release(&t);
		sp->pid = s->o.pids[i];
		sp->start = proc_start_ticks(sp->pid);
		if (s->o.heap) {
			struct live_opts lo = {
				.pid = sp->pid, .heap = true, .rate = s->o.heap_rate,
				.heap_lib = s->o.heap_lib, .window_ns = 0,
			};

			sp->heap = live_start(&lo);
			if (!sp->heap)
				return -1;
		}
		s->nprocs++;
	}
	return 0;
}

struct serve *serve_start(const struct serve_opts *o)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	const union MHD_DaemonInfo *di;
	struct serve *s = calloc(1, sizeof(*s));

	if (!s) {
		cp_error("out of memory");
		return NULL;
	}
	s->o = *o;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->dump_lock, NULL);
	if (serve_add_procs(s) < 0)
		goto fail;
	if (o->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	__atomic_store_n(&s->starting, true, __ATOMIC_RELEASE);
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, serve_handle, s,
		MHD_OPTION_EXTERNAL_LOGGER, serve_mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&s->o.addr,
		MHD_OPTION_URI_LOG_CALLBACK, serve_begin, s,
		MHD_OPTION_NOTIFY_COMPLETED, serve_done, s,
		MHD_OPTION_CONNECTION_LIMIT, o->max_connections ? o->max_connections : 100u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_TIMEOUT,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 128u,
		MHD_OPTION_END);
	__atomic_store_n(&s->starting, false, __ATOMIC_RELEASE);
	if (!s->daemon) {
		const char *why = strrchr(s->start_msg, ':');
		char host[INET6_ADDRSTRLEN] = "?";
		const void *a = o->addr.ss_family == AF_INET6 ?
			(const void *)&((const struct sockaddr_in6 *)&o->addr)->sin6_addr :
			(const void *)&((const struct sockaddr_in *)&o->addr)->sin_addr;
		unsigned port = ntohs(o->addr.ss_family == AF_INET6 ?
			((const struct sockaddr_in6 *)&o->addr)->sin6_port :
			((const struct sockaddr_in *)&o->addr)->sin_port);

		inet_ntop(o->addr.ss_family, a, host, sizeof(host));
		/* "Failed to bind to port 0: Address already in use": its reason. */
		if (why && strstr(s->start_msg, "bind"))
			cp_error("cannot listen on %s port %u:%s%s", host, port, why + 1,
				 strstr(why, "denied") ? " (a port under 1024 needs root or "
							 "CAP_NET_BIND_SERVICE)" : "");
		else
			cp_error("cannot listen on %s port %u (in use, or not an address of this "
				 "machine; a port under 1024 needs root or CAP_NET_BIND_SERVICE)",
				 host, port);
		goto fail;
	}
	di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	return s;
fail:
	serve_free(s);
	return NULL;
}

unsigned serve_port(const struct serve *s)
{
	return s->port;
}

void serve_free(struct serve *s)
{
	if (!s)
		return;
	if (s->daemon) {
		/* Stopping the daemon cuts the connections: first stop listening and
		 * let the requests in flight (whose profiles see *stop) finish. */
		MHD_socket fd = MHD_quiesce_daemon(s->daemon);
		int64_t end = clock_ns(CLOCK_MONOTONIC) + SERVE_DRAIN_NS;

		for (;;) {
			struct timespec pause = { 0, 20000000 };
			unsigned n;

			pthread_mutex_lock(&s->lock);
			n = s->inflight;
			pthread_mutex_unlock(&s->lock);
			if (n == 0 || clock_ns(CLOCK_MONOTONIC) > end)
				break;
			nanosleep(&pause, NULL);
		}
		MHD_stop_daemon(s->daemon);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	for (size_t i = 0; i < s->nprocs; i++)
		live_end(s->procs[i].heap);
	free(s->procs);
	free(s->busy);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->dump_lock);
	free(s);
}
