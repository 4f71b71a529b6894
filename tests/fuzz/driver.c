/* Runs a fuzz target without libFuzzer over the files named on the command
 * line (the kept corpus and crash reproducers), so `make check` replays them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *buf;
		size_t len;
		if (file_read_all(argv[i], &buf, &len) < 0) {
			fprintf(stderr, "cannot read %s\n", argv[i]);
			return 1;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		free(buf);
	}
	printf("%d inputs replayed\n", argc - 1);
	return 0;
}
