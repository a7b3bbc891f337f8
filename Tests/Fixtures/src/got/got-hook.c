/*
 * got-hook.c - BENIGN reproduction of the CVE-2024-3094 GOT rewrite for
 * chainwatch GOT-integrity fixtures (linked into liblzma.so.5 by
 * make-got.sh --hook liblzma, into libhelper.so.1 by --hook other).
 *
 * What the xz backdoor did, as seen from outside: while sshd started, code
 * in liblzma changed sshd's GOT slot for RSA_public_decrypt so that it
 * pointed into liblzma instead of libcrypto.  This file reproduces only that
 * observable state, nothing else:
 *
 *   - the constructor cw_got_hook_install() takes the first
 *     dl_iterate_phdr() entry (the main program; dlpi_addr = load bias),
 *     walks its PT_DYNAMIC (DT_RELA/DT_RELASZ and DT_JMPREL/DT_PLTRELSZ,
 *     DT_SYMTAB, DT_STRTAB) for R_X86_64_JUMP_SLOT / R_X86_64_GLOB_DAT
 *     relocations of the symbol RSA_public_decrypt, and stores the address
 *     of hooked_rsa_public_decrypt (a static function of this library) at
 *     dlpi_addr + r_offset;
 *   - a slot inside PT_GNU_RELRO (sshd linked -z now -z relro: read-only
 *     by the time constructors run) is made writable with mprotect, written
 *     and made PROT_READ again, which is the state the backdoor left; a slot
 *     outside it (a lazily bound .got.plt) is written directly, so ld.so's
 *     lazy resolver can still write it later;
 *   - hooked_rsa_public_decrypt only forwards to the slot's previous value
 *     (the real function, or with lazy binding the PLT stub, which then
 *     resolves and rebinds the slot), or returns 0 if there was none.
 *
 * Prints nothing; if anything is missing (no such import, no dynamic
 * section, unexpected entry sizes) it changes nothing.  A program that does
 * not import RSA_public_decrypt (e.g. maps-lib or memfd-load dlopen()ing
 * this library) is left untouched.  x86-64 only.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef __x86_64__
#error "got-hook.c handles x86-64 relocations only"
#endif

typedef struct rsa_st RSA;
typedef int (*rsa_public_decrypt_fn)(int flen, const unsigned char *from,
                                     unsigned char *to, RSA *rsa, int padding);

static rsa_public_decrypt_fn original_rsa_public_decrypt;

__attribute__((noinline))
static int hooked_rsa_public_decrypt(int flen, const unsigned char *from,
                                     unsigned char *to, RSA *rsa, int padding)
{
	rsa_public_decrypt_fn original = original_rsa_public_decrypt;
	if (original == NULL || original == hooked_rsa_public_decrypt)
		return 0;
	return original(flen, from, to, rsa, padding);
}

struct image {
	ElfW(Addr) bias;
	const ElfW(Phdr) *phdr;
	ElfW(Half) phnum;
	int found;
};

static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct image *image = data;
	(void)size;
	image->bias = info->dlpi_addr;
	image->phdr = info->dlpi_phdr;
	image->phnum = info->dlpi_phnum;
	image->found = 1;
	return 1; /* the first entry is the main program: stop */
}

/*
 * A DT_* address as found in the in-memory dynamic section.  ld.so adds the
 * load bias to some entries in place (glibc does for a writable
 * .dynamic), others stay link-time addresses: accept either.
 */
static uintptr_t dyn_address(const struct image *image, ElfW(Addr) value)
{
	for (ElfW(Half) i = 0; i < image->phnum; i++) {
		const ElfW(Phdr) *ph = &image->phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		ElfW(Addr) start = image->bias + ph->p_vaddr;
		if (value >= start && value - start < ph->p_memsz)
			return value; /* already relocated */
	}
	return image->bias + value;
}

/* Nonzero if [slot, slot+8) lies in the pages ld.so made read-only (RELRO). */
static int in_relro(const struct image *image, uintptr_t slot, uintptr_t page)
{
	for (ElfW(Half) i = 0; i < image->phnum; i++) {
		const ElfW(Phdr) *ph = &image->phdr[i];
		if (ph->p_type != PT_GNU_RELRO)
			continue;
		/* ld.so protects [start, end) rounded down to pages */
		uintptr_t start = (image->bias + ph->p_vaddr) & ~(page - 1);
		uintptr_t end = (image->bias + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
		if (slot >= start && slot + sizeof(void *) <= end)
			return 1;
	}
	return 0;
}

static void patch_slot(const struct image *image, uintptr_t slot)
{
	rsa_public_decrypt_fn hook = hooked_rsa_public_decrypt, current;
	memcpy(&current, (const void *)slot, sizeof current);
	if (current == hook)
		return; /* already done (a slot listed twice) */
	if (original_rsa_public_decrypt == NULL)
		original_rsa_public_decrypt = current;

	long pagesize = sysconf(_SC_PAGESIZE);
	if (pagesize <= 0)
		return;
	uintptr_t page = (uintptr_t)pagesize;
	if (in_relro(image, slot, page)) {
		uintptr_t start = slot & ~(page - 1);
		uintptr_t end = (slot + sizeof(void *) + page - 1) & ~(page - 1);
		if (mprotect((void *)start, end - start, PROT_READ | PROT_WRITE) != 0)
			return;
		memcpy((void *)slot, &hook, sizeof hook);
		(void)mprotect((void *)start, end - start, PROT_READ);
	} else {
		memcpy((void *)slot, &hook, sizeof hook);
	}
}

static void scan_relocations(const struct image *image, uintptr_t table, size_t bytes,
                             const ElfW(Sym) *symtab, const char *strtab, size_t strsz)
{
	const ElfW(Rela) *rela = (const ElfW(Rela) *)table;
	for (size_t i = 0; i < bytes / sizeof(ElfW(Rela)); i++) {
		unsigned long type = ELF64_R_TYPE(rela[i].r_info);
		unsigned long sym = ELF64_R_SYM(rela[i].r_info);
		if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || sym == 0)
			continue;
		ElfW(Word) name = symtab[sym].st_name;
		if (name >= strsz || strcmp(strtab + name, "RSA_public_decrypt") != 0)
			continue;
		patch_slot(image, image->bias + rela[i].r_offset);
	}
}

__attribute__((constructor))
static void cw_got_hook_install(void)
{
	struct image image = { 0 };
	dl_iterate_phdr(first_object, &image);
	if (!image.found || image.phdr == NULL)
		return;

	const ElfW(Dyn) *dyn = NULL;
	for (ElfW(Half) i = 0; i < image.phnum; i++)
		if (image.phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(image.bias + image.phdr[i].p_vaddr);
	if (dyn == NULL)
		return;

	uintptr_t symtab = 0, strtab = 0, rela = 0, jmprel = 0;
	size_t strsz = 0, syment = 0, relasz = 0, relaent = 0, pltrelsz = 0;
	ElfW(Sxword) pltrel = 0;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB:   symtab = dyn_address(&image, dyn->d_un.d_ptr); break;
		case DT_STRTAB:   strtab = dyn_address(&image, dyn->d_un.d_ptr); break;
		case DT_STRSZ:    strsz = dyn->d_un.d_val; break;
		case DT_SYMENT:   syment = dyn->d_un.d_val; break;
		case DT_RELA:     rela = dyn_address(&image, dyn->d_un.d_ptr); break;
		case DT_RELASZ:   relasz = dyn->d_un.d_val; break;
		case DT_RELAENT:  relaent = dyn->d_un.d_val; break;
		case DT_JMPREL:   jmprel = dyn_address(&image, dyn->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
		case DT_PLTREL:   pltrel = (ElfW(Sxword))dyn->d_un.d_val; break;
		default: break;
		}
	}
	if (symtab == 0 || strtab == 0 || syment != sizeof(ElfW(Sym)))
		return;
	const ElfW(Sym) *syms = (const ElfW(Sym) *)symtab;
	const char *strs = (const char *)strtab;
	if (rela != 0 && (relaent == 0 || relaent == sizeof(ElfW(Rela))))
		scan_relocations(&image, rela, relasz, syms, strs, strsz);
	if (jmprel != 0 && pltrel == DT_RELA)
		scan_relocations(&image, jmprel, pltrelsz, syms, strs, strsz);
}
