#!/usr/bin/env bash
# make-root.sh - build a fake Linux root directory for chainwatch tests.
#
# Why this exists: chainwatch scans a host (or a root directory) for the
# xz-utils backdoor (CVE-2024-3094).  Tests need roots that look like real
# Debian installs (merged /usr, ld.so.conf, dpkg database, the
# sshd -> libsystemd.so.0 -> liblzma.so.5 chain, IFUNC resolvers, ...)
# without ever using real malware.  The ELF files are built from the tiny,
# benign C sources in src/ at test time instead of checking binaries in, so
# every variant below is reproducible and reviewable.
#
# Compiler: gcc + GNU ld (bfd) ONLY.  clang folds internal IFUNCs away, and
# the fixtures must contain STT_GNU_IFUNC symbols and R_X86_64_IRELATIVE
# relocations.  Override the gcc binary with CHAINWATCH_GCC (must still be
# gcc; checked).  Needs: gcc, binutils (objcopy, strip, nm, readelf), xz.
#
# Usage:
#   make-root.sh OUTDIR [options]     build a root in OUTDIR (created; must
#                                     be absent or an empty directory)
#   make-root.sh --maps-lib PATH      only compile src/maps-lib.c to PATH
#                                     (a helper: `PATH LIBRARY` dlopen()s
#                                     LIBRARY, prints "ready", then blocks
#                                     until SIGTERM); builds no root.
#
# Options:
#   --version V         dpkg Version of liblzma5 (default 5.6.1-1; 5.4.1-1
#                       with --host-liblzma)
#   --lib-version X.Y.Z liblzma file name suffix liblzma.so.X.Y.Z (default
#                       5.6.1); also what lzma_version_string() returns
#   --lib-file NAME     install liblzma under the file name NAME (e.g.
#                       libcrcaccel.so.1) instead of liblzma.so.X.Y.Z; its
#                       SONAME stays liblzma.so.5, the liblzma.so.5 symlink
#                       points at NAME, libsystemd keeps NEEDED liblzma.so.5
#                       and the liblzma5 .list names NAME.  Combines with
#                       --host-liblzma (the host's file copied under NAME).
#   --lib-soname NAME   build liblzma with SONAME NAME and file name NAME
#                       (e.g. libcrcaccel.so.1), with NO liblzma.so.5 symlink;
#                       libsystemd is linked against it (NEEDED NAME) and the
#                       liblzma5 .list names NAME only.  Needs the fake
#                       liblzma (not --host-liblzma); exclusive with --lib-file.
#                       NAME (both options): a plain file name of
#                       [A-Za-z0-9._+-], not liblzma.so.5 nor a libsystemd name.
#   --signature         embed the CVE-2024-3094 detection byte pattern
#                       f30f1efa...48894c2410 (34 bytes) in liblzma's .text as
#                       a never-called function.  Without it the pattern
#                       appears in no file of the root.
#   --no-ifunc          liblzma without IFUNC (no STT_GNU_IFUNC, no
#                       IRELATIVE, no crc*_resolve symbols)
#   --strip             strip liblzma's .symtab (strip --strip-all) and add a
#                       Fedora-style MiniDebugInfo .gnu_debugdata section (xz
#                       compressed ELF whose .symtab holds the local function
#                       symbols, e.g. crc32_resolve / crc64_resolve)
#   --host-liblzma      copy the host's real liblzma (readlink -f
#                       /usr/lib/x86_64-linux-gnu/liblzma.so.5) instead of
#                       building the fake one (a clean root).  Not combinable
#                       with --lib-version/--lib-soname/--signature/
#                       --no-ifunc/--strip.
#   --split-usr         no merged /usr: /lib, /lib64, /bin, /sbin are real
#                       directories, libraries go to /lib/x86_64-linux-gnu
#   --ld-cache          also write OUTDIR/etc/ld.so.cache with
#                       `ldconfig -X -r OUTDIR` (ldconfig chroot()s, so this
#                       REQUIRES ROOT; fails with exit 3 otherwise).  -X: no
#                       symlinks are created/changed, ldconfig only reads.
#   --runpath           sshd gets DT_RUNPATH $ORIGIN/../lib/chainwatch-private
#                       and libsystemd.so.0* lives there (usr/lib/...) instead
#                       of the multiarch dir (liblzma stays in the standard dir)
#   --rpath             same but DT_RPATH (-Wl,--disable-new-dtags)
#   --absolute-symlinks lib -> /usr/lib, lib64 -> /usr/lib64, bin -> /usr/bin,
#                       sbin -> /usr/sbin and the library symlinks
#                       (liblzma.so.5, libsystemd.so.0) are absolute, i.e. they
#                       only resolve correctly *inside* the root
#   -h, --help          this text
#
# Output (default, merged /usr, relative symlinks):
#   OUTDIR/{lib,lib64,bin,sbin} -> usr/{lib,lib64,bin,sbin}
#   usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1     SONAME liblzma.so.5, IFUNCs
#   usr/lib/x86_64-linux-gnu/liblzma.so.5 -> liblzma.so.5.6.1
#   usr/lib/x86_64-linux-gnu/libsystemd.so.0.35.0 SONAME libsystemd.so.0,
#                                                 NEEDED liblzma.so.5
#   usr/lib/x86_64-linux-gnu/libsystemd.so.0 -> libsystemd.so.0.35.0
#   usr/sbin/sshd        PIE, NEEDED libsystemd.so.0 + libc.so.6, host
#                        PT_INTERP; runs silently until SIGTERM
#   etc/ld.so.conf, etc/ld.so.conf.d/{libc,x86_64-linux-gnu}.conf  (Debian's)
#   var/lib/dpkg/status  liblzma5, libsystemd0, openssh-server installed;
#                        xz-utils 5.6.0-0.2 in "deinstall ok config-files"
#                        (a vulnerable version that must be IGNORED)
#   var/lib/dpkg/info/{liblzma5:amd64,libsystemd0:amd64,openssh-server}.list
#                        as on Debian 12 (liblzma under /lib/..., libsystemd0
#                        under /usr/lib/... as bookworm's systemd 252 ships it)
#   usr/share/doc/{liblzma5,libsystemd0,openssh-server}/copyright
#
# With --lib-file NAME: usr/lib/x86_64-linux-gnu/NAME (SONAME liblzma.so.5) and
# liblzma.so.5 -> NAME.  With --lib-soname NAME: usr/lib/x86_64-linux-gnu/NAME
# (SONAME NAME), no liblzma.so.5 at all, libsystemd.so.0.35.0 NEEDED NAME.
#
# Variants: --split-usr puts both libraries in lib/x86_64-linux-gnu and the
# libsystemd0 .list then says /lib/x86_64-linux-gnu (pre-bookworm layout);
# --runpath/--rpath list libsystemd under /usr/lib/chainwatch-private.  The
# liblzma5 .list always says /lib/x86_64-linux-gnu (as bookworm's does).
# Only the ELF files and copyright files exist; other .list entries don't.
#
# A live process mapping the fixture liblzma (relative symlinks only: with
# --absolute-symlinks liblzma.so.5 dangles when seen from the host and the
# host's own liblzma gets loaded instead; use the real file name or maps-lib):
#   LD_LIBRARY_PATH=OUTDIR/usr/lib/x86_64-linux-gnu OUTDIR/usr/sbin/sshd &
#   (--split-usr: OUTDIR/lib/x86_64-linux-gnu; kill with SIGTERM -> exit 0)
#
# At the end the script checks that the signature bytes occur in the root
# iff --signature was given (exit 1 otherwise).
#
# Deterministic: the same options on the same host give byte-identical files
# (no temp paths, timestamps or OUTDIR in any output; xz runs single-threaded).
# Runs as non-root (except --ld-cache) and takes well under a second.
set -euo pipefail

SIGNATURE_HEX=f30f1efa554889f54c89ce5389fb81e7000000804883ec28488954241848894c2410
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src"
GCC="${CHAINWATCH_GCC:-gcc}"
TRIPLET=x86_64-linux-gnu

die() { echo "make-root.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

outdir="" maps_lib="" dpkg_version="" lib_version="" lib_file="" lib_soname=""
signature=0 no_ifunc=0 strip_lib=0 host_lzma=0 split_usr=0 ld_cache=0
rpath_mode="" abs_links=0
while [ $# -gt 0 ]; do
  case "$1" in
    --version)           [ $# -ge 2 ] || die "--version needs a value"; dpkg_version="$2"; shift ;;
    --lib-version)       [ $# -ge 2 ] || die "--lib-version needs a value"; lib_version="$2"; shift ;;
    --lib-file)          [ -n "${2:-}" ] || die "--lib-file needs a NAME"; lib_file="$2"; shift ;;
    --lib-soname)        [ -n "${2:-}" ] || die "--lib-soname needs a NAME"; lib_soname="$2"; shift ;;
    --signature)         signature=1 ;;
    --no-ifunc)          no_ifunc=1 ;;
    --strip)             strip_lib=1 ;;
    --host-liblzma)      host_lzma=1 ;;
    --split-usr)         split_usr=1 ;;
    --ld-cache)          ld_cache=1 ;;
    --runpath)           [ -z "$rpath_mode" ] || die "--runpath and --rpath are exclusive"; rpath_mode=runpath ;;
    --rpath)             [ -z "$rpath_mode" ] || die "--runpath and --rpath are exclusive"; rpath_mode=rpath ;;
    --absolute-symlinks) abs_links=1 ;;
    --maps-lib)          [ $# -ge 2 ] || die "--maps-lib needs a PATH"; maps_lib="$2"; shift ;;
    -h|--help)           usage; exit 0 ;;
    -*)                  die "unknown option: $1 (see --help)" ;;
    *)                   [ -z "$outdir" ] || die "more than one OUTDIR given"; outdir="$1" ;;
  esac
  shift
done

# --- toolchain ------------------------------------------------------------
# shellcheck source=toolchain.sh
. "$HERE/toolchain.sh"

if [ -n "$maps_lib" ]; then
  [ -z "$outdir" ] || die "--maps-lib PATH builds only the helper; no OUTDIR allowed"
  mkdir -p "$(dirname "$maps_lib")"
  maps_abs="$(cd "$(dirname "$maps_lib")" && pwd)/$(basename "$maps_lib")"
  cc -fPIE -pie maps-lib.c -o "$maps_abs"
  exit 0
fi

[ -n "$outdir" ] || { usage >&2; exit 2; }

# --- option checks ---------------------------------------------------------
[ -z "$lib_file" ] || [ -z "$lib_soname" ] || die "--lib-file and --lib-soname are exclusive"
for name in "$lib_file" "$lib_soname"; do
  [ -n "$name" ] || continue
  [[ "$name" =~ ^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$ ]] ||
    die "library NAME must be a plain file name of [A-Za-z0-9._+-] (got '$name')"
  case "$name" in
    liblzma.so.5|libsystemd.so.0|libsystemd.so.0.35.0) die "library NAME cannot be $name" ;;
  esac
done
[ "$host_lzma" = 0 ] || [ -z "$lib_soname" ] ||
  die "--lib-soname needs the fake liblzma (not --host-liblzma): a copied file keeps its SONAME"
if [ "$host_lzma" = 1 ]; then
  [ -z "$lib_version" ] || die "--lib-version cannot be used with --host-liblzma"
  [ "$signature$no_ifunc$strip_lib" = 000 ] ||
    die "--signature/--no-ifunc/--strip need the fake liblzma (not --host-liblzma)"
  host_lib="$(readlink -f /usr/lib/$TRIPLET/liblzma.so.5)" ||
    die "cannot resolve host /usr/lib/$TRIPLET/liblzma.so.5"
  [ -f "$host_lib" ] || die "host liblzma not found: $host_lib"
  case "$(basename "$host_lib")" in
    liblzma.so.*.*.*) lib_version="${host_lib##*/liblzma.so.}" ;;
    *) die "unexpected host liblzma name: $host_lib" ;;
  esac
  : "${dpkg_version:=5.4.1-1}"
else
  : "${lib_version:=5.6.1}"
  : "${dpkg_version:=5.6.1-1}"
fi
[[ "$lib_version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
  die "--lib-version must look like X.Y.Z (got '$lib_version')"
lzma_version_number=$(( BASH_REMATCH[1] * 10000000 + BASH_REMATCH[2] * 10000 + BASH_REMATCH[3] * 10 + 2 ))
[[ "$dpkg_version" =~ ^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$ ]] ||
  die "--version is not a valid dpkg version: '$dpkg_version'"
if [ "$ld_cache" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "make-root.sh: --ld-cache needs root (ldconfig -r chroot()s into OUTDIR)" >&2
  exit 3
fi

if [ -e "$outdir" ] || [ -L "$outdir" ]; then
  [ -d "$outdir" ] && [ ! -L "$outdir" ] || die "OUTDIR exists and is not a directory: $outdir"
  [ -z "$(ls -A "$outdir")" ] || die "OUTDIR is not empty (refusing to overwrite): $outdir"
fi
mkdir -p "$outdir"
R="$(cd "$outdir" && pwd)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-root.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# --- layout ----------------------------------------------------------------
# link TARGET_ABS LINKPATH_REL: symlink inside the root; TARGET_ABS is the
# absolute in-root target, written relative unless --absolute-symlinks.
link() {
  local target="$1" linkpath="$2" rel
  if [ "$abs_links" = 1 ]; then
    ln -s "$target" "$R/$linkpath"
  else
    rel="$(realpath -s -m --relative-to="/$(dirname "$linkpath")" "$target")"
    ln -s "$rel" "$R/$linkpath"
  fi
}

mkdir -p "$R"/usr/{bin,sbin,lib/$TRIPLET,lib64,share/doc} "$R"/etc/ld.so.conf.d \
         "$R"/var/lib/dpkg/info
if [ "$split_usr" = 1 ]; then
  mkdir -p "$R"/{bin,sbin,lib64,lib/$TRIPLET}
  libdir_rel="lib/$TRIPLET"             # where liblzma + libsystemd live
else
  for d in lib lib64 bin sbin; do link "/usr/$d" "$d"; done
  libdir_rel="usr/lib/$TRIPLET"
fi
if [ -n "$rpath_mode" ]; then
  sysd_dir_rel="usr/lib/chainwatch-private"  # = $ORIGIN/../lib/... of usr/sbin/sshd
  mkdir -p "$R/$sysd_dir_rel"
else
  sysd_dir_rel="$libdir_rel"
fi
lzma_name="liblzma.so.$lib_version"             # the file name
lzma_soname="liblzma.so.5"                       # its DT_SONAME = libsystemd's DT_NEEDED
lzma_link="liblzma.so.5"                         # the SONAME symlink ("" = none)
if [ -n "$lib_file" ]; then
  lzma_name="$lib_file"
elif [ -n "$lib_soname" ]; then
  lzma_name="$lib_soname" lzma_soname="$lib_soname" lzma_link=""
fi
sysd_name="libsystemd.so.0.35.0"

# --- liblzma ---------------------------------------------------------------
if [ "$host_lzma" = 1 ]; then
  cp "$host_lib" "$tmp/$lzma_name"
else
  defs=(-DCW_VERSION_STRING="\"$lib_version\"" -DCW_VERSION_NUMBER="${lzma_version_number}u")
  [ "$no_ifunc" = 1 ] && defs+=(-DCW_NO_IFUNC)
  [ "$signature" = 1 ] && defs+=(-DCW_SIGNATURE)
  # --no-as-needed: keep DT_NEEDED libc.so.6 like the real liblzma
  cc -fPIC -shared -Wl,-soname,"$lzma_soname" -Wl,--no-as-needed "${defs[@]}" liblzma.c \
     -o "$tmp/$lzma_name"

  if [ "$strip_lib" = 1 ]; then
    # MiniDebugInfo exactly like Fedora's find-debuginfo (add_minidebug):
    # keep the FUNC symbols of the full symtab that are not in .dynsym,
    # put them in a symbol-only ELF, xz it, add it as .gnu_debugdata.
    lib="$tmp/$lzma_name"
    objcopy --only-keep-debug "$lib" "$tmp/debug"
    nm -D "$lib" --format=posix --defined-only | awk '{ print $1 }' | sort > "$tmp/dynsyms"
    nm "$tmp/debug" --format=sysv --defined-only |
      awk -F '|' '{ if ($4 ~ "FUNC") print $1 }' | sed 's/ *$//' | sort > "$tmp/funcsyms"
    comm -13 "$tmp/dynsyms" "$tmp/funcsyms" > "$tmp/keep"
    objcopy -S --remove-section .gdb_index --remove-section .comment \
            --keep-symbols="$tmp/keep" "$tmp/debug" "$tmp/mini"
    xz --format=xz --check=crc64 -6 --threads=1 -c "$tmp/mini" > "$tmp/mini.xz"
    strip --strip-all --remove-section=.comment "$lib"
    objcopy --add-section .gnu_debugdata="$tmp/mini.xz" "$lib"
  fi
fi
install -m 0644 "$tmp/$lzma_name" "$R/$libdir_rel/$lzma_name"
[ -z "$lzma_link" ] || link "/$libdir_rel/$lzma_name" "$libdir_rel/$lzma_link"

# --- libsystemd ------------------------------------------------------------
cc -fPIC -shared -Wl,-soname,libsystemd.so.0 libsystemd.c "$tmp/$lzma_name" \
   -o "$tmp/$sysd_name"
install -m 0644 "$tmp/$sysd_name" "$R/$sysd_dir_rel/$sysd_name"
link "/$sysd_dir_rel/$sysd_name" "$sysd_dir_rel/libsystemd.so.0"

# --- sshd ------------------------------------------------------------------
sshd_flags=(-fPIE -pie -Wl,-z,relro -Wl,-z,now -Wl,-rpath-link,"$tmp")
case "$rpath_mode" in
  runpath) sshd_flags+=(-Wl,--enable-new-dtags  -Wl,-rpath,'$ORIGIN/../lib/chainwatch-private') ;;
  rpath)   sshd_flags+=(-Wl,--disable-new-dtags -Wl,-rpath,'$ORIGIN/../lib/chainwatch-private') ;;
  *)       sshd_flags+=(-Wl,--disable-new-dtags) ;;   # neither RPATH nor RUNPATH
esac
cc "${sshd_flags[@]}" sshd.c "$tmp/$sysd_name" -o "$tmp/sshd"
install -m 0755 "$tmp/sshd" "$R/usr/sbin/sshd"

# --- ld.so.conf (Debian 12) ------------------------------------------------
printf 'include /etc/ld.so.conf.d/*.conf\n\n' > "$R/etc/ld.so.conf"
printf '# libc default configuration\n/usr/local/lib\n' > "$R/etc/ld.so.conf.d/libc.conf"
printf '# Multiarch support\n/usr/local/lib/%s\n/lib/%s\n/usr/lib/%s\n' \
       "$TRIPLET" "$TRIPLET" "$TRIPLET" > "$R/etc/ld.so.conf.d/$TRIPLET.conf"

# --- dpkg database ---------------------------------------------------------
cat > "$R/var/lib/dpkg/status" <<EOF
Package: liblzma5
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 333
Maintainer: Sebastian Andrzej Siewior <sebastian@breakpoint.cc>
Architecture: amd64
Multi-Arch: same
Source: xz-utils
Version: $dpkg_version
Depends: libc6 (>= 2.34)
Breaks: liblzma2 (<< 5.1.1alpha+20110809-3~)
Description: XZ-format compression library
 XZ is the successor to the Lempel-Ziv/Markov-chain Algorithm
 compression format, which provides memory-hungry but powerful
 compression (often better than bzip2) and fast, easy decompression.
 .
 This package provides the liblzma library (chainwatch test fixture).
Homepage: https://tukaani.org/xz/

Package: libsystemd0
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 909
Maintainer: Debian systemd Maintainers <pkg-systemd-maintainers@lists.alioth.debian.org>
Architecture: amd64
Multi-Arch: same
Source: systemd
Version: 252.38-1~deb12u1
Depends: libc6 (>= 2.34), libcap2 (>= 1:2.10), libgcrypt20 (>= 1.10.0), liblz4-1 (>= 0.0~r122), liblzma5 (>= 5.1.1alpha+20120614), libzstd1 (>= 1.5.2)
Description: systemd utility library
 The libsystemd0 library provides interfaces to various systemd
 components (chainwatch test fixture).
Homepage: https://www.freedesktop.org/wiki/Software/systemd

Package: openssh-server
Status: install ok installed
Priority: optional
Section: net
Installed-Size: 1930
Maintainer: Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>
Architecture: amd64
Multi-Arch: foreign
Source: openssh
Version: 1:9.2p1-2+deb12u6
Replaces: openssh-client (<< 1:7.9p1-8), ssh, ssh-krb5
Provides: ssh-server
Depends: adduser, libpam-modules, libpam-runtime, lsb-base, openssh-client (= 1:9.2p1-2+deb12u6), openssh-sftp-server, procps, ucf, debconf (>= 0.5) | debconf-2.0, runit-helper (>= 2.14.0~), libaudit1 (>= 1:2.2.1), libc6 (>= 2.36), libcom-err2 (>= 1.43.9), libcrypt1 (>= 1:4.1.0), libgssapi-krb5-2 (>= 1.17), libkrb5-3 (>= 1.13~alpha1+dfsg), libpam0g (>= 0.99.7.1), libselinux1 (>= 3.1~), libssl3 (>= 3.0.15), libsystemd0, libwrap0 (>= 7.6-4~), zlib1g (>= 1:1.1.4)
Pre-Depends: init-system-helpers (>= 1.54~)
Recommends: default-logind | logind | libpam-systemd, ncurses-term, xauth
Description: secure shell (SSH) server, for secure access from remote machines
 This is the portable version of OpenSSH, a free implementation of
 the Secure Shell protocol (chainwatch test fixture).
Homepage: https://www.openssh.com/

Package: xz-utils
Status: deinstall ok config-files
Priority: standard
Section: utils
Installed-Size: 1226
Maintainer: Sebastian Andrzej Siewior <sebastian@breakpoint.cc>
Architecture: amd64
Multi-Arch: foreign
Version: 5.6.0-0.2
Depends: libc6 (>= 2.34), liblzma5 (>= 5.6.0)
Description: XZ-format compression utilities
 Removed package whose configuration files remain; its (vulnerable)
 version must be ignored by scanners (chainwatch test fixture).
Homepage: https://tukaani.org/xz/

EOF

# dpkg lists: paths as shipped in the .deb (dpkg does not know about merged
# /usr): directories first, then files, symlinks last, like dpkg -L output.
lzma_list_dir="/lib/$TRIPLET"                     # bookworm's liblzma5
if [ -n "$rpath_mode" ]; then
  sysd_list_dir="/$sysd_dir_rel"
elif [ "$split_usr" = 1 ]; then
  sysd_list_dir="/lib/$TRIPLET"                   # pre-bookworm systemd layout
else
  sysd_list_dir="/usr/lib/$TRIPLET"               # bookworm's libsystemd0 252
fi
# parents DIR: print every ancestor directory of DIR (not "/"), then DIR
parents() {
  local p="" part parts
  IFS=/ read -ra parts <<< "${1#/}"
  for part in "${parts[@]}"; do p="$p/$part"; echo "$p"; done
}
# dpkg_list DIR REALNAME LINKNAME PKG DOCS...: one library package's .list
# (LINKNAME "": no symlink entry)
dpkg_list() {
  local dir="$1" real="$2" link="$3" pkg="$4"; shift 4
  echo "/."
  parents "$dir"
  echo "$dir/$real"
  case "$dir" in /usr/*) ;; *) echo /usr ;; esac
  printf '%s\n' /usr/share /usr/share/doc "/usr/share/doc/$pkg"
  printf "/usr/share/doc/$pkg/%s\n" "$@"
  [ -z "$link" ] || echo "$dir/$link"
}
dpkg_list "$lzma_list_dir" "$lzma_name" "$lzma_link" liblzma5 AUTHORS NEWS.gz \
  THANKS changelog.Debian.gz changelog.gz copyright \
  > "$R/var/lib/dpkg/info/liblzma5:amd64.list"
dpkg_list "$sysd_list_dir" "$sysd_name" libsystemd.so.0 libsystemd0 \
  NEWS.Debian.gz changelog.Debian.gz copyright \
  > "$R/var/lib/dpkg/info/libsystemd0:amd64.list"
printf '%s\n' /. /etc /etc/default /etc/default/ssh /etc/init.d /etc/init.d/ssh \
  /etc/pam.d /etc/pam.d/sshd /etc/ssh /etc/ssh/moduli /etc/ssh/sshd_config.d \
  /lib /lib/systemd /lib/systemd/system /lib/systemd/system/rescue-ssh.target \
  /lib/systemd/system/ssh.service /lib/systemd/system/ssh.socket \
  /usr /usr/lib /usr/lib/openssh /usr/lib/openssh/ssh-session-cleanup \
  /usr/sbin /usr/sbin/sshd /usr/share /usr/share/doc \
  /usr/share/man /usr/share/man/man8 /usr/share/man/man8/sshd.8.gz \
  /usr/share/doc/openssh-server > "$R/var/lib/dpkg/info/openssh-server.list"

for p in liblzma5 libsystemd0 openssh-server; do
  mkdir -p "$R/usr/share/doc/$p"
  printf 'chainwatch test fixture for Debian package %s; not the real package.\n' "$p" \
    > "$R/usr/share/doc/$p/copyright"
done

# --- optional ld.so.cache (root only, checked above) -------------------------
if [ "$ld_cache" = 1 ]; then
  # No var/cache/ldconfig in the root: ldconfig then skips its aux-cache
  # (inode/mtime data, not deterministic).
  ldconfig -X -r "$R"
  [ -s "$R/etc/ld.so.cache" ] || { echo "make-root.sh: ldconfig wrote no cache" >&2; exit 1; }
fi

# --- self-check: the signature must be present iff --signature --------------
sig_count="$(find "$R" -type f -exec cat {} + | xxd -p | tr -d '\n' | grep -o "$SIGNATURE_HEX" | wc -l || true)"
if [ "$signature" = 1 ] && [ "$sig_count" -eq 0 ]; then
  echo "make-root.sh: internal error: signature requested but not found" >&2; exit 1
elif [ "$signature" = 0 ] && [ "$sig_count" -ne 0 ]; then
  echo "make-root.sh: internal error: signature bytes present without --signature" >&2; exit 1
fi
