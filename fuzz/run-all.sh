#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 1800) on one core, one after another, and logs
# executions and crashes to fuzz/logs/. Needs cargo-fuzz; works on a stable toolchain with
# RUSTC_BOOTSTRAP=1 (see docs/testing.md).
set -u
cd "$(dirname "$0")"
secs="${1:-1800}"
mkdir -p logs
for t in rules claim catalog; do
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -max_len=65536 -timeout=10 > "logs/$t.log" 2>&1
  echo "$t exit $?" >> logs/summary.txt
done
