/*
 * local-helper.c - libifunc-local-helper.so: the CLEAN xz 5.6 shape.
 * crc64_resolve -> is_arch_extension_supported -> _get_cpuid (static, noinline,
 * cpuid through <cpuid.h>'s inline asm): a resolver that calls a small local
 * function, a few dozen instructions in all, no loader data, no stores outside
 * the stack.  Benign; never run by the tests.
 */
#include <cpuid.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t crc64_fn(const uint8_t *buf, size_t size, uint64_t crc);
typedef uint32_t crc32_fn(const uint8_t *buf, size_t size, uint32_t crc);

__attribute__((noinline, noclone))
static int _get_cpuid(unsigned leaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d)
{
	return __get_cpuid(leaf, a, b, c, d);
}

__attribute__((noinline, noclone))
static int is_arch_extension_supported(void)
{
	unsigned a, b, c, d;
	if (!_get_cpuid(1, &a, &b, &c, &d))
		return 0;
	/* PCLMULQDQ, SSSE3, SSE4.1 */
	return (c & bit_PCLMUL) && (c & bit_SSSE3) && (c & bit_SSE4_1);
}

__attribute__((noinline, noclone))
static uint64_t crc64_generic(const uint8_t *buf, size_t size, uint64_t crc)
{
	crc = ~crc;
	while (size--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xC96C5795D7870F42ULL & (0 - (crc & 1)));
	}
	return ~crc;
}

__attribute__((noinline, noclone, target("pclmul,sse4.1,ssse3")))
static uint64_t crc64_arch_optimized(const uint8_t *buf, size_t size, uint64_t crc)
{
	return crc64_generic(buf, size, crc);
}

__attribute__((noinline, noclone))
static uint32_t crc32_generic(const uint8_t *buf, size_t size, uint32_t crc)
{
	crc = ~crc;
	while (size--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0 - (crc & 1)));
	}
	return ~crc;
}

__attribute__((noinline, noclone, target("pclmul,sse4.1,ssse3")))
static uint32_t crc32_arch_optimized(const uint8_t *buf, size_t size, uint32_t crc)
{
	return crc32_generic(buf, size, crc);
}

static crc64_fn *crc64_resolve(void)
{
	return is_arch_extension_supported() ? crc64_arch_optimized : crc64_generic;
}

static crc32_fn *crc32_resolve(void)
{
	return is_arch_extension_supported() ? crc32_arch_optimized : crc32_generic;
}

uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc) __attribute__((ifunc("crc64_resolve")));
uint32_t lzma_crc32(const uint8_t *buf, size_t size, uint32_t crc) __attribute__((ifunc("crc32_resolve")));
