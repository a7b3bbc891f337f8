#!/usr/bin/env bash
# make-container-images.sh - build Debian 12 container images for chainwatch's
# "every running container scanned as its own root" tests (issue 26).
#
# Why this exists: a scan must treat each running container as a root of its
# own: its dpkg database, its loader configuration and its libraries, read
# through /proc/PID/root, not the host's.  The tests need real containers run
# by a real engine (podman with runc here) from images that look like real
# Debian installs, in three states: clean, with a backdoored liblzma5 package
# installed, and with a running sshd whose GOT a library hooked.  Everything
# is benign: the "backdoor" liblzma is make-root.sh's fake library, which
# merely carries the CVE-2024-3094 detection byte pattern as a never-called
# function, and the hook (make-got.sh) only forwards to the real function.
#
# Usage:
#   make-container-images.sh [--docker]   build what is missing or stale, then
#                                         print one "NAME ID" line per image
#   make-container-images.sh -h|--help    this text
#
#   --docker   also import the same images into Docker (`docker import`),
#              under the same names; their lines are printed as
#              "docker:NAME ID".  This script does NOT start dockerd: if
#              `docker info` fails, the Docker part is skipped with a message
#              (exit status unaffected).
#
# Images (podman, rootful; each a single layer made with `podman import`):
#   localhost/chainwatch-clean:test
#       Debian 12 (bookworm) minbase as debootstrap installed it from this
#       machine's mirror, plus an empty /run/sshd.  CMD /usr/bin/sleep infinity.
#   localhost/chainwatch-xz:test
#       the clean root with liblzma5 made to look like Debian's backdoored
#       5.6.1-1: var/lib/dpkg/status says Version 5.6.1-1; the real
#       usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1 is replaced by
#       liblzma.so.5.6.1 = `make-root.sh --signature`'s library (SONAME
#       liblzma.so.5, IFUNC crc32/crc64 resolvers, the signature bytes),
#       liblzma.so.5 -> liblzma.so.5.6.1 (relative, as the package ships it);
#       info/liblzma5:amd64.list names liblzma.so.5.6.1 (under
#       /lib/x86_64-linux-gnu, as bookworm's package lists it) and
#       info/liblzma5:amd64.md5sums holds the new file's md5, so the file
#       MATCHES its package: findings come from the version and the
#       signature, never from a modified file.  CMD /usr/bin/sleep infinity
#       (sleep links only libc: nothing in the container maps liblzma).
#       Pitfall: dpkg and apt link liblzma, so they do not run INSIDE this
#       container (the fake library lacks the lzma_* coders); read its
#       database from outside (dpkg --root /proc/PID/root ...).
#   localhost/chainwatch-got:test
#       the clean root plus `make-got.sh --hook liblzma`'s output, laid out
#       as make-got.sh lays out OUTDIR, under /opt/chainwatch-got:
#         /opt/chainwatch-got/sbin/sshd            (no RPATH, like make-got's)
#         /opt/chainwatch-got/lib/{libcrypto.so.3,liblzma.so.5,libsystemd.so.0}
#       The SONAMEs are those of real Debian libraries (liblzma5's and
#       libsystemd0's are in the root), so the fixture's libraries cannot go
#       to /usr/lib/x86_64-linux-gnu without replacing packaged files (and
#       breaking dpkg/apt in the image); like a vendor program under /opt it
#       is started with LD_LIBRARY_PATH, set for sshd alone (not an image
#       ENV, so `podman exec CTR dpkg ...` still works):
#         CMD ["/usr/bin/env", "LD_LIBRARY_PATH=/opt/chainwatch-got/lib",
#              "/opt/chainwatch-got/sbin/sshd"]
#       env exec()s sshd, which is then the container's PID 1: liblzma's
#       constructor has pointed sshd's GOT slot for RSA_public_decrypt at
#       liblzma's hooked_rsa_public_decrypt before main(); sshd prints
#       "ready" (`podman logs CTR`) once that is done and blocks until SIGTERM
#       (exit 0).  Same evidence as RuntimeIntegrityTests' FixtureSshd, with
#       /opt/chainwatch-got as its directory (the LD_LIBRARY_PATH rule,
#       loader-injection-sshd-environment, fires too, as it does there).
# All three: labels chainwatch.fixture-key (below) and chainwatch.fixture
# (clean, xz or got); podman's clean and xz have STOPSIGNAL SIGKILL (sleep as
# PID 1 ignores SIGTERM; `podman stop` is then immediate; Docker's import
# refuses STOPSIGNAL, so there use `docker rm -f`).  got keeps SIGTERM: the
# fixture sshd handles it and exits 0.
#
# Running them (podman on this machine: runc, as crun refuses the hybrid
# cgroup layout here; the default nofile limit exceeds the hard limit):
#   P='podman --runtime runc'
#   R='--network none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096'
#   $P run -d $R localhost/chainwatch-xz:test          (sleep infinity)
#   $P run -d $R localhost/chainwatch-clean:test
#   ctr=$($P run -d $R localhost/chainwatch-got:test)
#     ready when `$P logs $ctr` prints "ready" (the hook is in place before);
#     pid=$($P inspect -f '{{.State.Pid}}' $ctr) is sshd on the host.
#   $P rm -f -t 0 CTR      stop and remove
# Docker (after --docker): the same with `docker run -d $R NAME`, `docker
# logs`, `docker inspect -f '{{.State.Pid}}'`, `docker rm -f CTR`.
#
# Idempotent and cached: an image is rebuilt only when its label
# chainwatch.fixture-key differs from the sha256 of its inputs: this
# script, the base root tarball, and for xz make-root.sh, toolchain.sh,
# src/{liblzma,libsystemd,sshd}.c, for got make-got.sh, toolchain.sh,
# src/{liblzma,libsystemd}.c, src/got/*, and the gcc version (compared with
# `podman image inspect`; for Docker `docker image inspect`).  A replaced
# image's old id is removed unless a container still uses it.
#
# Cache: /var/tmp/chainwatch-container-cache/ (CHAINWATCH_CONTAINER_CACHE
# overrides): bookworm-minbase-rootfs-ARCH-HASH.tar.zst, the installed
# minbase root, HASH = first 8 hex of sha256(mirror) like
# packaging/test-in-debootstrap.sh (the root's sources.list names the
# mirror), with its .sha256 beside it; `lock`, flock'ed for the whole run so
# concurrent test processes wait for one build instead of racing.  Remove
# the tarball to debootstrap again.  Mirror: the Debian mirror this
# machine's apt uses (CHAINWATCH_MIRROR overrides), else deb.debian.org.
#
# Needs: root (debootstrap, rootful podman), debootstrap, podman, runc, tar,
# zstd, flock, what make-root.sh and make-got.sh need (gcc, binutils, xxd),
# the mirror for the first run only; amd64.  scripts/setup.sh installs them.
# Time (measured on the 2-core build machine, its mirror): first run 65-95 s
# (debootstrap and the base tarball 35-50 s of it, then 10-15 s per image);
# a cached run 0.5-1 s (1.5 s with --docker); after an edit of this script
# (every key changes) 30-45 s for the three images, up to 85 s with --docker.
#
# Exit status: 0 images ready; 1 a self-check failed (internal error);
# 2 usage or set-up error (missing tool, debootstrap or podman failed);
# 3 not root.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
CACHE="${CHAINWATCH_CONTAINER_CACHE:-/var/tmp/chainwatch-container-cache}"
TRIPLET=x86_64-linux-gnu
L="usr/lib/$TRIPLET"
SIGNATURE_HEX=f30f1efa554889f54c89ce5389fb81e7000000804883ec28488954241848894c2410
LABEL=chainwatch.fixture-key
PODMAN=(podman --runtime runc)
IMAGES=(clean xz got)

log() { echo "make-container-images.sh: $*" >&2; }
die() { log "$*"; exit 2; }
fail() { log "internal error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$SELF"; }

docker=0
while [ $# -gt 0 ]; do
  case "$1" in
    --docker)  docker=1 ;;
    -h|--help) usage; exit 0 ;;
    *)         die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

if [ "$(id -u)" != 0 ]; then
  log "needs root (debootstrap and rootful podman): sudo $0"
  exit 3
fi
for t in debootstrap podman runc tar zstd flock sha256sum md5sum readelf xxd gcc; do
  command -v "$t" >/dev/null || die "$t not found (scripts/setup.sh installs what is needed)"
done
arch="$(dpkg --print-architecture)"
[ "$arch" = amd64 ] || die "amd64 only (the fixtures are x86-64 ELF files); this is $arch"

# --- lock: one build at a time; later callers wait, then find it cached --------
mkdir -p "$CACHE"
exec 9>>"$CACHE/lock"
if ! flock -n 9; then
  log "waiting for another run (lock $CACHE/lock)"
  flock 9
fi

work="$(mktemp -d /var/tmp/chainwatch-container-build.XXXXXX)"
chmod 0755 "$work"
# Unmount whatever a killed debootstrap left mounted under $work (deepest
# first), then delete it, never crossing into a mount.
cleanup() {
  local m
  for m in $(awk -v r="$work" 'index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  if awk -v r="$work" 'index($5, r "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    log "$work still has mounts; not deleting it"
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the base root: debootstrap once per mirror ---------------------------------
# The Debian mirror apt uses on this machine (deb822 .sources or one-line
# sources.list), else deb.debian.org: as packaging/test-in-debootstrap.sh.
mirror_uris() {
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
}
mirror=${CHAINWATCH_MIRROR:-$(mirror_uris | grep -E '/debian/?$' | head -1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
base="$CACHE/bookworm-minbase-rootfs-$arch-$(printf '%s' "$mirror" | sha256sum | cut -c1-8).tar.zst"

make_base() {
  local root="$work/base" started=$SECONDS
  log "debootstrapping Debian 12 minbase from $mirror once into $base"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 9>&-; then
    tail -20 "$work/debootstrap.log" >&2
    die "debootstrap --variant=minbase bookworm from $mirror failed"
  fi
  # The host's name and resolver are not the image's (the engine provides
  # both at run time); no downloaded .debs or package lists.
  rm -f "$root/etc/hostname" "$root/etc/resolv.conf" "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/cache/apt/*.bin
  find "$root/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete
  install -d -m 0755 "$root/run/sshd"   # what Debian's openssh-server's tmpfiles.d makes
  awk -v r="$root" 'index($5, r "/") == 1 { bad = 1 } END { exit bad }' /proc/self/mountinfo ||
    die "debootstrap left mounts under $root"
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$root" -c . |
    zstd -q -T0 -3 -o "$base.part"
  sha256sum < "$base.part" | cut -d' ' -f1 > "$base.sha256.part"
  mv "$base.sha256.part" "$base.sha256"
  mv "$base.part" "$base"
  rm -rf --one-file-system "$root"
  log "base root ready in $((SECONDS - started)) s"
}
[ -s "$base" ] && [ -s "$base.sha256" ] || make_base
base_sha="$(cat "$base.sha256")"

# --- keys: the sha256 of everything an image is made from ------------------------
gcc_version="$(gcc --version | head -n 1)"
key_of() {   # key_of IMAGE
  local files=("$SELF")
  case "$1" in
    xz)  files+=("$HERE/make-root.sh" "$HERE/toolchain.sh" "$HERE"/src/{liblzma,libsystemd,sshd}.c) ;;
    got) files+=("$HERE/make-got.sh" "$HERE/toolchain.sh" "$HERE"/src/{liblzma,libsystemd}.c "$HERE"/src/got/*) ;;
  esac
  {
    printf 'image %s\nbase %s\n' "$1" "$base_sha"
    [ "$1" = clean ] || printf 'gcc %s\n' "$gcc_version"
    (cd "$HERE" && sha256sum "${files[@]#"$HERE/"}")
  } | sha256sum | cut -d' ' -f1
}

# --- the images' roots --------------------------------------------------------------
unpack_base() {   # unpack_base DIR
  mkdir -p "$1"
  zstd -q -d -c "$base" | tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$1" -xpf -
}

root_clean() { :; }

root_xz() {   # root_xz ROOT
  local root="$1" src="$work/xz-src" info="$1/var/lib/dpkg/info" old dir md5
  "$HERE/make-root.sh" "$src" --signature >/dev/null
  old="$(readlink "$root/$L/liblzma.so.5")"   # e.g. liblzma.so.5.4.1
  [[ "$old" =~ ^liblzma\.so\.[0-9.]+$ ]] || fail "unexpected $L/liblzma.so.5 -> $old in the base root"
  # The directory the package lists its file under (bookworm: /lib/x86_64-linux-gnu).
  dir="$(sed -n "s|^\(/.*\)/$old\$|\1|p" "$info/liblzma5:amd64.list")"
  [ -n "$dir" ] || fail "liblzma5:amd64.list does not list $old"

  rm -f "$root/$L/$old" "$root/$L/liblzma.so.5"
  install -m 0644 "$src/$L/liblzma.so.5.6.1" "$root/$L/liblzma.so.5.6.1"
  touch -r "$src/$L/liblzma.so.5.6.1" "$root/$L/liblzma.so.5.6.1"
  ln -s liblzma.so.5.6.1 "$root/$L/liblzma.so.5"
  md5="$(md5sum < "$root/$L/liblzma.so.5.6.1" | cut -d' ' -f1)"
  sed -i "s|^$dir/$old\$|$dir/liblzma.so.5.6.1|" "$info/liblzma5:amd64.list"
  sed -i "s|^[0-9a-f]\{32\}  ${dir#/}/$old\$|$md5  ${dir#/}/liblzma.so.5.6.1|" "$info/liblzma5:amd64.md5sums"
  awk '/^Package: / { pkg = $2 } pkg == "liblzma5" && /^Version: / { $0 = "Version: 5.6.1-1" } { print }' \
    "$root/var/lib/dpkg/status" > "$work/status"
  cat "$work/status" > "$root/var/lib/dpkg/status"

  # self-check: version, list, md5sums, signature; sleep does not map liblzma
  [ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status} ${Version}' liblzma5)" = \
    "install ok installed 5.6.1-1" ] || fail "liblzma5 is not 5.6.1-1 in the xz root's status"
  grep -qx "$dir/liblzma.so.5.6.1" "$info/liblzma5:amd64.list" || fail "liblzma5's .list not updated"
  (cd "$root" && md5sum --quiet -c "$info/liblzma5:amd64.md5sums") >&2 ||
    fail "liblzma5's files do not match its md5sums"
  grep -q "  ${dir#/}/liblzma.so.5.6.1\$" "$info/liblzma5:amd64.md5sums" || fail "liblzma5's md5sums not updated"
  xxd -p "$root/$L/liblzma.so.5.6.1" | tr -d '\n' | grep -q "$SIGNATURE_HEX" ||
    fail "the signature is not in liblzma.so.5.6.1"
  [ "$(readelf -dW "$root/usr/bin/sleep" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')" = libc.so.6 ] ||
    fail "/usr/bin/sleep needs more than libc.so.6 in the xz root"
}

root_got() {   # root_got ROOT
  local root="$1" src="$work/got-src" f
  "$HERE/make-got.sh" "$src" --hook liblzma
  install -d -m 0755 "$root/opt/chainwatch-got/lib" "$root/opt/chainwatch-got/sbin"
  for f in libcrypto.so.3 liblzma.so.5 libsystemd.so.0; do
    install -m 0644 "$src/lib/$f" "$root/opt/chainwatch-got/lib/$f"
  done
  install -m 0755 "$src/sbin/sshd" "$root/opt/chainwatch-got/sbin/sshd"
  [ -x "$root/usr/bin/env" ] || fail "no /usr/bin/env in the base root"
}

# changes_of IMAGE KEY ENGINE: the --change instructions of the image's config.
# Docker 20.10's import refuses STOPSIGNAL ("not a valid change command").
changes_of() {
  printf '%s\n' "LABEL $LABEL=$2" "LABEL chainwatch.fixture=$1"
  case "$1" in
    clean|xz) echo 'CMD ["/usr/bin/sleep", "infinity"]'
              [ "$3" = docker ] || echo 'STOPSIGNAL SIGKILL' ;;
    got)      echo 'CMD ["/usr/bin/env", "LD_LIBRARY_PATH=/opt/chainwatch-got/lib", "/opt/chainwatch-got/sbin/sshd"]' ;;
  esac
}

# --- engines --------------------------------------------------------------------------
podman_label() { "${PODMAN[@]}" image inspect -f "{{index .Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
podman_id() { "${PODMAN[@]}" image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
docker_label() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
docker_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null | sed 's/^sha256://' || true; }

import_podman() {   # import_podman NAME TAR KEY IMAGE
  local old args=() change
  old="$(podman_id "$1")"
  while IFS= read -r change; do args+=(--change "$change"); done < <(changes_of "$4" "$3" podman)
  # 9>&-: nothing podman starts may hold the lock after this script exits
  "${PODMAN[@]}" import --quiet "${args[@]}" --message "chainwatch fixture $4" "$2" "$1" >/dev/null 9>&- ||
    die "podman import $1 failed"
  [ -z "$old" ] || [ "$old" = "$(podman_id "$1")" ] || "${PODMAN[@]}" rmi "$old" >/dev/null 2>&1 9>&- || true
}

import_docker() {   # import_docker NAME TAR KEY IMAGE
  local old args=() change
  old="$(docker_id "$1")"
  while IFS= read -r change; do args+=(--change "$change"); done < <(changes_of "$4" "$3" docker)
  docker import "${args[@]}" --message "chainwatch fixture $4" "$2" "$1" >/dev/null ||
    die "docker import $1 failed"
  [ -z "$old" ] || [ "$old" = "$(docker_id "$1")" ] || docker rmi "$old" >/dev/null 2>&1 || true
}

if [ "$docker" = 1 ]; then
  if ! command -v docker >/dev/null; then
    log "--docker: no docker command; skipping Docker"; docker=0
  elif ! docker info >/dev/null 2>&1; then
    log "--docker: \`docker info\` fails (is dockerd running? this script does not start it); skipping Docker"; docker=0
  fi
fi

# --- build what is stale --------------------------------------------------------------
for image in "${IMAGES[@]}"; do
  name="localhost/chainwatch-$image:test"
  key="$(key_of "$image")"
  need_podman=0 need_docker=0
  [ "$(podman_label "$name")" = "$key" ] || need_podman=1
  [ "$docker" = 0 ] || [ "$(docker_label "$name")" = "$key" ] || need_docker=1
  [ "$need_podman$need_docker" != 00 ] || { log "$name is up to date"; continue; }

  started=$SECONDS
  root="$work/root-$image"
  unpack_base "$root"
  "root_$image" "$root"
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$root" -cf "$work/$image.tar" .
  rm -rf --one-file-system "$root"
  [ "$need_podman" = 0 ] || import_podman "$name" "$work/$image.tar" "$key" "$image"
  [ "$need_docker" = 0 ] || import_docker "$name" "$work/$image.tar" "$key" "$image"
  rm -f "$work/$image.tar"
  log "built $name in $((SECONDS - started)) s"
done

# --- report ------------------------------------------------------------------------------
for image in "${IMAGES[@]}"; do
  name="localhost/chainwatch-$image:test"
  [ "$(podman_label "$name")" = "$(key_of "$image")" ] || fail "podman image $name does not carry its key"
  echo "$name $(podman_id "$name")"
done
if [ "$docker" = 1 ]; then
  for image in "${IMAGES[@]}"; do
    name="localhost/chainwatch-$image:test"
    [ "$(docker_label "$name")" = "$(key_of "$image")" ] || fail "docker image $name does not carry its key"
    echo "docker:$name $(docker_id "$name")"
  done
fi
