#!/usr/bin/env bash
# make-got.sh - build a running-sshd fixture for chainwatch's GOT-integrity
# check.
#
# Why this exists: the xz-utils backdoor (CVE-2024-3094) rewrote the GOT
# slot of sshd's import RSA_public_decrypt so that it pointed into
# liblzma's code instead of libcrypto's.  The check "a running program's GOT
# slot for an imported symbol points at that symbol's definition in the
# library that defines it" needs live processes in both states, without real
# malware.  The ELF files are built at test time from the tiny, benign C
# sources in src/got/ (liblzma and libsystemd are make-root.sh's own
# src/liblzma.c and src/libsystemd.c); the "hook" (src/got/got-hook.c) only
# forwards to the original function.
#
# Compiler: gcc + GNU ld (bfd) ONLY (like make-root.sh; override the gcc
# binary with CHAINWATCH_GCC, must still be gcc; checked).  Needs: gcc,
# binutils (readelf, nm).  x86-64 only.
#
# Usage:
#   make-got.sh OUTDIR [--hook none|liblzma|other] [--lazy]
#                                   build into OUTDIR (created; must be
#                                   absent or an empty directory)
#   make-got.sh --memfd-loader PATH only compile src/got/memfd-load.c to PATH
#                                   (a helper: `PATH LIBRARY` copies LIBRARY
#                                   into memfd_create("crcaccel"), dlopen()s
#                                   /proc/self/fd/N, prints "ready", blocks
#                                   until SIGTERM; its maps then show
#                                   "/memfd:crcaccel (deleted)"); no OUTDIR.
#
# Options:
#   --hook none     (default) no library touches sshd's GOT: every slot
#                   holds the definition's address in libcrypto.so.3
#   --hook liblzma  liblzma.so.5 gets src/got/got-hook.c: its constructor
#                   points sshd's GOT slot(s) for RSA_public_decrypt at
#                   liblzma's static hooked_rsa_public_decrypt (mprotect RW,
#                   write, mprotect PROT_READ again: the slot is in RELRO)
#   --hook other    the same hook in OUTDIR/lib/libhelper.so.1 (SONAME
#                   libhelper.so.1, NEEDED by libsystemd); liblzma is clean
#                   and the slot points into libhelper
#   --lazy          sshd linked -z lazy -z norelro instead of -z now -z relro:
#                   JUMP_SLOT slots are bound lazily and, until the function
#                   is first called (sshd never calls it without -T), point
#                   into sshd's own .plt (.plt.sec with IBT).  A hook still
#                   works (the slot is writable; no mprotect).
#   -h, --help      this text
#
# Output (all regular files, no symlinks, no RPATH/RUNPATH anywhere):
#   OUTDIR/lib/libcrypto.so.3   SONAME libcrypto.so.3; exports
#                               RSA_public_decrypt, EVP_PKEY_set1_RSA,
#                               RSA_get0_key, version OPENSSL_3.0.0
#   OUTDIR/lib/liblzma.so.5     SONAME liblzma.so.5; exports lzma_crc64
#                               (plain C), lzma_version_string; the hook with
#                               --hook liblzma
#   OUTDIR/lib/libhelper.so.1   only with --hook other (hook + helper_version)
#   OUTDIR/lib/libsystemd.so.0  SONAME libsystemd.so.0; exports sd_notify
#                               (calls lzma_crc64); NEEDED liblzma.so.5
#                               (+ libhelper.so.1 with --hook other)
#   OUTDIR/sbin/sshd            PIE, NEEDED libcrypto.so.3, libsystemd.so.0,
#                               libc.so.6; relocations in sshd:
#                                 RSA_public_decrypt  R_X86_64_JUMP_SLOT
#                                 RSA_get0_key        R_X86_64_JUMP_SLOT
#                                 EVP_PKEY_set1_RSA   R_X86_64_GLOB_DAT
#                               (readelf names them sym@OPENSSL_3.0.0)
#
# Running it (the hook, if any, is in place before main() runs):
#   LD_LIBRARY_PATH=OUTDIR/lib OUTDIR/sbin/sshd &
#     calls sd_notify once, prints "ready\n", blocks until SIGTERM (exit 0)
#   LD_LIBRARY_PATH=OUTDIR/lib OUTDIR/sbin/sshd -T
#     calls the three libcrypto functions (through the hook, which forwards)
#     and prints "ok" (exit 0); this binds lazy slots, so not for --lazy
#     checks of the initial state
# A hook library is inert in a program that does not import
# RSA_public_decrypt (e.g. loaded by memfd-load or make-root.sh's maps-lib).
#
# At the end the script checks its output (exit 1 otherwise): the three
# relocation kinds above in `readelf -rW sshd`; BIND_NOW and GNU_RELRO
# present iff not --lazy; the DT_NEEDED lists; and the hook's symbols
# (cw_got_hook_install, the constructor, and hooked_rsa_public_decrypt, both
# local in .symtab) in the hook library and in no other file.
#
# Deterministic: the same options on the same host give byte-identical
# files (sources compiled from src/got/ by relative name; no temp paths,
# timestamps or OUTDIR in any output).  Prints nothing on success.  Runs as
# non-root and takes well under a second.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src/got"
GCC="${CHAINWATCH_GCC:-gcc}"

die() { echo "make-got.sh: $*" >&2; exit 2; }
fail() { echo "make-got.sh: internal error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

outdir="" memfd_loader="" hook=none lazy=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hook)         [ $# -ge 2 ] || die "--hook needs none, liblzma or other"
                    case "$2" in none|liblzma|other) hook="$2" ;;
                                 *) die "--hook must be none, liblzma or other (got '$2')" ;; esac
                    shift ;;
    --lazy)         lazy=1 ;;
    --memfd-loader) [ -n "${2:-}" ] || die "--memfd-loader needs a PATH"; memfd_loader="$2"; shift ;;
    -h|--help)      usage; exit 0 ;;
    -*)             die "unknown option: $1 (see --help)" ;;
    *)              [ -z "$outdir" ] || die "more than one OUTDIR given"; outdir="$1" ;;
  esac
  shift
done

# --- toolchain ------------------------------------------------------------
# shellcheck source=toolchain.sh
. "$HERE/toolchain.sh"
"$GCC" -dM -E -x c /dev/null | grep -c '__x86_64__' >/dev/null || die "$GCC does not target x86-64"

if [ -n "$memfd_loader" ]; then
  [ -z "$outdir" ] || die "--memfd-loader PATH builds only the helper; no OUTDIR allowed"
  [ "$hook$lazy" = none0 ] || die "--hook/--lazy do not apply to --memfd-loader"
  mkdir -p "$(dirname "$memfd_loader")"
  loader_abs="$(cd "$(dirname "$memfd_loader")" && pwd)/$(basename "$memfd_loader")"
  cc -fPIE -pie memfd-load.c -o "$loader_abs"
  exit 0
fi

[ -n "$outdir" ] || { usage >&2; exit 2; }
if [ -e "$outdir" ] || [ -L "$outdir" ]; then
  [ -d "$outdir" ] && [ ! -L "$outdir" ] || die "OUTDIR exists and is not a directory: $outdir"
  [ -z "$(ls -A "$outdir")" ] || die "OUTDIR is not empty (refusing to overwrite): $outdir"
fi
mkdir -p "$outdir"
R="$(cd "$outdir" && pwd)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-got.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# --- libraries -------------------------------------------------------------
# --no-as-needed: keep every DT_NEEDED (libc.so.6 too, like real libraries),
# whatever the host gcc's default.
SHLIB=(-fPIC -shared -Wl,--no-as-needed)

cc "${SHLIB[@]}" -Wl,-soname,libcrypto.so.3 -Wl,--version-script=libcrypto.map \
   libcrypto.c -o "$tmp/libcrypto.so.3"

# liblzma and libsystemd are make-root.sh's own sources (liblzma without its IFUNCs): only the hook is new here.
lzma_src=(-DCW_NO_IFUNC ../liblzma.c)
[ "$hook" = liblzma ] && lzma_src+=(got-hook.c)
cc "${SHLIB[@]}" -Wl,-soname,liblzma.so.5 "${lzma_src[@]}" -o "$tmp/liblzma.so.5"

sysd_deps=("$tmp/liblzma.so.5")
if [ "$hook" = other ]; then
  cc "${SHLIB[@]}" -Wl,-soname,libhelper.so.1 libhelper.c got-hook.c -o "$tmp/libhelper.so.1"
  sysd_deps+=("$tmp/libhelper.so.1")
fi
cc "${SHLIB[@]}" -Wl,-soname,libsystemd.so.0 ../libsystemd.c "${sysd_deps[@]}" \
   -o "$tmp/libsystemd.so.0"

# --- sshd --------------------------------------------------------------------
if [ "$lazy" = 1 ]; then
  bind=(-Wl,-z,lazy -Wl,-z,norelro)   # explicit: some gcc builds default to -z now
else
  bind=(-Wl,-z,now -Wl,-z,relro)
fi
cc -fPIE -pie "${bind[@]}" -Wl,--disable-new-dtags -Wl,--no-as-needed -Wl,-rpath-link,"$tmp" \
   sshd.c "$tmp/libcrypto.so.3" "$tmp/libsystemd.so.0" -o "$tmp/sshd"

mkdir -p "$R/lib" "$R/sbin"
for f in libcrypto.so.3 liblzma.so.5 libsystemd.so.0; do
  install -m 0644 "$tmp/$f" "$R/lib/$f"
done
[ "$hook" != other ] || install -m 0644 "$tmp/libhelper.so.1" "$R/lib/libhelper.so.1"
install -m 0755 "$tmp/sshd" "$R/sbin/sshd"

# --- self-check ------------------------------------------------------------
relocs="$(readelf -rW "$R/sbin/sshd")"
# reloc_kind SYMBOL: the relocation types naming SYMBOL (sym or sym@VERSION)
reloc_kind() {
  awk -v s="$1" '$5 == s || index($5, s "@") == 1 { print $3 }' <<< "$relocs" | sort -u | tr '\n' ' '
}
for want in RSA_public_decrypt:R_X86_64_JUMP_SLOT RSA_get0_key:R_X86_64_JUMP_SLOT \
            EVP_PKEY_set1_RSA:R_X86_64_GLOB_DAT; do
  sym="${want%%:*}" type="${want#*:}"
  got="$(reloc_kind "$sym")"
  [ "$got" = "$type " ] || fail "sshd: $sym has relocations '${got% }', expected $type"
done

dynamic="$(readelf -dW "$R/sbin/sshd")"
phdrs="$(readelf -lW "$R/sbin/sshd")"
now=0 relro=0
grep -c 'BIND_NOW' <<< "$dynamic" >/dev/null && now=1
grep -c 'GNU_RELRO' <<< "$phdrs" >/dev/null && relro=1
if [ "$lazy" = 1 ]; then
  [ "$now$relro" = 00 ] || fail "--lazy sshd has BIND_NOW ($now) or GNU_RELRO ($relro)"
else
  [ "$now$relro" = 11 ] || fail "sshd lacks BIND_NOW ($now) or GNU_RELRO ($relro)"
fi

# needed FILE EXPECTED...: DT_NEEDED of FILE, in order
needed() {
  local file="$1" got; shift
  got="$(readelf -dW "$R/$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | tr '\n' ' ')"
  [ "$got" = "$* " ] || fail "$file: NEEDED '${got% }', expected '$*'"
}
needed sbin/sshd libcrypto.so.3 libsystemd.so.0 libc.so.6
if [ "$hook" = other ]; then
  needed lib/libsystemd.so.0 liblzma.so.5 libhelper.so.1 libc.so.6
else
  needed lib/libsystemd.so.0 liblzma.so.5 libc.so.6
fi

case "$hook" in
  liblzma) hook_file=lib/liblzma.so.5 ;;
  other)   hook_file=lib/libhelper.so.1 ;;
  *)       hook_file="" ;;
esac
for f in sbin/sshd lib/libcrypto.so.3 lib/liblzma.so.5 lib/libsystemd.so.0 lib/libhelper.so.1; do
  [ -e "$R/$f" ] || continue
  n="$(nm "$R/$f" | awk '$2 == "t" && ($3 == "cw_got_hook_install" || $3 == "hooked_rsa_public_decrypt")' | wc -l)"
  if [ "$f" = "$hook_file" ]; then
    [ "$n" -eq 2 ] || fail "$f: the hook's constructor or function is missing"
  else
    [ "$n" -eq 0 ] || fail "$f: has hook symbols but is not the hook library"
  fi
done
