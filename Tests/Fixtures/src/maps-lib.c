/*
 * maps-lib.c - test helper for chainwatch (built by make-root.sh --maps-lib).
 *
 * Usage: maps-lib LIBRARY
 * dlopen()s LIBRARY with RTLD_NOW, writes "ready\n" to stdout, flushes,
 * then blocks in pause() until killed (SIGTERM/SIGINT -> exit 0).  Tests use
 * it to get a live process whose /proc/PID/maps contains LIBRARY.
 * (dlopen of an arbitrary path is fine here: this is a fixture process, not
 * the scanner.)  Exit 2 on bad usage, 1 if dlopen fails (message on stderr).
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	void *handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		fprintf(stderr, "maps-lib: %s\n", dlerror());
		return 1;
	}
	fputs("ready\n", stdout);
	fflush(stdout);
	for (;;)
		pause();
}
