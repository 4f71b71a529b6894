/* The floor of a one-thread-at-a-time ptrace snapshot: the system calls
 * `cprof threads` makes per thread (its /proc stat line, PTRACE_SEIZE,
 * PTRACE_INTERRUPT, the wait for the stop, PTRACE_GETREGSET, 8 KiB of stack
 * with process_vm_readv, PTRACE_DETACH) and nothing else: no unwinding, no
 * symbols, no output. Prints the total and the mean per thread of each step.
 * Usage: cc -O2 -o ptrace_floor bench/ptrace_floor.c && ./ptrace_floor PID */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 100000

static long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	static int tids[MAX_THREADS];
	static char stack[8192];
	const char *step[] = { "stat", "seize", "interrupt", "wait", "regs+stack", "detach" };
	long long sum[6] = { 0 }, start;
	char path[64], buf[512];
	struct dirent *e;
	sigset_t chld;
	int pid, n = 0, dir;
	DIR *d;

	if (argc != 2 || (pid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: ptrace_floor PID\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	dir = open(path, O_RDONLY | O_DIRECTORY);
	if (!d || dir < 0) {
		perror(path);
		return 1;
	}
	while ((e = readdir(d)) && n < MAX_THREADS)
		if (e->d_name[0] != '.')
			tids[n++] = atoi(e->d_name);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	start = now();
	for (int i = 0; i < n; i++) {
		struct user_regs_struct regs;
		struct iovec iov = { &regs, sizeof(regs) }, local = { stack, sizeof(stack) }, remote;
		struct timespec wait_max = { 0, 200000000 };
		long long t[7];
		int fd, status;

		t[0] = now();
		snprintf(path, sizeof(path), "%d/stat", tids[i]);
		fd = openat(dir, path, O_RDONLY);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf)) < 0)
				perror("read");
			close(fd);
		}
		t[1] = now();
		if (ptrace(PTRACE_SEIZE, tids[i], 0, 0) < 0)
			continue;
		t[2] = now();
		ptrace(PTRACE_INTERRUPT, tids[i], 0, 0);
		t[3] = now();
		while (waitpid(tids[i], &status, __WALL | WNOHANG) == 0)
			sigtimedwait(&chld, NULL, &wait_max);
		t[4] = now();
		ptrace(PTRACE_GETREGSET, tids[i], (void *)NT_PRSTATUS, &iov);
		remote.iov_base = (void *)regs.rsp;
		remote.iov_len = sizeof(stack);
		process_vm_readv(pid, &local, 1, &remote, 1, 0);
		t[5] = now();
		ptrace(PTRACE_DETACH, tids[i], 0, 0);
		t[6] = now();
		for (int k = 0; k < 6; k++)
			sum[k] += t[k + 1] - t[k];
	}
	printf("%d threads in %.1f ms; per thread:", n, (now() - start) / 1e6);
	for (int k = 0; k < 6; k++)
		printf(" %s %.1f us", step[k], n ? sum[k] / 1e3 / n : 0.0);
	printf("\n");
	return 0;
}
