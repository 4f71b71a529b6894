/* A workload for the edges of a stack sample. --depth N: descend N noinline
 * frames of --frame BYTES of locals each (default 256) and spin in the
 * deepest, so the stack is deeper than a small copy holds. --read-zero: read
 * /dev/zero in 64 KiB chunks, time spent mostly in the kernel's copy to user
 * space. Runs for --seconds S of wall time (default: until killed). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double seconds = -1;
static long frame = 256;
static volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int over(double start)
{
	return seconds >= 0 && now() - start >= seconds;
}

__attribute__((noinline)) static void deepest(double start)
{
	unsigned long x = 1;

	do {
		for (int i = 0; i < 1000000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		sink += x;
	} while (!over(start));
}

/* The locals are written and read after the call, so the frames stay and
 * the call is not a tail call. */
__attribute__((noinline)) static void descend(long n, double start)
{
	volatile char *buf = __builtin_alloca(frame);

	memset((char *)buf, (int)n, frame);
	if (n > 1)
		descend(n - 1, start);
	else
		deepest(start);
	sink += buf[frame - 1];
}

__attribute__((noinline)) static void zero_reader(double start)
{
	static char buf[65536];
	int fd = open("/dev/zero", O_RDONLY);

	if (fd < 0) {
		perror("stackwork: /dev/zero");
		exit(1);
	}
	do {
		for (int i = 0; i < 100; i++)
			if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
				perror("stackwork: read");
				exit(1);
			}
		sink += buf[0];
	} while (!over(start));
	close(fd);
}

int main(int argc, char **argv)
{
	long depth = 0;
	int zero = 0;
	double start = now();

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--read-zero") == 0)
			zero = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--depth") == 0)
			depth = atol(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--frame") == 0)
			frame = atol(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else {
			fprintf(stderr, "stackwork: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (frame < 1)
		frame = 1;
	if (zero)
		zero_reader(start);
	else if (depth > 0)
		descend(depth, start);
	else
		deepest(start);
	return 0;
}
