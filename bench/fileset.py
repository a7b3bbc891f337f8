#!/usr/bin/env python3
"""fileset.py - the files a chainwatch scan hashes, for the sha256sum/yara floor.

chainwatch's JSON does not list the files it read, so this rebuilds the set the
way README "What a scan looks at" describes it, and bench/run.sh checks the
count against scan.statistics.files_examined:

  1. executable file-backed mappings in every /proc/PID/maps (host scans only);
  2. sshd and its library graph: programs[].program and programs[].libraries[].path
     from chainwatch's own JSON (re-resolving DT_NEEDED here would be a second
     implementation to get wrong);
  3. every *.so* in the loader's directories (ld.so.conf with includes, plus
     /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib
     /usr/lib, non-recursive), symlinks resolved, regular files only.

Distinct by (device, inode), as chainwatch deduplicates.  Writes the paths
NUL-separated to stdout (for xargs -0 / yara --scan-list via tr) and
"N files, B bytes" to stderr.

  fileset.py ROOT CHAINWATCH_JSON [--processes]
"""
import fnmatch, glob, json, os, stat, sys

root = sys.argv[1].rstrip("/") or "/"
doc = json.load(open(sys.argv[2]))
with_procs = "--processes" in sys.argv[3:]

def inside(path):
    """Host path for a path inside ROOT (fixture roots use relative symlinks, so
    realpath of the joined path stays inside)."""
    return path if root == "/" else os.path.join(root, path.lstrip("/"))

files = {}          # (dev, ino) -> path
def add(path):
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode):
        files.setdefault((st.st_dev, st.st_ino), (real, st.st_size))

# 1. mapped executables and libraries
if with_procs:
    for maps in glob.glob("/proc/[0-9]*/maps"):
        try:
            lines = open(maps).read().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split(None, 5)
            if len(parts) == 6 and "x" in parts[1] and parts[5].startswith("/") \
                    and not parts[5].endswith(" (deleted)"):
                add(parts[5])

# 2. sshd's graph as chainwatch resolved it
for prog in doc.get("programs", []):
    add(inside(prog["program"]))
    for lib in prog.get("libraries", []):
        add(inside(lib["path"]))

# 3. loader directories
dirs, seen_conf = [], set()
def read_conf(path, depth=0):
    real = os.path.realpath(inside(path))
    if depth > 16 or real in seen_conf:
        return
    seen_conf.add(real)
    try:
        lines = open(real).read().splitlines()
    except OSError:
        return
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("include"):
            pattern = line.split(None, 1)[1]
            if not pattern.startswith("/"):
                pattern = os.path.join(os.path.dirname(path), pattern)
            for inc in sorted(glob.glob(inside(pattern))):
                read_conf(inc if root == "/" else "/" + os.path.relpath(inc, root), depth + 1)
        elif not line.startswith("hwcap"):
            dirs.append(line)
read_conf("/etc/ld.so.conf")
dirs += ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
for d in dirs:
    hd = inside(d)
    try:
        names = os.listdir(hd)
    except OSError:
        continue
    for name in names:
        if fnmatch.fnmatchcase(name, "*.so*"):       # the same glob as chainwatch
            add(os.path.join(hd, name))

total = 0
for path, size in files.values():
    sys.stdout.write(path + "\0")
    total += size
sys.stderr.write("%d files, %d bytes\n" % (len(files), total))
