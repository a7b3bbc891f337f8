/*
 * clones.c - libifunc-clones.so: GCC's target_clones.  GCC emits one resolver per
 * function (cw_dot.resolver, ...), an STT_GNU_IFUNC symbol, and the clones
 * (cw_dot.default, cw_dot.avx2, cw_dot.arch_x86_64_v3).  The resolvers call
 * __cpu_indicator_init and read __cpu_model.  Benign; never run by the tests.
 */
#include <stddef.h>
#include <stdint.h>

#define CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v3")))

CLONES double cw_dot(const double *a, const double *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

CLONES void cw_scale(float *v, float k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] *= k;
}

CLONES uint32_t cw_popcount(const uint64_t *w, size_t n)
{
	uint32_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += (uint32_t)__builtin_popcountll(w[i]);
	return c;
}
