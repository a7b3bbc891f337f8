/*
 * The xz backdoor's bootstrap shape, harmless and never run by any test (only read as a file): the IFUNC resolver
 * crc64_resolve calls a local _get_cpuid which, on its second call, fills a context through a pointer (the caller's
 * frame, a computed offset, the address of a function-pointer slot), stores another function in that slot, calls
 * through it, and puts the old value back; then calls the "real" cpuid through the slot. This is the structure the
 * xzre analysis gives for backdoor_entry / backdoor_init / init_elf_entry_ctx, with no loader data referenced: the
 * ifunc-resolver-patches-through-pointers rule must find it from the stores and the call through a pointer alone.
 */
#include <stddef.h>
#include <stdint.h>

typedef void (*cpuid_fn)(unsigned, unsigned *, unsigned *, unsigned *, unsigned *);
typedef uint64_t (*crc64_func)(const uint8_t *, size_t, uint64_t);

struct entry_ctx {
	void *symbol;
	void *return_address;
	long offset;
	cpuid_fn *slot;
	cpuid_fn saved;
	void *got;
};

static int resolver_calls;

__attribute__((noinline)) static void cpuid_gcc(unsigned leaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* A function-pointer slot in the object's own data, as the GOT slot of a local symbol is. */
static cpuid_fn volatile cpuid_slot = cpuid_gcc;

__attribute__((noinline)) static void stage2(unsigned leaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d)
{
	*a = leaf;
	*b = *c = *d = 0;
}

__attribute__((noinline)) static void update_got_offset(struct entry_ctx *ctx)
{
	ctx->offset = (long)((char *)ctx->symbol - (char *)ctx->return_address);
}

__attribute__((noinline)) static void update_cpuid_slot(struct entry_ctx *ctx)
{
	ctx->slot = (cpuid_fn *)&cpuid_slot;
	ctx->got = (char *)ctx->symbol + (ctx->offset & 0xf);
}

__attribute__((noinline)) static void init_entry_ctx(struct entry_ctx *ctx, void **frame)
{
	ctx->symbol = (void *)&resolver_calls;
	ctx->return_address = frame[3];
	update_got_offset(ctx);
	update_cpuid_slot(ctx);
}

__attribute__((noinline)) static void backdoor_init(struct entry_ctx *ctx, void **frame)
{
	unsigned a, b, c, d;

	init_entry_ctx(ctx, frame);
	if (ctx->slot) {
		ctx->saved = *ctx->slot;
		*ctx->slot = stage2;
		(*ctx->slot)(0, &a, &b, &c, &d);
		*ctx->slot = ctx->saved;
	}
}

__attribute__((noinline)) static unsigned _get_cpuid(unsigned leaf, void **frame)
{
	struct entry_ctx ctx = { 0 };
	unsigned a, b, c, d;

	if (resolver_calls == 1)
		backdoor_init(&ctx, frame);
	resolver_calls++;
	cpuid_slot(leaf, &a, &b, &c, &d);
	return c;
}

static uint64_t crc64_generic(const uint8_t *buf, size_t size, uint64_t crc)
{
	crc = ~crc;
	while (size--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xC96C5795D7870F42ULL & -(crc & 1));
	}
	return ~crc;
}

static uint64_t crc64_fast(const uint8_t *buf, size_t size, uint64_t crc)
{
	return crc64_generic(buf, size, crc);
}

static crc64_func crc64_resolve(void)
{
	return (_get_cpuid(1, __builtin_frame_address(0)) & (1u << 1)) ? crc64_fast : crc64_generic;
}

uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc) __attribute__((ifunc("crc64_resolve")));
