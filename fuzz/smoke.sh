#!/usr/bin/env bash
# A short fuzzing run of each target (not part of CI: cargo-fuzz needs a
# nightly toolchain, which CI machines cannot fetch). Usage: bash fuzz/smoke.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-30}"
for target in at_line modem_inputs; do
  cargo +nightly fuzz run "$target" -- -max_total_time="$secs"
done
