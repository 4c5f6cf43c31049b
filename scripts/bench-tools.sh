#!/usr/bin/env bash
# Installs what the benchmarks compare against and load with: nginx (Debian's nginx-light) and
# wrk (tests/bench/pages.rs), zip (tests/bench/exports.rs). Idempotent; needs root (or sudo) for apt on first use.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# The evidence export benchmark compares with `zip -0 -r` (tests/bench/exports.rs).
command -v zip >/dev/null 2>&1 || missing+=(zip)
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
