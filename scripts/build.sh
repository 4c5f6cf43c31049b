#!/usr/bin/env bash
# Builds the browser bundle into target/site/pkg (wasm, its JS loader, the stylesheet) and,
# unless --site-only, the server binary.
# Usage: scripts/build.sh [--release|--debug] [--site-only]
# Incremental: each step is skipped when its output is newer than its inputs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PROFILE=release
SITE_ONLY=0
for a in "$@"; do
  case "$a" in
    --release) PROFILE=release ;;
    --debug) PROFILE=debug ;;
    --site-only) SITE_ONLY=1 ;;
    *) echo "usage: scripts/build.sh [--release|--debug] [--site-only]" >&2; exit 2 ;;
  esac
done
log() { printf '\033[1m[build]\033[0m %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:${STEWARD_TOOLS_DIR:-$HOME/.cache/steward-tools}/binaryen/bin:$PATH"

SITE="$ROOT/target/site/pkg"
mkdir -p "$SITE"

# --- the wasm bundle ------------------------------------------------------------------------
WASM_ARGS=(-p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate --profile wasm-release)
if [[ "$(cat "$ROOT/target/.wasm-route" 2>/dev/null || echo rustup)" == debian ]]; then
  # Debian's compiler with the std sources (see shared notes): both builds must use it.
  export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-16
  WASM_ARGS+=(-Zbuild-std=std,panic_abort)
fi
log "wasm (hydrate)"
cargo build -q "${WASM_ARGS[@]}"
RAW="$ROOT/target/wasm32-unknown-unknown/wasm-release/app.wasm"
if [[ ! -f "$SITE/steward.wasm" || "$RAW" -nt "$SITE/steward.wasm" ]]; then
  log "wasm-bindgen + wasm-opt"
  TMP="$(mktemp -d)"
  wasm-bindgen --target web --no-typescript --out-dir "$TMP" --out-name steward "$RAW"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals "$TMP/steward_bg.wasm" -o "$TMP/steward.wasm"
  # A full disk has left a truncated module behind with every tool exiting 0: check it parses
  # before it replaces the bundle (a stale-but-whole bundle is rebuilt on the next run).
  if ! wasm-opt --quiet --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals "$TMP/steward.wasm" -o /dev/null 2>/dev/null; then
    echo "[build] wasm-opt wrote an unreadable module (disk full?)" >&2
    rm -rf "$TMP"
    exit 1
  fi
  mv "$TMP/steward.js" "$SITE/steward.js"
  mv "$TMP/steward.wasm" "$SITE/steward.wasm"
  rm -rf "$TMP"
fi
cp "$ROOT/style/main.css" "$SITE/steward.css"
# Content-hashed names (pages name them; browsers keep them for good) with gzip and brotli
# variants made here, once, not per request; prints raw, gzip and brotli sizes. Unchanged files
# keep their names and are not compressed again. Always optimised: brotli's best level is slow
# unoptimised.
log "assets: hashed names, gzip and brotli"
cargo run -q --release -p steward-assets -- "$ROOT/target/site"

# --- the server -----------------------------------------------------------------------------
if [[ $SITE_ONLY -eq 0 ]]; then
  log "server ($PROFILE)"
  if [[ $PROFILE == release ]]; then
    cargo build -q -p server --release
  else
    cargo build -q -p server
  fi
fi
log "done: target/site/pkg ($(du -h "$SITE/steward.wasm" | cut -f1) wasm)"
