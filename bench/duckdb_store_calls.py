"""What DuckDB alone takes to store llmscope's call rows: a reference for `llmscope import`.

    python3 bench/duckdb_store_calls.py DATA_DIR [THREADS]

Reads every call of an llmscope store (DATA_DIR/llmscope.duckdb) into memory as Arrow, then
times `INSERT INTO calls SELECT * FROM` that table into an emptied copy of the same store
(same table definition, so the same per-column compression), committed. No parsing, no
duplicate check, no rollups: only DuckDB compressing and writing the rows. Prints one
Markdown row.
"""
import os
import shutil
import sys
import tempfile
import time

import duckdb

data = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
src = os.path.join(data, "llmscope.duckdb")
rows = duckdb.connect(src, read_only=True).execute("SELECT * FROM calls").arrow()
if hasattr(rows, "read_all"):  # a RecordBatchReader in newer versions
    rows = rows.read_all()
with tempfile.TemporaryDirectory() as tmp:
    copy = os.path.join(tmp, "copy.duckdb")
    shutil.copy(src, copy)
    con = duckdb.connect(copy)
    con.execute("DELETE FROM calls")
    con.execute("CHECKPOINT")
    con.execute(f"SET threads = {threads}")
    t = time.time()
    con.execute("INSERT INTO calls SELECT * FROM rows")
    secs = time.time() - t
    n = rows.num_rows
    cols = len(rows.column_names)
    print(f"| DuckDB {duckdb.__version__} alone, {threads} threads: store {n} call rows ({cols} columns) "
          f"from memory | {secs:.2f} s | {n / secs:.0f} rows/s | | |")
