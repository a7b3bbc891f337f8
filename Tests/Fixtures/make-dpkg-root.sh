#!/usr/bin/env bash
# make-dpkg-root.sh - build a fake Debian 12 root whose dpkg database is
# written by the REAL dpkg, for chainwatch's package-integrity tests.
#
# Why this exists: chainwatch checks that each installed file's content
# still matches the md5sum its package recorded in
# /var/lib/dpkg/info/PKG.md5sums.  Hand-written databases (make-root.sh)
# can't show what dpkg really records in the tricky cases, so here tiny
# .debs are built with `dpkg-deb -b` and installed with
# `dpkg --root=OUTDIR -i`, diversions are made with `dpkg-divert --root`,
# and only then is one library tampered with.  The ELF files are tiny benign
# C libraries/programs (src/dpkg/*.c) compiled at run time with gcc + GNU ld
# (toolchain.sh; override gcc with CHAINWATCH_GCC).  Needs: gcc, binutils
# (readelf), dpkg (dpkg, dpkg-deb, dpkg-divert), coreutils.  Run as root or
# not: as non-root, dpkg gets --force-not-root and the files belong to you.
# Checked against debsums (`debsums --root OUTDIR -a`), which is not needed
# to build the root.
#
# Usage:
#   make-dpkg-root.sh OUTDIR [options]  build the root in OUTDIR (created;
#                                       must be absent or an empty directory)
#
# Options:
#   --no-tamper   leave libtampered.so.1 as installed: every file then
#                 matches its package's md5sums
#   --debs DIR    also copy the built .debs (NAME_VERSION_amd64.deb) to DIR
#                 (created), e.g. for `debsums --generate=... -p DIR`
#   --changelog-date DATE
#                 give every package a usr/share/doc/PKG/changelog.Debian.gz
#                 (gzip -9n, as dh_installchangelogs) whose first entry is
#                 dated DATE, an RFC 2822 date (`date -R`), after an older
#                 entry of 2023-01-10 (package-age tests); default: none
#   -h, --help    this text
#
# The root (x86-64, merged /usr, relative symlinks only; L = usr/lib/x86_64-linux-gnu):
#   lib -> usr/lib, lib64 -> usr/lib64, bin -> usr/bin, sbin -> usr/sbin
#   etc/os-release -> ../usr/lib/os-release (Debian 12 bookworm, as base-files)
#   etc/ld.so.conf + etc/ld.so.conf.d/{libc,x86_64-linux-gnu}.conf (Debian's)
#
#   file                              package (dpkg path)            verdict
#   L/libclean.so.1                   libclean1                      matches
#   L/libtampered.so.1                libtampered1                   MODIFIED
#                                     (one .rodata byte: "pristine" -> "Pristine";
#                                     same size and mtime; matches with --no-tamper)
#   L/libold.so.1                     libold1, listed as             matches
#                                     /lib/x86_64-linux-gnu/libold.so.1 (the .deb
#                                     ships lib/...; dpkg unpacked it through the
#                                     lib -> usr/lib symlink)
#   L/libdiv.so.1.distrib             libdiv1, listed as             matches
#                                     /usr/lib/x86_64-linux-gnu/libdiv.so.1 (diverted
#                                     by libdiv-override)
#   L/libdiv.so.1                     libdiv-override (the diverter) matches
#                                     (different content from libdiv1's)
#   L/libnosums.so.1                  libnosums1, whose .deb has NO  matches
#                                     DEBIAN/md5sums (see below)
#   L/libunowned.so.1                 none (copied in, not in dpkg)  unowned
#   usr/sbin/sshd                     openssh-server                 matches
#                                     (NEEDED libclean.so.1 libtampered.so.1
#                                     libold.so.1 libdiv.so.1 libunowned.so.1
#                                     libc.so.6; prints the 5 ids, exits 0)
#   usr/lib/openssh/ssh-session-cleanup.distrib
#                                     openssh-server, listed as      matches
#                                     /usr/lib/openssh/ssh-session-cleanup
#                                     (locally diverted: `dpkg-divert --local --rename`)
#   usr/lib/openssh/ssh-session-cleanup
#                                     none: the admin's replacement  locally diverted
#   usr/share/doc/PKG/copyright       each package                   matches
#   var/lib/dpkg/{status,diversions,info/...}  written by dpkg / dpkg-divert:
#     info/{libclean1,libtampered1,libold1,libdiv1,libdiv-override,libnosums1}:amd64.{list,md5sums}
#     (all Multi-Arch: same, Architecture: amd64), openssh-server.{list,md5sums}
#     (Multi-Arch: foreign, so no :amd64), plus dpkg's own files (status-old,
#     diversions-old, triggers/, updates/, ...)
#   var/lib/dpkg/diversions (3 lines per diversion: from, to, package|":"):
#     /usr/lib/x86_64-linux-gnu/libdiv.so.1
#     /usr/lib/x86_64-linux-gnu/libdiv.so.1.distrib
#     libdiv-override
#     /usr/lib/openssh/ssh-session-cleanup
#     /usr/lib/openssh/ssh-session-cleanup.distrib
#     :
#
# What dpkg records (dpkg 1.21, Debian 12):
# - A .deb without DEBIAN/md5sums still gets info/PKG.md5sums: dpkg computes
#   the md5 of every regular file it unpacks and writes the file itself (same
#   format as dh_md5sums: "MD5  path", no leading "/"; in archive order).
#   dpkg's changelog, 1.16.3: "Generate md5sums files automatically at unpack
#   time if missing from the binary package"; `dpkg --audit` reports packages
#   that still have none.
# - .list and .md5sums keep the paths AS SHIPPED in the .deb: libold1 says
#   /lib/x86_64-linux-gnu/libold.so.1 (.md5sums: lib/x86_64-linux-gnu/...) even
#   though the file is at usr/lib/...; resolve through the root's symlinks.
# - Diversions are not applied to .list/.md5sums: libdiv1 and libdiv-override
#   BOTH list /usr/lib/x86_64-linux-gnu/libdiv.so.1 with different md5s;
#   openssh-server still lists /usr/lib/openssh/ssh-session-cleanup.  A
#   checker must map PATH -> divert-to for every package except the diverting
#   one (a local diversion, package ":", applies to all packages).  This is
#   what debsums does; the admin's replacement is then checked by nobody.
#
# Deterministic: two runs on the same host give identical trees (diff -r);
# all files in the .debs, and so in the root, get mtime SOURCE_DATE_EPOCH
# (default 1700000000), the tampered library too.  dpkg's log goes to the work directory, which is
# removed; nothing is written outside OUTDIR (and --debs DIR).  At the end
# the script checks the md5sums itself (with the diversion rule above): only
# libtampered.so.1 may differ, and only without --no-tamper (exit 1 otherwise).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src/dpkg"
GCC="${CHAINWATCH_GCC:-gcc}"
TRIPLET=x86_64-linux-gnu
L="usr/lib/$TRIPLET"
: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH

die() { echo "make-dpkg-root.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

outdir="" tamper=1 debs_dir="" changelog_date=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tamper) tamper=0 ;;
    --debs)      [ -n "${2:-}" ] || die "--debs needs a DIR"; debs_dir="$2"; shift ;;
    --changelog-date) [ -n "${2:-}" ] || die "--changelog-date needs an RFC 2822 date"; changelog_date="$2"; shift ;;
    -h|--help)   usage; exit 0 ;;
    -*)          die "unknown option: $1 (see --help)" ;;
    *)           [ -z "$outdir" ] || die "more than one OUTDIR given"; outdir="$1" ;;
  esac
  shift
done
[ -n "$outdir" ] || { usage >&2; exit 2; }

# --- tools -------------------------------------------------------------------
# shellcheck source=toolchain.sh
. "$HERE/toolchain.sh"
for t in dpkg dpkg-deb dpkg-divert readelf md5sum; do
  command -v "$t" >/dev/null || die "$t not found"
done

if [ -e "$outdir" ] || [ -L "$outdir" ]; then
  [ -d "$outdir" ] && [ ! -L "$outdir" ] || die "OUTDIR exists and is not a directory: $outdir"
  [ -z "$(ls -A "$outdir")" ] || die "OUTDIR is not empty (refusing to overwrite): $outdir"
fi
mkdir -p "$outdir"
R="$(cd "$outdir" && pwd)"
[ "$R" != / ] || die "OUTDIR cannot be /"

umask 022
tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-dpkg-root.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"   # dpkg-deb wants sane permissions on the package trees

# --- base layout (before dpkg: packages must unpack through the symlinks) ----
mkdir -p "$R"/usr/{bin,sbin,lib/$TRIPLET,lib64} "$R"/etc/ld.so.conf.d \
         "$R"/var/lib/dpkg/{info,updates,triggers,alternatives}
for d in lib lib64 bin sbin; do ln -s "usr/$d" "$R/$d"; done  # relative: dpkg --root follows them
: > "$R/var/lib/dpkg/status"
cat > "$R/usr/lib/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
EOF
ln -s ../usr/lib/os-release "$R/etc/os-release"
printf 'include /etc/ld.so.conf.d/*.conf\n\n' > "$R/etc/ld.so.conf"
printf '# libc default configuration\n/usr/local/lib\n' > "$R/etc/ld.so.conf.d/libc.conf"
printf '# Multiarch support\n/usr/local/lib/%s\n/lib/%s\n/usr/lib/%s\n' \
       "$TRIPLET" "$TRIPLET" "$TRIPLET" > "$R/etc/ld.so.conf.d/$TRIPLET.conf"

# --- ELF files ---------------------------------------------------------------
# lib NAME SONAME FUNC ID: $tmp/NAME, exporting FUNC() returning ID
lib() { cc -fPIC -shared -Wl,-soname,"$2" -DCW_FUNC="$3" -DCW_ID="\"$4\"" lib.c -o "$tmp/$1"; }
TAMPER_FROM="pristine" TAMPER_TO="Pristine"   # one byte
lib libclean.so.1        libclean.so.1    libclean_id    "libclean.so.1: chainwatch fixture"
lib libtampered.so.1     libtampered.so.1 libtampered_id "libtampered.so.1: chainwatch fixture, $TAMPER_FROM"
lib libold.so.1          libold.so.1      libold_id      "libold.so.1: chainwatch fixture shipped under /lib"
lib libdiv.so.1.libdiv1  libdiv.so.1      libdiv_id      "libdiv.so.1: chainwatch fixture from libdiv1"
lib libdiv.so.1.override libdiv.so.1      libdiv_id      "libdiv.so.1: chainwatch fixture from libdiv-override"
lib libnosums.so.1       libnosums.so.1   libnosums_id   "libnosums.so.1: chainwatch fixture without DEBIAN/md5sums"
lib libunowned.so.1      libunowned.so.1  libunowned_id  "libunowned.so.1: chainwatch fixture owned by no package"
# --no-as-needed: every library stays DT_NEEDED in this order
cc -fPIE -pie -Wl,--no-as-needed sshd.c -o "$tmp/sshd" \
   "$tmp"/{libclean.so.1,libtampered.so.1,libold.so.1,libdiv.so.1.libdiv1,libunowned.so.1}

# --- packages ----------------------------------------------------------------
# stage PKG MODE SRCFILE DEST: put SRCFILE at /DEST in PKG's tree
stage() { install -D -m "$2" "$3" "$tmp/pkg/$1/$4"; }
# deb PKG VERSION MULTIARCH [nosums]: control (+ md5sums unless nosums), dpkg-deb -b
deb() {
  local pkg="$1" version="$2" ma="$3" sums="${4:-}" t="$tmp/pkg/$1"
  mkdir -p "$t/usr/share/doc/$pkg" "$t/DEBIAN"
  printf 'chainwatch test fixture for Debian package %s; not a real package.\n' "$pkg" \
    > "$t/usr/share/doc/$pkg/copyright"
  if [ -n "$changelog_date" ]; then
    printf '%s (%s) bookworm; urgency=medium\n\n  * Fixture upload.\n\n -- chainwatch fixtures <chainwatch@example.invalid>  %s\n\n%s (0.1-1) bookworm; urgency=medium\n\n  * Initial fixture.\n\n -- chainwatch fixtures <chainwatch@example.invalid>  Tue, 10 Jan 2023 12:00:00 +0000\n' \
      "$pkg" "$version" "$changelog_date" "$pkg" | gzip -9n > "$t/usr/share/doc/$pkg/changelog.Debian.gz"
  fi
  cat > "$t/DEBIAN/control" <<EOF
Package: $pkg
Version: $version
Architecture: amd64
Multi-Arch: $ma
Maintainer: chainwatch fixtures <chainwatch@example.invalid>
Section: libs
Priority: optional
Description: chainwatch test fixture ($pkg)
 Built by Tests/Fixtures/make-dpkg-root.sh; contains only benign test files.
EOF
  if [ "$sums" != nosums ]; then   # like dh_md5sums: relative paths, sorted
    (cd "$t" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
       xargs -d '\n' md5sum) > "$t/DEBIAN/md5sums"
  fi
  find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zgzip -b "$t" "$tmp/debs/${pkg}_${version#*:}_amd64.deb" >/dev/null
}
mkdir -p "$tmp/debs"
stage libclean1       0644 "$tmp/libclean.so.1"        "$L/libclean.so.1"
deb   libclean1       1.0-1 same
stage libtampered1    0644 "$tmp/libtampered.so.1"     "$L/libtampered.so.1"
deb   libtampered1    1.0-1 same
stage libold1         0644 "$tmp/libold.so.1"          "lib/$TRIPLET/libold.so.1"
deb   libold1         1.0-1 same
stage libdiv1         0644 "$tmp/libdiv.so.1.libdiv1"  "$L/libdiv.so.1"
deb   libdiv1         1.0-1 same
stage libdiv-override 0644 "$tmp/libdiv.so.1.override" "$L/libdiv.so.1"
deb   libdiv-override 1.0-1 same
stage libnosums1      0644 "$tmp/libnosums.so.1"       "$L/libnosums.so.1"
deb   libnosums1      1.0-1 same nosums
stage openssh-server  0755 "$tmp/sshd"                 usr/sbin/sshd
printf '#!/bin/sh\n# chainwatch fixture: ssh-session-cleanup as shipped by openssh-server\nexit 0\n' \
  > "$tmp/ssh-session-cleanup"
stage openssh-server  0755 "$tmp/ssh-session-cleanup"  usr/lib/openssh/ssh-session-cleanup
deb   openssh-server  1:9.2p1-2+deb12u6 foreign

# --- install with the real dpkg ------------------------------------------------
# --log: the host's dpkg.cfg logs to the host's /var/log/dpkg.log otherwise.
# --force-not-root: as non-root, dpkg unpacks the files owned by the caller.
# --path-include='*': overrides any path-exclude (e.g. of /usr/share/doc) in
# the host's /etc/dpkg/dpkg.cfg.d or ~/.dpkg.cfg (dpkg reads those, not the root's).
dpkg_opts=(--root="$R" --log="$tmp/dpkg.log" --force-unsafe-io --path-include='*')
[ "$(id -u)" = 0 ] || dpkg_opts+=(--force-not-root)
dpkg_() { dpkg "${dpkg_opts[@]}" "$@" > "$tmp/dpkg.out" 2>&1 ||
            { cat "$tmp/dpkg.out" >&2; die "dpkg $* failed"; }; }
dpkg_ -i "$tmp"/debs/{libclean1,libtampered1,libold1,libdiv1,libnosums1,openssh-server}_*.deb
# libdiv-override diverts libdiv1's file (what its preinst would do), then ships its own
dpkg-divert --root="$R" --quiet --package libdiv-override --rename \
            --divert "/$L/libdiv.so.1.distrib" --add "/$L/libdiv.so.1"
dpkg_ -i "$tmp"/debs/libdiv-override_*.deb
# the admin's local diversion, with the replacement in place
dpkg-divert --root="$R" --quiet --local --rename \
            --divert /usr/lib/openssh/ssh-session-cleanup.distrib --add /usr/lib/openssh/ssh-session-cleanup
printf '#!/bin/sh\n# chainwatch fixture: the local admin'"'"'s replacement (locally diverted)\nexit 0\n' \
  > "$R/usr/lib/openssh/ssh-session-cleanup"
chmod 0755 "$R/usr/lib/openssh/ssh-session-cleanup"
# a library no package owns
install -m 0644 "$tmp/libunowned.so.1" "$R/$L/libunowned.so.1"
[ -z "$debs_dir" ] || { mkdir -p "$debs_dir"; cp "$tmp"/debs/*.deb "$debs_dir"/; }

# --- tamper: one byte of a .rodata string, same size, same mtime ---------------
if [ "$tamper" = 1 ]; then
  f="$R/$L/libtampered.so.1"
  off="$(grep -obUaF "$TAMPER_FROM" "$f" | head -n 1 | cut -d: -f1)"
  [ -n "$off" ] || die "internal error: '$TAMPER_FROM' not found in libtampered.so.1"
  printf '%s' "${TAMPER_TO:0:1}" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
  touch -d "@$SOURCE_DATE_EPOCH" "$f"
  readelf -p .rodata "$f" | grep -qF "$TAMPER_TO" || die "internal error: tampered byte not in .rodata"
fi

# --- self-check: every package's md5sums, diversions applied -------------------
# diverted[PATH]="TO PKG" from var/lib/dpkg/diversions (PKG ":" = local)
declare -A diverted=()
while IFS= read -r from && IFS= read -r to && IFS= read -r by; do
  diverted[$from]="$to $by"
done < "$R/var/lib/dpkg/diversions"
bad=()
for sums in "$R"/var/lib/dpkg/info/*.md5sums; do
  pkg="$(basename "$sums" .md5sums)"; pkg="${pkg%:amd64}"
  while read -r sum path; do
    p="/$path"
    if [ -n "${diverted[$p]:-}" ] && [ "${diverted[$p]#* }" != "$pkg" ]; then p="${diverted[$p]%% *}"; fi
    [ "$(md5sum < "$R$p" | cut -d' ' -f1)" = "$sum" ] || bad+=("$pkg:$p")
  done < "$sums"
done
want=()
[ "$tamper" = 0 ] || want=("libtampered1:/$L/libtampered.so.1")
[ "${bad[*]:-}" = "${want[*]:-}" ] ||
  { echo "make-dpkg-root.sh: internal error: mismatching files: ${bad[*]:-none} (expected: ${want[*]:-none})" >&2; exit 1; }
[ -f "$R/var/lib/dpkg/info/libnosums1:amd64.md5sums" ] ||
  { echo "make-dpkg-root.sh: dpkg wrote no md5sums for libnosums1 (header says it does)" >&2; exit 1; }
