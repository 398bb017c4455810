#!/usr/bin/env python3
"""ref_closest_precision.py — how precise is the fp32 transformers reference's own MLP `closest` feature?

The mlp-regions feature closest[t] = min_k |g_tk| / ||w_k|| (docs/PROBES.md) is the distance to the nearest
of n_ff gate hyperplanes, and closest_min = min_t closest[t] sits near zero (~1e-6), where the rounding of
an fp32 forward pass is a large part of the value. This script runs transformers itself twice on the same
token ids — the GGUF dequantized to float32 (the reference scripts/ref_probes.py uses) and the same weights
in float64 — and prints, per layer, closest_min and closest_mean of both and their relative difference.
A tolerance tighter than the fp32-vs-fp64 difference cannot be met by any fp32 implementation against
the fp32 reference. Needs the venv's torch + transformers.

Usage: ref_closest_precision.py [MODEL.gguf] [--text TEXT] [--layerlab build/layerlab] [--json OUT]
"""
import argparse, copy, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--text", default="The quick brown fox jumps over the lazy dog, and then it runs back home "
                                      "to sleep for 12 hours.")
    ap.add_argument("--layerlab", default=os.path.join(ROOT, "build/layerlab"))
    ap.add_argument("--json")
    a = ap.parse_args()
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(1)
    ids = [int(x) for x in subprocess.run([a.layerlab, "tokenize", a.model, "--text", a.text], check=True,
                                          capture_output=True, text=True).stdout.split()]
    d, f = os.path.split(os.path.abspath(a.model))
    m32 = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32, attn_implementation="eager").eval()
    m64 = copy.deepcopy(m32).double()

    def gates(m):
        out = []
        hooks = [l.mlp.gate_proj.register_forward_hook(lambda mod, i, o: out.append(o[0].detach().double().numpy()))
                 for l in m.model.layers]
        with torch.no_grad():
            m(torch.tensor([ids]))
        for h in hooks:
            h.remove()
        return out

    g32, g64 = gates(m32), gates(m64)
    rows = []
    for e, l in enumerate(m64.model.layers):
        norms = np.linalg.norm(l.mlp.gate_proj.weight.detach().numpy(), axis=1)
        c32 = (np.abs(g32[e]) / norms).min(axis=1)
        c64 = (np.abs(g64[e]) / norms).min(axis=1)
        rows.append({"layer": e, "closest_min_fp32": float(c32.min()), "closest_min_fp64": float(c64.min()),
                     "closest_min_rel": float(abs(c32.min() - c64.min()) / c64.min()),
                     "closest_mean_rel": float(abs(c32.mean() - c64.mean()) / c64.mean())})
        r = rows[-1]
        print(f"layer {e:2d}: closest_min fp32 {r['closest_min_fp32']:.4e} fp64 {r['closest_min_fp64']:.4e} "
              f"rel {r['closest_min_rel']:.2e}; closest_mean rel {r['closest_mean_rel']:.2e}")
    worst = max(r["closest_min_rel"] for r in rows)
    over = sum(r["closest_min_rel"] > 1e-3 for r in rows)
    print(f"{len(ids)} tokens; closest_min, fp32 vs fp64: largest relative difference {worst:.3g}, "
          f"{over} of {len(rows)} layers above 1e-3; closest_mean: largest {max(r['closest_mean_rel'] for r in rows):.3g}")
    if a.json:
        with open(a.json, "w") as fo:
            json.dump({"model": os.path.basename(a.model), "text": a.text, "ids": ids, "layers": rows}, fo, indent=1)


if __name__ == "__main__":
    sys.exit(main())
