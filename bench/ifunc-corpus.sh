#!/usr/bin/env bash
# ifunc-corpus.sh - the Debian 12 packages that ship IFUNC resolvers but are not part of a
# default install (see docs/ifunc-calibration-notes.md), downloaded with `apt-get download`
# (never installed) and extracted into one root, for calibrating chainwatch's resolver walk
# (issue 25) beyond this host:
#
#   ROOT="$(bench/ifunc-corpus.sh)" && chainwatch --scan-now --path "$ROOT" ...
#
# Usage: ifunc-corpus.sh [--no-qemu]
#   --no-qemu   leave out qemu-user-static (61 MB; 35 static binaries whose resolvers are
#               all static glibc's, the same kinds as bash-static's)
#
# Packages (versions are whatever bookworm's apt lists hold; those measured are in the notes):
#   libhyperscan5, libvectorscan5   libhs.so.5, libhs_runtime.so.5: hyperscan's fat-runtime
#                                   dispatchers (cpuid/xgetbv inline, GOT reads of the
#                                   exported per-arch implementations)
#   libgo21, libgphobos3            gccgo's and GDC's runtimes, with libatomic's IFUNCs linked in
#   bash-static busybox-static e2fsck-static sash zsh-static qemu-user-static
#                                   static glibc: IRELATIVE-only resolvers (no symbol in .dynsym)
#
# Cache: /var/tmp/chainwatch-ifunc-corpus/debs (a .deb already there is not downloaded again);
# the root /var/tmp/chainwatch-ifunc-corpus/root is re-extracted when the set of .debs changed.
# Prints the root's path (and nothing else) on stdout; exits non-zero with a message on failure.
# Needs apt-get (with bookworm's lists: run `apt-get update` first on a fresh machine), dpkg-deb.
set -euo pipefail

CACHE=/var/tmp/chainwatch-ifunc-corpus
PKGS=(libhyperscan5 libvectorscan5 libgo21 libgphobos3
      bash-static busybox-static e2fsck-static sash zsh-static qemu-user-static)

die() { echo "ifunc-corpus.sh: $*" >&2; exit 1; }
case "${1:-}" in
  "") ;;
  --no-qemu) PKGS=("${PKGS[@]/qemu-user-static}") ;;
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) die "unknown argument: $1 (see --help)" ;;
esac
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-get and dpkg-deb (Debian)"

mkdir -p "$CACHE/debs"
debs=()
for p in "${PKGS[@]}"; do
  [ -n "$p" ] || continue
  shopt -s nullglob
  have=("$CACHE/debs/${p}_"*_amd64.deb)
  shopt -u nullglob
  if [ "${#have[@]}" -eq 0 ]; then
    # apt-get download as root warns that _apt cannot write here; that is harmless
    out="$( (cd "$CACHE/debs" && apt-get download "$p:amd64") 2>&1 )" \
      || die "apt-get download $p failed: $out"
    shopt -s nullglob
    have=("$CACHE/debs/${p}_"*_amd64.deb)
    shopt -u nullglob
    [ "${#have[@]}" -gt 0 ] || die "apt-get download $p left no .deb in $CACHE/debs"
  fi
  debs+=("${have[-1]}")
done

root="$CACHE/root"
stamp="$(printf '%s\n' "${debs[@]##*/}" | sort)"
if [ ! -d "$root" ] || [ "$(cat "$CACHE/root.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$root.new"
  mkdir -p "$root.new"
  for d in "${debs[@]}"; do
    dpkg-deb -x "$d" "$root.new" || die "dpkg-deb -x $d failed"
  done
  rm -rf "$root"
  mv "$root.new" "$root"
  printf '%s\n' "$stamp" > "$CACHE/root.stamp"
fi
echo "$root"
