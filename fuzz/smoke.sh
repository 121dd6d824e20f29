#!/usr/bin/env bash
# A short fuzzing run of every target, seeded from the committed corpus
# (fuzz/corpus/<target>/). cargo-fuzz needs a nightly toolchain; .ci/run calls
# this with 15 s per target when one is on the machine. The whole run keeps to
# 60 s of fuzzing: the per-target time is capped at 60 / (number of targets).
# New inputs go to a temporary directory, so the committed corpus stays as it is.
# Usage: bash fuzz/smoke.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")"
targets=(at_line data_entry mqtt_decode module_both_sides)
secs="${1:-10}"
cap=$((60 / ${#targets[@]}))
if [ "$secs" -gt "$cap" ]; then secs="$cap"; fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo +nightly fuzz build
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target" "corpus/$target"
  cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- -max_total_time="$secs"
done
