#!/usr/bin/env python3
"""make-hostile-archives.py - build hostile archives for chainwatch's --path/--image tests.

Why this exists: `chainwatch --path` and `--image` open archives an attacker
may have crafted.  Whatever a member is called, links to, or expands to, the
scanner must never write or read outside its own scratch space (or memory),
never create devices, FIFOs or setuid files, and must bound the work an
archive can cause (decompressed bytes, member count, member size, nesting
depth), noting what it skipped.  This script builds one small archive per
hostile case, at test time, with the Python standard library only (no tar,
gzip or xz binaries; Python >= 3.8).  Nothing here is malware: every "hostile"
member holds the text "hostile" (or zeros), and nothing is ever extracted.

Usage:
  make-hostile-archives.py OUTDIR    build the files below in OUTDIR (created;
                                     must be absent or an empty directory)
  make-hostile-archives.py -h|--help this text

OUTDIR after a run (tar = ustar unless noted; owners 0/0, mtimes 2024-03-29;
"hostile" = the 7 bytes b"hostile"):
  traversal.tar            ../../etc/passwd, /etc/shadow          (regular, "hostile")
  traversal.zip            the same two names as zip entries
  symlink-abs.tar          passwd-link -> /etc/passwd (symlink), then a REGULAR
                           member passwd-link ("hostile") written through it
  symlink-dir.tar          link -> ../../../etc (symlink), then link/evil ("hostile")
  symlink-dir.zip          the same as zip entries (symlink = S_IFLNK in
                           external_attr, target as the entry's data)
  hardlink.tar             shadow-hard => /etc/shadow, passwd-hard =>
                           ../../etc/passwd (hard links), then a REGULAR member
                           shadow-hard ("hostile") written through the link
  chardev.tar              dev/mem (char 1,1), dev/zero (char 1,5)
  blockdev.tar             dev/sda (block 8,0)
  fifo.tar                 pipe (FIFO)
  setuid.tar               usr/bin/evil (0/0, mode 4755, "#!/bin/sh\\necho hostile\\n"),
                           usr/bin/evil-sgid (mode 2755, same content)
  gzip-bomb.tar.gz         ~2 MB: one member "zeros" of 2 GiB of zero bytes
                           (one gzip member; deflate with a full flush every
                           MiB, so the compressed MiB is computed once and
                           repeated: generation is instant, memory tiny)
  xz-bomb.tar.xz           ~0.3 MB: the same tar as one xz stream of 130 blocks
                           (CRC32 check; one 16 MiB LZMA2 block of zeros
                           compressed once and repeated)
  many-members.tar         10,000 empty regular members m/00000 .. m/09999 (~5 MB)
  huge-member.tar.gz       ~0.65 MB: one member "huge" of 640 MiB (671,088,640
                           bytes > 600 MB) of zeros (same gzip technique)
  truncated.tar.gz         a.txt (13 bytes), then b.bin (64 KiB pseudo-random);
                           the .gz is cut at half its length, i.e. in the middle
                           of b.bin's data (checked), no gzip trailer
  truncated.tar            the same tar, cut 32 KiB into b.bin's data
  nested-10.tar.gz         10 nested tar.gz: nested-10.tar.gz holds
                           level02.tar.gz, which holds level03.tar.gz, ...,
                           level10.tar.gz holds innermost.txt ("depth 10")
  whiteout-escape-layer.tar  an image layer (plain tar) with hostile whiteouts:
                           hello.txt (benign), .wh... (whiteout of ".."),
                           etc/.wh... (of "etc/.." = the root),
                           .wh...%2F..%2Fetc (literal %2F: "../../etc" if decoded),
                           ../.wh.passwd (member outside the root),
                           usr/../../../.wh.etc (escapes after normalization),
                           /etc/.wh.shadow (absolute member name),
                           ../.wh..wh..opq (opaque marker for the root's parent)
  whiteout-escape-oci/     minimal OCI layout (oci-layout, index.json,
                           blobs/sha256/*), tag "hostile": layer 1 = etc/passwd,
                           etc/shadow (benign image content "image"), layer 2 =
                           whiteout-escape-layer.tar (gzip)

The manifest printed at the end says what a scanner must do per case.
Everything is written straight into OUTDIR (no temporary files elsewhere);
the two bombs are checked by building small versions with the same code and
decompressing them fully, and by decoding the start of the real ones.  Takes
about 2 seconds and ~8 MB of disk.  Deterministic: reruns give identical
bytes.
"""
import gzip
import hashlib
import io
import json
import lzma
import os
import stat
import struct
import sys
import tarfile
import zipfile
import zlib

EPOCH = 1711670400                      # 2024-03-29 00:00:00 UTC
HOSTILE = b"hostile"
MiB = 1 << 20
GiB = 1 << 30
RECORD = 10240                          # tar record size (20 blocks)


def die(msg):
    sys.stderr.write("make-hostile-archives.py: %s\n" % msg)
    sys.exit(2)


def fail(msg):
    sys.stderr.write("make-hostile-archives.py: internal error: %s\n" % msg)
    sys.exit(1)


# --- tar helpers ---------------------------------------------------------------------------
def tinfo(name, type_=tarfile.REGTYPE, size=0, mode=0o644, linkname="", dev=(0, 0)):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.size = size
    ti.mode = mode
    ti.linkname = linkname
    ti.devmajor, ti.devminor = dev
    ti.mtime = EPOCH
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def write_tar(path, members, fmt=tarfile.USTAR_FORMAT):
    """MEMBERS: (TarInfo, bytes or None).  Names are written verbatim."""
    with open(path, "wb") as f:
        f.write(tar_bytes(members, fmt))


def tar_bytes(members, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def regular(name, data=HOSTILE, mode=0o644):
    return (tinfo(name, mode=mode), data)


def zero_member_tar_parts(name, size):
    """(header, data size, tail size) of a ustar with one SIZE-byte member of zeros."""
    header = tinfo(name, size=size).tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")
    assert len(header) == 512 and size % 512 == 0
    end = 1024
    end += (-(len(header) + size + end)) % RECORD
    return header, size, end


# --- gzip of a long run of zeros ---------------------------------------------------------------
def write_gzip_zero_tar(path, name, size, chunk=MiB):
    """gzip of a ustar with one SIZE-byte member of zeros, as ONE gzip member, in
    constant memory.  After a Z_FULL_FLUSH the deflate state is reset, so
    compressing one CHUNK of zeros gives the same bytes every time: it is
    compressed once (twice, to check) and then repeated.  The CRC32 is computed
    over the real data.  Returns the tar's length."""
    header, size, end = zero_member_tar_parts(name, size)
    # the tail (end-of-archive blocks + record padding) is zeros too
    total = size + end
    body = total - total % chunk
    tail = total - body
    # prefix = header; zeros = body (whole chunks); the tail goes in before Z_FINISH
    zero = bytes(chunk)
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    crc = zlib.crc32(header)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x02\x03")
        f.write(co.compress(header) + co.flush(zlib.Z_FULL_FLUSH))
        c1 = co.compress(zero) + co.flush(zlib.Z_FULL_FLUSH)
        c2 = co.compress(zero) + co.flush(zlib.Z_FULL_FLUSH)
        if c1 != c2:
            fail("deflate output after Z_FULL_FLUSH is not repeatable")
        for _ in range(body // chunk):
            f.write(c1)
            crc = zlib.crc32(zero, crc)
        f.write(co.compress(bytes(tail)) + co.flush(zlib.Z_FINISH))
        crc = zlib.crc32(bytes(tail), crc)
        f.write(struct.pack("<II", crc & 0xffffffff, (len(header) + total) & 0xffffffff))
    return len(header) + total


# --- xz of a long run of zeros ---------------------------------------------------------------------
LZMA2_DICT = 8 * MiB
LZMA2_DICT_PROP = 22                    # (2 | (22 & 1)) << (22 // 2 + 11) = 8 MiB


def vli(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def xz_block(data):
    """One xz Block (header, LZMA2 data, padding, CRC32 check) and its index record."""
    comp = lzma.compress(data, format=lzma.FORMAT_RAW,
                         filters=[{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": LZMA2_DICT}])
    body = b"\x00" + vli(0x21) + vli(1) + bytes([LZMA2_DICT_PROP])   # flags: 1 filter, no sizes
    size = len(body) + 1 + 4
    size += (-size) % 4
    hdr = bytes([size // 4 - 1]) + body
    hdr += bytes(size - 4 - len(hdr))
    hdr += struct.pack("<I", zlib.crc32(hdr))
    block = hdr + comp + bytes((-(len(hdr) + len(comp))) % 4) + struct.pack("<I", zlib.crc32(data))
    unpadded = len(hdr) + len(comp) + 4
    return block, (unpadded, len(data))


def write_xz_blocks(path, parts):
    """PARTS: (bytes, repeat) - an .xz stream of one block per repetition, each part
    compressed once.  Check type CRC32."""
    flags = b"\x00\x01"
    records = []
    with open(path, "wb") as f:
        f.write(b"\xfd7zXZ\x00" + flags + struct.pack("<I", zlib.crc32(flags)))
        for data, repeat in parts:
            block, rec = xz_block(data)
            for _ in range(repeat):
                f.write(block)
                records.append(rec)
        index = bytearray(b"\x00" + vli(len(records)))
        for unpadded, usize in records:
            index += vli(unpadded) + vli(usize)
        index += bytes((-len(index)) % 4)
        index += struct.pack("<I", zlib.crc32(bytes(index)))
        f.write(index)
        backward = struct.pack("<I", len(index) // 4 - 1) + flags
        f.write(struct.pack("<I", zlib.crc32(backward)) + backward + b"YZ")


def write_xz_zero_tar(path, name, size, chunk=16 * MiB):
    header, size, end = zero_member_tar_parts(name, size)
    assert size % chunk == 0
    write_xz_blocks(path, [(header, 1), (bytes(chunk), size // chunk), (bytes(end), 1)])
    return len(header) + size + end


def self_test_bombs(out):
    """Build small bombs with the same code and decompress them fully."""
    p = os.path.join(out, ".selftest")
    try:
        n = write_gzip_zero_tar(p, "zeros", 3 * 65536 + 512, chunk=65536)
        raw = gzip.decompress(open(p, "rb").read())
        if len(raw) != n or raw[512:] != bytes(n - 512):
            fail("gzip self-test: wrong content")
        ti = tarfile.open(fileobj=io.BytesIO(raw)).getmembers()
        if [(m.name, m.size) for m in ti] != [("zeros", 3 * 65536 + 512)]:
            fail("gzip self-test: wrong members")
        n = write_xz_zero_tar(p, "zeros", 3 * 65536, chunk=65536)
        raw = lzma.decompress(open(p, "rb").read(), format=lzma.FORMAT_XZ)
        if len(raw) != n or raw[512:] != bytes(n - 512):
            fail("xz self-test: wrong content")
        ti = tarfile.open(fileobj=io.BytesIO(raw)).getmembers()
        if [(m.name, m.size) for m in ti] != [("zeros", 3 * 65536)]:
            fail("xz self-test: wrong members")
    finally:
        if os.path.exists(p):
            os.unlink(p)


def check_start(path, kind, name, size):
    """Decode the first KiB of a bomb: a tar header for NAME of SIZE bytes."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if kind == "gz":
        raw = zlib.decompressobj(31).decompress(head, 1024)
    else:
        raw = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(head, 1024)
    ti = tarfile.TarInfo.frombuf(raw[:512], "utf-8", "surrogateescape")
    if (ti.name, ti.size) != (name, size) or raw[512:1024] != bytes(512):
        fail("%s: unexpected start" % path)


# --- deterministic filler ---------------------------------------------------------------------------
def pseudo_random(n, seed):
    out = bytearray()
    h = seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


# --- OCI layout ----------------------------------------------------------------------------------------
def write_oci(layout, tag, layer_tars):
    os.makedirs(os.path.join(layout, "blobs", "sha256"))

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + d, "size": len(data)}

    layers, diff_ids = [], []
    for raw in layer_tars:
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        layers.append(dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **blob(gz(raw))))
    created = "2024-03-29T00:00:00Z"
    config = {"created": created, "architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": created, "created_by": "make-hostile-archives.py"}] * len(layers)}
    cfg = dict(mediaType="application/vnd.oci.image.config.v1+json",
               **blob(json.dumps(config, separators=(",", ":")).encode()))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg, "layers": layers}
    m = blob(json.dumps(manifest, separators=(",", ":")).encode())
    index = {"schemaVersion": 2, "manifests": [dict(
        mediaType="application/vnd.oci.image.manifest.v1+json",
        annotations={"org.opencontainers.image.ref.name": tag}, **m)]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f, separators=(",", ":"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return m["digest"]


# --- zip helpers ---------------------------------------------------------------------------------------
def write_zip(path, entries):
    """ENTRIES: (name, data, mode).  Names written verbatim."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            zi = zipfile.ZipInfo(name, date_time=(2024, 3, 29, 0, 0, 0))
            zi.create_system = 3                        # Unix: external_attr holds st_mode
            zi.external_attr = mode << 16
            zi.compress_type = zipfile.ZIP_STORED if stat.S_ISLNK(mode) else zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    names = zipfile.ZipFile(path).namelist()
    if names != [e[0] for e in entries]:
        fail("%s: zipfile rewrote names: %r" % (path, names))


# --- main ------------------------------------------------------------------------------------------------
def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        if len(argv) == 2 and argv[1] in ("-h", "--help"):
            print(__doc__)
            return 0
        sys.stderr.write(__doc__.split("\n\n")[2] + "\n")
        return 2
    out = argv[1]
    if os.path.lexists(out):
        if not os.path.isdir(out) or os.path.islink(out):
            die("OUTDIR exists and is not a directory: %s" % out)
        if os.listdir(out):
            die("OUTDIR is not empty (refusing to overwrite): %s" % out)
    os.makedirs(out, exist_ok=True)
    P = lambda name: os.path.join(out, name)
    manifest = []

    def case(name, file, must):
        manifest.append((name, file, must))

    # path traversal
    write_tar(P("traversal.tar"), [regular("../../etc/passwd"), regular("/etc/shadow")])
    write_zip(P("traversal.zip"), [("../../etc/passwd", HOSTILE, 0o100644),
                                   ("/etc/shadow", HOSTILE, 0o100644)])
    case("path traversal", "traversal.tar, traversal.zip",
         "skip (or strip to a contained name) + note; never write/read /etc/passwd, /etc/shadow")

    # symlinks
    write_tar(P("symlink-abs.tar"), [
        (tinfo("passwd-link", tarfile.SYMTYPE, mode=0o777, linkname="/etc/passwd"), None),
        regular("passwd-link")])
    case("absolute symlink + write through it", "symlink-abs.tar",
         "record/skip the link, never follow it: not reading host /etc/passwd, not writing it")
    write_tar(P("symlink-dir.tar"), [
        (tinfo("link", tarfile.SYMTYPE, mode=0o777, linkname="../../../etc"), None),
        regular("link/evil")])
    write_zip(P("symlink-dir.zip"), [("link", b"../../../etc", 0o120777),
                                     ("link/evil", HOSTILE, 0o100644)])
    case("relative symlink escaping + member through it", "symlink-dir.tar, symlink-dir.zip",
         "never resolve link/evil through the link; nothing created in ../../../etc; note")

    # hard links
    write_tar(P("hardlink.tar"), [
        (tinfo("shadow-hard", tarfile.LNKTYPE, linkname="/etc/shadow"), None),
        (tinfo("passwd-hard", tarfile.LNKTYPE, linkname="../../etc/passwd"), None),
        regular("shadow-hard")])
    case("hard links to host files", "hardlink.tar",
         "never link()/open the targets: no read of /etc/shadow as member data, no write to it; note")

    # devices, FIFO, setuid
    write_tar(P("chardev.tar"), [
        (tinfo("dev/mem", tarfile.CHRTYPE, mode=0o640, dev=(1, 1)), None),
        (tinfo("dev/zero", tarfile.CHRTYPE, mode=0o666, dev=(1, 5)), None)])
    case("character devices", "chardev.tar", "never mknod or open; skip + note (no endless /dev/zero read)")
    write_tar(P("blockdev.tar"), [(tinfo("dev/sda", tarfile.BLKTYPE, mode=0o660, dev=(8, 0)), None)])
    case("block device", "blockdev.tar", "never mknod or open; skip + note")
    write_tar(P("fifo.tar"), [(tinfo("pipe", tarfile.FIFOTYPE, mode=0o644), None)])
    case("FIFO", "fifo.tar", "never mkfifo or open (would block); skip + note")
    script = b"#!/bin/sh\necho hostile\n"
    write_tar(P("setuid.tar"), [regular("usr/bin/evil", script, 0o4755),
                                regular("usr/bin/evil-sgid", script, 0o2755)])
    case("setuid/setgid root executables", "setuid.tar",
         "scan content only; never create a setuid/setgid file or execute it")

    # bombs
    self_test_bombs(out)
    write_gzip_zero_tar(P("gzip-bomb.tar.gz"), "zeros", 2 * GiB)
    check_start(P("gzip-bomb.tar.gz"), "gz", "zeros", 2 * GiB)
    case("gzip bomb (2 GiB from ~2 MB)", "gzip-bomb.tar.gz",
         "stop at the input's expansion budget (one for every nesting level), skip naming the member; "
         "bounded memory and time")
    write_xz_zero_tar(P("xz-bomb.tar.xz"), "zeros", 2 * GiB)
    check_start(P("xz-bomb.tar.xz"), "xz", "zeros", 2 * GiB)
    case("xz bomb (2 GiB from ~0.3 MB)", "xz-bomb.tar.xz",
         "stop at the input's expansion budget (one for every nesting level), skip naming the member; "
         "bounded memory and time")
    write_tar(P("many-members.tar"), [(tinfo("m/%05d" % i), b"") for i in range(10000)])
    case("10,000 members", "many-members.tar", "stop at the member-count limit (or finish fast), note it")
    write_gzip_zero_tar(P("huge-member.tar.gz"), "huge", 640 * MiB)
    check_start(P("huge-member.tar.gz"), "gz", "huge", 640 * MiB)
    case("one 640 MiB member", "huge-member.tar.gz",
         "stream it (hash and search as it passes), never buffer it whole; past the file read limit is no "
         "reason to skip it: the expansion budget of the input bounds it")

    # truncation
    b_data = pseudo_random(64 * 1024, "chainwatch-truncated")
    whole = tar_bytes([regular("a.txt", b"first member\n"), regular("b.bin", b_data)])
    b_start, b_end = 3 * 512, 3 * 512 + len(b_data)          # a hdr, a data, b hdr
    if whole[b_start:b_end] != b_data:
        fail("truncated: unexpected tar layout")
    zipped = gz(whole)
    cut = zipped[:len(zipped) // 2]
    got = len(zlib.decompressobj(31).decompress(cut))
    if not b_start < got < b_end:
        fail("truncated.tar.gz: cut decodes to %d bytes, not inside b.bin (%d..%d)" % (got, b_start, b_end))
    with open(P("truncated.tar.gz"), "wb") as f:
        f.write(cut)
    with open(P("truncated.tar"), "wb") as f:
        f.write(whole[:b_start + 32 * 1024])
    case("truncated archives", "truncated.tar.gz, truncated.tar",
         "report a.txt (scanned), note the truncation error in b.bin; no crash, no hang")

    # nesting
    inner = gz(tar_bytes([regular("innermost.txt", b"depth 10: the innermost member\n")]))
    for level in range(9, 0, -1):                             # level10 holds innermost.txt
        inner = gz(tar_bytes([regular("level%02d.tar.gz" % (level + 1), inner)]))
    with open(P("nested-10.tar.gz"), "wb") as f:
        f.write(inner)
    case("10 nested tar.gz", "nested-10.tar.gz",
         "stop at the nesting-depth limit, note it (innermost.txt is at depth 10)")

    # image whiteouts
    layer = tar_bytes([
        regular("hello.txt", b"benign file in the hostile layer\n"),
        regular(".wh...", b""),
        regular("etc/.wh...", b""),
        regular(".wh...%2F..%2Fetc", b""),
        regular("../.wh.passwd", b""),
        regular("usr/../../../.wh.etc", b""),
        regular("/etc/.wh.shadow", b""),
        regular("../.wh..wh..opq", b""),
    ], tarfile.PAX_FORMAT)
    with open(P("whiteout-escape-layer.tar"), "wb") as f:
        f.write(layer)
    base = tar_bytes([(tinfo("etc/", tarfile.DIRTYPE, mode=0o755), None),
                      regular("etc/passwd", b"root:x:0:0:image:/root:/bin/sh\n"),
                      regular("etc/shadow", b"image\n", 0o640)], tarfile.PAX_FORMAT)
    digest = write_oci(P("whiteout-escape-oci"), "hostile", [base, layer])
    case("hostile whiteouts in a layer", "whiteout-escape-layer.tar, whiteout-escape-oci/ (tag hostile)",
         "apply whiteouts only inside the image root: skip+note .wh... names, ../ and %2F tricks; "
         "/etc/.wh.shadow may remove only the IMAGE's etc/shadow; never delete or read host files; "
         "the image keeps etc/passwd and hello.txt")

    # verify what tarfile wrote: names verbatim
    with tarfile.open(P("hardlink.tar")) as t:
        if [(m.name, m.linkname) for m in t.getmembers()] != [
                ("shadow-hard", "/etc/shadow"), ("passwd-hard", "../../etc/passwd"), ("shadow-hard", "")]:
            fail("hardlink.tar: link names rewritten")
    for name, want in (("traversal.tar", ["../../etc/passwd", "/etc/shadow"]),
                       ("whiteout-escape-layer.tar", ["hello.txt", ".wh...", "etc/.wh...",
                        ".wh...%2F..%2Fetc", "../.wh.passwd", "usr/../../../.wh.etc",
                        "/etc/.wh.shadow", "../.wh..wh..opq"])):
        with tarfile.open(P(name)) as t:
            if t.getnames() != want:
                fail("%s: names %r" % (name, t.getnames()))

    print("make-hostile-archives.py: built in %s (OCI manifest %s)" % (os.path.abspath(out), digest))
    print("case -> file -> what a scanner must do (never write or read outside its scratch space)")
    for name, file, must in manifest:
        print("  %s\n      -> %s\n      -> %s" % (name, file, must))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:             # e.g. `--help | head`
        sys.exit(0)
