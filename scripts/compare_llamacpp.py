#!/usr/bin/env python3
"""compare_llamacpp.py — layerlab against llama.cpp (through llama-cpp-python) on the same token ids.

Runs the ids through llama.cpp (all logits) and through `layerlab logits --llamacpp` (activations
converted to each weight type's dot-product type and fp16 KV, as llama.cpp computes), then reports the top-1 agreement over positions and the
mean KL divergence KL(llama.cpp || layerlab). Exit 1 if top-1 agreement < --min-top1 (default 0.99) or
the mean KL > --max-kl (default: no bound).

Usage: compare_llamacpp.py MODEL.gguf --ids-file IDS.txt --layerlab build/layerlab [--json]
"""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np


def llamacpp_logits(model_path, ids, threads=2):
    from llama_cpp import Llama
    llm = Llama(model_path=model_path, n_ctx=max(len(ids), 8), n_batch=512, logits_all=True, n_threads=threads,
                verbose=False)
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--layerlab", required=True)
    ap.add_argument("--min-top1", type=float, default=0.99)
    ap.add_argument("--max-kl", type=float, default=float("inf"))
    ap.add_argument("--exact", action="store_true", help="run layerlab in its default fp32 mode instead")
    a = ap.parse_args()
    ids = [int(x) for x in open(a.ids_file).read().split()]
    ref = llamacpp_logits(a.model, ids)
    with tempfile.TemporaryDirectory() as td:
        out = os.path.join(td, "l.npy")
        cmd = [a.layerlab, "logits", a.model, "--ids", " ".join(map(str, ids)), "--out", out]
        cmd.append("--exact" if a.exact else "--llamacpp")
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        ours = np.load(out)
    lp, lq = log_softmax(ref), log_softmax(ours)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=1)
    top1 = float((ref.argmax(1) == ours.argmax(1)).mean())
    res = {"model": os.path.basename(a.model), "positions": len(ids), "top1_agreement": top1,
           "mean_kl": float(kl.mean()), "max_kl": float(kl.max()),
           "max_abs_dlogit": float(np.abs(ref.astype(np.float64) - ours).max()),
           "pass": top1 >= a.min_top1 and float(kl.mean()) <= a.max_kl}
    print(json.dumps(res))
    return 0 if res["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
