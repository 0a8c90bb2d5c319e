#!/usr/bin/env bash
# Proxy overhead: the same open-loop load (llmscope-load) sent straight to the mock upstream
# and through llmscope, alternately, at several rates, streaming and not, in one run.
# Overhead = through-llmscope latency − direct latency, at p50 and p99. Also prints the
# overhead llmscope itself reports per response (x-llmscope-overhead-ms) and its memory.
#
#   bench/proxy_overhead.sh                 # rates 500 1000 2000, 10 s each, pinned
#   RATES="1000" SECONDS_PER_RUN=30 bench/proxy_overhead.sh
#   PIN=0 bench/proxy_overhead.sh           # let the scheduler place the processes
#   ROUNDS=3 bench/proxy_overhead.sh        # repeat every pair; the table shows medians over rounds
#   CONNECTIONS=0 bench/proxy_overhead.sh   # no cap on the requests in flight (default 64)
#   CONFIG=my.toml bench/proxy_overhead.sh  # server settings to compare
#   INTERLEAVE=0 bench/proxy_overhead.sh    # direct, then proxied, as two separate runs
#
# By default each rate is one run of 2.5 × SECONDS_PER_RUN in which the load generator
# alternates between the mock (direct) and llmscope every second (`llmscope-load
# --compare-url`), measuring each side from 400 ms into its second (so the store writes
# llmscope defers past its own second do not land on direct requests): both sides see the
# same machine over the same minutes. On a shared VM the direct p99 alone moves between 0.6
# and 7 ms from one 10-s run to the next, so two separate runs compare the host's slow
# spells as much as they compare llmscope.
#
# The load generator keeps at most CONNECTIONS requests in flight, as a client with a
# bounded connection pool does (requests waiting for a connection still count their wait in
# their latency). Without a cap, one latency hiccup makes it open hundreds of connections,
# and what is then measured is the cost of those connections, not of llmscope.
#
# Pinning (2 cores), as the issue asks: the load generator and the mock apart — the load
# generator alone on core 0, the mock on core 1 — and llmscope beside the mock on core 1.
# Direct and proxied requests then cross between the cores the same number of times.
# LAYOUT=alone puts llmscope alone on core 1 and the mock with the load generator on core 0;
# LAYOUT=beside-load keeps the load generator and the mock apart but puts llmscope beside
# the load generator on core 0, so that the mock has core 1 to itself.
set -euo pipefail
# Relative CONFIG / OUT paths name files where the script was started.
if [ -n "${CONFIG:-}" ]; then CONFIG="$(realpath "$CONFIG")"; fi
if [ -n "${OUT:-}" ]; then OUT="$(realpath -m "$OUT")"; fi
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}"
RATES="${RATES:-500 1000 2000}"
SECS="${SECONDS_PER_RUN:-10}"
ROUNDS="${ROUNDS:-1}"
CONNECTIONS="${CONNECTIONS:-64}"
INTERLEAVE="${INTERLEAVE:-1}"
PIN="${PIN:-1}"
cargo build --release --workspace >&2  # --workspace: building one package re-resolves features and rebuilds DuckDB
BIN="$CARGO_TARGET_DIR/release"
work="$(mktemp -d)"
out="${OUT:-bench/results/proxy-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
mkdir -p "$(dirname "$out")"
LAYOUT="${LAYOUT:-beside-mock}"
load_pin=""; mock_pin=""; proxy_pin=""
if [ "$PIN" = 1 ]; then
  load_pin="taskset -c 0"; proxy_pin="taskset -c 1"
  case "$LAYOUT" in
    alone) mock_pin="taskset -c 0" ;;
    beside-load) mock_pin="taskset -c 1"; proxy_pin="taskset -c 0" ;;
    *) mock_pin="taskset -c 1" ;;
  esac
fi
mock_port=18301; proxy_port=14301
$mock_pin "$BIN/llmscope" mock-llm --listen "127.0.0.1:$mock_port" --ttft-ms 0 --tokens-per-s 0 --output-tokens 20 2>/dev/null &
mock_pid=$!
LLMSCOPE_UPSTREAM_URL="http://127.0.0.1:$mock_port/v1" $proxy_pin "$BIN/llmscope" --data-dir "$work/data" ${CONFIG:+--config "$CONFIG"} serve --listen "127.0.0.1:$proxy_port" 2>"$work/serve.log" &
proxy_pid=$!
trap 'kill $mock_pid $proxy_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$proxy_port/readyz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mock_port/v1/models" >/dev/null && break; sleep 0.1; done

record() { # round target stream-flag run-json
  local rss hwm
  rss=$(awk '/VmRSS/{print $2}' "/proc/$proxy_pid/status")
  hwm=$(awk '/VmHWM/{print $2}' "/proc/$proxy_pid/status")
  echo "{\"round\":$1,\"target\":\"$2\",\"stream\":$([ -n "$3" ] && echo true || echo false),\"proxy_rss_kb\":$rss,\"proxy_hwm_kb\":$hwm,\"run\":$4}" | tee -a "$out" >&2
}
direct_url="http://127.0.0.1:$mock_port/v1/chat/completions"
proxy_url="http://127.0.0.1:$proxy_port/v1/chat/completions"
for round in $(seq "$ROUNDS"); do
for stream in "" "--stream"; do
  for rate in $RATES; do
    if [ "$INTERLEAVE" = 1 ]; then
      line=$($load_pin "$BIN/llmscope-load" --url "$direct_url" --compare-url "$proxy_url" --slice-ms 1000 \
              --settle-ms 400 --rate "$rate" --seconds "$(awk -v s="$SECS" 'BEGIN { print 2.5 * s }')" --warmup 2 \
              --connections "$CONNECTIONS" $stream)
      # Assigned first, so that a failure stops the script (`set -e`).
      direct=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.pop("compare"); print(json.dumps(d))' "$line")
      proxied=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["compare"]))' "$line")
      record "$round" direct "$stream" "$direct"
      record "$round" proxy "$stream" "$proxied"
      continue
    fi
    for target in direct proxy; do
      url=$direct_url; [ "$target" = proxy ] && url=$proxy_url
      line=$($load_pin "$BIN/llmscope-load" --url "$url" \
              --rate "$rate" --seconds "$SECS" --warmup 2 --connections "$CONNECTIONS" $stream)
      record "$round" "$target" "$stream" "$line"
    done
  done
done
done

python3 - "$out" "$PIN" "$LAYOUT" "$CONNECTIONS" "$INTERLEAVE" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pinned = sys.argv[2] == "1"
med = statistics.median
by = {}
for r in rows:
    by.setdefault((r["stream"], r["run"]["rate"]), {}).setdefault(r["target"], []).append(r)
print("| stream | rate (req/s) | direct p50 / p99 ms | via llmscope p50 / p99 ms | overhead p50 / p99 ms | x-llmscope-overhead-ms p50 / p99 | errors | llmscope RSS MB |")
print("|---|---|---|---|---|---|---|---|")
for (stream, rate), t in sorted(by.items()):
    d, p = t["direct"], t["proxy"]
    dp50, dp99 = med(x["run"]["latency_ms"]["p50"] for x in d), med(x["run"]["latency_ms"]["p99"] for x in d)
    pp50, pp99 = med(x["run"]["latency_ms"]["p50"] for x in p), med(x["run"]["latency_ms"]["p99"] for x in p)
    o50 = med(x["run"]["latency_ms"]["p50"] - y["run"]["latency_ms"]["p50"] for x, y in zip(p, d))
    o99 = med(x["run"]["latency_ms"]["p99"] - y["run"]["latency_ms"]["p99"] for x, y in zip(p, d))
    h50 = med((x["run"].get("overhead_header_ms") or {}).get("p50", float("nan")) for x in p)
    h99 = med((x["run"].get("overhead_header_ms") or {}).get("p99", float("nan")) for x in p)
    errors = sum(x["run"]["errors"] for x in d + p)
    rss = max(x["proxy_rss_kb"] for x in p) / 1024
    print(f"| {'yes' if stream else 'no'} | {rate:.0f} | {dp50:.3f} / {dp99:.3f} | {pp50:.3f} / {pp99:.3f} | {o50:.3f} / {o99:.3f} "
          f"| {h50:.3f} / {h99:.3f} | {errors} | {rss:.0f} |")
rounds = max(r.get("round", 1) for r in rows)
layout = {"alone": "load generator and mock on core 0, llmscope alone on core 1",
          "beside-load": "load generator and llmscope on core 0, mock on core 1"}.get(
    sys.argv[3], "load generator on core 0, mock and llmscope on core 1")
conns = "unbounded connections" if sys.argv[4] == "0" else f"at most {sys.argv[4]} requests in flight"
how = ("direct and proxied requests alternating every second in one run, each measured from 400 ms into its second" if sys.argv[5] == "1"
       else "direct and proxied requests in separate runs")
print(f"\n({'pinned: ' + layout if pinned else 'unpinned'}; {conns}; {how}; medians over {rounds} round(s), overhead = median "
      f"of the per-round differences; RSS = the largest seen; results in {sys.argv[1]})")
PY
