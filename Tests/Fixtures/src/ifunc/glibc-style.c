/*
 * glibc-style.c - libifunc-glibc-style.so: a resolver shaped like glibc's
 * (sysdeps/x86_64/multiarch/ifunc-*.h): it reads feature words through a pointer
 * obtained from a global (through the GOT: cw_cpu_features is exported, hence
 * interposable) and returns one of several implementations.  No calls, no stores.
 * Benign; never run by the tests.
 */
#include <stddef.h>
#include <stdint.h>

struct cw_cpu_features {
	uint32_t cpuid[4][4]; /* leaves 1, 7, 0x80000001, 0xd: eax ebx ecx edx */
	uint32_t usable;      /* bit 0 AVX2, 1 AVX512F, 2 ERMS, 3 FSRM, 4 prefer-no-vzeroupper */
};

static struct cw_cpu_features cw_features_storage;
struct cw_cpu_features *cw_cpu_features = &cw_features_storage;

typedef void *copy_fn(void *d, const void *s, size_t n);

static void *copy_sse2(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

#define IMPL(name)                                                    \
	static void *name(void *d, const void *s, size_t n)               \
	{                                                                 \
		return copy_sse2(d, s, n);                                    \
	}
IMPL(copy_avx2_unaligned)
IMPL(copy_avx2_unaligned_erms)
IMPL(copy_evex_unaligned)
IMPL(copy_avx512_unaligned_erms)
IMPL(copy_erms)

static copy_fn *resolve_copy(void)
{
	const struct cw_cpu_features *f = cw_cpu_features;
	if ((f->usable & 2) && (f->cpuid[1][1] & (1u << 16)) && !(f->usable & 16))
		return (f->usable & 4) ? copy_avx512_unaligned_erms : copy_evex_unaligned;
	if (f->usable & 1) {
		if (f->cpuid[1][1] & (1u << 9))
			return copy_avx2_unaligned_erms;
		return copy_avx2_unaligned;
	}
	if ((f->usable & 8) || (f->cpuid[1][1] & (1u << 9)))
		return copy_erms;
	return copy_sse2;
}

void *cw_copy(void *d, const void *s, size_t n) __attribute__((ifunc("resolve_copy")));
