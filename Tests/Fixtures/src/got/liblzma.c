/*
 * liblzma.c - FAKE liblzma.so.5 for chainwatch GOT-integrity fixtures
 * (built by make-got.sh; the IFUNC-shaped one for make-root.sh is ../liblzma.c).
 *
 * Not xz-utils code.  Exports lzma_crc64 as a plain C function.  Only with
 * make-got.sh --hook liblzma is got-hook.c linked in as well: its
 * constructor then points the main program's GOT slot for
 * RSA_public_decrypt at a function inside this library (see got-hook.c).
 */
#include <stddef.h>
#include <stdint.h>

#define API __attribute__((visibility("default")))

/* Portable bit-at-a-time CRC-64 (ECMA-182 polynomial, as liblzma's). */
API uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc)
{
	crc = ~crc;
	while (size--) {
		crc ^= *buf++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xC96C5795D7870F42ull & -(crc & 1u));
	}
	return ~crc;
}

API const char *lzma_version_string(void) { return "5.6.1"; }
