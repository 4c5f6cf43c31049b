#!/usr/bin/env bash
# Builds and runs Steward: SQLite under ./data (created on first run), a demo organisation,
# and the first login printed once. Extra arguments go to `steward serve` (e.g. --no-demo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" --release
exec "$ROOT/target/release/steward" serve "$@"
