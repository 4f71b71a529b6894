/* Whole-file input and output: read a file into memory, and write an output
 * without destroying what the path names: a regular file is replaced whole or
 * not at all, a device, FIFO or socket is written in place. */
#ifndef CPROF_FILEIO_H
#define CPROF_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Read FD to its end into a new buffer (NUL-terminated, the NUL not counted).
 * Returns the length, or -1 with errno set (ENOMEM when out of memory) and
 * no message of its own: the caller knows what was being read. */
ssize_t file_read_fd(int fd, char **buf);

/* Read all of PATH ("-": standard input) into a new buffer (NUL-terminated,
 * the NUL not counted in *LEN). Returns 0, or -1 with an error naming PATH. */
int file_read_all(const char *path, char **buf, size_t *len);

/* Check, before any work, that file_write_output can write PATH: "-", a
 * regular file or a new name in a writable directory (a symlink is followed),
 * or a writable character device, FIFO or socket. Returns 0, or -1 with an
 * error naming PATH and what is wrong ("is a directory", "Permission denied"). */
int file_check_output(const char *path);

/* Write LEN bytes from BUF to PATH. "-" is standard output (or the descriptor
 * given to file_set_stdout). A character device, FIFO or socket is written in
 * place. A regular file, or a name that does not exist yet, gets the bytes
 * whole or not at all: an unnamed temporary file (O_TMPFILE) in its directory
 * is linked in, or where the filesystem cannot, a named one is renamed over it;
 * an existing file keeps its mode, a new one gets 0666 less the umask. A
 * symlink is followed and its target replaced. Returns 0, or -1 with an error
 * naming PATH and no file left behind. */
int file_write_output(const char *path, const void *buf, size_t len);

/* Make "-" write to FD instead of standard output (for a caller that moved its
 * own standard output aside). */
void file_set_stdout(int fd);

#endif
