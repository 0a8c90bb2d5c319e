#!/usr/bin/env bash
# Server memory at steady load: `llmscope serve` over a fresh store in front of the mock
# upstream, driven by llmscope-load, with the server's resident memory (total, anonymous, and
# the high-water mark) and its established client connections printed every 10 s.
#
#   bench/server_memory.sh                        # 1,000 streaming req/s, 64 connections, 150 s
#   RATE=500 SECONDS_PER_RUN=300 bench/server_memory.sh
#   CONNECTIONS=0 bench/server_memory.sh          # no cap on requests in flight
#   STREAM=0 bench/server_memory.sh               # non-streaming requests
#   CONFIG=my.toml bench/server_memory.sh         # server settings to compare
#   LLMSCOPE_MALLOC_TUNING=0 bench/server_memory.sh   # glibc's allocator at its defaults
#   SEED_STORE=dir bench/server_memory.sh         # start from a copy of a stored data directory
#                                                 # (e.g. one whose days are marked for rebuilding)
#
# Pinning: the mock and the server share core 1, the load generator has core 0.
# RSS − anonymous ≈ the binary's code pages (about 35 MB).
set -euo pipefail
# A relative CONFIG names a file where the script was started, not in the repository.
if [ -n "${CONFIG:-}" ]; then CONFIG="$(realpath "$CONFIG")"; fi
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}"
RATE="${RATE:-1000}"
SECS="${SECONDS_PER_RUN:-150}"
CONNECTIONS="${CONNECTIONS:-64}"
STREAM="${STREAM:-1}"
WARMUP=2  # seconds of load before the measured run; their calls are stored too
cargo build --release --workspace >&2  # --workspace: building one package re-resolves features and rebuilds DuckDB
BIN="$CARGO_TARGET_DIR/release"
work="$(mktemp -d)"
if [ -n "${SEED_STORE:-}" ]; then cp -r "$SEED_STORE" "$work/data"; fi
mock_port=18311; proxy_port=14311
taskset -c 1 "$BIN/llmscope" mock-llm --listen "127.0.0.1:$mock_port" --ttft-ms 0 --tokens-per-s 0 --output-tokens 20 2>/dev/null &
mock_pid=$!
LLMSCOPE_UPSTREAM_URL="http://127.0.0.1:$mock_port/v1" taskset -c 1 "$BIN/llmscope" --data-dir "$work/data" \
  ${CONFIG:+--config "$CONFIG"} serve --listen "127.0.0.1:$proxy_port" 2>"$work/serve.log" &
srv=$!
sampler=""
trap 'kill $mock_pid $srv $sampler 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$proxy_port/readyz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mock_port/v1/models" >/dev/null && break; sleep 0.1; done

# A status field in kB (0 once the server is gone).
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$srv/status" 2>/dev/null || echo 0; }
(
  t=0
  while sleep 10; do
    t=$((t + 10))
    conns=$(ss -tnH state established "( sport = :$proxy_port )" | wc -l)
    echo "t=${t}s rss_mb=$(( $(kb VmRSS) / 1024 )) anon_mb=$(( $(kb RssAnon) / 1024 )) peak_mb=$(( $(kb VmHWM) / 1024 )) connections=$conns"
  done
) &
sampler=$!
stream_flag=""; [ "$STREAM" = 1 ] && stream_flag="--stream"
taskset -c 0 "$BIN/llmscope-load" --url "http://127.0.0.1:$proxy_port/v1/chat/completions" --rate "$RATE" \
  --seconds "$SECS" --warmup "$WARMUP" --connections "$CONNECTIONS" $stream_flag > "$work/load.json"
kill $sampler 2>/dev/null || true
echo "peak RSS: $(( $(kb VmHWM) / 1024 )) MB"
kill -TERM $srv 2>/dev/null || true
wait $srv || echo "llmscope serve exited with an error; its log: $(tail -5 "$work/serve.log")"
python3 - "$work/load.json" "$work/data" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("latency ms:", {k: round(v, 3) for k, v in d["latency_ms"].items() if k != "n"},
      "| llmscope's own time ms:", {k: round(v, 3) for k, v in (d.get("overhead_header_ms") or {}).items() if k != "n"},
      "| errors:", d["errors"])
PY
# Every answered request is stored: the measured ones and the warm-up's before them.
answered=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["ok"] + int(float(sys.argv[2]) * d["rate"]))' "$work/load.json" "$WARMUP" 2>/dev/null || echo "?")
"$BIN/llmscope" --data-dir "$work/data" report --format json | python3 -c \
  'import json,sys; print("calls stored:", json.load(sys.stdin)["requests"]["total"], "| answered, warm-up included:", sys.argv[1])' "$answered"
