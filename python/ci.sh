#!/usr/bin/env bash
# CI for the Python package (called by .ci/run from the repository root): a fresh venv,
# `pip install ./python` exactly as a user would (maturin comes from PyPI), then pytest on
# python/tests and the Spark examples (examples/spark, local[2]) against the release CLI.
# Needs python3 and Java 17 (Spark).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "-- the package's Rust: cargo fmt --check, cargo clippy -D warnings"; date -u
(cd python && cargo fmt -- --check && CARGO_TARGET_DIR="$PWD/../target/python-build" \
  cargo clippy --quiet --all-targets -- -D warnings)
echo "-- building the CLI"; date -u
cargo build --release --quiet
export RULEC_BIN="$PWD/target/release/rulec"
# The extension builds beside the CLI, not inside python/.
export CARGO_TARGET_DIR="$PWD/target/python-build"
venv=target/python-ci
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "pytest>=7" "pyspark>=3.5,<5" "pyarrow" "pandas>=2.2,<3"
echo "-- pip install ./python"; date -u
"$venv/bin/python" -m pip install --quiet ./python
date -u
"$venv/bin/python" -m pip check
# pytest exits 5 when it collected nothing: that is a failure here, never a pass.
set +e
"$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=5 python/tests examples/spark
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
