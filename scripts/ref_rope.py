#!/usr/bin/env python3
"""ref_rope.py — PyTorch/transformers references for layerlab's RoPE scaling (linear, Llama 3 rope_freqs).

For each variant written by scripts/make_rope_variants.py (made here if missing), transformers loads the
ORIGINAL, unscaled GGUF with the matching RoPE override (linear factor 4; llama3 with the parameters
make_rope_variants.py computed its rope_freqs factors from) and runs 512 token ids: the ids of
tests/data/prose.txt written twice in a row, as `layerlab tokenize` encodes them, cut to 512 (positions
beyond the llama3 variant's original context of 256 are where scaling matters most). It then
  * checks that the model's inv_freq is the one layerlab computes from the variant (base^(-2i/d)/4, or
    base^(-2i/d)/rope_freqs[i]) and prints the largest difference;
  * runs `layerlab logits VARIANT --exact --ids ...` and prints max |Δlogit| / range (bound 1e-3);
  * prints how far the scaled logits are from the unscaled model's (so the check is not vacuous);
  * stores the reference as ref_transformers.py --out does (top-k logits, range, lse, ids) in
    tests/ref/smollm2_rope_linear4.json and tests/ref/smollm2_rope_llama3.json (--no-store: don't).

Usage: python3 scripts/ref_rope.py [--model SRC.gguf] [--layerlab build/layerlab] [--n 512] [--no-store]
Needs torch + transformers (developer side); tests/test_rope_scaling.sh checks the stored references.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_rope_variants as mrv  # noqa: E402
from ref_transformers import layerlab_logits, transformers_logits  # noqa: E402


def load_scaled(model_path, rope):
    """transformers model of the GGUF at model_path with config.rope_parameters replaced by rope."""
    import torch
    from transformers import AutoModelForCausalLM
    d, f = os.path.split(os.path.abspath(model_path))
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32, attn_implementation="eager",
                                                 rope_parameters=dict(rope))
    model.eval()
    got = model.config.rope_parameters
    for k, v in rope.items():
        if got.get(k) != v:
            sys.exit(f"ref_rope: the override did not reach the config: {k} = {got.get(k)!r}, wanted {v!r}")
    return model


def run(model, ids):
    import torch
    with torch.no_grad():
        return model(torch.tensor([ids], dtype=torch.long)).logits[0].float().numpy()


def store_ref(path, model_name, ids, ref, topk, source):
    """The format of ref_transformers.py --out (read by tests/check_logits_ref.py)."""
    rng = ref.max(axis=1) - ref.min(axis=1)
    top = np.argsort(-ref, axis=1)[:, :topk]
    m = ref.max(axis=1, keepdims=True).astype(np.float64)
    lse = m[:, 0] + np.log(np.exp(ref.astype(np.float64) - m).sum(axis=1))
    store = {
        "source": source,
        "model": model_name,
        "ids": ids,
        "topk_ids": top.tolist(),
        "topk_logits": np.take_along_axis(ref, top, axis=1).astype(float).tolist(),
        "range": rng.astype(float).tolist(),
        "lse": lse.tolist(),
    }
    with open(path, "w") as f:
        json.dump(store, f)


def compare(a, b):
    """max |a-b| / range(b) per position, top-1 agreement, mean KL(softmax b || softmax a)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    rng = b.max(axis=1) - b.min(axis=1)
    ratio = np.abs(a - b).max(axis=1) / rng
    la = a - a.max(axis=1, keepdims=True)
    la -= np.log(np.exp(la).sum(axis=1, keepdims=True))
    lb = b - b.max(axis=1, keepdims=True)
    lb -= np.log(np.exp(lb).sum(axis=1, keepdims=True))
    kl = (np.exp(lb) * (lb - la)).sum(axis=1)
    return ratio, float((a.argmax(1) == b.argmax(1)).mean()), kl


def token_ids(layerlab, model, n):
    text = open(os.path.join(ROOT, "tests/data/prose.txt"), encoding="utf-8").read()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
        f.write(text + text)
        f.flush()
        out = subprocess.run([layerlab, "tokenize", model, "--file", f.name], check=True, capture_output=True, text=True)
    ids = [int(x) for x in out.stdout.split()]
    if len(ids) < n:
        sys.exit(f"ref_rope: prose.txt twice gives {len(ids)} tokens, fewer than {n}")
    return ids[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--layerlab", default=os.path.join(ROOT, "build/layerlab"))
    ap.add_argument("--refdir", default=os.path.join(ROOT, "tests/ref"))
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--topk", type=int, default=10)
    ap.add_argument("--no-store", action="store_true")
    a = ap.parse_args()
    import torch

    src = a.model
    mdir = os.path.dirname(os.path.abspath(src))
    subprocess.run([sys.executable, os.path.join(HERE, "make_rope_variants.py"), src, mdir], check=True)
    stem = os.path.basename(src)[:-5]
    ids = token_ids(a.layerlab, src, a.n)
    print(f"{len(ids)} ids (tests/data/prose.txt twice), model {os.path.basename(src)}")

    reader = mrv.gguf.GGUFReader(src)
    base, rope_dim = mrv.rope_params(reader, src)
    del reader
    half = np.arange(rope_dim // 2, dtype=np.float64)
    inv64 = base ** (-2.0 * half / rope_dim)  # layerlab's unscaled inv_freq (double)
    factors = mrv.llama3_factors(base, rope_dim)
    variants = [
        ("linear4", {"rope_type": "linear", "rope_theta": base, "factor": mrv.LINEAR_FACTOR},
         inv64 / mrv.LINEAR_FACTOR),
        ("llama3", dict({"rope_type": "llama3", "rope_theta": base}, **mrv.LLAMA3), inv64 / factors.astype(np.float64)),
    ]

    t0 = time.time()
    plain, m0 = transformers_logits(src, ids)
    inv_plain = m0.model.rotary_emb.inv_freq.double().numpy()
    del m0
    ll_plain = layerlab_logits(a.layerlab, src, ids)
    r, top1, _ = compare(ll_plain, plain)
    print(f"unscaled: layerlab vs transformers max |dlogit|/range {r.max():.2e}, top-1 {top1:.4f} "
          f"({time.time() - t0:.0f} s)")
    summary = {"n_tokens": len(ids), "unscaled_max_diff_over_range": float(r.max())}
    ok = r.max() <= 1e-3

    for tag, rope, want_inv in variants:
        variant = os.path.join(mdir, f"{stem}.rope-{tag}.gguf")
        model = load_scaled(src, rope)
        inv = model.model.rotary_emb.inv_freq.double().numpy()
        rel = float(np.abs(inv / want_inv - 1).max())
        line = f"{tag}: transformers inv_freq vs layerlab's (from the variant file): max rel diff {rel:.2e}"
        if tag == "llama3":  # transformers' factors = its unscaled inv_freq / its llama3 inv_freq
            hf_factors = inv_plain / inv
            line += f"; transformers' implied factors vs rope_freqs.weight: max |diff| {np.abs(hf_factors - factors).max():.2e}"
        print(line)
        ok &= rel <= 1e-6
        ref = run(model, ids)
        del model
        ours = layerlab_logits(a.layerlab, variant, ids)
        r, top1, _ = compare(ours, ref)
        r_un, top1_un, kl_un = compare(plain, ref)
        late = slice(256, None)
        print(f"{tag}: layerlab vs transformers max |dlogit|/range {r.max():.2e} "
              f"(max |dlogit| {np.abs(ours.astype(np.float64) - ref).max():.2e}), top-1 {top1:.4f}")
        print(f"{tag}: scaled vs unscaled transformers: max |dlogit|/range {r_un.max():.3f} "
              f"(positions 256+: {r_un[late].max():.3f}), top-1 agreement {top1_un:.3f}, mean KL {kl_un.mean():.3f}")
        ok &= r.max() <= 1e-3 and r_un.max() >= 1e-2
        summary[tag] = {"model": os.path.basename(variant), "max_diff_over_range": float(r.max()),
                        "top1_agreement": top1, "inv_freq_max_rel_diff": rel,
                        "vs_unscaled_max_diff_over_range": float(r_un.max()), "vs_unscaled_top1": top1_un,
                        "vs_unscaled_mean_kl": float(kl_un.mean())}
        if not a.no_store:
            out = os.path.join(a.refdir, f"smollm2_rope_{tag}.json")
            store_ref(out, os.path.basename(variant), ids, ref, a.topk,
                      f"transformers (GGUF dequantized to float32, eager attention, rope_parameters={rope}) "
                      f"via scripts/ref_rope.py")
            summary[tag]["stored"] = os.path.relpath(out, ROOT)
    summary["pass"] = bool(ok)
    print(json.dumps(summary, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
