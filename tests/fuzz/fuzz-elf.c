/* Fuzz target: the ELF, .eh_frame_hdr, DWARF CFI and symbol readers, fed a
 * file as the module of a made-up address space, then asked to unwind a stack
 * and symbolize addresses in it. Seed it with real ELF files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrspace.h"
#include "symbolize.h"
#include "unwind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 0x400000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/cprof-fuzz-elf-XXXXXX", maps[256];
	struct addrspace *as;
	struct unwinder *u;
	struct symbolizer *s;
	uint64_t regs[UREG_COUNT] = { 0 }, stack[64] = { 0 }, pcs[64];
	struct stat st;
	int fd = mkstemp(path);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || fstat(fd, &st) < 0)
		goto out;
	snprintf(maps, sizeof(maps), "%llx-%llx r-xp 00000000 00:00 %llu %s\n",
		 (unsigned long long)BASE, (unsigned long long)(BASE + 0x100000),
		 (unsigned long long)st.st_ino, path);
	as = addrspace_new_maps(maps, strlen(maps));
	if (!as)
		goto out;
	u = unwinder_new(as);
	s = symbolizer_new(as);
	/* Registers and a stack full of addresses in the module, from the input. */
	for (size_t i = 0; i < 64; i++) {
		uint64_t off = 0;
		memcpy(&off, data + (i * 8) % (size > 8 ? size - 8 : 1), size >= 8 ? 8 : 0);
		stack[i] = BASE + off % 0x100000;
	}
	regs[UREG_IP] = stack[0];
	regs[UREG_SP] = 0x7ff000000000ULL;
	regs[UREG_BP] = regs[UREG_SP] + 64;
	if (u)
		unwinder_unwind(u, regs, stack, sizeof(stack), pcs, 64);
	for (size_t i = 0; s && i < 16; i++) {
		const struct sym_frame *fr;
		symbolizer_lookup(s, stack[i], i > 0, &fr);
	}
	symbolizer_free(s);
	unwinder_free(u);
	addrspace_free(as);
out:
	close(fd);
	unlink(path);
	return 0;
}
