#!/usr/bin/env python3
"""bench_mpi.py — a study's throughput against the number of MPI ranks, in one run.

For each N in --ranks (1 = one process, no mpirun), runs `layerlab study painters MODEL ARGS --threads T` into a
fresh directory (mpirun --allow-run-as-root --oversubscribe -n N for N > 1), with LAYERLAB_SHARD_STATS=1, and
prints the wall time, the (plan, item) results in the store, results per second and the ratio against N = 1, plus
the ranks' sharding costs (trips to rank 0 for units, store copy, merge). Rounds alternate the Ns. Also times the
per-process start-up (`layerlab info MODEL`, what every rank pays to open the model). Standard library only.

    python bench/bench_mpi.py .cache/models/SmolLM2-135M-Instruct.Q4_1.gguf --ranks 1,2,3 --rounds 1 -- --quick
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time


def run(layerlab, model, n, threads, extra, out):
    cmd = [layerlab, "study", "painters", model, "--threads", str(threads), "--quiet", "--out", out] + extra
    if n > 1:
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", str(n)] + cmd
    env = dict(os.environ, LAYERLAB_SHARD_STATS="1")
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit("bench_mpi: %s failed:\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    db = sqlite3.connect(os.path.join(out, "results.sqlite"))
    items = db.execute("SELECT count(*) FROM items").fetchone()[0]
    secs = db.execute("SELECT value FROM progress WHERE key = 'seconds'").fetchone()
    stats = [l for l in p.stderr.splitlines() if "shard stats" in l]
    return {"ranks": n, "wall_s": wall, "items": items, "compute_s": secs[0] if secs else None, "stats": stats}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--layerlab", default="build/layerlab")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--json")
    a, extra = ap.parse_known_args()
    a.extra = [x for x in extra if x != "--"]   # the study's own options, after --
    ns = [int(x) for x in a.ranks.split(",")]
    t0 = time.time()
    for _ in range(5):
        subprocess.run([a.layerlab, "info", a.model], capture_output=True)
    startup = (time.time() - t0) / 5
    print("start-up + model open (layerlab info): %.3f s" % startup)
    res = []
    for r in range(a.rounds):
        for n in ns:
            with tempfile.TemporaryDirectory() as d:
                x = run(a.layerlab, a.model, n, a.threads, a.extra, os.path.join(d, "s"))
            x["round"] = r
            res.append(x)
            print("round %d  N=%d  %.1f s  %d results  %.2f results/s" % (r, n, x["wall_s"], x["items"], x["items"] / x["wall_s"]))
            for s in x["stats"]:
                print("    " + s)
            sys.stdout.flush()
    base = [x["items"] / x["wall_s"] for x in res if x["ranks"] == 1]
    if base:
        b = sum(base) / len(base)
        for n in ns:
            v = [x["items"] / x["wall_s"] for x in res if x["ranks"] == n]
            print("N=%d: %.2f results/s, %.2fx N=1" % (n, sum(v) / len(v), sum(v) / len(v) / b))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "threads": a.threads, "extra": a.extra, "startup_s": startup, "runs": res}, f, indent=1)


if __name__ == "__main__":
    main()
