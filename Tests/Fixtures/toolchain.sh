# toolchain.sh - sourced by the fixture scripts (make-root.sh, make-got.sh): the gcc + GNU ld checks and the
# cc() helper they share. Needs GCC (the compiler), SRC (the sources' directory) and die() from the caller.
# gcc + GNU ld (bfd) only: clang folds internal IFUNCs away, and the fixtures need STT_GNU_IFUNC symbols and
# R_X86_64_IRELATIVE relocations.
command -v "$GCC" >/dev/null || die "gcc not found ($GCC)"
if "$GCC" -dM -E -x c /dev/null | grep -c '__clang__' >/dev/null; then  # -c: no early exit (pipefail)
  die "$GCC is clang; gcc + GNU ld are required (clang folds internal IFUNCs)"
fi
# Deterministic, host-independent basics; explicit GNU ld (bfd).
CFLAGS=(-O2 -Wall -Wextra -fuse-ld=bfd -Wl,--build-id=sha1 -Wl,-z,noexecstack)

# cc ARGS...: run gcc from SRC with relative source names so that no absolute path (only e.g. "liblzma.c" in
# STT_FILE) ends up in the output.
cc() { (cd "$SRC" && "$GCC" "${CFLAGS[@]}" "$@"); }
