/*
 * sshd.c - FAKE /usr/sbin/sshd for make-dpkg-root.sh.
 *
 * DT_NEEDED libclean.so.1, libtampered.so.1, libold.so.1, libdiv.so.1 and
 * libunowned.so.1 (+ libc.so.6): it calls one function of each, so the
 * dependencies are real.  When run it prints each library's id string and
 * exits 0.
 */
#include <stdio.h>

const char *libclean_id(void);
const char *libtampered_id(void);
const char *libold_id(void);
const char *libdiv_id(void);
const char *libunowned_id(void);

int main(void)
{
	const char *(*ids[])(void) = { libclean_id, libtampered_id, libold_id, libdiv_id, libunowned_id };

	for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++)
		puts(ids[i]());
	return 0;
}
