/* A workload in libc's most aliased functions, for the test that cprof names
 * them as a user would type them:
 *   libcwork calls N   N rounds of malloc and free, read and write (of
 *                      /dev/zero and /dev/null)
 *   libcwork block S   for S seconds: the main thread blocked in read of an
 *                      empty pipe, a second thread blocked in write to a full
 *                      one */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int calls(long rounds)
{
	int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
	char buf[64];

	if (in < 0 || out < 0)
		return 1;
	for (long r = 0; r < rounds; r++) {
		for (int i = 0; i < 8; i++) {
			void *p = malloc(16 + (r + i) % 512);

			*(volatile char *)p = 1;
			free(p);
		}
		if (read(in, buf, sizeof(buf)) < 0 || write(out, buf, sizeof(buf)) < 0)
			return 1;
	}
	return 0;
}

static void *writer(void *arg)
{
	int fd = *(int *)arg;
	char buf[4096] = { 0 };

	for (;;)
		if (write(fd, buf, sizeof(buf)) < 0)
			return NULL;
}

static int block(unsigned seconds)
{
	int empty[2], full[2];
	pthread_t t;
	char c;

	if (pipe(empty) < 0 || pipe(full) < 0 || pthread_create(&t, NULL, writer, &full[1]) != 0)
		return 1;
	alarm(seconds);
	return read(empty[0], &c, 1) < 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "calls"))
		return calls(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "block"))
		return block(atoi(argv[2]));
	fprintf(stderr, "usage: libcwork calls ROUNDS | block SECONDS\n");
	return 2;
}
