#!/usr/bin/python3
"""blocking-fuse.py MOUNTPOINT SOURCE [--block-after TRIGGER] [--name NAME]

A FUSE filesystem (Debian's python3-fusepy over libfuse) for chainwatch's tests: a read-only directory holding one
file, NAME (default: SOURCE's base name), with SOURCE's bytes. getattr, open and readdir always answer; read()
blocks for good, as on a stuck network mount or a hostile FUSE server:
  - at once, without --block-after;
  - with --block-after TRIGGER, reads are answered until the file TRIGGER exists (so a test process can first
    dlopen the file from the mount), then every read blocks.

The kernel's page cache is dropped at every open (no keep_cache), so a reader opening the file after the trigger
always reaches read(). Prints "mounted" on stdout once the filesystem answers, and "blocked read at OFFSET" for
each read it holds; runs in the foreground until killed.
Kill it with SIGKILL (the kernel then aborts the connection and every blocked reader gets an error) after
`fusermount -u -z MOUNTPOINT`.
"""
import errno
import os
import stat
import sys
import threading

try:
    import fusepy as fuse  # Debian's python3-fusepy
except ImportError:  # pragma: no cover - the upstream module name
    import fuse


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    mountpoint, source = args[0], args[1]
    trigger, name = None, os.path.basename(source)
    rest = args[2:]
    while rest:
        option = rest.pop(0)
        if option == "--block-after" and rest:
            trigger = rest.pop(0)
        elif option == "--name" and rest:
            name = rest.pop(0)
        else:
            sys.exit("blocking-fuse.py: unknown option " + option)
    with open(source, "rb") as f:
        data = f.read()
    FUSE = fuse.FUSE
    Operations = fuse.Operations
    FuseOSError = fuse.FuseOSError
    never = threading.Event()

    class Blocking(Operations):
        def init(self, path):
            print("mounted", flush=True)

        def getattr(self, path, fh=None):
            if path == "/":
                return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2, "st_uid": 0, "st_gid": 0}
            if path == "/" + name:
                return {"st_mode": stat.S_IFREG | 0o755, "st_nlink": 1, "st_size": len(data), "st_uid": 0, "st_gid": 0,
                        "st_mtime": 1_700_000_000, "st_ctime": 1_700_000_000, "st_atime": 1_700_000_000}
            raise FuseOSError(errno.ENOENT)

        def readdir(self, path, fh):
            return [".", "..", name]

        def open(self, path, flags):
            if path != "/" + name:
                raise FuseOSError(errno.ENOENT)
            if flags & (os.O_WRONLY | os.O_RDWR):
                raise FuseOSError(errno.EROFS)
            return 0

        def read(self, path, size, offset, fh):
            if trigger is None or os.path.exists(trigger):
                print("blocked read at %d" % offset, flush=True)
                never.wait()  # never set: this request is never answered
            return data[offset:offset + size]

    FUSE(Blocking(), mountpoint, foreground=True, nothreads=False, ro=True, fsname="blocking-fuse")


if __name__ == "__main__":
    main()
