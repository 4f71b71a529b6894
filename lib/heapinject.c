/* cprof's heap library loaded into a running process and let go again; see
 * heapinject.h. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addrspace.h"
#include "clock.h"
#include "errmsg.h"
#include "heapinject.h"
#include "heapwire.h"
#include "inject.h"

#define HEAPINJECT_TIMEOUT_NS 3000000000LL /* to find a thread that may be called into */
#define HEAPINJECT_CALL_NS 10000000000LL /* for a call to return */

/* Functions whose definition in a program means an allocator linked in. */
static const char *const heapinject_allocators[] = {
	"malloc", "je_malloc", "_rjem_malloc", "tc_malloc", "mi_malloc", "rpmalloc",
};

int heapinject_check_program(pid_t pid, const char *name)
{
	char path[64];
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	size_t nph;
	bool interp = false;
	const char *own = NULL;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	elf_version(EV_CURRENT);
	/* What cannot be read is left for the library to find out. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (!(elf = elf_begin(fd, ELF_C_READ_MMAP, NULL)) || elf_kind(elf) != ELF_K_ELF ||
	    elf_getphdrnum(elf, &nph) < 0)
		goto out;
	for (size_t i = 0; i < nph && !interp; i++) {
		GElf_Phdr ph;
		interp = gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP;
	}
	while (interp && !own && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 1; i < sh.sh_size / sh.sh_entsize && !own; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !(s = elf_strptr(elf, sh.sh_link, sym.st_name)))
				continue;
			for (size_t k = 0; k < sizeof(heapinject_allocators) / sizeof(*heapinject_allocators); k++)
				if (strcmp(s, heapinject_allocators[k]) == 0)
					own = heapinject_allocators[k];
		}
	}
	if (!interp)
		rc = cp_error_errno(ENOEXEC, "cannot profile the heap of %s: it is statically linked, "
				    "so it cannot load cprof's allocator library", name);
	else if (own)
		rc = cp_error_errno(ENOTSUP, "cannot profile the heap of %s: it has an allocator of its "
				    "own linked in (it defines %s), whose calls cprof heap cannot see",
				    name, own);
out:
	elf_end(elf);
	close(fd);
	return rc;
}

static int heapinject_getfd(int pidfd, int fd)
{
#ifdef SYS_pidfd_getfd
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* The process's dlopen: glibc 2.34 and later export it from libc, older
 * ones from libdl. */
static int heapinject_dlopen(const struct addrspace *as, pid_t pid, uint64_t *fn)
{
	if (inject_symbol(as, "libc.so", "dlopen", fn) < 0 &&
	    inject_symbol(as, "libdl.so", "dlopen", fn) < 0)
		return cp_error("cannot find dlopen in process %d: no libc.so.6 or libdl.so.2 that "
				"exports it", pid);
	return 0;
}

/* Whether the process's user (its Uid and Gid in /proc) can read PATH, by
 * the file's mode alone. */
static bool heapinject_readable(pid_t pid, const char *path)
{
	char status[64], line[256];
	unsigned uid = 0, gid = 0;
	struct stat st;
	FILE *f;

	snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
	if (stat(path, &st) < 0 || !(f = fopen(status, "re")))
		return true;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Uid: %*u %u", &uid);
		sscanf(line, "Gid: %*u %u", &gid);
	}
	fclose(f);
	return uid == 0 || (st.st_uid == uid ? st.st_mode & S_IRUSR :
			    st.st_gid == gid ? st.st_mode & S_IRGRP : st.st_mode & S_IROTH);
}

/* Why dlopen refused LIB in PID (its own message is a return value, which a
 * call through ptrace does not bring back): the process's user cannot read
 * it, or a library it needs is not where the process looks. */
static int heapinject_refused(pid_t pid, const char *lib)
{
	static const char *const dirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
					    "/lib64", "/usr/lib64", "/lib", "/usr/lib" };
	char seen[PATH_MAX + 64];
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	int fd;

	if (!heapinject_readable(pid, lib))
		return cp_error("cannot load %s into process %d: its user may not read it; install "
				"cprof where it can (the library is read by the process itself)", lib, pid);
	elf_version(EV_CURRENT);
	if ((fd = open(lib, O_RDONLY | O_CLOEXEC)) >= 0 && (elf = elf_begin(fd, ELF_C_READ_MMAP, NULL)))
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			Elf_Data *d;
			GElf_Dyn dyn;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(d = elf_getdata(scn, NULL)))
				continue;
			for (int i = 0; gelf_getdyn(d, i, &dyn) && dyn.d_tag != DT_NULL; i++) {
				const char *need = dyn.d_tag == DT_NEEDED ? elf_strptr(elf, sh.sh_link, dyn.d_un.d_val) : NULL;
				bool found = !need;
				for (size_t k = 0; !found && k < sizeof(dirs) / sizeof(*dirs); k++) {
					snprintf(seen, sizeof(seen), "/proc/%d/root%s/%s", (int)pid, dirs[k], need);
					found = access(seen, F_OK) == 0;
				}
				if (!found) {
					cp_error("cannot load %s into process %d: %s, which it needs, is not "
						 "installed where the process looks", lib, pid, need);
					elf_end(elf);
					close(fd);
					return -1;
				}
			}
		}
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return cp_error("cannot load %s into process %d: its dynamic loader refused it", lib, pid);
}

/* The attach call, after dlopen: the library's entry point found in the maps
 * as they are now, called with a buffer for its reply. */
static int heapinject_attach(struct inject *in, struct addrspace *as, pid_t pid, const char *lib,
			     uint64_t rate, struct heapwire_attach *reply)
{
	uint64_t fn, args[2];

	const char *base = strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib;

	if (addrspace_refresh(as) < 0)
		return -1;
	if (inject_symbol(as, base, HEAPWIRE_ATTACH, &fn) < 0)
		return heapinject_refused(pid, lib);
	memset(reply, 0, sizeof(*reply));
	args[0] = rate;
	args[1] = inject_push(in, reply, sizeof(*reply));
	if (!args[1] || inject_call(in, fn, args, 2, HEAPINJECT_CALL_NS) < 0 ||
	    inject_read(in, args[1], reply, sizeof(*reply)) < 0)
		return -1;
	if (reply->magic != HEAPWIRE_MAGIC || reply->version != HEAPWIRE_VERSION)
		return cp_error("the heap library in process %d is of another cprof version; restart "
				"it to profile it with this one", pid);
	reply->error[sizeof(reply->error) - 1] = reply->allocator[sizeof(reply->allocator) - 1] = '\0';
	if (reply->status)
		return cp_error_errno(reply->status, "cannot profile the heap of process %d: %s", pid,
				      reply->error);
	return 0;
}

/* A call of the library's COMMIT or DETACH, its count into *N. */
static int heapinject_count(struct inject *in, uint64_t fn, int64_t *n)
{
	uint64_t out;

	*n = 0;
	return (out = inject_push(in, n, sizeof(*n))) && inject_call(in, fn, &out, 1, HEAPINJECT_CALL_NS) == 0 &&
			       inject_read(in, out, n, sizeof(*n)) == 0 ? 0 : -1;
}

/* Long: the steps of a load, each of which may fail and must leave the
 * process as it was (the thread put back, nothing rerouted, the library's
 * descriptors closed). */
int heapinject_load(struct heapinject *hi, pid_t pid, int pidfd, const char *lib, uint64_t rate)
{
	struct heapwire_attach reply;
	struct addrspace *as = NULL;
	struct inject *in = NULL;
	char seen[PATH_MAX + 64];
	uint64_t dlopen_fn, args[2];
	bool attached = false;
	int64_t t0 = 0;
	int rc = -1;

	memset(hi, 0, sizeof(*hi));
	hi->sock = hi->ring = -1;
	snprintf(seen, sizeof(seen), "/proc/%d/root%s", (int)pid, lib);
	if (access(seen, R_OK) < 0 && errno == ENOENT)
		return cp_error("cannot load %s into process %d: it cannot see that file (it runs "
				"in another mount namespace, such as a container's)", lib, pid);
	if (pidfd < 0)
		return cp_error("cannot profile the heap of process %d: this kernel has no pidfd, "
				"which taking its descriptors needs (Linux 5.6 or later)", pid);
	if (!(as = addrspace_new(pid)) || heapinject_dlopen(as, pid, &dlopen_fn) < 0)
		goto out;
	t0 = clock_ns(CLOCK_MONOTONIC);
	if (!(in = inject_start(pid, as, HEAPINJECT_TIMEOUT_NS)))
		goto out;
	hi->tid = inject_tid(in);
	args[0] = inject_push(in, lib, strlen(lib) + 1);
	args[1] = RTLD_NOW | RTLD_LOCAL;
	if (!args[0] || inject_call(in, dlopen_fn, args, 2, HEAPINJECT_CALL_NS) < 0 ||
	    heapinject_attach(in, as, pid, lib, rate, &reply) < 0)
		goto out;
	attached = true;
	if ((hi->sock = heapinject_getfd(pidfd, reply.sock)) < 0 ||
	    (hi->ring = heapinject_getfd(pidfd, reply.ring)) < 0) {
		cp_error("cannot take the heap library's descriptors from process %d: %s", pid,
			 strerror(errno));
		goto out;
	}
	fcntl(hi->sock, F_SETFD, FD_CLOEXEC);
	fcntl(hi->ring, F_SETFD, FD_CLOEXEC);
	if (heapinject_count(in, reply.commit, &hi->rerouted) < 0)
		goto out;
	if (hi->rerouted < 0) {
		cp_error_errno((int)-hi->rerouted, "the heap library in process %d would not start: %s",
			       pid, strerror((int)-hi->rerouted));
		goto out;
	}
	hi->detach = reply.detach;
	hi->preloaded = reply.preloaded;
	snprintf(hi->allocator, sizeof(hi->allocator), "%s", reply.allocator);
	rc = 0;
out:
	/* What the attach made in the process, let go of (and anything rerouted
	 * put back), as long as calls can still be made. */
	if (rc < 0 && attached) {
		int64_t n;
		heapinject_count(in, reply.detach, &n);
	}
	if (in) {
		hi->held_ns = inject_end(in);
		hi->took_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	}
	if (rc < 0) {
		if (hi->sock >= 0)
			close(hi->sock);
		if (hi->ring >= 0)
			close(hi->ring);
		hi->sock = hi->ring = -1;
	}
	addrspace_free(as);
	return rc;
}

int64_t heapinject_unload(const struct heapinject *hi, pid_t pid, int64_t *took_ns,
			  int64_t *held_ns)
{
	struct addrspace *as = addrspace_new(pid);
	struct inject *in = NULL;
	int64_t t0 = clock_ns(CLOCK_MONOTONIC), n = 0;
	int rc = -1;

	*took_ns = *held_ns = 0;
	if (!as || !(in = inject_start(pid, as, HEAPINJECT_TIMEOUT_NS)))
		goto out;
	rc = heapinject_count(in, hi->detach, &n);
	*held_ns = inject_end(in);
	*took_ns = clock_ns(CLOCK_MONOTONIC) - t0;
out:
	addrspace_free(as);
	return rc < 0 ? -1 : n;
}
