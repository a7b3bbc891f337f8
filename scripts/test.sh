#!/usr/bin/env bash
# Set-up and the whole test suite: installs the missing Debian packages the build and the tests need
# (scripts/setup.sh --tests; services they would start at install are not started), builds, and runs every test
# (unit tests, ELF fixtures built with gcc, the real sshd and journald where behaviour depends on them).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
swift build --build-tests
exec swift test --skip-build "$@"
