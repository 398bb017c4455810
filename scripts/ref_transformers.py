#!/usr/bin/env python3
"""ref_transformers.py — PyTorch/transformers reference logits for a llama GGUF, and the stored reference
that CI checks without PyTorch.

transformers loads the GGUF itself (dequantized to float32 by the gguf package, eager attention), runs
the given token ids, and:
  * with --layerlab BIN: runs `BIN logits MODEL --ids ... --exact` and reports max |Δlogit| against
    1e-3 × the logit range at each position (the acceptance bound for --exact);
  * with --out REF.json: stores per position the reference top-k token ids and logits, the logit range
    (max - min) and log-sum-exp, with the ids, so tests/check_logits_ref.py can check layerlab later.

Usage: ref_transformers.py MODEL.gguf --ids-file IDS.txt [--layerlab build/layerlab] [--out REF.json] [--topk 10]
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np


def transformers_logits(model_path, ids):
    import torch
    from transformers import AutoModelForCausalLM
    d, f = os.path.split(os.path.abspath(model_path))
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    if head.data_ptr() != emb.data_ptr() and not torch.equal(head, emb):
        print("note: output head is separate from the embedding", file=sys.stderr)
    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long))
    return out.logits[0].float().numpy(), model


def layerlab_logits(binary, model_path, ids, exact=True, extra=()):
    with tempfile.TemporaryDirectory() as td:
        out = os.path.join(td, "logits.npy")
        cmd = [binary, "logits", model_path, "--ids", " ".join(map(str, ids)), "--out", out] + list(extra)
        if exact:
            cmd.append("--exact")
        subprocess.run(cmd, check=True)
        return np.load(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--layerlab")
    ap.add_argument("--out")
    ap.add_argument("--topk", type=int, default=10)
    a = ap.parse_args()
    ids = [int(x) for x in open(a.ids_file).read().split()]
    t0 = time.time()
    ref, _ = transformers_logits(a.model, ids)
    print(f"transformers: logits {ref.shape} in {time.time() - t0:.1f} s", file=sys.stderr)
    rng = ref.max(axis=1) - ref.min(axis=1)
    result = {"model": os.path.basename(a.model), "n_tokens": len(ids)}
    if a.layerlab:
        ours = layerlab_logits(a.layerlab, a.model, ids)
        diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max(axis=1)
        ratio = diff / rng
        result.update({
            "max_abs_diff": float(diff.max()),
            "max_diff_over_range": float(ratio.max()),
            "mean_logit_range": float(rng.mean()),
            "top1_agreement": float((ours.argmax(1) == ref.argmax(1)).mean()),
            "pass": bool(ratio.max() <= 1e-3),
        })
    if a.out:
        k = a.topk
        top = np.argsort(-ref, axis=1)[:, :k]
        m = ref.max(axis=1, keepdims=True).astype(np.float64)
        lse = (m[:, 0] + np.log(np.exp(ref.astype(np.float64) - m).sum(axis=1)))
        store = {
            "source": "transformers (GGUF dequantized to float32, eager attention) via scripts/ref_transformers.py",
            "model": os.path.basename(a.model),
            "ids": ids,
            "topk_ids": top.tolist(),
            "topk_logits": np.take_along_axis(ref, top, axis=1).astype(float).tolist(),
            "range": rng.astype(float).tolist(),
            "lse": lse.tolist(),
        }
        with open(a.out, "w") as f:
            json.dump(store, f)
        result["stored"] = a.out
    print(json.dumps(result, indent=1))
    return 0 if result.get("pass", True) else 1


if __name__ == "__main__":
    sys.exit(main())
