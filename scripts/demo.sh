#!/usr/bin/env bash
# Shows llmscope at work in one command: the server with its OpenAI-compatible proxy on
# http://127.0.0.1:4000/v1, a mock LLM upstream behind it, and simulated users (several
# users, sessions and models, streaming and not, tool calls, JSON mode, some upstream
# failures) talking through it. A live line shows the traffic; Ctrl-C stops it, every call
# is written, and a report of what was recorded goes to ./llmscope-data/demo-report/.
#
#   ./scripts/demo.sh                    # until Ctrl-C
#   DURATION=30 ./scripts/demo.sh        # 30 seconds
#
# While it runs, point any OpenAI client at http://127.0.0.1:4000/v1 (the mock answers) and
# read the stored calls with `llmscope calls` (it goes through the running server).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}"
cargo build --release -p llmscope
BIN="$CARGO_TARGET_DIR/release/llmscope"
args=(demo)
if [ -n "${DURATION:-}" ]; then args+=(--duration "$DURATION"); fi
"$BIN" "${args[@]}"
echo
echo "Read the calls:   $BIN calls --limit 20"
echo "Full report:      $BIN report --format html --out llmscope-report"
