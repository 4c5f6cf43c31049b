#!/usr/bin/env bash
# Builds and runs Steward: SQLite under ./data (created on first run), a demo organisation with
# one demo user per role, and the first logins printed once. `--no-demo` leaves out the demo
# users (only `admin` is created); other arguments go to `steward serve`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
demo=(--demo)
args=()
for a in "$@"; do
  if [[ "$a" == "--no-demo" ]]; then demo=(); else args+=("$a"); fi
done
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" --release
exec "$ROOT/target/release/steward" serve "${demo[@]}" "${args[@]}"
