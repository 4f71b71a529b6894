/* Unit tests of /proc parsing, the address space and the unwinder, on this
 * very process: a known chain of noinline functions captures its registers and
 * stack as perf would, and the unwinder must name the chain back; then the
 * same for a forked child stopped at random points with ptrace.
 * Build with -O2 -fomit-frame-pointer -g: the unwind must not need frame
 * pointers. */
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addrspace.h"
#include "errmsg.h"
#include "proc.h"
#include "test.h"
#include "unwind.h"

#define NOINLINE __attribute__((noipa))
#define MAX_STACK 16384

struct capture {
	uint64_t regs[UREG_COUNT];
	unsigned char stack[MAX_STACK];
	size_t size;
};

int main(void);

static uint64_t stack_end; /* end of the mapping holding the main thread's stack */
static size_t copy_size = 8192;

/* Record the registers as they are at the label, in perf's order, then copy
 * the stack from the stack pointer up, as the kernel does for a sample. */
static NOINLINE void capture(struct capture *c)
{
	uint64_t *r = c->regs;
	uint64_t sp, n;

	asm volatile("movq %%rbx, %c[bx](%0)\n\t"
		     "movq %%rcx, %c[cx](%0)\n\t"
		     "movq %%rdx, %c[dx](%0)\n\t"
		     "movq %%rsi, %c[si](%0)\n\t"
		     "movq %%rdi, %c[di](%0)\n\t"
		     "movq %%rbp, %c[bp](%0)\n\t"
		     "movq %%rsp, %c[sp](%0)\n\t"
		     "movq %%r8, %c[r8](%0)\n\t"
		     "movq %%r9, %c[r9](%0)\n\t"
		     "movq %%r10, %c[r10](%0)\n\t"
		     "movq %%r11, %c[r11](%0)\n\t"
		     "movq %%r12, %c[r12](%0)\n\t"
		     "movq %%r13, %c[r13](%0)\n\t"
		     "movq %%r14, %c[r14](%0)\n\t"
		     "movq %%r15, %c[r15](%0)\n\t"
		     "leaq 1f(%%rip), %%rax\n"
		     "1:\tmovq %%rax, %c[ip](%0)\n\t"
		     :
		     : "r"(r), [bx] "i"(8 * UREG_BX), [cx] "i"(8 * UREG_CX),
		       [dx] "i"(8 * UREG_DX), [si] "i"(8 * UREG_SI), [di] "i"(8 * UREG_DI),
		       [bp] "i"(8 * UREG_BP), [sp] "i"(8 * UREG_SP), [ip] "i"(8 * UREG_IP),
		       [r8] "i"(8 * UREG_R8), [r9] "i"(8 * UREG_R9), [r10] "i"(8 * UREG_R10),
		       [r11] "i"(8 * UREG_R11), [r12] "i"(8 * UREG_R12),
		       [r13] "i"(8 * UREG_R13), [r14] "i"(8 * UREG_R14),
		       [r15] "i"(8 * UREG_R15)
		     : "rax", "memory");
	sp = r[UREG_SP];
	n = stack_end > sp ? stack_end - sp : 0;
	c->size = n < copy_size ? n : copy_size;
	/* The kernel copies the stack, not the program: read it the same way,
	 * so valgrind does not see reads of its signal-frame red zones. */
	{
		struct iovec local = { c->stack, c->size };
		struct iovec remote = { (void *)(uintptr_t)sp, c->size };

		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)c->size)
			memcpy(c->stack, (const void *)(uintptr_t)sp, c->size);
	}
}

static NOINLINE int inner(struct capture *c)
{
	capture(c);
	asm volatile("" ::: "memory");
	return 1;
}

static NOINLINE int middle(struct capture *c)
{
	int r = inner(c);

	asm volatile("" : "+r"(r) : : "memory");
	return r + 1;
}

static NOINLINE int outer(struct capture *c)
{
	int r = middle(c);

	asm volatile("" : "+r"(r) : : "memory");
	return r + 1;
}

static NOINLINE int deep(struct capture *c, int n)
{
	int r = n ? deep(c, n - 1) : outer(c);

	asm volatile("" : "+r"(r) : : "memory");
	return r + 1;
}

static volatile int spinning = 1;

static NOINLINE int spin(void)
{
	int n = 0;

	while (spinning)
		n++;
	return n;
}

static NOINLINE int remote_middle(void)
{
	int r = spin();

	asm volatile("" : "+r"(r) : : "memory");
	return r + 1;
}

static NOINLINE int remote_outer(void)
{
	int r = remote_middle();

	asm volatile("" : "+r"(r) : : "memory");
	return r + 1;
}

static struct capture *sig_capture;

static NOINLINE void on_signal(int sig)
{
	capture(sig_capture);
	asm volatile("" ::: "memory");
}

static NOINLINE int raiser(struct capture *c)
{
	int r;

	sig_capture = c;
	r = raise(SIGUSR1);
	asm volatile("" : "+r"(r) : : "memory");
	return r + 1;
}

/* The run-time range of the function at FN, from the symbol table. */
static int func_range(struct addrspace *as, const void *fn, uint64_t *lo, uint64_t *hi)
{
	const struct as_map *m = addrspace_find(as, (uintptr_t)fn);
	Elf_Scn *scn = NULL;
	Elf *elf;

	if (!m || !m->mod)
		return -1;
	elf = module_elf(m->mod);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;

			if (gelf_getsym(d, i, &s) && GELF_ST_TYPE(s.st_info) == STT_FUNC &&
			    s.st_value + m->bias == (uintptr_t)fn && s.st_size) {
				*lo = s.st_value + m->bias;
				*hi = *lo + s.st_size;
				return 0;
			}
		}
	}
	return -1;
}

/* The run-time address of symbol NAME of the module mapped at ADDR, or 0. */
static uint64_t sym_addr(struct addrspace *as, uint64_t addr, const char *name)
{
	const struct as_map *m = addrspace_find(as, addr);
	Elf_Scn *scn = NULL;
	Elf *elf;

	if (!m || !m->mod)
		return 0;
	elf = module_elf(m->mod);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *nm;

			if (gelf_getsym(d, i, &s) && GELF_ST_TYPE(s.st_info) == STT_FUNC &&
			    (nm = elf_strptr(elf, sh.sh_link, s.st_name)) && strcmp(nm, name) == 0)
				return s.st_value + m->bias;
		}
	}
	return 0;
}

/* Is PC a return address into FN (or, for the first frame, in it)? */
static int in_func(struct addrspace *as, uint64_t pc, const void *fn, int first)
{
	uint64_t lo, hi;

	if (func_range(as, fn, &lo, &hi) < 0)
		return 0;
	return first ? pc >= lo && pc < hi : pc > lo && pc <= hi;
}

static int in_lib(struct addrspace *as, uint64_t pc, const char *name)
{
	const struct as_map *m = addrspace_find(as, pc);

	return m && strstr(m->path, name);
}

static void dump(struct addrspace *as, const uint64_t *pcs, int n)
{
	for (int i = 0; i < n; i++) {
		const struct as_map *m = addrspace_find(as, pcs[i]);

		fprintf(stderr, "  #%d %#llx %s+%#llx\n", i, (unsigned long long)pcs[i],
			m ? m->path : "?", m ? (unsigned long long)(pcs[i] - m->bias) : 0ULL);
	}
}

static void test_maps_parse(void)
{
	static const char good[] =
		"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"
		"00651000-00652000 rw-p 00051000 08:02 173521      /usr/bin/dbus-daemon\n"
		"7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 \n"
		"7f1c2b000000-7f1c2b001000 r-xs 00001000 103:0a 42   /tmp/my dir/lib x.so (deleted)\n"
		"7ffd2a5e1000-7ffd2a602000 rw-p 00000000 00:00 0                          [stack]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
	static const char *bad[] = {
		"zzzz-1000 r-xp 00000000 08:02 1 /x\n",
		"1000-2000 rwxq 00000000 08:02 1 /x\n",
		"1000-2000 r-xp 00000000 08:02\n",
		"1000-2000 r-xp 00000000 08:02 12x /x\n",
		"2000-1000 r-xp 00000000 08:02 1 /x\n",
		"1000-2000 r-xp 00000000 0802 1 /x\n",
		"10000000000000000-2000 r-xp 00000000 08:02 1 /x\n",
		"1000-2000 r-xp 00000000 08:02 99999999999999999999999 /x\n",
		"1000-2000 r-x\n",
		"1000-2000 r-xp 00000000 08:02 1 /x\n\n3000-4000 r-xp 0 08:02 1 /y\n",
		"1000-2000\n",
		"-\n",
		" 1000-2000 r-xp 00000000 08:02 1 /x\n",
	};
	struct proc_maps m;
	const struct proc_map *f;

	CHECK(proc_maps_parse(&m, good, strlen(good)) == 0);
	CHECK(m.n == 6);
	if (m.n == 6) {
		CHECK(m.maps[0].start == 0x400000 && m.maps[0].end == 0x452000);
		CHECK(m.maps[0].r && !m.maps[0].w && m.maps[0].x && !m.maps[0].shared);
		CHECK(m.maps[0].dev_major == 8 && m.maps[0].dev_minor == 2);
		CHECK(m.maps[0].inode == 173521);
		CHECK_STR(m.maps[0].path, "/usr/bin/dbus-daemon");
		CHECK(m.maps[1].offset == 0x51000 && m.maps[1].w && !m.maps[1].x);
		CHECK_STR(m.maps[2].path, "");
		CHECK_STR(m.maps[3].path, "/tmp/my dir/lib x.so (deleted)");
		CHECK(m.maps[3].shared && m.maps[3].dev_major == 0x103 &&
		      m.maps[3].dev_minor == 0xa && m.maps[3].inode == 42);
		CHECK_STR(m.maps[4].path, "[stack]");
		CHECK_STR(m.maps[5].path, "[vsyscall]");
		CHECK(!m.maps[5].r && m.maps[5].x && m.maps[5].end == 0xffffffffff601000ULL);
	}
	f = proc_maps_find(&m, 0x451fff);
	CHECK(f && f->start == 0x400000);
	CHECK(proc_maps_find(&m, 0x452000) == NULL);
	CHECK(proc_maps_find(&m, 0x3fffff) == NULL);
	f = proc_maps_find(&m, 0x7ffd2a5e1000);
	CHECK(f && strcmp(f->path, "[stack]") == 0);
	proc_maps_release(&m);

	/* Not NUL-terminated: LEN bounds the text. */
	CHECK(proc_maps_parse(&m, good, 20) != 0);
	CHECK(proc_maps_parse(&m, good, 0) == 0 && m.n == 0);
	proc_maps_release(&m);

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int r = proc_maps_parse(&m, bad[i], strlen(bad[i]));

		CHECK(r == -1);
		CHECK(strstr(cp_errmsg(), "malformed maps line") != NULL);
		if (r == 0)
			proc_maps_release(&m);
	}
	CHECK(proc_maps_parse(&m, bad[9], strlen(bad[9])) < 0 &&
	      strstr(cp_errmsg(), "line 2") != NULL);
	CHECK(proc_maps_parse(&m, "1000-2000 r-xp 0 08:02 1 /a\0b\n", 30) < 0);

	{
		/* A very long path, and lines out of order. */
		size_t plen = 100000;
		char *text = malloc(plen + 200);
		int k = sprintf(text, "3000-4000 r--p 00000000 00:00 0 /a\n1000-2000 r-xp 00000000 08:02 7 /");

		memset(text + k, 'x', plen);
		text[k + plen] = '\n';
		CHECK(proc_maps_parse(&m, text, k + plen + 1) == 0);
		CHECK(m.n == 2 && m.maps[0].start == 0x1000 && strlen(m.maps[0].path) == plen + 1);
		CHECK(m.n == 2 && proc_maps_find(&m, 0x3800) == &m.maps[1]);
		proc_maps_release(&m);
		free(text);
	}
}

static void test_proc(void)
{
	char name[64], cmd[256];
	pid_t *tids = NULL, child;
	ssize_t n;
	int found = 0, status;

	n = proc_tasks(getpid(), &tids);
	CHECK(n >= 1);
	for (ssize_t i = 0; i < n; i++)
		found |= tids[i] == getpid();
	CHECK(found);
	free(tids);

	proc_thread_name(getpid(), getpid(), name, sizeof(name));
	CHECK(name[0] != '\0' && !strchr(name, '\n'));
	CHECK(proc_thread_state(getpid(), getpid()) == 'R');
	proc_cmdline(getpid(), cmd, sizeof(cmd));
	CHECK(strstr(cmd, "test-unwind") != NULL);
	proc_cmdline(getpid(), cmd, 5);
	CHECK(strlen(cmd) == 4);

	child = fork();
	if (child == 0)
		_exit(0);
	CHECK(child > 0 && waitpid(child, &status, 0) == child);
	tids = NULL;
	CHECK(proc_tasks(child, &tids) == -1);
	snprintf(cmd, sizeof(cmd), "no such process %d", (int)child);
	CHECK_STR(cp_errmsg(), cmd);
	CHECK(addrspace_new(child) == NULL);
	CHECK_STR(cp_errmsg(), cmd);
	CHECK(proc_thread_state(child, child) == 0);
	proc_thread_name(child, child, name, sizeof(name));
	CHECK_STR(name, "");
	proc_cmdline(child, cmd, sizeof(cmd));
	CHECK_STR(cmd, "");
}

static void test_addrspace(struct addrspace *as)
{
	const struct as_map *m, *maps;
	unsigned char buf[64];
	char exe[4096];
	uint64_t vaddr, size, vdso = getauxval(AT_SYSINFO_EHDR);
	size_t n, n2;
	unsigned id;
	ssize_t len;
	void *jit;

	m = addrspace_find(as, (uintptr_t)&inner);
	CHECK(m && m->mod);
	if (!m || !m->mod)
		return;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	CHECK_STR(m->path, exe);
	CHECK_STR(module_path(m->mod), exe);
	CHECK(m->start <= (uintptr_t)&inner && (uintptr_t)&inner < m->end);

	/* Code read from the file is the code in memory. */
	CHECK(addrspace_read(as, (uintptr_t)&inner, buf, 16) == 0);
	CHECK(memcmp(buf, (const void *)&inner, 16) == 0);
	/* The ELF header, in the first (read-only, not executable) segment. */
	{
		Elf *elf = module_elf(m->mod);
		uint64_t hdr = 0;
		size_t nph = 0;
		GElf_Phdr ph;

		elf_getphdrnum(elf, &nph);
		for (size_t i = 0; i < nph; i++)
			if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0)
				hdr = ph.p_vaddr + m->bias;
		CHECK(hdr != 0);
		CHECK(addrspace_read(as, hdr, buf, 4) == 0 && memcmp(buf, ELFMAG, SELFMAG) == 0);
		CHECK(hdr && memcmp(buf, (const void *)(uintptr_t)hdr, 4) == 0);
	}
	CHECK(addrspace_read(as, 16, buf, 8) == -1);
	CHECK(addrspace_find(as, 16) == NULL);

	CHECK(module_eh_frame_hdr(m->mod, &vaddr, &size) == 0 && size > 8);
	CHECK(module_elf(m->mod) != NULL);
	{
		/* The build id, if the linker wrote one, from its section. */
		Elf *elf = module_elf(m->mod);
		Elf_Scn *scn = NULL;
		char want[129] = "";

		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			GElf_Nhdr nh;
			size_t off = 0, name_off, desc_off;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
				continue;
			d = elf_getdata(scn, NULL);
			while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
				if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4)
					for (size_t i = 0; i < nh.n_descsz && i < 64; i++)
						sprintf(want + 2 * i, "%02x",
							((unsigned char *)d->d_buf)[desc_off + i]);
		}
		CHECK_STR(module_build_id(m->mod), want);
		if (!want[0])
			printf("test-unwind: note: %s has no build id\n", exe);
	}

	/* libc, a shared library: its code too reads as in memory. */
	maps = addrspace_maps(as, &n);
	for (m = NULL; n; n--)
		if (strstr(maps[n - 1].path, "/libc.so"))
			m = addrspace_find(as, maps[n - 1].start);
	CHECK(m && m->mod && m->bias && m->bias != m->start);
	CHECK(m && addrspace_read(as, m->start + 64, buf, sizeof(buf)) == 0 &&
	      memcmp(buf, (const void *)(uintptr_t)(m->start + 64), sizeof(buf)) == 0);
	CHECK(m && m->mod && module_build_id(m->mod)[0]);

	if (vdso) {
		m = addrspace_find(as, vdso);
		CHECK(m && strcmp(m->path, "[vdso]") == 0 && m->mod);
		CHECK(m && m->start == vdso && m->bias == vdso);
		CHECK(addrspace_read(as, vdso, buf, sizeof(buf)) == 0 &&
		      memcmp(buf, (const void *)(uintptr_t)vdso, sizeof(buf)) == 0);
		CHECK(m && m->mod && module_eh_frame_hdr(m->mod, &vaddr, &size) == 0);
	} else {
		printf("test-unwind: note: no vdso (valgrind?), [vdso] not tested\n");
	}

	maps = addrspace_maps(as, &n);
	for (size_t i = 0; i < n; i++)
		CHECK(maps[i].id == i + 1);
	m = addrspace_find(as, (uintptr_t)&inner);
	id = m ? m->id : 0;

	/* A new executable mapping gets a new id; old ids stay, and the list
	 * only grows (valgrind adds mappings of its own meanwhile). */
	jit = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(jit != MAP_FAILED);
	CHECK(addrspace_refresh(as) == 0);
	maps = addrspace_maps(as, &n2);
	CHECK(n2 >= n + 1);
	m = addrspace_find(as, (uintptr_t)jit);
	CHECK(m && m->id > n && m->id <= n2 && m->mod == NULL && strcmp(m->path, "") == 0);
	CHECK(addrspace_read(as, (uintptr_t)jit, buf, 8) == -1);
	m = addrspace_find(as, (uintptr_t)&inner);
	CHECK(m && m->id == id);
	munmap(jit, 8192);
	CHECK(addrspace_refresh(as) == 0);
	CHECK(addrspace_find(as, (uintptr_t)jit) == NULL);
	n = n2;
	maps = addrspace_maps(as, &n2);
	CHECK(n2 >= n);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static NOINLINE void test_unwind(struct addrspace *as)
{
	static struct capture c;
	struct unwinder *u = unwinder_new(as);
	uint64_t pcs[128], pcs2[128];
	int n, libc = 0, i;

	CHECK(u != NULL);
	if (!u)
		return;

	/* main -> test_unwind -> outer -> middle -> inner -> capture */
	outer(&c);
	CHECK(c.size > 256);
	n = unwinder_unwind(u, c.regs, c.stack, c.size, pcs, 128);
	CHECK(n >= 7);
	CHECK(n >= 1 && pcs[0] == c.regs[UREG_IP] && in_func(as, pcs[0], capture, 1));
	CHECK(n >= 2 && in_func(as, pcs[1], inner, 0));
	CHECK(n >= 3 && in_func(as, pcs[2], middle, 0));
	CHECK(n >= 4 && in_func(as, pcs[3], outer, 0));
	CHECK(n >= 5 && in_func(as, pcs[4], test_unwind, 0));
	CHECK(n >= 6 && in_func(as, pcs[5], main, 0));
	for (i = 6; i < n; i++)
		libc |= in_lib(as, pcs[i], "libc.so");
	CHECK(libc);
	if (test_failures)
		dump(as, pcs, n);

	/* The same again, from the cache; then after a flush. */
	CHECK(unwinder_unwind(u, c.regs, c.stack, c.size, pcs2, 128) == n &&
	      memcmp(pcs, pcs2, n * sizeof(*pcs)) == 0);
	unwinder_flush(u);
	CHECK(unwinder_unwind(u, c.regs, c.stack, c.size, pcs2, 128) == n &&
	      memcmp(pcs, pcs2, n * sizeof(*pcs)) == 0);

	/* Whole: it reaches _start with every read served. Cut: too few frames
	 * allowed, or a copy that ends before the outermost frame. */
	{
		bool whole = false;

		CHECK(unwinder_walk(u, c.regs, c.stack, c.size, pcs2, 128, &whole) == n && whole);
		CHECK(unwinder_walk(u, c.regs, c.stack, c.size, pcs2, n - 1, &whole) == n - 1 &&
		      !whole);
		CHECK(unwinder_walk(u, c.regs, c.stack, c.size, pcs2, 3, &whole) == 3 && !whole);
		CHECK(unwinder_walk(u, c.regs, c.stack, 64, pcs2, 128, &whole) < n && !whole);
		CHECK(unwinder_walk(u, c.regs, c.stack, 0, pcs2, 128, &whole) <= 2 && !whole);
	}

	/* Limits: MAX frames, an empty or short stack copy, a garbage stack. */
	CHECK(unwinder_unwind(u, c.regs, c.stack, c.size, pcs2, 3) == 3);
	CHECK(unwinder_unwind(u, c.regs, c.stack, c.size, pcs2, 0) == 0);
	i = unwinder_unwind(u, c.regs, c.stack, 0, pcs2, 128);
	CHECK(i >= 1 && i <= 2 && pcs2[0] == pcs[0]);
	i = unwinder_unwind(u, c.regs, c.stack, 64, pcs2, 128);
	CHECK(i >= 1 && i < n && memcmp(pcs, pcs2, i * sizeof(*pcs)) == 0);
	{
		static struct capture g;
		unsigned seed = 1;

		g = c;
		for (size_t k = 0; k < g.size; k++)
			g.stack[k] = (seed = seed * 1103515245 + 12345) >> 16;
		n = unwinder_unwind(u, g.regs, g.stack, g.size, pcs2, 128);
		CHECK(n >= 1 && n <= 128);
		g.regs[UREG_IP] = 0;
		CHECK(unwinder_unwind(u, g.regs, g.stack, g.size, pcs2, 128) == 0);
		g.regs[UREG_IP] = 0x10;
		n = unwinder_unwind(u, g.regs, g.stack, g.size, pcs2, 128);
		CHECK(n >= 1 && n <= 128);
	}

	/* At the entry of a vdso function: only its CFI says the return address
	 * is at the stack pointer (no frame pointer to fall back on). */
	if (getauxval(AT_SYSINFO_EHDR)) {
		uint64_t fn = sym_addr(as, getauxval(AT_SYSINFO_EHDR), "__vdso_clock_gettime");
		static struct capture v;

		CHECK(fn != 0);
		v = c;
		v.regs[UREG_IP] = fn;
		v.regs[UREG_BP] = 0;
		memcpy(v.stack, &pcs[2], sizeof(pcs[2]));
		i = unwinder_unwind(u, v.regs, v.stack, v.size, pcs2, 128);
		CHECK(i >= 2 && pcs2[0] == fn && pcs2[1] == pcs[2]);
	}

	/* A signal frame: on_signal <- __restore_rt <- ... raise <- raiser <- main */
	{
		static struct capture s;
		int seen_raiser = 0;

		copy_size = MAX_STACK;
		signal(SIGUSR1, on_signal);
		raiser(&s);
		signal(SIGUSR1, SIG_DFL);
		copy_size = 8192;
		n = unwinder_unwind(u, s.regs, s.stack, s.size, pcs2, 128);
		CHECK(n >= 2 && in_func(as, pcs2[1], on_signal, 0));
		for (i = 2; i < n; i++) {
			if (in_func(as, pcs2[i], raiser, 0)) {
				seen_raiser = 1;
				break;
			}
		}
		CHECK(seen_raiser && i + 1 < n && in_func(as, pcs2[i + 1], test_unwind, 0));
		if (!seen_raiser)
			dump(as, pcs2, n);
	}

	/* Cost: ~24 frames from a deeper chain, cold then warm. */
	{
		static struct capture d;
		double t0, t1, cold;
		int iters = 0, deep_frames = 0;

		deep(&d, 16);
		unwinder_flush(u);
		t0 = now_us();
		n = unwinder_unwind(u, d.regs, d.stack, d.size, pcs2, 128);
		cold = now_us() - t0;
		for (i = 0; i < n; i++)
			deep_frames += in_func(as, pcs2[i], deep, 0);
		CHECK(deep_frames == 17);
		if (deep_frames != 17)
			dump(as, pcs2, n);
		CHECK(n >= 23);
		t0 = now_us();
		do {
			unwinder_unwind(u, d.regs, d.stack, d.size, pcs2, 128);
			iters++;
			t1 = now_us();
		} while (iters < 10000 && t1 - t0 < 2e6);
		printf("test-unwind: %d frames: cold %.1f us, warm %.2f us per unwind (%d runs)\n",
		       n, cold, (t1 - t0) / iters, iters);
	}
	unwinder_free(u);
}

/* Another process, sampled the way cprof's thread snapshots do it: stopped
 * at whatever instruction it was on, registers from ptrace, stack copied
 * with process_vm_readv. */
static NOINLINE void test_remote(void)
{
	struct addrspace *as;
	struct unwinder *u;
	pid_t pid;
	int status, sampled = 0, good = 0;

	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		/* ptrace would see valgrind's registers, not the program's. */
		printf("test-unwind: note: under valgrind, remote unwinding not tested\n");
		return;
	}
	pid = fork();
	if (pid == 0) {
		remote_outer();
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid < 0)
		return;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) {
		printf("test-unwind: note: cannot ptrace (%s), remote unwinding not tested\n",
		       strerror(errno));
		goto out;
	}
	as = addrspace_new(pid);
	CHECK(as != NULL);
	u = as ? unwinder_new(as) : NULL;
	for (int k = 0; u && k < 200 && sampled < 20; k++) {
		static struct capture c;
		struct user_regs_struct ur;
		struct iovec io = { &ur, sizeof(ur) }, local, remote;
		uint64_t pcs[64];
		int n;

		usleep(1000);
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, &status, __WALL) != pid)
			break;
		if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io) < 0)
			break;
		{
			const uint64_t r[UREG_COUNT] = {
				[UREG_AX] = ur.rax, [UREG_BX] = ur.rbx, [UREG_CX] = ur.rcx,
				[UREG_DX] = ur.rdx, [UREG_SI] = ur.rsi, [UREG_DI] = ur.rdi,
				[UREG_BP] = ur.rbp, [UREG_SP] = ur.rsp, [UREG_IP] = ur.rip,
				[UREG_FLAGS] = ur.eflags, [UREG_CS] = ur.cs, [UREG_SS] = ur.ss,
				[UREG_R8] = ur.r8, [UREG_R9] = ur.r9, [UREG_R10] = ur.r10,
				[UREG_R11] = ur.r11, [UREG_R12] = ur.r12, [UREG_R13] = ur.r13,
				[UREG_R14] = ur.r14, [UREG_R15] = ur.r15,
			};
			memcpy(c.regs, r, sizeof(r));
		}
		c.size = stack_end > ur.rsp && stack_end - ur.rsp < 8192 ? stack_end - ur.rsp : 8192;
		local = (struct iovec){ c.stack, c.size };
		remote = (struct iovec){ (void *)(uintptr_t)ur.rsp, c.size };
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)c.size)
			c.size = 0;
		ptrace(PTRACE_CONT, pid, 0, 0);
		if (!in_func(as, ur.rip, spin, 1))
			continue; /* not there yet */
		sampled++;
		n = unwinder_unwind(u, c.regs, c.stack, c.size, pcs, 64);
		if (n >= 5 && in_func(as, pcs[1], remote_middle, 0) &&
		    in_func(as, pcs[2], remote_outer, 0) && in_func(as, pcs[3], test_remote, 0) &&
		    in_func(as, pcs[4], main, 0))
			good++;
		else
			dump(as, pcs, n);
	}
	CHECK(sampled >= 10);
	CHECK(good == sampled);
	unwinder_free(u);
	addrspace_free(as);
out:
	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
}

int main(void)
{
	struct proc_maps pm;
	struct addrspace *as;
	const struct proc_map *sm;
	uint64_t sp = (uintptr_t)__builtin_frame_address(0);

	elf_version(EV_CURRENT);
	if (proc_maps_read(&pm, getpid()) < 0) {
		fprintf(stderr, "test-unwind: %s\n", cp_errmsg());
		return 1;
	}
	sm = proc_maps_find(&pm, sp);
	stack_end = sm ? sm->end : sp;
	proc_maps_release(&pm);

	test_maps_parse();
	test_proc();
	as = addrspace_new(getpid());
	CHECK(as != NULL);
	if (!as) {
		fprintf(stderr, "test-unwind: %s\n", cp_errmsg());
		return test_done("test-unwind");
	}
	test_addrspace(as);
	test_unwind(as);
	addrspace_free(as);
	test_remote();
	return test_done("test-unwind");
}
