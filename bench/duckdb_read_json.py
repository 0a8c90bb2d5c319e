"""DuckDB's own JSON reader on the benchmark file: a reference for `llmscope import`.

    python3 bench/duckdb_read_json.py FILE.jsonl [THREADS]

Prints two Markdown rows: parsing every line into DuckDB's vectors (`count(COLUMNS(*))`
over `read_json`, so that every column is read: a bare `count(*)` only counts lines), and
loading the lines into a
table of a fresh database file with the columns DuckDB infers (seed 001: the top-level
fields, `metadata` as a STRUCT), committed and checkpointed. Neither does what an import
does beyond that (no call model, no duplicate check, no derived columns, no rollups, no
per-line errors): it is the floor under any import into DuckDB on this machine, not an
alternative to it.
"""
import os
import sys
import tempfile
import time

import duckdb

path = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
lines = sum(1 for _ in open(path, "rb"))
mb = os.path.getsize(path) / 1e6


def row(what, secs):
    print(f"| DuckDB {duckdb.__version__} `read_json`, {threads} threads: {what} | {secs:.2f} s "
          f"| {lines / secs:.0f} lines/s | {mb / secs:.1f} MB/s | |")


with tempfile.TemporaryDirectory() as tmp:
    con = duckdb.connect(os.path.join(tmp, "ref.duckdb"))
    con.execute(f"SET threads = {threads}")
    src = f"read_json('{path}', format = 'newline_delimited')"
    t = time.time()
    counts = con.execute(f"SELECT count(*), count(COLUMNS(*)) FROM {src}").fetchone()
    row(f"parse {counts[0]} lines ({len(counts) - 1} columns)", time.time() - t)
    t = time.time()
    con.execute(f"CREATE TABLE t AS SELECT * FROM {src}")
    con.execute("CHECKPOINT")
    row("load them into a table, checkpointed", time.time() - t)
