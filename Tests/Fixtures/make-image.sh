#!/usr/bin/env bash
# make-image.sh - build a container image (OCI layout, OCI archive, docker
# save tar) of a fake Debian root for chainwatch's --image tests.
#
# Why this exists: `chainwatch --image PATH` applies an image's layers in
# order (honouring whiteouts `.wh.NAME` and opaque markers `.wh..wh..opq`)
# and scans the result like a root.  Tests need real, tool-written images
# whose verdict depends on the layering: a backdoor-signature liblzma in the
# base layer that a later layer keeps, deletes (whiteout) or hides (opaque
# directory).  Everything is benign: layer 1 is a make-root.sh root (its fake
# liblzma merely carries the CVE-2024-3094 detection byte pattern as a
# never-called function); no real malware is involved.
#
# Needs: bash, coreutils, python3, skopeo, xxd, what make-root.sh needs (gcc,
# binutils), and umoci for the default builder.  Runs as root or not (as
# non-root umoci unpack gets --rootless).  Takes 1-2 seconds.
#
# Usage:
#   make-image.sh OUTDIR [MODE] [--builder umoci|python]
#                 build the image in OUTDIR (created; must be absent or an
#                 empty directory)
#   make-image.sh -h|--help   this text
#
# MODE (at most one; none = a single-layer image, layer 1 only):
#   --keep      layer 2 adds an unrelated file (etc/motd); the signature
#               liblzma stays visible
#   --whiteout  layer 2 = whiteout usr/lib/x86_64-linux-gnu/.wh.liblzma.so.5.6.1
#               + var/lib/dpkg/status with liblzma5's Version edited to 5.4.5-1
#               (only that line changes; the liblzma.so.5 symlink then dangles
#               and info/liblzma5:amd64.list still names liblzma.so.5.6.1)
#   --opaque    layer 2 = usr/lib/x86_64-linux-gnu/.wh..wh..opq (hides all of
#               layer 1's files in that directory) + the host's real liblzma
#               liblzma.so.H (H = its version, 5.4.1 on Debian 12) with
#               liblzma.so.5 -> liblzma.so.H, libsystemd.so.0.35.0 and its
#               libsystemd.so.0 symlink re-added (same bytes as layer 1), and
#               var/lib/dpkg/status (liblzma5 Version H-1) +
#               info/liblzma5:amd64.list naming liblzma.so.H
#
# Layer 1 (all modes) = `make-root.sh ROOT --signature --version 5.6.1-1`:
#   dpkg status says liblzma5 5.6.1-1, usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1
#   carries the signature (sshd -> libsystemd.so.0 -> liblzma.so.5 chain).
#
# Builders:
#   umoci (default when umoci is installed): umoci init / new / unpack /
#     repack (layer 1 and the --keep/--whiteout layer: umoci computes the diff
#     and writes the whiteout itself); the --opaque layer is a tar written by
#     this script (umoci repack never emits opaque markers, it whites out each
#     deleted file instead) and appended with `umoci raw add-layer`; finally
#     `umoci gc`.  umoci writes PAX tars, gzip'd (tar+gzip), blobs mode 0600,
#     a "." root entry in layer 1, no mediaType field in the manifest, and a
#     whiteout as an empty mode-0000 regular file with mtime 0; it adds the
#     parent directory's entry only when that directory's metadata changed,
#     which it does not here (mtimes pinned), so the --whiteout layer is just
#     usr/lib/x86_64-linux-gnu/.wh.liblzma.so.5.6.1 + var/lib/dpkg/status.
#     As root umoci needs no flags; as non-root `umoci unpack --rootless`.
#   python: the same layers written by python3's tarfile/gzip/json here (no
#     umoci needed; Python >= 3.8); whiteouts are empty mode-0644 files, no
#     "." entry, parent directories listed in the --whiteout layer too.
# Both give the same final root; all file mtimes and the config's created
# times are pinned (2024-03-29), so a builder's output is reproducible on the
# same host.
#
# OUTDIR after a run (exactly these files; TAG = base|keep|whiteout|opaque):
#   oci/oci-layout                    {"imageLayoutVersion":"1.0.0"}
#   oci/index.json                    one manifest, annotation
#                                     org.opencontainers.image.ref.name=TAG
#   oci/blobs/sha256/<hex>            manifest, config and 1 or 2 layer blobs
#                                     (application/vnd.oci.image.layer.v1.tar+gzip),
#                                     nothing unreferenced
#   image-oci.tar                     OCI archive: plain tar of oci/'s contents
#                                     (oci-layout, index.json, blobs/ at the top;
#                                     what skopeo's oci-archive: reads)
#   image-docker.tar                  `docker save` format written by
#                                     `skopeo copy oci:OUTDIR/oci:TAG
#                                     docker-archive:OUTDIR/image-docker.tar:chainwatch/xz-fixture:TAG`:
#                                     manifest.json (RepoTags
#                                     docker.io/chainwatch/xz-fixture:TAG),
#                                     repositories, <config-hex>.json,
#                                     <diffid-hex>.tar = UNCOMPRESSED layers,
#                                     and legacy <id>/{VERSION,json,layer.tar}
#                                     where layer.tar is a SYMLINK member to
#                                     ../<diffid-hex>.tar
#   image-info.txt                    key=value: mode, builder, tag, references,
#                                     manifest/config/layer digests, expected
#                                     verdict (the same text is printed)
#
# Expected verdicts: base, --keep: FLAGGED (signature in
# /usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1 from layer 1; liblzma5 5.6.1-1);
# --whiteout, --opaque: CLEAN (the signature file exists only in layer 1's
# blob and is deleted/hidden by layer 2; package liblzma5 5.4.5-1 / H-1).
#
# At the end the script checks (exit 1 otherwise): layer 2's blob lists the
# whiteout / opaque entry (tar -tvzf), applying the layers (a small python
# applier in a temp dir) gives the expected root (signature present iff
# FLAGGED, status Version as above), `skopeo inspect` accepts the OCI archive
# and the docker archive, and the docker archive has as many layers.  Nothing
# is left outside OUTDIR: umoci's bundles, skopeo's TMPDIR and blob info cache
# (see skopeo_ below) and the applier's root live in a temp dir removed on
# exit; skopeo gets --insecure-policy (no policy.json needed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EPOCH=1711670400                      # 2024-03-29 00:00:00 UTC (CVE-2024-3094 disclosure)
CREATED=2024-03-29T00:00:00Z
SIGNATURE_HEX=f30f1efa554889f54c89ce5389fb81e7000000804883ec28488954241848894c2410
TRIPLET=x86_64-linux-gnu
L="usr/lib/$TRIPLET"
DOCKER_NAME=chainwatch/xz-fixture

die() { echo "make-image.sh: $*" >&2; exit 2; }
fail() { echo "make-image.sh: internal error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

outdir="" mode="" builder=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep|--whiteout|--opaque)
      [ -z "$mode" ] || die "only one of --keep/--whiteout/--opaque"; mode="${1#--}" ;;
    --builder) [ $# -ge 2 ] || die "--builder needs umoci or python"; builder="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*)        die "unknown option: $1 (see --help)" ;;
    *)         [ -z "$outdir" ] || die "more than one OUTDIR given"; outdir="$1" ;;
  esac
  shift
done
[ -n "$outdir" ] || { usage >&2; exit 2; }
tag="${mode:-base}"
if [ -z "$builder" ]; then
  if command -v umoci >/dev/null; then builder=umoci; else builder=python; fi
fi
case "$builder" in
  umoci)  command -v umoci >/dev/null || die "--builder umoci: umoci not installed" ;;
  python) ;;
  *)      die "--builder must be umoci or python (got '$builder')" ;;
esac
for t in python3 skopeo xxd sha256sum tar; do command -v "$t" >/dev/null || die "needs $t"; done

if [ -e "$outdir" ] || [ -L "$outdir" ]; then
  [ -d "$outdir" ] && [ ! -L "$outdir" ] || die "OUTDIR exists and is not a directory: $outdir"
  [ -z "$(ls -A "$outdir")" ] || die "OUTDIR is not empty (refusing to overwrite): $outdir"
fi
mkdir -p "$outdir"
OUT="$(cd "$outdir" && pwd)"
LAYOUT="$OUT/oci"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-image.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export TZ=UTC LC_ALL=C
umask 022

# --- python helpers: pack a layer tar, write an OCI layout, apply layers -------------------
cat > "$tmp/oci.py" <<'PYEOF'
import gzip, hashlib, json, os, shutil, stat, sys, tarfile

EPOCH = int(os.environ["EPOCH"])

def pack_layer(stage, out):
    """Deterministic uncompressed layer tar of directory STAGE (no "./" entry)."""
    names = []
    for root, dirs, files in os.walk(stage):
        dirs.sort()
        for n in dirs + sorted(files):
            names.append(os.path.relpath(os.path.join(root, n), stage))
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(names, key=lambda s: s.split("/")):
            ti = t.gettarinfo(os.path.join(stage, name), name)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mtime = EPOCH
            ti.pax_headers = {}
            if ti.isreg():
                with open(os.path.join(stage, name), "rb") as f:
                    t.addfile(ti, f)
            else:
                t.addfile(ti)

def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(layout, "blobs", "sha256", d)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

def write_layout(layout, tag, created, layer_tars):
    os.makedirs(layout)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    layers, diff_ids, history = [], [], []
    for i, path in enumerate(layer_tars, 1):
        raw = open(path, "rb").read()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        gz = gzip.compress(raw, compresslevel=9, mtime=0)
        d, n = blob(layout, gz)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": d, "size": n})
        history.append({"created": created, "created_by": "make-image.sh layer %d" % i})
    config = {"created": created, "architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
    cd, cn = blob(layout, json.dumps(config, separators=(",", ":")).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cd, "size": cn},
                "layers": layers}
    md, mn = blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
    index = {"schemaVersion": 2,
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": md, "size": mn,
                            "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f, separators=(",", ":"))

def read_image(layout):
    index = json.load(open(os.path.join(layout, "index.json")))
    assert len(index["manifests"]) == 1, "expected exactly one manifest"
    m = index["manifests"][0]
    p = lambda d: os.path.join(layout, "blobs", *d.split(":"))
    manifest = json.load(open(p(m["digest"])))
    config = json.load(open(p(manifest["config"]["digest"])))
    return m, manifest, config, p

def info(layout):
    """key=value lines about the image (digests, layer media types, diff_ids)."""
    m, manifest, config, _ = read_image(layout)
    print("manifest_digest=%s" % m["digest"])
    print("manifest_size=%d" % m["size"])
    print("tag=%s" % m.get("annotations", {}).get("org.opencontainers.image.ref.name", ""))
    print("config_digest=%s" % manifest["config"]["digest"])
    print("layers=%d" % len(manifest["layers"]))
    for i, (l, diff) in enumerate(zip(manifest["layers"], config["rootfs"]["diff_ids"]), 1):
        print("layer%d=%s %s size=%d diff_id=%s" % (i, l["digest"], l["mediaType"], l["size"], diff))

def apply(layout, root):
    """Apply the image's layers into ROOT (trusted input: our own image)."""
    _, manifest, _, p = read_image(layout)
    os.makedirs(root)
    for l in manifest["layers"]:
        with tarfile.open(p(l["digest"]), "r:*") as t:
            members = t.getmembers()
            rest = []
            for ti in members:          # whiteouts apply to the lower layers first
                name = os.path.normpath(ti.name)
                d, base = os.path.split(name)
                target = os.path.join(root, d)
                if base == ".wh..wh..opq":
                    if os.path.isdir(target):
                        for n in os.listdir(target):
                            x = os.path.join(target, n)
                            shutil.rmtree(x) if os.path.isdir(x) and not os.path.islink(x) else os.unlink(x)
                elif base.startswith(".wh."):
                    x = os.path.join(target, base[4:])
                    if os.path.lexists(x):
                        shutil.rmtree(x) if os.path.isdir(x) and not os.path.islink(x) else os.unlink(x)
                elif name != ".":
                    rest.append(ti)
            for ti in rest:
                x = os.path.join(root, os.path.normpath(ti.name))
                if os.path.lexists(x) and not (ti.isdir() and os.path.isdir(x)):
                    shutil.rmtree(x) if os.path.isdir(x) and not os.path.islink(x) else os.unlink(x)
                if hasattr(tarfile, "tar_filter"):      # Python >= 3.11.4 / 3.12
                    t.extract(ti, root, set_attrs=False, filter="tar")
                else:
                    t.extract(ti, root, set_attrs=False)

cmd = sys.argv[1]
if cmd == "pack-layer":
    pack_layer(sys.argv[2], sys.argv[3])
elif cmd == "write-layout":
    write_layout(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
elif cmd == "info":
    info(sys.argv[2])
elif cmd == "apply":
    apply(sys.argv[2], sys.argv[3])
else:
    sys.exit("oci.py: unknown command " + cmd)
PYEOF
oci_py() { EPOCH=$EPOCH python3 "$tmp/oci.py" "$@"; }

# --- layer 1: the bad root -------------------------------------------------------------------
"$HERE/make-root.sh" "$tmp/root" --signature --version 5.6.1-1 > /dev/null
host_lib="" host_ver=""
if [ "$mode" = opaque ]; then
  "$HERE/make-root.sh" "$tmp/host-root" --host-liblzma > /dev/null
  host_lib="$(readlink -f "$tmp/host-root/$L/liblzma.so.5")"
  host_ver="${host_lib##*/liblzma.so.}"
  [[ "$host_ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "unexpected host liblzma name: $host_lib"
fi
pin() { find "$@" -exec touch -h -d "@$EPOCH" {} +; }   # pin mtimes (also of symlinks)

# status_version FILE OLD NEW: change liblzma5's "Version: OLD" line (exactly one)
status_version() {
  [ "$(grep -cx "Version: $2" "$1")" = 1 ] || fail "status: 'Version: $2' not exactly once"
  sed -i "s/^Version: $2\$/Version: $3/" "$1"
  [ "$(sed -n '/^Package: liblzma5$/,/^$/p' "$1" | grep -x "Version: $3")" = "Version: $3" ] ||
    fail "status: liblzma5 Version not changed to $3"
}

# --- layer 2 as a staged directory (the python builder packs it as is; for umoci
# the opaque one is packed too, keep/whiteout are done by umoci's own diff) --------------------
stage="$tmp/stage2"
case "$mode" in
  keep)
    mkdir -p "$stage/etc"
    printf 'chainwatch fixture image: an unrelated change in layer 2.\n' > "$stage/etc/motd" ;;
  whiteout)
    mkdir -p "$stage/$L" "$stage/var/lib/dpkg"
    : > "$stage/$L/.wh.liblzma.so.5.6.1"
    cp "$tmp/root/var/lib/dpkg/status" "$stage/var/lib/dpkg/status"
    status_version "$stage/var/lib/dpkg/status" 5.6.1-1 5.4.5-1 ;;
  opaque)
    mkdir -p "$stage/$L" "$stage/var/lib/dpkg/info"
    : > "$stage/$L/.wh..wh..opq"
    install -m 0644 "$host_lib" "$stage/$L/liblzma.so.$host_ver"
    ln -s "liblzma.so.$host_ver" "$stage/$L/liblzma.so.5"
    cp -a "$tmp/root/$L/libsystemd.so.0.35.0" "$tmp/root/$L/libsystemd.so.0" "$stage/$L/"
    cp "$tmp/root/var/lib/dpkg/status" "$stage/var/lib/dpkg/status"
    status_version "$stage/var/lib/dpkg/status" 5.6.1-1 "$host_ver-1"
    sed "s#/liblzma\\.so\\.5\\.6\\.1\$#/liblzma.so.$host_ver#" "$tmp/root/var/lib/dpkg/info/liblzma5:amd64.list" \
      > "$stage/var/lib/dpkg/info/liblzma5:amd64.list"
    grep -qx "/lib/$TRIPLET/liblzma.so.$host_ver" "$stage/var/lib/dpkg/info/liblzma5:amd64.list" ||
      fail "liblzma5 .list not rewritten" ;;
esac
[ -z "$mode" ] || pin "$stage"
pin "$tmp/root"

# --- build -----------------------------------------------------------------------------------
log="$tmp/build.log"
run() { "$@" >> "$log" 2>&1 || { cat "$log" >&2; die "failed: $*"; }; }
if [ "$builder" = umoci ]; then
  unpack_opts=(); [ "$(id -u)" = 0 ] || unpack_opts=(--rootless)
  hist=(--history.created "$CREATED" --history.created_by "make-image.sh")
  run umoci init --layout "$LAYOUT"
  run umoci new --image "$LAYOUT:$tag"
  run umoci config --image "$LAYOUT:$tag" --created "$CREATED" --os linux --architecture amd64 --no-history
  run umoci unpack "${unpack_opts[@]}" --image "$LAYOUT:$tag" "$tmp/bundle1"
  cp -a "$tmp/root/." "$tmp/bundle1/rootfs/"
  pin "$tmp/bundle1/rootfs"
  run umoci repack "${hist[@]}" --image "$LAYOUT:$tag" "$tmp/bundle1"
  case "$mode" in
    keep|whiteout)
      run umoci unpack "${unpack_opts[@]}" --image "$LAYOUT:$tag" "$tmp/bundle2"
      r2="$tmp/bundle2/rootfs"
      if [ "$mode" = keep ]; then
        cp "$stage/etc/motd" "$r2/etc/motd"
      else
        rm "$r2/$L/liblzma.so.5.6.1"
        cp "$stage/var/lib/dpkg/status" "$r2/var/lib/dpkg/status"
      fi
      pin "$r2/etc" "$r2/$L" "$r2/var/lib/dpkg"
      run umoci repack "${hist[@]}" --image "$LAYOUT:$tag" "$tmp/bundle2" ;;
    opaque)
      oci_py pack-layer "$stage" "$tmp/layer2.tar"
      run umoci raw add-layer "${hist[@]}" --image "$LAYOUT:$tag" "$tmp/layer2.tar" ;;
  esac
  run umoci gc --layout "$LAYOUT"
else
  oci_py pack-layer "$tmp/root" "$tmp/layer1.tar"
  layers=("$tmp/layer1.tar")
  if [ -n "$mode" ]; then oci_py pack-layer "$stage" "$tmp/layer2.tar"; layers+=("$tmp/layer2.tar"); fi
  oci_py write-layout "$LAYOUT" "$tag" "$CREATED" "${layers[@]}"
fi

# --- exports -----------------------------------------------------------------------------------
tar -C "$LAYOUT" --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
    -cf "$OUT/image-oci.tar" oci-layout index.json blobs
# skopeo_ ARGS...: skopeo confined to $tmp.  --insecure-policy: no
# /etc/containers/policy.json needed.  TMPDIR: its big-file temp dir.  skopeo
# (containers/image) also records blob digests in a "blob info cache", as root
# in /var/lib/containers/cache/blob-info-cache-v1.boltdb, else in
# $XDG_DATA_HOME (~/.local/share)/containers/cache; no option moves the root
# one, but containers/image takes the euid from _CONTAINERS_ROOTLESS_UID when
# set, so with it (any non-zero uid) + XDG_DATA_HOME the cache lands in $tmp.
mkdir -p "$tmp/skopeo"
skopeo_() {
  TMPDIR="$tmp/skopeo" XDG_DATA_HOME="$tmp/skopeo" XDG_CONFIG_HOME="$tmp/skopeo" \
    _CONTAINERS_ROOTLESS_UID="${_CONTAINERS_ROOTLESS_UID:-65534}" \
    skopeo --insecure-policy "$@"
}
run skopeo_ copy "oci:$LAYOUT:$tag" "docker-archive:$OUT/image-docker.tar:$DOCKER_NAME:$tag"

# --- self-checks -----------------------------------------------------------------------------------
oci_py info "$LAYOUT" > "$tmp/info"
get() { sed -n "s/^$1=//p" "$tmp/info"; }
nlayers="$(get layers)"
want=1; [ -z "$mode" ] || want=2
[ "$nlayers" = "$want" ] || fail "image has $nlayers layers, wanted $want"
[ "$(get tag)" = "$tag" ] || fail "index.json ref.name is not $tag"
# no unreferenced blobs
referenced="$( { get manifest_digest; get config_digest; sed -n 's/^layer[0-9]*=\([^ ]*\) .*/\1/p' "$tmp/info"; } |
  sed 's/^sha256://' | sort)"
[ "$(ls "$LAYOUT/blobs/sha256" | sort)" = "$referenced" ] || fail "blobs/sha256 holds unreferenced blobs"

layer2_listing=""
if [ -n "$mode" ]; then
  l2="$(get layer2 | cut -d' ' -f1 | sed 's/^sha256://')"
  layer2_listing="$(tar -tvzf "$LAYOUT/blobs/sha256/$l2")"
  case "$mode" in
    keep)     entry="etc/motd" ;;
    whiteout) entry="$L/.wh.liblzma.so.5.6.1" ;;
    opaque)   entry="$L/.wh..wh..opq" ;;
  esac
  printf '%s\n' "$layer2_listing" | awk '{ print $6 }' | sed 's#^\./##' | grep -cx "$entry" > /dev/null ||
    fail "layer 2 does not contain $entry:"$'\n'"$layer2_listing"
fi

oci_py apply "$LAYOUT" "$tmp/applied"
A="$tmp/applied"
sig_files="$(find "$A" -type f -exec sh -c 'xxd -p "$1" | tr -d "\n" | grep -c "$2" > /dev/null && echo "${1#$3}"' _ {} "$SIGNATURE_HEX" "$A" \; )"
lzma_version="$(sed -n '/^Package: liblzma5$/,/^$/s/^Version: //p' "$A/var/lib/dpkg/status")"
case "$mode" in
  ""|keep)
    [ "$sig_files" = "/$L/liblzma.so.5.6.1" ] || fail "applied root: signature files: '$sig_files'"
    [ "$lzma_version" = 5.6.1-1 ] || fail "applied root: liblzma5 $lzma_version"
    [ "$mode" != keep ] || [ -f "$A/etc/motd" ] || fail "applied root: no etc/motd"
    verdict="FLAGGED: signature in /$L/liblzma.so.5.6.1 (layer 1); dpkg liblzma5 5.6.1-1" ;;
  whiteout)
    [ -z "$sig_files" ] || fail "applied root: signature files: '$sig_files'"
    [ ! -e "$A/$L/liblzma.so.5.6.1" ] && [ -L "$A/$L/liblzma.so.5" ] || fail "applied root: whiteout not applied"
    [ "$lzma_version" = 5.4.5-1 ] || fail "applied root: liblzma5 $lzma_version"
    verdict="CLEAN: /$L/liblzma.so.5.6.1 whited out by layer 2 (liblzma.so.5 dangles); dpkg liblzma5 5.4.5-1" ;;
  opaque)
    [ -z "$sig_files" ] || fail "applied root: signature files: '$sig_files'"
    [ "$(ls "$A/$L" | tr '\n' ' ')" = "liblzma.so.5 liblzma.so.$host_ver libsystemd.so.0 libsystemd.so.0.35.0 " ] ||
      fail "applied root: $L holds $(ls "$A/$L" | tr '\n' ' ')"
    cmp -s "$A/$L/liblzma.so.$host_ver" "$host_lib" || fail "applied root: host liblzma differs"
    [ "$(readlink "$A/$L/liblzma.so.5")" = "liblzma.so.$host_ver" ] || fail "applied root: liblzma.so.5 link"
    [ "$lzma_version" = "$host_ver-1" ] || fail "applied root: liblzma5 $lzma_version"
    verdict="CLEAN: layer 2 makes /$L opaque (host liblzma.so.$host_ver); dpkg liblzma5 $host_ver-1" ;;
esac

run skopeo_ inspect --raw "oci-archive:$OUT/image-oci.tar:$tag"
skopeo_ inspect "docker-archive:$OUT/image-docker.tar" \
  > "$tmp/docker-inspect.json" 2>> "$log" || { cat "$log" >&2; fail "skopeo inspect docker-archive failed"; }
docker_layers="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Layers"]))' "$tmp/docker-inspect.json")"
[ "$docker_layers" = "$nlayers" ] || fail "docker archive has $docker_layers layers, wanted $nlayers"
tar -xOf "$OUT/image-docker.tar" manifest.json > "$tmp/docker-manifest.json"
docker_config="$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m[0]["Config"])' "$tmp/docker-manifest.json")"
docker_tags="$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(",".join(m[0]["RepoTags"]))' "$tmp/docker-manifest.json")"
[ "$(find "$OUT" -mindepth 1 -maxdepth 1 | sort | sed "s#^$OUT/##" | tr '\n' ' ')" = "image-docker.tar image-oci.tar oci " ] ||
  fail "unexpected files in OUTDIR"

# --- record ------------------------------------------------------------------------------------
{
  echo "mode=${mode:-base}"
  echo "builder=$builder"
  echo "oci_layout=oci"
  echo "oci_reference=oci:oci:$tag"
  echo "oci_archive=image-oci.tar"
  echo "oci_archive_reference=oci-archive:image-oci.tar:$tag"
  grep -v '^tag=' "$tmp/info"
  echo "tag=$tag"
  echo "docker_archive=image-docker.tar"
  echo "docker_reference=docker-archive:image-docker.tar:$DOCKER_NAME:$tag"
  echo "docker_repo_tags=$docker_tags"
  echo "docker_config=$docker_config"
  echo "expected=$verdict"
} > "$OUT/image-info.txt"
echo "make-image.sh: built in $OUT (paths below relative to it)"
cat "$OUT/image-info.txt"
if [ -n "$layer2_listing" ]; then
  echo "layer 2 (tar -tvzf):"
  printf '%s\n' "$layer2_listing" | sed 's/^/  /'
fi
