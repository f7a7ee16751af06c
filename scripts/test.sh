#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need (scripts/setup.sh --dev,
# idempotent), builds, and runs every test target. This is what .ci/run calls.
#
# Everything the tests read ships in the repository (Tests/TestSupport/Fixtures) or is installed
# by scripts/setup.sh (the models).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev

swift build --build-tests
swift test --skip-build "$@"
