#!/usr/bin/env python3
"""make-rpm-sparse.py - copy an rpm package database as a sparse file: holes where its format has unused
space, and a sparse tail up to an apparent size (1 GiB by default), the database still the same to rpm.

Why this exists: a scanner that reads a package database whole costs its apparent size in memory; a sparse
file (`truncate -s 1G` after the data, or holes between pages) has an apparent size far above its data.
chainwatch reads databases a page at a time; its tests give it such files, made from databases rpm (or
Berkeley DB) wrote, and check that the same packages come out and that its memory follows the data.

Usage:
  make-rpm-sparse.py FORMAT IN OUT [--size BYTES]
    FORMAT  sqlite (rpmdb.sqlite), bdb (Packages, Berkeley DB hash) or ndb (Packages.db)
    IN      the database to copy (left unchanged)
    OUT     the sparse copy to write (replaced)
    --size  apparent size of OUT in bytes (default 1073741824); a multiple of the page size

What becomes a hole:
  sqlite  the free list's leaf pages (fileformat2 1.5: their content is not used; rpm -e leaves some),
          every all-zero page, and the tail: pages past the header's database size are not part of the
          database (SQLite uses the header's count while it is valid, and rpm's readers never reach them)
  bdb     every all-zero page (bucket pages Berkeley DB allocated and has not written yet: make-rpm-bdb.sh
          --ffactor 1 --nelem 64 makes many) and the tail: the meta page's last page number is raised
          to count it, zeroed pages of no bucket, as after such an allocation
  ndb     free blocks: each blob is moved to its own 1 MiB boundary (the slots updated; a blob's checksum
          covers its header and data, not its place), the blocks between blobs and after the last are holes

Checks before it exits 0: sqlite: SQLite itself (python's sqlite3, read-only) passes integrity_check on OUT
and reads the same Packages rows as from IN; bdb: db5.3_verify passes on OUT's layout (its tail cut to 16 MiB:
verify reads every page) and db5.3_dump of OUT gives the same records as for IN; ndb: every package's blob read back from OUT's slots equals IN's. And OUT's allocated blocks are
fewer than its data's plus a few pages (the file system keeps it sparse).
Prints one line: "data BYTES allocated BYTES apparent BYTES holes N" (holes: page ranges left unwritten).
Exit status: 0 ok, 1 a check failed, 2 usage or input error.
"""

import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

GIB = 1 << 30


def die(message, code=2):
    print("make-rpm-sparse.py: " + message, file=sys.stderr)
    sys.exit(code)


def write_sparse(out, pieces, size):
    """Writes (offset, bytes) pieces into a new sparse file of `size` bytes; returns the bytes written."""
    written = 0
    with open(out, "wb") as f:
        for offset, data in pieces:
            f.seek(offset)
            f.write(data)
            written += len(data)
        f.truncate(size)
    return written


def holes(pieces, size):
    """Ranges of the file no piece covers."""
    count, position = 0, 0
    for offset, data in sorted(pieces):
        if offset > position:
            count += 1
        position = max(position, offset + len(data))
    return count + (1 if position < size else 0)


# ---- sqlite ----

def sqlite_rows(path):
    con = sqlite3.connect("file:%s?immutable=1" % path, uri=True)
    try:
        check = con.execute("PRAGMA integrity_check").fetchall()
        rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    finally:
        con.close()
    return check, rows


def sqlite_sparse(data, size):
    if data[:16] != b"SQLite format 3\0":
        die("IN is not an SQLite 3 database")
    page_size = struct.unpack_from(">H", data, 16)[0]
    page_size = 65536 if page_size == 1 else page_size
    if len(data) % page_size or size % page_size or size < len(data):
        die("--size %d is not a multiple of the page size %d at least IN's %d bytes" % (size, page_size, len(data)))
    pages = len(data) // page_size
    header_pages = struct.unpack_from(">I", data, 28)[0]
    if header_pages != pages:
        die("IN's header counts %d pages, the file has %d" % (header_pages, pages))
    # The free list: trunk pages (next trunk, leaf count, leaf page numbers), their leaves unused.
    free_leaves, trunk = set(), struct.unpack_from(">I", data, 32)[0]
    seen = set()
    while trunk:
        if trunk in seen or trunk > pages:
            die("IN's free list is damaged")
        seen.add(trunk)
        base = (trunk - 1) * page_size
        following, count = struct.unpack_from(">II", data, base)
        free_leaves.update(struct.unpack_from(">%dI" % count, data, base + 8))
        trunk = following
    pieces = []
    for page in range(1, pages + 1):
        chunk = data[(page - 1) * page_size:page * page_size]
        if page in free_leaves or chunk == bytes(page_size):
            continue
        pieces.append(((page - 1) * page_size, chunk))
    return pieces, len(free_leaves)


# ---- Berkeley DB hash ----

def bdb_sparse(data, size):
    if len(data) < 512:
        die("IN is shorter than a Berkeley DB meta page")
    if data[12:16] == b"\x61\x15\x06\x00":
        order = "<"
    elif data[12:16] == b"\x00\x06\x15\x61":
        order = ">"
    else:
        die("IN is not a Berkeley DB hash database")
    page_size = struct.unpack_from(order + "I", data, 20)[0]
    if data[26] & 0x01:
        die("IN has page checksums; raising its last page number would need the meta page's checksum")
    last = struct.unpack_from(order + "I", data, 32)[0]
    if (last + 1) * page_size != len(data):
        die("IN's meta page counts %d pages, the file has %d bytes" % (last + 1, len(data)))
    if size % page_size or size < len(data):
        die("--size %d is not a multiple of the page size %d at least IN's %d bytes" % (size, page_size, len(data)))
    meta = bytearray(data[:page_size])
    struct.pack_into(order + "I", meta, 32, size // page_size - 1)
    pieces, zeroed = [(0, bytes(meta))], 0
    for page in range(1, last + 1):
        chunk = data[page * page_size:(page + 1) * page_size]
        if chunk == bytes(page_size):
            zeroed += 1
            continue
        pieces.append((page * page_size, chunk))
    return pieces, zeroed


def bdb_records(path):
    dump = subprocess.run(["db5.3_dump", path], capture_output=True, text=True)
    if dump.returncode != 0:
        die("db5.3_dump %s: %s" % (path, dump.stderr.strip()), 1)
    lines = dump.stdout.split("\n")
    return lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]


# ---- ndb ----

PAGE, BLOCK, SLOT, HEADER = 4096, 16, 16, 32
SPACING = 1 << 20


def ndb_slots(data):
    """The slot page count and the used slots (offset, package index, block offset, block count)."""
    if data[:4] != b"RpmP":
        die("IN is not an rpm ndb database")
    slot_pages = struct.unpack_from("<I", data, 12)[0]
    area = data[:slot_pages * PAGE]
    slots = []
    for offset in range(HEADER, slot_pages * PAGE, SLOT):
        magic, index, block, count = struct.unpack_from("<4sIII", area, offset)
        if magic != b"Slot":
            die("IN: slot at %d has no Slot magic" % offset)
        if block:
            slots.append((offset, index, block, count))
    return slot_pages, slots


def ndb_blobs(f):
    """Every package's blob, read from the open file f where its slot points (not the whole file)."""
    def read(offset, length):
        f.seek(offset)
        return f.read(length)
    slot_pages = struct.unpack_from("<I", read(0, HEADER), 12)[0]
    _, slots = ndb_slots(read(0, slot_pages * PAGE))
    blobs = {}
    for _, index, block, count in slots:
        blocks = read(block * BLOCK, count * BLOCK)
        length = struct.unpack_from("<I", blocks, 12)[0]
        blobs[index] = blocks[16:16 + length]
    return blobs


def ndb_sparse(data, size):
    slot_pages, slots = ndb_slots(data)
    area = bytearray(data[:slot_pages * PAGE])
    pieces, position = [], slot_pages * PAGE
    for offset, index, block, count in slots:
        position = (position + SPACING - 1) // SPACING * SPACING
        blocks = data[block * BLOCK:(block + count) * BLOCK]
        struct.pack_into("<I", area, offset + 8, position // BLOCK)
        pieces.append((position, blocks))
        position += len(blocks) + SPACING
    if size % BLOCK or size < position:
        die("--size %d is not a multiple of 16 at least the %d bytes the moved blobs need" % (size, position))
    return [(0, bytes(area))] + pieces, len(slots)


def main():
    args = sys.argv[1:]
    size = GIB
    if "--size" in args:
        at = args.index("--size")
        if at + 1 >= len(args) or not args[at + 1].isdigit():
            die("--size needs a number of bytes")
        size = int(args[at + 1])
        del args[at:at + 2]
    if len(args) != 3 or args[0] not in ("sqlite", "bdb", "ndb"):
        die("usage: make-rpm-sparse.py sqlite|bdb|ndb IN OUT [--size BYTES]")
    kind, source, out = args
    with open(source, "rb") as f:
        data = f.read()
    if kind == "sqlite":
        pieces, _ = sqlite_sparse(data, size)
    elif kind == "bdb":
        pieces, _ = bdb_sparse(data, size)
    else:
        pieces, _ = ndb_sparse(data, size)
    written = write_sparse(out, pieces, size)

    if kind == "sqlite":
        _, want = sqlite_rows(source)
        check, got = sqlite_rows(out)
        if check != [("ok",)]:
            die("SQLite's integrity_check on %s: %s" % (out, check), 1)
        if got != want or not want:
            die("%s does not hold IN's Packages rows" % out, 1)
    elif kind == "bdb":
        # db5.3_verify reads every page (9 s for 1 GiB): it checks a twin with the same pages and a tail of at
        # most 16 MiB; the longer tail of OUT is more of the same zeroed pages, and db5.3_dump reads OUT itself.
        twin_size = min(size, max(16 << 20, len(data)))
        twin_pieces, _ = bdb_sparse(data, twin_size)
        with tempfile.TemporaryDirectory() as work:
            twin = os.path.join(work, "twin")
            write_sparse(twin, twin_pieces, twin_size)
            verify = subprocess.run(["db5.3_verify", "-q", "-h", work, twin], capture_output=True, text=True)
        if verify.returncode != 0:
            die("db5.3_verify of OUT's layout: %s" % verify.stderr.strip(), 1)
        if bdb_records(out) != bdb_records(source):
            die("db5.3_dump of %s does not give IN's records" % out, 1)
    else:
        with open(out, "rb") as moved, open(source, "rb") as original:
            want = ndb_blobs(original)
            if ndb_blobs(moved) != want or not want:
                die("%s does not hold IN's package blobs" % out, 1)

    allocated = os.stat(out).st_blocks * 512
    if allocated > written + 64 * PAGE:
        die("%s has %d bytes allocated for %d bytes of data: the file system did not keep it sparse" % (out, allocated, written), 1)
    print("data %d allocated %d apparent %d holes %d" % (written, allocated, os.path.getsize(out), holes(pieces, size)))


if __name__ == "__main__":
    main()
