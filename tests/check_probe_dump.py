#!/usr/bin/env python3
"""check_probe_dump.py DUMP_DIR FLAT.json TOKEN.json LAST.json — recomputes every probe number in numpy
from the raw tensors `layerlab probe ... --dump DIR` wrote, and compares with the probe's JSON output
(the three files are the same run with --reduce flat, token and last).

The dump holds the float32 tensors the C side reduced; numpy recomputes the reductions in float64 from
the same values, so agreement must be at rounding level (1e-9; the two sides sum in different orders).
Attention counts compare thresholded values of the same float32 rows, so they must be equal (≤ 1e-9 after
averaging). Definitions: docs/PROBES.md."""
import glob
import json
import os
import sys

import numpy as np

TOL = 1e-9  # same float32 inputs, float64 reductions in a different order: rounding only


def close(name, ours, ref, tol=TOL):
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        print(f"FAIL {name}: shape {ours.shape} vs numpy {ref.shape}")
        return False
    scale = np.maximum(1.0, np.abs(ref))
    err = np.nanmax(np.abs(ours - ref) / scale) if ours.size else 0.0
    nan_ok = np.array_equal(np.isnan(ours), np.isnan(ref))
    ok = bool(err <= tol and nan_ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max rel err {err:.2e} (tol {tol:g})")
    return ok


def cos(a, b):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def main():
    d = sys.argv[1]
    flat, token, last = (json.load(open(p)) for p in sys.argv[2:5])
    members = np.load(os.path.join(d, "members.npy"))
    E = len(members)
    n = len(glob.glob(os.path.join(d, "sample*_tokens.npy")))
    S = E + 1
    c_flat = np.zeros((S, S)); c_last = np.zeros((S, S)); c_tok = np.zeros((S, S)); var = np.zeros(S)
    n_tok = 0
    ang = None
    span = flat.get("span")
    if span:
        ang = np.zeros(S - span)
    eps = flat["eps"]
    rel = flat["threshold"] == "relative"
    ids = []; heads = []; dens = []; ents = []; maxs = []
    feats = []; hams = []
    norms = np.load(os.path.join(d, "gate_norms.npy")).astype(np.float64)
    # --pad (the Painters harness): flat, last and variance are averaged per batch of 8, then over batches;
    # w is each sample's weight, scaled by n because the sums are divided by n below
    batch = 8 if flat.get("pad") else 1
    n_batches = (n + batch - 1) // batch
    for i in range(n):
        h = np.load(os.path.join(d, f"sample{i}_hidden.npy")).astype(np.float64)  # [S, T, D]
        T = h.shape[1]
        w = n / (min(batch, n - (i // batch) * batch) * n_batches)
        for a in range(S):
            var[a] += w * h[a].var()
            for b in range(S):
                c_flat[a, b] += w * cos(h[a].ravel(), h[b].ravel())
                c_last[a, b] += w * cos(h[a, -1], h[b, -1])
                c_tok[a, b] += sum(cos(h[a, t], h[b, t]) for t in range(T))
        n_tok += T
        if span:
            for l in range(S - span):
                ang[l] += np.arccos(np.clip(cos(h[l, -1], h[l + span, -1]), -1, 1)) / np.pi
        A = np.load(os.path.join(d, f"sample{i}_attn.npy")).astype(np.float64)  # [E, M, H, nq, T]
        pos = np.load(os.path.join(d, f"sample{i}_attn_positions.npy"))
        H = A.shape[2]
        idv = np.zeros(E); hv = np.zeros((E, H)); dv = np.zeros(E); ev = np.zeros(E); mv = np.zeros(E)
        for e in range(E):
            M = members[e]
            for j in range(M):
                for hh in range(H):
                    for q, p in enumerate(pos):
                        row = A[e, j, hh, q, : p + 1]
                        tau = eps * row.max() if rel else eps
                        c = float((row > tau).sum())
                        idv[e] += c / (M * len(pos))
                        hv[e, hh] += c / (M * len(pos))
                        dv[e] += c / (H * (p + 1)) / (M * len(pos))
                        nz = row[row > 0]
                        ev[e] += -(nz * np.log(nz)).sum() / (M * len(pos) * H)
                        mv[e] += row.max() / (M * len(pos) * H)
        ids.append(idv); heads.append(hv); dens.append(dv); ents.append(ev); maxs.append(mv)
        G = np.load(os.path.join(d, f"sample{i}_gates.npy")).astype(np.float64)  # [E, M, T, F]
        fv = np.zeros((E, 7)); hm = np.zeros(E)
        for e in range(E):
            M = members[e]
            for j in range(M):
                g = G[e, j]
                pf = (g > 0).mean(axis=1)
                cl = (np.abs(g) / norms[e, j][None, :]).min(axis=1)
                fv[e] += np.array([pf.mean(), pf.min(), pf.max(), pf.std(ddof=1),
                                   cl.min(), cl.mean(), cl.std(ddof=1)]) / M
                sg = g > 0
                hm[e] += (sg[1:] != sg[:-1]).sum(axis=1).mean() / M
        feats.append(fv); hams.append(hm)
    ok = True
    ok &= close("cosine flat", flat["cosine"], c_flat / n)
    ok &= close("cosine token", token["cosine"], c_tok / n_tok)
    ok &= close("cosine last", last["cosine"], c_last / n)
    ok &= close("variance", flat["variance"], var / n)
    ok &= close("block influence", flat["block_influence"], [1 - c_tok[e, e + 1] / n_tok for e in range(E)])
    if span:
        ok &= close("angular distance", flat["angular_distance"], ang / n)
    ok &= close("attention id", flat["attention_id"], np.mean(ids, axis=0))
    ok &= close("attention id per head", flat["per_head"], np.mean(heads, axis=0))
    ok &= close("attention density", flat["density"], np.mean(dens, axis=0))
    ok &= close("attention entropy", flat["entropy"], np.mean(ents, axis=0))
    ok &= close("attention max weight", flat["max_weight"], np.mean(maxs, axis=0))
    ok &= close("mlp features", flat["features"], np.mean(feats, axis=0))
    ok &= close("mlp hamming consecutive", flat["hamming_consecutive"], np.mean(hams, axis=0))
    if list(flat["members"]) != [int(m) for m in members]:
        print("FAIL members differ between JSON and dump"); ok = False
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
