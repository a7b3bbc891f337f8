#!/usr/bin/env bash
# make-drift-packages.sh - the changes a baseline must notice, for the roots
# make-dpkg-root.sh and make-rpm-root.sh write (baseline drift tests,
# issue 24): a rebuilt library and packages to upgrade to and to add, built
# with the real dpkg-deb or rpmbuild from the same benign lib.c.
#
# Usage:
#   make-drift-packages.sh OUTDIR deb|rpm
#
# Output in OUTDIR (created):
#   libclean.so.1.rebuilt   libclean.so.1 rebuilt from source with another id
#                           string: same SONAME, other bytes (for replacing the
#                           installed file behind its package's back)
#   deb: libclean1_1.0-2_amd64.deb   the upgrade (its libclean.so.1 is the rebuilt one)
#        libextra1_1.0-1_amd64.deb   a package the root does not have (libextra.so.1)
#   rpm: libclean-1.0-2.fc40.x86_64.rpm, libextra-1.0-1.fc40.x86_64.rpm (usr/lib64)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src/dpkg"
GCC="${CHAINWATCH_GCC:-gcc}"
: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH
die() { echo "make-drift-packages.sh: $*" >&2; exit 2; }
[ $# = 2 ] || die "usage: make-drift-packages.sh OUTDIR deb|rpm"
out="$1" format="$2"
case "$format" in deb|rpm) ;; *) die "format must be deb or rpm, not $format" ;; esac
# shellcheck source=toolchain.sh
. "$HERE/toolchain.sh"
mkdir -p "$out"
O="$(cd "$out" && pwd)"
umask 022
tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-drift.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"

lib() { cc -fPIC -shared -Wl,-soname,"$2" -DCW_FUNC="$3" -DCW_ID="\"$4\"" lib.c -o "$5"; }
lib libclean.so.1 libclean.so.1 libclean_id "libclean.so.1: chainwatch fixture, rebuilt" "$O/libclean.so.1.rebuilt"
lib libextra.so.1 libextra.so.1 libextra_id "libextra.so.1: chainwatch fixture added later" "$tmp/libextra.so.1"

if [ "$format" = deb ]; then
  L=usr/lib/x86_64-linux-gnu
  deb() {  # deb PKG VERSION FILE DEST
    local t="$tmp/pkg/$1"
    install -D -m 0644 "$3" "$t/$4"
    mkdir -p "$t/DEBIAN"
    printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMulti-Arch: same\nMaintainer: chainwatch fixtures <chainwatch@example.invalid>\nSection: libs\nPriority: optional\nDescription: chainwatch drift fixture (%s)\n Benign test file only.\n' \
      "$1" "$2" "$1" > "$t/DEBIAN/control"
    (cd "$t" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' md5sum) > "$t/DEBIAN/md5sums"
    find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    dpkg-deb --root-owner-group -Zgzip -b "$t" "$O/${1}_${2}_amd64.deb" >/dev/null
  }
  deb libclean1 1.0-2 "$O/libclean.so.1.rebuilt" "$L/libclean.so.1"
  deb libextra1 1.0-1 "$tmp/libextra.so.1" "$L/libextra.so.1"
else
  command -v rpmbuild >/dev/null || die "needs rpmbuild (apt-get install rpm)"
  rpm_() {  # rpm_ NAME VERSION RELEASE FILE
    local stage="$tmp/stage/$1"
    install -D -m 0755 "$4" "$stage/usr/lib64/$(basename "$4" .rebuilt)"
    printf 'Name: %s\nVersion: %s\nRelease: %s\nSummary: chainwatch fixture\nLicense: none\nAutoReqProv: no\n%%description\nchainwatch drift fixture, not the real package.\n%%install\ncp -a %s/. %%{buildroot}/\n%%files\n/usr/lib64/%s\n' \
      "$1" "$2" "$3" "$stage" "$(basename "$4" .rebuilt)" > "$tmp/$1.spec"
    rpmbuild -bb --nodeps --quiet --define "_topdir $tmp/top" --define "_build_id_links none" \
      --define "debug_package %{nil}" --define "__os_install_post %{nil}" "$tmp/$1.spec" > "$tmp/build.log" 2>&1 ||
      { cat "$tmp/build.log" >&2; die "rpmbuild $1 failed"; }
  }
  rpm_ libclean 1.0 2.fc40 "$O/libclean.so.1.rebuilt"
  rpm_ libextra 1.0 1.fc40 "$tmp/libextra.so.1"
  cp "$tmp"/top/RPMS/x86_64/*.rpm "$O"/
fi
