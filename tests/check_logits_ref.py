#!/usr/bin/env python3
"""check_logits_ref.py REF.json LOGITS.npy — checks layerlab's logits against a stored reference made by
scripts/ref_transformers.py: at every position, each of the reference's top-k logits and the log-sum-exp
must agree within TOL × that position's logit range (TOL = 1e-3, the --exact acceptance bound: fp32
summation order differs between PyTorch and layerlab, nothing else should)."""
import json, sys

import numpy as np

TOL = 1e-3
ref = json.load(open(sys.argv[1]))
ours = np.load(sys.argv[2]).astype(np.float64)
ids = np.array(ref["topk_ids"])
want = np.array(ref["topk_logits"])
rng = np.array(ref["range"])
lse_ref = np.array(ref["lse"])
assert ours.shape[0] == len(ref["ids"]), f"positions: {ours.shape[0]} vs {len(ref['ids'])}"
got = np.take_along_axis(ours, ids, axis=1)
d = np.abs(got - want).max(axis=1) / rng
m = ours.max(axis=1, keepdims=True)
lse = m[:, 0] + np.log(np.exp(ours - m).sum(axis=1))
dl = np.abs(lse - lse_ref) / rng
top1 = (ours.argmax(axis=1) == ids[:, 0]).mean()
print(f"{ref['model']}: max top-k |dlogit|/range = {d.max():.2e}, max |dlse|/range = {dl.max():.2e}, "
      f"top-1 agreement {top1:.4f} over {len(d)} positions (tolerance {TOL:g} x range)")
ok = d.max() <= TOL and dl.max() <= TOL
print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
sys.exit(0 if ok else 1)
