/*
 * libcrypto.c - FAKE libcrypto.so.3 for chainwatch GOT-integrity fixtures
 * (built by make-got.sh).
 *
 * Not OpenSSL code and nothing cryptographic: three exports with the
 * signatures of the OpenSSL 3 functions the CVE-2024-3094 backdoor looked
 * up in sshd (RSA_public_decrypt is the one whose GOT slot it rewrote).
 * The fixture sshd imports all three through its GOT; the types are opaque
 * and no function dereferences an RSA, EVP_PKEY or BIGNUM pointer.
 * Exported under symbol version OPENSSL_3.0.0 (libcrypto.map), as the real
 * library does, so readelf shows e.g. RSA_public_decrypt@OPENSSL_3.0.0.
 */
#include <stddef.h>
#include <string.h>

typedef struct rsa_st RSA;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct bignum_st BIGNUM;

#define API __attribute__((visibility("default")))

/* "Decrypts" by copying: returns flen, or -1 on bad arguments. */
API int RSA_public_decrypt(int flen, const unsigned char *from, unsigned char *to,
                           RSA *rsa, int padding)
{
	(void)rsa;
	(void)padding;
	if (flen < 0 || from == NULL || to == NULL)
		return -1;
	memmove(to, from, (size_t)flen);
	return flen;
}

/* 1 if both pointers are set, 0 otherwise; stores nothing. */
API int EVP_PKEY_set1_RSA(EVP_PKEY *pkey, RSA *key)
{
	return pkey != NULL && key != NULL;
}

/* A key without components: every requested BIGNUM is NULL. */
API void RSA_get0_key(const RSA *r, const BIGNUM **n, const BIGNUM **e, const BIGNUM **d)
{
	(void)r;
	if (n != NULL)
		*n = NULL;
	if (e != NULL)
		*e = NULL;
	if (d != NULL)
		*d = NULL;
}
