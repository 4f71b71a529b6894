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

/* The process's dlopen, dlerror and dlsym: glibc 2.34 and later export them
 * from libc, older ones from libdl. */
static int heapinject_dl(const struct addrspace *as, pid_t pid, uint64_t fns[3])
{
	static const char *const names[3] = { "dlopen", "dlerror", "dlsym" };

	for (int i = 0; i < 3; i++)
		if (inject_symbol(as, "libc.so", names[i], &fns[i]) < 0 &&
		    inject_symbol(as, "libdl.so", names[i], &fns[i]) < 0)
			return cp_error("cannot find %s in process %d: no libc.so.6 or libdl.so.2 "
					"that exports it", names[i], pid);
	return 0;
}

/* The library dlopen said no: its reason, read from the process's dlerror. */
static int heapinject_dlerror(struct inject *in, uint64_t dlerror_fn, pid_t pid, const char *lib)
{
	char msg[512] = "";
	uint64_t at = 0;

	if (inject_call(in, dlerror_fn, NULL, 0, &at) == 0 && at)
		for (size_t i = 0; i + 1 < sizeof(msg); i++)
			if (inject_read(in, at + i, &msg[i], 1) < 0 || !msg[i])
				break;
	return cp_error("cannot load %s into process %d: %s", lib, pid,
			msg[0] ? msg : "dlopen failed");
}

/* Long: the steps of a load, each of which may fail and must leave the
 * process as it was (the thread let go, nothing rerouted). */
int heapinject_load(struct heapinject *hi, pid_t pid, int pidfd, const char *lib, uint64_t rate)
{
	struct heapwire_attach reply;
	struct addrspace *as = NULL;
	struct inject *in = NULL;
	char seen[PATH_MAX + 64];
	uint64_t dl[3], handle = 0, at, fn, args[2];
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
	if (!(as = addrspace_new(pid)) || heapinject_dl(as, pid, dl) < 0)
		goto out;
	t0 = clock_ns(CLOCK_MONOTONIC);
	if (!(in = inject_start(pid, as, HEAPINJECT_TIMEOUT_NS)))
		goto out;
	hi->tid = inject_tid(in);
	args[0] = inject_push(in, lib, strlen(lib) + 1);
	args[1] = RTLD_NOW | RTLD_LOCAL;
	if (!args[0] || inject_call(in, dl[0], args, 2, &handle) < 0)
		goto out;
	if (!handle) {
		heapinject_dlerror(in, dl[1], pid, lib);
		goto out;
	}
	args[0] = handle;
	args[1] = inject_push(in, HEAPWIRE_ATTACH, sizeof(HEAPWIRE_ATTACH));
	if (!args[1] || inject_call(in, dl[2], args, 2, &fn) < 0)
		goto out;
	if (!fn) {
		cp_error("%s, loaded into process %d, has no %s: not cprof's heap library", lib, pid,
			 HEAPWIRE_ATTACH);
		goto out;
	}
	args[0] = rate;
	if (inject_call(in, fn, args, 1, &at) < 0 || inject_read(in, at, &reply, sizeof(reply)) < 0)
		goto out;
	if (reply.magic != HEAPWIRE_MAGIC || reply.version != HEAPWIRE_VERSION) {
		cp_error("the heap library in process %d is of another cprof version; restart it "
			 "to profile it with this one", pid);
		goto out;
	}
	reply.error[sizeof(reply.error) - 1] = reply.allocator[sizeof(reply.allocator) - 1] = '\0';
	if (reply.status) {
		cp_error_errno(reply.status, "cannot profile the heap of process %d: %s", pid,
			       reply.error);
		goto out;
	}
	if ((hi->sock = heapinject_getfd(pidfd, reply.sock)) < 0 ||
	    (hi->ring = heapinject_getfd(pidfd, reply.ring)) < 0) {
		cp_error("cannot take the heap library's descriptors from process %d: %s", pid,
			 strerror(errno));
		inject_call(in, reply.detach, NULL, 0, &at);
		goto out;
	}
	fcntl(hi->sock, F_SETFD, FD_CLOEXEC);
	fcntl(hi->ring, F_SETFD, FD_CLOEXEC);
	if (inject_call(in, reply.commit, NULL, 0, (uint64_t *)&hi->rerouted) < 0)
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
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	uint64_t n = 0;
	int rc = -1;

	*took_ns = *held_ns = 0;
	if (!as || !(in = inject_start(pid, as, HEAPINJECT_TIMEOUT_NS)))
		goto out;
	rc = inject_call(in, hi->detach, NULL, 0, &n);
	*held_ns = inject_end(in);
	*took_ns = clock_ns(CLOCK_MONOTONIC) - t0;
out:
	addrspace_free(as);
	return rc < 0 ? -1 : (int64_t)n;
}
