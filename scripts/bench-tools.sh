#!/usr/bin/env bash
# Installs what the page load benchmark compares against and loads with (tests/bench/pages.rs):
# nginx (Debian's nginx-light) and wrk. Idempotent; needs root (or sudo) for apt on first use.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [[ ${#missing[@]} -gt 0 ]]; then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "[bench-tools] installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
  # The package starts a system nginx on port 80; the benchmark runs its own.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop nginx >/dev/null 2>&1 || true; fi
  $SUDO nginx -s quit >/dev/null 2>&1 || true
fi
