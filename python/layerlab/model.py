"""layerlab.Model: a model file opened by liblayerlab, and what the library runs on it."""
import ctypes
import json
import math
import os
import sys
from ctypes import POINTER, byref, c_char_p, c_double, c_float, c_int, c_int32, c_int64, c_size_t, c_void_p
from pathlib import Path

import numpy as np

from . import _lib
from ._lib import Handle, LayerlabError, check, check_ptr, lib, view

__all__ = ["Model", "ProbeResult", "EvalResult", "intrinsic_dim", "study", "default_data_dir"]


def default_data_dir():
    """Where benchmark data files are looked for when neither `data` nor `data_dir` is given: $LAYERLAB_DATA,
    else <the repository the package was built from>/../shared/data (what `layerlab eval` looks at)."""
    env = os.environ.get("LAYERLAB_DATA")
    if env:
        return env
    try:
        from ._build_info import SOURCE_DIR
        root = Path(SOURCE_DIR)
    except ImportError:   # a source checkout used without an install
        root = Path(__file__).resolve().parent.parent.parent
    d = (root / ".." / "shared" / "data").resolve()
    return str(d) if d.is_dir() else None


def _opts(**kw):
    """The JSON options object of a library call, without the options left at None."""
    return json.dumps({k: v for k, v in kw.items() if v is not None}).encode()


def _ids_array(ids):
    a = np.ascontiguousarray(np.asarray(ids), dtype=np.int32)
    if a.ndim != 1:
        raise ValueError(f"token ids must be one-dimensional, got shape {a.shape}")
    return a


def _progress_cb(progress):
    """A C progress callback from True (a line on stderr) or a callable(done, total, text); None: no callback."""
    if not progress:
        return _lib.PROGRESS()
    if progress is True:
        def fn(done, total, text):
            sys.stderr.write(f"\rlayerlab: {done}/{total} {text or ''}   " + ("\n" if done >= total else ""))
            sys.stderr.flush()
    else:
        fn = progress

    def cb(_ctx, done, total, text):
        fn(int(done), int(total), text.decode("utf-8", "replace") if text else "")
    return _lib.PROGRESS(cb)


class ProbeResult(dict):
    """The arrays of a probe run (numpy views of the library's result; float64), by the library's names:
    cos_flat, cos_token, cos_last [S, S]; variance [S]; block_influence [E]; angular [S - span]; attention_id [E];
    eps_sweep [n_eps - 1, E]; per_head [E, H]; density, entropy, max_weight [E]; features [E, 7]; hamming,
    hamming_compare [E]; points [n_points, D]; members [E]. States are 0..E (docs/PROBES.md). Scalars (S, E, H,
    n_samples, n_tokens, seconds, ...) are attributes."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None


_PROBE_ARRAYS = ["cos_flat", "cos_token", "cos_last", "variance", "block_influence", "angular", "attn_id", "per_head",
                 "density", "entropy", "max_weight", "features", "hamming", "hamming_compare", "points", "members"]
_PROBE_VALUES = ["S", "E", "H", "M", "D", "n_samples", "max_T", "n_tokens", "n_eps", "n_points", "seconds"]
FEATURE_NAMES = ["pos_frac_mean", "pos_frac_min", "pos_frac_max", "pos_frac_std", "closest_min", "closest_mean",
                 "closest_std"]
IDIM_NAMES = ["twonn", "twonn_ml", "mle", "pca", "participation_ratio"]


class EvalResult:
    """A benchmark run, as `layerlab eval --json` reports it. `metrics` has the JSON's metric keys (acc, acc_stderr,
    acc_norm, acc_norm_stderr, perplexity, perplexity_stderr, exact_match_*; NaN where lm-eval reports N/A);
    `info` the run's other numbers; `items` per-item arrays [n] (acc, acc_norm, pred, pred_norm, gold, n_req,
    first_req, line, em_strict, em_flexible, n_gen) and `requests` per-request arrays [n_requests] (ll, is_greedy,
    n_tokens, length, item): read-only numpy views of the library's results (float64)."""

    _ITEM = ["acc", "acc_norm", "pred", "pred_norm", "gold", "n_req", "first_req", "line", "em_strict", "em_flexible",
             "n_gen"]
    _REQ = ["ll", "is_greedy", "n_tokens", "length", "item"]
    _INFO = ["limit", "num_fewshot", "max_length", "truncated_requests", "generated_tokens", "n_ctx", "n_tokens",
             "seconds", "n_requests", "max_gen_toks", "fewshot_seed"]

    def __init__(self, ptr, plan, exact):
        self._h = Handle(ptr, lib.ll_eval_out_free)
        self.task = self._text("task")
        self.kind = self._text("kind")
        self.data = self._text("data")
        self.plan = plan or "full"
        self.compute = "exact" if exact in (None, True) else "llamacpp"
        self.n = int(self._value("n"))
        self.has_acc_norm = bool(self._value("has_acc_norm"))
        if self.kind == "generate":
            keys = ["exact_match_strict", "exact_match_strict_stderr", "exact_match_flexible",
                    "exact_match_flexible_stderr"]
        else:
            keys = ["acc", "acc_stderr"]
            if self.has_acc_norm:
                keys += ["acc_norm", "acc_norm_stderr"]
            if self.kind == "loglikelihood":
                keys += ["perplexity", "perplexity_stderr"]
        self.metrics = {k: self._value(k) for k in keys}
        self.info = {k: self._value(k) for k in self._INFO}
        self.items = {k: self._array(k) for k in self._ITEM}
        self.requests = {k: self._array(k) for k in self._REQ}

    def _value(self, name):
        v = c_double()
        check(lib.ll_eval_out_value(self._h.ptr, name.encode(), byref(v)))
        return v.value

    def _array(self, name):
        p, n = POINTER(c_double)(), c_int64()
        check(lib.ll_eval_out_array(self._h.ptr, name.encode(), byref(p), byref(n)))
        return view(self._h, _lib.addr_of(p), (n.value,))

    def _text(self, name, i=-1):
        s = lib.ll_eval_out_text(self._h.ptr, name.encode(), i)
        if s is None:
            raise LayerlabError(_lib.errmsg())
        return s.decode("utf-8")

    def __getitem__(self, k):
        return self.metrics[k]

    def loglikelihoods(self, i):
        """The summed log-probabilities of item i's requests (a view)."""
        a = int(self.items["first_req"][i])
        return self.requests["ll"][a:a + int(self.items["n_req"][i])]

    def texts(self, name):
        """Per-item text: prompt, response, strict, flexible, gold (gsm8k), target (gsm8k, lambada_openai)."""
        return [self._text(name, i) for i in range(self.n)]

    def to_dict(self):
        """The numbers of `layerlab eval --json` (without provenance; NaN as None, as the CLI prints null)."""
        def num(v):
            return None if isinstance(v, float) and math.isnan(v) else (int(v) if float(v).is_integer() else v)
        d = {"task": self.task, "n": self.n}
        d.update({k: num(v) for k, v in self.metrics.items()})
        d["data"] = self.data
        d["limit"] = None if self.info["limit"] < 0 else int(self.info["limit"])
        d["num_fewshot"] = int(self.info["num_fewshot"])
        if self.kind == "generate":
            d["fewshot_seed"] = 1234
            d["max_gen_toks"] = int(self.info["max_gen_toks"])
            d["max_length"] = int(self.info["max_length"])
            d["generated_tokens"] = int(self.info["generated_tokens"])
        d["plan"] = self.plan
        d["compute"] = self.compute
        if self.kind != "generate":
            d["max_length"] = int(self.info["max_length"])
            d["truncated_requests"] = int(self.info["truncated_requests"])
        d["seconds"] = self.info["seconds"]
        return d

    def __repr__(self):
        m = ", ".join(f"{k}={v:.4f}" for k, v in self.metrics.items() if not k.endswith("stderr"))
        return f"EvalResult(task={self.task!r}, n={self.n}, plan={self.plan!r}, {m})"


class Model:
    """A model file opened by liblayerlab: GGUF, a Hugging Face directory, or a llama2.c checkpoint (give its
    tokenizer.bin as `tokenizer`). `threads` and `exact` are the defaults of every call that runs the model
    (each call can override them); `exact=False` is llama.cpp's numerics (`--llamacpp`)."""

    def __init__(self, path, tokenizer=None, threads=2, exact=True):
        self.path = str(path)
        ptr = lib.ll_model_open(os.fsencode(self.path), os.fsencode(str(tokenizer)) if tokenizer else None)
        self._h = Handle(check_ptr(ptr), lib.ll_model_free)
        h = self._h.ptr
        self.arch = lib.ll_model_arch(h).decode()
        self.n_layer = lib.ll_model_n_layer(h)
        self.n_embd = lib.ll_model_n_embd(h)
        self.n_head = lib.ll_model_n_head(h)
        self.n_head_kv = lib.ll_model_n_head_kv(h)
        self.n_ff = lib.ll_model_n_ff(h)
        self.n_vocab = lib.ll_model_n_vocab(h)
        self.n_ctx = lib.ll_model_n_ctx(h)
        self.has_head = bool(lib.ll_model_has_head(h))
        self.causal = bool(lib.ll_model_causal(h))
        self._tok = lib.ll_model_tokenizer(h)
        self.threads = threads
        self.exact = exact

    # ---- lifetime ----
    def close(self):
        """Frees the model (arrays already returned stay valid: they are numpy's or hold their own results)."""
        self._h.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def _ptr(self):
        if not self._h.ptr:
            raise LayerlabError(f"{self.path}: the model is closed")
        return self._h.ptr

    def __repr__(self):
        return (f"Model({self.path!r}, arch={self.arch!r}, n_layer={self.n_layer}, n_embd={self.n_embd}, "
                f"n_head={self.n_head}, n_vocab={self.n_vocab})")

    @property
    def sha256(self):
        return lib.ll_model_sha256(self._ptr).decode()

    @property
    def default_bos(self):
        """Whether text gets a BOS token by the model's rule (README: BOS rule)."""
        self._need_tok()
        return bool(lib.ll_tok_default_bos(self._tok))

    def _need_tok(self):
        self._ptr
        if not self._tok:
            raise LayerlabError(f"{self.path}: no tokenizer (a llama2.c checkpoint needs tokenizer=TOK.bin)")

    def _run(self, plan, threads, exact, parallel_kv):
        return dict(plan=plan, threads=self.threads if threads is None else threads,
                    exact=self.exact if exact is None else exact, parallel_kv=parallel_kv)

    # ---- tokens ----
    def tokenize(self, text, bos=None, special=True):
        """Token ids (int32) of text, as `layerlab tokenize`: BOS by the model's rule unless bos is given; special
        tokens written in the text are parsed unless special=False."""
        self._need_tok()
        b = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        ids, n = POINTER(c_int32)(), c_size_t()
        check(lib.ll_tokenize(self._tok, b, len(b), self.default_bos if bos is None else bool(bos), bool(special),
                              byref(ids), byref(n)))
        try:
            return np.ctypeslib.as_array(ids, (n.value,)).copy() if n.value else np.zeros(0, np.int32)
        finally:
            lib.ll_free(ids)

    def detokenize(self, ids, special=False):
        """The text of token ids (special tokens rendered when special=True)."""
        self._need_tok()
        a = _ids_array(ids)
        n = c_size_t()
        p = lib.ll_detokenize(self._tok, a.ctypes.data_as(POINTER(c_int32)), a.size, bool(special), byref(n))
        check_ptr(p)
        try:
            return ctypes.string_at(p, n.value).decode("utf-8", "replace")
        finally:
            lib.ll_free(p)

    def _ids(self, x):
        return self.tokenize(x) if isinstance(x, str) else _ids_array(x)

    # ---- forwards ----
    def logits(self, ids, plan=None, threads=None, exact=None, parallel_kv=None):
        """float32 logits [T, n_vocab] of every position: `layerlab logits`. ids: token ids (used as given), or a
        string (tokenized with the BOS rule). plan: a layer plan (docs/PLANS.md), default the full model."""
        a = self._ids(ids)
        out = np.empty((a.size, self.n_vocab), dtype=np.float32)
        check(lib.ll_ffi_logits(self._ptr, a.ctypes.data_as(POINTER(c_int32)), a.size,
                                _opts(**self._run(plan, threads, exact, parallel_kv)), out.ctypes.data_as(POINTER(c_float))))
        return out

    def hook_names(self, plan=None, resid_pre=False):
        """Every activation name run_with_cache knows for the plan (L = entry of the plan's order)."""
        check_ptr(self._ptr)
        n = self._n_entries(plan)
        names = ["hook_embed"]
        for L in range(n):
            if resid_pre:
                names.append(f"blocks.{L}.hook_resid_pre")
            names += [f"blocks.{L}.attn.hook_pattern", f"blocks.{L}.mlp.hook_pre", f"blocks.{L}.hook_resid_post"]
        return names

    def plan_members(self, plan=None):
        """The members of each entry of a plan's order (1 = a single layer; docs/PLANS.md)."""
        o = _opts(plan=plan)
        n = lib.ll_ffi_plan(self._ptr, o, None, 0)
        if n < 0:
            raise LayerlabError(_lib.errmsg())
        members = (c_int * max(1, n))()
        lib.ll_ffi_plan(self._ptr, o, members, n)
        return list(members[:n])

    def _n_entries(self, plan):
        return len(self.plan_members(plan))

    def run_with_cache(self, ids, plan=None, names=None, threads=None, exact=None, parallel_kv=None):
        """One forward with activations kept, as a dict of numpy arrays (float32) under TransformerLens-style
        names, L = the entry of the plan's order (the layer, for the full model):
            hook_embed [T, n_embd]; blocks.L.hook_resid_pre / hook_resid_post [T, n_embd] (before the final norm);
            blocks.L.attn.hook_pattern [H, T, T] (query, key; zeros where a query does not attend);
            blocks.L.mlp.hook_pre [T, n_ff] (the gate before its activation; plain MLPs: the up projection);
            logits [T, n_vocab].
        A parallel-group entry of n layers has a leading [n] axis on its pattern and hook_pre. names: a list, a
        callable filter over hook_names(plan), or None for hook_names(plan). The values are bit for bit those of
        `layerlab probe ... --dump` (sampleN_hidden, _attn, _gates)."""
        a = self._ids(ids)
        run = _opts(**self._run(plan, threads, exact, parallel_kv))
        if names is None or callable(names):
            all_names = self.hook_names(plan)
            names = all_names if names is None else [n for n in all_names if names(n)]
        elif isinstance(names, str):
            names = [names]
        names = list(dict.fromkeys(names))
        cache = {}
        shape = (c_int64 * 4)()
        for n in names:
            nd = lib.ll_ffi_cache_shape(self._ptr, a.size, run, n.encode(), shape)
            if nd < 0:
                raise LayerlabError(_lib.errmsg())
            cache[n] = np.empty(tuple(shape[:nd]), dtype=np.float32)
        enc = [n.encode() for n in names]
        c_names = (c_char_p * max(1, len(enc)))(*enc)
        c_bufs = (c_void_p * max(1, len(enc)))(*[cache[n].ctypes.data for n in names])
        check(lib.ll_ffi_cache(self._ptr, a.ctypes.data_as(POINTER(c_int32)), a.size, run, c_names, len(enc), c_bufs))
        return cache

    # ---- probes ----
    def task_samples(self, task, limit=None, bos=None, data=None, data_dir=None, fewshot=None):
        """The token ids lm-eval feeds the model for each item of a task (`probe --task`; docs/PROBES.md), as a
        list of int32 arrays. BOS by the model's rule unless bos is given."""
        ids, lens, n = POINTER(c_int32)(), POINTER(c_int64)(), c_int()
        o = _opts(limit=limit, bos=bos, data=data, fewshot=fewshot,
                  data_dir=data_dir or (None if data else default_data_dir()))
        check(lib.ll_ffi_task_samples(self._ptr, task.encode(), o, byref(ids), byref(lens), byref(n)))
        try:
            ln = np.ctypeslib.as_array(lens, (n.value,)).copy()
            flat = np.ctypeslib.as_array(ids, (int(ln.sum()),)).copy()
        finally:
            lib.ll_free(ids)
            lib.ll_free(lens)
        return np.split(flat, np.cumsum(ln)[:-1])

    def _samples(self, samples):
        if isinstance(samples, str):
            samples = [samples]
        out = [self.tokenize(s) if isinstance(s, str) else _ids_array(s) for s in samples]
        if not out:
            raise ValueError("no samples")
        return out

    def probe(self, kinds, samples=None, task=None, limit=None, compare=None, plan=None, threads=None, exact=None,
              parallel_kv=None, data=None, data_dir=None, **opts):
        """`layerlab probe KINDS` (docs/PROBES.md) over samples: a string, a list of strings (each tokenized with the
        BOS rule, as `--file` lines) or of token-id arrays, or task=NAME (limit items). kinds: a list or a
        comma-separated string of cosine, block-influence, attention-id, mlp-regions, intrinsic-dim. opts: pad,
        first_position, span, eps, threshold, position, all_positions, eps_sweep, entry, points. compare: the
        samples mlp-regions compares with."""
        if isinstance(kinds, (list, tuple)):
            kinds = ",".join(kinds)
        if task is not None:
            if samples is not None:
                raise ValueError("give samples or task, not both")
            ss = self.task_samples(task, limit=limit, data=data, data_dir=data_dir)
        else:
            if samples is None:
                raise ValueError("give samples or task=NAME")
            ss = self._samples(samples)
            if limit is not None:
                ss = ss[:limit]
        flat = np.ascontiguousarray(np.concatenate(ss), dtype=np.int32)
        lens = np.array([s.size for s in ss], dtype=np.int64)
        cflat = clens = None
        n_cmp = 0
        if compare is not None:
            cs = self._samples(compare)[:len(ss)]
            cflat = np.ascontiguousarray(np.concatenate(cs), dtype=np.int32)
            clens = np.array([s.size for s in cs], dtype=np.int64)
            n_cmp = len(cs)
        o = _opts(**self._run(plan, threads, exact, parallel_kv), **opts)
        p = lib.ll_ffi_probe(self._ptr, kinds.encode(), flat.ctypes.data_as(POINTER(c_int32)),
                             lens.ctypes.data_as(POINTER(c_int64)), len(ss),
                             cflat.ctypes.data_as(POINTER(c_int32)) if cflat is not None else None,
                             clens.ctypes.data_as(POINTER(c_int64)) if clens is not None else None, n_cmp, o)
        h = Handle(check_ptr(p), lib.ll_probe_out_free)
        r = ProbeResult()
        ptr, rows, cols = POINTER(c_double)(), c_int64(), c_int64()
        for name in _PROBE_ARRAYS:
            if lib.ll_probe_out_array(h.ptr, name.encode(), byref(ptr), byref(rows), byref(cols)) == 0:
                one_row = name not in ("cos_flat", "cos_token", "cos_last", "per_head", "features", "points", "attn_id")
                shape = (cols.value,) if one_row else (rows.value, cols.value)
                r[name] = view(h, _lib.addr_of(ptr), shape)
        if "attn_id" in r:
            r["attention_id"] = r["attn_id"][0]
            if r["attn_id"].shape[0] > 1:
                r["eps_sweep"] = r["attn_id"][1:]
        v = c_double()
        for name in _PROBE_VALUES:
            check(lib.ll_probe_out_value(h.ptr, name.encode(), byref(v)))
            setattr(r, name, int(v.value) if name != "seconds" else v.value)
        r.samples = ss
        return r

    def cosine(self, samples=None, reduce="flat", **kw):
        """The (E+1)x(E+1) cosine similarities between states (`probe cosine`): the result's `cosine` is the
        reduction asked for (flat, token or last); cos_flat/cos_token/cos_last, variance and block_influence are
        all there. Options as probe()."""
        if reduce not in ("flat", "token", "last"):
            raise ValueError(f"reduce: expected flat, token or last, got {reduce!r}")
        r = self.probe("cosine", samples, **kw)
        r["cosine"] = r["cos_" + reduce]
        return r

    def attention_id(self, samples=None, eps=0.1, threshold="relative", position=None, all_positions=False,
                     eps_sweep=None, **kw):
        """The attention-graph intrinsic dimension per entry (`probe attention-id`): attention_id [E], per_head
        [E, H], density, entropy, max_weight, eps_sweep [len(eps_sweep), E]. position: a query position (default
        the last token of each sample)."""
        return self.probe("attention-id", samples, eps=eps, threshold=threshold,
                          position=-1 if position is None else position, all_positions=all_positions,
                          eps_sweep=list(eps_sweep) if eps_sweep is not None else None, **kw)

    def mlp_regions(self, samples=None, compare=None, **kw):
        """The MLP partition statistics (`probe mlp-regions`): features [E, 7] (FEATURE_NAMES), hamming [E], and
        hamming_compare [E] with compare samples."""
        return self.probe("mlp-regions", samples, compare=compare, **kw)

    def intrinsic_dim(self, samples=None, entry=-1, points="tokens", k=20, alpha=0.05, **kw):
        """The intrinsic dimension of the states after entry `entry` (0 = embeddings, -1 = the last), every token
        or the last of each sample a point (`probe intrinsic-dim`): a dict of the five estimates and counts,
        with the points."""
        r = self.probe("intrinsic-dim", samples, entry=entry, points=points, **kw)
        d = intrinsic_dim(r["points"], k=k, alpha=alpha)
        d["points"] = r["points"]
        d["entry"] = entry if entry >= 0 else r.E
        return d

    # ---- benchmarks and studies ----
    def evaluate(self, task, plan=None, limit=None, bos=None, data=None, data_dir=None, fewshot=None,
                 batch_tokens=None, max_length=None, max_gen_toks=None, bootstrap_iters=None, threads=None,
                 exact=None, parallel_kv=None, progress=None):
        """A benchmark task scored as `layerlab eval MODEL --task TASK --json` scores it (docs/EVAL.md), under a
        plan: an EvalResult with the metrics and per-item results. limit: the first N items. Data: `data` (the
        file), else data_dir / default_data_dir(). progress: True (a line on stderr) or callable(done, total,
        text)."""
        o = _opts(**self._run(plan, threads, exact, parallel_kv), limit=limit, bos=bos, data=data, fewshot=fewshot,
                  data_dir=data_dir or (None if data else default_data_dir()), batch_tokens=batch_tokens,
                  max_length=max_length, max_gen_toks=max_gen_toks, bootstrap_iters=bootstrap_iters)
        cb = _progress_cb(progress)
        p = lib.ll_ffi_eval(self._ptr, task.encode(), o, cb, None)
        return EvalResult(check_ptr(p), plan, self.exact if exact is None else exact)

    def study(self, kind, out, progress=None, **opts):
        """`layerlab study painters|geometry MODEL --out OUT` (docs/STUDIES.md): runs or continues the study,
        writes its exports and OUT/report.html, and returns that path. opts: the CLI's options with _ for -
        (lists as Python lists), plus quick=True, threads, exact, bos, data_dir."""
        opts.setdefault("threads", self.threads)
        opts.setdefault("exact", self.exact)
        if not opts.get("data_dir"):
            opts["data_dir"] = default_data_dir()
        if "command" not in opts:
            args = ", ".join(f"{k}={v!r}" for k, v in opts.items() if k not in ("data_dir", "command"))
            opts["command"] = f"layerlab.study({kind!r}, {self.path!r}, {str(out)!r}{', ' if args else ''}{args})"
        cb = _progress_cb(progress)
        check(lib.ll_ffi_study(self._ptr, kind.encode(), os.fsencode(str(out)), _opts(**opts), cb, None))
        return Path(out) / "report.html"


def intrinsic_dim(X, k=20, alpha=0.05):
    """The intrinsic dimension of the rows of X (`probe intrinsic-dim --input`): a dict with twonn, twonn_ml, mle,
    pca, participation_ratio (docs/PROBES.md), n_points (distinct rows) and n_duplicates."""
    a = np.ascontiguousarray(X, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"X must be two-dimensional (points as rows), got shape {a.shape}")
    out = (c_double * 7)()
    check(lib.ll_ffi_intrinsic_dim(a.ctypes.data_as(POINTER(c_double)), a.shape[0], a.shape[1], int(k), float(alpha),
                                   out))
    d = dict(zip(IDIM_NAMES, out[:5]))
    d["n_points"], d["n_duplicates"] = int(out[5]), int(out[6])
    return d


def study(kind, model, out, tokenizer=None, **opts):
    """Runs a study (Model.study) on a model path or an open Model; returns the report's path."""
    if isinstance(model, Model):
        return model.study(kind, out, **opts)
    with Model(model, tokenizer=tokenizer) as m:
        return m.study(kind, out, **opts)
