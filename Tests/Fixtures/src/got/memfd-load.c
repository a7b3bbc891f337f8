/*
 * memfd-load.c - test helper for chainwatch (built by
 * make-got.sh --memfd-loader PATH).
 *
 * Usage: memfd-load LIBRARY
 * Reads LIBRARY into an anonymous memfd named "crcaccel" (MFD_CLOEXEC),
 * dlopen()s it as /proc/self/fd/N with RTLD_NOW, writes "ready\n" to stdout,
 * flushes, then blocks in pause() until SIGTERM/SIGINT (exit 0).  The
 * process's /proc/PID/maps then shows the library's executable mapping as
 * "/memfd:crcaccel (deleted)": a library that exists on no file system, the
 * way fileless loaders hide code.  The memfd stays open.  Exit 2 on bad
 * usage, 1 on any failure (message on stderr).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "memfd-load: %s: %s\n", what, detail);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);

	int in = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fail(argv[1], strerror(errno));
	int mem = memfd_create("crcaccel", MFD_CLOEXEC);
	if (mem < 0)
		return fail("memfd_create", strerror(errno));
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(argv[1], strerror(errno));
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(mem, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return fail("write to memfd", strerror(errno));
			}
			off += w;
		}
	}
	close(in);

	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", mem);
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
		return fail("dlopen", dlerror());
	fputs("ready\n", stdout);
	fflush(stdout);
	for (;;)
		pause();
}
