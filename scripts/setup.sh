#!/usr/bin/env bash
# Installs the Debian packages chainwatch needs to build and test. Idempotent: only missing packages are installed.
set -euo pipefail

# Build: the C libraries. Tests: gcc/binutils for ELF fixtures, sshd and journald for real-component tests,
# procps/util-linux for unshare and setpriv, rpm (with rpmbuild) to write real rpm databases for fixtures,
# python3-venv for the venv of Tests/Fixtures/cyclonedx-validate.sh (CycloneDX validator from PyPI).
packages=(
  pkg-config libelf-dev libsystemd-dev liblzma-dev libarchive-dev libyaml-dev libcapstone-dev
  gcc binutils xz-utils
  openssh-server systemd systemd-journal-remote util-linux procps python3 strace rpm
  python3-venv # cyclonedx-validate.sh
  debsums # cross-checks make-dpkg-root.sh's md5sums verdicts
  prometheus-node-exporter prometheus curl # FleetTests: the textfile scraped through node_exporter, promtool check metrics
  umoci skopeo zstd bzip2 zip unzip rpm2cpio xxd cpio # image and archive fixtures: OCI layouts (umoci), docker-save tars (skopeo), tarballs
  db5.3-util python3-bsddb3 # make-rpm-bdb.sh: Berkeley DB hash Packages fixtures (db5.3_load/_dump/_verify; bsddb3 for --delete)
  fuse3 python3-fusepy # blocking-fuse.py: a FUSE file whose read never returns (the daemon must still stop)
)
# Container engines only for the test suite (`setup.sh --tests`): installing docker.io or containerd on a server
# being checked would start new daemons there (on a systemd host their units start at install).
if [ "${1:-}" = --tests ]; then
  packages+=(podman runc docker.io containerd debootstrap) # make-container-images.sh and the container tests
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root (or install them with apt-get)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting sshd/journald on hosts where systemd is not PID 1.
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
