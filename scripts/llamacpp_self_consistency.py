#!/usr/bin/env python3
"""llamacpp_self_consistency.py — how well llama.cpp agrees with itself: the same token ids evaluated
as one batch and one token at a time (both through llama-cpp-python, 2 threads). Its kernels differ
between the two (batched matmuls vs single-row dot products), so this measures the noise floor of any
comparison with llama.cpp on a given quantized model: top-1 agreement and mean KL(batch || one-by-one).

Usage: llamacpp_self_consistency.py MODEL.gguf --ids-file IDS.txt [--n 256]
"""
import argparse, json, os

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--n", type=int, default=256)
    a = ap.parse_args()
    from llama_cpp import Llama
    ids = [int(x) for x in open(a.ids_file).read().split()][: a.n]
    llm = Llama(model_path=a.model, n_ctx=len(ids) + 8, logits_all=True, n_threads=2, verbose=False)
    llm.reset()
    llm.eval(ids)
    batch = np.array(llm.scores[: len(ids)], dtype=np.float64)
    llm.reset()
    for t in ids:
        llm.eval([t])
    seq = np.array(llm.scores[: len(ids)], dtype=np.float64)

    def ls(x):
        m = x.max(axis=1, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))

    lp, lq = ls(batch), ls(seq)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=1)
    print(json.dumps({"model": os.path.basename(a.model), "positions": len(ids),
                      "top1_agreement": float((batch.argmax(1) == seq.argmax(1)).mean()),
                      "mean_kl": float(kl.mean()), "max_abs_dlogit": float(np.abs(batch - seq).max())}))


if __name__ == "__main__":
    main()
