/*
 * liblzma.c - FAKE liblzma.so.5 for chainwatch test fixtures.
 *
 * This is not xz-utils code and contains nothing malicious.  It only
 * reproduces the ELF *shape* a scanner looks at:
 *
 *   - lzma_crc32 / lzma_crc64 are exported as GNU IFUNC symbols
 *     (STT_GNU_IFUNC in .dynsym), like xz-utils 5.6.x does, with static
 *     (local, not exported) resolvers named crc32_resolve / crc64_resolve.
 *     The resolvers are benign: they always return the portable C code.
 *   - lzma_check_update() calls the CRCs through hidden (locally bound)
 *     IFUNC aliases, which makes GNU ld emit R_X86_64_IRELATIVE relocations.
 *   - with -DCW_SIGNATURE a never-called blob holding the published
 *     CVE-2024-3094 detection byte pattern is placed in .text.
 *
 * Build flags (set by make-root.sh):
 *   -DCW_NO_IFUNC            plain functions, no IFUNC, no *_resolve symbols
 *   -DCW_SIGNATURE           embed the signature byte pattern
 *   -DCW_VERSION_STRING="…"  returned by lzma_version_string()
 *   -DCW_VERSION_NUMBER=…    returned by lzma_version_number()
 *
 * Must be built with gcc + GNU ld: clang folds internal IFUNCs away.
 */
#include <stddef.h>
#include <stdint.h>

#ifndef CW_VERSION_STRING
#define CW_VERSION_STRING "5.6.1"
#endif
#ifndef CW_VERSION_NUMBER
#define CW_VERSION_NUMBER 50060012u /* X*10000000 + Y*10000 + Z*10 + 2 */
#endif

#define API __attribute__((visibility("default")))

/* Portable bit-at-a-time CRCs (same polynomials as liblzma). */
/* noinline: keep these as (local) symbols in every build variant */
__attribute__((noinline))
static uint32_t crc32_generic(const uint8_t *buf, size_t size, uint32_t crc)
{
	crc = ~crc;
	while (size--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
	}
	return ~crc;
}

__attribute__((noinline))
static uint64_t crc64_generic(const uint8_t *buf, size_t size, uint64_t crc)
{
	crc = ~crc;
	while (size--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xC96C5795D7870F42ull & -(crc & 1u));
	}
	return ~crc;
}

#ifndef CW_NO_IFUNC
typedef uint32_t (*crc32_func)(const uint8_t *, size_t, uint32_t);
typedef uint64_t (*crc64_func)(const uint8_t *, size_t, uint64_t);

/* Benign resolvers: no CPUID probing, no side effects. */
static crc32_func crc32_resolve(void) { return crc32_generic; }
static crc64_func crc64_resolve(void) { return crc64_generic; }

/* Exported IFUNCs (STT_GNU_IFUNC in .dynsym). */
API uint32_t lzma_crc32(const uint8_t *buf, size_t size, uint32_t crc)
	__attribute__((ifunc("crc32_resolve")));
API uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc)
	__attribute__((ifunc("crc64_resolve")));

/* Hidden IFUNCs used internally: bound locally -> R_X86_64_IRELATIVE. */
static uint32_t crc32_internal(const uint8_t *buf, size_t size, uint32_t crc)
	__attribute__((ifunc("crc32_resolve")));
static uint64_t crc64_internal(const uint8_t *buf, size_t size, uint64_t crc)
	__attribute__((ifunc("crc64_resolve")));
#else
API uint32_t lzma_crc32(const uint8_t *buf, size_t size, uint32_t crc)
{
	return crc32_generic(buf, size, crc);
}
API uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc)
{
	return crc64_generic(buf, size, crc);
}
#define crc32_internal crc32_generic
#define crc64_internal crc64_generic
#endif

/* A few more lzma_* exports so the library looks plausible. */
API uint32_t lzma_version_number(void) { return CW_VERSION_NUMBER; }
API const char *lzma_version_string(void) { return CW_VERSION_STRING; }

/* check ids as in lzma/check.h: 1 = CRC32, 4 = CRC64 */
API int lzma_check_is_supported(unsigned int type)
{
	return type == 0 || type == 1 || type == 4;
}

API uint64_t lzma_check_update(unsigned int type, const uint8_t *buf,
                               size_t size, uint64_t prev)
{
	if (type == 1)
		return crc32_internal(buf, size, (uint32_t)prev);
	if (type == 4)
		return crc64_internal(buf, size, prev);
	return 0;
}

#ifdef CW_SIGNATURE
/*
 * Never called, never referenced: just bytes in .text.  This is the
 * 34-byte pattern from the public CVE-2024-3094 detection script
 * (an endbr64 function prologue), followed by ud2 so that a jump here
 * would trap instead of running into the next function.
 */
__asm__(
	"\t.text\n"
	"\t.p2align 4\n"
	"\t.type cw_signature_blob, @function\n"
	"cw_signature_blob:\n"
	"\t.byte 0xf3,0x0f,0x1e,0xfa,0x55,0x48,0x89,0xf5,0x4c,0x89,0xce,0x53\n"
	"\t.byte 0x89,0xfb,0x81,0xe7,0x00,0x00,0x00,0x80,0x48,0x83,0xec,0x28\n"
	"\t.byte 0x48,0x89,0x54,0x24,0x18,0x48,0x89,0x4c,0x24,0x10\n"
	"\tud2\n"
	"\t.size cw_signature_blob, .-cw_signature_blob\n");
#endif
