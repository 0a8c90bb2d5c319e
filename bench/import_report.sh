#!/usr/bin/env bash
# Import and report benchmark (docs/BENCHMARKS.md).
#
#   bench/import_report.sh [LINES_SMALL] [LINES_BIG]     # defaults: 1000000 10000000
#
# 1. generates LINES_SMALL seed-001 lines, imports them into a fresh store (durably:
#    every batch committed), reports over them, and runs seed 001's own Python analysis on
#    the same file for comparison;
#    then DuckDB's own JSON reader on that file (bench/duckdb_read_json.py, in a venv with
#    the Python duckdb package: $PYVENV, default /var/tmp/llmscope-venv, made if missing),
#    the floor under any import into DuckDB on the machine, and DuckDB alone storing the
#    imported call rows again from memory (bench/duckdb_store_calls.py);
# 2. generates LINES_BIG lines into a second store and times the full report over them.
# Each import runs $IMPORT_RUNS_SMALL times (default 3) and $IMPORT_RUNS_BIG times (default
# 1) into a fresh store; the median is reported with the range (this host's speed varies by
# the hour: one run alone can be 10 % off).
# Results go to stdout as Markdown rows; raw logs in $BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${1:-1000000}
BIG=${2:-10000000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}"
BENCH_DIR=${BENCH_DIR:-/var/tmp/llmscope-bench}
mkdir -p "$BENCH_DIR"
cargo build --release --workspace >/dev/null  # the whole workspace: building one package alone changes feature unification and rebuilds DuckDB
BIN="$CARGO_TARGET_DIR/release/llmscope"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }

run_set() {
  local n=$1 label=$2 runs=$3
  local file="$BENCH_DIR/seed001-$label.jsonl" data="$BENCH_DIR/data-$label"
  # (A file of another size left by an earlier run is made again.)
  if [ -f "$file" ] && [ "$(wc -l < "$file")" -ne "$n" ]; then rm -f "$file"; fi
  [ -f "$file" ] || "$BIN" gen --format seed001 --lines "$n" --seed 7 --days 30 --out "$file" 2>/dev/null
  local bytes; bytes=$(stat -c %s "$file")
  local t0 t1 imports=() rss=0
  for _ in $(seq 1 "$runs"); do
    rm -rf "$data"
    t0=$(now)
    /usr/bin/time -f "%M" -o "$BENCH_DIR/import-$label.rss" "$BIN" --data-dir "$data" import --no-progress "$file" > "$BENCH_DIR/import-$label.log"
    t1=$(now)
    imports+=("$(secs "$t0" "$t1")")
    local r=$(( $(cat "$BENCH_DIR/import-$label.rss") / 1024 ))
    if [ "$r" -gt "$rss" ]; then rss=$r; fi
  done
  local sorted; sorted=$(printf '%s\n' "${imports[@]}" | sort -n)
  local imp lo hi; imp=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p"); lo=$(echo "$sorted" | head -1); hi=$(echo "$sorted" | tail -1)
  printf '| import %s seed-001 lines (%s MB; median of %s, %.2f–%.2f s) | %.2f s | %.0f lines/s | %.1f MB/s | peak RSS %s MB |\n' \
    "$n" "$((bytes / 1000000))" "$runs" "$lo" "$hi" "$imp" "$(echo "$n / $imp" | bc -l)" "$(echo "$bytes / $imp / 1000000" | bc -l)" "$rss"
  # Report: one warm-up, then the median of three.
  "$BIN" --data-dir "$data" report --format json > "$BENCH_DIR/report-$label.json"
  local times=()
  for _ in 1 2 3; do
    t0=$(now); "$BIN" --data-dir "$data" report --format json > /dev/null; t1=$(now)
    times+=("$(secs "$t0" "$t1")")
  done
  local med; med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  printf '| full JSON report over %s calls (median of 3, process start included) | %.3f s | | | |\n' "$n" "$med"
}

echo "| what | time | throughput | | |"
echo "|---|---:|---:|---:|---:|"
run_set "$SMALL" small "${IMPORT_RUNS_SMALL:-3}"
if command -v python3 >/dev/null; then
  t0=$(now)
  python3 bench/seed001_analysis.py "$BENCH_DIR/seed001-small.jsonl" > "$BENCH_DIR/python.log" 2> "$BENCH_DIR/python.err"
  t1=$(now)
  printf '| seed 001 Python analysis of the same %s lines | %.2f s | %.0f lines/s | | %s |\n' \
    "$SMALL" "$(secs "$t0" "$t1")" "$(echo "$SMALL / $(secs "$t0" "$t1")" | bc -l)" "$(tail -1 "$BENCH_DIR/python.err")"
fi
PYVENV=${PYVENV:-/var/tmp/llmscope-venv}
if command -v python3 >/dev/null && { [ -x "$PYVENV/bin/python" ] || python3 -m venv "$PYVENV" >&2; }; then
  "$PYVENV/bin/python" -c 'import duckdb, pyarrow' 2>/dev/null || "$PYVENV/bin/pip" install -q 'duckdb==1.5.*' pyarrow >&2
  "$PYVENV/bin/python" bench/duckdb_read_json.py "$BENCH_DIR/seed001-small.jsonl"
  "$PYVENV/bin/python" bench/duckdb_store_calls.py "$BENCH_DIR/data-small"
fi
if [ "$BIG" -gt 0 ]; then
  run_set "$BIG" big "${IMPORT_RUNS_BIG:-1}"
  [ "${KEEP_BIG:-0}" = 1 ] || rm -f "$BENCH_DIR/seed001-big.jsonl"
fi
