#!/usr/bin/env bash
# Shows llmscope end to end on a fresh machine: generate a week of realistic LLM-call logs in
# every supported format, import them into the embedded store, and write the audit report.
#   ./scripts/demo-import.sh     # 50,000 calls into ./llmscope-data, report in ./llmscope-report
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}"
LINES=${LINES:-50000}
cargo build --release -p llmscope
BIN="$CARGO_TARGET_DIR/release/llmscope"
mkdir -p demo-logs
"$BIN" gen --format mixed --lines "$LINES" --days 7 --out demo-logs/calls.jsonl.gz
# The generated Chainlit (seed 000) lines carry naive local times of a UTC+8 app.
"$BIN" import --assume-tz Asia/Shanghai demo-logs/calls.jsonl.gz
"$BIN" report --tz Asia/Shanghai --out llmscope-report
"$BIN" report --tz Asia/Shanghai --format html --out llmscope-report
echo
echo "Report: llmscope-report/report.md and llmscope-report/report.html (charts in llmscope-report/charts/)."
echo "Read the calls behind a number, e.g.:  $BIN calls --flag malformed_json --limit 5"
