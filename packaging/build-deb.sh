#!/usr/bin/env bash
# Builds the Debian package packaging/out/chainwatch_VERSION_ARCH.deb from this repository, then runs lintian on it.
#
#   ./packaging/build-deb.sh            (as root the first time: it installs missing build packages)
#
# - The version is ChainwatchVersion.current in Sources/Reporting/Version.swift, the only place it is written.
# - The binary is a release build with the Swift runtime and Foundation linked statically (--static-swift-stdlib),
#   built in .build-release/ so it never disturbs a debug build in .build/. It depends only on Debian libraries;
#   dpkg-shlibdeps computes Depends from its DT_NEEDED entries.
# - The staged files need not be root's on disk: dpkg-deb --root-owner-group records every entry as root:root.
# Needs: swift on PATH (the Swift toolchain), root the first time (apt-get install of what is missing).
# Environment: CHAINWATCH_MAINTAINER overrides the Maintainer field; SOURCE_DATE_EPOCH the build date (default: the
# last commit's date, so two builds of one commit give the same package contents).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
packaging=$repo/packaging
out=$packaging/out

log() { echo "build-deb: $*" >&2; }
die() { echo "build-deb: error: $*" >&2; exit 1; }

# --- Build tools: install only the missing ones (as scripts/setup.sh does). ---------------------------------------
packages=(pkg-config libelf-dev libsystemd-dev liblzma-dev libarchive-dev libyaml-dev libcapstone-dev libyara-dev
          dpkg-dev binutils gzip lintian)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}; run this script as root (or apt-get install them)"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v swift >/dev/null || die "swift is not on PATH (chainwatch is built with the Swift toolchain)"

# --- Version: from the one place it is written. ---------------------------------------------------------------------
version=$(sed -n 's/^ *public static let current = "\([^"]*\)".*/\1/p' Sources/Reporting/Version.swift)
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "cannot read a version from Sources/Reporting/Version.swift (got '$version')"
arch=$(dpkg --print-architecture)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
maintainer=${CHAINWATCH_MAINTAINER:-"chainwatch maintainers <maintainers@users.noreply.h-seed-6cec0f5e.example>"}
log "chainwatch $version for $arch"

# --- Release build, Swift runtime linked statically. ----------------------------------------------------------------
# --disable-local-rpath: no RUNPATH $ORIGIN in a binary installed in /usr/bin (lintian: custom-library-search-path).
# -z now: resolve every symbol at start so the whole GOT can be read-only (lintian: hardening-no-bindnow).
build=(swift build -c release --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now
       --scratch-path .build-release)
"${build[@]}" --product chainwatch >&2
binary=$("${build[@]}" --show-bin-path)/chainwatch
[ -x "$binary" ] || die "no binary at $binary"
built_version=$("$binary" --version)
[ "$built_version" = "$version" ] || die "the binary says version '$built_version', Version.swift says '$version'"
if readelf -d "$binary" | grep NEEDED | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_Foundation'; then
  die "the Swift runtime is linked dynamically (see NEEDED above); it must be static"
fi
if readelf -d "$binary" | grep -E 'RPATH|RUNPATH'; then
  die "the binary has a library search path (see above); a packaged binary must use the system's"
fi

# --- Stage the package tree. ----------------------------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
umask 022
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/chainwatch/rules" "$root/etc/chainwatch/rules.d" \
  "$root/lib/systemd/system" "$root/usr/lib/systemd/catalog" "$root/usr/share/man/man8" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/doc/chainwatch"

# The binary, without symbols and the build's comment/note sections (what dh_strip does for a Debian package).
install -m 0755 "$binary" "$root/usr/bin/chainwatch"
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/chainwatch"

# Rules: every rule set directory under rules/ (with its SOURCES.md); rules/FORMAT.md goes with the documentation.
for dir in rules/*/; do
  cp -r "$dir" "$root/usr/share/chainwatch/rules/"
done
find "$root/usr/share/chainwatch/rules" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
"$binary" --check-rules "$root/usr/share/chainwatch/rules" >&2

# Settings: every key commented out at its default (the daemon's built-in defaults are the same values).
cat > "$root/etc/chainwatch/chainwatch.conf" <<'EOF'
# chainwatch daemon settings (chainwatch.service). "key = value" lines; "#" starts a comment.
# Every line below is commented out at its built-in default: uncomment and change what you need, then
#   systemctl restart chainwatch
# An unknown key or a bad value stops the daemon with an error naming this file and the line.
# See chainwatch(8).

# Time between scans: 30s, 15m, 1h, 1d.
#interval = 1h

# Send a finding that persists to the journal again this often.
#reminder = 24h

# Rule directories (or files); repeat the key for several. When any is given here, only those are loaded.
# Without any, a signed bundle installed with chainwatch --install-rules (/var/lib/chainwatch/rules) is used in
# place of /usr/share/chainwatch/rules, and /etc/chainwatch/rules.d is added.
# Put local rules and suppressions in /etc/chainwatch/rules.d; check them with: chainwatch --check-rules /etc/chainwatch/rules.d
#rules = /usr/share/chainwatch/rules
#rules = /etc/chainwatch/rules.d

# Where the daemon remembers what it has announced (state.json).
#state-dir = /var/lib/chainwatch

# Threads reading and hashing files, 1 to 64. One: a scanner must not compete with the server's own work.
# Raise MemoryMax in chainwatch.service (systemctl edit chainwatch) if you raise this.
#jobs = 1

# A Prometheus textfile for node_exporter's textfile collector, rewritten (atomically) after every scan.
# The unit may write only this directory besides its state directory.
#metrics-file = /var/lib/prometheus/node-exporter/chainwatch.prom
EOF
chmod 0644 "$root/etc/chainwatch/chainwatch.conf"

# systemd units and the journal catalog.
install -m 0644 systemd/chainwatch.service systemd/chainwatch-scan.service systemd/chainwatch.timer \
  "$root/lib/systemd/system/"
install -m 0644 systemd/chainwatch.catalog "$root/usr/lib/systemd/catalog/chainwatch.catalog"

# The manual page: version and date filled in, compressed without a timestamp.
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
sed -e "s/@VERSION@/$version/g" -e "s/@DATE@/$date/g" "$packaging/chainwatch.8" \
  | gzip -9n > "$root/usr/share/man/man8/chainwatch.8.gz"
chmod 0644 "$root/usr/share/man/man8/chainwatch.8.gz"

# Shell completions, generated by swift-argument-parser from the binary's own options.
# bash-completion sources its files: the generated "#!/bin/bash" line is dropped (lintian: bash-completion-with-hashbang).
"$binary" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/chainwatch"
"$binary" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_chainwatch"
"$binary" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/chainwatch.fish"
chmod 0644 "$root/usr/share/bash-completion/completions/chainwatch" "$root/usr/share/zsh/vendor-completions/_chainwatch" \
  "$root/usr/share/fish/vendor_completions.d/chainwatch.fish"


# Documentation: README.md stays uncompressed (the units and the catalog link to file:///usr/share/doc/chainwatch/
# README.md); the rule format reference; the copyright file; a changelog generated from the version.
# docs/ and a rules/FORMAT.md link keep their places beside README.md, so its relative links work where installed.
install -m 0644 README.md "$root/usr/share/doc/chainwatch/README.md"
install -m 0644 rules/FORMAT.md "$root/usr/share/doc/chainwatch/FORMAT.md"
install -d -m 0755 "$root/usr/share/doc/chainwatch/docs" "$root/usr/share/doc/chainwatch/rules"
install -m 0644 docs/*.md "$root/usr/share/doc/chainwatch/docs/"
ln -s ../FORMAT.md "$root/usr/share/doc/chainwatch/rules/FORMAT.md"
install -m 0644 "$packaging/copyright" "$root/usr/share/doc/chainwatch/copyright"
commit=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if ! git -C "$repo" diff --quiet HEAD -- Sources rules systemd packaging 2>/dev/null; then
  commit="$commit with uncommitted changes"
fi
{
  printf 'chainwatch (%s) unstable; urgency=medium\n\n' "$version"
  printf '  * chainwatch %s, built from git commit %s.\n' "$version" "$commit"
  printf '    See /usr/share/doc/chainwatch/README.md.\n\n'
  printf ' -- %s  %s\n' "$maintainer" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$root/usr/share/doc/chainwatch/changelog.gz"
chmod 0644 "$root/usr/share/doc/chainwatch/changelog.gz"

# --- Control files. -------------------------------------------------------------------------------------------------
# Depends: dpkg-shlibdeps reads the binary's DT_NEEDED libraries and maps them to packages and minimum versions. It
# wants a debian/control to exist in its working directory.
mkdir -p "$work/shlibs/debian"
printf 'Source: chainwatch\n\nPackage: chainwatch\nArchitecture: any\n' > "$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/chainwatch" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

cat > "$root/DEBIAN/control" <<EOF
Package: chainwatch
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Section: admin
Priority: optional
Description: host compromise scanner for the xz backdoor (CVE-2024-3094)
 chainwatch answers the questions admins had to answer on every host after
 the xz-utils backdoor: is a bad liblzma installed, is one loaded in a
 running process, does sshd reach it through libsystemd, and is anything in
 liblzma shaped like the backdoor (IFUNC resolvers, known byte signatures)?
 .
 It only reads: ELF files are parsed with libelf (ldd is never run), /proc
 is read, the dpkg database is parsed, and every detection is a YAML rule.
 "chainwatch --scan-now" scans once and prints a report; chainwatch.service
 scans every hour and sends findings to the journal with stable MESSAGE_IDs
 and structured fields for a SIEM.
EOF
printf '/etc/chainwatch/chainwatch.conf\n' > "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$packaging/maintainer-scripts/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

# The scanner refuses rules that group or others may write: nothing in the package is.
chmod -R go-w "$root"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# --- Build and check. -----------------------------------------------------------------------------------------------
mkdir -p "$out"
deb=$out/chainwatch_${version}_${arch}.deb
# One package in out/, so "apt install ./packaging/out/chainwatch_*.deb" (README.md) names exactly one file.
rm -f "$out"/chainwatch_*.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
log "Depends: $depends"

log "lintian $deb"
# Errors fail the build; warnings and below are printed (README.md, "Installing the package", explains each).
# lintian advises against running as root: as root, it runs as nobody when nobody can read the package.
lintian=(lintian --fail-on error --display-info "$deb")
if [ "$(id -u)" -eq 0 ] && runuser -u nobody -- test -r "$deb" 2>/dev/null; then
  lintian=(runuser -u nobody -- env HOME=/tmp "${lintian[@]}")
fi
"${lintian[@]}" >&2 || die "lintian reported errors"
echo "$deb"
