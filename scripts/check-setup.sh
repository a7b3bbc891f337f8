#!/usr/bin/env bash
# Checks that the set-up scripts/scan.sh runs on the server being checked installs only what building and running
# chainwatch needs, and that the test-only packages stay with the tests (issue 22). Run by .ci/run; needs no root,
# no network and no build: it reads the scripts and Package.swift.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
problem() { echo "check-setup: $*" >&2; fail=1; }

# scan.sh must run setup.sh without --tests; test.sh must run it with --tests.
grep -Eq '^\./scripts/setup\.sh[[:space:]]*$' scripts/scan.sh \
  || problem "scripts/scan.sh must run ./scripts/setup.sh with no arguments (the build and run set-up)"
grep -Eq '^\./scripts/setup\.sh --tests[[:space:]]*$' scripts/test.sh \
  || problem "scripts/test.sh must run ./scripts/setup.sh --tests"

mapfile -t build < <(./scripts/setup.sh --list)
mapfile -t all < <(./scripts/setup.sh --list --tests)
((${#build[@]})) || problem "setup.sh --list printed no packages"

# What building needs: pkg-config and the apt providers Package.swift names for its C libraries.
mapfile -t providers < <(grep -o '\.apt(\[[^]]*\])' Package.swift | grep -o '"[^"]*"' | tr -d '"' | sort -u)
((${#providers[@]})) || problem "found no .apt([...]) providers in Package.swift"
# libyara-dev is the -dev package of the YARA library; listed here until Package.swift names it.
allowed=(pkg-config libyara-dev "${providers[@]}")

in_list() { local x=$1; shift; local y; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

for p in "${providers[@]}" pkg-config; do
  in_list "$p" "${build[@]}" || problem "setup.sh (no --tests) does not install $p, which the build needs"
done
for p in "${build[@]}"; do
  in_list "$p" "${allowed[@]}" \
    || problem "setup.sh (no --tests) installs $p, which is not a build need (pkg-config or a Package.swift provider); put test-only packages in test_packages"
done

# Test-only packages that start services or are build tools a server has no use for: never in the scan set-up.
test_only=(openssh-server openssh-client prometheus prometheus-node-exporter systemd-journal-remote rpm gcc binutils
           umoci skopeo debsums fuse3 python3-venv podman runc docker.io containerd debootstrap strace curl)
for p in "${test_only[@]}"; do
  in_list "$p" "${build[@]}" && problem "setup.sh (no --tests) installs the test-only package $p"
done
extra=$(( ${#all[@]} - ${#build[@]} ))
((extra > 0)) || problem "setup.sh --tests adds no package to the build set-up"

if ((fail)); then exit 1; fi
echo "check-setup: scan.sh's set-up installs ${build[*]}; setup.sh --tests adds $extra test-only packages"
