/*
 * libsystemd.c - FAKE libsystemd.so.0 for chainwatch GOT-integrity fixtures
 * (built by make-got.sh).
 *
 * Carries DT_SONAME libsystemd.so.0 and DT_NEEDED liblzma.so.5 (plus
 * libhelper.so.1 with --hook other), the sshd -> libsystemd -> liblzma
 * chain of CVE-2024-3094, and really calls lzma_crc64.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc);

/* Same signature as the real sd_notify(); sends nothing, returns 0. */
__attribute__((visibility("default")))
int sd_notify(int unset_environment, const char *state)
{
	(void)unset_environment;
	if (state == NULL)
		return 0;
	volatile uint64_t crc = lzma_crc64((const uint8_t *)state, strlen(state), 0);
	(void)crc;
	return 0;
}
