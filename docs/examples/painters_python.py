#!/usr/bin/env python3
"""painters_python.py — two Painters figures computed through the Python package, to adapt.

1. The cosine similarity between the residual stream's states (embedding output, then after every layer) of the
   full model, flattened over positions and hidden units, mean over LAMBADA items (`probe cosine`; the paper's
   Fig. 3).
2. The skip sweep of one task: the plan skip:s keeps layers 0..s and L-s..L-1 and drops the M = L-2s-1 middle
   layers; accuracy (± its standard error) for s = L/2-1 down to 0, against the full model (the paper's Fig. 4).

    pip install ./python matplotlib            # in a virtual environment, from the repository root
    python docs/examples/painters_python.py    # SmolLM2 (scripts/setup.sh fetches it) -> out/painters-python/

Options: MODEL [--tokenizer TOK.bin] [--task arc_easy] [--limit 50] [--cosine-samples 32] [--threads 2]
[--out DIR]. The task files come from $LAYERLAB_DATA or ../shared/data beside the repository
(layerlab.default_data_dir()).
"""
import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # files only, no display
import matplotlib.pyplot as plt   # noqa: E402
import numpy as np   # noqa: E402

import layerlab   # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=str(REPO / ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--tokenizer", help="a llama2.c checkpoint's tokenizer.bin")
    ap.add_argument("--task", default="arc_easy")
    ap.add_argument("--limit", type=int, default=50, help="items of the task per plan")
    ap.add_argument("--cosine-samples", type=int, default=32, help="LAMBADA items for the cosine matrix")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="out/painters-python")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    m = layerlab.Model(a.model, tokenizer=a.tokenizer, threads=a.threads)
    L = m.n_layer
    name = Path(a.model).name

    # 1. cosine matrix of the full model's states 0..L
    cos = m.cosine(task="lambada_openai", limit=a.cosine_samples, reduce="flat")
    np.save(out / "cosine.npy", cos["cosine"])
    fig, ax = plt.subplots(figsize=(5.5, 4.6))
    im = ax.imshow(cos["cosine"], vmin=min(0.0, float(cos["cosine"].min())), vmax=1, cmap="viridis", origin="upper")
    ax.set_xlabel("state (0 = embeddings, l = after layer l)")
    ax.set_ylabel("state")
    ax.set_title(f"{name}: cosine between states\n{cos.n_samples} LAMBADA items, flattened")
    fig.colorbar(im, ax=ax, shrink=0.85)
    fig.tight_layout()
    fig.savefig(out / "cosine.png", dpi=130)
    plt.close(fig)

    # 2. skip sweep: the full model, then skip:s for s = L/2-1 .. 0
    rows = []
    full = m.evaluate(a.task, limit=a.limit)
    metric = "acc_norm" if full.has_acc_norm else "acc"
    rows.append({"plan": "full", "s": "", "M": 0, metric: full[metric], "stderr": full[metric + "_stderr"]})
    for s in range(L // 2 - 1, -1, -1):
        r = m.evaluate(a.task, plan=f"skip:{s}", limit=a.limit)
        rows.append({"plan": f"skip:{s}", "s": s, "M": L - 2 * s - 1, metric: r[metric],
                     "stderr": r[metric + "_stderr"]})
        print(f"skip:{s:<3} M={L - 2 * s - 1:<3} {metric} {r[metric]:.3f}")
    with open(out / "skip_sweep.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    sweep = rows[1:]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar([r["M"] for r in sweep], [r[metric] for r in sweep], yerr=[r["stderr"] for r in sweep], marker="o",
                capsize=3, label="skip (middle M layers dropped)")
    ax.axhline(full[metric], color="k", ls="--", lw=1, label=f"full model ({full[metric]:.3f})")
    ax.set_xlabel(f"M = layers skipped (of {L})")
    ax.set_ylabel(f"{a.task} {metric}")
    ax.set_title(f"{name}: skip sweep, first {full.n} items")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "skip_sweep.png", dpi=130)
    plt.close(fig)
    print(f"wrote {out / 'cosine.png'}, {out / 'skip_sweep.png'} (numbers: cosine.npy, skip_sweep.csv)")


if __name__ == "__main__":
    main()
