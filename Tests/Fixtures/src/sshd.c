/*
 * sshd.c - FAKE /usr/sbin/sshd for chainwatch test fixtures.
 *
 * PIE with DT_NEEDED libsystemd.so.0 (+ libc.so.6).  When run it prints
 * nothing and blocks until SIGTERM/SIGINT (exit status 0), so tests can
 * start it with LD_LIBRARY_PATH pointing into a fixture root and inspect
 * /proc/PID/maps of a live process that has the fixture liblzma mapped.
 */
#include <signal.h>
#include <unistd.h>

int sd_notify(int unset_environment, const char *state);

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	(void)sd_notify(0, "READY=1"); /* keeps the libsystemd dependency real */
	for (;;)
		pause();
}
