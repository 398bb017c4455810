#!/usr/bin/env python3
"""check_hidden_ref.py REF.json H0.npy [H1.npy ...] — checks layerlab's hidden states (`embed --pool none`, one
.npy per sequence of REF's "ids", in order) against a stored reference made by scripts/ref_plans_bert.py: at
every position, max over the hidden dimension of |delta| must be <= REF's "tol" x the reference's range (max -
min) at that position. numpy only."""
import json, sys

import numpy as np

ref = json.load(open(sys.argv[1]))
outs = sys.argv[2:]
assert ref.get("format") == "layerlab-bert-plan-ref/1", f"{sys.argv[1]}: format {ref.get('format')!r}"
assert len(outs) == len(ref["ids"]) == len(ref["hidden"]), f"{len(outs)} outputs for {len(ref['ids'])} sequences"
tol = float(ref["tol"])
worst, where = 0.0, None
for k, (path, ids, want) in enumerate(zip(outs, ref["ids"], ref["hidden"])):
    want = np.asarray(want, dtype=np.float32).astype(np.float64)
    ours = np.load(path).astype(np.float64)
    assert want.shape == (len(ids), want.shape[1]), f"sequence {k}: reference {want.shape} for {len(ids)} ids"
    assert ours.shape == want.shape, f"sequence {k}: layerlab {ours.shape} vs reference {want.shape}"
    r = np.abs(ours - want).max(axis=1) / (want.max(axis=1) - want.min(axis=1))
    assert np.isfinite(r).all(), f"sequence {k}: non-finite values"
    if where is None or r.max() > worst:
        worst, where = float(r.max()), (k, int(r.argmax()))
print(f"{ref['model']} --plan {ref['plan']}: max |dh|/range = {worst:.2e} (sequence, position {where}) over "
      f"{sum(len(i) for i in ref['ids'])} positions (tolerance {tol:g} x range; the plan is "
      f"{ref['from_full']:.3f} x range from full)")
ok = worst <= tol
print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
sys.exit(0 if ok else 1)
