#!/usr/bin/env bash
# make-rpm-root.sh - build a fake Fedora 40 root with real rpm packages really
# installed into it, for chainwatch's package-integrity tests.
#
# Why this exists: the package-integrity check hashes every file an rpm
# package owns and compares it with the digest the package header recorded
# (RPMTAG_FILEDIGESTS, algorithm RPMTAG_FILEDIGESTALGO; no FILEDIGESTALGO tag
# means MD5).  Tests need a root whose rpmdb.sqlite was written by rpm itself
# from packages rpmbuild built, and whose files rpm itself installed (not
# --justdb like make-rpmdb.sh), with one library modified afterwards.  The
# ELF files are tiny, benign C libraries/programs compiled at run time (the C
# sources are written by this script; liblzma is make-root.sh's own
# src/liblzma.c), nothing is checked in as a binary.
#
# Compiler: gcc + GNU ld (bfd), via toolchain.sh (override the gcc binary with
# CHAINWATCH_GCC; must still be gcc; checked).  Needs: gcc, binutils
# (readelf), rpm + rpmbuild (Debian 12: apt-get install rpm; rpm 4.18 writes
# rpmdb.sqlite).  x86-64 only.  Must run as ROOT (rpm -i --root chroot()s into
# OUTDIR and chowns the files; exit 3 otherwise).
#
# Usage:
#   make-rpm-root.sh OUTDIR [options]  build a root in OUTDIR (created; must
#                                      be absent or an empty directory)
#
# Options:
#   --no-tamper       leave libtampered.so.1 as installed (every owned file
#                     then matches its digest; rpm -Va reports nothing)
#   --xz-version V-R  xz-libs Version-Release (default 5.6.1-1.fc40); V must
#                     be X.Y.Z, it names liblzma.so.V and is what
#                     lzma_version_string() returns
#   --edit-config     append a line to /etc/ssh/sshd_config after install (a
#                     %config file that differs from its digest, as admins do;
#                     rpm -V: "S.5....T.  c")
#   --build-now       record the real time of the rpmbuild run as each
#                     package's BUILDTIME (package-age tests: built today);
#                     default: BUILDTIME is pinned to 2024-04-01
#   --sysimage        database in usr/lib/sysimage/rpm with var/lib/rpm ->
#                     ../../usr/lib/sysimage/rpm, as on real Fedora >= 36;
#                     default: the database is in var/lib/rpm itself
#   -h, --help        this text
#
# Output (merged /usr as Fedora 40; all packages x86_64, built with rpmbuild,
# installed with rpm -i --nodeps --noscripts; NEEDED = DT_NEEDED):
#   OUTDIR/{bin,sbin,lib,lib64} -> usr/{bin,sbin,lib,lib64}
#   usr/lib/os-release          Fedora 40 (ID=fedora, VERSION_ID=40)
#   etc/os-release -> ../usr/lib/os-release   (a symlink, as on Fedora)
#   etc/fedora-release, etc/{redhat,system}-release -> fedora-release
#   etc/ld.so.conf              "include ld.so.conf.d/*.conf" (Fedora's)
#   var/lib/rpm/rpmdb.sqlite    (+ rpmdb.sqlite-shm, an EMPTY rpmdb.sqlite-wal
#                               and .rpm.lock, as rpm leaves them)
#
#   path (all under usr/lib64 unless absolute)  package                  digest   expected
#   libclean.so.1        SONAME libclean.so.1   libclean-1.0-1.fc40      SHA-256  matches
#   libtampered.so.1     SONAME libtampered.so.1 libtampered-1.0-1.fc40  SHA-256  MODIFIED
#                        (one .rodata byte: "libtampered: pristine build" ->
#                        "libtampered: Pristine build"; same size, same mtime,
#                        still valid ELF; intact with --no-tamper)
#   liboldmd5.so.1       SONAME liboldmd5.so.1  liboldmd5-1.0-1.fc40     MD5 (no  matches
#                                                                        FILEDIGESTALGO tag)
#   liblzma.so.5.6.1     SONAME liblzma.so.5    xz-libs-5.6.1-1.fc40     SHA-256  matches
#   liblzma.so.5 -> liblzma.so.5.6.1            xz-libs (source rpm xz)  "" (link) no digest
#   libunowned.so.1      SONAME libunowned.so.1 (no package)             -        unowned
#   /usr/sbin/sshd       PIE, NEEDED libclean.so.1 libtampered.so.1 liboldmd5.so.1
#                        liblzma.so.5 libunowned.so.1 libc.so.6
#                                               openssh-server-9.6p1-1.fc40 SHA-256 matches
#                        (source rpm openssh; runs silently until SIGTERM)
#   /etc/ssh             %dir                   openssh-server           "" (dir) no digest
#   /etc/ssh/sshd_config %config(noreplace) 0600 openssh-server          SHA-256  matches
#                        (modified with --edit-config; rpm -V flags it "c")
#   /etc/ssh/sshd_config.d  %dir 0711           openssh-server           "" (dir) no digest
#   /etc/ssh/ssh_host_ed25519_key  %ghost 0600, NOT on disk
#                                               openssh-server           ""       no digest
#   Directories rpm created implicitly (usr/lib64, usr/sbin, etc) and the
#   files of the layout above belong to no package.  With --xz-version V-R:
#   liblzma.so.V and xz-libs-V-R.
#
# Live process (LD_LIBRARY_PATH=OUTDIR/usr/lib64 OUTDIR/usr/sbin/sshd &; kill
# with SIGTERM -> exit 0).  Query the database with Debian's rpm (its default
# %_dbpath is ~/.rpmdb, so --dbpath is required):
#   rpm --root OUTDIR --dbpath /var/lib/rpm -Va
#   rpm --root OUTDIR --dbpath /var/lib/rpm -q --qf \
#     '[%{FILENAMES} %{=FILEDIGESTALGO} %{FILEDIGESTS}\n]' PKG
#
# At the end the script checks with rpm itself that rpm -Va reports exactly
# the expected discrepancies, that liboldmd5 has no FILEDIGESTALGO and the
# others 8 (SHA-256), and that the WAL file is empty (all data in
# rpmdb.sqlite); exit 1 otherwise.  Takes about a second.  Header times,
# payload and file mtimes are pinned (SOURCE_DATE_EPOCH), but the database
# records install times, so it differs from run to run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src"                       # src/liblzma.c; generated sources: $tmp/src
GCC="${CHAINWATCH_GCC:-gcc}"
EPOCH=1711929600                      # 2024-04-01 00:00:00 UTC: build time and file mtimes

die() { echo "make-rpm-root.sh: $*" >&2; exit 2; }
fail() { echo "make-rpm-root.sh: internal error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

outdir="" tamper=1 edit_config=0 sysimage=0 xz_vr="5.6.1-1.fc40" buildtime_from_epoch=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tamper)   tamper=0 ;;
    --xz-version)  [ $# -ge 2 ] || die "--xz-version needs V-R"; xz_vr="$2"; shift ;;
    --edit-config) edit_config=1 ;;
    --sysimage)    sysimage=1 ;;
    --build-now)   buildtime_from_epoch=0 ;;
    -h|--help)     usage; exit 0 ;;
    -*)            die "unknown option: $1 (see --help)" ;;
    *)             [ -z "$outdir" ] || die "more than one OUTDIR given"; outdir="$1" ;;
  esac
  shift
done
[ -n "$outdir" ] || { usage >&2; exit 2; }

[[ "$xz_vr" =~ ^(([0-9]+)\.([0-9]+)\.([0-9]+))-([A-Za-z0-9._+~^]+)$ ]] ||
  die "--xz-version must be V-R with V = X.Y.Z and an rpm release R (got '$xz_vr')"
xz_version="${BASH_REMATCH[1]}" xz_release="${BASH_REMATCH[5]}"
lzma_version_number=$(( BASH_REMATCH[2] * 10000000 + BASH_REMATCH[3] * 10000 + BASH_REMATCH[4] * 10 + 2 ))

# --- toolchain + rpm ----------------------------------------------------------
# shellcheck source=toolchain.sh
. "$HERE/toolchain.sh"
command -v rpmbuild >/dev/null && command -v rpm >/dev/null || die "needs rpm and rpmbuild (apt-get install rpm)"
command -v readelf >/dev/null || die "needs readelf (binutils)"
[ "$(rpm --eval '%{_arch}')" = x86_64 ] || die "rpm's arch is not x86_64 ($(rpm --eval '%{_arch}'))"
if [ "$(id -u)" != 0 ]; then
  echo "make-rpm-root.sh: needs root (rpm -i --root chroot()s into OUTDIR and chowns files)" >&2
  exit 3
fi

if [ -e "$outdir" ] || [ -L "$outdir" ]; then
  [ -d "$outdir" ] && [ ! -L "$outdir" ] || die "OUTDIR exists and is not a directory: $outdir"
  [ -z "$(ls -A "$outdir")" ] || die "OUTDIR is not empty (refusing to overwrite): $outdir"
fi
mkdir -p "$outdir"
R="$(cd "$outdir" && pwd)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-rpm-root.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/out"
# gcc: cc with the generated sources (toolchain.sh's cc runs in $SRC)
gcc_gen() { local SRC="$tmp/src"; cc "$@"; }

# --- sources ----------------------------------------------------------------
cat > "$tmp/src/lib.c" <<'EOF'
/* lib.c - a tiny benign library for chainwatch fixtures; CW_LIB names it.
 * NAME_id() returns the .rodata string "NAME: pristine build". */
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
__attribute__((visibility("default"))) const char *CAT(CW_LIB, _id)(void)
{
	return STR(CW_LIB) ": pristine build";
}
EOF
cat > "$tmp/src/sshd.c" <<'EOF'
/* sshd.c - FAKE /usr/sbin/sshd for chainwatch fixtures: calls into each of
 * its libraries (so every DT_NEEDED is real), prints nothing, blocks until
 * SIGTERM/SIGINT (exit 0). */
#include <signal.h>
#include <unistd.h>

const char *libclean_id(void);
const char *libtampered_id(void);
const char *liboldmd5_id(void);
const char *libunowned_id(void);
const char *lzma_version_string(void);

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	volatile const char *ids[5];
	ids[0] = libclean_id();
	ids[1] = libtampered_id();
	ids[2] = liboldmd5_id();
	ids[3] = libunowned_id();
	ids[4] = lzma_version_string();
	(void)ids;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	for (;;)
		pause();
}
EOF

# --- ELF files ----------------------------------------------------------------
O="$tmp/out"
for lib in libclean libtampered liboldmd5 libunowned; do
  gcc_gen -fPIC -shared -Wl,-soname,"$lib.so.1" -DCW_LIB="$lib" lib.c -o "$O/$lib.so.1"
done
lzma_name="liblzma.so.$xz_version"
# --no-as-needed: keep DT_NEEDED libc.so.6 like the real liblzma
cc -fPIC -shared -Wl,-soname,liblzma.so.5 -Wl,--no-as-needed \
   -DCW_VERSION_STRING="\"$xz_version\"" -DCW_VERSION_NUMBER="${lzma_version_number}u" \
   liblzma.c -o "$O/$lzma_name"
gcc_gen -fPIE -pie -Wl,-z,relro -Wl,-z,now -Wl,--disable-new-dtags sshd.c \
   "$O/libclean.so.1" "$O/libtampered.so.1" "$O/liboldmd5.so.1" "$O/$lzma_name" \
   "$O/libunowned.so.1" -o "$O/sshd"

# --- packages -----------------------------------------------------------------
# No automatic Requires/Provides (AutoReqProv: no, per subpackage too): the root
# has no glibc package, so `rpm -V` without --nodeps stays quiet.
# Each package's files are staged in $tmp/stage/PKG (modes set there) and copied
# into the buildroot by %install.
# build_rpm SPECNAME VERSION RELEASE SUBPKG FILES [RPMBUILD-ARGS...]: build one
# binary package from source package SPECNAME (SUBPKG "": the main package,
# else SPECNAME-SUBPKG); FILES is its %files body.
build_rpm() {
  local name="$1" version="$2" release="$3" sub="$4" files="$5"; shift 5
  local stage="$tmp/stage/$name"
  {
    echo "Name: $name"; echo "Version: $version"; echo "Release: $release"
    echo "Summary: chainwatch fixture"; echo "License: none"; echo "AutoReqProv: no"
    echo "%description"; echo "chainwatch test fixture, not the real package."
    if [ -n "$sub" ]; then
      echo "%package $sub"; echo "Summary: chainwatch fixture"; echo "AutoReqProv: no"
      echo "%description $sub"; echo "chainwatch test fixture, not the real package."
    fi
    echo "%install"; echo "cp -a '$stage/.' %{buildroot}/"
    echo "%files $sub"; echo "$files"
  } > "$tmp/$name.spec"
  SOURCE_DATE_EPOCH=$EPOCH rpmbuild -bb --nodeps --quiet --define "_topdir $tmp/top" \
    --define "_build_id_links none" --define "debug_package %{nil}" --define "__os_install_post %{nil}" \
    --define "use_source_date_epoch_as_buildtime $buildtime_from_epoch" --define "clamp_mtime_to_source_date_epoch 1" \
    --define "_buildhost chainwatch-fixture" "$@" "$tmp/$name.spec" > "$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; die "rpmbuild $name failed"; }
}
stage() { mkdir -p "$tmp/stage/$1"; echo "$tmp/stage/$1"; }

for lib in libclean libtampered liboldmd5; do
  s="$(stage "$lib")"; install -D -m 0755 "$O/$lib.so.1" "$s/usr/lib64/$lib.so.1"
done
build_rpm libclean 1.0 1.fc40 "" /usr/lib64/libclean.so.1
build_rpm libtampered 1.0 1.fc40 "" /usr/lib64/libtampered.so.1
# MD5 file digests (PGPHASHALGO_MD5 = 1): rpmbuild then writes no FILEDIGESTALGO tag
build_rpm liboldmd5 1.0 1.fc40 "" /usr/lib64/liboldmd5.so.1 --define "_binary_filedigest_algorithm 1"

s="$(stage xz)"
install -D -m 0755 "$O/$lzma_name" "$s/usr/lib64/$lzma_name"
ln -s "$lzma_name" "$s/usr/lib64/liblzma.so.5"
build_rpm xz "$xz_version" "$xz_release" libs "/usr/lib64/$lzma_name
/usr/lib64/liblzma.so.5"

s="$(stage openssh)"
install -D -m 0755 "$O/sshd" "$s/usr/sbin/sshd"
mkdir -p "$s/etc/ssh/sshd_config.d"
printf '# chainwatch fixture sshd_config (Fedora 40 style)\nInclude /etc/ssh/sshd_config.d/*.conf\nSubsystem sftp /usr/libexec/openssh/sftp-server\n' \
  > "$s/etc/ssh/sshd_config"
build_rpm openssh 9.6p1 1.fc40 server "/usr/sbin/sshd
%dir /etc/ssh
%attr(0600,root,root) %config(noreplace) /etc/ssh/sshd_config
%dir %attr(0711,root,root) /etc/ssh/sshd_config.d
%ghost %attr(0600,root,root) /etc/ssh/ssh_host_ed25519_key"

rpms=("$tmp"/top/RPMS/x86_64/*.rpm)
[ "${#rpms[@]}" = 5 ] || fail "expected 5 packages, rpmbuild made ${#rpms[@]}: ${rpms[*]}"

# --- layout (Fedora 40, merged /usr) -----------------------------------------------
mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/etc/ld.so.conf.d "$R"/var/lib
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
cat > "$R/usr/lib/os-release" <<'EOF'
NAME="Fedora Linux"
VERSION="40 (Forty)"
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora Linux 40 (Forty)"
ANSI_COLOR="0;38;2;60;110;180"
LOGO=fedora-logo-icon
CPE_NAME="cpe:/o:fedoraproject:fedora:40"
DEFAULT_HOSTNAME="fedora"
HOME_URL="https://fedoraproject.org/"
DOCUMENTATION_URL="https://docs.fedoraproject.org/en-US/fedora/f40/system-administrators-guide/"
SUPPORT_URL="https://ask.fedoraproject.org/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_BUGZILLA_PRODUCT="Fedora"
REDHAT_BUGZILLA_PRODUCT_VERSION=40
REDHAT_SUPPORT_PRODUCT="Fedora"
REDHAT_SUPPORT_PRODUCT_VERSION=40
SUPPORT_END=2025-05-13
EOF
ln -s ../usr/lib/os-release "$R/etc/os-release"
echo "Fedora release 40 (Forty)" > "$R/etc/fedora-release"
ln -s fedora-release "$R/etc/redhat-release"
ln -s fedora-release "$R/etc/system-release"
echo "include ld.so.conf.d/*.conf" > "$R/etc/ld.so.conf"
if [ "$sysimage" = 1 ]; then
  dbpath=/usr/lib/sysimage/rpm
  mkdir -p "$R$dbpath"
  ln -s ../../usr/lib/sysimage/rpm "$R/var/lib/rpm"
else
  dbpath=/var/lib/rpm
fi

# --- install ------------------------------------------------------------------
rpmr() { rpm --root "$R" --dbpath "$dbpath" "$@"; }
rpmr --initdb
# Debian's rpm prints an "use Alien instead" banner on stderr: drop it, keep the rest
rpmr -i --nodeps --noscripts --notriggers --ignorearch --ignoreos "${rpms[@]}" > "$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; die "rpm -i failed"; }
grep -v "should not be used directly\|assuming you know what" "$tmp/install.log" >&2 || true

install -m 0755 "$O/libunowned.so.1" "$R/usr/lib64/libunowned.so.1"

# --- after install: tamper, edit config ----------------------------------------------
if [ "$tamper" = 1 ]; then
  f="$R/usr/lib64/libtampered.so.1"
  needle="libtampered: pristine build"
  [ "$(grep -c -a -F "$needle" "$f")" = 1 ] || fail "'$needle' not exactly once in libtampered.so.1"
  off=$(( $(grep -obUa -F "$needle" "$f" | cut -d: -f1) + 13 ))     # the 'p' of "pristine"
  # the byte must lie inside .rodata (readelf -S -W: [Nr] Name Type Address Off Size ...)
  read -r ro_off ro_size < <(readelf -S -W "$f" | sed 's/^ *\[ *[0-9]*\]//' |
    awk '$1 == ".rodata" { print $4, $5 }') || true
  [ -n "${ro_off:-}" ] && [ "$off" -ge $(( 16#$ro_off )) ] && [ "$off" -lt $(( 16#$ro_off + 16#$ro_size )) ] ||
    fail "tamper offset $off not in .rodata (0x${ro_off:-?}+0x${ro_size:-?})"
  mtime="$(stat -c %Y "$f")"
  printf 'P' | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
  touch -d "@$mtime" "$f"                        # only the content differs (rpm -V: ..5......)
  readelf -h "$f" > /dev/null || fail "tampered libtampered.so.1 is no longer ELF"
fi
if [ "$edit_config" = 1 ]; then
  echo "PermitRootLogin no" >> "$R/etc/ssh/sshd_config"
fi

# --- self-checks (rpm's own view) ------------------------------------------------
pkgs="$(rpmr -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n' | sort)"
want="$(printf '%s\n' libclean-1.0-1.fc40.x86_64 liboldmd5-1.0-1.fc40.x86_64 \
  libtampered-1.0-1.fc40.x86_64 openssh-server-9.6p1-1.fc40.x86_64 "xz-libs-$xz_version-$xz_release.x86_64" | sort)"
[ "$pkgs" = "$want" ] || fail "rpm -qa lists: $pkgs"
for p in libclean libtampered xz-libs openssh-server; do
  [ "$(rpmr -q --qf '%{FILEDIGESTALGO}' "$p")" = 8 ] || fail "$p: FILEDIGESTALGO is not 8 (SHA-256)"
done
[ "$(rpmr -q --qf '%{FILEDIGESTALGO}' liboldmd5)" = "(none)" ] || fail "liboldmd5 has a FILEDIGESTALGO tag"
expected=""
[ "$edit_config" = 0 ] || expected+="S.5....T.  c /etc/ssh/sshd_config"$'\n'
[ "$tamper" = 0 ] || expected+="..5......    /usr/lib64/libtampered.so.1"$'\n'
verify="$(rpmr -Va 2>&1 | sort || true)"
[ "$verify" = "$(printf '%s' "$expected" | sort)" ] || fail "rpm -Va reports:"$'\n'"$verify"
[ -f "$R$dbpath/rpmdb.sqlite" ] || fail "no $dbpath/rpmdb.sqlite"
[ ! -s "$R$dbpath/rpmdb.sqlite-wal" ] || fail "$dbpath/rpmdb.sqlite-wal is not empty"
