#!/usr/bin/env python3
"""bench_python.py — the Python package's overhead on a benchmark run (issue 15 item 4: at most 5% over the CLI).

Each round runs the same evaluation twice, as a user waits for it (a fresh process: interpreter or executable
start, model load, tokenizing and scoring included), in alternating order:
  CLI:    layerlab eval MODEL --task T --limit N --threads K --json
  Python: python -c "import layerlab; layerlab.Model(MODEL).evaluate(T, limit=N, threads=K)"
Prints the median wall time of each, the ratio of the medians and the median of the rounds' ratios, the time
each spends outside the library's scoring loop (wall time minus the run's own `seconds`: start, model and task
load, output — the part the package can add to, and the part least disturbed by other jobs on the machine), and
checks that both gave the same metrics (the JSON's numbers are exact, so equal means bit for bit). The CLI's
JSON carries the model file's sha256 (provenance), which it hashes; the Python run does not ask for it unless
--provenance (then it reads Model.sha256 too: like for like).

Usage: bench/bench_python.py [MODEL] [--task arc_easy] [--limit 200] [--rounds 5] [--threads 2] [--provenance]
                             [--cli build/layerlab] [--python .venv/bin/python] [--json OUT.json]
The package must be importable by --python (`pip install ./python`, or LAYERLAB_LIB=build/liblayerlab.so with
python/ on PYTHONPATH).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PY = """
import json, sys, layerlab
m = layerlab.Model(sys.argv[1])
r = m.evaluate(sys.argv[2], limit=int(sys.argv[3]), threads=int(sys.argv[4]))
d = r.to_dict()
if sys.argv[5] == "1":   # what the CLI's JSON carries too: the model file's sha256
    d["provenance"] = {"model_sha256": m.sha256}
print(json.dumps(d))
"""


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench_python: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return dt, json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=str(REPO / ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--task", default="arc_easy")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cli", default=str(REPO / "build/layerlab"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--json", help="also write the timings here")
    ap.add_argument("--provenance", action="store_true",
                    help="the Python run hashes the model file too, as the CLI does for its JSON's provenance")
    a = ap.parse_args()
    cli = [a.cli, "eval", a.model, "--task", a.task, "--limit", str(a.limit), "--threads", str(a.threads), "--json"]
    py = [a.python, "-c", PY, a.model, a.task, str(a.limit), str(a.threads), "1" if a.provenance else "0"]
    times = {"cli": [], "python": []}
    outside = {"cli": [], "python": []}
    ref = None
    for r in range(a.rounds):
        order = [("cli", cli), ("python", py)] if r % 2 == 0 else [("python", py), ("cli", cli)]
        for name, cmd in order:
            dt, out = timed(cmd)
            times[name].append(dt)
            outside[name].append(dt - out["seconds"])   # wall time outside the library's scoring loop
            keys = {k: v for k, v in out.items() if k not in ("seconds", "provenance", "data")}
            if ref is None:
                ref = keys
            elif keys != ref:
                sys.exit(f"bench_python: the {name} run's results differ:\n{keys}\n{ref}")
        print(f"round {r + 1}: cli {times['cli'][-1]:.3f} s, python {times['python'][-1]:.3f} s", file=sys.stderr)
    mc, mp = statistics.median(times["cli"]), statistics.median(times["python"])
    # each round's two runs are back to back: the median of their ratios is robust to load that drifts
    paired = statistics.median(p / c for p, c in zip(times["python"], times["cli"]))
    print(f"{a.task} --limit {a.limit}, {a.threads} threads, {a.rounds} rounds: CLI median {mc:.3f} s, "
          f"Python median {mp:.3f} s, ratio of medians {mp / mc:.4f}, median paired ratio {paired:.4f} "
          f"(overhead {100 * (paired - 1):+.2f}%); results identical (acc {ref.get('acc')})")
    oc, op = statistics.median(outside["cli"]), statistics.median(outside["python"])
    print(f"outside the scoring loop (start, model and task load, output): CLI median {oc:.3f} s, Python median "
          f"{op:.3f} s; Python's extra {op - oc:+.3f} s = {100 * (op - oc) / mc:+.2f}% of the CLI's median run")
    if a.json:
        Path(a.json).write_text(json.dumps({"task": a.task, "limit": a.limit, "threads": a.threads, "times": times,
                                            "cli_median": mc, "python_median": mp, "ratio_of_medians": mp / mc,
                                            "median_paired_ratio": paired,
                                            "outside": outside}, indent=1))


if __name__ == "__main__":
    main()
