#!/usr/bin/env bash
# Set-up and a one-shot scan of this host: installs the missing Debian packages that building and running chainwatch
# need (scripts/setup.sh without --tests: no test tools, no services), builds chainwatch (release), and runs
# `chainwatch --scan-now` with the repository's rules. Extra arguments go to chainwatch.
# --scan-now is kept (an alias of `chainwatch scan`) so this script works with any build of the scanner.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null; then
  echo "scan: swift is not on PATH; install a Swift 6 toolchain first (README.md, \"Set up and scan this host\")" >&2
  exit 2
fi
./scripts/setup.sh
swift build -c release --product chainwatch >&2
exec .build/release/chainwatch --scan-now --rules rules "$@"
