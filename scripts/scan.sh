#!/usr/bin/env bash
# Set-up and a one-shot scan of this host: installs missing Debian packages, builds chainwatch (release),
# and runs `chainwatch --scan-now` with the repository's rules. Extra arguments go to chainwatch.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --product chainwatch >&2
exec .build/release/chainwatch --scan-now --rules rules "$@"
