/* gotcheck PID NAME: how many GOT entries (.got and .got.plt of every module
 * of PID but NAME's own) point into the code of the module whose file name
 * contains NAME. tests/heap.sh holds cprof heap --pid to it: some while
 * attached, none once it has let go. Reads the process's memory, so it needs
 * the right to trace it. */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addrspace.h"
#include "errmsg.h"

/* The entries of the GOT sections of MOD (loaded at BIAS) that hold an
 * address in [LO, HI). */
static long gotcheck_module(int mem, const struct module *mod, uint64_t bias, uint64_t lo,
			    uint64_t hi)
{
	Elf *elf = module_elf(mod);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	long n = 0;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx) < 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    (strcmp(name, ".got") && strcmp(name, ".got.plt")))
			continue;
		for (uint64_t at = sh.sh_addr; at + 8 <= sh.sh_addr + sh.sh_size; at += 8) {
			uint64_t v;
			if (pread(mem, &v, sizeof(v), (off_t)(at + bias)) == sizeof(v) && v >= lo && v < hi)
				n++;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	struct addrspace *as;
	const struct as_map *maps;
	uint64_t lo = UINT64_MAX, hi = 0;
	char path[64];
	long found = 0;
	size_t n;
	int mem;

	if (argc != 3) {
		fprintf(stderr, "usage: gotcheck PID NAME\n");
		return 2;
	}
	if (!(as = addrspace_new(atoi(argv[1])))) {
		fprintf(stderr, "gotcheck: %s\n", cp_errmsg());
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY)) < 0) {
		perror(path);
		return 1;
	}
	maps = addrspace_maps(as, &n);
	for (size_t i = 0; i < n; i++) {
		if (!maps[i].path || !strstr(maps[i].path, argv[2]))
			continue;
		lo = maps[i].start < lo ? maps[i].start : lo;
		hi = maps[i].end > hi ? maps[i].end : hi;
	}
	for (size_t i = 0; i < n && hi; i++) {
		bool first = true;

		/* Each module once: at its first executable mapping. */
		for (size_t j = 0; j < i; j++)
			first &= maps[j].mod != maps[i].mod;
		if (maps[i].mod && first && !strstr(maps[i].path, argv[2]))
			found += gotcheck_module(mem, maps[i].mod, maps[i].bias, lo, hi);
	}
	printf("%ld\n", found);
	close(mem);
	addrspace_free(as);
	return 0;
}
