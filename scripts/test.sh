#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need (scripts/setup.sh --dev,
# idempotent), starts a real PostgreSQL with pgvector (scripts/postgres.sh), builds, runs every
# test target against both store backends, and stops PostgreSQL. This is what .ci/run calls.
#
# Everything the tests read ships in the repository (Tests/TestSupport/Fixtures) or is installed
# by the scripts (the models, PostgreSQL). Set EPISODIC_TEST_POSTGRES_URL to use another server,
# EPISODIC_TEST_TIMEOUT_MINUTES to change the watchdog's limit (scripts/watchdog.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev

if [ -z "${EPISODIC_TEST_POSTGRES_URL:-}" ]; then
  EPISODIC_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
  export EPISODIC_TEST_POSTGRES_URL
  trap 'scripts/postgres.sh stop' EXIT
fi

swift build --build-tests
# A hung test fails the run with the tests still running and every thread's stack (the whole
# suite takes 2–3 minutes on 2 cores), instead of running into CI's time limit unexplained.
log="${EPISODIC_TEST_LOG:-.build/test.log}"
scripts/watchdog.sh "${EPISODIC_TEST_TIMEOUT_MINUTES:-20}" "$log" -- swift test --skip-build "$@"
