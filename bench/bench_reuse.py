#!/usr/bin/env python3
"""bench_reuse.py MODEL [--limit N] [--starts LIST] [--reps R] [--layerlab build/layerlab] [--threads T]

What reuse of the shared leading layers saves in `layerlab study painters`: the same small study (its grid
and loops grid on arc_easy, hellaswag, piqa and lambada_openai; no analyses, no perplexity) run into fresh
directories with reuse (the default) and with --no-reuse, R times each, alternating. Prints the token-layer
passes each computed, the best wall time of each, their ratio, and checks that the two stores' item rows
are identical (reuse is exact, not an approximation)."""
import argparse
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time

PASSES = re.compile(r"(\d+) token-layer passes computed for results that take (\d+) computed")


def study(ll, model, out, args, reuse):
    cmd = [ll, "study", "painters", model, "--out", out, "--tasks", "arc_easy,hellaswag,piqa,lambada_openai",
           "--limit", str(args.limit), "--seeds", "3", "--starts", args.starts, "--analyses", "loops", "--quiet",
           "--threads", str(args.threads)] + ([] if reuse else ["--no-reuse"])
    t0 = time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    m = PASSES.search(p.stderr)
    return dt, int(m.group(1)), int(m.group(2))


def rows(out):
    db = sqlite3.connect(out + "/results.sqlite")
    return list(db.execute("SELECT task, item, plan, ll, greedy, pred, pred_norm, acc, acc_norm FROM items "
                           "ORDER BY task, item, plan"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--limit", type=int, default=3)
    ap.add_argument("--starts", default="14..0:2")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layerlab", default="build/layerlab")
    a = ap.parse_args()
    best = {True: None, False: None}
    tmp = tempfile.mkdtemp()
    try:
        for rep in range(a.reps):
            for reuse in (True, False):
                out = f"{tmp}/{'reuse' if reuse else 'noreuse'}{rep}"
                dt, computed, naive = study(a.layerlab, a.model, out, a, reuse)
                print(f"{'reuse   ' if reuse else 'no-reuse'} rep {rep}: {dt:8.2f} s, {computed} of {naive} token-layer passes")
                if best[reuse] is None or dt < best[reuse][0]:
                    best[reuse] = (dt, computed, naive)
        same = rows(f"{tmp}/reuse0") == rows(f"{tmp}/noreuse0")
        (tr, cr, nr), (tn, cn, _) = best[True], best[False]
        print(f"passes: {cr} with reuse, {cn} without: {cn / cr:.2f}x fewer")
        print(f"wall time (best of {a.reps}): {tr:.2f} s with reuse, {tn:.2f} s without: {tn / tr:.2f}x faster")
        print(f"item rows identical: {same}")
        if not same:
            raise SystemExit(1)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
