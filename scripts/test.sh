#!/usr/bin/env bash
# Runs every test of llmscope: formatting, lints, unit + store + end-to-end tests.
# Installs nothing by hand: cargo fetches crates, pip installs the OpenAI SDK into a venv
# outside the checkout (tests/interop/run.sh); everything else the tests need is built here.
#
# Builds go to a stable directory outside the checkout (DuckDB's C++ takes ~30 min to build
# once per machine; later runs are incremental). Everything is built in the release profile
# only, so DuckDB is never compiled twice.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

./scripts/prune-target.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (release, all targets, warnings are errors)"
cargo clippy --release --workspace --all-targets -- -D warnings

echo "== cargo test (release: unit, property, store and end-to-end tiers)"
cargo test --release --workspace

echo "== interop: the real OpenAI Python SDK through the proxy (venv in /var/tmp/llmscope-venv)"
cargo build --release -p llmscope
LLMSCOPE_BIN="$CARGO_TARGET_DIR/release/llmscope" ./tests/interop/run.sh
