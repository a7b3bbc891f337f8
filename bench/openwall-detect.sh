#!/usr/bin/env bash
# openwall-detect.sh - the detection approach published with the CVE-2024-3094
# disclosure (https://www.openwall.com/lists/oss-security/2024/03/29/4,
# detect.sh): ask ldd where sshd's liblzma is, then hexdump it and grep for the
# signature.  Baseline (a) of bench/run.sh.
#
#   openwall-detect.sh [SSHD [LIBDIR]]   exit 0 = signature found, 1 = not found
#   openwall-detect.sh --files LIST      same hexdump|grep over every file in
#                                        LIST (NUL-separated): the approach
#                                        applied to chainwatch's whole file set
#
# LIBDIR (LD_LIBRARY_PATH) points ldd at a fixture root's libraries.  Note ldd
# runs the dynamic loader on SSHD: fine for this benchmark (host sshd, benign
# fixtures), and exactly why chainwatch itself never does it.
set -uo pipefail
SIG=f30f1efa554889f54c89ce5389fb81e7000000804883ec28488954241848894c2410

if [ "${1:-}" = "--files" ]; then
  found=1
  while IFS= read -r -d '' f; do
    if hexdump -ve '1/1 "%.2x"' "$f" | grep -q "$SIG"; then echo "signature: $f"; found=0; fi
  done < "$2"
  exit "$found"
fi

sshd="${1:-/usr/sbin/sshd}"
path="$(LD_LIBRARY_PATH="${2:-}" ldd "$sshd" | grep liblzma | grep -o '/[^ ]*')"
[ -n "$path" ] || { echo "no liblzma in $sshd's ldd output"; exit 1; }
if hexdump -ve '1/1 "%.2x"' "$path" | grep -q "$SIG"; then
  echo "signature: $path"; exit 0
fi
exit 1
