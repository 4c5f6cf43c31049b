#!/usr/bin/env bash
# Fuzzes the parsers that read files from clients (cost rows, instants, amounts, OSCAL and CSV
# framework files and profiles, CISO Assistant libraries, crosswalk CSV, controls CSV, the
# multipart upload path) with cargo-fuzz and libFuzzer. See docs/fuzzing.md.
#
#   scripts/fuzz.sh smoke [SECONDS]                    every target for SECONDS (default 20) each;
#                                                      exits non-zero on any crash or slow input (CI)
#   scripts/fuzz.sh long [SECONDS] [-runs=N] [TARGET…] longer runs, one target after another on one
#                                                      core, niced; default 600 s per target
#   scripts/fuzz.sh run TARGET [libFuzzer options…]    one target, corpus and options as above
#   scripts/fuzz.sh build | list
#
# Installs what it needs, idempotently: a nightly toolchain (the one rustup has; else a minimal
# one; else stable with RUSTC_BOOTSTRAP=1) and cargo-fuzz at a pinned version. Both modes end
# with a table of executions, exec/s, corpus size and crashes per target.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
ROOT=$PWD
FUZZ=$ROOT/fuzz

CARGO_FUZZ_VERSION=0.13.2
TARGETS=(cost_rows instant money oscal oscal_profile framework_csv controls_csv multipart cube_file budgets_csv export_verify account_files vendors_csv ciso_library crosswalk_csv)
# Safe Rust: the panics and slow inputs we look for need no AddressSanitizer, which would
# halve the executions per second. FUZZ_SANITIZER=address turns it on.
SANITIZER=${FUZZ_SANITIZER:-none}
# An input that takes longer than this (seconds) is a failure: runaway expansion counts as a bug.
PER_INPUT_TIMEOUT=${FUZZ_TIMEOUT:-10}

max_len() {
  case $1 in
    instant) echo 64 ;;
    money) echo 128 ;;
    oscal | oscal_profile) echo 16384 ;;
    export_verify) echo 65536 ;;
    account_files) echo 16384 ;;
    ciso_library) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

dict() {
  case $1 in
    framework_csv | controls_csv | budgets_csv | account_files | vendors_csv | crosswalk_csv) echo "$FUZZ/dict/csv.dict" ;;
    *) echo "$FUZZ/dict/$1.dict" ;;
  esac
}

TOOLCHAIN=()
RUN_PREFIX=()
setup() {
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    TOOLCHAIN=(+nightly)
  elif rustup toolchain install nightly --profile minimal >&2; then
    TOOLCHAIN=(+nightly)
  else
    echo "fuzz.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1" >&2
    export RUSTC_BOOTSTRAP=1
  fi
  if ! cargo "${TOOLCHAIN[@]}" fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    # --locked keeps cargo-fuzz's own tested dependency versions; without it if one is missing.
    cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked \
      || cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION"
  fi
}

build() {
  echo "== building fuzz targets (sanitizer: $SANITIZER)" >&2
  (cd "$ROOT" && cargo "${TOOLCHAIN[@]}" fuzz build -s "$SANITIZER" "$@")
}

bin_dir() {
  echo "$FUZZ/target/$(rustc -vV | sed -n 's/^host: //p')/release"
}

# run_target TARGET LOG [libFuzzer options…]: the committed seeds plus the growing local corpus.
run_target() {
  local t=$1 log=$2
  shift 2
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
  "${RUN_PREFIX[@]}" "$(bin_dir)/$t" "$FUZZ/corpus/$t" "$FUZZ/seeds/$t" \
    -dict="$(dict "$t")" -max_len="$(max_len "$t")" -timeout="$PER_INPUT_TIMEOUT" \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$FUZZ/artifacts/$t/" \
    "$@" >"$log" 2>&1
}

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

summary_line() {
  local t=$1 log=$2 rc=$3
  local crashes
  crashes=$(find "$FUZZ/artifacts/$t" -type f 2>/dev/null | wc -l)
  printf '%-14s %12s %10s %8s %8s %s\n' "$t" "$(stat number_of_executed_units "$log")" \
    "$(stat average_exec_per_sec "$log")" "$(find "$FUZZ/corpus/$t" -type f | wc -l)" \
    "$crashes" "$([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc, see $log)")"
}

# fuzz_all MODE-ARGS… -- TARGETS…: runs each target in turn, prints the table, fails on any crash.
fuzz_all() {
  local opts=() targets=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  targets=("$@")
  local logs="$FUZZ/logs" failed=0 rows=()
  mkdir -p "$logs"
  for t in "${targets[@]}"; do
    echo "== $t ${opts[*]}" >&2
    local rc=0
    run_target "$t" "$logs/$t.log" "${opts[@]}" || rc=$?
    [ "$rc" = 0 ] || { failed=1; tail -30 "$logs/$t.log" >&2; }
    rows+=("$(summary_line "$t" "$logs/$t.log" "$rc")")
  done
  {
    echo "fuzz run $(date -u +%Y-%m-%dT%H:%MZ) (${opts[*]}), sanitizer $SANITIZER"
    printf '%-14s %12s %10s %8s %8s %s\n' target executions exec/s corpus crashes result
    printf '%s\n' "${rows[@]}"
  } | tee "$logs/summary.txt" >>"$logs/history.txt"
  cat "$logs/summary.txt"
  if [ "$failed" = 1 ]; then
    echo "fuzz.sh: a target failed; crashing inputs are in fuzz/artifacts/<target>/." >&2
    echo "Reproduce: $(bin_dir)/<target> fuzz/artifacts/<target>/<file>" >&2
    return 1
  fi
}

check_targets() {
  for t in "$@"; do
    [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (${TARGETS[*]})" >&2; exit 2; }
  done
}

cmd=${1:-smoke}
shift || true
case $cmd in
  list) printf '%s\n' "${TARGETS[@]}" ;;
  build) setup; build ;;
  smoke)
    secs=${1:-20}
    setup; build
    fuzz_all -max_total_time="$secs" -- "${TARGETS[@]}"
    ;;
  long)
    # A bare number is seconds per target, -OPTION=… goes to libFuzzer (-runs=N, or both to
    # stop at whichever comes first), anything else names a target.
    limit=() targets=()
    for a in "$@"; do
      case $a in
        -*) limit+=("$a") ;;
        [0-9]*) limit+=(-max_total_time="$a") ;;
        *) targets+=("$a") ;;
      esac
    done
    [ ${#limit[@]} -gt 0 ] || limit=(-max_total_time=600)
    [ ${#targets[@]} -gt 0 ] || targets=("${TARGETS[@]}")
    check_targets "${targets[@]}"
    setup; build
    # One target at a time (libFuzzer is one process without -jobs), niced and pinned to the
    # last core, so the machine stays usable.
    RUN_PREFIX=(nice -n 10)
    if command -v taskset >/dev/null; then RUN_PREFIX+=(taskset -c "$(($(nproc) - 1))"); fi
    fuzz_all "${limit[@]}" -- "${targets[@]}"
    ;;
  run)
    [ $# -gt 0 ] || { echo "usage: scripts/fuzz.sh run TARGET [libFuzzer options…]" >&2; exit 2; }
    t=$1; shift
    check_targets "$t"
    setup; build
    mkdir -p "$FUZZ/logs"
    rc=0
    run_target "$t" "$FUZZ/logs/$t.log" "$@" || rc=$?
    summary_line "$t" "$FUZZ/logs/$t.log" "$rc"
    exit "$rc"
    ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
