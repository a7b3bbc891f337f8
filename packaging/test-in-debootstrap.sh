#!/usr/bin/env bash
# Builds the Debian package (packaging/build-deb.sh) and installs it, with apt and its dependencies, on a clean
# Debian 12 (bookworm) root made with debootstrap, then checks it there as an admin would use it:
#
#   - apt-get install ./chainwatch_*.deb pulls the Depends from the Debian mirror and the maintainer scripts run
#     without systemd as PID 1 (they enable chainwatch.service for a later boot and start nothing);
#   - chainwatch --help and --version; every option the --help of each command lists is described in the man page;
#   - man chainwatch renders;
#   - chainwatch --check-rules /usr/share/chainwatch/rules passes (as root, so file ownership and modes are checked);
#   - chainwatch --scan-now exits 0 with a readable report, with /proc mounted for the chroot's own PID namespace;
#     then once more with the host's /proc (every process on this machine, their libraries read through
#     /proc/PID/root): the scan must run (exit 0 or 1; 1 if a process here maps a suspicious library, as the test
#     suite's fixtures do);
#   - the daemon starts from the packaged settings file and stops cleanly on SIGTERM;
#   - apt-get purge removes the package, its settings, state and enable symlinks.
#
#   sudo ./packaging/test-in-debootstrap.sh
#
# Needs root (debootstrap, chroot, mount) and the Debian mirror this machine's apt uses. The downloaded base system
# is cached in packaging/cache/ (git-ignored), so later runs skip the download. CHAINWATCH_KEEP_ROOT=1 keeps the
# root directory for a look afterwards (its path is printed). Exits non-zero on the first failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$(date +%s)

log() { echo "test-in-debootstrap: $*" >&2; }
die() { echo "test-in-debootstrap: FAILED: $*" >&2; exit 1; }
ok() { echo "test-in-debootstrap: ok: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mount need it): sudo $0"

packages=(debootstrap util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The Debian mirror apt uses on this machine (deb822 .sources or one-line sources.list), else deb.debian.org.
mirror_uris() {
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
}
mirror=${CHAINWATCH_MIRROR:-$(mirror_uris | grep -E '/debian/?$' | head -1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
security=${CHAINWATCH_SECURITY_MIRROR:-$(mirror_uris | grep -E '/debian-security/?$' | head -1 || true)}
security=${security:-http://deb.debian.org/debian-security}
security=${security%/}
arch=$(dpkg --print-architecture)
log "mirror $mirror, security $security, $arch"

# --- The package. ---------------------------------------------------------------------------------------------------
deb=$(./packaging/build-deb.sh | tail -1)
[ -f "$deb" ] || die "build-deb.sh did not produce a package"
version=$(dpkg-deb -f "$deb" Version)
log "package $deb"

# --- A clean Debian 12 root. ----------------------------------------------------------------------------------------
cache=$repo/packaging/cache
# debootstrap's tarball records the mirror it came from, so each mirror has its own.
tarball=$cache/bookworm-minbase-$arch-$(printf '%s' "$mirror" | sha256sum | cut -c1-8).tgz
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  log "downloading the Debian 12 base system once into $tarball"
  download=$(mktemp -d /var/tmp/chainwatch-debootstrap-download.XXXXXX)
  debootstrap --variant=minbase --make-tarball="$tarball.part" bookworm "$download" "$mirror" >"$download.log" 2>&1 \
    || { tail -20 "$download.log" >&2; rm -rf "$download" "$download.log" "$tarball.part"; die "debootstrap --make-tarball"; }
  rm -f "$download.log"
  rm -rf "$download"
  mv "$tarball.part" "$tarball"
fi

root=$(mktemp -d /var/tmp/chainwatch-debootstrap.XXXXXX)
chmod 0755 "$root"
# Unmount whatever is mounted under the root (deepest first), then delete it, never crossing into a mount.
cleanup() {
  local status=$? mounts
  mounts=$(awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
  if awk -v r="$root" '$5 == r || index($5, r "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    echo "test-in-debootstrap: $root still has mounts; not deleting it" >&2
  elif [ "${CHAINWATCH_KEEP_ROOT:-}" = 1 ]; then
    echo "test-in-debootstrap: root kept in $root" >&2
  else
    rm -rf --one-file-system "$root"
  fi
  echo "test-in-debootstrap: $([ $status -eq 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - started )) s" >&2
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "unpacking Debian 12 (minbase) into $root"
if ! debootstrap --variant=minbase --unpack-tarball="$tarball" bookworm "$root" "$mirror" >"$root.log" 2>&1; then
  tail -20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap"
fi
rm -f "$root.log"

# A fresh server's apt sources (the release, its updates and security updates) and name resolution.
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 TERM=dumb "$@"; }
# The chroot's own PID namespace with a /proc of its own: it sees only its own processes, and the mount
# disappears with the namespace.
in_root_ns() { unshare --pid --fork --mount-proc="$root/proc" chroot "$root" /usr/bin/env -i \
  PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 TERM=dumb "$@"; }

# --- Install. -------------------------------------------------------------------------------------------------------
cp "$deb" "$root/tmp/"
# /proc stays mounted from here on. Without it a Swift program cannot read its own command line (the runtime
# reads /proc/self/cmdline) and chainwatch would see no options at all.
mount -t proc proc "$root/proc"
log "apt-get install ./$(basename "$deb") (and man-db, to read the manual)"
in_root apt-get update -q >&2 || die "apt-get update in the root"
if ! in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 \
  "./tmp/$(basename "$deb")" man-db 2>&1 | sed 's/^/    /' >&2; then
  die "apt-get install ./$(basename "$deb")"
fi
[ "$(in_root dpkg-query -W -f='${Status} ${Version}' chainwatch)" = "install ok installed $version" ] \
  || die "chainwatch $version is not installed"
ok "installed chainwatch $version with its dependencies: $(dpkg-deb -f "$deb" Depends)"
[ ! -d "$root/run/systemd/system" ] || die "the root looks like a running systemd; the test expects none"

# Maintainer scripts without systemd as PID 1: enabled for the next boot, nothing started.
link=$root/etc/systemd/system/multi-user.target.wants/chainwatch.service
[ "$(readlink "$link")" = /lib/systemd/system/chainwatch.service ] || die "chainwatch.service is not enabled ($link)"
[ ! -e "$root/etc/systemd/system/timers.target.wants/chainwatch.timer" ] || die "chainwatch.timer was enabled too"
ok "chainwatch.service enabled for boot; chainwatch.timer shipped, not enabled"

# Files where the issue wants them.
for f in /usr/bin/chainwatch /etc/chainwatch/chainwatch.conf /lib/systemd/system/chainwatch.service \
  /lib/systemd/system/chainwatch-scan.service /lib/systemd/system/chainwatch.timer \
  /usr/lib/systemd/catalog/chainwatch.catalog /usr/share/man/man8/chainwatch.8.gz \
  /usr/share/bash-completion/completions/chainwatch /usr/share/zsh/vendor-completions/_chainwatch \
  /usr/share/doc/chainwatch/copyright /usr/share/doc/chainwatch/README.md; do
  [ -f "$root$f" ] || die "missing $f"
done
[ -d "$root/etc/chainwatch/rules.d" ] || die "missing /etc/chainwatch/rules.d"
in_root dpkg-query -W -f='${Conffiles}\n' chainwatch | grep -q '^ /etc/chainwatch/chainwatch.conf ' \
  || die "/etc/chainwatch/chainwatch.conf is not a conffile"
ok "files in place; /etc/chainwatch/chainwatch.conf is a conffile"

# --- The command. ---------------------------------------------------------------------------------------------------
help=$(in_root chainwatch --help) || die "chainwatch --help"
grep -q '^USAGE: chainwatch' <<<"$help" || die "chainwatch --help printed no usage"
[ "$(in_root chainwatch --version)" = "$version" ] || die "chainwatch --version is not $version"
ok "chainwatch --help and --version ($version)"

# The manual page renders, and describes every option --help lists.
manual=$(in_root env MANWIDTH=100 man chainwatch 2>&1 | sed 's/.\x08//g') || die "man chainwatch"
grep -q '^NAME' <<<"$manual" && grep -q 'chainwatch - host compromise scanner' <<<"$manual" \
  || die "man chainwatch did not render: $(head -5 <<<"$manual")"
for section in SYNOPSIS OPTIONS 'EXIT STATUS' RULES 'JOURNAL FIELDS' FILES; do
  grep -q "^$section" <<<"$manual" || die "the man page has no $section section"
done
# Each command has its own options (chainwatch scan --help, ...): every one of them counts.
options=$(for command in "" scan daemon "rules check" "rules sign" "rules install" "rules keygen"; do
  # shellcheck disable=SC2086 # the command's words split on purpose
  in_root chainwatch $command --help | sed -n '/^OPTIONS:/,$p'
done | grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u)
[ -n "$options" ] || die "no options found in --help"
for option in $options; do
  grep -qe "$option" <<<"$manual" || die "the man page does not describe $option"
done
echo "$manual" | head -12 | sed 's/^/    /' >&2
ok "man chainwatch renders and describes all $(wc -w <<<"$options") options of --help"

# Rules, checked as root: ownership and modes are part of the check.
out=$(in_root chainwatch --check-rules /usr/share/chainwatch/rules) || die "chainwatch --check-rules: $out"
ok "chainwatch --check-rules /usr/share/chainwatch/rules: $out"

# One scan in the root's own PID namespace: a fresh Debian 12 has nothing to report above info.
set +e
report=$(in_root_ns chainwatch --scan-now 2>&1)
status=$?
set -e
echo "$report" | sed 's/^/    /' >&2
[ $status -eq 0 ] || die "chainwatch --scan-now exited $status (expected 0 on a clean Debian 12)"
grep -q '^chainwatch .*: scan of this host (/)' <<<"$report" && grep -q '^Result: nothing above info found.' <<<"$report" \
  || die "chainwatch --scan-now printed no readable report"
ok "chainwatch --scan-now: exit 0 with a readable report"

set +e
report=$(in_root_ns chainwatch --scan-now --format json 2>/dev/null)
status=$?
set -e
[ $status -eq 0 ] && grep -q "\"chainwatch\" *: *\"$version\"" <<<"$report" \
  || die "chainwatch --scan-now --format json (exit $status)"
ok "chainwatch --scan-now --format json"

# Once more with the /proc mounted in the root, which shows the host's processes: every process of this machine is
# read, its libraries through /proc/PID/root. Findings depend on what runs here, so exit 0 or 1 are both a scan
# that ran.
set +e
report=$(in_root chainwatch --scan-now 2>&1)
status=$?
set -e
[ $status -le 1 ] && grep -q '^Result: ' <<<"$report" || { echo "$report" >&2; die "scan with the host's /proc exited $status"; }
ok "chainwatch --scan-now with the host's /proc: exit $status, $(sed -n 2p <<<"$report" | sed 's/^ *//')"

# The daemon, as chainwatch.service runs it (no options: the packaged settings file), without journald: it scans,
# writes its state and stops cleanly on SIGTERM.
set +e
in_root_ns timeout --preserve-status -s TERM 10 chainwatch >/dev/null 2>"$root/tmp/daemon.log"
status=$?
set -e
[ $status -eq 0 ] || { cat "$root/tmp/daemon.log" >&2; die "the daemon exited $status after SIGTERM"; }
[ -f "$root/var/lib/chainwatch/state.json" ] || { cat "$root/tmp/daemon.log" >&2; die "the daemon wrote no state"; }
ok "the daemon reads /etc/chainwatch/chainwatch.conf, scans, and stops on SIGTERM with exit 0"

# --- Purge. ---------------------------------------------------------------------------------------------------------
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o Dpkg::Use-Pty=0 chainwatch >/dev/null 2>&1 || die "apt-get purge chainwatch"
for gone in /usr/bin/chainwatch /etc/chainwatch /var/lib/chainwatch /usr/share/chainwatch \
  /etc/systemd/system/multi-user.target.wants/chainwatch.service; do
  [ ! -e "$root$gone" ] && [ ! -L "$root$gone" ] || die "$gone is left after purge"
done
ok "apt-get purge chainwatch leaves nothing behind"
