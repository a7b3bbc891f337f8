/*
 * sshd.c - FAKE /usr/sbin/sshd for chainwatch GOT-integrity fixtures
 * (built by make-got.sh; the one for make-root.sh is ../sshd.c).
 *
 * PIE with DT_NEEDED libcrypto.so.3 + libsystemd.so.0 (+ libc.so.6) that
 * imports through its GOT the three libcrypto functions the CVE-2024-3094
 * backdoor went after:
 *
 *   RSA_public_decrypt  called (only with -T)  -> R_X86_64_JUMP_SLOT
 *   RSA_get0_key        called (only with -T)  -> R_X86_64_JUMP_SLOT
 *   EVP_PKEY_set1_RSA   address taken into a volatile pointer, called
 *                       through it only with -T -> R_X86_64_GLOB_DAT
 *
 * (A function whose address is taken AND that is called directly gets only
 * a GLOB_DAT: GNU ld routes the call through .plt.got.)
 *
 * Usage:
 *   sshd      calls sd_notify(0, "READY=1") once, writes "ready\n" to
 *             stdout, then blocks in pause() until SIGTERM/SIGINT (exit 0).
 *             No libcrypto function is called, so with lazy binding their
 *             JUMP_SLOT slots still point into sshd's own PLT.
 *   sshd -T   calls the three functions once (through a hook, if one is
 *             installed: it forwards), prints "ok\n" and exits 0 if they
 *             behaved as libcrypto.c's do, else "FAIL\n" and exit 1.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct rsa_st RSA;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct bignum_st BIGNUM;

int RSA_public_decrypt(int flen, const unsigned char *from, unsigned char *to,
                       RSA *rsa, int padding);
int EVP_PKEY_set1_RSA(EVP_PKEY *pkey, RSA *key);
void RSA_get0_key(const RSA *r, const BIGNUM **n, const BIGNUM **e, const BIGNUM **d);
int sd_notify(int unset_environment, const char *state);

/* Loaded from the GOT at run time (not a static initializer: that would be
 * an R_X86_64_64 data relocation instead of a GOT slot). */
static int (*volatile set1_rsa)(EVP_PKEY *, RSA *);

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static int self_test(void)
{
	const unsigned char in[4] = { 's', 's', 'h', 'd' };
	unsigned char out[4] = { 0 };
	const BIGNUM *n = (const BIGNUM *)in, *e = (const BIGNUM *)in;
	int ok = RSA_public_decrypt(4, in, out, NULL, 1) == 4 && memcmp(in, out, 4) == 0;
	RSA_get0_key(NULL, &n, &e, NULL);
	ok = ok && n == NULL && e == NULL && set1_rsa(NULL, NULL) == 0;
	fputs(ok ? "ok\n" : "FAIL\n", stdout);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	set1_rsa = EVP_PKEY_set1_RSA;
	if (argc == 2 && strcmp(argv[1], "-T") == 0)
		return self_test();
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	(void)sd_notify(0, "READY=1");
	fputs("ready\n", stdout);
	fflush(stdout);
	for (;;)
		pause();
}
