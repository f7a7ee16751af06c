#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need (scripts/setup.sh,
# idempotent), builds, and runs every test target. This is what .ci/run calls.
#
# The parity tests read the reference fixtures in place from ../shared (or $EPISODIC_SHARED). A
# clone made elsewhere (git clone /work/main /tmp/x) finds them next to the repository it was
# cloned from.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

if [ -z "${EPISODIC_SHARED:-}" ] && [ ! -d ../shared/fixtures ]; then
  origin="$(git config --get remote.origin.url 2>/dev/null || true)"
  if [ -n "$origin" ] && [ -d "$origin/../shared/fixtures" ]; then
    EPISODIC_SHARED="$(cd "$origin/../shared" && pwd)"
    export EPISODIC_SHARED
  else
    echo "[test] error: reference fixtures not found in ../shared/fixtures; set EPISODIC_SHARED to the shared folder" >&2
    exit 66
  fi
fi

swift build --build-tests
swift test --skip-build "$@"
