/*
 * rtld-walker.c - libifunc-rtld-walker*.so: the SHAPE of the xz backdoor's
 * crc64_resolve, harmless.  NEVER RUN by any test (and never loaded: it is only
 * read as a file); it does nothing useful and would do nothing harmful.
 *
 *   crc64_resolve (IFUNC resolver)
 *     -> _get_cpuid(&_r_debug)           local, noinline; _r_debug is ld.so's,
 *                                        referenced through the GOT (GLOB_DAT)
 *        -> cw_find_map                  walks r_map/l_next comparing l_name
 *        -> cw_lookup                    checks the image's ELF and program
 *             -> cw_check_image          headers, parses the map's l_ld
 *             -> cw_dyn                  (DT_SYMTAB, DT_STRTAB, DT_GNU_HASH or
 *             -> cw_gnu_hash/cw_elf_hash DT_HASH), hashes names
 *        -> cw_find_slot                 scans the (private) link_map for the
 *                                        pointer to its own DT_SYMTAB entry,
 *                                        i.e. l_info[], like the backdoor found
 *                                        its offsets
 *        -> stores a pointer to cw_audit_hook into that structure (a write
 *           through a pointer found by the walk: the audit-hook install)
 *   then returns the generic CRC like a clean resolver.
 *
 * -DCW_HIDDEN_IFUNC: the IFUNC is hidden and only called internally, so GNU ld
 * emits an R_X86_64_IRELATIVE relocation and (with -s) the resolver has no
 * symbol at all.
 */
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>

extern struct r_debug _r_debug;

typedef uint64_t crc64_fn(const uint8_t *buf, size_t size, uint64_t crc);

#define NOINLINE __attribute__((noinline, noclone))

/* The loader's names are kept xor-encoded, as malware does (no string gives them away). */
static const unsigned char enc_ld[] = { /* "ld-linux-x86-64.so.2" ^ 0x5a */
	0x36, 0x3e, 0x77, 0x36, 0x33, 0x34, 0x2f, 0x22, 0x77, 0x22, 0x62, 0x6c, 0x77, 0x6c, 0x6e, 0x74, 0x29, 0x35, 0x74, 0x68, 0 };
static const unsigned char enc_sym[] = { /* "_dl_audit_symbind_alt" ^ 0x5a */
	0x05, 0x3e, 0x36, 0x05, 0x3b, 0x2f, 0x3e, 0x33, 0x2e, 0x05, 0x29, 0x23, 0x37, 0x38, 0x33, 0x34, 0x3e, 0x05, 0x3b, 0x36, 0x2e, 0 };

struct cw_dyninfo {
	const ElfW(Sym) *symtab;
	const char *strtab;
	const uint32_t *gnu_hash;
	const uint32_t *sysv_hash;
	size_t strsz;
	ElfW(Addr) base;
};

struct cw_state {
	unsigned calls;
	void *slot_seen;
	char name[32];
};
static struct cw_state cw_state;

NOINLINE static void cw_decode(const unsigned char *in, char *out, size_t max)
{
	size_t i;
	for (i = 0; i + 1 < max && in[i]; i++)
		out[i] = (char)(in[i] ^ 0x5a);
	out[i] = 0;
}

NOINLINE static uint32_t cw_gnu_hash(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = (h << 5) + h + (unsigned char)*s;
	return h;
}

NOINLINE static int cw_ends_with(const char *s, const char *suffix)
{
	size_t n = 0, m = 0;
	if (!s || !suffix)
		return 0;
	while (n < 4096 && s[n]) /* bounded: never a strlen call */
		n++;
	while (m < 256 && suffix[m])
		m++;
	if (m > n)
		return 0;
	for (size_t i = 0; i < m; i++)
		if (s[n - m + i] != suffix[i])
			return 0;
	return 1;
}

NOINLINE static struct link_map *cw_find_map(struct r_debug *r, const char *suffix)
{
	unsigned guard = 0;
	for (struct link_map *m = r->r_map; m && guard < 512; m = m->l_next, guard++)
		if (cw_ends_with(m->l_name, suffix))
			return m;
	return NULL;
}

/* Is the map's image a sane ELF whose PT_DYNAMIC is its l_ld? (the backdoor checked
 * the headers of what it parsed) */
NOINLINE static int cw_check_image(const struct link_map *m)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)m->l_addr;
	if (!eh || eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_ident[EI_MAG1] != ELFMAG1
	    || eh->e_ident[EI_MAG2] != ELFMAG2 || eh->e_ident[EI_MAG3] != ELFMAG3
	    || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64
	    || eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phnum > 64)
		return 0;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(m->l_addr + eh->e_phoff);
	int dyn_ok = 0, relro = 0, exec_segments = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		switch (ph[i].p_type) {
		case PT_DYNAMIC:
			dyn_ok = (const ElfW(Dyn) *)(m->l_addr + ph[i].p_vaddr) == m->l_ld;
			break;
		case PT_GNU_RELRO:
			relro = ph[i].p_memsz != 0;
			break;
		case PT_LOAD:
			exec_segments += (ph[i].p_flags & PF_X) != 0;
			break;
		default:
			break;
		}
	}
	return dyn_ok && exec_segments > 0 ? 1 + relro : 0;
}

/* SysV ELF hash, for maps that have only DT_HASH */
NOINLINE static uint32_t cw_elf_hash(const char *s)
{
	uint32_t h = 0, g;
	for (unsigned n = 0; n < 256 && *s; n++, s++) {
		h = (h << 4) + (unsigned char)*s;
		g = h & 0xf0000000u;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

NOINLINE static ElfW(Addr) cw_ptr(ElfW(Addr) base, ElfW(Addr) v)
{
	/* d_ptr is relocated in ld.so's own map, not in others' */
	return v < base ? base + v : v;
}

NOINLINE static int cw_dyn(const struct link_map *m, struct cw_dyninfo *out)
{
	out->symtab = NULL;
	out->strtab = NULL;
	out->gnu_hash = NULL;
	out->sysv_hash = NULL;
	out->strsz = 0;
	out->base = m->l_addr;
	for (const ElfW(Dyn) *d = m->l_ld; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			out->symtab = (const ElfW(Sym) *)cw_ptr(m->l_addr, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			out->strtab = (const char *)cw_ptr(m->l_addr, d->d_un.d_ptr);
			break;
		case DT_STRSZ:
			out->strsz = d->d_un.d_val;
			break;
		case DT_HASH:
			out->sysv_hash = (const uint32_t *)cw_ptr(m->l_addr, d->d_un.d_ptr);
			break;
		case DT_GNU_HASH:
			out->gnu_hash = (const uint32_t *)cw_ptr(m->l_addr, d->d_un.d_ptr);
			break;
		default:
			break;
		}
	}
	return out->symtab && out->strtab && (out->gnu_hash || out->sysv_hash);
}

NOINLINE static const ElfW(Sym) *cw_lookup(const struct link_map *m, const char *name)
{
	struct cw_dyninfo di;
	if (!cw_check_image(m) || !cw_dyn(m, &di))
		return NULL;
	uint32_t h = cw_gnu_hash(name);
	const uint32_t *gh = di.gnu_hash;
	if (!gh) { /* DT_HASH only: nbucket, nchain, buckets, chains */
		const uint32_t *hh = di.sysv_hash;
		if (!hh || hh[0] == 0)
			return NULL;
		uint32_t eh = cw_elf_hash(name);
		for (uint32_t j = hh[2 + eh % hh[0]], guard = 0; j && j < hh[1] && guard < hh[1];
		     j = hh[2 + hh[0] + j], guard++)
			if (di.symtab[j].st_name < di.strsz
			    && cw_ends_with(di.strtab + di.symtab[j].st_name, name))
				return &di.symtab[j];
		return NULL;
	}
	uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2];
	if (nbuckets == 0)
		return NULL;
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)&gh[4];
	const uint32_t *buckets = (const uint32_t *)&bloom[bloom_size];
	const uint32_t *chain = &buckets[nbuckets];
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		const ElfW(Sym) *s = &di.symtab[i];
		uint32_t ch = chain[i - symoffset];
		if ((ch | 1) == (h | 1) && s->st_name < di.strsz && cw_ends_with(di.strtab + s->st_name, name)
		    && cw_gnu_hash(di.strtab + s->st_name) == h)
			return s;
		if (ch & 1)
			break;
	}
	return NULL;
}

/* The private struct link_map holds l_info[] after the public fields: find the
 * slot that points at the map's own DT_SYMTAB entry, as the backdoor found its
 * offsets by scanning. */
NOINLINE static void **cw_find_slot(struct link_map *m)
{
	const ElfW(Dyn) *symtab_dyn = NULL;
	for (const ElfW(Dyn) *d = m->l_ld; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_SYMTAB)
			symtab_dyn = d;
	if (!symtab_dyn)
		return NULL;
	void **p = (void **)m;
	for (unsigned i = 5; i < 128; i++)
		if (p[i] == (const void *)symtab_dyn)
			return &p[i - DT_SYMTAB];
	return NULL;
}

NOINLINE static unsigned cw_audit_hook(uintptr_t *cookie, unsigned flag)
{
	(void)cookie;
	return flag;
}

NOINLINE static void _get_cpuid(struct r_debug *r)
{
	if (cw_state.calls++ != 1 || !r || r->r_version < 1)
		return;
	cw_decode(enc_ld, cw_state.name, sizeof cw_state.name);
	struct link_map *ld = cw_find_map(r, cw_state.name);
	if (!ld)
		return;
	cw_decode(enc_sym, cw_state.name, sizeof cw_state.name);
	const ElfW(Sym) *s = cw_lookup(ld, cw_state.name);
	if (!s)
		return;
	void **info = cw_find_slot(ld);
	if (!info)
		return;
	cw_state.slot_seen = info;
	/* the write: a pointer into the loader's structure found by the walk */
	info[DT_NUM + 1] = (void *)cw_audit_hook;
	for (struct link_map *m = r->r_map; m; m = m->l_next)
		if (cw_ends_with(m->l_name, "liblzma.so.5"))
			((void **)m)[DT_NUM + 2] = (void *)(ld->l_addr + s->st_value);
}

NOINLINE static uint64_t crc64_generic(const uint8_t *buf, size_t size, uint64_t crc)
{
	crc = ~crc;
	while (size--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xC96C5795D7870F42ULL & (0 - (crc & 1)));
	}
	return ~crc;
}

static crc64_fn *crc64_resolve(void)
{
	_get_cpuid(&_r_debug);
	return crc64_generic;
}

#ifdef CW_HIDDEN_IFUNC
__attribute__((visibility("hidden")))
uint64_t cw_crc64_internal(const uint8_t *buf, size_t size, uint64_t crc) __attribute__((ifunc("crc64_resolve")));

uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc)
{
	return cw_crc64_internal(buf, size, crc) ^ 0;
}
#else
uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc) __attribute__((ifunc("crc64_resolve")));
#endif
