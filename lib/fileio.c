/* Whole-file reads, and outputs written whole or in place; see fileio.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "fileio.h"
#include "grow.h"

ssize_t file_read_fd(int fd, char **out)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t r;

		if (CP_GROW(buf, cap, n + 65536 + 1) < 0) {
			errno = ENOMEM;
			goto fail;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	*out = buf;
	return n;
fail:
	free(buf);
	return -1;
}

int file_read_all(const char *path, char **buf, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return cp_error("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		cp_error_errno(EISDIR, "%s: is a directory", path);
		goto fail;
	}
	n = file_read_fd(fd, buf);
	if (n < 0) {
		if (errno == ENOMEM)
			cp_error("out of memory");
		else
			cp_error("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fd)
		close(fd);
	*len = n;
	return 0;
fail:
	if (fd)
		close(fd);
	return -1;
}

static int fileio_stdout = STDOUT_FILENO;

void file_set_stdout(int fd)
{
	fileio_stdout = fd;
}

static int fileio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= w;
	}
	return 0;
}

/* PATH with a symlink in its last component followed, to a target that may
 * not exist yet; a new string, or NULL with errno set. A link to what is not
 * a regular file is left as it is: the kernel opens through it, and the
 * links in /proc/PID/fd read as "pipe:[N]", not as a path. */
static char *fileio_resolve(const char *path)
{
	char *cur = strdup(path);

	for (int hops = 0; cur; hops++) {
		char link[PATH_MAX], *next;
		const char *slash = strrchr(cur, '/');
		struct stat st;
		ssize_t n;

		if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode) ||
		    (stat(cur, &st) == 0 && !S_ISREG(st.st_mode)))
			return cur;
		if (hops == 40) {
			free(cur);
			errno = ELOOP;
			return NULL;
		}
		n = readlink(cur, link, sizeof(link) - 1);
		if (n < 0) {
			free(cur);
			return NULL;
		}
		link[n] = '\0';
		if (link[0] == '/' || !slash) {
			next = strdup(link);
		} else {
			size_t dlen = slash - cur + 1;
			next = malloc(dlen + n + 1);
			if (next) {
				memcpy(next, cur, dlen);
				memcpy(next + dlen, link, n + 1);
			}
		}
		free(cur);
		cur = next;
	}
	errno = ENOMEM;
	return NULL;
}

/* The directory PATH is in, as a new string ("." for a bare name). */
static char *fileio_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
	char *dir = malloc(n ? n + 1 : 2);

	if (!dir)
		return NULL;
	if (n)
		memcpy(dir, path, n);
	else
		dir[n++] = '.';
	dir[n] = '\0';
	return dir;
}

int file_check_output(const char *path)
{
	struct stat st;
	char *real, *dir;
	int rc = -1;

	if (strcmp(path, "-") == 0)
		return 0;
	if (!*path)
		return cp_error("cannot write a file with an empty name");
	real = fileio_resolve(path);
	if (!real)
		return cp_error("cannot write %s: %s", path, strerror(errno));
	if (stat(real, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			cp_error_errno(EISDIR, "cannot write %s: it is a directory; name a file to write",
				       path);
			goto out;
		}
		if (S_ISBLK(st.st_mode)) {
			cp_error("cannot write %s: it is a block device; name a file to write", path);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			if (faccessat(AT_FDCWD, real, W_OK, AT_EACCESS) < 0)
				cp_error("cannot write %s: %s", path, strerror(errno));
			else
				rc = 0;
			goto out;
		}
		/* The file is replaced by a rename, which only the directory's
		 * permission governs: a file the user may not write is refused,
		 * as a shell's > would refuse it. */
		if (faccessat(AT_FDCWD, real, W_OK, AT_EACCESS) < 0) {
			cp_error("cannot write %s: %s", path, strerror(errno));
			goto out;
		}
	} else if (errno != ENOENT || path[strlen(path) - 1] == '/') {
		cp_error("cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	dir = fileio_dir(real);
	if (!dir)
		cp_error("out of memory");
	else if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
		cp_error("cannot write %s: %s", path, strerror(errno));
	else
		rc = 0;
	free(dir);
out:
	free(real);
	return rc;
}

static int fileio_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int fileio_write_in_place(const char *path, const char *real, bool sock, const void *buf,
				 size_t len)
{
	int fd = sock ? fileio_connect(real) : open(real, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	int e;

	if (fd < 0)
		return cp_error("cannot write %s: %s", path, strerror(errno));
	if (fileio_write_all(fd, buf, len) < 0) {
		e = errno;
		close(fd);
		return cp_error("cannot write %s: %s", path, strerror(e));
	}
	if (close(fd) < 0 && errno != EINTR)
		return cp_error("cannot write %s: %s", path, strerror(errno));
	return 0;
}

/* Write BUF to a new file FD, mode MODE, and make it durable. */
static int fileio_fill(int fd, mode_t mode, const void *buf, size_t len)
{
	if (fchmod(fd, mode) < 0 || fileio_write_all(fd, buf, len) < 0 || fsync(fd) < 0)
		return -1;
	return 0;
}

/* The named way, where O_TMPFILE is unsupported: a temporary file beside
 * REAL, renamed over it. */
static int fileio_replace_named(const char *path, const char *real, mode_t mode, const void *buf,
				size_t len)
{
	size_t plen = strlen(real);
	char *tmp = malloc(plen + sizeof(".tmpXXXXXX"));
	int fd, e;

	if (!tmp)
		return cp_error("out of memory");
	memcpy(tmp, real, plen);
	memcpy(tmp + plen, ".tmpXXXXXX", sizeof(".tmpXXXXXX"));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		cp_error("cannot write %s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fileio_fill(fd, mode, buf, len) < 0) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, real) < 0) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	cp_error("cannot write %s: %s", path, strerror(e));
	unlink(tmp);
	free(tmp);
	return -1;
}

/* Give the unnamed file FD the name REAL. No call links a file over an
 * existing name, so an existing REAL is replaced by linking FD to a name of
 * its own first and renaming that over REAL: a named temporary file lives for
 * the one rename only. */
static int fileio_link(int fd, const char *real, bool exists)
{
	char proc[64], *tmp;
	size_t plen = strlen(real);
	unsigned seed = (unsigned)clock() ^ (unsigned)getpid() << 16 ^ (unsigned)time(NULL);
	int rc = -1, e = EEXIST;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!exists) {
		if (linkat(AT_FDCWD, proc, AT_FDCWD, real, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	tmp = malloc(plen + sizeof(".tmpXXXXXX"));
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	for (int i = 0; i < 100 && e == EEXIST; i++) {
		seed = seed * 1103515245 + 12345;
		snprintf(tmp, plen + sizeof(".tmpXXXXXX"), "%s.tmp%06x", real, seed >> 8 & 0xffffff);
		e = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
	}
	if (!e) {
		rc = rename(tmp, real);
		e = errno;
		if (rc < 0)
			unlink(tmp);
	}
	free(tmp);
	errno = e;
	return rc;
}

static int fileio_replace(const char *path, const char *real, const struct stat *old,
			  const void *buf, size_t len)
{
	char *dir = fileio_dir(real);
	mode_t mask = umask(0), mode;
	int fd, e;

	umask(mask);
	mode = old ? old->st_mode & 07777 : 0666 & ~mask;
	if (!dir)
		return cp_error("out of memory");
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	e = errno;
	free(dir);
	if (fd < 0 && (e == EOPNOTSUPP || e == EISDIR || e == EINVAL))
		return fileio_replace_named(path, real, mode, buf, len);
	if (fd < 0)
		return cp_error("cannot write %s: %s", path, strerror(e));
	if (fileio_fill(fd, mode, buf, len) < 0 || fileio_link(fd, real, old != NULL) < 0) {
		e = errno;
		close(fd);
		/* Without /proc an unnamed file cannot be linked in. */
		if (e == ENOENT && access("/proc/self/fd", X_OK) < 0)
			return fileio_replace_named(path, real, mode, buf, len);
		return cp_error("cannot write %s: %s", path, strerror(e));
	}
	if (close(fd) < 0 && errno != EINTR)
		return cp_error("cannot write %s: %s", path, strerror(errno));
	return 0;
}

int file_write_output(const char *path, const void *buf, size_t len)
{
	struct stat st;
	bool exists;
	char *real;
	int rc = -1;

	if (strcmp(path, "-") == 0) {
		if (fileio_write_all(fileio_stdout, buf, len) < 0)
			return cp_error("cannot write standard output: %s", strerror(errno));
		return 0;
	}
	real = fileio_resolve(path);
	if (!real)
		return cp_error("cannot write %s: %s", path, strerror(errno));
	exists = stat(real, &st) == 0;
	if (!exists && errno != ENOENT)
		cp_error("cannot write %s: %s", path, strerror(errno));
	else if (exists && S_ISDIR(st.st_mode))
		cp_error_errno(EISDIR, "cannot write %s: it is a directory; name a file to write",
			       path);
	else if (exists && S_ISBLK(st.st_mode))
		cp_error("cannot write %s: it is a block device; name a file to write", path);
	else if (exists && !S_ISREG(st.st_mode))
		rc = fileio_write_in_place(path, real, S_ISSOCK(st.st_mode), buf, len);
	else
		rc = fileio_replace(path, real, exists ? &st : NULL, buf, len);
	free(real);
	return rc;
}
