#!/usr/bin/env python3
"""ref_plans_bert.py — the layer-plan reference of scripts/ref_plans.py for a BERT encoder (all-MiniLM-L6-v2 by
default), and the stored references tests/test_plans_bert.sh checks without PyTorch.

transformers loads the Hugging Face directory as BertModel (float32, eager attention). For each plan,
`encoder.layer` is rebuilt as a ModuleList in the plan's order (a layer may appear several times), each
parallel group replaced by ref_plans' ParallelMean (every member reads the same hidden states; the output is
the mean of the members' outputs: BERT layers end in a LayerNorm, so this mixes normalised outputs, as the
Painters code does). BertEncoder runs every module of the list (no num_hidden_layers cut). The order is
`layerlab plan --json`'s, asserted equal to ref_plans.expected_order (the paper's rules recomputed).

Inputs: the first N_SENT sentences of SST-2's dev set, each its own sequence [CLS] sentence [SEP] from the
model's own tokenizer (transformers' AutoTokenizer), token_type_ids 0, attention mask all ones. For each plan
and sentence, last_hidden_state [T, D] is compared with `layerlab embed DIR --ids ... --pool none --plan P`:
max over positions of max_d |delta| / (the reference's range over d at that position) must be <= TOL; and the
plan's reference must differ from full's by >= MIN_FROM_FULL x range somewhere (not vacuous).

With --out-dir, one file per plan, minilm_<plan with : as _>.json: ids, plan, order, the hidden states as
shortest round-trip float32 decimals (checked to read back bit-exactly), the model's sha256 and the versions.

Usage: ref_plans_bert.py [MODEL_DIR] [--tsv sst2_dev.tsv] [--layerlab build/layerlab] [--out-dir tests/ref/plans]
                         [--plans P1 P2 ...]
  regenerate:  /tmp/tenv/bin/python scripts/ref_plans_bert.py --out-dir tests/ref/plans
"""
import argparse, hashlib, json, os, platform, subprocess, sys, tempfile, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import ref_plans  # noqa: E402  (numpy only at import time)

# 6 layers: middle_repeat:s is the identity for s = 2 (its middle is layer 3 alone, the centre itself), so
# middle_repeat:1 ([0,1,3,3,3,5]); the others as the brief's.
PLANS = ["full", "skip:2", "reverse:1", "random:1:0", "middle_repeat:1", "repeat_block:2:2", "parallel:1",
         "looped_parallel:1:3"]
TOL = 1e-4            # per position: max |delta| <= TOL x the reference's range over the hidden dimension
MIN_FROM_FULL = 0.05  # a plan's output must differ from full's by at least this x range somewhere
N_SENT = 2
FORMAT = "layerlab-bert-plan-ref/1"


def f32_json(a):
    """Nested JSON lists of the shortest decimal that reads back as the same float32 (numpy's str)."""
    a = np.asarray(a, dtype=np.float32)
    assert np.isfinite(a).all()
    if a.ndim == 0:
        return str(a[()])
    return "[" + ",".join(f32_json(x) for x in a) + "]"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sentences(tsv, n):
    with open(tsv, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    assert rows[0][:2] == ["sentence", "label"], rows[0]
    return [r[0] for r in rows[1:1 + n]]


def layerlab_hidden(binary, model_dir, ids, spec):
    with tempfile.TemporaryDirectory() as td:
        out = os.path.join(td, "h.npy")
        subprocess.run([binary, "embed", model_dir, "--ids", " ".join(map(str, ids)), "--pool", "none",
                        "--plan", spec, "--out", out], check=True, capture_output=True, text=True)
        return np.load(out)


class BertPlanRunner:
    def __init__(self, model_dir):
        import torch
        from transformers import BertModel
        self.torch = torch
        self.model = BertModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager",
                                               add_pooling_layer=False)
        self.model.eval()
        self.enc = self.model.encoder
        self.orig = list(self.enc.layer)
        self.L = len(self.orig)
        assert self.L == self.model.config.num_hidden_layers
        self.ParallelMean = ref_plans.make_parallel_mean()

    def run(self, ids, order=None):
        torch = self.torch
        saved = self.enc.layer
        if order is not None:
            mods = [self.orig[e] if isinstance(e, int) else self.ParallelMean([self.orig[i] for i in e])
                    for e in order]
            self.enc.layer = torch.nn.ModuleList(mods)
        try:
            x = torch.tensor([ids], dtype=torch.long)
            with torch.no_grad():
                out = self.model(input_ids=x, attention_mask=torch.ones_like(x), token_type_ids=torch.zeros_like(x))
            return out.last_hidden_state[0].float().numpy()
        finally:
            self.enc.layer = saved


def versions():
    from importlib import metadata
    v = {"python": platform.python_version(), "numpy": np.__version__}
    for pkg in ("torch", "transformers"):
        v[pkg] = metadata.version(pkg)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, ".cache/models/all-MiniLM-L6-v2"))
    ap.add_argument("--tsv", default=os.path.join(os.path.dirname(ROOT), "shared/data/sst2_dev.tsv"))
    ap.add_argument("--layerlab", default=os.path.join(ROOT, "build/layerlab"))
    ap.add_argument("--out-dir")
    ap.add_argument("--plans", nargs="+", default=PLANS)
    a = ap.parse_args()
    import torch
    from transformers import AutoTokenizer
    torch.set_num_threads(1)

    t0 = time.time()
    sents = sentences(a.tsv, N_SENT)
    tok = AutoTokenizer.from_pretrained(a.model)
    ids = [tok(s)["input_ids"] for s in sents]
    for s, t in zip(sents, ids):
        assert t[0] == tok.cls_token_id and t[-1] == tok.sep_token_id, t
        # layerlab's own tokenizer agrees ([CLS] text; `tokenize` adds no [SEP])
        mine = [int(x) for x in subprocess.run([a.layerlab, "tokenize", a.model, "--text", s], check=True,
                                               capture_output=True, text=True).stdout.split()]
        assert mine == t[:-1], f"layerlab tokenize {mine} vs transformers {t}"
    runner = BertPlanRunner(a.model)
    L = runner.L
    plain = [runner.run(t) for t in ids]
    full = [runner.run(t, list(range(L))) for t in ids]
    for p, f in zip(plain, full):
        assert np.array_equal(p, f), "rebuilding encoder.layer in the identity order changed the output"
    print(f"transformers: {os.path.basename(a.model)}, {L} layers, sentences of {[len(t) for t in ids]} tokens, "
          f"{time.time() - t0:.1f} s", file=sys.stderr)

    if a.out_dir:
        os.makedirs(a.out_dir, exist_ok=True)
        sha = sha256(os.path.join(a.model, "model.safetensors"))
        vers = versions()
    failures, rows = [], []
    for spec in a.plans:
        order = ref_plans.layerlab_order(a.layerlab, spec, L)
        want = ref_plans.expected_order(spec, L)
        if order != want:
            failures.append(f"{spec}: layerlab's order {ref_plans.fmt_order(order)} != the paper's "
                            f"{ref_plans.fmt_order(want)}")
            continue
        refs = [runner.run(t, order) for t in ids]
        worst, from_full = 0.0, 0.0
        for t, r, f in zip(ids, refs, full):
            r64 = r.astype(np.float64)
            rng = r64.max(axis=1) - r64.min(axis=1)
            ours = layerlab_hidden(a.layerlab, a.model, t, spec).astype(np.float64)
            assert ours.shape == r.shape, f"{spec}: layerlab {ours.shape} vs {r.shape}"
            worst = max(worst, float((np.abs(ours - r64).max(axis=1) / rng).max()))
            from_full = max(from_full, float((np.abs(r64 - f).max(axis=1) / rng).max()))
        ok = worst <= TOL
        if not ok:
            failures.append(f"{spec}: max |d|/range {worst:.2e} > {TOL:g}")
        if spec != "full" and from_full < MIN_FROM_FULL:
            failures.append(f"{spec}: within {from_full:.2e} x range of full's output: the test is vacuous")
        rows.append((spec, ref_plans.fmt_order(order), worst, from_full, ok))
        if a.out_dir:
            path = os.path.join(a.out_dir, "minilm_" + spec.replace(":", "_") + ".json")
            head = {
                "format": FORMAT,
                "source": "transformers BertModel (safetensors, float32, eager attention), encoder.layer rebuilt "
                          "in the plan's order, parallel groups averaged (ref_plans.ParallelMean), via "
                          "scripts/ref_plans_bert.py; token_type_ids 0, attention mask ones",
                "model": os.path.basename(os.path.normpath(a.model)),
                "model_sha256": sha,
                "versions": vers,
                "plan": spec,
                "order": [list(e) if isinstance(e, tuple) else e for e in order],
                "tol": TOL,
                "from_full": from_full,
                "text": sents,
                "ids": ids,
            }
            body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
            hid = ",\n".join(f32_json(r) for r in refs)
            with open(path, "w") as fh:
                fh.write("{\n" + body + ',\n"hidden": [\n' + hid + "\n]\n}\n")
            back = json.load(open(path))["hidden"]
            for r, b in zip(refs, back):
                assert np.array_equal(np.asarray(b, dtype=np.float32), r), f"{path}: float32 round trip failed"

    print(f"{'plan':22} {'order':26} {'max|d|/range':>12}  {'vs full: max|d|/range':>21}")
    for spec, o, w, ff, ok in rows:
        print(f"{spec:22} {o:26} {w:12.2e}  {ff:21.3f}{'' if ok else '  FAIL'}")
    for f in failures:
        print(f"FAIL: {f}")
    print(f"{sum(r[-1] for r in rows)} plans agree within {TOL:g} x range, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
