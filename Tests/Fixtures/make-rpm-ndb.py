#!/usr/bin/env python3
"""make-rpm-ndb.py - write (and read back) an rpm "ndb" package database, Packages.db.

Why this exists: SUSE / openSUSE (rpm >= 4.16 built with --enable-ndb) keep the
installed-package database in /usr/lib/sysimage/rpm/Packages.db, in rpm's own
"ndb" format, not in rpmdb.sqlite.  chainwatch reads that file with its own
bounds-checked reader, and its tests need such files.  Debian 12's rpm 4.18 is
built without the ndb backend (`rpm --showrc`: "available backends: sqlite
bdb_ro dummy"), so nothing on the test machines can write one.  This script
writes one from the header blobs of an rpmdb.sqlite (as made by
make-rpmdb.sh, which rpm itself wrote), byte for byte in the layout rpm's
lib/backend/ndb/rpmpkg.c produces, including its adler32 checksums, so that
rpm's own ndb reader accepts it.  It can also write deliberately broken files
for bad-input tests, and it contains a small independent reader (--verify,
--check) that reads the file back and compares every header with the input.
The format is described in formats/rpm-ndb.md beside this file.  Python 3
standard library only; deterministic output (no timestamps).

Usage:
  make-rpm-ndb.py OUT.db [--from-sqlite DB] [--corrupt KIND] [--verify]
                  [--slot-pages N] [--gaps]
      write OUT.db.  DB is an rpmdb.sqlite file, or a root directory holding
      var/lib/rpm/rpmdb.sqlite or usr/lib/sysimage/rpm/rpmdb.sqlite (table
      Packages(hnum, blob)); each row becomes one package with package index
      = hnum and blob = the rpm header blob, unchanged.  Without --from-sqlite
      the database is empty (one slot page, no package), as `rpm --initdb`
      leaves it.
  make-rpm-ndb.py --check IN.db [--from-sqlite DB] [--strict-rpm]
      read an existing Packages.db (one this script wrote, or one rpm wrote)
      with the independent reader and list its packages; with --from-sqlite
      also check that it holds exactly the headers of DB.  Exit 1 if the
      reader rejects the file or the headers differ.
  make-rpm-ndb.py --list-corruptions
      print the --corrupt kinds with what each does.

Options:
  --verify         after writing, read OUT.db back with the independent reader:
                   for a good file every header must equal the input; for a
                   --corrupt file the reader must reject it with the expected
                   error (or, for bad-rpm-header, accept the ndb layer and
                   reject the rpm header).  Exit 1 otherwise.
  --slot-pages N   use N slot pages (default: as few as hold every package,
                   ceil((npkgs + 2) / 256), at least 1).  rpm adds a page when
                   its slots run out, so real files with > 254 packages have
                   2 or more; use e.g. --slot-pages 3 to get that with few
                   packages.
  --gaps           lay the file out as it looks after installs and erases:
                   every other slot is left empty (empty slots between used
                   ones), the blobs are stored in the reverse of the slot order
                   and a zeroed free gap of 4 blocks lies between blobs.  rpm
                   reads that the same; a reader must not assume slots are
                   contiguous or blobs are in slot order.
  --strict-rpm     (--check) accept exactly what rpm 4.18's rpmpkgGet accepts:
                   do not verify adler32 (rpm only does in rpmdb --verifydb)
                   and do not reject overlapping blobs.

Exit status: 0 ok, 1 verification/check failed, 2 usage or input error.

--corrupt KIND (every kind starts from the good file; "first package" is the
one in the lowest-numbered used slot, "last blob" the one ending the file;
blob kinds need at least one package):
  truncated            cut the file in the middle of the last blob, at a size
                       that is not a multiple of 16.  rpm: ReadSlots fails
                       (st_size % BLK_SIZE), nothing is listed.
  truncated-aligned    same, but cut at a multiple of 16, so only the slot's
                       blkoff+blkcnt > file blocks check catches it (rpm: whole
                       database fails, "truncated database").
  short-header         file is only 20 bytes: the 32-byte header is incomplete.
  slot-past-end        the first package's slot points past the end of the file
                       (blkoff = file blocks + 16).  rpm: whole database fails.
  blob-len-past-end    the first blob's header claims bloblen = 0x7ffffff0
                       (runs far past the end of the file); slot unchanged.
                       rpm: that package fails (blkcnt != blocks for bloblen).
  bad-blob-magic       the first blob's header magic 'BlbS' becomes 'BlbX'.
                       rpm: that package fails.
  bad-checksum         the first blob's trailer adler32 is off by one; data
                       intact.  NOTE rpm 4.18's rpmpkgGet does not verify
                       adler32 (only rpmpkgVerify, i.e. rpmdb --verifydb, and
                       blob moves do), so `rpm -qa` still lists it.
  slot-pages-large     header slot page count = file pages + 8 (slot area
                       larger than the file).  rpm: pread of a page fails.
  slot-pages-huge      header slot page count = 0x00ffffff (just under rpm's
                       PKGDB_MAX_SLOTNPAGES): a reader that allocates
                       slotnpages * 256 entries before checking the file size
                       is a memory bomb.
  bad-header-magic     'RpmP' becomes 'RpmQ'.
  bad-version          header version = 1 (rpm only knows 0).
  bad-slot-magic       the first package's slot magic 'Slot' becomes 'SlOt'.
                       rpm: whole database fails.
  zero-pkgidx          the first package's slot keeps blkoff/blkcnt but gets
                       package index 0.  rpm: whole database fails (bad entry).
  slot-in-slot-area    the first package's slot blkoff points into the slot
                       pages (blkoff = 4).  rpm: whole database fails.
  pkgidx-mismatch      the first blob's header names another package index
                       (+1000).  rpm: that package fails.
  blkcnt-mismatch      the last blob's slot blkcnt is one more than the blob
                       needs (one zero block appended so it stays inside the
                       file).  rpm: that package fails.
  tail-len-mismatch    the first blob's trailer length differs from its header
                       length (+1).  rpm: that package fails.
  bad-tail-magic       the first blob's trailer magic 'BlbE' becomes 'BlbX'.
                       rpm: that package fails.
  overlap              (needs 2 packages) the second package's slot points at
                       the first package's blocks (same blkoff/blkcnt).  rpm's
                       reader fails that package (pkgidx mismatch); a strict
                       reader also reports the overlap.
  duplicate-slot       (needs 2 packages) the second package's slot becomes a
                       copy of the first's: two slots, same package index and
                       blocks; the second package is gone.  A strict reader
                       reports the duplicate index.
  not-aligned          3 zero bytes appended to the good file.  rpm: ReadSlots
                       fails (st_size % 16).
  slot-offset-wrap     the first package's slot: blkoff 0xfffffff0, blkcnt 0x20;
                       blkoff + blkcnt wraps to 0x10 in 32-bit arithmetic, so
                       a reader adding u32s (as rpm 4.18's rpmpkgReadSlots
                       does) passes the "inside the file" check.  In Swift,
                       UInt32 + traps: widen before adding.
  blob-len-wrap        the first package: slot blkcnt 2, blob header bloblen
                       0xfffffff8, and a matching trailer (adler32 right, len
                       0xfffffff8, 'BlbE') at the end of those 2 blocks.  In
                       32-bit arithmetic (16 + bloblen + 12 + 15) / 16 wraps
                       to 2, so rpm 4.18's rpmpkgReadBlob accepts it and
                       returns a 4 GiB length for a 32-byte buffer.  Must be
                       rejected (blocks needed for bloblen != blkcnt).
  bad-rpm-header       the ndb layer is valid (checksum recomputed) but the
                       first blob is not an rpm header: its index count il is
                       0xffffffff.  Tests the header parser's bounds checks.
"""

import argparse
import os
import sqlite3
import struct
import sys
import zlib

# ---- format constants (lib/backend/ndb/rpmpkg.c, rpm 4.16..4.19) ----
PAGE_SIZE = 4096
SLOT_SIZE = 16
BLK_SIZE = 16
HEADER_SIZE = 32                      # PKGDB_HEADER_SIZE: occupies slots 0 and 1
SLOT_START = HEADER_SIZE // SLOT_SIZE  # 2
SLOTS_PER_PAGE = PAGE_SIZE // SLOT_SIZE  # 256
BLKS_PER_PAGE = PAGE_SIZE // BLK_SIZE    # 256
BLOBHEAD_SIZE = 16
BLOBTAIL_SIZE = 12
MAGIC_DB = b"RpmP"    # le32 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24 == bytes "RpmP"
MAGIC_SLOT = b"Slot"
MAGIC_HEAD = b"BlbS"
MAGIC_TAIL = b"BlbE"
DB_VERSION = 0
MAX_SLOTNPAGES = 0xFFFFFFFF // (PAGE_SIZE // min(SLOT_SIZE, BLK_SIZE))  # 16777215

CORRUPTIONS = [
    "truncated", "truncated-aligned", "short-header", "slot-past-end",
    "blob-len-past-end", "bad-blob-magic", "bad-checksum", "slot-pages-large",
    "slot-pages-huge", "bad-header-magic", "bad-version", "bad-slot-magic",
    "zero-pkgidx", "slot-in-slot-area", "pkgidx-mismatch", "blkcnt-mismatch",
    "tail-len-mismatch", "bad-tail-magic", "overlap", "duplicate-slot", "not-aligned",
    "slot-offset-wrap", "blob-len-wrap",
    "bad-rpm-header",
]

# error code the independent reader must raise for each kind (see --verify)
EXPECTED_ERROR = {
    "truncated": "not-aligned",
    "truncated-aligned": "slot-past-end",
    "short-header": "short-header",
    "slot-past-end": "slot-past-end",
    "blob-len-past-end": "blob-len",
    "bad-blob-magic": "bad-blob-magic",
    "bad-checksum": "bad-checksum",
    "slot-pages-large": "slot-pages",
    "slot-pages-huge": "slot-pages",
    "bad-header-magic": "bad-header-magic",
    "bad-version": "bad-version",
    "bad-slot-magic": "bad-slot-magic",
    "zero-pkgidx": "bad-slot",
    "slot-in-slot-area": "bad-slot",
    "pkgidx-mismatch": "blob-pkgidx",
    "blkcnt-mismatch": "blob-len",
    "tail-len-mismatch": "tail-len",
    "bad-tail-magic": "bad-tail-magic",
    "overlap": "overlap",
    "duplicate-slot": "duplicate",
    "not-aligned": "not-aligned",
    "slot-offset-wrap": "slot-past-end",
    "blob-len-wrap": "blob-len",
    "bad-rpm-header": None,   # ndb layer fine; rpm header check must fail
}


def die(msg, code=2):
    print("make-rpm-ndb.py: " + msg, file=sys.stderr)
    sys.exit(code)


# ======================================================================
# Writer
# ======================================================================

def adler32_rfc1950(data, adler=1):
    """Adler-32 as in RFC 1950 (rpmpkg.c update_adler32); kept separate from
    zlib.adler32, which the reader uses, so the two cross-check each other."""
    s1 = adler & 0xFFFF
    s2 = (adler >> 16) & 0xFFFF
    mv = memoryview(data)
    for start in range(0, len(mv), 5552):
        for b in mv[start:start + 5552]:
            s1 += b
            s2 += s1
        s1 %= 65521
        s2 %= 65521
    return (s2 << 16) | s1


def blob_blocks(bloblen):
    return (BLOBHEAD_SIZE + bloblen + BLOBTAIL_SIZE + BLK_SIZE - 1) // BLK_SIZE


def encode_blob(pkgidx, generation, blob):
    """One blob area: head, blob, zero pad, tail; exactly blob_blocks() * 16 bytes."""
    nblk = blob_blocks(len(blob))
    head = MAGIC_HEAD + struct.pack("<III", pkgidx, generation, len(blob))
    pad = b"\0" * (nblk * BLK_SIZE - (BLOBHEAD_SIZE + len(blob) + BLOBTAIL_SIZE))
    body = head + bytes(blob) + pad
    tail = struct.pack("<II", adler32_rfc1950(body), len(blob)) + MAGIC_TAIL
    out = body + tail
    assert len(out) == nblk * BLK_SIZE
    return out


def build_db(pkgs, slot_pages=None, gaps=False):
    """pkgs: list of (pkgidx, blob) in insertion order.
    Returns (bytearray image, layout) where layout is a list of dicts
    {pkgidx, slotno, blkoff, blkcnt} in slot order."""
    n = len(pkgs)
    idxs = [p for p, _ in pkgs]
    if len(set(idxs)) != n:
        die("duplicate package index in input")
    if any(not (0 < p <= 0xFFFFFFFF) for p in idxs):
        die("package index out of range 1..2^32-1")
    slots_needed = n * 2 if gaps else n          # with gaps: every other slot empty
    need_pages = max(1, -(-(slots_needed + SLOT_START) // SLOTS_PER_PAGE))
    if slot_pages is None:
        slot_pages = need_pages
    elif slot_pages < need_pages:
        die("--slot-pages %d too small for %d packages (need %d)" % (slot_pages, n, need_pages))

    # slot numbers: global 16-byte index from the file start; 0 and 1 are the header
    slotnos = [SLOT_START + (2 * i if gaps else i) for i in range(n)]

    # blob placement, in blocks; first block after the slot pages
    blkoff = slot_pages * BLKS_PER_PAGE
    order = list(range(n))
    if gaps:
        order.reverse()
    place = {}
    for i in order:
        cnt = blob_blocks(len(pkgs[i][1]))
        place[i] = (blkoff, cnt)
        blkoff += cnt + (4 if gaps else 0)
    if gaps and n:
        blkoff -= 4          # no trailing gap: the file ends with the last blob
    file_blks = blkoff
    if file_blks > 0xFFFFFFFE:
        die("database too large for 32-bit block offsets")

    img = bytearray(file_blks * BLK_SIZE)
    # generation as rpm counts it for a fresh database: rpmpkgInit bumps it to 1,
    # every rpmpkgPut's slot write bumps it once more; each blob header records
    # the generation current when it was written (before its slot write).
    generation = 1 + n
    nextpkgidx = (max(idxs) + 1) if n else 1
    struct.pack_into("<4sIIII", img, 0, MAGIC_DB, DB_VERSION, generation, slot_pages, nextpkgidx)
    # empty slots everywhere after the header: magic, zeros
    for slotno in range(SLOT_START, slot_pages * SLOTS_PER_PAGE):
        img[slotno * SLOT_SIZE:slotno * SLOT_SIZE + 4] = MAGIC_SLOT
    layout = []
    for i, (pkgidx, blob) in enumerate(pkgs):
        off, cnt = place[i]
        struct.pack_into("<4sIII", img, slotnos[i] * SLOT_SIZE, MAGIC_SLOT, pkgidx, off, cnt)
        data = encode_blob(pkgidx, 1 + i, blob)
        img[off * BLK_SIZE:(off + cnt) * BLK_SIZE] = data
        layout.append({"pkgidx": pkgidx, "slotno": slotnos[i], "blkoff": off, "blkcnt": cnt})
    return img, layout


def corrupt(img, layout, kind):
    """Apply one corruption to a good image; returns the new bytes."""
    img = bytearray(img)
    need = 2 if kind in ("overlap", "duplicate-slot") else (1 if kind not in (
        "short-header", "slot-pages-large", "slot-pages-huge", "bad-header-magic",
        "bad-version", "not-aligned") else 0)
    if len(layout) < need:
        die("--corrupt %s needs at least %d package(s)" % (kind, need))
    first = layout[0] if layout else None
    last = max(layout, key=lambda s: s["blkoff"]) if layout else None

    def slot_at(s):
        return s["slotno"] * SLOT_SIZE

    def blob_at(s):
        return s["blkoff"] * BLK_SIZE

    def tail_at(s):
        return (s["blkoff"] + s["blkcnt"]) * BLK_SIZE - BLOBTAIL_SIZE

    if kind in ("truncated", "truncated-aligned"):
        start = blob_at(last)
        mid = start + (last["blkcnt"] * BLK_SIZE) // 2
        mid -= mid % BLK_SIZE
        if mid <= start:
            mid = start + BLK_SIZE
        if kind == "truncated":
            mid += 5
        del img[mid:]
    elif kind == "short-header":
        del img[20:]
    elif kind == "slot-past-end":
        struct.pack_into("<I", img, slot_at(first) + 8, len(img) // BLK_SIZE + 16)
    elif kind == "blob-len-past-end":
        struct.pack_into("<I", img, blob_at(first) + 12, 0x7FFFFFF0)
    elif kind == "bad-blob-magic":
        img[blob_at(first):blob_at(first) + 4] = b"BlbX"
    elif kind == "bad-checksum":
        (adl,) = struct.unpack_from("<I", img, tail_at(first))
        struct.pack_into("<I", img, tail_at(first), (adl + 1) & 0xFFFFFFFF)
    elif kind == "slot-pages-large":
        struct.pack_into("<I", img, 12, len(img) // PAGE_SIZE + 8)
    elif kind == "slot-pages-huge":
        struct.pack_into("<I", img, 12, 0x00FFFFFF)
    elif kind == "bad-header-magic":
        img[0:4] = b"RpmQ"
    elif kind == "bad-version":
        struct.pack_into("<I", img, 4, 1)
    elif kind == "bad-slot-magic":
        img[slot_at(first):slot_at(first) + 4] = b"SlOt"
    elif kind == "zero-pkgidx":
        struct.pack_into("<I", img, slot_at(first) + 4, 0)
    elif kind == "slot-in-slot-area":
        struct.pack_into("<I", img, slot_at(first) + 8, 4)
    elif kind == "pkgidx-mismatch":
        struct.pack_into("<I", img, blob_at(first) + 4, (first["pkgidx"] + 1000) & 0xFFFFFFFF)
    elif kind == "blkcnt-mismatch":
        # the last blob, so the longer range overlaps no other blob; one zero
        # block is appended so that the range stays inside the file
        struct.pack_into("<I", img, slot_at(last) + 12, last["blkcnt"] + 1)
        img += b"\0" * BLK_SIZE
    elif kind == "tail-len-mismatch":
        (ln,) = struct.unpack_from("<I", img, tail_at(first) + 4)
        struct.pack_into("<I", img, tail_at(first) + 4, ln + 1)
    elif kind == "bad-tail-magic":
        img[tail_at(first) + 8:tail_at(first) + 12] = b"BlbX"
    elif kind == "overlap":
        second = layout[1]
        struct.pack_into("<II", img, slot_at(second) + 8, first["blkoff"], first["blkcnt"])
    elif kind == "slot-offset-wrap":
        struct.pack_into("<II", img, slot_at(first) + 8, 0xFFFFFFF0, 0x20)
    elif kind == "blob-len-wrap":
        b = blob_at(first)
        struct.pack_into("<I", img, slot_at(first) + 12, 2)
        struct.pack_into("<I", img, b + 12, 0xFFFFFFF8)
        end = b + 2 * BLK_SIZE - BLOBTAIL_SIZE
        struct.pack_into("<II", img, end, adler32_rfc1950(img[b:end]), 0xFFFFFFF8)
        img[end + 8:end + 12] = MAGIC_TAIL
    elif kind == "duplicate-slot":
        second = layout[1]
        img[slot_at(second):slot_at(second) + SLOT_SIZE] = img[slot_at(first):slot_at(first) + SLOT_SIZE]
    elif kind == "not-aligned":
        img += b"\0\0\0"
    elif kind == "bad-rpm-header":
        b = blob_at(first)
        struct.pack_into(">I", img, b + BLOBHEAD_SIZE, 0xFFFFFFFF)
        end = tail_at(first)
        struct.pack_into("<I", img, end, adler32_rfc1950(img[b:end]))
    else:
        die("unknown --corrupt kind %r (see --list-corruptions)" % kind)
    return bytes(img)


# ======================================================================
# Independent reader (does not share code with the writer above)
# ======================================================================

class NdbError(Exception):
    def __init__(self, code, msg):
        Exception.__init__(self, "%s: %s" % (code, msg))
        self.code = code


def read_ndb(data, strict_rpm=False):
    """Parse a Packages.db image.  Returns (info, pkgs); pkgs is a list of
    (pkgidx, blob bytes, slotno, blkoff) in slot order.  Raises NdbError.
    Checks everything rpm 4.18's rpmpkgReadHeader / rpmpkgReadSlots /
    rpmpkgReadBlob check, plus (unless strict_rpm) adler32, overlapping blobs
    and duplicate package indexes."""
    size = len(data)
    u32 = lambda off: int.from_bytes(data[off:off + 4], "little")
    if size < HEADER_SIZE:
        raise NdbError("short-header", "file is %d bytes, header needs %d" % (size, HEADER_SIZE))
    if data[0:4] != b"RpmP":
        raise NdbError("bad-header-magic", "magic %r" % bytes(data[0:4]))
    version, generation, slotnpages, nextpkgidx = u32(4), u32(8), u32(12), u32(16)
    if version != 0:
        raise NdbError("bad-version", "version %d" % version)
    if size % 16:
        raise NdbError("not-aligned", "file size %d is not a multiple of 16" % size)
    fileblks = size // 16
    # compare before multiplying: slotnpages is untrusted (up to 2^32-1)
    if slotnpages == 0 or slotnpages > MAX_SLOTNPAGES or slotnpages > size // 4096:
        raise NdbError("slot-pages", "%d slot pages, file has %d whole pages" % (slotnpages, size // 4096))
    minblkoff = slotnpages * 256
    slots = []
    for slotno in range(2, slotnpages * 256):
        o = slotno * 16
        if data[o:o + 4] != b"Slot":
            raise NdbError("bad-slot-magic", "slot %d magic %r" % (slotno, bytes(data[o:o + 4])))
        pkgidx, blkoff, blkcnt = u32(o + 4), u32(o + 8), u32(o + 12)
        if blkoff == 0:          # rpm: empty slot is blkoff == 0 (pkgidx ignored)
            continue
        if blkoff + blkcnt > fileblks:
            raise NdbError("slot-past-end", "slot %d: blocks %d+%d > file %d blocks" % (slotno, blkoff, blkcnt, fileblks))
        if pkgidx == 0 or blkcnt == 0 or blkoff < minblkoff:
            raise NdbError("bad-slot", "slot %d: pkgidx %d blkoff %d blkcnt %d (min blkoff %d)" % (slotno, pkgidx, blkoff, blkcnt, minblkoff))
        slots.append((slotno, pkgidx, blkoff, blkcnt))
    if not strict_rpm:
        seen = {}
        for slotno, pkgidx, _, _ in slots:
            if pkgidx in seen:
                raise NdbError("duplicate", "package index %d in slots %d and %d" % (pkgidx, seen[pkgidx], slotno))
            seen[pkgidx] = slotno
        last_end, last_slot = minblkoff, None
        for slotno, pkgidx, blkoff, blkcnt in sorted(slots, key=lambda s: s[2]):
            if blkoff < last_end:
                raise NdbError("overlap", "slot %d (blocks %d..%d) overlaps slot %s" % (slotno, blkoff, blkoff + blkcnt, last_slot))
            last_end, last_slot = blkoff + blkcnt, slotno
    pkgs = []
    for slotno, pkgidx, blkoff, blkcnt in slots:
        start, end = blkoff * 16, (blkoff + blkcnt) * 16     # end <= size (checked)
        if blkcnt < (16 + 12 + 15) // 16:
            raise NdbError("blob-len", "package %d: %d blocks cannot hold head and tail" % (pkgidx, blkcnt))
        if data[start:start + 4] != b"BlbS":
            raise NdbError("bad-blob-magic", "package %d at block %d: magic %r" % (pkgidx, blkoff, bytes(data[start:start + 4])))
        if u32(start + 4) != pkgidx:
            raise NdbError("blob-pkgidx", "slot %d says package %d, blob says %d" % (slotno, pkgidx, u32(start + 4)))
        bloblen = u32(start + 12)
        if (16 + bloblen + 12 + 15) // 16 != blkcnt:
            raise NdbError("blob-len", "package %d: bloblen %d needs %d blocks, slot has %d" % (pkgidx, bloblen, (16 + bloblen + 12 + 15) // 16, blkcnt))
        tail = end - 12
        if not strict_rpm:
            adl = zlib.adler32(data[start:tail])
            if adl != u32(tail):
                raise NdbError("bad-checksum", "package %d: adler32 %08x, stored %08x" % (pkgidx, adl, u32(tail)))
        if u32(tail + 4) != bloblen:
            raise NdbError("tail-len", "package %d: tail length %d, head length %d" % (pkgidx, u32(tail + 4), bloblen))
        if data[tail + 8:tail + 12] != b"BlbE":
            raise NdbError("bad-tail-magic", "package %d: tail magic %r" % (pkgidx, bytes(data[tail + 8:tail + 12])))
        pkgs.append((pkgidx, bytes(data[start + 16:start + 16 + bloblen]), slotno, blkoff))
    info = {"generation": generation, "slotnpages": slotnpages, "nextpkgidx": nextpkgidx,
            "fileblks": fileblks}
    return info, pkgs


def header_nvr(blob):
    """Minimal bounds-checked rpm header look-up: returns 'name-version-release'
    or raises ValueError.  Header blob: il (be32), dl (be32), il 16-byte index
    entries (tag, type, offset, count; be32), then dl bytes of data."""
    if len(blob) < 8:
        raise ValueError("header shorter than 8 bytes")
    il, dl = struct.unpack_from(">II", blob, 0)
    if il > 0x0000FFFF or dl > 0x0FFFFFFF or 8 + il * 16 + dl != len(blob):
        raise ValueError("header il=%d dl=%d does not match blob length %d" % (il, dl, len(blob)))
    data0 = 8 + il * 16
    vals = {}
    for i in range(il):
        tag, typ, off, cnt = struct.unpack_from(">IIII", blob, 8 + 16 * i)
        if tag in (1000, 1001, 1002) and typ == 6:
            if off >= dl:
                raise ValueError("tag %d offset %d past data %d" % (tag, off, dl))
            s = blob[data0 + off:data0 + dl]
            nul = s.find(b"\0")
            if nul < 0:
                raise ValueError("tag %d string not terminated" % tag)
            vals[tag] = s[:nul].decode("utf-8", "replace")
    if 1000 not in vals:
        raise ValueError("no NAME tag")
    return "%s-%s-%s" % (vals.get(1000), vals.get(1001, "?"), vals.get(1002, "?"))


# ======================================================================
# Input, verification, CLI
# ======================================================================

def sqlite_path(p):
    if os.path.isdir(p):
        for rel in ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", "rpmdb.sqlite"):
            if os.path.isfile(os.path.join(p, rel)):
                return os.path.join(p, rel)
        die("no rpmdb.sqlite under %s" % p)
    if not os.path.isfile(p):
        die("no such file: %s" % p)
    return p


def read_sqlite(p):
    p = sqlite_path(p)
    try:
        con = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
        rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    except sqlite3.Error:
        con = sqlite3.connect(p)       # WAL without a readable -shm needs rw
        rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    con.close()
    return [(int(h), bytes(b)) for h, b in rows]


def compare(pkgs_read, expected):
    got = {p: b for p, b, _, _ in pkgs_read}
    want = dict(expected)
    problems = []
    if len(got) != len(pkgs_read):
        problems.append("duplicate package indexes in file")
    for p in sorted(set(want) | set(got)):
        if p not in got:
            problems.append("package %d missing" % p)
        elif p not in want:
            problems.append("package %d not in input" % p)
        elif got[p] != want[p]:
            problems.append("package %d header differs (%d vs %d bytes)" % (p, len(got[p]), len(want[p])))
    return problems


def verify(data, expected, kind):
    """Returns a list of problems (empty = verified)."""
    try:
        info, pkgs = read_ndb(data)
    except NdbError as e:
        if kind and EXPECTED_ERROR.get(kind) == e.code:
            print("verify: rejected as expected (%s)" % e)
            return []
        return ["reader rejected the file: %s" % e]
    if kind and EXPECTED_ERROR.get(kind) is not None:
        return ["reader accepted a --corrupt %s file" % kind]
    if kind == "bad-rpm-header":
        try:
            header_nvr(pkgs[0][1])
        except ValueError as e:
            print("verify: ndb layer accepted, rpm header rejected as expected (%s)" % e)
            return []
        return ["bad-rpm-header: header check accepted the broken header"]
    problems = compare(pkgs, expected)
    for p, blob, _, _ in pkgs:
        try:
            header_nvr(blob)
        except ValueError as e:
            problems.append("package %d: %s" % (p, e))
    if not problems:
        print("verify: ok, %d package(s), generation %d, %d slot page(s), next index %d" % (
            len(pkgs), info["generation"], info["slotnpages"], info["nextpkgidx"]))
    return problems


def main():
    ap = argparse.ArgumentParser(description="write / read rpm ndb Packages.db (see module docstring)")
    ap.add_argument("out", nargs="?", help="Packages.db to write")
    ap.add_argument("--from-sqlite", metavar="DB")
    ap.add_argument("--corrupt", metavar="KIND")
    ap.add_argument("--verify", action="store_true")
    ap.add_argument("--slot-pages", type=int, metavar="N")
    ap.add_argument("--gaps", action="store_true")
    ap.add_argument("--check", metavar="IN.db")
    ap.add_argument("--strict-rpm", action="store_true")
    ap.add_argument("--list-corruptions", action="store_true")
    a = ap.parse_args()

    if a.list_corruptions:
        doc = __doc__.split("--corrupt KIND (", 1)[1]
        print("--corrupt KIND (" + doc.rstrip())
        return 0

    if a.check:
        if a.out or a.corrupt or a.gaps or a.slot_pages:
            die("--check takes only IN.db and optionally --from-sqlite / --strict-rpm")
        with open(a.check, "rb") as f:
            data = f.read()
        try:
            info, pkgs = read_ndb(data, strict_rpm=a.strict_rpm)
        except NdbError as e:
            print("check: %s: rejected: %s" % (a.check, e))
            return 1
        print("check: %s: generation %d, %d slot page(s), next index %d, %d blocks, %d package(s)" % (
            a.check, info["generation"], info["slotnpages"], info["nextpkgidx"], info["fileblks"], len(pkgs)))
        bad = 0
        for p, blob, slotno, blkoff in pkgs:
            try:
                nvr = header_nvr(blob)
            except ValueError as e:
                nvr, bad = "BAD HEADER: %s" % e, bad + 1
            print("  pkgidx %d slot %d blkoff %d len %d %s" % (p, slotno, blkoff, len(blob), nvr))
        problems = compare(pkgs, read_sqlite(a.from_sqlite)) if a.from_sqlite else []
        for pr in problems:
            print("check: " + pr)
        if a.from_sqlite and not problems:
            print("check: every header equals %s" % sqlite_path(a.from_sqlite))
        return 1 if problems or bad else 0

    if not a.out:
        ap.print_usage(sys.stderr)
        return 2
    if a.corrupt and a.corrupt not in CORRUPTIONS:
        die("unknown --corrupt kind %r (see --list-corruptions)" % a.corrupt)
    if a.slot_pages is not None and not (1 <= a.slot_pages <= 4096):
        die("--slot-pages must be 1..4096")
    pkgs = read_sqlite(a.from_sqlite) if a.from_sqlite else []
    img, layout = build_db(pkgs, a.slot_pages, a.gaps)
    data = corrupt(img, layout, a.corrupt) if a.corrupt else bytes(img)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, a.out)
    print("wrote %s: %d bytes, %d package(s)%s" % (a.out, len(data), len(pkgs),
                                                    ", corrupt: " + a.corrupt if a.corrupt else ""))
    if a.verify:
        with open(a.out, "rb") as f:
            problems = verify(f.read(), pkgs, a.corrupt)
        for pr in problems:
            print("verify: " + pr, file=sys.stderr)
        if problems:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
