#!/usr/bin/env bash
# Installs what building and testing Steward needs, idempotently, with pinned versions.
# Usage: scripts/setup.sh [--test]   (--test also installs PostgreSQL, Chromium and chromedriver)
# Takes seconds when everything is already present.
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pinned in Cargo.toml
BINARYEN_VERSION=132.0.0       # Debian's binaryen 108 silently breaks the wasm; use >= 116
TOOLS_DIR="${STEWARD_TOOLS_DIR:-$HOME/.cache/steward-tools}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WANT_TEST=0
[[ "${1:-}" == "--test" ]] && WANT_TEST=1

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

apt_updated=0
apt_install() {
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- Rust toolchain and the wasm32 target -------------------------------------------------
if ! command -v cargo >/dev/null; then
  log "cargo not found: this machine kind ships rustup; install it first" ; exit 1
fi
mkdir -p "$ROOT/target"
if rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  echo rustup > "$ROOT/target/.wasm-route"
elif timeout 180 rustup target add wasm32-unknown-unknown >&2; then
  echo rustup > "$ROOT/target/.wasm-route"
else
  # Fallback verified in shared/notes/wasm-toolchain.md: Debian's compiler plus std sources, build-std.
  log "rustup target add failed; using Debian rustc-web + rust-web-src + lld-16 (build-std)"
  for p in rustc-web cargo-web rust-web-src lld-16; do
    dpkg -s "$p" >/dev/null 2>&1 || apt_install "$p"
  done
  echo debian > "$ROOT/target/.wasm-route"
fi

# --- wasm-bindgen CLI (must match the library version exactly) -----------------------------
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: one locked dependency version is missing from the registry mirror here.
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# --- wasm-opt from npm's binaryen ----------------------------------------------------------
if [[ "$("$TOOLS_DIR/binaryen/bin/wasm-opt" --version 2>/dev/null || true)" != *"version ${BINARYEN_VERSION%%.*}"* ]]; then
  log "installing binaryen $BINARYEN_VERSION from npm"
  command -v npm >/dev/null || apt_install npm
  mkdir -p "$TOOLS_DIR/binaryen"
  npm install --silent --no-audit --no-fund -g --prefix "$TOOLS_DIR/binaryen" "binaryen@$BINARYEN_VERSION" >&2
fi

# --- test-only services and browsers --------------------------------------------------------
if [[ $WANT_TEST -eq 1 ]]; then
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || apt_install postgresql
  [[ -x /usr/bin/chromium ]] || apt_install chromium
  command -v chromedriver >/dev/null || apt_install chromium-driver
  # The cost import benchmark compares with `sqlite3 .import` (it skips that line without it).
  command -v sqlite3 >/dev/null || apt_install sqlite3
  # Evidence export tests check archives with the standard tools an auditor has.
  command -v unzip >/dev/null || apt_install unzip
  command -v openssl >/dev/null || apt_install openssl
  # moto's server emulates AWS Cost Explorer for the sync tests (a venv of its own, pinned).
  MOTO_VERSION=5.1.22
  if [[ "$("$TOOLS_DIR/moto-venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null || true)" != "$MOTO_VERSION" ]]; then
    log "installing moto[server] $MOTO_VERSION"
    command -v python3 >/dev/null || apt_install python3 python3-venv
    rm -rf "$TOOLS_DIR/moto-venv"
    python3 -m venv "$TOOLS_DIR/moto-venv" >&2 || { apt_install python3-venv; python3 -m venv "$TOOLS_DIR/moto-venv" >&2; }
    "$TOOLS_DIR/moto-venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
  fi
  # aiosmtpd is the SMTP server the notification tests send email to (a venv of its own, pinned).
  AIOSMTPD_VERSION=1.4.6
  if [[ "$("$TOOLS_DIR/smtp-venv/bin/python" -c 'import aiosmtpd; print(aiosmtpd.__version__)' 2>/dev/null || true)" != "$AIOSMTPD_VERSION" ]]; then
    log "installing aiosmtpd $AIOSMTPD_VERSION"
    command -v python3 >/dev/null || apt_install python3 python3-venv
    rm -rf "$TOOLS_DIR/smtp-venv"
    python3 -m venv "$TOOLS_DIR/smtp-venv" >&2 || { apt_install python3-venv; python3 -m venv "$TOOLS_DIR/smtp-venv" >&2; }
    "$TOOLS_DIR/smtp-venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" >&2
  fi
fi
log "tools ready"
