#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need (scripts/setup.sh,
# idempotent), builds, and runs every test target. This is what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
