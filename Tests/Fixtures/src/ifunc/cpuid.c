/*
 * cpuid.c - libifunc-cpuid.so: a hand-written IFUNC resolver of the most common
 * portable kind, __builtin_cpu_init() + __builtin_cpu_supports("avx2").
 * GCC links libgcc's __cpu_indicator_init (cpuid, writes the hidden __cpu_model)
 * into the library and the resolver reads __cpu_model.  Benign; never run by the tests.
 */
#include <stddef.h>
#include <stdint.h>

typedef uint64_t sum_fn(const uint8_t *p, size_t n);

static uint64_t sum_generic(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

__attribute__((target("avx2")))
static uint64_t sum_avx2(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

static sum_fn *resolve_sum(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") ? sum_avx2 : sum_generic;
}

uint64_t cw_sum(const uint8_t *p, size_t n) __attribute__((ifunc("resolve_sum")));
