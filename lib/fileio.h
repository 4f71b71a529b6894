/* Whole-file input and output: read a file into memory, and write one whole or
 * not at all (a temporary file beside the target, then rename). */
#ifndef CPROF_FILEIO_H
#define CPROF_FILEIO_H

#include <stddef.h>

/* Read all of PATH ("-": standard input) into a new buffer (NUL-terminated,
 * the NUL not counted in *LEN). Returns 0, or -1 with an error naming PATH. */
int file_read_all(const char *path, char **buf, size_t *len);

/* Replace PATH with LEN bytes from BUF atomically, mode 0666 less the umask.
 * Returns 0, or -1 with an error naming PATH and no file left behind. */
int file_write_atomic(const char *path, const void *buf, size_t len);

#endif
