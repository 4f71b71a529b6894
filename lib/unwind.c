/* Unwinding sampled user stacks with libunwind's remote interface: registers
 * and stack come from the sample, code and unwind tables from the module files
 * of the address space, and each module's .eh_frame_hdr search table is found
 * once and handed to libunwind's binary search on every later lookup. */
#include <libunwind.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "addrspace.h"
#include "errmsg.h"
#include "grow.h"
#include "unwind.h"

/* Exported by libunwind, but not declared in its headers. */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_datarel_sdata4 0x3b

/* A mapping's search table, in run-time addresses. */
struct unwind_table {
	enum { TABLE_UNKNOWN, TABLE_NONE, TABLE_OK } state;
	uint64_t segbase;    /* .eh_frame_hdr */
	uint64_t data;       /* the (start, fde) sdata4 pairs */
	uint64_t count;
};

struct unwinder {
	struct addrspace *as;
	unw_addr_space_t uas;
	struct unwind_table *tables; /* by mapping id */
	size_t tables_cap;
};

/* What the accessors see during one unwind (libunwind's ARG). */
struct unwind_ctx {
	struct unwinder *u;
	const uint64_t *regs;
	const unsigned char *stack;
	uint64_t sp;
	size_t size;
	bool missed; /* a read found nothing: the copy or the files ran out */
};

static const int reg_map[] = {
	[UNW_X86_64_RAX] = UREG_AX, [UNW_X86_64_RDX] = UREG_DX, [UNW_X86_64_RCX] = UREG_CX,
	[UNW_X86_64_RBX] = UREG_BX, [UNW_X86_64_RSI] = UREG_SI, [UNW_X86_64_RDI] = UREG_DI,
	[UNW_X86_64_RBP] = UREG_BP, [UNW_X86_64_RSP] = UREG_SP, [UNW_X86_64_R8] = UREG_R8,
	[UNW_X86_64_R9] = UREG_R9, [UNW_X86_64_R10] = UREG_R10, [UNW_X86_64_R11] = UREG_R11,
	[UNW_X86_64_R12] = UREG_R12, [UNW_X86_64_R13] = UREG_R13, [UNW_X86_64_R14] = UREG_R14,
	[UNW_X86_64_R15] = UREG_R15, [UNW_X86_64_RIP] = UREG_IP,
};

/* Read a DWARF-encoded value (format and application bits of ENC) at *ADDR
 * in the module files, advancing *ADDR; BASE is the .eh_frame_hdr address for
 * datarel. Indirect and aligned encodings do not occur in .eh_frame_hdr. */
static int unwind_read_encoded(const struct addrspace *as, uint64_t *addr, uint8_t enc,
			       uint64_t base, uint64_t *val)
{
	uint64_t at = *addr, v = 0;
	unsigned char b[8];
	size_t n;

	switch (enc & 0x0f) {
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */
		n = 8;
		break;
	case 0x02: /* udata2 */
	case 0x0a: /* sdata2 */
		n = 2;
		break;
	case 0x03: /* udata4 */
	case 0x0b: /* sdata4 */
		n = 4;
		break;
	default: /* leb128 never encodes these two header fields in practice */
		return -1;
	}
	if (addrspace_read(as, at, b, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	if ((enc & 0x08) && n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ULL << (8 * n);
	switch (enc & 0x70) {
	case 0x00:
		break;
	case 0x10: /* pcrel */
		v += at;
		break;
	case 0x30: /* datarel */
		v += base;
		break;
	default:
		return -1;
	}
	*addr = at + n;
	*val = v;
	return 0;
}

/* Find the search table of mapping M from its module's .eh_frame_hdr. */
static void unwind_table_load(struct unwinder *u, const struct as_map *m, struct unwind_table *t)
{
	uint64_t vaddr, size, hdr, addr, eh_frame;
	unsigned char h[4];

	t->state = TABLE_NONE;
	if (module_eh_frame_hdr(m->mod, &vaddr, &size) < 0)
		return;
	hdr = vaddr + m->bias;
	if (addrspace_read(u->as, hdr, h, sizeof(h)) < 0)
		return;
	/* dwarf_search_unwind_table reads the table as datarel|sdata4 pairs
	 * whatever the header says (its local twin abort()s on others), and
	 * needs the FDE count: leave other modules to its x86_64 fallbacks. */
	if (h[0] != 1 || h[3] != DW_EH_PE_datarel_sdata4 || h[1] == DW_EH_PE_omit ||
	    h[2] == DW_EH_PE_omit)
		return;
	addr = hdr + 4;
	if (unwind_read_encoded(u->as, &addr, h[1], hdr, &eh_frame) < 0 ||
	    unwind_read_encoded(u->as, &addr, h[2], hdr, &t->count) < 0)
		return;
	if (t->count > size / 8 || addr + t->count * 8 > hdr + size)
		return;
	t->segbase = hdr;
	t->data = addr;
	t->state = TABLE_OK;
}

static const struct unwind_table *unwind_table_get(struct unwinder *u, const struct as_map *m)
{
	size_t cap = u->tables_cap;
	struct unwind_table *t;

	if (m->id >= cap) {
		if (CP_GROW(u->tables, u->tables_cap, m->id + 1) < 0)
			return NULL;
		memset(u->tables + cap, 0, (u->tables_cap - cap) * sizeof(*u->tables));
	}
	t = &u->tables[m->id];
	if (t->state == TABLE_UNKNOWN)
		unwind_table_load(u, m, t);
	return t->state == TABLE_OK ? t : NULL;
}

static int unwind_find_proc_info(unw_addr_space_t uas, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct unwind_ctx *s = arg;
	const struct as_map *m = addrspace_find(s->u->as, ip);
	const struct unwind_table *t;
	unw_dyn_info_t di;

	/* -UNW_ENOINFO lets unw_step try its x86_64 fallbacks (frame pointer,
	 * PLT stub, signal trampoline). */
	if (!m || !m->mod || !(t = unwind_table_get(s->u, m)))
		return -UNW_ENOINFO;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = t->segbase;
	di.u.rti.table_data = t->data;
	di.u.rti.table_len = t->count * 8 / sizeof(unw_word_t);
	return UNW_OBJ(dwarf_search_unwind_table)(uas, ip, &di, pi, need_unwind_info, arg);
}

/* libunwind frees the DWARF unwind info it allocates itself. */
static void unwind_put_unwind_info(unw_addr_space_t uas, unw_proc_info_t *pi, void *arg)
{
}

static int unwind_get_dyn_info_list_addr(unw_addr_space_t uas, unw_word_t *dil_addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int unwind_access_mem(unw_addr_space_t uas, unw_word_t addr, unw_word_t *valp, int write,
		      void *arg)
{
	struct unwind_ctx *s = arg;

	if (write)
		return -UNW_EREADONLYREG;
	if (addr >= s->sp && s->size >= sizeof(*valp) &&
	    addr - s->sp <= s->size - sizeof(*valp)) {
		memcpy(valp, s->stack + (addr - s->sp), sizeof(*valp));
		return 0;
	}
	if (addrspace_read(s->u->as, addr, valp, sizeof(*valp)) < 0) {
		s->missed = true;
		return -UNW_EINVAL;
	}
	return 0;
}

static int unwind_access_reg(unw_addr_space_t uas, unw_regnum_t reg, unw_word_t *valp, int write,
		      void *arg)
{
	struct unwind_ctx *s = arg;

	if (write)
		return -UNW_EREADONLYREG;
	if (reg < 0 || reg >= (int)(sizeof(reg_map) / sizeof(*reg_map)))
		return -UNW_EBADREG;
	*valp = s->regs[reg_map[reg]];
	return 0;
}

static int unwind_access_fpreg(unw_addr_space_t uas, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	return -UNW_EBADREG;
}

static int unwind_resume(unw_addr_space_t uas, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

static int unwind_get_proc_name(unw_addr_space_t uas, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *offp, void *arg)
{
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = unwind_find_proc_info,
	.put_unwind_info = unwind_put_unwind_info,
	.get_dyn_info_list_addr = unwind_get_dyn_info_list_addr,
	.access_mem = unwind_access_mem,
	.access_reg = unwind_access_reg,
	.access_fpreg = unwind_access_fpreg,
	.resume = unwind_resume,
	.get_proc_name = unwind_get_proc_name,
};

struct unwinder *unwinder_new(struct addrspace *as)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u) {
		cp_error("out of memory");
		return NULL;
	}
	u->as = as;
	u->uas = unw_create_addr_space(&accessors, 0);
	if (!u->uas) {
		cp_error("libunwind: cannot create an address space");
		goto fail;
	}
	/* The global cache keeps each IP's register rules across unwinds: about
	 * three times faster when warm. Its default of 128 entries is thrashed
	 * by a real program's hot code. */
	if (unw_set_caching_policy(u->uas, UNW_CACHE_GLOBAL) < 0) {
		cp_error("libunwind: cannot set the caching policy");
		goto fail;
	}
	unw_set_cache_size(u->uas, 4096, 0);
	return u;
fail:
	unwinder_free(u);
	return NULL;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->uas)
		unw_destroy_addr_space(u->uas);
	free(u->tables);
	free(u);
}

void unwinder_flush(struct unwinder *u)
{
	if (!u)
		return;
	unw_flush_cache(u->uas, 0, 0);
	if (u->tables)
		memset(u->tables, 0, u->tables_cap * sizeof(*u->tables));
}

int unwinder_walk(struct unwinder *u, const uint64_t *regs, const void *stack, size_t size,
		  uint64_t *pcs, int max, bool *complete)
{
	struct unwind_ctx s = { u, regs, stack, regs[UREG_SP], size, false };
	uint64_t prev_pc = regs[UREG_IP], prev_sp = regs[UREG_SP];
	unw_cursor_t c;
	int n = 0, step = -1;

	if (complete)
		*complete = false;
	if (max <= 0 || !regs[UREG_IP])
		return 0;
	pcs[n++] = regs[UREG_IP];
	if (unw_init_remote(&c, u->uas, &s) < 0)
		return n;
	while (n < max) {
		unw_word_t pc, sp;

		if ((step = unw_step(&c)) <= 0)
			break;
		step = -1;
		if (unw_get_reg(&c, UNW_REG_IP, &pc) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0)
			break;
		if (!pc || (pc == prev_pc && sp == prev_sp))
			break;
		pcs[n++] = pc;
		prev_pc = pc;
		prev_sp = sp;
	}
	/* unw_step returns 0 at the frame whose CFI leaves the return address
	 * undefined (_start, clone's child, thread start). It may also return 0
	 * from its frame-pointer fallback after a read beyond the copy failed,
	 * so a stack that missed a read is never taken as whole. */
	if (complete)
		*complete = step == 0 && !s.missed;
	return n;
}

int unwinder_unwind(struct unwinder *u, const uint64_t *regs, const void *stack, size_t size,
		    uint64_t *pcs, int max)
{
	return unwinder_walk(u, regs, stack, size, pcs, max, NULL);
}
