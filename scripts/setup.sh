#!/usr/bin/env bash
# Installs the Debian packages chainwatch needs. Idempotent: only missing packages are installed, and a second run
# installs nothing.
#
#   scripts/setup.sh                 what building and running the scanner needs (scripts/scan.sh runs this on the
#                                    server being checked, so it must install nothing else)
#   scripts/setup.sh --tests         that, plus what only the test suite needs (scripts/test.sh runs this)
#   scripts/setup.sh --list [--tests]  print the package names, one a line, and install nothing
#                                    (scripts/check-setup.sh compares the two lists)
#
# The Swift toolchain is not a Debian package: install it first (README.md, "Set up and scan this host").
set -euo pipefail

# Building and running: pkg-config, and the -dev package of each C library Package.swift links (its
# .systemLibrary providers). libyara-dev is for the YARA rules (docs/yara.md). Nothing here runs a service.
build_packages=(
  pkg-config
  libelf-dev libsystemd-dev liblzma-dev libarchive-dev libyaml-dev libcapstone-dev libyara-dev
)

# Only the test suite needs these. Several would start services on the server being checked (openssh-server,
# prometheus, prometheus-node-exporter, systemd-journal-remote, docker.io, containerd), and the rest are build
# tools and fixtures a server has no use for, so scan.sh never installs them.
test_packages=(
  gcc binutils xz-utils # ELF fixture roots are built with gcc and GNU ld at test time (Tests/Fixtures/make-root.sh)
  openssh-server systemd systemd-journal-remote # the real sshd's graph, real journald, forwarding to a collector
  util-linux procps python3 strace # unshare and setpriv; process fixtures; strace shows a scan executes nothing
  rpm # rpm (with rpmbuild) writes real rpm databases for fixtures
  python3-venv # the venv of Tests/Fixtures/cyclonedx-validate.sh (CycloneDX validator from PyPI)
  debsums # cross-checks make-dpkg-root.sh's md5sums verdicts
  dpkg-dev gzip # dpkg-parsechangelog: the oracle of package-age dates from changelog.Debian.gz (PackageAgeTests)
  prometheus-node-exporter prometheus curl # FleetTests: the textfile scraped through node_exporter, promtool check metrics
  umoci skopeo zstd bzip2 zip unzip rpm2cpio xxd cpio # image and archive fixtures: OCI layouts (umoci), docker-save tars (skopeo), tarballs
  db5.3-util python3-bsddb3 # make-rpm-bdb.sh: Berkeley DB hash Packages fixtures (db5.3_load/_dump/_verify; bsddb3 for --delete)
  fuse3 python3-fusepy # blocking-fuse.py: a FUSE file whose read never returns (the daemon must still stop)
  podman runc docker.io containerd debootstrap # make-container-images.sh and the container tests
  yara # YARATests: Debian's yara CLI is the oracle, file by file
)

tests=0 list=0
for arg in "$@"; do
  case $arg in
    --tests) tests=1 ;;
    --list) list=1 ;;
    *) echo "setup: unknown argument '$arg' (usage: setup.sh [--tests] [--list])" >&2; exit 2 ;;
  esac
done

packages=("${build_packages[@]}")
if ((tests)); then packages+=("${test_packages[@]}"); fi

if ((list)); then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
((${#missing[@]})) || exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing Debian packages: ${missing[*]}; run this script as root (or install them with apt-get)" >&2
  exit 1
fi

# Debian's maintainer scripts start a package's services at install (deb-systemd-invoke, invoke-rc.d) where systemd
# is PID 1: prometheus, prometheus-node-exporter, sshd, docker and containerd would be left running. Both helpers ask
# /usr/sbin/policy-rc.d first, and exit 101 means "do not start". So a policy-rc.d that returns 101 is in place for
# the duration of apt-get only. One that was already there (container images ship one) is moved aside and put back.
# The tests start the daemons they need themselves. The units stay enabled as Debian ships them.
policy=/usr/sbin/policy-rc.d
saved=$policy.chainwatch-setup-saved
restore_policy() {
  rm -f "$policy"
  if [ -e "$saved" ] || [ -L "$saved" ]; then mv -f "$saved" "$policy"; fi
}
if [ -e "$saved" ] || [ -L "$saved" ]; then
  # A run killed before its clean-up left the original here: put it back before saving anything.
  restore_policy
fi
if [ -e "$policy" ] || [ -L "$policy" ]; then mv -f "$policy" "$saved"; fi
trap restore_policy EXIT
trap 'exit 130' INT TERM
printf '#!/bin/sh\n# Written by chainwatch scripts/setup.sh while apt-get runs; removed afterwards.\nexit 101\n' >"$policy"
chmod 0755 "$policy"

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
