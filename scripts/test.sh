#!/usr/bin/env bash
# The whole test suite, on SQLite and PostgreSQL, browser tests included.
# Installs and starts what it needs (idempotent). Set STEWARD_TEST_PG_URL to use another
# PostgreSQL (an admin URL whose role may CREATE DATABASE); extra arguments go to cargo test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
started=$(date +%s)

"$ROOT/scripts/setup.sh" --test
if [[ -z "${STEWARD_TEST_PG_URL:-}" ]]; then
  STEWARD_TEST_PG_URL="$("$ROOT/scripts/pg-start.sh")"
  export STEWARD_TEST_PG_URL
fi
# The browser bundle (for the browser tests) and the debug binary (for the CLI tests).
"$ROOT/scripts/build.sh" --debug --site-only
cargo build -q -p server

cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$ROOT/target/test-output.txt"
status=${PIPESTATUS[0]}
echo "[test] finished in $(( $(date +%s) - started ))s with status $status" >&2
exit "$status"
