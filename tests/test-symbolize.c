/* Unit test of lib/symbolize.c on this very process: an always-inlined
 * function inside a noinline one (built with -O2 -g), the public name of
 * aliases, libc, the vdso, a library
 * loaded after the start, an address in no mapping, and the cache; and a
 * profile location made before its library was known, then made again once
 * the maps are re-read (lib/locate.c). Built a
 * second time with compressed debug sections (EXPECT_COMPRESSED), it also
 * checks lib/debuginfo_inflate.c's copy of itself against libelf's own inflating. */
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "debuginfo_inflate.h"
#include "locate.h"
#include "symbolize.h"
#include "test.h"

#ifdef EXPECT_COMPRESSED
#define TEST_NAME "test-symbolize-gz"
#else
#define TEST_NAME "test-symbolize"
#endif

/* Call FN and note the line of the call in LINE. */
#define CALL_NOTING_LINE(fn, line) ((line) = __LINE__, fn())

static volatile int sink;
static uintptr_t inlined_ra;
static int inlined_line, call_line;

__attribute__((noinline, noclone)) static void take_ra(void)
{
	inlined_ra = (uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
}

static const int inlined_decl = __LINE__ + 1;
static inline __attribute__((always_inline)) void inlined(void)
{
	CALL_NOTING_LINE(take_ra, inlined_line);
	sink++;
}

static const int outer_decl = __LINE__ + 1;
__attribute__((noinline, noclone)) static void outer(void)
{
	CALL_NOTING_LINE(inlined, call_line);
	sink++;
}

/* Symbols named as C++ and as Rust's legacy scheme name theirs. */
__attribute__((noinline, noclone, used)) static void cxx_named(void)
	__asm__("_ZN10cprof_test7Spinner4spinEm");
__attribute__((noinline, noclone, used)) static void rust_named(void)
	__asm__("_ZN5cprof4demo4spin17h0123456789abcdefE");
__attribute__((noinline, noclone, used)) static void rust_v0_named(void)
	__asm__("_RNvCs15kBYyAo9fc_7mycrate7example");

static void cxx_named(void)
{
	sink++;
}

static void rust_named(void)
{
	sink++;
}

static void rust_v0_named(void)
{
	sink++;
}

/* Aliases as glibc has them: a global internal name defined first and the
 * public one (__libc_malloc, malloc); a global internal name and a weak public
 * one (__getpid, getpid); a local function with two weak names (__write,
 * write); two global names without underscores. */
void __cp_libc_work(void);
void cp_work(void);
void __cp_pid(void);
void cp_pid(void);
void cp_weak_work(void);
void __cp_weak_work(void);
void cp_spin_internal(void);
void cp_spin(void);

__attribute__((noinline, noclone, used)) void __cp_libc_work(void)
{
	sink++;
}
extern __typeof(__cp_libc_work) cp_work __attribute__((alias("__cp_libc_work")));

__attribute__((noinline, noclone, used)) void __cp_pid(void)
{
	sink += 4;
}
extern __typeof(__cp_pid) cp_pid __attribute__((weak, alias("__cp_pid")));

__attribute__((noinline, noclone, used)) static void cp_local_work(void)
{
	sink += 2;
}
extern __typeof(cp_local_work) __cp_weak_work __attribute__((weak, alias("cp_local_work")));
extern __typeof(cp_local_work) cp_weak_work __attribute__((weak, alias("cp_local_work")));

__attribute__((noinline, noclone, used)) void cp_spin_internal(void)
{
	sink += 3;
}
extern __typeof(cp_spin_internal) cp_spin __attribute__((alias("cp_spin_internal")));

static void check_name(struct symbolizer *s, void (*fn)(void), const char *name,
		       const char *system_name)
{
	const struct sym_frame *f;
	int n = symbolizer_lookup(s, (uintptr_t)fn, false, &f);

	CHECK(n == 1);
	if (n == 1) {
		CHECK_STR(f[0].name, name);
		CHECK_STR(f[0].system_name, system_name);
	}
}

static uintptr_t libc_ra;

static int compare(const void *a, const void *b)
{
	if (!libc_ra)
		libc_ra = (uintptr_t)__builtin_return_address(0);
	return *(const int *)a - *(const int *)b;
}

static const char *base(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static int is_libc(const struct addrspace *as, uintptr_t pc)
{
	const struct as_map *m = addrspace_find(as, pc);

	return m && strstr(m->path, "libc.so");
}

static void check_inlined(struct symbolizer *s, uint64_t pc, bool caller)
{
	const struct sym_frame *f;
	int n = symbolizer_lookup(s, pc, caller, &f);

	CHECK(n == 2);
	if (n != 2)
		return;
	CHECK_STR(f[0].name, "inlined");
	CHECK_STR(base(f[0].file), base(__FILE__));
	CHECK(f[0].line == inlined_line);
	CHECK(f[0].start_line == inlined_decl);
	CHECK_STR(f[1].name, "outer");
	CHECK_STR(base(f[1].file), base(__FILE__));
	CHECK(f[1].line == call_line);
	CHECK(f[1].start_line == outer_decl);
}

/* Every section and program header of the inflated copy of this program's
 * file against libelf's: the same bytes, none compressed. */
static void check_inflate(void)
{
	int fd = open("/proc/self/exe", O_RDONLY), cfd;
	Elf *ref = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL), *got = NULL;
	size_t nref = 0, ngot = 0, nphdr = 0, compressed = 0;

	cfd = ref ? debuginfo_inflate(ref) : -1;
#ifdef EXPECT_COMPRESSED
	CHECK(cfd >= 0);
#else
	CHECK(cfd == -1);
#endif
	if (cfd >= 0)
		got = elf_begin(cfd, ELF_C_READ_MMAP_PRIVATE, NULL);
	if (!got)
		goto out;
	CHECK(elf_getshdrnum(ref, &nref) == 0 && elf_getshdrnum(got, &ngot) == 0 && nref == ngot);
	CHECK(elf_getphdrnum(ref, &nphdr) == 0);
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr a, b;
		CHECK(gelf_getphdr(ref, i, &a) && gelf_getphdr(got, i, &b) &&
		      !memcmp(&a, &b, sizeof(a)));
	}
	for (size_t i = 1; i < nref && nref == ngot; i++) {
		Elf_Scn *rs = elf_getscn(ref, i), *gs = elf_getscn(got, i);
		GElf_Shdr a, b;
		Elf_Data *ra, *ga;

		CHECK(gelf_getshdr(rs, &a) && gelf_getshdr(gs, &b));
		if (a.sh_flags & SHF_COMPRESSED) {
			compressed++;
			CHECK(elf_compress(rs, 0, 0) == 1 && gelf_getshdr(rs, &a));
		}
		CHECK(!(b.sh_flags & SHF_COMPRESSED));
		CHECK(a.sh_name == b.sh_name && a.sh_type == b.sh_type && a.sh_size == b.sh_size &&
		      a.sh_flags == b.sh_flags && a.sh_addr == b.sh_addr);
		if (a.sh_type == SHT_NOBITS)
			continue;
		ra = elf_getdata(rs, NULL);
		ga = elf_getdata(gs, NULL);
		CHECK(ra && ga && ra->d_size == ga->d_size &&
		      (!ra->d_size || !memcmp(ra->d_buf, ga->d_buf, ra->d_size)));
	}
	CHECK(compressed >= 3);
	elf_end(got);
out:
	elf_end(ref);
	if (cfd >= 0)
		close(cfd);
	close(fd);
}

/* A counter in a library mapped after the maps were read is first located
 * in no mapping; once the locator re-reads them, the same counter is a
 * location in the library's mapping, in work_c. */
static void check_locator_refresh(struct addrspace *as, struct symbolizer *s)
{
	struct profile *p = profile_new();
	struct locator *l = p ? locator_new(p, as, s, NULL, false) : NULL;
	void *h = dlopen("tests/workloads/libcpuwork-nofp.so", RTLD_NOW | RTLD_LOCAL);
	void *fn = h ? dlsym(h, "work_c") : NULL;
	const struct pf_location *loc;
	uint64_t before, after;

	CHECK(l != NULL && fn != NULL);
	if (!l || !fn)
		goto out;
	before = locator_get(l, (uintptr_t)fn, false);
	CHECK(before != 0 && p->locations[before - 1].mapping_id == 0);
	CHECK(locator_get(l, (uintptr_t)fn, false) == before);
	CHECK(locator_refresh(l) == 0);
	after = locator_get(l, (uintptr_t)fn, false);
	CHECK(after != 0 && after != before);
	if (!after)
		goto out;
	loc = &p->locations[after - 1];
	CHECK(loc->mapping_id != 0 && loc->nlines >= 1);
	if (loc->nlines >= 1)
		CHECK_STR(p->strings[p->functions[loc->lines[0].function_id - 1].name], "work_c");
out:
	locator_free(l);
	profile_free(p);
	if (h)
		dlclose(h);
}

int main(void)
{
	struct addrspace *as = addrspace_new(getpid());
	const struct sym_frame *f, *g;
	struct symbolizer *s;
	int n, m, stack_var = 0, v[64];
	void *h, *fn;

	CHECK(as != NULL);
	if (!as) {
		fprintf(stderr, "addrspace_new: %s\n", cp_errmsg());
		return test_done(TEST_NAME);
	}
	s = symbolizer_new(as);
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "symbolizer_new: %s\n", cp_errmsg());
		addrspace_free(as);
		return test_done(TEST_NAME);
	}

	check_inflate();

	/* The return address into the inlined body, then the call itself. */
	outer();
	check_inlined(s, inlined_ra, true);
	check_inlined(s, inlined_ra - 1, false);

	/* The cache answers with the very same frames. */
	n = symbolizer_lookup(s, inlined_ra, true, &f);
	m = symbolizer_lookup(s, inlined_ra, true, &g);
	CHECK(n == m && f == g);
	if (n == 2 && m == 2)
		CHECK(f[0].name == g[0].name && f[1].file == g[1].file);

	/* Demangled names, the mangled ones kept; a C name is its own system name. */
	check_name(s, cxx_named, "cprof_test::Spinner::spin(unsigned long)",
		   "_ZN10cprof_test7Spinner4spinEm");
	check_name(s, rust_named, "cprof::demo::spin", "_ZN5cprof4demo4spin17h0123456789abcdefE");
	check_name(s, rust_v0_named, "mycrate::example", "_RNvCs15kBYyAo9fc_7mycrate7example");
	check_name(s, outer, "outer", "outer");

	/* Of a function's aliases, the public name, whatever its DWARF name. */
	check_name(s, cp_work, "cp_work", "cp_work");
	check_name(s, __cp_libc_work, "cp_work", "cp_work");
	check_name(s, __cp_pid, "cp_pid", "cp_pid");
	check_name(s, cp_weak_work, "cp_weak_work", "cp_weak_work");
	check_name(s, cp_spin_internal, "cp_spin", "cp_spin");

	/* Names are interned: two PCs in one function share the string. */
	n = symbolizer_lookup(s, (uintptr_t)outer, false, &f);
	CHECK(n == 1);
	if (n == 1) {
		CHECK_STR(f[0].name, "outer");
		CHECK(f[0].start_line == outer_decl);
		m = symbolizer_lookup(s, inlined_ra, true, &g);
		CHECK(m == 2 && g[1].name == f[0].name);
	}

	/* libc, from its .dynsym alone if it has no debug info; by the public
	 * name of its aliases (getpid, __getpid) either way. */
	fn = dlsym(RTLD_DEFAULT, "getpid");
	CHECK(fn != NULL && is_libc(as, (uintptr_t)fn));
	n = symbolizer_lookup(s, (uintptr_t)fn, false, &f);
	CHECK(n >= 1);
	if (n >= 1)
		CHECK_STR(f[n - 1].name, "getpid");
	for (int i = 0; i < 64; i++)
		v[i] = 64 - i;
	qsort(v, 64, sizeof(v[0]), compare);
	/* ASan intercepts qsort: the comparison is called from its runtime. */
#ifndef __SANITIZE_ADDRESS__
	CHECK(is_libc(as, libc_ra));
#endif
	n = symbolizer_lookup(s, libc_ra, true, &f);
	CHECK(n >= 1 && f[n - 1].name && *f[n - 1].name);

	/* The vdso, a module with no file, when glibc lets us find it. */
	h = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
	fn = h ? dlsym(h, "__vdso_clock_gettime") : NULL;
	if (fn) {
		n = symbolizer_lookup(s, (uintptr_t)fn, false, &f);
		CHECK(n == 1);
		if (n == 1)
			CHECK(f[0].name && strstr(f[0].name, "clock_gettime"));
	}
	if (h)
		dlclose(h);

	/* A library mapped after the address space was read. */
	h = dlopen("libm.so.6", RTLD_NOW);
	fn = h ? dlsym(h, "cos") : NULL;
	CHECK(fn != NULL);
	if (fn) {
		CHECK(addrspace_refresh(as) == 0);
		n = symbolizer_lookup(s, (uintptr_t)fn, false, &f);
		CHECK(n >= 1 && f[n - 1].name && strstr(f[n - 1].name, "cos"));
		/* Modules reported before still answer. */
		fn = dlsym(RTLD_DEFAULT, "getppid");
		n = fn ? symbolizer_lookup(s, (uintptr_t)fn, false, &f) : 0;
		CHECK(n >= 1 && f[n - 1].name && strstr(f[n - 1].name, "getppid"));
	}

	check_locator_refresh(as, s);

	/* Addresses in no executable mapping. */
	n = symbolizer_lookup(s, 16, false, &f);
	CHECK(n == 0 && f == NULL);
	n = symbolizer_lookup(s, (uintptr_t)&stack_var, true, &f);
	CHECK(n == 0 && f == NULL);

	symbolizer_free(s);
	if (h)
		dlclose(h);
	addrspace_free(as);
	return test_done(TEST_NAME);
}
