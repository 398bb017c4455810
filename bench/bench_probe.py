#!/usr/bin/env python3
"""bench_probe.py MODEL DATA.jsonl [--limit N] [--reps R] [--layerlab build/layerlab]

The cost of probing: `layerlab probe cosine,attention-id` against `layerlab probe none` (the same forward
passes over the same samples, measuring nothing), on the first N items of an lm-eval JSONL task file
(lambada_openai, as the Painters recipe). Each configuration runs R times; the best wall time of the
forward+probe loop (the JSON's "seconds", which excludes model loading) is compared. Prints the ratio."""
import argparse
import json
import subprocess


def run(ll, kinds, model, data, limit):
    out = subprocess.run([ll, "probe", kinds, model, "--task", "lambada_openai", "--data", data,
                          "--limit", str(limit), "--json"], check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    return j["seconds"], j["n_tokens"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--layerlab", default="build/layerlab")
    a = ap.parse_args()
    best = {}
    for rep in range(a.reps):
        for kinds in ("none", "cosine,attention-id", "cosine,block-influence,attention-id,mlp-regions"):
            s, n = run(a.layerlab, kinds, a.model, a.data, a.limit)
            best[kinds] = min(best.get(kinds, s), s)
    base = best["none"]
    print(f"samples {a.limit}, tokens {n}, best of {a.reps}")
    for k, s in best.items():
        print(f"{k:50s} {s:8.3f} s  {n / s:8.1f} tok/s  ratio {s / base:.3f}")


if __name__ == "__main__":
    main()
