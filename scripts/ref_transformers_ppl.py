#!/usr/bin/env python3
"""ref_transformers_ppl.py — the perplexity reference for `layerlab ppl`: the same tokens and windows,
with logits from PyTorch/transformers (GGUF loaded dequantized, float32) and the NLL computed in numpy.

tokens = `layerlab tokenize MODEL --file FILE` (BOS by the model's rule, special tokens not parsed — what
`layerlab ppl` uses), cut to --max-tokens, split into consecutive windows of --ctx; each token after the
first in a window is scored from the tokens before it in that window.

Usage: ref_transformers_ppl.py MODEL.gguf FILE --ctx N --layerlab build/layerlab [--out REF.json]
"""
import argparse, json, os, subprocess, sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from ref_transformers import transformers_logits  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("file")
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--max-tokens", type=int, default=0)
    ap.add_argument("--layerlab", required=True)
    ap.add_argument("--out")
    a = ap.parse_args()
    out = subprocess.run([a.layerlab, "tokenize", a.model, "--file", a.file, "--no-special"], check=True,
                         capture_output=True, text=True).stdout
    ids = [int(x) for x in out.split()]
    if a.max_tokens:
        ids = ids[: a.max_tokens]
    total, scored = 0.0, 0
    for s in range(0, len(ids), a.ctx):
        w = ids[s : s + a.ctx]
        if len(w) < 2:
            break
        logits, _ = transformers_logits(a.model, w)
        x = logits.astype(np.float64)
        m = x.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(x - m).sum(axis=1))
        nll = lse[:-1] - x[np.arange(len(w) - 1), w[1:]]
        total += nll.sum()
        scored += len(w) - 1
    res = {"source": "transformers (GGUF dequantized, float32) + numpy, via scripts/ref_transformers_ppl.py",
           "model": os.path.basename(a.model), "file": a.file, "ctx": a.ctx, "tokens": len(ids),
           "tokens_scored": scored, "mean_nll": total / scored, "ppl": float(np.exp(total / scored))}
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
