#!/usr/bin/env bash
# make-ifunc.sh - build the IFUNC-resolver fixtures for chainwatch's resolver walk
# (issue 25): shared libraries whose resolvers have the benign shapes found on real
# systems, the xz backdoor's shape (harmless), and resolvers a disassembler must
# survive.  Sources in src/ifunc/; nothing here is ever run or loaded by a test,
# only read as files.  See docs/ifunc-calibration-notes.md for the real-world figures
# these shapes were taken from.
#
# Compiler: gcc + GNU ld (bfd) ONLY (override the gcc binary with CHAINWATCH_GCC,
# must still be gcc; checked).  Needs: gcc, binutils (readelf), python3 (standard
# library only).  x86-64 only.
#
# Usage:
#   make-ifunc.sh OUTDIR    build into OUTDIR (created if absent; the files below are
#                           replaced, nothing else in OUTDIR is touched)
#   make-ifunc.sh -h|--help this text
#
# Output (gcc -O2 -fPIC -shared; each exports STT_GNU_IFUNC symbols in .dynsym):
#   libifunc-cpuid.so         cw_sum: hand-written resolver, __builtin_cpu_init() +
#                             __builtin_cpu_supports("avx2"); libgcc's
#                             __cpu_indicator_init linked in (hidden, a direct local
#                             call, ~780 instructions, cpuid, rip-relative stores into
#                             __cpu_model)                         BENIGN
#   libifunc-clones.so        cw_dot, cw_scale, cw_popcount: target_clones("default",
#                             "avx2","arch=x86-64-v3"); GCC's *.resolver functions
#                             call __cpu_indicator_init too        BENIGN
#   libifunc-auxval.so        cw_count: resolver (uint64_t hwcap, void *) calling
#                             getauxval(AT_HWCAP2) through the PLT BENIGN
#   libifunc-glibc-style.so   cw_copy: reads feature words through a pointer loaded
#                             from a global through the GOT (GLOB_DAT cw_cpu_features),
#                             returns one of six implementations; no calls  BENIGN
#   libifunc-local-helper.so  lzma_crc64, lzma_crc32: the clean xz 5.6 shape,
#                             crc64_resolve -> is_arch_extension_supported ->
#                             _get_cpuid (static noinline, cpuid); ~40 instructions;
#                             its only non-stack-looking stores are cpuid's out
#                             parameters (pointers to the caller's stack)   BENIGN
#   libifunc-rtld-walker.so   lzma_crc64: the BACKDOOR'S SHAPE (harmless): the resolver
#                             calls a local _get_cpuid(&_r_debug) (_r_debug through the
#                             GOT, R_X86_64_GLOB_DAT) that walks r_map/l_next comparing
#                             l_name, parses a map's ELF headers and l_ld (DT_SYMTAB,
#                             DT_STRTAB, DT_GNU_HASH/DT_HASH) with string hashes, finds
#                             l_info[] in the private link_map by scanning, and stores
#                             a pointer to a local "audit hook" into it; 12 functions,
#                             ~460 instructions, no PLT calls      MUST BE FLAGGED
#   libifunc-rtld-walker-stripped.so    the same, linked -s: no .symtab, only the
#                             exported IFUNC lzma_crc64 in .dynsym names the resolver.
#                             NB: GNU ld -s leaves EI_OSABI at SYSV (0), so readelf
#                             prints the type as "<OS specific>: 10", not IFUNC; ld.so
#                             still treats it as STT_GNU_IFUNC, and so must chainwatch
#                                                                  MUST BE FLAGGED
#   libifunc-rtld-walker-irelative.so   the same with a hidden IFUNC called only from
#                             lzma_crc64 (a plain function), linked -s: the resolver
#                             is named by nothing but an R_X86_64_IRELATIVE addend;
#                             no IFUNC symbol anywhere              MUST BE FLAGGED
#   libifunc-got-swap.so      lzma_crc64: the backdoor's BOOTSTRAP shape (harmless):
#                             crc64_resolve -> _get_cpuid -> backdoor_init fills a
#                             context through a pointer, stores another function in a
#                             function-pointer slot of its own data, calls through it
#                             and restores it (xzre's backdoor_entry/backdoor_init);
#                             no loader data referenced           MUST BE FLAGGED
#   libifunc-hostile.so       hand-written assembler (src/ifunc/hostile.s), exported
#                             IFUNCs whose "resolvers" are: cw_loop (a loop of jumps),
#                             cw_mid_insn (a jump into the middle of a movabs),
#                             cw_invalid (invalid opcodes), cw_recursive (mutually
#                             recursive calls), cw_falls_off (runs off the end of
#                             .text), cw_in_data (st_value post-edited to .data's
#                             cw_data_object), cw_unmapped (st_value post-edited to
#                             0x7ffff0000000, in no section or segment): each a
#                             recorded problem for the file, never a crash or stall
#
# At the end the script checks its output with readelf (exit 1 otherwise): the IFUNC
# symbols in .dynsym, .symtab present or absent, the IRELATIVE relocation, the
# GLOB_DAT of _r_debug, the edited st_values.
#
# Idempotent and deterministic: the same host gives byte-identical files (sources
# compiled from src/ifunc/ by relative name; no temp paths or OUTDIR in any output).
# Prints nothing on success.  Runs as non-root in about a second.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src/ifunc"
GCC="${CHAINWATCH_GCC:-gcc}"

die() { echo "make-ifunc.sh: $*" >&2; exit 2; }
fail() { echo "make-ifunc.sh: internal error: $*" >&2; exit 1; }
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

# --- toolchain ------------------------------------------------------------
# shellcheck source=toolchain.sh
. "$HERE/toolchain.sh"
"$GCC" -dM -E -x c /dev/null | grep -c '__x86_64__' >/dev/null || die "$GCC does not target x86-64"
command -v python3 >/dev/null || die "python3 not found"
command -v readelf >/dev/null || die "readelf not found (binutils)"

if [ -e "$outdir" ] || [ -L "$outdir" ]; then
  [ -d "$outdir" ] && [ ! -L "$outdir" ] || die "OUTDIR exists and is not a directory: $outdir"
fi
mkdir -p "$outdir"
R="$(cd "$outdir" && pwd)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-ifunc.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# --- libraries -------------------------------------------------------------
SHLIB=(-fPIC -shared -Wl,--no-as-needed)

lib() { # lib NAME SOURCE [EXTRA...]
  local name="$1" src="$2"; shift 2
  cc "${SHLIB[@]}" -Wl,-soname,"$name" "$@" "$src" -o "$tmp/$name" \
    || fail "building $name from src/ifunc/$src failed"
}
lib libifunc-cpuid.so        cpuid.c
lib libifunc-clones.so       clones.c
lib libifunc-auxval.so       auxval.c
lib libifunc-glibc-style.so  glibc-style.c
lib libifunc-local-helper.so local-helper.c
lib libifunc-rtld-walker.so  rtld-walker.c
lib libifunc-rtld-walker-stripped.so  rtld-walker.c -s
lib libifunc-rtld-walker-irelative.so rtld-walker.c -s -DCW_HIDDEN_IFUNC
lib libifunc-got-swap.so     got-swap.c
lib libifunc-hostile.so      hostile.s
python3 "$SRC/set-st-value.py" "$tmp/libifunc-hostile.so" \
  cw_in_data @cw_data_object cw_unmapped 0x7ffff0000000

LIBS=(cpuid clones auxval glibc-style local-helper rtld-walker rtld-walker-stripped
      rtld-walker-irelative got-swap hostile)

# --- self-check (on the temporary copies, before anything is installed) -----
# dynifuncs FILE: the names of .dynsym's IFUNC symbols, sorted, space-separated.  readelf
# says "IFUNC" only when EI_OSABI is GNU; GNU ld -s leaves it SYSV (it sets GNU from the
# .symtab it writes), and readelf then says "<OS specific>: 10" for the same type.
dynifuncs() {
  readelf -W --dyn-syms "$1" | awk '$4 == "IFUNC" || ($4 == "<OS" && $6 == "10") { print $NF }' \
    | sort -u | tr '\n' ' '
}
has_symtab() { readelf -SW "$1" | grep -c ' \.symtab ' >/dev/null; }
st_value() { # st_value FILE NAME (from .dynsym)
  readelf -W --dyn-syms "$1" | awk -v n="$2" '$8 == n { print $2; exit }'
}
expect_ifuncs() { # expect_ifuncs LIB NAMES...
  local got want
  got="$(dynifuncs "$tmp/libifunc-$1.so")"
  want="$(printf '%s\n' "${@:2}" | sort | tr '\n' ' ')"
  [ "$got" = "$want" ] || fail "libifunc-$1.so: .dynsym IFUNCs '${got% }', expected '${want% }'"
}
expect_ifuncs cpuid cw_sum
expect_ifuncs clones cw_dot cw_popcount cw_scale
expect_ifuncs auxval cw_count
expect_ifuncs glibc-style cw_copy
expect_ifuncs local-helper lzma_crc32 lzma_crc64
expect_ifuncs rtld-walker lzma_crc64
expect_ifuncs rtld-walker-stripped lzma_crc64
expect_ifuncs got-swap lzma_crc64
expect_ifuncs hostile cw_falls_off cw_in_data cw_invalid cw_loop cw_mid_insn cw_recursive cw_unmapped
got="$(dynifuncs "$tmp/libifunc-rtld-walker-irelative.so")"
[ -z "$got" ] || fail "libifunc-rtld-walker-irelative.so: has IFUNC symbols ($got)"

for l in "${LIBS[@]}"; do
  f="$tmp/libifunc-$l.so"
  case "$l" in
    *-stripped|*-irelative) has_symtab "$f" && fail "libifunc-$l.so: not stripped" ;;
    *)                      has_symtab "$f" || fail "libifunc-$l.so: no .symtab" ;;
  esac
  n="$(readelf -rW "$f" | grep -c 'R_X86_64_IRELATIVE' || true)"
  if [ "$l" = rtld-walker-irelative ]; then
    [ "$n" -ge 1 ] || fail "libifunc-$l.so: no R_X86_64_IRELATIVE relocation"
  else
    [ "$n" -eq 0 ] || fail "libifunc-$l.so: unexpected R_X86_64_IRELATIVE relocations ($n)"
  fi
done

for l in rtld-walker rtld-walker-stripped rtld-walker-irelative; do
  readelf -rW "$tmp/libifunc-$l.so" | awk '$3 == "R_X86_64_GLOB_DAT" && $5 ~ /^_r_debug(@|$)/ { f = 1 } END { exit !f }' \
    || fail "libifunc-$l.so: no R_X86_64_GLOB_DAT relocation for _r_debug"
done
readelf -rW "$tmp/libifunc-glibc-style.so" | awk '$3 == "R_X86_64_GLOB_DAT" && $5 == "cw_cpu_features" { f = 1 } END { exit !f }' \
  || fail "libifunc-glibc-style.so: cw_cpu_features is not read through the GOT"
readelf -rW "$tmp/libifunc-auxval.so" | awk '$3 == "R_X86_64_JUMP_SLOT" && $5 ~ /^getauxval(@|$)/ { f = 1 } END { exit !f }' \
  || fail "libifunc-auxval.so: getauxval is not called through the PLT"
# the resolvers of the local-helper and rtld-walker kinds are local functions with these names
for want in local-helper:crc64_resolve local-helper:_get_cpuid rtld-walker:crc64_resolve \
            rtld-walker:_get_cpuid rtld-walker:cw_find_map rtld-walker:cw_lookup; do
  readelf -sW "$tmp/libifunc-${want%%:*}.so" | awk -v n="${want#*:}" '$4 == "FUNC" && $5 == "LOCAL" && $8 == n { f = 1 } END { exit !f }' \
    || fail "libifunc-${want%%:*}.so: no local function ${want#*:} (inlined?)"
done

h="$tmp/libifunc-hostile.so"
[ "$(st_value "$h" cw_in_data)" = "$(st_value "$h" cw_data_object)" ] || fail "cw_in_data was not moved to .data"
[ "$(st_value "$h" cw_unmapped)" = 00007ffff0000000 ] || fail "cw_unmapped was not moved to 0x7ffff0000000"

for l in "${LIBS[@]}"; do
  install -m 0644 "$tmp/libifunc-$l.so" "$R/libifunc-$l.so"
done
