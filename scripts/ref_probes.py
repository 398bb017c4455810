#!/usr/bin/env python3
"""ref_probes.py — an independent PyTorch/transformers reference for `layerlab probe` on a llama GGUF
(SmolLM2-135M by default), the stored copy of it (tests/ref/probes/smollm2.json), and the comparison that
tests/test_probes_transformers.sh runs.

Two modes:
  live    (default; needs torch + transformers + accelerate + gguf) computes the reference as described below
          and compares `layerlab probe` with it; --save-ref FILE also writes every reference value compared
          (per layerlab invocation: its exact arguments, the prompts it reads, the reference arrays, and
          the data the data-dependent tolerances use), with the model's file name and sha256, the prompts,
          their token ids, the `layerlab plan` order and the torch / transformers / gguf versions.
  stored  (--from-ref FILE; numpy only, torch / transformers are never imported) checks the model's sha256
          and re-tokenizes the prompts with layerlab (token ids must equal the stored ones: a tokenizer
          change fails here, clearly, before anything else), then makes the same layerlab invocations and
          the same comparisons with the same tolerances against the stored values. A stored file that does
          not match this script (other prompts, invocations or quantities) fails with a request to
          regenerate it.

transformers loads the GGUF itself (dequantized to float32 by the gguf package, eager attention) and runs
each prompt on the token ids that `layerlab tokenize MODEL --text PROMPT` gives (so both sides see the same
ids; SmolLM2's rule adds no BOS). Everything is captured with forward hooks, in call order:
  * state 0 = the output of `embed_tokens`, state e = the output of the e-th decoder layer called (so the
    last state is the residual stream BEFORE the final norm: transformers' hidden_states[-1] is after it,
    and is not used);
  * attention weights A [H, T, T] = the second output of each `self_attn` (eager attention returns the
    softmax weights), checked equal to `output_attentions`' for the full model;
  * gate pre-activations g [T, n_ff] = the output of each `mlp.gate_proj` (W_gate · RMSNorm(h), no bias).
The measurements are then computed here in float64 with numpy from these tensors, following the
definitions below (which are docs/PROBES.md's), and compared with `layerlab probe KIND ... --json`.

A BERT encoder (MODEL a Hugging Face directory: all-MiniLM-L6-v2, tests/ref/probes/minilm.json, run by
tests/test_probes_bert.sh) is loaded as BertModel from the safetensors (float32, eager attention; live mode
needs torch + transformers only) and captured by BertReference: state 0 = the embeddings' output (after their
LayerNorm), state e = the e-th BertLayer's output (post-LayerNorm; no final norm, so state E is
last_hidden_state); A = each `attention.self`'s softmax over ALL T keys (bidirectional); the "gates" are each
`intermediate.dense` output (W_up x + b before GELU, the engine's MLP tap for bert) with ||w_k|| the rows of that
weight. The ids are still `layerlab tokenize`'s ([CLS] text, no [SEP]: what `layerlab probe` runs). Where the
definitions below say keys j <= i, an encoder's query has all T keys, and density = ID / (H T) at any query
position (checked for every attention-id variant on encoders).

Definitions (E = number of entries, states 0..E; all means in float64):
  cosine --reduce flat   per sample, each state flattened over positions x hidden; cos between every pair
                         of states; mean over samples
  cosine --reduce token  cos between the two states at each token, mean over ALL tokens of all samples
                         pooled
  cosine --reduce last   cos at the last token, mean over samples
  variance               per sample the population variance of the T x D values of each state, mean over
                         samples
  block_influence [E]    BI_e = 1 - pooled token mean of cos(state e-1, state e)
  angular_distance       (--span n) mean over samples of arccos(cos(state l, state l+n) at the last
                         token) / pi, l = 0..E-n
  attention_id [E]       for query i (default the last token), per layer and head the number of keys
                         j <= i with A[i,j] > tau, tau = eps * max_j A[i,j] (relative) or eps (absolute);
                         summed over heads; mean over samples (and query positions with --all-positions).
                         per_head [E][H]; density = ID / (H (i+1)); entropy = mean over heads of
                         -sum_j a ln a; max_weight = mean over heads of max_j a; eps_sweep
  mlp-regions features   per entry, over tokens t: pos_frac[t] = mean_k 1[g_tk > 0], closest[t] =
                         min_k |g_tk| / ||w_k||_2 (w_k = row k of W_gate as loaded); features = [mean,
                         min, max, std of pos_frac; min, mean, std of closest], std with ddof = 1; mean
                         over samples. hamming_consecutive [E]: mean over t of the number of gates whose
                         sign differs between token t and t+1, mean over samples.

Every comparison prints its tolerance and the reason for it; --record FILE writes the table of maximum
absolute / relative errors (Markdown) for docs/PROBES.md. Exit status 0 when everything agrees.

Usage: ref_probes.py [MODEL.gguf | MODEL_DIR] [--layerlab build/layerlab] [--record FILE] [--no-plan]
                     [--save-ref FILE | --reference-only [--save-ref FILE] | --from-ref FILE]
  regenerate the stored reference:  .venv/bin/python scripts/ref_probes.py --save-ref tests/ref/probes/smollm2.json
  MiniLM's (torch + transformers):  python scripts/ref_probes.py .cache/models/all-MiniLM-L6-v2 \
                                        --reference-only --save-ref tests/ref/probes/minilm.json
"""
import argparse, datetime, hashlib, json, math, os, platform, subprocess, sys, tempfile, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

# Four prompts of 10-40 tokens under SmolLM2's tokenizer; PROMPTS[1] is exactly 24 tokens (asserted).
PROMPTS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "In 1905, Albert Einstein published four papers that changed how physicists think about space, time and light.",
    "Photosynthesis converts light energy into chemical energy: plants take in carbon dioxide and water, "
    "release oxygen, and store the energy as sugars that feed almost every living thing on Earth.",
    "def add(a, b): return a + b  # sum of two numbers",
]
EXACT_LEN = (1, 24)           # (index, token count) that must hold (SmolLM2's tokenizer)
MIN_T, MAX_T = 5, 40

PLAN = "skip:10"              # the one non-trivial plan checked (cosine --reduce flat): skip:L//3, set in main
SWEEP = [0.02, 0.1, 0.3]      # --eps-sweep values
ABS_EPS = 0.05                # --threshold absolute --eps
QUERY_POS = 7                 # --position

# the stored reference (--save-ref / --from-ref)
REF_FORMAT = "layerlab-probes-ref/1"
REF_DIGITS = 10               # significant digits kept per float: 1e-10 relative, far below every tolerance
MODEL_ARG = "{model}"         # placeholders in the stored layerlab arguments
FILE_ARG = "{prompts_file}"   # the prompts, one per line, "\n" after each
TEXT_ARG = "{prompt}"


# ---------------------------------------------------------------------------------------------------------
# layerlab
# ---------------------------------------------------------------------------------------------------------
def run_ll(binary, args):
    p = subprocess.run([binary] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])}... failed ({p.returncode}): {p.stderr.strip()}\n"
                           f"command: {binary} {' '.join(args)}")
    return p.stdout


TOKENIZE_ARGS = ["tokenize", MODEL_ARG, "--text", TEXT_ARG]


def tokenize(binary, model, text):
    args = [model if x == MODEL_ARG else text if x == TEXT_ARG else x for x in TOKENIZE_ARGS]
    return [int(x) for x in run_ll(binary, args).split()]


def plan_args(spec, L):
    return ["plan", "--layers", str(L), "--plan", spec, "--json"]


def layerlab_order(binary, spec, L):
    j = json.loads(run_ll(binary, plan_args(spec, L)))
    return [tuple(e) if isinstance(e, list) else e for e in j["order"]]


def as_order(lst):
    return [tuple(e) if isinstance(e, list) else e for e in lst]


def is_hf_dir(path):
    """A Hugging Face directory (config.json + model.safetensors: the BERT encoders) rather than a GGUF file."""
    return os.path.isdir(path)


def sha256(path):
    if is_hf_dir(path):   # as layerlab's provenance: the weights file
        path = os.path.join(path, "model.safetensors")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# transformers, with hooks
# ---------------------------------------------------------------------------------------------------------
class Reference:
    def __init__(self, model_path, threads=1):
        import torch
        import transformers
        from transformers import AutoModelForCausalLM
        transformers.utils.logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.torch = torch
        d, f = os.path.split(os.path.abspath(model_path))
        self.model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32,
                                                          attn_implementation="eager")
        self.model.eval()
        self.inner = self.model.model
        self.layers = list(self.inner.layers)
        self.L = len(self.layers)
        cfg = self.inner.config
        self.H = cfg.num_attention_heads
        self.D = cfg.hidden_size
        self.F = cfg.intermediate_size
        # ||w_k||_2 of W_gate's rows, as loaded (dequantized fp32), in float64
        self.gate_norms = [np.linalg.norm(l.mlp.gate_proj.weight.detach().double().numpy(), axis=1)
                           for l in self.layers]
        assert self.gate_norms[0].shape == (self.F,)
        self._rec = None
        # Gemma 3: each layer runs with its own layer type's RoPE wherever the plan puts it (ref_plans.OwnType)
        self.types = getattr(cfg, "layer_types", None)
        if self.types is not None:
            import ref_plans
            self.OwnType = ref_plans.make_own_type()
        for l in self.layers:
            l.register_forward_hook(self._layer_hook)
            l.self_attn.register_forward_hook(self._attn_hook)
            l.mlp.gate_proj.register_forward_hook(self._gate_hook)
        self.inner.embed_tokens.register_forward_hook(self._embed_hook)

    @staticmethod
    def _first(o):
        return o[0] if isinstance(o, (tuple, list)) else o

    def _embed_hook(self, _m, _inp, out):
        if self._rec is not None:
            self._rec["states"].append(self._first(out)[0].detach().double().numpy())

    def _layer_hook(self, _m, _inp, out):
        if self._rec is not None:
            self._rec["states"].append(self._first(out)[0].detach().double().numpy())

    def _attn_hook(self, _m, _inp, out):
        if self._rec is not None:
            w = out[1] if isinstance(out, (tuple, list)) and len(out) > 1 else None
            assert w is not None, "self_attn returned no attention weights (is attn_implementation eager?)"
            self._rec["attn"].append(w[0].detach().double().numpy())

    def _gate_hook(self, _m, inp, out):
        if self._rec is not None:
            self._rec["gates"].append(self._first(out)[0].detach().double().numpy())
            # ||x_t||_2 of the gate's input x = RMSNorm(h) (sets the fp32 error scale of |g| / ||w||)
            self._rec["xnorm"].append(np.linalg.norm(inp[0][0].detach().double().numpy(), axis=-1))

    def run(self, ids, order=None, check_outputs=False):
        """Returns dict: states [E+1][T][D], attn [E][H][T][T], gates [E][T][F] (float64 copies of fp32),
        norms [E][F] (gate row norms of each entry's layer)."""
        torch = self.torch
        cfg = self.inner.config
        if order is None:
            order = list(range(self.L))
        assert all(isinstance(e, int) for e in order), "parallel groups are not supported by this reference"
        saved = self.inner.layers
        saved_types = self.types
        mods = [self.layers[e] for e in order]
        if self.types is not None:
            assert len(ids) <= cfg.sliding_window
            pos = torch.arange(len(ids))[None]
            x = torch.zeros(1, len(ids), cfg.hidden_size)
            pe = {t: self.inner.rotary_emb(x, pos, t) for t in set(self.types)}
            mods = [self.OwnType(self.layers[e], pe[self.types[e]]) for e in order]
            cfg.layer_types = [self.types[e] for e in order]
        self.inner.layers = torch.nn.ModuleList(mods)
        # LlamaModel.forward iterates self.layers[:config.num_hidden_layers]
        cfg.num_hidden_layers = len(order)
        self._rec = {"states": [], "attn": [], "gates": [], "xnorm": []}
        try:
            with torch.no_grad():
                out = self.model(torch.tensor([ids], dtype=torch.long), use_cache=False,
                                 output_hidden_states=check_outputs, output_attentions=check_outputs)
            rec = self._rec
        finally:
            self._rec = None
            self.inner.layers = saved
            cfg.num_hidden_layers = self.L
            if saved_types is not None:
                cfg.layer_types = saved_types
        E, T = len(order), len(ids)
        assert len(rec["states"]) == E + 1 and len(rec["attn"]) == E and len(rec["gates"]) == E, \
            f"hooks caught {len(rec['states'])} states, {len(rec['attn'])} attention, {len(rec['gates'])} gates"
        states = np.stack(rec["states"])
        attn = np.stack(rec["attn"])
        gates = np.stack(rec["gates"])
        assert states.shape == (E + 1, T, self.D) and attn.shape == (E, self.H, T, T) and gates.shape == (E, T, self.F)
        if check_outputs:
            # the hooks agree with transformers' own outputs: hidden_states[0..E-1] are states 0..E-1 (the
            # last one, hidden_states[E], is after the final norm and must NOT equal state E), attentions too
            hs = out.hidden_states
            assert len(hs) == E + 1
            for s in range(E):
                assert np.array_equal(hs[s][0].double().numpy(), states[s]), f"hidden_states[{s}] != hook"
            with torch.no_grad():
                normed = self.inner.norm(torch.from_numpy(states[E]).float()[None])[0].double().numpy()
            assert np.array_equal(hs[E][0].double().numpy(), normed), "hidden_states[-1] is not norm(state E)"
            assert not np.allclose(hs[E][0].double().numpy(), states[E]), "final norm is the identity?"
            for e in range(E):
                assert np.array_equal(out.attentions[e][0].double().numpy(), attn[e]), f"attentions[{e}] != hook"
        return {"states": states, "attn": attn, "gates": gates, "xnorm": np.stack(rec["xnorm"]),
                "norms": [self.gate_norms[e] for e in order]}


class BertReference:
    """The same captures for a BERT encoder (BertModel from a Hugging Face directory, float32, eager attention),
    run on the ids as given with token_type_ids 0 and an all-ones attention mask. BERT has no final norm (its
    layers are post-LayerNorm), so state E is transformers' last_hidden_state:
      * state 0 = the output of `embeddings` (after its LayerNorm), state e = the output of the e-th BertLayer
        called (after its output LayerNorm);
      * attention weights A [H, T, T] = the second output of each `attention.self` (eager: the softmax over
        ALL keys, bidirectional);
      * "gates" g [T, n_ff] = the output of each `intermediate.dense` (W_up x + b, the pre-activation before
        GELU; x = the attention block's LayerNorm output), norms = the rows of that weight."""

    def __init__(self, model_dir, threads=1):
        import torch
        import transformers
        from transformers import BertModel
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()   # the pooler's weights are "unexpected" without a pooler
        torch.set_num_threads(threads)
        self.torch = torch
        self.model = BertModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager",
                                               add_pooling_layer=False)
        self.model.eval()
        self.enc = self.model.encoder
        self.layers = list(self.enc.layer)
        self.L = len(self.layers)
        cfg = self.model.config
        assert cfg.model_type == "bert" and not cfg.is_decoder
        self.H, self.D, self.F = cfg.num_attention_heads, cfg.hidden_size, cfg.intermediate_size
        self.gate_norms = [np.linalg.norm(l.intermediate.dense.weight.detach().double().numpy(), axis=1)
                           for l in self.layers]
        assert self.gate_norms[0].shape == (self.F,)
        self._rec = None
        self.model.embeddings.register_forward_hook(self._state_hook)
        for l in self.layers:
            l.register_forward_hook(self._state_hook)
            l.attention.self.register_forward_hook(self._attn_hook)
            l.intermediate.dense.register_forward_hook(self._gate_hook)

    _first = staticmethod(Reference._first)
    _attn_hook = Reference._attn_hook
    _gate_hook = Reference._gate_hook

    def _state_hook(self, _m, _inp, out):
        if self._rec is not None:
            self._rec["states"].append(self._first(out)[0].detach().double().numpy())

    def run(self, ids, order=None, check_outputs=False):
        torch = self.torch
        if order is None:
            order = list(range(self.L))
        assert all(isinstance(e, int) for e in order), "parallel groups are not supported by this reference"
        saved = self.enc.layer
        # BertEncoder runs every module of the list (no num_hidden_layers cut)
        self.enc.layer = torch.nn.ModuleList([self.layers[e] for e in order])
        self._rec = {"states": [], "attn": [], "gates": [], "xnorm": []}
        x = torch.tensor([ids], dtype=torch.long)
        try:
            with torch.no_grad():
                out = self.model(input_ids=x, attention_mask=torch.ones_like(x), token_type_ids=torch.zeros_like(x),
                                 output_hidden_states=check_outputs, output_attentions=check_outputs)
            rec = self._rec
        finally:
            self._rec = None
            self.enc.layer = saved
        E, T = len(order), len(ids)
        assert len(rec["states"]) == E + 1 and len(rec["attn"]) == E and len(rec["gates"]) == E, \
            f"hooks caught {len(rec['states'])} states, {len(rec['attn'])} attention, {len(rec['gates'])} gates"
        states, attn, gates = np.stack(rec["states"]), np.stack(rec["attn"]), np.stack(rec["gates"])
        assert states.shape == (E + 1, T, self.D) and attn.shape == (E, self.H, T, T) and gates.shape == (E, T, self.F)
        assert np.array_equal(out.last_hidden_state[0].double().numpy(), states[E]), "last_hidden_state != state E"
        if check_outputs:
            # transformers' own outputs: hidden_states 0..E are states 0..E (no final norm), attentions too;
            # every softmax row over all T keys sums to 1 (bidirectional: no causal mask)
            hs = out.hidden_states
            assert len(hs) == E + 1, f"{len(hs)} hidden_states"
            for s in range(E + 1):
                assert np.array_equal(hs[s][0].double().numpy(), states[s]), f"hidden_states[{s}] != hook"
            for e in range(E):
                assert np.array_equal(out.attentions[e][0].double().numpy(), attn[e]), f"attentions[{e}] != hook"
            assert np.abs(attn.sum(-1) - 1).max() < 1e-5 and (attn[:, :, 0, 1:] > 0).all(), "not bidirectional?"
        return {"states": states, "attn": attn, "gates": gates, "xnorm": np.stack(rec["xnorm"]),
                "norms": [self.gate_norms[e] for e in order]}


# ---------------------------------------------------------------------------------------------------------
# the measurements (float64)
# ---------------------------------------------------------------------------------------------------------
def _unit_rows(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def ref_cosine(samples, reduce):
    mats, ntok = [], 0
    acc = None
    for s in samples:
        st = s["states"]                              # [S][T][D]
        if reduce == "flat":
            u = _unit_rows(st.reshape(st.shape[0], -1))
            mats.append(u @ u.T)
        elif reduce == "last":
            u = _unit_rows(st[:, -1, :])
            mats.append(u @ u.T)
        elif reduce == "token":
            u = _unit_rows(st)                         # [S][T][D]
            c = np.einsum("atd,btd->ab", u, u)         # sum over tokens of cos
            acc = c if acc is None else acc + c
            ntok += st.shape[1]
        else:
            raise ValueError(reduce)
    return acc / ntok if reduce == "token" else np.mean(mats, axis=0)


def ref_cosine_token_per_sample(samples):
    """The other possible reading of 'token' (mean over samples of per-sample token means), for diagnosis."""
    out = []
    for s in samples:
        u = _unit_rows(s["states"])
        out.append(np.einsum("atd,btd->ab", u, u) / u.shape[1])
    return np.mean(out, axis=0)


def ref_variance(samples):
    return np.mean([s["states"].reshape(s["states"].shape[0], -1).var(axis=1) for s in samples], axis=0)


def ref_block_influence(samples):
    c = ref_cosine(samples, "token")
    return np.array([1.0 - c[e - 1, e] for e in range(1, c.shape[0])])


def ref_angular(samples, n):
    out = []
    for s in samples:
        u = _unit_rows(s["states"][:, -1, :])
        S = u.shape[0]
        cos = np.array([u[l] @ u[l + n] for l in range(S - n)])
        out.append(np.arccos(np.clip(cos, -1.0, 1.0)) / math.pi)
    return np.mean(out, axis=0)


def attention_stats(A, i, eps_list, relative, causal=True):
    """A [E][H][T][T] float64; query row i over its keys (j <= i, or all T when not causal). Returns counts
    [n_eps][E][H], entropy [E][H], max [E][H]."""
    row = A[:, :, i, : i + 1] if causal else A[:, :, i, :]
    mx = row.max(axis=-1)                              # [E][H]
    counts = []
    for eps in eps_list:
        tau = eps * mx[..., None] if relative else eps
        counts.append((row > tau).sum(axis=-1).astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(row > 0, row * np.log(np.where(row > 0, row, 1.0)), 0.0).sum(axis=-1)
    return np.array(counts), ent, mx


def ref_attention(samples, eps_list, relative=True, position=None, all_positions=False, pooled=False, causal=True):
    """Returns dict of attention_id [E], per_head [E][H], density [E], entropy [E], max_weight [E],
    sweep [n_eps][E]. With all_positions, pooled=False averages over positions within a sample, then over
    samples; pooled=True averages over every (sample, position) pair at once. causal False (an encoder): a
    query's keys are all T positions, and density = ID / (H T), the fraction of the keys it attends to."""
    per_sample, H = [], samples[0]["attn"].shape[1]
    for s in samples:
        A = s["attn"]
        T = A.shape[-1]
        qs = list(range(T)) if all_positions else [T - 1 if position is None else position]
        rows = []
        for i in qs:
            cnt, ent, mx = attention_stats(A, i, eps_list, relative, causal)
            nkeys = i + 1 if causal else T
            rows.append({"per_head": cnt[0], "sweep": cnt.sum(axis=-1), "density": cnt[0].sum(-1) / (H * nkeys),
                         "entropy": ent.mean(-1), "max_weight": mx.mean(-1)})
        per_sample.append(rows)
    keys = ["per_head", "sweep", "density", "entropy", "max_weight"]
    if pooled:
        flat = [r for rows in per_sample for r in rows]
        res = {k: np.mean([r[k] for r in flat], axis=0) for k in keys}
    else:
        res = {k: np.mean([np.mean([r[k] for r in rows], axis=0) for rows in per_sample], axis=0) for k in keys}
    res["attention_id"] = res["per_head"].sum(-1)
    return res


def ref_mlp(samples):
    feats, hams = [], []
    for s in samples:
        g = s["gates"]                                 # [E][T][F]
        E = g.shape[0]
        f = np.zeros((E, 7))
        ham = np.zeros(E)
        for e in range(E):
            pos = g[e] > 0
            pf = pos.mean(axis=1)
            cl = (np.abs(g[e]) / s["norms"][e][None, :]).min(axis=1)
            f[e] = [pf.mean(), pf.min(), pf.max(), pf.std(ddof=1), cl.min(), cl.mean(), cl.std(ddof=1)]
            ham[e] = (pos[1:] != pos[:-1]).sum(axis=1).mean()
        feats.append(f)
        hams.append(ham)
    return np.mean(feats, axis=0), np.mean(hams, axis=0)


# ---------------------------------------------------------------------------------------------------------
# comparison bookkeeping
# ---------------------------------------------------------------------------------------------------------
class Checks:
    def __init__(self):
        self.rows = {}          # quantity -> dict(n, max_abs, max_rel, tol, why, fails)
        self.failures = []
        self.other = 0          # failures outside the table: echoed options, shapes

    def add(self, quantity, ref, ours, *, abs_tol=None, rel_tol=None, floor=0.0, why=""):
        """Passes where |ours - ref| <= abs_tol (absolute), or <= max(rel_tol * |ref|, floor) (relative).
        ours None (--reference-only: layerlab not run) checks nothing."""
        if ours is None:
            return
        ref = np.asarray(ref, dtype=np.float64)
        ours = np.asarray(ours, dtype=np.float64)
        if ref.shape != ours.shape:
            self.failures.append(f"{quantity}: shape {ours.shape} from layerlab, {ref.shape} from the reference")
            self.other += 1
            print(f"FAIL {self.failures[-1]}")
            return
        d = np.abs(ours - ref)
        rel = d / np.maximum(np.abs(ref), 1e-300)
        if abs_tol is not None:
            bound = np.full(ref.shape, abs_tol)
            tol_s = f"abs {abs_tol:g}"
        else:
            bound = np.maximum(rel_tol * np.abs(ref), floor)
            fl = float(np.max(floor))
            tol_s = f"rel {rel_tol:g}" + ((f", floor {fl:.2g}" if np.isscalar(floor) else f", floor <= {fl:.2g}")
                                          if fl else "")
        bad = ~(d <= bound)                            # NaN fails
        r = self.rows.setdefault(quantity, {"n": 0, "max_abs": 0.0, "max_rel": 0.0, "tol": tol_s, "why": why,
                                            "fails": 0})
        r["n"] += d.size
        r["max_abs"] = max(r["max_abs"], float(np.nanmax(d)) if d.size else 0.0)
        r["max_rel"] = max(r["max_rel"], float(np.nanmax(rel)) if d.size else 0.0)
        nb = int(bad.sum())
        r["fails"] += nb
        if nb:
            idx = tuple(int(x) for x in np.argwhere(bad)[0])
            self.failures.append(f"{quantity}: {nb} of {d.size} values out of tolerance ({tol_s}); first at "
                                 f"{idx}: layerlab {ours[idx]!r}, reference {ref[idx]!r}")
            print(f"FAIL {self.failures[-1]}")

    def table(self):
        lines = ["| quantity | values | max abs. error | max rel. error | tolerance | why |",
                 "|---|---:|---:|---:|---|---|"]
        for q, r in self.rows.items():
            lines.append(f"| {q} | {r['n']} | {r['max_abs']:.2e} | {r['max_rel']:.2e} | {r['tol']} | {r['why']} |"
                         + ("" if not r["fails"] else f" **{r['fails']} FAIL** |"))
        return "\n".join(lines)


def echo(checks, j, kind, want):
    """The JSON echoes its options and sizes: each key must be present and equal (j None: nothing run)."""
    if j is None:
        return
    for k, v in want.items():
        got = j.get(k, "<missing>")
        ok = (abs(got - v) <= 1e-12) if isinstance(v, float) and isinstance(got, (int, float)) else got == v
        if not ok:
            checks.failures.append(f"{kind}: echoed '{k}' is {got!r}, expected {v!r}")
            checks.other += 1
            print(f"FAIL {checks.failures[-1]}")
    if "provenance" not in j:
        checks.failures.append(f"{kind}: no 'provenance'")
        checks.other += 1
        print(f"FAIL {checks.failures[-1]}")


def need(j, key, kind):
    if j is None:
        return None
    if key not in j:
        raise KeyError(f"`probe {kind}` JSON has no key '{key}' (keys: {sorted(j)})")
    return j[key]


# Tolerances, each with its reason (the table repeats them).
TOL_COS = 1e-4     # cosines are O(1); the two fp32 forwards differ by ~1e-6 relative per state, so a cosine
                   # moves by ~1e-6: 1e-4 leaves two orders of margin and still catches a wrong reduction
                   # (flat vs token vs per-sample means differ by >1e-3 on these prompts)
TOL_VAR = 1e-4     # relative: the variance is a mean of squares of fp32 values (error ~1e-6 relative)
TOL_BI = 1e-4      # BI = 1 - cos, absolute: same error as the token cosine
TOL_ANG = 1e-4     # arccos(c)/pi: d/dc arccos = -1/sqrt(1-c^2); the nearest states here are >= 0.05 apart
                   # (c ~ 0.986), so a 1e-6 error in c moves the angle by < 2e-6 (measured 5e-8)
TOL_ID = 1.0       # attention-ID counts: a weight within fp32 rounding of tau can fall on either side;
                   # one such flip per layer and sample is allowed (integer counts, so +-1)
TOL_ATTN = 1e-5    # entropy / max weight: softmax outputs are fp32 (~1e-7 relative), entropy sums T of them
TOL_MLP = 1e-3     # MLP features relative; floors below
# a gate whose pre-activation is within fp32 rounding of 0 can change sign: one flip moves pos_frac[t] by
# 1/n_ff, so the pos_frac features (mean/min/max/std) get an absolute floor of 1/n_ff (one flip)
# closest[t] = min_k |g_tk| / ||w_k||, the distance to the nearest of n_ff hyperplanes, is ~1e-4 (mean) and
# its minimum over tokens ~1e-6, which is near zero against its own error: |d(|g_k|/||w_k||)| = |w_k.dx| /
# ||w_k|| <= ||dx_t|| (Cauchy-Schwarz), dx = the difference between the two fp32 forwards' gate inputs
# x = RMSNorm(h), and the minimum picks one gate, so its error is at most the largest over all gates. That
# largest one was measured at 13 eps ||x_t|| (eps = 2^-24; layerlab's --dump gates against this reference on
# these prompts, no sign flips, gate row norms bit-identical), so closest_min gets the absolute floor
# CLOSEST_FLOOR_EPS eps max_t ||x_t|| (max over samples too) per entry (its measured error: <= 1.2 eps ||x||,
# 4e-2 relative). closest_mean / closest_std are averages at their natural ~1e-4 scale: plain 1e-3 relative
# (measured <= 4e-4).
CLOSEST_FLOOR_EPS = 16
# hamming: a sign flip at token t changes two consecutive differences by 1 each: floor 2/(T-1) per sample,
# i.e. one flip among all gates of a sample



# ---------------------------------------------------------------------------------------------------------
# the reference values: computed here (live, and kept for --save-ref), or read back (--from-ref)
# ---------------------------------------------------------------------------------------------------------
class StaleReference(Exception):
    """The stored reference does not hold what this script compares."""


def memo(fn):
    """fn(), evaluated once on first use (never, in stored mode)."""
    box = []

    def get():
        if not box:
            box.append(fn())
        return box[0]
    return get


class _Invoker:
    """Runs `layerlab probe` from arguments in which MODEL_ARG / FILE_ARG stand for the model and the prompts
    file; `run` False (--reference-only) runs nothing and returns None."""

    def __init__(self, binary, model, prompts_file, run=True):
        self.binary, self.model, self.file, self.run = binary, model, prompts_file, run
        self.cur = None

    @staticmethod
    def args(kind, extra):
        return ["probe", kind, MODEL_ARG, "--json"] + [str(x) for x in extra]

    def run_probe(self, args):
        if not self.run:
            return None
        real = [self.model if x == MODEL_ARG else self.file if x == FILE_ARG else x for x in args]
        return json.loads(run_ll(self.binary, real))


class LiveRef(_Invoker):
    """ref(name, fn) = fn(), computed from the transformers captures and recorded under the current
    invocation (for --save-ref)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.invocations = []

    def probe(self, kind, extra, which):
        """`layerlab probe KIND MODEL --json EXTRA` reading the prompts `which` (indices into PROMPTS)."""
        self.cur = {"args": self.args(kind, extra), "samples": list(which), "ref": {}}
        self.invocations.append(self.cur)
        return self.run_probe(self.cur["args"])

    def ref(self, name, fn):
        v = np.asarray(fn(), dtype=np.float64)
        self.cur["ref"][name] = v
        return v

    def finish(self, partial=False):
        pass


class StoredRef(_Invoker):
    """ref(name, fn) = the stored value (fn is not called); each invocation must be the stored one, in order."""

    def __init__(self, stored, *args, **kw):
        super().__init__(*args, **kw)
        self.invocations = stored["invocations"]
        self.n = 0

    def probe(self, kind, extra, which):
        args, k = self.args(kind, extra), self.n
        self.n += 1
        if k >= len(self.invocations):
            raise StaleReference(f"it holds {len(self.invocations)} layerlab invocations, this script makes more "
                                 f"(the next: `{' '.join(args)}`)")
        inv = self.invocations[k]
        if inv["args"] != args or inv["samples"] != list(which):
            raise StaleReference(f"invocation {k} is `{' '.join(inv['args'])}` on prompts {inv['samples']} there, "
                                 f"`{' '.join(args)}` on prompts {list(which)} here")
        self.cur = inv
        return self.run_probe(args)

    def ref(self, name, fn):
        if name not in self.cur["ref"]:
            raise StaleReference(f"`{' '.join(self.cur['args'])}` has no stored '{name}' "
                                 f"(it has: {', '.join(self.cur['ref'])})")
        return np.asarray(self.cur["ref"][name], dtype=np.float64)

    def finish(self, partial=False):
        if not partial and self.n != len(self.invocations):
            raise StaleReference(f"it holds {len(self.invocations)} layerlab invocations, this script made {self.n}")


def rounded(v):
    """JSON-ready copy: arrays as nested lists, floats to REF_DIGITS significant digits, integral floats as
    ints."""
    if isinstance(v, dict):
        return {k: rounded(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return rounded(v.tolist())
    if isinstance(v, (list, tuple)):
        return [rounded(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"non-finite reference value {f}")
        if f.is_integer() and abs(f) < 2.0 ** 53:
            return int(f)
        return float(f"{f:.{REF_DIGITS}g}")
    return v


def versions():
    from importlib import metadata
    v = {"python": platform.python_version(), "numpy": np.__version__}
    for pkg in ("torch", "transformers", "accelerate", "gguf"):
        try:
            v[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            v[pkg] = None
    return v


def save_ref(path, model, cfg, ids, order, invocations):
    doc = {
        "format": REF_FORMAT,
        "source": "scripts/ref_probes.py --save-ref: transformers (" +
                  ("BertModel from the safetensors directory, float32" if is_hf_dir(model) else
                   "GGUF dequantized to float32 by gguf") +
                  ", eager attention), forward hooks, the measurements in float64 with numpy",
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "model": os.path.basename(os.path.normpath(model)),
        "model_sha256": sha256(model),
        "config": cfg,
        "digits": REF_DIGITS,
        "notes": {MODEL_ARG: "the model file", FILE_ARG: "a file with the prompts, each followed by a newline",
                  TEXT_ARG: "one prompt",
                  "samples": "the prompts an invocation reads: indices into prompts / ids",
                  "ref": "the reference values compared with the layerlab JSON of that invocation, and the "
                         "data its data-dependent tolerances use (gate_input_norm_max); the tolerances are "
                         "the script's"},
        "prompts": PROMPTS,
        "tokenize_args": TOKENIZE_ARGS,
        "ids": ids,
        "plan": None if order is None else {"spec": PLAN, "args": plan_args(PLAN, cfg["layers"]),
                                            "order": [list(e) if isinstance(e, tuple) else e for e in order]},
    }
    lines = [f"{json.dumps(k)}: {json.dumps(rounded(v))}" for k, v in doc.items()]
    invs = ",\n".join(json.dumps(rounded(inv), separators=(",", ":")) for inv in invocations)
    lines.append(f'"invocations": [\n{invs}\n]')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"stored reference: {path} ({len(invocations)} invocations, {os.path.getsize(path)} bytes)")


def stale(path, why):
    print(f"FAIL: the stored reference {path} does not match this script: {why}.\n"
          f"      Regenerate it (needs torch): scripts/ref_probes.py --save-ref {path}")
    return 1


# ---------------------------------------------------------------------------------------------------------
# the comparisons
# ---------------------------------------------------------------------------------------------------------
def compare(R, checks, cfg, prompts, ids, order, samples=None, psamples=None):
    """Every layerlab invocation and its comparisons. R.probe runs layerlab (its arguments, in the same
    order, are what a stored reference holds); R.ref(name, fn) is the reference value: fn() in live mode,
    computed from the transformers captures `samples` (and `psamples` under the plan `order`), the stored
    value in stored mode (samples None, fn never called)."""
    E, H, F = cfg["layers"], cfg["heads"], cfg["n_ff"]
    causal = cfg.get("causal", True)   # False: an encoder (BERT), every query attends to all T keys
    S = E + 1
    ff = FILE_ARG
    every = list(range(len(prompts)))
    Ts = [len(t) for t in ids]
    sizes = {"plan": "full", "entries": E, "n_samples": len(prompts), "n_tokens": sum(Ts)}
    # --- cosine / variance -------------------------------------------------------------------------------
    want = {}
    for reduce in ["flat", "token", "last"]:
        j = R.probe("cosine", ["--file", ff, "--reduce", reduce], every)
        if reduce == "flat" and j is not None:
            print("layerlab probe cosine keys: " + ", ".join(j))
        echo(checks, j, f"cosine --reduce {reduce}", {**sizes, "reduce": reduce})
        cos = need(j, "cosine", "cosine")
        want[reduce] = R.ref("cosine", lambda: ref_cosine(samples, reduce))
        if reduce == "token":
            # the other possible reading of 'token' (mean over samples of per-sample token means), for diagnosis
            want["token per sample"] = R.ref("cosine_per_sample_means", lambda: ref_cosine_token_per_sample(samples))
            if cos is not None:
                d_pool = np.abs(np.asarray(cos) - want["token"]).max()
                d_alt = np.abs(np.asarray(cos) - want["token per sample"]).max()
                print(f"  cosine token: |d| vs pooled {d_pool:.2e}, vs per-sample means {d_alt:.2e} "
                      f"(the two readings differ by {np.abs(want['token per sample'] - want['token']).max():.2e})")
        checks.add(f"cosine {reduce} [{S}x{S}]", want[reduce], cos, abs_tol=TOL_COS, why="abs; fp32 states, ~1e-6")
        checks.add("variance [E+1]", R.ref("variance", lambda: ref_variance(samples)), need(j, "variance", "cosine"),
                   rel_tol=TOL_VAR, why="rel; mean of squares of fp32 values")
    # a wrong reduction must be visible: the readings differ well beyond the tolerance
    gaps = {"flat-token": np.abs(want["flat"] - want["token"]).max(),
            "token-last": np.abs(want["token"] - want["last"]).max(),
            "token pooled-per sample": np.abs(want["token"] - want["token per sample"]).max()}
    print(f"reference: gaps between readings (must exceed the {TOL_COS:g} tolerance to be told apart): " +
          ", ".join(f"{k} {v:.2e}" for k, v in gaps.items()))
    # --- block influence / angular distance ----------------------------------------------------------------
    j = R.probe("block-influence", ["--file", ff], every)
    if j is not None:
        print("layerlab probe block-influence keys: " + ", ".join(j))
    echo(checks, j, "block-influence", sizes)
    bi = R.ref("block_influence", lambda: ref_block_influence(samples))
    print(f"reference: block influence min {bi.min():.4f} (entry {bi.argmin() + 1}) max {bi.max():.4f} "
          f"(entry {bi.argmax() + 1})")
    checks.add(f"block_influence [{E}]", bi, need(j, "block_influence", "block-influence"),
               abs_tol=TOL_BI, why="abs; 1 - token cosine")
    for span in (1, 4):
        j = R.probe("block-influence", ["--file", ff, "--span", span], every)
        echo(checks, j, f"block-influence --span {span}", {**sizes, "span": span})
        checks.add("angular_distance --span 1,4 [E+1-n]", R.ref("angular_distance", lambda: ref_angular(samples, span)),
                   need(j, "angular_distance", "block-influence --span"), abs_tol=TOL_ANG,
                   why="abs; arccos of a last-token cosine / pi")
    # --- attention ID: one sample at a time (counts compared before averaging) ----------------------------
    for k, (text, t_ids) in enumerate(zip(prompts, ids)):
        j = R.probe("attention-id", ["--text", text, "--eps-sweep", ",".join(map(str, SWEEP))], [k])
        if k == 0 and j is not None:
            print("layerlab probe attention-id keys: " + ", ".join(j))
        echo(checks, j, f"attention-id --text (sample {k})",
             {**sizes, "n_samples": 1, "n_tokens": len(t_ids), "eps": 0.1, "threshold": "relative", "position": "last"})
        r = memo(lambda: ref_attention([samples[k]], [0.1] + SWEEP, causal=causal))
        checks.add("attention_id per sample [E]", R.ref("attention_id", lambda: r()["attention_id"]),
                   need(j, "attention_id", "attention-id"), abs_tol=TOL_ID,
                   why="+-1 count: a weight within rounding of tau")
        checks.add("per_head per sample [E][H]", R.ref("per_head", lambda: r()["per_head"]),
                   need(j, "per_head", "attention-id"), abs_tol=TOL_ID, why="+-1 count")
        sw = need(j, "eps_sweep", "attention-id --eps-sweep")
        checks.add("eps_sweep eps", SWEEP, need(sw, "eps", "attention-id eps_sweep"), abs_tol=0.0, why="echo")
        checks.add("eps_sweep attention_id per sample", R.ref("eps_sweep_attention_id", lambda: r()["sweep"][1:]),
                   need(sw, "attention_id", "eps_sweep"), abs_tol=TOL_ID, why="+-1 count")
        checks.add("density per sample [E]", R.ref("density", lambda: r()["density"]), need(j, "density", "attention-id"),
                   abs_tol=TOL_ID / (H * len(t_ids)), why="one count / (H (i+1))")
        checks.add("entropy [E]", R.ref("entropy", lambda: r()["entropy"]), need(j, "entropy", "attention-id"),
                   abs_tol=TOL_ATTN, why="abs; fp32 softmax weights")
        checks.add("max_weight [E]", R.ref("max_weight", lambda: r()["max_weight"]), need(j, "max_weight", "attention-id"),
                   abs_tol=TOL_ATTN, why="abs; fp32 softmax weights")
    # --- attention ID on the file: means over samples, and the other options --------------------------------
    variants = [("default", [], dict(), {}),
                (f"--threshold absolute --eps {ABS_EPS}", ["--threshold", "absolute", "--eps", str(ABS_EPS)],
                 dict(eps_list=[ABS_EPS], relative=False), {"eps": ABS_EPS, "threshold": "absolute"}),
                (f"--position {QUERY_POS}", ["--position", str(QUERY_POS)], dict(position=QUERY_POS),
                 {"position": QUERY_POS}),
                ("--all-positions", ["--all-positions"], dict(all_positions=True), {"position": "all"})]
    for name, args, kw, want_echo in variants:
        j = R.probe("attention-id", ["--file", ff] + args, every)
        echo(checks, j, f"attention-id {name}",
             {**sizes, "eps": 0.1, "threshold": "relative", "position": "last", **want_echo})
        kw.setdefault("eps_list", [0.1])
        r = memo(lambda: ref_attention(samples, causal=causal, **kw))
        aid = R.ref("attention_id", lambda: r()["attention_id"])
        ours = need(j, "attention_id", "attention-id")
        if name == "default":
            print(f"reference: attention ID (eps 0.1, last token) {np.round(aid, 2).tolist()}")
        if kw.get("all_positions"):
            # the other reading: one mean over every (sample, position) pair, for diagnosis
            pooled = R.ref("attention_id_pooled_positions",
                           lambda: ref_attention(samples, pooled=True, causal=causal, **kw)["attention_id"])
            if ours is not None:
                print(f"  attention-id --all-positions: |d| vs per-sample means {np.abs(np.asarray(ours) - aid).max():.3f}, "
                      f"vs pooled (sample, position) mean {np.abs(np.asarray(ours) - pooled).max():.3f}")
        checks.add(f"attention_id mean, {name} [E]", aid, ours, abs_tol=TOL_ID,
                   why="+-1 count (mean of counts each within +-1)")
        checks.add(f"entropy mean, {name} [E]", R.ref("entropy", lambda: r()["entropy"]),
                   need(j, "entropy", "attention-id"), abs_tol=TOL_ATTN, why="abs; fp32 softmax weights")
        checks.add(f"max_weight mean, {name} [E]", R.ref("max_weight", lambda: r()["max_weight"]),
                   need(j, "max_weight", "attention-id"), abs_tol=TOL_ATTN, why="abs; fp32 softmax weights")
        if not causal:
            # an encoder's query attends to all T keys wherever it is, so density = ID / (H T) at every
            # position (the decoders' stored references hold no density for these variants)
            checks.add(f"density mean, {name} [E]", R.ref("density", lambda: r()["density"]),
                       need(j, "density", "attention-id"), abs_tol=TOL_ID / (H * max(Ts)),
                       why="one count / (H T)")
    # --- MLP regions -----------------------------------------------------------------------------------------
    j = R.probe("mlp-regions", ["--file", ff], every)
    if j is not None:
        print("layerlab probe mlp-regions keys: " + ", ".join(j))
    echo(checks, j, "mlp-regions", {**sizes, "feature_names": ["pos_frac_mean", "pos_frac_min", "pos_frac_max",
                                     "pos_frac_std", "closest_min", "closest_mean", "closest_std"]})
    m = memo(lambda: ref_mlp(samples))
    feats = R.ref("features", lambda: m()[0])
    ham = R.ref("hamming_consecutive", lambda: m()[1])
    # max over samples and tokens of ||x_t||, x = the gate's input: sets closest_min's floor
    xmax = R.ref("gate_input_norm_max", lambda: np.max([s["xnorm"].max(axis=1) for s in samples], axis=0))
    print(f"reference: pos_frac mean by entry {np.round(feats[:, 0], 3).tolist()}")
    ours = need(j, "features", "mlp-regions")
    ours = None if ours is None else np.asarray(ours, dtype=np.float64)
    names = ["pos_frac mean", "pos_frac min", "pos_frac max", "pos_frac std", "closest min", "closest mean",
             "closest std"]
    if ours is not None and ours.shape != feats.shape:
        checks.add("mlp features", feats, ours, rel_tol=TOL_MLP)
    else:
        for c, nm in enumerate(names):
            if c < 4:
                floor, why = 1.0 / F, "rel; floor 1/n_ff = one gate changing sign"
            elif nm == "closest min":
                floor = CLOSEST_FLOOR_EPS * 2.0 ** -24 * xmax
                why = (f"rel; floor {CLOSEST_FLOOR_EPS} eps max_t norm(x_t): bounds the error of any abs(g)/norm(w), "
                       f"measured <= 13 eps norm(x)")
            else:
                floor, why = 0.0, "rel; an average at its natural scale"
            checks.add(f"mlp {nm} [E]", feats[:, c], None if ours is None else ours[:, c], rel_tol=TOL_MLP,
                       floor=floor, why=why)
    checks.add("hamming_consecutive [E]", ham, need(j, "hamming_consecutive", "mlp-regions"), rel_tol=TOL_MLP,
               floor=max(2.0 / (t - 1) for t in Ts) / len(Ts), why="rel; floor = one gate flip in one sample")
    # --- one plan --------------------------------------------------------------------------------------------
    if order is not None:
        j = R.probe("cosine", ["--file", ff, "--reduce", "flat", "--plan", PLAN], every)
        echo(checks, j, f"cosine --plan {PLAN}", {**sizes, "plan": PLAN, "entries": len(order), "reduce": "flat"})
        want = R.ref("cosine", lambda: ref_cosine(psamples, "flat"))
        checks.add(f"cosine flat --plan {PLAN} [{want.shape[0]}x{want.shape[0]}]", want, need(j, "cosine", "cosine"),
                   abs_tol=TOL_COS, why="abs; as cosine flat")
        checks.add(f"variance --plan {PLAN}", R.ref("variance", lambda: ref_variance(psamples)),
                   need(j, "variance", "cosine"), rel_tol=TOL_VAR, why="rel; as variance")


def main():
    global PLAN
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--layerlab", default=os.path.join(ROOT, "build/layerlab"))
    ap.add_argument("--record", help="write the comparison table (Markdown) to FILE")
    ap.add_argument("--save-ref", metavar="FILE", help="live mode: also store the reference values in FILE (JSON)")
    ap.add_argument("--from-ref", metavar="FILE",
                    help="stored mode: compare with the reference stored in FILE (numpy only, no torch)")
    ap.add_argument("--reference-only", action="store_true",
                    help="live mode: compute (and with --save-ref store) the reference without running "
                         "`layerlab probe`")
    ap.add_argument("--no-plan", action="store_true", help=f"skip the --plan {PLAN} check")
    # torch's OpenMP threads spin: on a busy 2-core machine 2 threads were 12x slower than 1 for these small
    # matrices, so the reference runs single-threaded by default
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    a = ap.parse_args()
    if a.from_ref and (a.save_ref or a.reference_only):
        ap.error("--from-ref reads a stored reference: it does not go with --save-ref / --reference-only")
    t0 = time.time()

    stored = None
    if a.from_ref:
        with open(a.from_ref) as f:
            stored = json.load(f)
        if stored.get("format") != REF_FORMAT:
            return stale(a.from_ref, f"its format is {stored.get('format')!r}, this script reads {REF_FORMAT!r}")
        digest = sha256(a.model)
        if digest != stored["model_sha256"]:
            print(f"FAIL: {a.model} has sha256 {digest}, but {a.from_ref} was computed from {stored['model']} "
                  f"with sha256 {stored['model_sha256']}: not the same model file, nothing compared. Use that "
                  f"file (scripts/setup.sh downloads it) or regenerate the reference with --save-ref (needs torch).")
            return 1
        v = stored["versions"]
        print(f"stored reference {a.from_ref}: {stored['model']} (sha256 matches), made {stored['created']} with "
              + ", ".join(f"{k} {v[k]}" for k in ("torch", "transformers", "gguf", "numpy")))
        if stored["prompts"] != PROMPTS:
            return stale(a.from_ref, "its prompts are not this script's PROMPTS")
        if stored["tokenize_args"] != TOKENIZE_ARGS:
            return stale(a.from_ref, f"its tokenize arguments are {stored['tokenize_args']}, this script's {TOKENIZE_ARGS}")

    ids = [tokenize(a.layerlab, a.model, p) for p in PROMPTS]
    if stored is not None:
        bad = 0
        for k, (mine, theirs) in enumerate(zip(ids, stored["ids"])):
            if mine != theirs:
                bad += 1
                at = next((i for i, (x, y) in enumerate(zip(mine, theirs)) if x != y), min(len(mine), len(theirs)))
                print(f"FAIL: prompt {k} {PROMPTS[k]!r}: `layerlab tokenize` gives {len(mine)} ids, the stored "
                      f"reference {len(theirs)}; first difference at position {at}: {mine[at:at + 5]} vs "
                      f"{theirs[at:at + 5]}")
        if bad or len(ids) != len(stored["ids"]):
            print(f"FAIL: layerlab's tokenizer no longer gives the stored token ids ({bad} of {len(PROMPTS)} prompts "
                  f"differ): a tokenizer regression, nothing else compared (if the change is intended, regenerate "
                  f"the reference with --save-ref, which needs torch)")
            return 1
        print(f"token ids: the stored ones ({[len(t) for t in ids]} tokens)")
    for p, t in zip(PROMPTS, ids):
        assert MIN_T <= len(t) <= MAX_T, f"prompt of {len(t)} tokens (want {MIN_T}..{MAX_T}): {p!r}"
        assert "\n" not in p and p == p.strip()
    if os.path.basename(a.model).startswith("SmolLM2"):
        assert len(ids[EXACT_LEN[0]]) == EXACT_LEN[1], f"prompt {EXACT_LEN[0]} has {len(ids[EXACT_LEN[0]])} tokens"

    ref = samples = psamples = None
    if stored is None:
        if is_hf_dir(a.model):
            ref = BertReference(a.model, a.threads)
            cfg = {"layers": ref.L, "heads": ref.H, "hidden": ref.D, "n_ff": ref.F, "arch": "bert", "causal": False}
        else:
            ref = Reference(a.model, a.threads)
            cfg = {"layers": ref.L, "heads": ref.H, "hidden": ref.D, "n_ff": ref.F}
    else:
        cfg = stored["config"]
    t_load = time.time() - t0

    order = None
    PLAN = f"skip:{cfg['layers'] // 3}"   # skip:10 on SmolLM2's 30 layers
    if not a.no_plan:
        import ref_plans  # numpy only (its torch imports are inside the functions that run a model)
        L = cfg["layers"]
        order = layerlab_order(a.layerlab, PLAN, L)
        want = ref_plans.expected_order(PLAN, L)
        assert order == want, f"{PLAN}: layerlab's order {order} != the paper's {want}"
        if stored is not None:
            sp = stored.get("plan")
            if not sp or sp["spec"] != PLAN or sp["args"] != plan_args(PLAN, L) or as_order(sp["order"]) != order:
                return stale(a.from_ref, f"its plan is {sp}, this script checks {PLAN} with order {order}")

    if stored is None:
        samples = [ref.run(t, check_outputs=(k == 0)) for k, t in enumerate(ids)]
        if order is not None:
            psamples = [ref.run(t, order) for t in ids]
        print(f"transformers: {os.path.basename(a.model)}, {ref.L} layers, {ref.H} heads, n_ff {ref.F}, prompts of "
              f"{[len(t) for t in ids]} tokens; loaded in {t_load:.1f} s, run in {time.time() - t0 - t_load:.1f} s",
              file=sys.stderr)

    checks = Checks()
    with tempfile.TemporaryDirectory() as td:
        pf = os.path.join(td, "prompts.txt")
        with open(pf, "w") as f:
            f.write("".join(p + "\n" for p in PROMPTS))
        if stored is None:
            R = LiveRef(a.layerlab, a.model, pf, run=not a.reference_only)
        else:
            R = StoredRef(stored, a.layerlab, a.model, pf)
        try:
            compare(R, checks, cfg, PROMPTS, ids, order, samples, psamples)
            R.finish(partial=a.no_plan)
        except StaleReference as e:
            return stale(a.from_ref, str(e))
    if stored is not None:
        # the stored mode must run where torch is not installed
        assert not {"torch", "transformers", "accelerate", "gguf"} & set(sys.modules), "stored mode imported torch"
    if a.save_ref:
        save_ref(a.save_ref, a.model, cfg, ids, order, R.invocations)
    if a.reference_only:
        return 0

    table = checks.table()
    print(table)
    el = time.time() - t0
    mode = f"stored reference {os.path.basename(a.from_ref)}" if stored is not None else "live transformers"
    if a.record:
        with open(a.record, "w") as f:
            f.write(f"<!-- scripts/ref_probes.py {os.path.basename(a.model)} ({mode}): {len(PROMPTS)} prompts of "
                    f"{[len(t) for t in ids]} tokens; {el:.0f} s -->\n{table}\n")
    for f in checks.failures:
        print(f"FAIL: {f}")
    # one line per compared quantity, plus the echo / shape failures (which have no row of their own)
    nf_rows = sum(1 for r in checks.rows.values() if r["fails"])
    print(f"{len(checks.rows) - nf_rows} passed, {nf_rows + checks.other} failed ({mode})")
    if a.save_ref and checks.failures:
        print(f"note: {a.save_ref} was written anyway: it holds the transformers side only")
    print(f"ref_probes: {el:.1f} s", file=sys.stderr)
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
