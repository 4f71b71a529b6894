/* Sampling with perf events: the software cpu-clock event on every thread of
 * a target (those created later included, through inherit), and or the
 * context switches, one ring buffer per CPU and event, and the records read
 * back out of them in time order. */
#ifndef CPROF_SAMPLE_H
#define CPROF_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sampler_opts {
	unsigned frequency;   /* samples per second per thread on CPU */
	bool fp;              /* frame-pointer call chains instead of stack copies */
	uint32_t stack_size;  /* bytes of user stack copied per sample (dwarf mode) */
	bool kernel;          /* sample in the kernel too, with its call chains, if allowed */
	size_t buffer_pages;  /* ring buffer data pages per CPU, a power of two */
	bool steady;          /* no dithering of the period (sampler_dither) */
	/* Context switches: a record at each switch in and out, and a sample
	 * with the user stack at each switch-out where the kernel allows it
	 * (sampler_switch_stacks), into rings of SWITCH_PAGES each. */
	bool switches;
	size_t switch_pages;
	bool no_clock;        /* no cpu-clock events: the switches only */
	bool no_switch_stacks; /* the switches recorded, none sampled */
};

enum sampler_event { SAMPLER_CLOCK, SAMPLER_SWITCH };

/* One record from the ring buffers, valid only during the callback. */
struct sampler_record {
	enum { REC_SAMPLE, REC_COMM, REC_MMAP, REC_LOST, REC_FORK, REC_EXIT, REC_SWITCH } type;
	enum sampler_event event; /* whose ring it came from */
	int cpu;               /* the CPU whose ring it came from: where it happened */
	pid_t pid, tid;
	uint64_t time;         /* CLOCK_MONOTONIC nanoseconds (samples, switches, forks, exits) */
	/* REC_SAMPLE */
	uint64_t ip;           /* SAMPLER_SWITCH: the kernel's, in the scheduler */
	uint64_t period;       /* SAMPLER_SWITCH: the switch-outs this one stands for */
	const uint64_t *chain; /* return addresses after ip, markers removed: fp mode the
				* kernel's then the user's, dwarf mode the kernel's only */
	size_t nchain;
	const uint64_t *regs;  /* dwarf mode: UREG_COUNT registers, or NULL */
	const void *stack;     /* dwarf mode: the copy from regs[UREG_SP] (SAMPLER_SWITCH
				* samples: the user registers and stack at the switch) */
	size_t stack_size;
	/* REC_MMAP: PID mapped something executable */
	const char *path;      /* the file, or "//anon" and the like for memory */
	/* REC_COMM */
	const char *comm;
	bool exec;
	/* REC_LOST */
	uint64_t lost;
	/* REC_FORK, REC_EXIT: thread TID of PID began (its creator's process
	 * PPID: a new process where PPID differs; its creator thread PTID) or
	 * ended */
	pid_t ppid, ptid;
	/* REC_SWITCH: TID left the CPU (OUT; PREEMPT: while runnable, not to
	 * wait) or came back to it */
	bool out, preempt;
};

typedef void (*sampler_fn)(void *ctx, const struct sampler_record *r);

struct sampler;

struct sampler *sampler_new(const struct sampler_opts *o);
void sampler_free(struct sampler *s);

/* Open events on every thread of running process PID. Threads found in
 * /proc/PID/task are opened until a rescan finds none new; their later
 * children inherit the events. Returns 0, or -1 with an error whose errno
 * (cp_errno) lets the caller explain permissions. */
int sampler_open_pid(struct sampler *s, pid_t pid);

/* Open events on process PID, held before its exec, enabled by the exec. */
int sampler_open_child(struct sampler *s, pid_t pid);

/* Start and stop counting (a launched child starts on its own at exec). */
int sampler_enable(struct sampler *s);
void sampler_disable(struct sampler *s);

/* Wait up to TIMEOUT_MS for a buffer to fill past its watermark; also returns
 * early when FD (if >= 0) is readable. Returns 1 if FD is readable, else 0. */
int sampler_wait(struct sampler *s, int fd, int timeout_ms);

/* Hand the records now in the buffers timed up to UNTIL (CLOCK_MONOTONIC
 * nanoseconds; UINT64_MAX for all) to FN, oldest first across all of them.
 * Returns the number of records. */
size_t sampler_drain(struct sampler *s, uint64_t until, sampler_fn fn, void *ctx);

/* Whether the events sample the kernel: asked for in the options, and
 * allowed (root, CAP_PERFMON or perf_event_paranoid <= 1). Known once an
 * event is open. */
bool sampler_kernel(const struct sampler *s);

/* Give events that have just taken a sample a new period, drawn at random
 * around the mean (the rate uniform from half to one and a half times the
 * frequency), so that no fixed period locks onto a program's periodic work.
 * Call every few milliseconds; does nothing with the steady option. Events
 * inherited by threads created later keep the period of their parent's at
 * their creation. Returns 0, or -1 with an error when out of memory. */
int sampler_dither(struct sampler *s);

/* Whether switch-outs are sampled with their stacks: root, CAP_PERFMON or
 * perf_event_paranoid <= 1 (the event fires in the kernel). Without, only
 * the switch records come. Known once an event is open. */
bool sampler_switch_stacks(const struct sampler *s);

/* Sample one switch-out in PERIOD on average (1: each) from now on, in the
 * threads of the processes PIDS (N of them), their descendants, and the
 * threads they start later: new sampling events (a period cannot be changed
 * on the events that threads inherited), each with a period drawn uniformly
 * around PERIOD, replace the old ones; each sample carries its event's
 * period. Threads that cannot have them are passed over. The records still
 * come for every switch. Returns 0, or -1 with an error when out of memory. */
int sampler_switch_period(struct sampler *s, const pid_t *pids, size_t n, uint64_t period);

/* How many threads have events open (not counting inherited ones). */
size_t sampler_threads(const struct sampler *s);

#endif
