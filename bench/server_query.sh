#!/usr/bin/env bash
# Queries answered by a running server over a large store: `llmscope serve` on a copy of a
# data directory, then `POST /api/v1/calls/query` (pages of 10,000 calls in each order, a
# text search, a flag filter) and `POST /api/v1/report`, each timed three times, with the
# server's resident memory before, after the queries and 30 s later.
#
#   bench/server_query.sh /var/tmp/llmscope-bench/data-big    # the 10 M-call store of
#                                                            # bench/import_report.sh
#   CONFIG=my.toml bench/server_query.sh DIR                  # other server settings
#
# The store is copied first (the server may roll up and checkpoint it), so it needs as much
# free disk again.
set -euo pipefail
if [ -n "${CONFIG:-}" ]; then CONFIG="$(realpath "$CONFIG")"; fi
src="$(realpath "${1:?usage: bench/server_query.sh DATA_DIR}")"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}"
cargo build --release --workspace >&2  # --workspace: building one package re-resolves features and rebuilds DuckDB
BIN="$CARGO_TARGET_DIR/release"
work="$(mktemp -d -p /var/tmp)"
cp -r "$src" "$work/data"
port=14312
"$BIN/llmscope" --data-dir "$work/data" ${CONFIG:+--config "$CONFIG"} serve --listen "127.0.0.1:$port" \
  2>"$work/serve.log" &
srv=$!
trap 'kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
rss() { echo "$(( $(awk '$1 == "VmRSS:" {print $2}' "/proc/$srv/status") / 1024 )) MB"; }
echo "server RSS at start: $(rss)"

# Times a POST three times: status, answer size and seconds of each.
timed() {
  local name="$1" path="$2" body="$3" runs=""
  for _ in 1 2 3; do
    runs="$runs $(curl -s -o /dev/null -w '%{http_code}:%{size_download}B:%{time_total}s' \
      -X POST "http://127.0.0.1:$port$path" -H 'content-type: application/json' -d "$body")"
  done
  printf '%-40s %s\n' "$name" "$runs"
}
timed "page of 10,000, newest first" /api/v1/calls/query '{"limit": 10000}'
timed "page of 10,000, oldest first" /api/v1/calls/query '{"limit": 10000, "order": "oldest_first"}'
timed "page of 10,000, slowest first" /api/v1/calls/query '{"limit": 10000, "order": "slowest_first"}'
timed "page of 50, slowest first" /api/v1/calls/query '{"limit": 50, "order": "slowest_first"}'
timed "flag malformed_json, slowest first" /api/v1/calls/query \
  '{"limit": 10000, "order": "slowest_first", "filter": {"flags": ["malformed_json"]}}'
timed "text search, page of 50" /api/v1/calls/query '{"limit": 50, "filter": {"text": "refund"}}'
timed "full report" /api/v1/report '{}'
echo "server RSS after the queries: $(rss)"
sleep 30
echo "server RSS 30 s later: $(rss)"
kill -TERM $srv
wait $srv || echo "llmscope serve exited with an error; its log: $(tail -5 "$work/serve.log")"
