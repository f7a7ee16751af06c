#!/usr/bin/env bash
# Property-based tests of the HTTP API against its own OpenAPI document with schemathesis
# (PyPI), on a fresh server on 127.0.0.1. Not part of CI: it takes minutes and reports cases.
#   usage: scripts/schemathesis.sh [MAX_EXAMPLES]      (default 200 per operation)
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-200}"
[ $# -gt 0 ] && shift
venv="${EPISODIC_SCHEMATHESIS_VENV:-$HOME/.cache/episodic/schemathesis-venv}"
[ -x "$venv/bin/st" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q "schemathesis==3.39.16" "hypothesis==6.131.0"; }
# hypothesis ≥ 6.13x removed an internal schemathesis 3.39 uses ('many' object has no attribute 'more').
swift build -c release --product episodic >/dev/null
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
.build/release/episodic --db "$work/m.sqlite" serve --port 0 --preload > "$work/out" 2> "$work/err" &
server=$!
for _ in $(seq 1 600); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.2; done
base="$(sed -n 's/^listening on //p' "$work/out")"
[ -n "$base" ] || { cat "$work/err"; exit 1; }
# Seed an agent so that routes with an agent have something to find.
curl -s -H 'content-type: application/json' "$base/agents/seed/episodes" -d '{"id": "e1", "content": "Booked a flight to Lisbon"}' >/dev/null
# The document is OpenAPI 3.1, which schemathesis 3.x reads only with its experimental flag.
"$venv/bin/st" run "$base/openapi.json" --experimental=openapi-3.1 --checks all --hypothesis-max-examples "$examples" \
  --hypothesis-suppress-health-check all --request-timeout 30000 --workers 1 "$@" || status=$?
echo "server log tail:"; tail -5 "$work/err"
exit "${status:-0}"
