#!/usr/bin/env bash
# make-rpm-bdb.sh - write an rpm Berkeley DB "Packages" database (hash access method) with real rpm headers.
#
# Why this exists: RHEL/CentOS 7-8 and Amazon Linux 2 keep the rpm database in Berkeley DB files
# (/var/lib/rpm/Packages); chainwatch reads Packages with its own bounds-checked reader of the BDB hash
# format (no libdb linked), and its tests need such files in both byte orders, at every page size, with
# headers large enough to live on overflow pages. Debian's rpm 4.18 only writes rpmdb.sqlite (and reads
# BDB through its read-only bdb_ro backend), so the headers come from an rpmdb.sqlite that rpm itself wrote
# (make-rpmdb.sh, or --from-sqlite) and the hash file is written by Berkeley DB itself (db5.3_load), fed
# db_dump's "bytevalue" text format. The on-disk format is described in formats/bdb-hash.md.
#
# Layout, as rpm's lib/backend/db3.c writes Packages (DB_HASH, no duplicates):
#   key = 4-byte header number (rpm's hnum) in the byte order of the database (the creating host's);
#   value = the header blob exactly as rpmdb.sqlite's Packages.blob holds it (headerExport: il, dl,
#   index entries, data; no magic);
#   plus, like rpm's pkgInstance(), the record key 0 (4 zero bytes) -> 4-byte largest header number
#   issued so far, in the database's byte order (--no-key0 leaves it out). A reader must skip key 0.
#
# Usage:
#   make-rpm-bdb.sh OUT [--big-endian] [--pagesize N] [--ffactor F --nelem N] [--no-key0] [--delete HNUM[,HNUM...]]
#                       [--from-sqlite DB | SPEC...]
#     OUT            database file to write (replaced if it exists)
#     --big-endian   write a big-endian database (db_lorder=4321; keys big-endian too), as a
#                    big-endian host (s390x, ppc64) would; default little-endian (x86-64, aarch64)
#     --pagesize N   Berkeley DB page size, a power of two in 512..65536 (default 4096)
#     --ffactor F --nelem N
#                    size the hash table up front for N records at F keys a bucket (Berkeley DB's h_ffactor
#                    and h_nelem; h_nelem is only used with a fill factor; default: the table grows as records
#                    come). Berkeley DB allocates all those bucket pages at once and writes a bucket's page only
#                    when a key lands in it, so with N above the records the file holds zeroed pages between
#                    its hash pages (holes, where the file system keeps it sparse), as a database sized for
#                    more packages than it still holds does. E.g. --ffactor 1 --nelem 64
#     --no-key0      leave out rpm's key-0 instance counter record
#     --delete LIST  after loading, delete these header numbers with Berkeley DB itself (as rpm -e or an
#                    update does), leaving their pages on the free list (type P_INVALID) and a
#                    max-instance key 0 that is larger than any remaining key, as on a used system.
#                    Needs python3-bsddb3 (Debian's /usr/bin/python3).
#     --from-sqlite DB  take the headers from an existing rpmdb.sqlite (table Packages(hnum, blob))
#     SPEC...        else build an rpmdb.sqlite with make-rpmdb.sh from these SPECs
#                    (NAME:VERSION:RELEASE[:FILES[:EPOCH[:SOURCE]]]; FILES 400 makes a ~64 KiB header)
#   Prints one line per package left in OUT to stdout: "HNUM<TAB>NAME-[EPOCH:]VERSION-RELEASE<TAB>BLOB-BYTES".
#
# Checks before it exits 0: db5.3_verify passes, db5.3_dump gives back exactly the records written
# (every key and value byte), and the magic at offset 12 is in the requested byte order.
# Needs: db5.3-util (db5.3_load, db5.3_dump, db5.3_verify), python3 with sqlite3, for SPECs rpm +
# rpmbuild (make-rpmdb.sh), for --delete python3-bsddb3.
#
# Example: make-rpm-bdb.sh /tmp/bdb/le-512.db --pagesize 512 xz-libs:5.6.1:1:400:0:xz bash:5.1.8:6
#   Read it back with rpm's own read-only reader (the file must be named Packages):
#   mkdir d && cp /tmp/bdb/le-512.db d/Packages && rpm --dbpath "$PWD/d" --define '_db_backend bdb_ro' -qa
set -euo pipefail
die() { echo "make-rpm-bdb.sh: $*" >&2; exit 1; }
usage="usage: make-rpm-bdb.sh OUT [--big-endian] [--pagesize N] [--ffactor F --nelem N] [--no-key0] [--delete HNUM,...] [--from-sqlite DB | SPEC...]"
[ $# -ge 1 ] || die "$usage"
case "$1" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; -*) die "$usage" ;; esac
out="$(realpath -m "$1")"; shift
order=little pagesize=4096 ffactor="" nelem="" key0=1 sqlite="" delete="" specs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --big-endian) order=big ;;
    --pagesize) [ $# -ge 2 ] || die "--pagesize needs a value"; pagesize="$2"; shift ;;
    --ffactor) [ $# -ge 2 ] || die "--ffactor needs a value"; ffactor="$2"; shift
      [[ "$ffactor" =~ ^[1-9][0-9]*$ ]] || die "--ffactor takes a positive number, not '$ffactor'" ;;
    --nelem) [ $# -ge 2 ] || die "--nelem needs a value"; nelem="$2"; shift
      [[ "$nelem" =~ ^[1-9][0-9]*$ ]] || die "--nelem takes a positive number, not '$nelem'" ;;
    --no-key0) key0=0 ;;
    --delete) [ $# -ge 2 ] || die "--delete needs a list"; delete="$2"; shift
      [[ "$delete" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--delete takes header numbers, e.g. 2,5" ;;
    --from-sqlite) [ $# -ge 2 ] || die "--from-sqlite needs a file"; sqlite="$(realpath "$2")"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1; $usage" ;;
    *) specs+=("$1") ;;
  esac
  shift
done
case "$pagesize" in 512|1024|2048|4096|8192|16384|32768|65536) ;; *) die "--pagesize must be a power of two in 512..65536, not '$pagesize'" ;; esac
if [ -n "$sqlite" ]; then
  [ ${#specs[@]} -eq 0 ] || die "give --from-sqlite or SPECs, not both"
  [ -f "$sqlite" ] || die "no such file: $sqlite"
else
  [ ${#specs[@]} -gt 0 ] || die "no SPEC and no --from-sqlite; $usage"
fi
for t in db5.3_load db5.3_dump db5.3_verify python3; do
  command -v "$t" >/dev/null || die "needs $t (apt-get install db5.3-util python3)"
done
bsddb_python=""
if [ -n "$delete" ]; then
  for py in python3 /usr/bin/python3; do
    if "$py" -c 'import bsddb3' 2>/dev/null; then bsddb_python="$py"; break; fi
  done
  [ -n "$bsddb_python" ] || die "--delete needs python3-bsddb3 (apt-get install python3-bsddb3)"
fi

work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
if [ -z "$sqlite" ]; then
  "$(dirname "$(realpath "$0")")/make-rpmdb.sh" "$work/root" "${specs[@]}" >"$work/make-rpmdb.log" 2>&1 ||
    { cat "$work/make-rpmdb.log" >&2; die "make-rpmdb.sh failed"; }
  sqlite="$work/root/var/lib/rpm/rpmdb.sqlite"
fi
lorder=1234; [ "$order" = big ] && lorder=4321
# Read a copy (with its -wal, if any), so that SQLite leaves no -shm/-wal beside the caller's file.
for f in "$sqlite" "$sqlite-wal"; do if [ -f "$f" ]; then cp "$f" "$work/src.sqlite${f#"$sqlite"}"; fi; done

# 1. rpmdb.sqlite -> db_dump bytevalue text (header lines, then alternating " <hex key>" / " <hex data>"),
#    plus the expected records (for the round-trip check) and the manifest.
python3 - "$sqlite" "$order" "$key0" "$pagesize" "$work" "$delete" <<'PY'
import sqlite3, struct, sys
path, order, key0, pagesize, work = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5]
delete = {int(h) for h in sys.argv[6].split(",") if h}
fmt = ">I" if order == "big" else "<I"
con = sqlite3.connect("file:%s?mode=ro" % (work + "/src.sqlite"), uri=True)
rows = [(int(h), bytes(b)) for h, b in con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum")]
if not rows:
    sys.exit("make-rpm-bdb.sh: no row in %s's Packages table" % path)
missing = delete - {h for h, _ in rows}
if missing:
    sys.exit("make-rpm-bdb.sh: --delete: no header number %s in %s" % (sorted(missing), path))

def nevr(blob):
    """NAME-[EPOCH:]VERSION-RELEASE from a header blob (il, dl, il 16-byte entries, data), bounds-checked."""
    il, dl = struct.unpack_from(">II", blob, 0)
    base = 8 + 16 * il
    if base + dl > len(blob):
        sys.exit("make-rpm-bdb.sh: malformed header blob")
    tags = {}
    for i in range(il):
        tag, typ, off, cnt = struct.unpack_from(">IIiI", blob, 8 + 16 * i)
        if tag in (1000, 1001, 1002) and typ == 6:
            end = blob.index(b"\0", base + off)
            tags[tag] = blob[base + off:end].decode()
        elif tag == 1003 and typ == 4:
            tags[tag] = str(struct.unpack_from(">I", blob, base + off)[0])
    epoch = tags[1003] + ":" if 1003 in tags else ""
    return "%s-%s%s-%s" % (tags.get(1000, "?"), epoch, tags.get(1001, "?"), tags.get(1002, "?"))

records = []
if key0:  # rpm's pkgInstance(): key 0 -> largest header number issued so far
    records.append((struct.pack(fmt, 0), struct.pack(fmt, max(h for h, _ in rows))))
records += [(struct.pack(fmt, h), b) for h, b in rows]
with open(work + "/load.txt", "w") as f:
    f.write("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=%d\nHEADER=END\n" % pagesize)
    for k, v in records:
        f.write(" %s\n %s\n" % (k.hex(), v.hex()))
    f.write("DATA=END\n")
deleted = {struct.pack(fmt, h) for h in delete}
with open(work + "/expected.txt", "w") as f:
    for k, v in sorted(records):
        if k not in deleted:
            f.write("%s %s\n" % (k.hex(), v.hex()))
with open(work + "/delete.txt", "w") as f:
    for h in sorted(delete):
        f.write(struct.pack(fmt, h).hex() + "\n")
with open(work + "/manifest.txt", "w") as f:
    for h, b in rows:
        if h not in delete:
            f.write("%d\t%s\t%d\n" % (h, nevr(b), len(b)))
PY

# 2. Berkeley DB writes the hash file itself.
mkdir -p "$(dirname "$out")"
rm -f "$out"
db5.3_load -t hash -c db_lorder="$lorder" -c db_pagesize="$pagesize" ${ffactor:+-c h_ffactor="$ffactor"} ${nelem:+-c h_nelem="$nelem"} -f "$work/load.txt" "$out" ||
  die "db5.3_load failed"
if [ -n "$delete" ]; then
  "$bsddb_python" - "$out" "$work/delete.txt" <<'PY' || die "deleting $delete failed"
import sys
from bsddb3 import db
d = db.DB()
d.open(sys.argv[1], dbtype=db.DB_HASH)
for line in open(sys.argv[2]).read().split():
    d.delete(bytes.fromhex(line))
d.close()
PY
fi

# 3. Checks: structure, byte order, and every record byte for byte.
db5.3_verify -q "$out" || die "db5.3_verify failed on $out"
db5.3_dump -f "$work/dump.txt" "$out" || die "db5.3_dump failed on $out"
python3 - "$work" "$out" "$order" "$pagesize" <<'PY'
import struct, sys
work, out, order, pagesize = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = open(work + "/dump.txt").read().split("\n")
start = lines.index("HEADER=END") + 1
end = lines.index("DATA=END")
header = dict(l.split("=", 1) for l in lines[:start - 1])
if header.get("type") != "hash" or int(header.get("db_pagesize", pagesize)) != pagesize:
    sys.exit("make-rpm-bdb.sh: db5.3_dump reports %r" % header)
body = [l[1:] for l in lines[start:end]]
got = sorted("%s %s" % (body[i], body[i + 1]) for i in range(0, len(body), 2))
want = open(work + "/expected.txt").read().split("\n")[:-1]
if got != want:
    sys.exit("make-rpm-bdb.sh: db5.3_dump of %s does not give back the records written (%d vs %d)" % (out, len(got), len(want)))
with open(out, "rb") as f:
    meta = f.read(512)
magic = meta[12:16]
if magic != (b"\x00\x06\x15\x61" if order == "big" else b"\x61\x15\x06\x00"):
    sys.exit("make-rpm-bdb.sh: magic %s is not %s-endian" % (magic.hex(), order))
fmt = ">I" if order == "big" else "<I"
if struct.unpack_from(fmt, meta, 20)[0] != pagesize or meta[25] != 8:
    sys.exit("make-rpm-bdb.sh: meta page pagesize/type mismatch")
PY
cat "$work/manifest.txt"
