#!/usr/bin/env python3
"""store_dump.py — a study store's results as canonical text, to compare two stores.

Every table of DIR/results.sqlite (or the file given) with its rows sorted, minus what says how a run went rather
than what it computed: the `seconds` columns, the `progress` table (compute time, layer passes, totals) and the
`created` / `version` meta keys. Two runs of the same study — one process or many MPI ranks, uninterrupted or
killed and resumed — must print the same text. Standard library only.

    python scripts/store_dump.py DIR > a.txt
"""
import os
import sqlite3
import sys

SKIP_TABLES = {"progress"}
SKIP_META = {"created", "version"}


def dump(path, out):
    if os.path.isdir(path):
        path = os.path.join(path, "results.sqlite")
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for t in tables:
        if t in SKIP_TABLES:
            continue
        cols = [r[1] for r in db.execute("PRAGMA table_info(%s)" % t)]
        keep = [c for c in cols if c != "seconds"]
        rows = db.execute("SELECT %s FROM %s" % (", ".join(keep), t)).fetchall()
        if t == "meta":
            rows = [r for r in rows if r[0] not in SKIP_META]
        rows.sort(key=lambda r: tuple((x is None, repr(x)) for x in r))
        out.write("== %s (%s): %d rows\n" % (t, ", ".join(keep), len(rows)))
        for r in rows:
            out.write(repr(r) + "\n")


if __name__ == "__main__":
    dump(sys.argv[1], sys.stdout)
