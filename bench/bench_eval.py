#!/usr/bin/env python3
"""bench_eval.py — eval throughput of two layerlab builds, alternating, in one run (issue 13's "items/s").

Each round runs `eval MODEL --task T --limit N --samples F` once with the base build and once with the new
build (order alternating between rounds), timing the whole command (model load, tokenizing and scoring
included, as a user waits for it). Prints per task the median seconds and items/s of each build and the
ratio new / base, and checks that both builds wrote the same per-item samples (predictions and
loglikelihoods), so the speed-up is over identical results.

Usage: bench/bench_eval.py --base OLD/layerlab --new build/layerlab MODEL.gguf
                           [--tasks arc_easy,hellaswag] [--limit 200] [--rounds 3] [--threads 2]
                           [--mode exact|llamacpp] [--json OUT.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(binary, model, task, limit, threads, mode, samples):
    cmd = [binary, "eval", model, "--task", task, "--limit", str(limit), "--threads", str(threads),
           f"--{mode}", "--samples", samples, "--json"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench_eval: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return dt


def samples_key(path):
    """the per-item results that must agree: everything but run-dependent fields"""
    out = []
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            for k in ("seconds", "time"):
                o.pop(k, None)
            out.append(json.dumps(o, sort_keys=True))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("model")
    ap.add_argument("--tasks", default="arc_easy,hellaswag")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", default="exact", choices=["exact", "llamacpp"])
    ap.add_argument("--json")
    a = ap.parse_args()
    res = {"model": os.path.basename(a.model), "limit": a.limit, "threads": a.threads, "mode": a.mode, "tasks": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for task in a.tasks.split(","):
            times = {"base": [], "new": []}
            same = True
            for r in range(a.rounds):
                order = ["base", "new"] if r % 2 == 0 else ["new", "base"]
                for who in order:
                    sp = os.path.join(tmp, f"{task}.{who}.jsonl")
                    times[who].append(run(getattr(a, who), a.model, task, a.limit, a.threads, a.mode, sp))
                    print(f"bench_eval: {task} round {r + 1}/{a.rounds} {who}: {times[who][-1]:.2f} s", file=sys.stderr)
                same &= samples_key(os.path.join(tmp, f"{task}.base.jsonl")) == samples_key(
                    os.path.join(tmp, f"{task}.new.jsonl"))
            mb, mn = statistics.median(times["base"]), statistics.median(times["new"])
            res["tasks"][task] = {"base_s": times["base"], "new_s": times["new"], "base_median_s": mb,
                                  "new_median_s": mn, "base_items_per_s": a.limit / mb,
                                  "new_items_per_s": a.limit / mn, "ratio": mb / mn, "samples_identical": same}
    print(f"| task | items | base s | new s | base items/s | new items/s | ratio | samples identical |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for task, t in res["tasks"].items():
        print(f"| {task} | {a.limit} | {t['base_median_s']:.2f} | {t['new_median_s']:.2f} | {t['base_items_per_s']:.2f} | "
              f"{t['new_items_per_s']:.2f} | {t['ratio']:.3f} | {'yes' if t['samples_identical'] else 'NO'} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if all(t["samples_identical"] for t in res["tasks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
