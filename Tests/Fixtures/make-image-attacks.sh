#!/usr/bin/env bash
# make-image-attacks.sh - container images built to make an image scanner scan
# something other than what a runtime would run, for chainwatch's
# ImageVerificationTests.
#
# Why this exists: `chainwatch --image` must verify an image as a runtime
# pulling it would (every blob against its digest, docker save layers against
# the config's diff_ids, the manifest for this host's platform from an index)
# and apply layers as a runtime does (parent symlinks resolved inside the
# image), and an unpack that runs out of room or meets a very deep tree must
# neither pass as clean nor leave files behind.  Each CASE below is a real
# image (umoci / skopeo / make-image.sh) altered the way an attacker would,
# with python3 (json, hashlib, tarfile, gzip).  Everything is benign: the
# "backdoor" is make-root.sh's fake liblzma carrying the CVE-2024-3094
# detection byte pattern as a never-called function.
#
# Needs: bash, python3, umoci, skopeo, gcc, what make-image.sh and make-root.sh
# need.  Runs as root or not.  Each case takes 1-5 seconds.
#
# Usage:
#   make-image-attacks.sh OUTDIR CASE [--outside DIR] [--filler BYTES]
#   make-image-attacks.sh -h|--help
# OUTDIR is created (absent or empty).  Every case writes OUTDIR/oci (an OCI
# layout) unless said otherwise, and OUTDIR/info.txt (key=value: case, the
# digests a test names, the expected verdict).
#
# CASEs ("good" = the image before the attack; FLAGGED = the signature liblzma
# is in the image a runtime would run):
#   tampered-manifest   make-image.sh --keep (FLAGGED); the manifest blob is
#                       rewritten in place to list only layer 2 (its file name,
#                       the digest, kept; index.json's size updated).  An
#                       unchecked read sees a clean image.  info: manifest.
#   tampered-config     --keep; the config blob's "amd64" becomes "arm64" (same
#                       size, name kept).  info: config.
#   tampered-index      --keep behind a nested index (index.json -> index blob
#                       -> manifest); the nested index blob is altered in
#                       place (its ref.name annotation, same size).  info: index.
#   sha512              --keep with every blob re-addressed as sha512
#                       (blobs/sha512/<hex>), valid: FLAGGED.  Also writes
#                       OUTDIR/oci-bad-layer (layer 1's blob replaced by a
#                       benign layer: an unchecked read sees a clean image) and
#                       OUTDIR/oci-bad-manifest (manifest rewritten in place to
#                       list only layer 2).  info: manifest, layer1.
#   docker-diffid       make-image.sh --keep's docker save tar, with layer 1's
#                       <diffid>.tar replaced by a benign layer tar (name
#                       kept): OUTDIR/bad-layer.tar; and the same with the
#                       config's diff_ids[0] edited to match (config file name,
#                       the image ID, kept): OUTDIR/bad-config.tar.  No oci/.
#                       info: layer1_diff_id, config.
#   decoy               two images in one layout: a clean one (make-image.sh
#                       --whiteout) listed FIRST with no platform, the FLAGGED
#                       one (--keep) second with platform linux/amd64.
#                       OUTDIR/oci: flat index.json; OUTDIR/oci-nested:
#                       index.json -> one nested index blob with both entries.
#                       info: real (the amd64 manifest), decoy.
#   foreign             the --keep manifest listed three times, for
#                       linux/arm64, linux/s390x and linux/<"evil" + ESC[2J>
#                       (a control sequence in a platform name); none is this
#                       host's.  info: manifest.
#   symlink-parent      layer 1 (umoci) = make-root.sh --host-liblzma (clean)
#                       + symlinks l -> usr/lib/x86_64-linux-gnu,
#                       abs -> DIR and esc -> ../../../../../../../../DIR
#                       (--outside DIR, default /nonexistent); layer 2 (a tar
#                       written here, `umoci raw add-layer`) =
#                       l/liblzma.so.5 (the signature liblzma, replacing the
#                       symlink of that name where a runtime puts it),
#                       abs/escaped.so.1, esc/escaped.so.1.  A runtime: FLAGGED
#                       in /usr/lib/x86_64-linux-gnu/liblzma.so.5; nothing in DIR.
#   full-tmp            layer 1 = usr/lib/x86_64-linux-gnu/libfiller.so.1, a
#                       real (gcc) shared library padded to --filler BYTES
#                       (default 2 MiB - 12 KiB) with incompressible bytes
#                       after its section headers, layer 2 = make-root.sh
#                       --signature --version 5.4.5-1 (dpkg's version is not a
#                       bad one: the signature liblzma is the only evidence).
#                       Also OUTDIR/image-oci.tar.  In a 2 MiB $TMPDIR the
#                       filler fits and liblzma.so.5.6.1 does not.
#   deep                layer 1 = make-root.sh --signature (FLAGGED), layer 2 =
#                       3,000 nested directories d/d/.../d (6,000 bytes of path,
#                       past PATH_MAX) with libdeep.so.1 (an ELF) at the bottom.
#
# Deterministic for a given host (mtimes pinned by make-image.sh; tars written
# here have mtime 0).  Nothing is left outside OUTDIR.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
L="usr/lib/x86_64-linux-gnu"

die() { echo "make-image-attacks.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

outdir="" case="" outside="/nonexistent" filler=$((2 * 1024 * 1024 - 12 * 1024))
while [ $# -gt 0 ]; do
  case "$1" in
    --outside) [ $# -ge 2 ] || die "--outside needs DIR"; outside="$2"; shift ;;
    --filler)  [ $# -ge 2 ] || die "--filler needs BYTES"; filler="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*)        die "unknown option: $1 (see --help)" ;;
    *)         if [ -z "$outdir" ]; then outdir="$1"; elif [ -z "$case" ]; then case="$1"; else die "too many arguments"; fi ;;
  esac
  shift
done
[ -n "$outdir" ] && [ -n "$case" ] || { usage >&2; exit 2; }
case "$outside" in /*) ;; *) die "--outside must be absolute" ;; esac
for t in python3 umoci skopeo gcc; do command -v "$t" >/dev/null || die "needs $t"; done
if [ -e "$outdir" ]; then [ -d "$outdir" ] && [ -z "$(ls -A "$outdir")" ] || die "OUTDIR exists and is not an empty directory"; fi
mkdir -p "$outdir"
OUT="$(cd "$outdir" && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-attack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C TZ=UTC
umask 022

cat > "$tmp/img.py" <<'PYEOF'
import gzip, hashlib, io, json, os, shutil, sys, tarfile

def blob_path(layout, digest):
    alg, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", alg, hexd)

def read_json(path):
    with open(path, "rb") as f:
        return json.loads(f.read())

def dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()

def put(layout, data, alg="sha256"):
    hexd = hashlib.new(alg, data).hexdigest()
    path = os.path.join(layout, "blobs", alg, hexd)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": alg + ":" + hexd, "size": len(data)}

def overwrite(path, data):
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(data)

def image(layout):
    index = read_json(os.path.join(layout, "index.json"))
    desc = index["manifests"][0]
    return index, desc, read_json(blob_path(layout, desc["digest"]))

def write_index(layout, index):
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(dump(index))

def tar_bytes(members):
    """members: (name, bytes or None for a directory); mtime 0, root-owned."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o755
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

def benign_layer():
    return tar_bytes([("etc/", None), ("etc/hostname", b"benign\n")])

def main(cmd, *a):
    if cmd == "tampered-manifest":
        layout, = a
        index, desc, manifest = image(layout)
        manifest["layers"] = manifest["layers"][1:]
        data = dump(manifest)
        overwrite(blob_path(layout, desc["digest"]), data)
        desc["size"] = len(data)
        write_index(layout, index)
        print("manifest=" + desc["digest"])
    elif cmd == "tampered-config":
        layout, = a
        _, _, manifest = image(layout)
        path = blob_path(layout, manifest["config"]["digest"])
        data = open(path, "rb").read()
        assert data.count(b'"amd64"') == 1
        overwrite(path, data.replace(b'"amd64"', b'"arm64"'))
        print("config=" + manifest["config"]["digest"])
    elif cmd == "nest":
        # index.json -> a nested index blob holding index.json's entries (linux/amd64 stated).
        layout, = a
        index = read_json(os.path.join(layout, "index.json"))
        for d in index["manifests"]:
            d.setdefault("platform", {"os": "linux", "architecture": "amd64"})
        nested = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                  "manifests": index["manifests"]}
        d = put(layout, dump(nested))
        write_index(layout, {"schemaVersion": 2, "manifests": [
            dict(mediaType="application/vnd.oci.image.index.v1+json", **d)]})
        print("index=" + d["digest"])
    elif cmd == "tampered-index":
        layout, = a
        index = read_json(os.path.join(layout, "index.json"))
        path = blob_path(layout, index["manifests"][0]["digest"])
        data = open(path, "rb").read()
        old = b'"org.opencontainers.image.ref.name":"keep"'
        assert data.count(old) == 1
        overwrite(path, data.replace(old, b'"org.opencontainers.image.ref.name":"kept"'))
    elif cmd == "sha512":
        # Re-address every blob as sha512 (layers, config, manifest); drop the sha256 ones.
        layout, = a
        index, desc, manifest = image(layout)
        for d in [manifest["config"]] + manifest["layers"]:
            data = open(blob_path(layout, d["digest"]), "rb").read()
            d.update(put(layout, data, "sha512"))
        m = put(layout, dump(manifest), "sha512")
        desc.update(m)
        write_index(layout, index)
        shutil.rmtree(os.path.join(layout, "blobs", "sha256"))
        print("manifest=" + m["digest"])
        print("layer1=" + manifest["layers"][0]["digest"])
    elif cmd == "replace-layer1":
        layout, = a
        _, _, manifest = image(layout)
        overwrite(blob_path(layout, manifest["layers"][0]["digest"]), gzip.compress(benign_layer(), mtime=0))
    elif cmd == "docker-layer":
        # A docker save tree: layer 1's file gets a benign tar; with "config", diff_ids[0] is made to match.
        tree, what = a
        entry = read_json(os.path.join(tree, "manifest.json"))[0]
        layer = benign_layer()
        overwrite(os.path.join(tree, entry["Layers"][0]), layer)
        config_path = os.path.join(tree, entry["Config"])
        config = read_json(config_path)
        print("layer1_diff_id=" + config["rootfs"]["diff_ids"][0])
        print("config=" + entry["Config"])
        if what == "config":
            config["rootfs"]["diff_ids"][0] = "sha256:" + hashlib.sha256(layer).hexdigest()
            overwrite(config_path, dump(config))
    elif cmd == "merge":
        # The decoy (clean, no platform) first, the real image (linux/amd64) second.
        layout, real, decoy = a
        os.makedirs(os.path.join(layout, "blobs", "sha256"))
        shutil.copy(os.path.join(real, "oci-layout"), layout)
        for src in (real, decoy):
            for name in os.listdir(os.path.join(src, "blobs", "sha256")):
                shutil.copy(os.path.join(src, "blobs", "sha256", name), os.path.join(layout, "blobs", "sha256", name))
        _, rd, _ = image(real)
        _, dd, _ = image(decoy)
        dd = {k: v for k, v in dd.items() if k != "platform"}
        rd = dict(rd, platform={"os": "linux", "architecture": "amd64"})
        write_index(layout, {"schemaVersion": 2, "manifests": [dd, rd]})
        print("real=" + rd["digest"])
        print("decoy=" + dd["digest"])
    elif cmd == "foreign":
        layout, = a
        index, desc, _ = image(layout)
        desc.pop("platform", None)
        index["manifests"] = [dict(desc, platform={"os": "linux", "architecture": arch})
                              for arch in ("arm64", "s390x", "evil\x1b[2J")]
        write_index(layout, index)
        print("manifest=" + desc["digest"])
    elif cmd == "layer-tar":
        # A layer tar of (name, source file or "DIR") pairs given as name=source arguments.
        out, *pairs = a
        members = []
        for pair in pairs:
            name, source = pair.split("=", 1)
            members.append((name, None if source == "DIR" else open(source, "rb").read()))
        with open(out, "wb") as f:
            f.write(tar_bytes(members))
    elif cmd == "deep-tar":
        out, elf = a
        path, members = "", []
        for _ in range(3000):
            path += "d/"
            members.append((path, None))
        members.append((path + "libdeep.so.1", open(elf, "rb").read()))
        with open(out, "wb") as f:
            f.write(tar_bytes(members))
    else:
        sys.exit("img.py: unknown command " + cmd)

main(*sys.argv[1:])
PYEOF
py() { python3 "$tmp/img.py" "$@"; }
log="$tmp/log"
run() { "$@" >> "$log" 2>&1 || { cat "$log" >&2; die "failed: $*"; }; }

# keep_image DIR: make-image.sh --keep into DIR (oci/, image-oci.tar, image-docker.tar)
keep_image() { run "$HERE/make-image.sh" "$1" --keep; }

# umoci_image LAYOUT TAG: an empty image; then umoci_layer LAYOUT TAG SRC adds SRC's
# files as one layer (umoci computes the diff against the layers before).
umoci_image() {
  run umoci init --layout "$1"
  run umoci new --image "$1:$2"
  run umoci config --image "$1:$2" --created 2024-03-29T00:00:00Z --os linux --architecture amd64 --no-history
}
unpack_opts=(); [ "$(id -u)" = 0 ] || unpack_opts=(--rootless)
umoci_layer() {
  local bundle="$tmp/bundle.$RANDOM"
  run umoci unpack "${unpack_opts[@]}" --image "$1:$2" "$bundle"
  cp -a "$3/." "$bundle/rootfs/"
  find "$bundle/rootfs" -exec touch -h -d @1711670400 {} +
  run umoci repack --history.created 2024-03-29T00:00:00Z --image "$1:$2" "$bundle"
}
raw_layer() { run umoci raw add-layer --history.created 2024-03-29T00:00:00Z --image "$1:$2" "$3"; }

info="$OUT/info.txt"
echo "case=$case" > "$info"
case "$case" in
  tampered-manifest|tampered-config)
    keep_image "$tmp/good"
    cp -a "$tmp/good/oci" "$OUT/oci"
    py "$case" "$OUT/oci" >> "$info"
    echo "expected=refused: the ${case#tampered-} blob is not its digest" >> "$info" ;;
  tampered-index)
    keep_image "$tmp/good"
    cp -a "$tmp/good/oci" "$OUT/oci"
    py nest "$OUT/oci" >> "$info"
    py tampered-index "$OUT/oci"
    echo "expected=refused: the nested index blob is not its digest" >> "$info" ;;
  sha512)
    keep_image "$tmp/good"
    cp -a "$tmp/good/oci" "$OUT/oci"
    py sha512 "$OUT/oci" >> "$info"
    cp -a "$OUT/oci" "$OUT/oci-bad-layer"
    py replace-layer1 "$OUT/oci-bad-layer"
    cp -a "$OUT/oci" "$OUT/oci-bad-manifest"
    py tampered-manifest "$OUT/oci-bad-manifest" > /dev/null
    echo "expected=oci FLAGGED; oci-bad-layer, oci-bad-manifest refused (SHA-512 not the digest)" >> "$info" ;;
  docker-diffid)
    keep_image "$tmp/good"
    for what in layer config; do
      tree="$tmp/docker-$what"
      mkdir "$tree"
      tar -C "$tree" -xf "$tmp/good/image-docker.tar"
      py docker-layer "$tree" "$what" > "$tmp/docker-info"
      tar -C "$tree" --sort=name --owner=0 --group=0 --numeric-owner -cf "$OUT/bad-$what.tar" .
    done
    cat "$tmp/docker-info" >> "$info"
    echo "expected=bad-layer.tar refused (diff_id), bad-config.tar refused (config not its name's digest)" >> "$info" ;;
  decoy)
    run "$HERE/make-image.sh" "$tmp/real" --keep
    run "$HERE/make-image.sh" "$tmp/decoy" --whiteout
    py merge "$OUT/oci" "$tmp/real/oci" "$tmp/decoy/oci" >> "$info"
    cp -a "$OUT/oci" "$OUT/oci-nested"
    python3 - "$OUT/oci-nested" <<'EOF'
import json, os, sys
p = os.path.join(sys.argv[1], "index.json")
index = json.load(open(p))
index["manifests"][1].pop("platform")      # "nest" states linux/amd64 for entries that have none
json.dump(index, open(p, "w"))
EOF
    py nest "$OUT/oci-nested" > /dev/null
    python3 - "$OUT/oci-nested" <<'EOF'
import hashlib, json, os, sys
layout = sys.argv[1]
index = json.load(open(os.path.join(layout, "index.json")))
d = index["manifests"][0]["digest"].split(":")[1]
p = os.path.join(layout, "blobs", "sha256", d)
nested = json.load(open(p))
nested["manifests"][0].pop("platform")     # the decoy states none again
data = json.dumps(nested, separators=(",", ":")).encode()
os.remove(p)
h = hashlib.sha256(data).hexdigest()
open(os.path.join(layout, "blobs", "sha256", h), "wb").write(data)
index["manifests"][0].update(digest="sha256:" + h, size=len(data))
json.dump(index, open(os.path.join(layout, "index.json"), "w"))
EOF
    echo "expected=FLAGGED: the linux/amd64 manifest (real), not the decoy listed first" >> "$info" ;;
  foreign)
    keep_image "$tmp/good"
    cp -a "$tmp/good/oci" "$OUT/oci"
    py foreign "$OUT/oci" >> "$info"
    echo "expected=refused: no manifest for linux/amd64 (has linux/arm64/v8, linux/s390x, linux/evil\\x1b[2J); --platform linux/arm64 FLAGGED" >> "$info" ;;
  symlink-parent)
    "$HERE/make-root.sh" "$tmp/clean" --host-liblzma > /dev/null
    "$HERE/make-root.sh" "$tmp/bad" --signature > /dev/null
    ln -s "$L" "$tmp/clean/l"
    ln -s "$outside" "$tmp/clean/abs"
    ln -s "../../../../../../../..$outside" "$tmp/clean/esc"
    umoci_image "$OUT/oci" attack
    umoci_layer "$OUT/oci" attack "$tmp/clean"
    lib="$tmp/bad/$L/liblzma.so.5.6.1"
    py layer-tar "$tmp/layer2.tar" "l/liblzma.so.5=$lib" "abs/escaped.so.1=$lib" "esc/escaped.so.1=$lib"
    raw_layer "$OUT/oci" attack "$tmp/layer2.tar"
    run umoci gc --layout "$OUT/oci"
    echo "outside=$outside" >> "$info"
    echo "expected=FLAGGED in /$L/liblzma.so.5; nothing written in $outside" >> "$info" ;;
  full-tmp)
    mkdir -p "$tmp/filler/$L"
    printf 'int chainwatch_filler(void) { return 1; }\n' > "$tmp/filler.c"
    gcc -shared -fPIC -o "$tmp/filler/$L/libfiller.so.1" "$tmp/filler.c"
    size="$(stat -c %s "$tmp/filler/$L/libfiller.so.1")"
    [ "$size" -lt "$filler" ] || die "--filler $filler is smaller than the library ($size)"
    # Padded after the section headers (still a valid ELF) with bytes gzip cannot shrink, so the layer blob and
    # image-oci.tar are as large as the file.
    python3 - "$tmp/filler/$L/libfiller.so.1" "$filler" <<'EOF'
import hashlib, sys
path, size = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
pad, block = bytearray(), b"chainwatch filler"
while len(data) + len(pad) < size:
    block = hashlib.sha256(block).digest()
    pad += block
open(path, "wb").write(data + bytes(pad[:size - len(data)]))
EOF
    "$HERE/make-root.sh" "$tmp/root" --signature --version 5.4.5-1 > /dev/null
    umoci_image "$OUT/oci" full
    umoci_layer "$OUT/oci" full "$tmp/filler"
    umoci_layer "$OUT/oci" full "$tmp/root"
    run umoci gc --layout "$OUT/oci"
    tar -C "$OUT/oci" --sort=name --owner=0 --group=0 --numeric-owner -cf "$OUT/image-oci.tar" oci-layout index.json blobs
    echo "filler=$filler" >> "$info"
    echo "expected=in a 2 MiB TMPDIR: INCOMPLETE, $L/liblzma.so.5.6.1 not unpacked (no room); image-oci.tar refused before unpacking" >> "$info" ;;
  deep)
    "$HERE/make-root.sh" "$tmp/root" --signature > /dev/null
    umoci_image "$OUT/oci" deep
    umoci_layer "$OUT/oci" deep "$tmp/root"
    py deep-tar "$tmp/deep.tar" "$tmp/root/$L/liblzma.so.5.6.1"
    raw_layer "$OUT/oci" deep "$tmp/deep.tar"
    run umoci gc --layout "$OUT/oci"
    echo "expected=FLAGGED; d/...(3000)/libdeep.so.1 not unpacked (past PATH_MAX); nothing left in TMPDIR" >> "$info" ;;
  *) die "unknown CASE: $case (see --help)" ;;
esac
# The layouts umoci built here must be images skopeo reads: the attack is in what the layers do, not in form.
case "$case" in
  symlink-parent|full-tmp|deep)
    tag="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$OUT/oci/index.json")"
    TMPDIR="$tmp" XDG_DATA_HOME="$tmp" _CONTAINERS_ROOTLESS_UID=65534 skopeo --insecure-policy inspect --raw "oci:$OUT/oci:$tag" > /dev/null 2>> "$log" ||
      { cat "$log" >&2; die "skopeo cannot read $OUT/oci"; } ;;
esac
echo "make-image-attacks.sh: built $case in $OUT"
cat "$info"
