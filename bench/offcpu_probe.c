/* offcpu-probe: measure context-switch sampling / PERF_RECORD_SWITCH behaviour.
 * Facts for issue 15 (cprof offcpu), measured 2026-12-06: see BENCHMARKS.md.
 * Build: cc -O2 -g -rdynamic -fno-omit-frame-pointer -pthread -o offcpu_probe bench/offcpu_probe.c
 * Usage: probe MODE WORKLOAD N [-k] [-s STACK] [-p PAGES] [-v K] [-q]
 * MODE: base | samp (CONTEXT_SWITCHES period 1, per-thread, inherit=0)
 * sampi (same, per-CPU pid=child inherit=1) | both (samp + context_switch=1)
 * sw (dummy + context_switch=1, per-thread) | swi (per-CPU, inherit=1)
 * WORKLOAD: ppt (pipe ping-pong, 2 threads) | ppp (2 processes) | mix (sleep/mutex/busy)
 * -k exclude_kernel=1; -s user stack bytes (0 = no regs/stack); -p ring data pages
 * -v K dump first K records per worker; -q no per-IP histograms */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REG_BP 6
#define REG_SP 7
#define REG_IP 8
#define MAXW 8
#define MAXR 64

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---------------- workload (runs in forked child) ---------------- */
struct wstat {
  int tid;
  char role[16];
  long vcsw, ivcsw;
  uint64_t t0, t1;
};
struct shm {
  int nw;
  volatile int done;
  struct wstat w[MAXW];
};
static struct shm *S;
static int ctlp[2], repp[2], startp[2];
static long NITER;
static int pa[2], pb[2];
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;

static void w_begin(int i, const char *role) {
  S->w[i].tid = (int)syscall(SYS_gettid);
  snprintf(S->w[i].role, sizeof S->w[i].role, "%s", role);
  char c = 1;
  if (write(repp[1], &c, 1) != 1) _exit(2);
  if (read(startp[0], &c, 1) != 1) _exit(2);
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  S->w[i].vcsw = -ru.ru_nvcsw;
  S->w[i].ivcsw = -ru.ru_nivcsw;
  S->w[i].t0 = now_ns();
}
static void w_end(int i) {
  S->w[i].t1 = now_ns();
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  S->w[i].vcsw += ru.ru_nvcsw;
  S->w[i].ivcsw += ru.ru_nivcsw;
}
static void sleep_ns(long ns) {
  struct timespec ts = {ns / 1000000000, ns % 1000000000};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

__attribute__((noinline)) void wl_pingA(void) {
  char c = 0;
  for (long i = 0; i < NITER; i++) {
    if (write(pa[1], &c, 1) != 1 || read(pb[0], &c, 1) != 1) _exit(3);
  }
}
__attribute__((noinline)) void wl_pingB(void) {
  char c;
  for (long i = 0; i < NITER; i++) {
    if (read(pa[0], &c, 1) != 1 || write(pb[1], &c, 1) != 1) _exit(3);
  }
}
__attribute__((noinline)) void wl_sleeper(void) {
  for (long i = 0; i < NITER; i++) sleep_ns(1000000);
}
__attribute__((noinline)) void wl_mtx_hold(void) {
  for (long i = 0; i < NITER; i++) {
    pthread_mutex_lock(&mtx);
    sleep_ns(1000000);
    pthread_mutex_unlock(&mtx);
    sleep_ns(200000);
  }
}
__attribute__((noinline)) void wl_mtx_wait(void) {
  while (!S->done) {
    sleep_ns(100000);
    pthread_mutex_lock(&mtx);
    pthread_mutex_unlock(&mtx);
  }
}
volatile uint64_t sink;
__attribute__((noinline)) void wl_busy(void) {
  uint64_t x = 0;
  while (!S->done) {
    for (int k = 0; k < 100000; k++) x = x * 6364136223846793005ull + 1;
  }
  sink = x;
}

static void *thr_main(void *arg) {
  int i = (int)(intptr_t)arg;
  const char *wl = getenv("PROBE_WL");
  if (!strcmp(wl, "ppt") || !strcmp(wl, "ppp")) {
    w_begin(i, i == 0 ? "ppA" : "ppB");
    if (i == 0) wl_pingA(); else wl_pingB();
    w_end(i);
  } else {
    static const char *roles[] = {"sleep", "mtxHold", "mtxWait", "busy"};
    w_begin(i, roles[i]);
    switch (i) {
      case 0: wl_sleeper(); break;
      case 1: wl_mtx_hold(); S->done = 1; break;
      case 2: wl_mtx_wait(); break;
      case 3: wl_busy(); break;
    }
    w_end(i);
  }
  return NULL;
}

static void child_main(const char *wl) {
  char c;
  setenv("PROBE_WL", wl, 1);
  if (read(ctlp[0], &c, 1) != 1) _exit(2);
  int nw = !strcmp(wl, "mix") ? 4 : 2;
  S->nw = nw;
  if (pipe(pa) || pipe(pb)) _exit(2);
  pthread_t th[MAXW];
  if (!strcmp(wl, "ppp")) {
    pid_t g = fork();
    if (g == 0) { thr_main((void *)(intptr_t)1); _exit(0); }
    thr_main((void *)(intptr_t)0);
    waitpid(g, NULL, 0);
  } else {
    for (int i = 0; i < nw; i++) pthread_create(&th[i], NULL, thr_main, (void *)(intptr_t)i);
    for (int i = 0; i < nw; i++) pthread_join(th[i], NULL);
  }
  _exit(0);
}

/* ---------------- analysis ---------------- */
struct hent { uint64_t ip; long n; };
struct tstat {
  int tid;
  long samples, abi_ok, stack_nonempty, ip_after_syscall, wl_found;
  uint64_t dyn_sum, dyn_min, dyn_max;
  long sw_in, sw_out, sw_out_preempt;
  long lost;
  struct hent uip[MAXR], kip[MAXR], caller[MAXR];
  int ndump;
  uint64_t tfirst;
};
static struct tstat T[MAXW + 1];  /* last = other tids */
static int nT;
static int dumpK, quiet;
static long lost_total, rec_by_type[32];
static uint64_t bytes_total;
extern char __executable_start[], etext[];

struct swev { uint64_t t; int tid; uint16_t misc; };
static struct swev *SW; static size_t nsw, capsw;

static struct tstat *tfind(int tid) {
  for (int i = 0; i < nT; i++) if (T[i].tid == tid) return &T[i];
  return &T[MAXW];
}
static void hadd(struct hent *h, uint64_t ip) {
  for (int i = 0; i < MAXR; i++) {
    if (h[i].ip == ip) { h[i].n++; return; }
    if (h[i].n == 0) { h[i].ip = ip; h[i].n = 1; return; }
  }
}
static const char *usym(uint64_t ip, char *buf, size_t n) {
  Dl_info di;
  if (dladdr((void *)ip, &di) && di.dli_sname)
    snprintf(buf, n, "%s+0x%lx (%s+0x%lx)", di.dli_sname, (unsigned long)(ip - (uint64_t)di.dli_saddr),
             strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1 : di.dli_fname,
             (unsigned long)(ip - (uint64_t)di.dli_fbase));
  else if (dladdr((void *)ip, &di))
    snprintf(buf, n, "? (%s+0x%lx)", di.dli_fname, (unsigned long)(ip - (uint64_t)di.dli_fbase));
  else snprintf(buf, n, "0x%lx", (unsigned long)ip);
  return buf;
}
struct ksym { uint64_t a; char n[64]; };
static struct ksym *KS; static size_t nks;
static int kcmp(const void *a, const void *b) {
  uint64_t x = ((const struct ksym *)a)->a, y = ((const struct ksym *)b)->a;
  return x < y ? -1 : x > y;
}
static const char *ksym(uint64_t ip, char *buf, size_t n) {
  if (!KS) {
    FILE *f = fopen("/proc/kallsyms", "r");
    size_t cap = 0; char line[256];
    while (f && fgets(line, sizeof line, f)) {
      uint64_t a; char t, nm[128];
      if (sscanf(line, "%lx %c %127s", &a, &t, nm) != 3 || !a) continue;
      if (nks == cap) KS = realloc(KS, (cap = cap ? cap * 2 : 4096) * sizeof *KS);
      KS[nks].a = a; snprintf(KS[nks].n, 64, "%s", nm); nks++;
    }
    if (f) fclose(f);
    if (KS) qsort(KS, nks, sizeof *KS, kcmp);
    else KS = malloc(1);
  }
  size_t lo = 0, hi = nks;
  while (hi - lo > 1) { size_t m = (lo + hi) / 2; if (KS[m].a <= ip) lo = m; else hi = m; }
  if (nks && KS[lo].a <= ip) snprintf(buf, n, "%s+0x%lx", KS[lo].n, (unsigned long)(ip - KS[lo].a));
  else snprintf(buf, n, "0x%lx", (unsigned long)ip);
  return buf;
}

static uint64_t TX[64][2]; static int nTX;
static void load_text(void) {
  FILE *f = fopen("/proc/self/maps", "r"); char line[512];
  while (f && fgets(line, sizeof line, f) && nTX < 64) {
    unsigned long a, b; char perm[8];
    if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3 && perm[2] == 'x') { TX[nTX][0] = a + 2; TX[nTX][1] = b; nTX++; }
  }
  if (f) fclose(f);
}
static int in_text(uint64_t ip) {
  for (int i = 0; i < nTX; i++) if (ip >= TX[i][0] && ip <= TX[i][1]) return 1;
  return 0;
}
static uint64_t g_stype;
static int g_nregs;
static void handle(char *rec, int ringidx) {
  struct perf_event_header *h = (void *)rec;
  bytes_total += h->size;
  if (h->type < 32) rec_by_type[h->type]++;
  if (h->type == PERF_RECORD_SAMPLE) {
    uint64_t *p = (uint64_t *)(rec + sizeof *h);
    uint64_t ip = *p++;
    uint32_t tid = ((uint32_t *)p)[1]; p++;
    uint64_t t = *p++;
    struct tstat *ts = tfind(tid);
    ts->samples++;
    if (!ts->tfirst) ts->tfirst = t;
    uint64_t abi = 0, regs[3] = {0}, ssz = 0, dyn = 0; uint64_t *stk = NULL;
    if (g_stype & PERF_SAMPLE_REGS_USER) {
      abi = *p++;
      if (abi) { for (int i = 0; i < g_nregs; i++) regs[i] = *p++; }
    }
    if (g_stype & PERF_SAMPLE_STACK_USER) {
      ssz = *p++;
      if (ssz) { stk = p; p = (uint64_t *)((char *)p + ssz); dyn = *p++; }
    }
    if (abi) ts->abi_ok++;
    if (dyn) ts->stack_nonempty++;
    if (ts->samples == 1 || dyn < ts->dyn_min) ts->dyn_min = dyn;
    if (dyn > ts->dyn_max) ts->dyn_max = dyn;
    ts->dyn_sum += dyn;
    uint64_t uip = regs[2], usp = regs[1];
    if (abi && uip) {
      /* child is a fork of us: libc/probe text at same addresses */
      const unsigned char *q = (const unsigned char *)uip;
      if (in_text(uip) && q[-2] == 0x0f && q[-1] == 0x05) ts->ip_after_syscall++;
    }
    uint64_t caller = 0;
    if (stk && dyn) {
      for (uint64_t k = 0; k < dyn / 8; k++) {
        if (stk[k] >= (uint64_t)__executable_start && stk[k] < (uint64_t)etext) { caller = stk[k]; break; }
      }
      if (caller) ts->wl_found++;
    }
    if (!quiet) { hadd(ts->uip, uip); hadd(ts->kip, ip); hadd(ts->caller, caller); }
    if (ts->ndump < dumpK) {
      char b1[160], b2[160];
      ts->ndump++;
      printf("  [%d] SAMPLE tid=%u t=+%.3fms misc=0x%x kip=%s abi=%lu uip=%s sp=%lx stack size=%lu dyn=%lu\n",
             ringidx, tid, (t - ts->tfirst) / 1e6, h->misc, ksym(ip, b1, sizeof b1), (unsigned long)abi,
             usym(uip, b2, sizeof b2), (unsigned long)usp, (unsigned long)ssz, (unsigned long)dyn);
    }
  } else if (h->type == PERF_RECORD_SWITCH || h->type == PERF_RECORD_SWITCH_CPU_WIDE) {
    uint32_t tid = *(uint32_t *)(rec + h->size - 12);
    uint64_t t = *(uint64_t *)(rec + h->size - 8);
    struct tstat *ts = tfind(tid);
    if (!ts->tfirst) ts->tfirst = t;
    int out = !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT);
    if (out) { ts->sw_out++; if (h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) ts->sw_out_preempt++; }
    else ts->sw_in++;
    if (nsw == capsw) SW = realloc(SW, (capsw = capsw ? capsw * 2 : 65536) * sizeof *SW);
    SW[nsw++] = (struct swev){t, (int)tid, h->misc};
    if (ts->ndump < dumpK) {
      ts->ndump++;
      printf("  [%d] SWITCH tid=%u t=+%.3fms %s%s size=%u\n", ringidx, tid, (t - ts->tfirst) / 1e6,
             out ? "OUT" : "IN ", (h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) ? " PREEMPT" : "", h->size);
    }
  } else if (h->type == PERF_RECORD_LOST) {
    uint64_t n = ((uint64_t *)(rec + 8))[1];
    lost_total += n;
    uint32_t tid = *(uint32_t *)(rec + h->size - 12);
    tfind(tid)->lost += n;
  }
}

struct ring {
  int fd, cpu, hup;
  struct perf_event_mmap_page *mp;
  char *data;
  uint64_t size;
};
static struct ring R[64];
static int nR;
static char tmpbuf[65536];
static void drain(struct ring *r, int idx) {
  if (!r->mp) return;
  uint64_t head = __atomic_load_n(&r->mp->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = r->mp->data_tail;
  uint64_t mask = r->size - 1;
  while (tail < head) {
    struct perf_event_header *h = (void *)(r->data + (tail & mask));
    uint64_t off = tail & mask, sz = h->size;
    char *rec = r->data + off;
    if (off + sz > r->size) {
      uint64_t a = r->size - off;
      memcpy(tmpbuf, rec, a);
      memcpy(tmpbuf + a, r->data, sz - a);
      rec = tmpbuf;
    }
    handle(rec, idx);
    tail += sz;
  }
  __atomic_store_n(&r->mp->data_tail, tail, __ATOMIC_RELEASE);
}

static int swcmp(const void *a, const void *b) {
  const struct swev *x = a, *y = b;
  return x->t < y->t ? -1 : x->t > y->t;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s MODE WORKLOAD N [-k] [-s STACK] [-p PAGES] [-v K] [-q]\n", argv[0]); return 1; }
  const char *mode = argv[1], *wl = argv[2];
  NITER = atol(argv[3]);
  int exk = 0, stack = 8192, pages = 1024;
  for (int i = 4; i < argc; i++) {
    if (!strcmp(argv[i], "-k")) exk = 1;
    else if (!strcmp(argv[i], "-s")) stack = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-p")) pages = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-v")) dumpK = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-q")) quiet = 1;
  }
  int is_samp = !strncmp(mode, "samp", 4) || !strcmp(mode, "both");
  int is_sw = !strncmp(mode, "sw", 2) || !strcmp(mode, "both");
  int inherit = !strcmp(mode, "sampi") || !strcmp(mode, "swi");
  int profiling = strcmp(mode, "base") != 0;
  load_text();
  S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (pipe(ctlp) || pipe(repp) || pipe(startp)) return 1;
  pid_t pid = fork();
  if (pid == 0) child_main(wl);

  struct perf_event_attr at;
  memset(&at, 0, sizeof at);
  at.size = sizeof at;
  at.type = PERF_TYPE_SOFTWARE;
  at.exclude_kernel = exk;
  at.sample_id_all = 1;
  at.inherit = inherit;
  at.watermark = 1;
  at.wakeup_watermark = (uint32_t)((uint64_t)pages * 4096 / 4);
  if (is_samp) {
    at.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
    at.sample_period = 1;
    at.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
    if (stack) {
      at.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
      at.sample_regs_user = (1ull << REG_BP) | (1ull << REG_SP) | (1ull << REG_IP);
      at.sample_stack_user = stack;
      g_nregs = 3;
    }
    at.context_switch = is_sw;
  } else {
    at.config = PERF_COUNT_SW_DUMMY;
    at.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
    at.context_switch = 1;
  }
  g_stype = at.sample_type;
  int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
  uint64_t mmlen = (uint64_t)(pages + 1) * 4096;

#define OPEN_RING(PID, CPU)                                                                                  \
  do {                                                                                                       \
    int fd = (int)syscall(SYS_perf_event_open, &at, (PID), (CPU), -1, PERF_FLAG_FD_CLOEXEC);                \
    if (fd < 0) { printf("perf_event_open(pid=%d,cpu=%d,excl_kernel=%d,inherit=%d) = %s\n", (int)(PID), CPU, \
                         exk, inherit, strerror(errno)); break; }                                            \
    void *m = mmap(NULL, mmlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);                                   \
    if (m == MAP_FAILED) { printf("mmap(%lu) = %s\n", (unsigned long)mmlen, strerror(errno)); m = NULL; }    \
    R[nR].fd = fd; R[nR].cpu = CPU; R[nR].mp = m; R[nR].data = m ? (char *)m + 4096 : NULL;                 \
    R[nR].size = (uint64_t)pages * 4096; nR++;                                                              \
  } while (0)

  if (profiling && inherit)
    for (int c = 0; c < ncpu; c++) OPEN_RING(pid, c);
  char c = 1;
  if (write(ctlp[1], &c, 1) != 1) return 1;
  int nw_seen = 0;
  while (nw_seen < 2 || nw_seen < S->nw) { if (read(repp[0], &c, 1) == 1) nw_seen++; }
  nT = S->nw;
  for (int i = 0; i < nT; i++) T[i].tid = S->w[i].tid;
  if (profiling && !inherit)
    for (int i = 0; i < nT; i++) OPEN_RING(S->w[i].tid, -1);
  if (getenv("PROBE_DELAY_MS")) {  /* lets `perf record -p CHILD` attach before the workload starts */
    printf("CHILD_PID %d\n", pid); fflush(stdout);
    usleep(atoi(getenv("PROBE_DELAY_MS")) * 1000);
  }
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  for (int i = 0; i < nT; i++) if (write(startp[1], &c, 1) != 1) return 1;
  struct pollfd pf[64];
  int status = 0;
  for (;;) {
    int n = 0;
    for (int i = 0; i < nR; i++) { pf[n].fd = R[i].hup ? -1 : R[i].fd; pf[n].events = POLLIN; pf[n].revents = 0; n++; }
    poll(pf, n, 20);
    for (int i = 0; i < nR; i++) {
      if (pf[i].revents & (POLLHUP | POLLERR)) R[i].hup = 1;
      drain(&R[i], i);
    }
    if (waitpid(pid, &status, WNOHANG) == pid) break;
  }
  uint64_t counts = 0;
  for (int i = 0; i < nR; i++) {
    drain(&R[i], i);
    uint64_t v = 0;
    if (read(R[i].fd, &v, 8) == 8) counts += v;
  }
  getrusage(RUSAGE_SELF, &r1);
  double pcpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e3 +
                (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e3;

  uint64_t t0 = UINT64_MAX, t1 = 0;
  long csw = 0;
  for (int i = 0; i < nT; i++) {
    if (S->w[i].t0 < t0) t0 = S->w[i].t0;
    if (S->w[i].t1 > t1) t1 = S->w[i].t1;
    csw += S->w[i].vcsw + S->w[i].ivcsw;
  }
  long samples = 0;
  for (int i = 0; i <= MAXW; i++) samples += T[i].samples;
  printf("RESULT mode=%s wl=%s N=%ld exk=%d stack=%d wall_ms=%.2f worker_csw=%ld event_count=%lu samples=%ld "
         "lost=%ld ring_bytes=%lu bytes_per_csw=%.1f reader_cpu_ms=%.1f open_rings=%d\n",
         mode, wl, NITER, exk, stack, (t1 - t0) / 1e6, csw, (unsigned long)counts, samples, lost_total,
         (unsigned long)bytes_total, csw ? (double)bytes_total / csw : 0, pcpu, nR);
  printf("records by type:");
  for (int i = 0; i < 32; i++) if (rec_by_type[i]) printf(" %d:%ld", i, rec_by_type[i]);
  printf("\n");

  /* switch pairing: off-CPU delay per tid, split by preempt vs block */
  if (nsw) {
    qsort(SW, nsw, sizeof *SW, swcmp);
    for (int i = 0; i <= nT; i++) {
      int idx = i < nT ? i : MAXW;
      int tid = T[idx].tid;
      uint64_t pend = 0; int pre = 0;
      long nb = 0, np = 0; double db = 0, dp = 0, maxb = 0;
      for (size_t k = 0; k < nsw; k++) {
        if (idx < nT ? SW[k].tid != tid : (tfind(SW[k].tid) != &T[MAXW])) continue;
        if (SW[k].misc & PERF_RECORD_MISC_SWITCH_OUT) { pend = SW[k].t; pre = !!(SW[k].misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT); }
        else if (pend) {
          double d = (SW[k].t - pend) / 1e3;
          if (pre) { np++; dp += d; } else { nb++; db += d; if (d > maxb) maxb = d; }
          pend = 0;
        }
      }
      if (nb + np)
        printf("offcpu %-8s tid=%d blocked: n=%ld mean=%.1fus max=%.1fus total=%.1fms | preempted: n=%ld mean=%.1fus total=%.1fms\n",
               idx < nT ? S->w[idx].role : "other", tid, nb, nb ? db / nb : 0, maxb, db / 1e3, np, np ? dp / np : 0, dp / 1e3);
    }
  }
  for (int i = 0; i <= nT; i++) {
    struct tstat *ts = i < nT ? &T[i] : &T[MAXW];
    const char *role = i < nT ? S->w[i].role : "other";
    long wcs = i < nT ? S->w[i].vcsw + S->w[i].ivcsw : 0;
    printf("tid %-7d %-8s csw(vol=%ld,invol=%ld) samples=%ld (%.1f%% of csw) abi!=0=%ld stack_nonempty=%ld "
           "dyn_size[min=%lu avg=%.0f max=%lu] uip_after_syscall=%ld probe_text_in_stack=%ld sw_out=%ld (preempt=%ld) sw_in=%ld lost=%ld\n",
           ts->tid, role, i < nT ? S->w[i].vcsw : 0, i < nT ? S->w[i].ivcsw : 0, ts->samples,
           wcs ? 100.0 * ts->samples / wcs : 0, ts->abi_ok, ts->stack_nonempty, (unsigned long)ts->dyn_min,
           ts->samples ? (double)ts->dyn_sum / ts->samples : 0, (unsigned long)ts->dyn_max, ts->ip_after_syscall,
           ts->wl_found, ts->sw_out, ts->sw_out_preempt, ts->sw_in, ts->lost);
    if (!quiet && ts->samples) {
      char b[200];
      for (int k = 0; k < MAXR && ts->uip[k].n; k++)
        if (ts->uip[k].n * 50 >= ts->samples) printf("    uip %6ld %s\n", ts->uip[k].n, usym(ts->uip[k].ip, b, sizeof b));
      for (int k = 0; k < MAXR && ts->kip[k].n; k++)
        if (ts->kip[k].n * 50 >= ts->samples) printf("    kip %6ld %s\n", ts->kip[k].n, ksym(ts->kip[k].ip, b, sizeof b));
      for (int k = 0; k < MAXR && ts->caller[k].n; k++)
        if (ts->caller[k].n * 50 >= ts->samples) printf("    first-probe-text-word-in-stack %6ld %s\n", ts->caller[k].n, ts->caller[k].ip ? usym(ts->caller[k].ip, b, sizeof b) : "(none)");
    }
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
