#!/usr/bin/env python3
"""painters_markdown.py DIR — the tables of a finished `layerlab study painters` run as Markdown, for
docs/STUDIES.md: the full model per task, the median normalised score per variant and M (the paper's Fig. 11),
each task's normalised score per variant at three M, perplexity per variant and M, the single-layer skip and
switch extremes on LAMBADA, and the looped-parallel grid's best k per M. Reads DIR/scores.csv and
DIR/results.sqlite (made by `layerlab study export DIR`). Standard library only."""
import csv
import math
import sqlite3
import sys

VARIANTS = ["skip", "middle_repeat", "reverse", "random", "parallel", "looped_parallel"]


def f(v, nd=3):
    return "—" if v is None or v != v else f"{v:.{nd}f}"


def main():
    d = sys.argv[1]
    rows = list(csv.DictReader(open(d + "/scores.csv")))
    db = sqlite3.connect(d + "/results.sqlite")
    num = lambda r, k: float(r[k]) if r[k] not in ("", "nan") else float("nan")
    full = [r for r in rows if r["plan"] == "full" and r["task"] not in ("median", "mean")]
    tasks = sorted({r["task"] for r in full})
    L = max(int(r["s"]) + 1 for r in rows if r["variant"] == "skip_one") if any(r["variant"] == "skip_one" for r in rows) else None
    print("Full model (the first %s items of each task):\n" % full[0]["n"])
    print("| task | metric | value | stderr | chance | in the median |")
    print("|---|---|---:|---:|---:|---|")
    for r in full:
        if r["metric"] in ("acc", "acc_norm", "perplexity"):
            print(f"| {r['task']} | {r['metric']} | {f(num(r, 'value'), 4)} | {f(num(r, 'stderr'), 4)} | "
                  f"{f(num(r, 'chance'), 4)} | {'no (flagged)' if r['flagged'] == '1' else 'yes'} |")
    # median normalised per variant and M
    med = {}
    for r in rows:
        if r["group"] != "grid" or r["task"] != "median" or r["metric"] != "normalised" or r["variant"] == "full":
            continue
        if r["variant"] == "random" and not r["plan"].endswith(":mean"):
            continue
        med[(r["variant"], int(r["M"]))] = num(r, "value")
    Ms = sorted({m for _, m in med})
    print("\nMedian normalised score over the tasks, per variant and number of affected layers M (Fig. 11; random: the "
          "mean over seeds):\n")
    print("| variant | " + " | ".join(f"M={m}" for m in Ms) + " | mean |")
    print("|---|" + "---:|" * (len(Ms) + 1))
    for v in VARIANTS:
        vals = [med.get((v, m)) for m in Ms]
        ok = [x for x in vals if x is not None and x == x]
        print(f"| {v} | " + " | ".join(f(x, 2) for x in vals) + f" | {f(sum(ok) / len(ok) if ok else None, 3)} |")
    # per task at three M
    pick = [Ms[0], Ms[len(Ms) // 2], Ms[-1]] if Ms else []
    print("\nNormalised score per task (acc) at M = " + ", ".join(map(str, pick)) + ":\n")
    print("| variant | " + " | ".join(f"{t} M={m}" for m in pick for t in tasks) + " |")
    print("|---|" + "---:|" * (len(pick) * len(tasks)))
    for v in VARIANTS:
        cells = []
        for m in pick:
            for t in tasks:
                if v == "random":
                    xs = [num(r, "normalised") for r in rows if r["variant"] == v and r["group"] == "grid" and int(r["M"]) == m
                          and r["task"] == t and r["metric"] == "acc"]
                    cells.append(f(sum(xs) / len(xs), 2) if xs else "—")
                else:
                    x = [num(r, "normalised") for r in rows if r["variant"] == v and r["group"] == "grid" and int(r["M"]) == m
                         and r["task"] == t and r["metric"] == "acc"]
                    cells.append(f(x[0], 2) if x else "—")
        print(f"| {v} | " + " | ".join(cells) + " |")
    # perplexity
    ppl = {p: (t, x) for p, t, x in db.execute("SELECT plan, tokens, ppl FROM ppl")}
    plans = {p: (v, s, m, seed, k) for p, v, s, m, seed, k in db.execute("SELECT plan, variant, s, m, seed, k FROM plans WHERE grp = 'grid'")}
    partial = ""
    if "full" not in ppl:   # windows still running: every plan over the windows all grid plans have finished
        last = dict(db.execute("SELECT plan, max(window) FROM ppl_windows GROUP BY plan"))
        if plans and all(p in last for p in plans):
            w = min(last[p] for p in plans)
            ppl = {p: (n, math.exp(t / n)) for p, t, n in db.execute("SELECT plan, total, scored FROM ppl_windows WHERE window = ?", (w,))}
            partial = f"; partial: the first {w + 1} windows of 1024 tokens, the ones every plan has finished"
    if ppl:
        print(f"\nWikiText-2 perplexity ({ppl.get('full', (0, 0))[0]} tokens scored{partial}; full model "
              f"{f(ppl.get('full', (0, float('nan')))[1], 2)}), per variant and M (random: seed 0):\n")
        print("| variant | " + " | ".join(f"M={m}" for m in Ms) + " |")
        print("|---|" + "---:|" * len(Ms))
        for v in VARIANTS:
            cells = []
            for m in Ms:
                c = [p for p, (pv, s, pm, seed, k) in plans.items() if pv == v and pm == m and seed in (-1, 0) and (v != "looped_parallel" or k == 3)]
                cells.append(f"{ppl[c[0]][1]:.4g}" if c and c[0] in ppl else "—")
            print(f"| {v} | " + " | ".join(cells) + " |")
    # single skip / switch on lambada
    single = [(r["variant"], int(r["s"]), num(r, "value")) for r in rows if r["group"] == "single" and r["metric"] == "acc"]
    if single:
        fl = [num(r, "value") for r in full if r["task"] == "lambada_openai" and r["metric"] == "acc"]
        print(f"\nSingle-layer skip and adjacent switch on LAMBADA (Fig. 2; full model acc {f(fl[0] if fl else None)}):\n")
        print("| | worst layer (acc) | best layer (acc) | mean acc |")
        print("|---|---|---|---:|")
        for v in ("skip_one", "switch"):
            xs = sorted((x, i) for vv, i, x in single if vv == v)
            if xs:
                print(f"| {v} | {xs[0][1]} ({f(xs[0][0])}) | {xs[-1][1]} ({f(xs[-1][0])}) | {f(sum(x for x, _ in xs) / len(xs))} |")
    # looped-parallel grid: best k per M
    lp = {}
    for r in rows:
        if r["variant"] == "looped_parallel" and r["task"] == "median" and r["metric"] == "normalised":
            lp.setdefault(int(r["M"]), {})[int(r["k"])] = num(r, "value")
    for r in rows:   # k = 1 is parallel
        if r["variant"] == "parallel" and r["group"] == "grid" and r["task"] == "median" and r["metric"] == "normalised":
            lp.setdefault(int(r["M"]), {})[1] = num(r, "value")
    if lp:
        print("\nLooped parallel (Fig. 10): median normalised score per M and k, best k in bold:\n")
        ks = sorted({k for m in lp for k in lp[m]})
        print("| M | " + " | ".join(f"k={k}" for k in ks) + " |")
        print("|---:|" + "---:|" * len(ks))
        for m in sorted(lp):
            best = max((x, k) for k, x in lp[m].items() if x == x)[1] if any(x == x for x in lp[m].values()) else None
            print(f"| {m} | " + " | ".join(("**%s**" if k == best else "%s") % f(lp[m].get(k), 2) for k in ks) + " |")


if __name__ == "__main__":
    main()
