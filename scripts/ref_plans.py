#!/usr/bin/env python3
"""ref_plans.py — an independent PyTorch/transformers reference for layer plans, and the stored references
that tests/test_plans_transformers.sh checks without PyTorch.

transformers loads the GGUF itself (dequantized to float32, eager attention). For each plan, the decoder's
`model.model.layers` is rebuilt as a ModuleList in the plan's order (the same module object may appear
several times), each parallel group replaced by ParallelMean (every member reads the same hidden states;
the output is the mean of the members' outputs, residual included), and the model runs with
use_cache=False (a shared cache would append a repeated layer's K/V to its first pass's). The order comes
from `layerlab plan --json`, and is asserted equal to one recomputed here from the "Transformer Layers as
Painters" rules (layers 0..s and L-s..L-1 always run; the middle is s+1..L-s-1; random is CPython's
random.seed(seed); random.shuffle(list(range(s+1, L-s)))), so layerlab's parser is not trusted either.

For each plan it prints max |Δlogit| / range against `layerlab logits --exact --plan P` (bound 1e-3 at
every position), top-1 agreement, and how far the plan's reference logits are from the full model's (so
the comparison is not vacuous). With --out-dir it stores one reference per plan in exactly the format of
`scripts/ref_transformers.py --out` (written by that script's own code) plus "plan": SPEC.

Usage: ref_plans.py [MODEL.gguf] [--ids-ref tests/ref/smollm2_q4_1_transformers.json]
                    [--layerlab build/layerlab] [--out-dir tests/ref/plans] [--plans P1 P2 ...]
"""
import argparse, contextlib, io, json, os, random, subprocess, sys, tempfile, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import ref_transformers as rt  # noqa: E402

PLANS = ["full", "skip:10", "reverse:8", "random:5:0", "middle_repeat:12", "repeat_block:12:2", "parallel:11",
         "looped_parallel:11:3"]
TOL = 1e-3            # --exact acceptance bound, × the logit range at each position
MIN_FROM_FULL = 0.05  # a plan's logits must differ from full's by at least this × range somewhere


def expected_order(spec, L):
    """The order from the paper's rules, computed here without layerlab. A group is a tuple."""
    name, *args = spec.split(":")
    args = [int(a) for a in args]
    if name == "full":
        return list(range(L))
    s = args[0]
    head, mid, tail = list(range(0, s + 1)), list(range(s + 1, L - s)), list(range(L - s, L))
    assert mid, f"{spec}: no middle layers for L = {L}"
    if name == "skip":
        body = []
    elif name == "reverse":
        body = mid[::-1]
    elif name == "random":
        random.seed(args[1])
        body = list(range(s + 1, L - s))
        random.shuffle(body)
    elif name == "middle_repeat":
        # the centre of s+1..L-s-1 is L/2 (exact when L is even: the middle then has an odd length)
        body = [L // 2] * len(mid)
    elif name == "repeat_block":
        body = mid * args[1]
    elif name == "parallel":
        body = [tuple(mid)]
    elif name == "looped_parallel":
        body = [tuple(mid)] * args[1]
    else:
        raise ValueError(f"no independent rule for plan '{spec}'")
    return head + body + tail


def layerlab_order(binary, spec, L):
    out = subprocess.run([binary, "plan", "--layers", str(L), "--plan", spec, "--json"], check=True,
                         capture_output=True, text=True).stdout
    j = json.loads(out)
    return [tuple(e) if isinstance(e, list) else e for e in j["order"]]


def make_parallel_mean():
    import torch

    class ParallelMean(torch.nn.Module):
        """A parallel group: each member gets the same hidden_states and arguments; returns the mean of the
        members' outputs (each already includes the residual, so this is h + mean_i Δ_i(h))."""

        def __init__(self, members):
            super().__init__()
            self.members = torch.nn.ModuleList(members)

        def forward(self, hidden_states, *args, **kwargs):
            outs = []
            for m in self.members:
                o = m(hidden_states, *args, **kwargs)
                # transformers 5.x decoder layers return the hidden-state tensor; 4.x returned a tuple
                outs.append(o[0] if isinstance(o, tuple) else o)
            return torch.stack(outs).mean(dim=0)

    return ParallelMean


def make_own_type():
    import torch

    class OwnType(torch.nn.Module):
        """Gemma 3: a decoder layer run with the RoPE of its own layer type (sliding or full attention), wherever
        the plan puts it. transformers picks a layer's position embeddings by its index in the layer list
        (config.layer_types[i]), which in a rebuilt list is the place, not the layer; layerlab keeps each
        layer's own, as the weights were trained with it. (Below the 512-token window the two masks agree.)"""

        def __init__(self, module, pe):
            super().__init__()
            self.module = module
            self.pe = pe

        def forward(self, hidden_states, *args, **kwargs):
            kwargs["position_embeddings"] = self.pe
            return self.module(hidden_states, *args, **kwargs)

    return OwnType


class PlanRunner:
    def __init__(self, model_path):
        import torch
        from transformers import AutoModelForCausalLM
        d, f = os.path.split(os.path.abspath(model_path))
        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32,
                                                          attn_implementation="eager")
        self.model.eval()
        self.inner = self.model.model
        self.orig = list(self.inner.layers)
        self.L = len(self.orig)
        assert self.L == self.inner.config.num_hidden_layers
        self.ParallelMean = make_parallel_mean()
        self.OwnType = make_own_type()
        self.types = getattr(self.inner.config, "layer_types", None)   # Gemma 3: per layer, sliding or full

    def run(self, ids, order=None):
        torch = self.torch
        cfg = self.inner.config
        saved = self.inner.layers
        saved_types = self.types
        if order is not None:
            layer = lambda i: self.orig[i]
            if self.types is not None:   # each layer with its own type's RoPE (OwnType)
                assert len(ids) <= cfg.sliding_window, "the window would mask local layers: not modelled here"
                pos = torch.arange(len(ids))[None]
                x = torch.zeros(1, len(ids), cfg.hidden_size)
                pe = {t: self.inner.rotary_emb(x, pos, t) for t in set(self.types)}
                layer = lambda i: self.OwnType(self.orig[i], pe[self.types[i]])
                flat = [e if isinstance(e, int) else e[0] for e in order]
                cfg.layer_types = [self.types[i] for i in flat]   # only sizes the list; OwnType sets the RoPE
            mods = [layer(e) if isinstance(e, int) else self.ParallelMean([layer(i) for i in e]) for e in order]
            self.inner.layers = torch.nn.ModuleList(mods)
            # LlamaModel.forward iterates self.layers[:config.num_hidden_layers]: without this a plan
            # longer than the model (repeat_block) would be cut silently
            cfg.num_hidden_layers = len(mods)
        try:
            with torch.no_grad():
                out = self.model(torch.tensor([ids], dtype=torch.long), use_cache=False)
            return out.logits[0].float().numpy()
        finally:
            self.inner.layers = saved
            cfg.num_hidden_layers = self.L
            if saved_types is not None:
                cfg.layer_types = saved_types


def store(model_path, ids, logits, spec, path, topk):
    """Writes the reference with ref_transformers.main()'s own code (handed these logits), then adds the plan."""
    saved_fn, saved_argv = rt.transformers_logits, sys.argv
    with tempfile.TemporaryDirectory() as td:
        idf = os.path.join(td, "ids.txt")
        with open(idf, "w") as f:
            f.write(" ".join(map(str, ids)))
        rt.transformers_logits = lambda _path, _ids: (logits, None)
        sys.argv = ["ref_transformers.py", model_path, "--ids-file", idf, "--out", path, "--topk", str(topk)]
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                rc = rt.main()
        finally:
            rt.transformers_logits, sys.argv = saved_fn, saved_argv
    assert rc == 0
    with open(path) as f:
        ref = json.load(f)
    ref["source"] = ("transformers (GGUF dequantized to float32, eager attention), decoder layers rebuilt in the "
                     "plan's order, parallel groups averaged, via scripts/ref_plans.py")
    ref["plan"] = spec
    with open(path, "w") as f:
        json.dump(ref, f)


def fmt_order(order):
    return ",".join(str(e) if isinstance(e, int) else "[" + ",".join(map(str, e)) + "]" for e in order)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--ids-ref", default=os.path.join(ROOT, "tests/ref/smollm2_q4_1_transformers.json"),
                    help="a stored reference whose 'ids' are the token ids to run")
    ap.add_argument("--layerlab", default=os.path.join(ROOT, "build/layerlab"))
    ap.add_argument("--out-dir")
    ap.add_argument("--plans", nargs="+", default=PLANS)
    ap.add_argument("--topk", type=int, default=10)
    a = ap.parse_args()
    ids = json.load(open(a.ids_ref))["ids"]

    t0 = time.time()
    runner = PlanRunner(a.model)
    L = runner.L
    plain = runner.run(ids)               # the model as loaded, layers untouched
    print(f"transformers: {os.path.basename(a.model)}, {L} layers, {len(ids)} tokens, loaded and run in "
          f"{time.time() - t0:.1f} s", file=sys.stderr)

    full = runner.run(ids, list(range(L)))
    assert np.array_equal(full, plain), "rebuilding the layer list in the identity order changed the logits"
    full64 = full.astype(np.float64)

    if a.out_dir:
        os.makedirs(a.out_dir, exist_ok=True)
    failures = []
    rows = []
    for spec in a.plans:
        order = layerlab_order(a.layerlab, spec, L)
        want = expected_order(spec, L)
        if order != want:
            failures.append(f"{spec}: layerlab's order {fmt_order(order)} != the paper's {fmt_order(want)}")
            print(f"FAIL {failures[-1]}", file=sys.stderr)
            continue
        ref = runner.run(ids, order)
        ref64 = ref.astype(np.float64)
        rng = ref64.max(axis=1) - ref64.min(axis=1)
        ours = rt.layerlab_logits(a.layerlab, a.model, ids, exact=True, extra=["--plan", spec]).astype(np.float64)
        assert ours.shape == ref.shape, f"{spec}: layerlab logits {ours.shape} vs {ref.shape}"
        ratio = np.abs(ours - ref64).max(axis=1) / rng
        top1 = float((ours.argmax(1) == ref64.argmax(1)).mean())
        from_full = np.abs(ref64 - full64).max(axis=1) / rng
        top1_full = float((ref64.argmax(1) == full64.argmax(1)).mean())
        ok = ratio.max() <= TOL
        if not ok:
            failures.append(f"{spec}: max |dlogit|/range {ratio.max():.2e} > {TOL:g} "
                            f"(first bad position {int(np.argmax(ratio > TOL))})")
        if spec != "full" and from_full.max() < MIN_FROM_FULL:
            failures.append(f"{spec}: logits within {from_full.max():.2e} x range of full's: the test is vacuous")
        rows.append((spec, len(order), sum(1 if isinstance(e, int) else len(e) for e in order),
                     ratio.max(), top1, from_full.max(), from_full.mean(), top1_full, ok))
        if a.out_dir:
            store(a.model, ids, ref, spec, os.path.join(a.out_dir, spec.replace(":", "_") + ".json"), a.topk)

    print(f"{'plan':22} {'entries':>7} {'passes':>6}  {'max|d|/range':>12} {'top-1':>7}   "
          f"{'vs full: max|d|/range':>21} {'mean':>6} {'top-1':>6}")
    for spec, ne, npass, r, t1, ff, ffm, t1f, ok in rows:
        print(f"{spec:22} {ne:7d} {npass:6d}  {r:12.2e} {t1:7.2%}   {ff:21.3f} {ffm:6.3f} {t1f:6.1%}"
              f"{'' if ok else '  FAIL'}")
    for f in failures:
        print(f"FAIL: {f}")
    print(f"{len(rows) - sum(1 for r in rows if not r[-1])} plans agree within {TOL:g} x range, "
          f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
