/*
 * libhelper.c - libhelper.so.1 for chainwatch GOT-integrity fixtures
 * (built by make-got.sh --hook other only).
 *
 * A library with a name unrelated to xz or OpenSSL that carries the same
 * benign GOT hook as liblzma does with --hook liblzma (got-hook.c is linked
 * in), so tests can show the check does not depend on the name "liblzma".
 * libsystemd.so.0 has DT_NEEDED libhelper.so.1 and never calls it.
 */
#define API __attribute__((visibility("default")))

API int helper_version(void) { return 1; }
