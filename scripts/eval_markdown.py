#!/usr/bin/env python3
"""eval_markdown.py — the two result tables of docs/EVAL.md from recorded JSON (standard library only).

  eval_markdown.py agreement REF.json [REF.json ...]   scripts/ref_lmeval.py --out files: per-item
                                                       agreement of layerlab with lm-evaluation-harness
  eval_markdown.py scores RUN.json [RUN.json ...]      `layerlab eval --json` outputs: scores with
                                                       standard errors and run times
"""
import json
import sys


def pct(x):
    return "—" if x is None else f"{100 * x:.1f}%"


def pair(m):
    """'lm-eval / layerlab' for a metric dict of ref_lmeval's report, with the difference in points"""
    a, b = m["lmeval"], m["layerlab"]
    if a is None or b is None:
        return "—"
    return f"{a:.4f} / {b:.4f}"


def agreement(paths):
    print("| task | items | predictions agree | acc_norm agrees | max \\|Δ loglikelihood\\| | items with \\|Δ\\| > 1e-2 "
          "| metric: lm-eval / layerlab | largest metric difference (points) | seconds: lm-eval / layerlab |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for p in paths:
        for r in json.load(open(p))["reports"]:
            agree = r.get("pred_agreement", r.get("greedy_agreement"))
            metrics, diff = [], 0.0
            for k in ("acc", "acc_norm", "perplexity"):
                if k in r and r[k]["lmeval"] is not None:
                    metrics.append(f"{k} {pair(r[k])}")
                    if k != "perplexity":
                        diff = max(diff, 100 * abs(r[k]["lmeval"] - r[k]["layerlab"]))
            far = r.get("items_dll_over_1e-2")
            print(f"| {r['task']} | {r['n']} | {pct(agree)} | {pct(r.get('acc_norm_item_agreement'))} "
                  f"| {r['max_abs_dll']:.1e} | {'—' if far is None else far} | {'; '.join(metrics)} | {diff:.2f} "
                  f"| {r['seconds']['lmeval']:.0f} / {r['seconds']['layerlab']:.0f} |")


def scores(paths):
    print("| task | items | acc ± stderr | acc_norm ± stderr | other | seconds | items/s |")
    print("|---|---:|---|---|---|---:|---:|")
    for p in paths:
        r = json.load(open(p))
        def pm(k):
            return "—" if r.get(k) is None else f"{r[k]:.4f} ± {r[k + '_stderr']:.4f}"
        other = []
        if "perplexity" in r:
            other.append(f"perplexity {r['perplexity']:.3f} ± {r['perplexity_stderr']:.3f}")
        for k in ("exact_match_strict", "exact_match_flexible"):
            if k in r:
                other.append(f"{k} {r[k]:.4f} ± {r[k + '_stderr']:.4f}")
        items = f"{r['n']}" + ("" if r.get("limit") is None else " (first)")
        acc = pm("acc") if "acc" in r else "—"
        print(f"| {r['task']} | {items} | {acc} | {pm('acc_norm')} | {'; '.join(other) or '—'} "
              f"| {r['seconds']:.0f} | {r['n'] / r['seconds']:.2f} |")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("agreement", "scores"):
        sys.exit(__doc__)
    (agreement if sys.argv[1] == "agreement" else scores)(sys.argv[2:])
