#!/usr/bin/env bash
# make-archives.sh - build archives and packages for chainwatch's --path tests.
#
# Why this exists: `chainwatch --path FILE|DIR` scans plain files and the
# members of archives (tar plain/gz/xz/bz2/zst, .deb, .rpm, zip, nested ones)
# for CVE-2024-3094 indicators.  Tests need such archives that are built at
# test time from benign stand-ins, never from real malware:
# - the build-to-host.m4 / configure injection lines of the backdoored xz
#   5.6.x release tarballs (the exact three lines below, which are harmless
#   shell/m4 text on their own: nothing here ever runs them);
# - the ####Hello#### / ####World#### markers of tests/files/
#   bad-3-corrupt_lzma2.xz (with filler around them, no payload at all);
# - the fake liblzma of make-root.sh --signature (a tiny benign library whose
#   .text carries the 34-byte detection pattern f30f1efa...48894c2410 as a
#   never-called function), packaged as a .deb (dpkg-deb) and .rpm (rpmbuild).
# Each of them has a clean counterpart in OUTDIR/clean/.
#
# Needs: bash, coreutils, tar, gzip, xz, bzip2, zstd, dpkg-deb, rpmbuild,
# cpio or bsdcpio (+ rpm, rpm2cpio, binutils' ar, python3 for the self-checks),
# and what make-root.sh needs (gcc, binutils, xxd).  Runs as
# root or not.  Takes about 3-5 seconds (mostly rpmbuild).
#
# Usage:
#   make-archives.sh OUTDIR    build everything below in OUTDIR (created; must
#                              be absent or an empty directory)
#   make-archives.sh -h|--help this text
#
# The injection lines (stand-ins; exactly these bytes, each on its own line,
# in m4/build-to-host.m4 and in configure of the "bad" tree):
#   gl_am_configmake=`grep -aErls "#{4}[[:alnum:]]{5}#{4}$" $srcdir/ 2>/dev/null`
#   gl_path_map='tr "\t \-_" " \t_\-"'
#   gl_[$1]_prefix=`echo $gl_am_configmake | sed "s/.*\.//g"`
#
# OUTDIR after a run (exactly these files; file mtimes, owners and member order
# are pinned, so reruns on the same host give byte-identical files):
#   xz-5.6.1.tar            ustar of the tree xz-5.6.1/ (below)
#   xz-5.6.1.tar.gz         the same tar, gzip -9 -n
#   xz-5.6.1.tar.xz         xz -6 (single-threaded)
#   xz-5.6.1.tar.bz2        bzip2 -9
#   xz-5.6.1.tar.zst        zstd -19
#   xz-5.6.1.zip            zip -X (deflate), directory entries included
#                           (python3 zipfile when there is no zip binary)
#   xz-5.6.1-nested.tar.gz  gzip'd ustar holding dist/ and dist/xz-5.6.1.tar.xz
#                           (the .tar.xz above, byte for byte)
#   xz-5.6.1-renamed.tar    ustar holding notes.txt: the .tar.gz above byte for
#                           byte, under a name no archive has (an archive is
#                           known by its first bytes, not its name)
#   liblzma5_5.6.1-1_amd64.deb        dpkg-deb, data.tar.xz (dpkg's default)
#   liblzma5_5.6.1-1_amd64-gzip.deb   same package, data.tar.gz  (-Zgzip)
#   liblzma5_5.6.1-1_amd64-zstd.deb   same package, data.tar.zst (-Zzstd)
#   liblzma5_5.6.1-1_amd64-none.deb   same package, data.tar     (-Znone)
#       Package liblzma5, Source xz-utils, Version 5.6.1-1, amd64, Multi-Arch
#       same; DEBIAN/{control,md5sums}; data (owner root:root):
#         ./usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1   the --signature liblzma
#         ./usr/lib/x86_64-linux-gnu/liblzma.so.5 -> liblzma.so.5.6.1
#         ./usr/share/doc/liblzma5/copyright
#   xz-libs-5.6.1-1.fc40.x86_64.rpm        rpmbuild, Debian's default payload
#                                          compression (gzip, see below)
#   xz-libs-5.6.1-1.fc40.x86_64-zstd.rpm   %_binary_payload w19.zstdio
#   xz-libs-5.6.1-1.fc40.x86_64-xz.rpm     %_binary_payload w9.xzdio
#   xz-libs-5.6.1-1.fc40.x86_64-bzip2.rpm  %_binary_payload w9.bzdio
#       Name xz-libs (source rpm xz-5.6.1-1.fc40.src.rpm), AutoReqProv: no;
#       files /usr/lib64/liblzma.so.5.6.1 (0755, the --signature liblzma) and
#       /usr/lib64/liblzma.so.5 -> liblzma.so.5.6.1 (build time, host name
#       and file mtimes pinned, so reruns give identical .rpm files too).
#   xz-libs-5.6.1-1.fc40.x86_64-hardlink.rpm  gzip payload; %install makes
#       /usr/lib64/liblzma.so.5 a HARD link of liblzma.so.5.6.1 (the
#       --signature liblzma): rpm's cpio payload stores the bytes with the
#       last name (liblzma.so.5.6.1) and liblzma.so.5 with none (checked).
#   liblzma-hardlinks.cpio  newc cpio (`cpio -o -H newc`, else bsdcpio) of
#       usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1, liblzma.so.5 and
#       liblzma.so.5.6.1.bak, three names of the --signature liblzma, listed
#       in that order: the bytes are with .bak only (the last), the other two
#       names have none (checked; GNU cpio writes .so.5 first).
#   liblzma-hardlinks.tar   ustar of the same three names: liblzma.so.5.6.1
#       with the bytes, then liblzma.so.5 and .bak as hard links to it.
#   clean/   the clean counterpart of every file above:
#       clean/xz-5.6.1.{tar,tar.gz,tar.xz,tar.bz2,tar.zst,zip},
#       clean/xz-5.6.1-nested.tar.gz, clean/xz-5.6.1-renamed.tar: the same
#         names and layout, but m4/ and
#         configure without the three lines and bad-3-corrupt_lzma2.xz with
#         the same filler and no markers (the version in a source archive's
#         name is not evidence);
#       clean/liblzma5_H-1_amd64{,-gzip,-zstd,-none}.deb and
#       clean/xz-libs-H-1.fc40.x86_64{,-zstd,-xz,-bzip2,-hardlink}.rpm and
#       clean/liblzma-hardlinks.{cpio,tar} (names liblzma.so.H, .so.5, .so.H.bak):
#         the host's real
#         liblzma (make-root.sh --host-liblzma) as liblzma.so.H, where H is
#         the host library's version (5.4.1 on Debian 12), package versions
#         H-1 / H-1.fc40 (the version inside a package IS evidence).
#
# The tree xz-5.6.1/ (all files 0644, directories 0755, mtime 2024-03-09):
#   README                              harmless text
#   configure                           a short /bin/sh stand-in + the 3 lines
#   m4/build-to-host.m4                 a short m4 stand-in + the 3 lines
#   tests/files/bad-3-corrupt_lzma2.xz  the xz magic FD 37 7A 58 5A 00 (so it
#       looks like a corrupt .xz, like the real one; it is NOT a valid xz
#       stream), 1024 filler bytes, "####Hello####", 512 filler bytes,
#       "####World####", 256 filler bytes.  Filler: bytes of sha256 chains
#       over a fixed seed, no '#' bytes; each marker occurs exactly once.
#
# rpm payloads: Debian 12's rpm 4.18 leaves %_binary_payload undefined
# (commented out in /usr/lib/rpm/macros), and rpmbuild then falls back to
# w9.gzdio, so the unsuffixed .rpm has PAYLOADCOMPRESSOR gzip.  The script
# checks each package's PAYLOADCOMPRESSOR tag.
#
# At the end the script checks (exit 1 on failure): every bad archive lists
# the expected members, the three lines occur (exactly, as whole lines) in the
# bad m4/configure and not in the clean ones, the markers occur once each in
# the bad test file only, the signature bytes are in every bad package's
# liblzma and in no clean file, and the rpm payload compressors are as named.
# Then it prints a manifest: file -> contents -> expected verdict.  Nothing is
# left outside OUTDIR: its temporary directory is removed on exit, and rpm and
# rpmbuild get %_dbpath inside it (Debian's rpm would create ~/.rpmdb).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EPOCH=1709942400                      # 2024-03-09 00:00:00 UTC (xz 5.6.1 release day)
SIGNATURE_HEX=f30f1efa554889f54c89ce5389fb81e7000000804883ec28488954241848894c2410
TRIPLET=x86_64-linux-gnu
TREE=xz-5.6.1

die() { echo "make-archives.sh: $*" >&2; exit 2; }
fail() { echo "make-archives.sh: internal error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

outdir=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -*)        die "unknown option: $1 (see --help)" ;;
    *)         [ -z "$outdir" ] || die "more than one OUTDIR given"; outdir="$1" ;;
  esac
  shift
done
[ -n "$outdir" ] || { usage >&2; exit 2; }

for t in tar gzip xz bzip2 zstd ar dpkg-deb rpmbuild rpm rpm2cpio xxd sha256sum python3; do
  command -v "$t" >/dev/null || die "needs $t"
done
CPIO="$(command -v cpio || command -v bsdcpio)" || die "needs cpio or bsdcpio (apt install cpio)"

if [ -e "$outdir" ] || [ -L "$outdir" ]; then
  [ -d "$outdir" ] && [ ! -L "$outdir" ] || die "OUTDIR exists and is not a directory: $outdir"
  [ -z "$(ls -A "$outdir")" ] || die "OUTDIR is not empty (refusing to overwrite): $outdir"
fi
mkdir -p "$outdir/clean"
OUT="$(cd "$outdir" && pwd)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-archives.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"                     # dpkg-deb wants sane permissions on package trees
export SOURCE_DATE_EPOCH=$EPOCH TZ=UTC LC_ALL=C
umask 022
# Debian's rpm defaults %_dbpath to ~/.rpmdb and `rpm -qp` creates it there:
# keep every rpm/rpmbuild database access inside $tmp.
mkdir -p "$tmp/rpmdb"
RPMDB=(--define "_dbpath $tmp/rpmdb")

# --- the libraries (make-root.sh) --------------------------------------------------
"$HERE/make-root.sh" "$tmp/root-bad" --signature > /dev/null
"$HERE/make-root.sh" "$tmp/root-clean" --host-liblzma > /dev/null
bad_lib="$tmp/root-bad/usr/lib/$TRIPLET/liblzma.so.5.6.1"
clean_lib="$(readlink -f "$tmp/root-clean/usr/lib/$TRIPLET/liblzma.so.5")"
[ -f "$bad_lib" ] && [ -f "$clean_lib" ] || fail "make-root.sh did not produce the libraries"
host_ver="${clean_lib##*/liblzma.so.}"
[[ "$host_ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "unexpected host liblzma name: $clean_lib"

# has_sig FILE: the signature bytes occur in FILE (grep -c, not -q: no early
# exit and SIGPIPE under pipefail)
has_sig() { xxd -p "$1" | tr -d '\n' | grep -c "$SIGNATURE_HEX" > /dev/null; }
has_sig "$bad_lib" || fail "signature missing from make-root.sh --signature liblzma"
! has_sig "$clean_lib" || fail "signature bytes in the host liblzma?!"

# --- the source trees ----------------------------------------------------------------
LINE1='gl_am_configmake=`grep -aErls "#{4}[[:alnum:]]{5}#{4}$" $srcdir/ 2>/dev/null`'
LINE2='gl_path_map='\''tr "\t \-_" " \t_\-"'\'
LINE3='gl_[$1]_prefix=`echo $gl_am_configmake | sed "s/.*\.//g"`'

# pad_filler N: N deterministic pseudo-random bytes without '#' (a sha256
# chain over a fixed seed, '#' bytes dropped)
pad_filler() {
  local n="$1" h="chainwatch-filler-$1" f="$tmp/filler"
  : > "$f"
  while [ "$(stat -c %s "$f")" -lt "$n" ]; do
    h="$(printf '%s' "$h" | sha256sum | cut -c1-64)"
    printf '%s' "$h" | xxd -r -p | tr -d '#' >> "$f"
  done
  head -c "$n" "$f"
}

# make_tree DIR bad|clean
make_tree() {
  local t="$1/$TREE" kind="$2"
  mkdir -p "$t/m4" "$t/tests/files"
  cat > "$t/README" <<'EOF'
XZ Utils 5.6.1 -- chainwatch test fixture

This is NOT the XZ Utils source.  It is a tiny benign stand-in built by
chainwatch's Tests/Fixtures/make-archives.sh to test archive scanning.
Nothing in this tree is meant to be built or run.
EOF
  {
    echo 'dnl build-to-host.m4 -- chainwatch test fixture (benign stand-in, not gnulib'"'"'s file)'
    echo 'dnl serial 3'
    echo 'AC_DEFUN([gl_BUILD_TO_HOST],'
    echo '['
    echo '  gl_final_[$1]="$[$1]"'
    [ "$kind" = clean ] || printf '%s\n' "$LINE1" "$LINE2" "$LINE3"
    echo '  AC_SUBST([$1_c])'
    echo '])'
  } > "$t/m4/build-to-host.m4"
  {
    echo '#! /bin/sh'
    echo '# configure -- chainwatch test fixture (benign stand-in; running it does nothing)'
    echo 'exit 0'
    [ "$kind" = clean ] || printf '%s\n' "$LINE1" "$LINE2" "$LINE3"
    echo 'gl_final_localedir="$localedir"'
  } > "$t/configure"
  {
    printf '\xfd7zXZ\x00'
    pad_filler 1024
    [ "$kind" = clean ] || printf '####Hello####'
    pad_filler 512
    [ "$kind" = clean ] || printf '####World####'
    pad_filler 256
  } > "$t/tests/files/bad-3-corrupt_lzma2.xz"
  find "$t" -exec touch -h -d "@$EPOCH" {} +
}

TAR_OPTS=(--format=ustar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner)

# make_source_archives WORKDIR DEST: the tree's archives into DEST
make_source_archives() {
  local w="$1" d="$2"
  tar -C "$w" "${TAR_OPTS[@]}" -cf "$d/$TREE.tar" "$TREE"
  gzip -9 -n -c "$d/$TREE.tar" > "$d/$TREE.tar.gz"
  xz -6 --threads=1 -c "$d/$TREE.tar" > "$d/$TREE.tar.xz"
  bzip2 -9 -c "$d/$TREE.tar" > "$d/$TREE.tar.bz2"
  zstd -19 -q --no-progress -c "$d/$TREE.tar" > "$d/$TREE.tar.zst"
  if command -v zip >/dev/null; then
    (cd "$w" && find "$TREE" | sort | zip -X -q -@ "$d/$TREE.zip")
  else
    python3 - "$w" "$TREE" "$d/$TREE.zip" <<'EOF'
import os, sys, zipfile
base, tree, out = sys.argv[1:]
paths = []
for root, dirs, files in os.walk(os.path.join(base, tree)):
    for n in dirs: paths.append(os.path.join(root, n) + "/")
    for n in files: paths.append(os.path.join(root, n))
paths.append(os.path.join(base, tree) + "/")
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for p in sorted(paths):
        name = os.path.relpath(p, base) + ("/" if p.endswith("/") else "")
        info = zipfile.ZipInfo(name, date_time=(2024, 3, 9, 0, 0, 0))
        if name.endswith("/"):
            info.external_attr = (0o40755 << 16) | 0x10
            z.writestr(info, b"")
        else:
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(p, "rb") as f: z.writestr(info, f.read())
EOF
  fi
  mkdir -p "$w/nested/dist"
  cp "$d/$TREE.tar.xz" "$w/nested/dist/"
  find "$w/nested" -exec touch -h -d "@$EPOCH" {} +
  tar -C "$w/nested" "${TAR_OPTS[@]}" -cf - dist | gzip -9 -n > "$d/$TREE-nested.tar.gz"
  mkdir -p "$w/renamed"
  cp "$d/$TREE.tar.gz" "$w/renamed/notes.txt"
  touch -h -d "@$EPOCH" "$w/renamed/notes.txt"
  tar -C "$w/renamed" "${TAR_OPTS[@]}" -cf "$d/$TREE-renamed.tar" notes.txt
}

# --- .deb ----------------------------------------------------------------------------
# make_debs LIB VERSION DEST: liblzma5_VERSION_amd64{,-gzip,-zstd,-none}.deb
make_debs() {
  local lib="$1" version="$2" d="$3" name t
  name="$(basename "$lib")"
  t="$tmp/deb-$version"
  install -D -m 0644 "$lib" "$t/usr/lib/$TRIPLET/$name"
  ln -s "$name" "$t/usr/lib/$TRIPLET/liblzma.so.5"
  mkdir -p "$t/usr/share/doc/liblzma5" "$t/DEBIAN"
  printf 'chainwatch test fixture for Debian package liblzma5; not the real package.\n' \
    > "$t/usr/share/doc/liblzma5/copyright"
  (cd "$t" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort |
     xargs -d '\n' md5sum) > "$t/DEBIAN/md5sums"
  cat > "$t/DEBIAN/control" <<EOF
Package: liblzma5
Source: xz-utils
Version: $version
Architecture: amd64
Multi-Arch: same
Maintainer: chainwatch fixtures <chainwatch@example.invalid>
Installed-Size: $(( ($(stat -c %s "$lib") + 1023) / 1024 + 4 ))
Depends: libc6 (>= 2.34)
Section: libs
Priority: optional
Homepage: https://tukaani.org/xz/
Description: XZ-format compression library (chainwatch test fixture)
 Built by Tests/Fixtures/make-archives.sh; contains only benign test files.
EOF
  find "$t" -exec touch -h -d "@$EPOCH" {} +
  local base="$d/liblzma5_${version}_amd64"
  dpkg-deb --root-owner-group -Zxz   -b "$t" "$base.deb"      > /dev/null
  dpkg-deb --root-owner-group -Zgzip -b "$t" "$base-gzip.deb" > /dev/null
  dpkg-deb --root-owner-group -Zzstd -b "$t" "$base-zstd.deb" > /dev/null
  dpkg-deb --root-owner-group -Znone -b "$t" "$base-none.deb" > /dev/null
}

# --- .rpm ----------------------------------------------------------------------------
# make_rpms LIB VERSION RELEASE DEST: xz-libs-V-R.x86_64{,-zstd,-xz,-bzip2}.rpm
make_rpms() {
  local lib="$1" version="$2" release="$3" d="$4" name s spec top suffix payload
  name="$(basename "$lib")"
  s="$tmp/rpm-stage-$version"
  install -D -m 0755 "$lib" "$s/usr/lib64/$name"
  ln -s "$name" "$s/usr/lib64/liblzma.so.5"
  find "$s" -exec touch -h -d "@$EPOCH" {} +
  spec="$tmp/xz-$version.spec"
  cat > "$spec" <<EOF
Name: xz
Version: $version
Release: $release
Summary: chainwatch fixture
License: none
AutoReqProv: no
%description
chainwatch test fixture, not the real package.
%package libs
Summary: chainwatch fixture
AutoReqProv: no
%description libs
chainwatch test fixture, not the real package (built by make-archives.sh).
%install
cp -a '$s/.' %{buildroot}/
%files libs
/usr/lib64/$name
/usr/lib64/liblzma.so.5
EOF
  for suffix in "" -zstd -xz -bzip2; do
    case "$suffix" in
      "")     payload=() ;;
      -zstd)  payload=(--define "_binary_payload w19.zstdio") ;;
      -xz)    payload=(--define "_binary_payload w9.xzdio") ;;
      -bzip2) payload=(--define "_binary_payload w9.bzdio") ;;
    esac
    build_rpm "$spec" "$tmp/top-$version$suffix" ${payload[@]+"${payload[@]}"}
    cp "$tmp/top-$version$suffix/RPMS/x86_64/xz-libs-$version-$release.x86_64.rpm" "$d/xz-libs-$version-$release.x86_64$suffix.rpm"
  done
}

# build_rpm SPEC TOPDIR [rpmbuild options]: build time, host name and mtimes pinned
build_rpm() {
  local spec="$1" top="$2"
  shift 2
  rpmbuild -bb --nodeps --quiet "${RPMDB[@]}" --define "_topdir $top" \
    --define "_build_id_links none" --define "debug_package %{nil}" --define "__os_install_post %{nil}" \
    --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
    --define "_buildhost chainwatch-fixture" "$@" "$spec" > "$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; die "rpmbuild $spec failed"; }
}

# make_hardlink_rpm LIB VERSION RELEASE DEST: xz-libs-V-R.x86_64-hardlink.rpm, whose
# liblzma.so.5 is a hard link of the library (rpm puts the bytes with the last name)
make_hardlink_rpm() {
  local lib="$1" version="$2" release="$3" d="$4" name spec
  name="$(basename "$lib")"
  spec="$tmp/xz-$version-hardlink.spec"
  cat > "$spec" <<EOF
Name: xz
Version: $version
Release: $release
Summary: chainwatch fixture
License: none
AutoReqProv: no
%description
chainwatch test fixture, not the real package.
%package libs
Summary: chainwatch fixture
AutoReqProv: no
%description libs
chainwatch test fixture, not the real package (built by make-archives.sh).
%install
install -D -m 0755 '$lib' %{buildroot}/usr/lib64/$name
ln %{buildroot}/usr/lib64/$name %{buildroot}/usr/lib64/liblzma.so.5
%files libs
/usr/lib64/$name
/usr/lib64/liblzma.so.5
EOF
  build_rpm "$spec" "$tmp/top-$version-hardlink"
  cp "$tmp/top-$version-hardlink/RPMS/x86_64/xz-libs-$version-$release.x86_64.rpm" "$d/xz-libs-$version-$release.x86_64-hardlink.rpm"
}

# make_link_archives LIB DEST: liblzma-hardlinks.cpio and .tar, three names of LIB
make_link_archives() {
  local lib="$1" d="$2" name w f
  name="$(basename "$lib")"
  w="$tmp/links-$name"
  f="usr/lib/$TRIPLET"
  mkdir -p "$w/$f"
  install -m 0755 "$lib" "$w/$f/$name"
  ln "$w/$f/$name" "$w/$f/liblzma.so.5"
  ln "$w/$f/$name" "$w/$f/$name.bak"
  touch -h -d "@$EPOCH" "$w/$f/$name"
  # GNU cpio spells the format -H newc, bsdcpio --format newc; both put the bytes with the last name.
  if [ "${CPIO##*/}" = cpio ]; then set -- -o -H newc --quiet; else set -- -o --format newc --quiet; fi
  (cd "$w" && printf '%s
' "$f/$name" "$f/liblzma.so.5" "$f/$name.bak" | "$CPIO" "$@" > "$d/liblzma-hardlinks.cpio") ||
    die "$CPIO failed"
  tar -C "$w" --format=ustar --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner -cf "$d/liblzma-hardlinks.tar" \
    "$f/$name" "$f/liblzma.so.5" "$f/$name.bak"
}

# --- build both sets ---------------------------------------------------------------------
mkdir -p "$tmp/w-bad" "$tmp/w-clean"
make_tree "$tmp/w-bad" bad
make_tree "$tmp/w-clean" clean
make_source_archives "$tmp/w-bad" "$OUT"
make_source_archives "$tmp/w-clean" "$OUT/clean"
make_debs "$bad_lib" 5.6.1-1 "$OUT"
make_debs "$clean_lib" "$host_ver-1" "$OUT/clean"
make_rpms "$bad_lib" 5.6.1 1.fc40 "$OUT"
make_rpms "$clean_lib" "$host_ver" 1.fc40 "$OUT/clean"
make_hardlink_rpm "$bad_lib" 5.6.1 1.fc40 "$OUT"
make_hardlink_rpm "$clean_lib" "$host_ver" 1.fc40 "$OUT/clean"
make_link_archives "$bad_lib" "$OUT"
make_link_archives "$clean_lib" "$OUT/clean"

# --- self-checks ----------------------------------------------------------------------------
# whole-line fixed-string matches of the three lines
lines_in() { grep -cxF -e "$LINE1" -e "$LINE2" -e "$LINE3" "$1" || true; }
for kind in bad clean; do
  t="$tmp/w-$kind/$TREE"
  want=3; [ "$kind" = bad ] || want=0
  for f in m4/build-to-host.m4 configure; do
    [ "$(lines_in "$t/$f")" = "$want" ] || fail "$kind $f: expected $want injection lines"
  done
  x="$t/tests/files/bad-3-corrupt_lzma2.xz"
  want=1; [ "$kind" = bad ] || want=0
  for m in '####Hello####' '####World####'; do
    [ "$(grep -oaF "$m" "$x" | wc -l)" = "$want" ] || fail "$kind test file: '$m' not $want time(s)"
  done
  [ "$(grep -oa '#' "$x" | wc -l)" = $((want * 16)) ] || fail "$kind test file: stray '#' in filler"
done

members="$(printf '%s\n' "$TREE/" "$TREE/README" "$TREE/configure" "$TREE/m4/" \
  "$TREE/m4/build-to-host.m4" "$TREE/tests/" "$TREE/tests/files/" \
  "$TREE/tests/files/bad-3-corrupt_lzma2.xz")"
for d in "$OUT" "$OUT/clean"; do
  for f in "$TREE.tar" "$TREE.tar.gz" "$TREE.tar.xz" "$TREE.tar.bz2" "$TREE.tar.zst"; do
    case "$f" in *.zst) got="$(zstd -dc "$d/$f" | tar -tf -)" ;; *) got="$(tar -tf "$d/$f")" ;; esac
    [ "$got" = "$members" ] || fail "$d/$f members: $got"
  done
  got="$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$d/$TREE.zip" 2>/dev/null ||
         unzip -Z1 "$d/$TREE.zip")"
  [ "$got" = "$members" ] || fail "$d/$TREE.zip members: $got"
  [ "$(tar -tzf "$d/$TREE-nested.tar.gz")" = "$(printf 'dist/\ndist/%s.tar.xz' "$TREE")" ] ||
    fail "$d/$TREE-nested.tar.gz members"
  cmp -s <(tar -xOzf "$d/$TREE-nested.tar.gz" "dist/$TREE.tar.xz") "$d/$TREE.tar.xz" ||
    fail "$d/$TREE-nested.tar.gz: inner .tar.xz differs"
done
# the bad m4 inside the bad tar really carries the lines; the clean one not
[ "$(tar -xOf "$OUT/$TREE.tar" "$TREE/m4/build-to-host.m4" | grep -cxF -e "$LINE1" -e "$LINE2" -e "$LINE3")" = 3 ] ||
  fail "bad tar: m4 lines missing"

# packages: signature in the bad ones, not in the clean ones; payload compressors
check_deb() {  # check_deb FILE LIBNAME VERSION yes|no DATAMEMBER
  local f="$1" lib="$2" version="$3" sig="$4" member="$5"
  [ "$(dpkg-deb -f "$f" Package Version Architecture)" = "$(printf 'Package: liblzma5\nVersion: %s\nArchitecture: amd64' "$version")" ] ||
    fail "$f: control fields"
  ar t "$f" | grep -cx "$member" > /dev/null || fail "$f: no $member member"
  dpkg-deb --fsys-tarfile "$f" | tar -xOf - "./usr/lib/$TRIPLET/$lib" > "$tmp/deblib"
  [ "$(dpkg-deb -c "$f" | awk '$6 ~ /liblzma.so.5$/ { print $6, $7, $8 }')" = "./usr/lib/$TRIPLET/liblzma.so.5 -> $lib" ] ||
    fail "$f: liblzma.so.5 symlink"
  if [ "$sig" = yes ]; then has_sig "$tmp/deblib" || fail "$f: no signature"
  else ! has_sig "$tmp/deblib" || fail "$f: signature in a clean package"; fi
}
check_rpm() {  # check_rpm FILE LIBNAME yes|no COMPRESSOR
  local f="$1" lib="$2" sig="$3" comp="$4" libpath
  if [ "$sig" = yes ]; then libpath="$bad_lib"; else libpath="$clean_lib"; fi
  [ "$(rpm "${RPMDB[@]}" -qp --qf '%{PAYLOADCOMPRESSOR}' "$f" 2>/dev/null)" = "$comp" ] ||
    fail "$f: payload compressor $(rpm "${RPMDB[@]}" -qp --qf '%{PAYLOADCOMPRESSOR}' "$f" 2>/dev/null), wanted $comp"
  # rpm's own view of the files (no cpio needed): digest of the library, link target
  [ "$(rpm "${RPMDB[@]}" -qp --qf '[%{FILENAMES} %{FILEDIGESTS} %{FILELINKTOS}\n]' "$f" 2>/dev/null)" = \
    "$(printf '/usr/lib64/liblzma.so.5  %s\n/usr/lib64/%s %s ' "$lib" "$lib" "$(sha256sum < "$libpath" | cut -c1-64)")" ] ||
    fail "$f: payload files"
  rpm2cpio "$f" > "$tmp/payload"      # the decompressed payload (newc cpio, file data verbatim)
  if [ "$sig" = yes ]; then has_sig "$tmp/payload" || fail "$f: no signature"
  else ! has_sig "$tmp/payload" || fail "$f: signature in a clean package"; fi
}
for v in "5.6.1-1:$OUT:liblzma.so.5.6.1:yes" "$host_ver-1:$OUT/clean:liblzma.so.$host_ver:no"; do
  IFS=: read -r version d lib sig <<< "$v"
  b="$d/liblzma5_${version}_amd64"
  check_deb "$b.deb" "$lib" "$version" "$sig" data.tar.xz
  check_deb "$b-gzip.deb" "$lib" "$version" "$sig" data.tar.gz
  check_deb "$b-zstd.deb" "$lib" "$version" "$sig" data.tar.zst
  check_deb "$b-none.deb" "$lib" "$version" "$sig" data.tar
  b="$d/xz-libs-${version%-1}-1.fc40.x86_64"
  check_rpm "$b.rpm" "$lib" "$sig" gzip
  check_rpm "$b-zstd.rpm" "$lib" "$sig" zstd
  check_rpm "$b-xz.rpm" "$lib" "$sig" xz
  check_rpm "$b-bzip2.rpm" "$lib" "$sig" bzip2
done
# hard links: which name carries the bytes (newc headers: name, size, link count)
newc_list() {
  python3 -c '
import sys
b = sys.stdin.buffer.read(); i = 0
while b[i:i + 6] == b"070701":
    h = b[i:i + 110]; nl, size, ns = int(h[38:46], 16), int(h[54:62], 16), int(h[94:102], 16)
    name = b[i + 110:i + 110 + ns - 1].decode()
    if name == "TRAILER!!!": break
    print(name, size, nl)
    i = (i + 110 + ns + 3) & ~3; i = (i + size + 3) & ~3'
}
for v in "$OUT:liblzma.so.5.6.1:$bad_lib" "$OUT/clean:liblzma.so.$host_ver:$clean_lib"; do
  IFS=: read -r d lib libpath <<< "$v"
  n="$(stat -c %s "$libpath")"
  f="$d/xz-libs-${lib#liblzma.so.}-1.fc40.x86_64-hardlink.rpm"
  [ "$(rpm2cpio "$f" | newc_list)" = "$(printf './usr/lib64/liblzma.so.5 0 2\n./usr/lib64/%s %s 2' "$lib" "$n")" ] ||
    fail "$f: payload is not liblzma.so.5 (no bytes) then $lib (the bytes), two links: $(rpm2cpio "$f" | newc_list)"
  l="usr/lib/$TRIPLET"
  [ "$(newc_list < "$d/liblzma-hardlinks.cpio" | sort)" = "$(printf '%s 0 3\n%s 0 3\n%s %s 3' "$l/liblzma.so.5" "$l/$lib" "$l/$lib.bak" "$n" | sort)" ] ||
    fail "$d/liblzma-hardlinks.cpio: $(newc_list < "$d/liblzma-hardlinks.cpio")"
  [ "$(tar -tvf "$d/liblzma-hardlinks.tar" | grep -c " link to $l/$lib\$")" = 2 ] || fail "$d/liblzma-hardlinks.tar: two hard links"
  cmp -s <(tar -xOf "$d/$TREE-renamed.tar" notes.txt) "$d/$TREE.tar.gz" || fail "$d/$TREE-renamed.tar: notes.txt differs"
done
if has_sig <(rpm2cpio "$OUT/xz-libs-5.6.1-1.fc40.x86_64-hardlink.rpm"); then :; else fail "hardlink rpm: no signature"; fi

# no clean file anywhere (decompressed) carries the signature
for f in "$OUT"/clean/*; do
  case "$f" in
    *.deb) dpkg-deb --fsys-tarfile "$f" ;;
    *.rpm) rpm2cpio "$f" ;;
    *.cpio) cat "$f" ;;
    *.zip) cat "$f" ;;   # deflated, but the same tree as the tar forms checked here
    *.zst) zstd -dc "$f" ;;
    *)     tar -xOf "$f" ;;
  esac > "$tmp/payload"
  if has_sig "$tmp/payload"; then fail "signature bytes in $f"; fi
done

# --- manifest --------------------------------------------------------------------------------
H="$host_ver"
cat <<EOF
make-archives.sh: built in $OUT (host liblzma version H = $H)
file -> contents -> expected verdict
  $TREE.tar, .tar.gz, .tar.xz, .tar.bz2, .tar.zst, .zip
      -> tree $TREE/: m4/build-to-host.m4 and configure with the 3 injection lines,
         tests/files/bad-3-corrupt_lzma2.xz with both markers, README
      -> FLAGGED: injection lines in $TREE/m4/build-to-host.m4 and $TREE/configure,
         markers in $TREE/tests/files/bad-3-corrupt_lzma2.xz
  $TREE-nested.tar.gz
      -> dist/$TREE.tar.xz (the archive above) inside a .tar.gz
      -> FLAGGED, same findings, member path dist/$TREE.tar.xz -> $TREE/...
  $TREE-renamed.tar
      -> notes.txt: $TREE.tar.gz under a name no archive has
      -> FLAGGED, same findings, member path notes.txt -> $TREE/...
  xz-libs-5.6.1-1.fc40.x86_64-hardlink.rpm, liblzma-hardlinks.cpio, liblzma-hardlinks.tar
      -> the signature liblzma under two (rpm) or three names, hard links of one file
      -> FLAGGED: signature under every name (rpm and cpio: the bytes are with the last name only)
  liblzma5_5.6.1-1_amd64.deb (data.tar.xz), -gzip.deb, -zstd.deb, -none.deb
      -> liblzma5 5.6.1-1: usr/lib/$TRIPLET/liblzma.so.5.6.1 with the signature
      -> FLAGGED: signature in ./usr/lib/$TRIPLET/liblzma.so.5.6.1
         (and package liblzma5 5.6.1-1 is a vulnerable version)
  xz-libs-5.6.1-1.fc40.x86_64.rpm (gzip payload), -zstd.rpm, -xz.rpm, -bzip2.rpm
      -> xz-libs 5.6.1-1.fc40: /usr/lib64/liblzma.so.5.6.1 with the signature
      -> FLAGGED: signature in /usr/lib64/liblzma.so.5.6.1
         (and xz-libs 5.6.1 is a vulnerable version)
  clean/$TREE.tar, .tar.gz, .tar.xz, .tar.bz2, .tar.zst, .zip, clean/$TREE-nested.tar.gz
      -> same layout, no injection lines, no markers
      -> CLEAN
  clean/liblzma5_${H}-1_amd64.deb, -gzip.deb, -zstd.deb, -none.deb
      -> liblzma5 ${H}-1: the host's real liblzma.so.$H
      -> CLEAN
  clean/xz-libs-${H}-1.fc40.x86_64.rpm (gzip), -zstd.rpm, -xz.rpm, -bzip2.rpm, -hardlink.rpm
      -> xz-libs ${H}-1.fc40: the host's real liblzma.so.$H at /usr/lib64
      -> CLEAN
  clean/liblzma-hardlinks.cpio, clean/liblzma-hardlinks.tar, clean/$TREE-renamed.tar
      -> the host's real liblzma under three names; the clean tree's .tar.gz as notes.txt
      -> CLEAN
EOF
