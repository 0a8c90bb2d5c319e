#!/usr/bin/env bash
# Removes stale test and binary executables from the shared target directory.
# Every test binary links DuckDB statically (~1.2 GB each); each change to a crate's
# dependencies leaves the previous copy behind under another hash, and a few days of work
# fill a disk. This keeps the newest file of each name and never touches libraries, so
# nothing needs rebuilding (DuckDB's C++ least of all).
set -euo pipefail
dir="${CARGO_TARGET_DIR:-/var/tmp/llmscope-target}/release/deps"
[ -d "$dir" ] || exit 0
python3 - "$dir" <<'PY'
import os, sys, collections
d = sys.argv[1]
groups = collections.defaultdict(list)
for name in os.listdir(d):
    path = os.path.join(d, name)
    # Executables only: `<name>-<16 hex>` without an extension.
    base, _, h = name.rpartition("-")
    if "." in name or len(h) != 16 or not os.path.isfile(path) or not os.access(path, os.X_OK):
        continue
    groups[base].append((os.path.getmtime(path), path))
freed = 0
for items in groups.values():
    items.sort()
    for _, path in items[:-1]:
        freed += os.path.getsize(path)
        os.remove(path)
        if os.path.exists(path + ".d"):
            os.remove(path + ".d")
if freed:
    print(f"prune-target: removed {freed / 2**30:.1f} GiB of stale executables from {d}")
PY
