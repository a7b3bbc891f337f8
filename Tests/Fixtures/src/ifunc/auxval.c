/*
 * auxval.c - libifunc-auxval.so: a resolver of the portable aarch64/ppc64 style on
 * x86-64: it takes (uint64_t hwcap, void *arg) (x86-64's glibc passes nothing
 * useful; code shared with aarch64 is written this way) and calls
 * getauxval(AT_HWCAP2) through the PLT.  Benign; never run by the tests.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>

typedef size_t count_fn(const char *s, char c);

static size_t count_plain(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

static size_t count_fsgsbase(const char *s, char c)
{
	size_t n = 0;
	while (*s)
		n += *s++ == c;
	return n;
}

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

static count_fn *resolve_count(uint64_t hwcap, void *arg)
{
	(void)arg;
	unsigned long hwcap2 = getauxval(AT_HWCAP2);
	if ((hwcap2 & HWCAP2_FSGSBASE) || (hwcap & (1u << 26)))
		return count_fsgsbase;
	return count_plain;
}

size_t cw_count(const char *s, char c) __attribute__((ifunc("resolve_count")));
