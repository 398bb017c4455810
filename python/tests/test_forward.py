"""logits and run_with_cache against the CLI: `layerlab logits` and `layerlab probe ... --dump`, bit for bit
(tolerance 0: the same library code runs on the same values, so every float32 must be identical)."""
import numpy as np
import pytest

from conftest import cli, model_args

TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside"


def bits(a):
    """Bit patterns, so that the comparison is exact (-0.0 != 0.0, NaN payloads) rather than numeric."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("which", ["stories", "smollm2"])
@pytest.mark.parametrize("plan", [None, "skip:1", "reverse:1"])
def test_logits_equal_cli(which, plan, request, tmp_path):
    m = request.getfixturevalue(which)
    ids = m.tokenize(TEXT)
    args = ["logits", *model_args(m), "--ids", " ".join(map(str, ids)), "--out", tmp_path / "l.npy"]
    if plan:
        args += ["--plan", plan]
    cli(*args)
    ref = np.load(tmp_path / "l.npy")
    got = m.logits(ids, plan=plan)
    assert got.shape == ref.shape == (len(ids), m.n_vocab)
    assert np.array_equal(bits(got), bits(ref))   # tolerance 0: bit for bit


def test_logits_text_and_llamacpp(smollm2, tmp_path):
    # --text uses the BOS rule and parses special tokens: Model.logits(str) does the same
    cli("logits", smollm2.path, "--text", TEXT, "--llamacpp", "--out", tmp_path / "l.npy")
    ref = np.load(tmp_path / "l.npy")
    got = smollm2.logits(TEXT, exact=False)
    assert np.array_equal(bits(got), bits(ref))   # tolerance 0


def dump(m, ids, tmp_path, plan=None):
    d = tmp_path / "dump"
    args = ["probe", "cosine,attention-id,mlp-regions", *model_args(m), "--ids", tmp_path / "ids.txt",
            "--all-positions", "--dump", d, "--json"]
    (tmp_path / "ids.txt").write_text(" ".join(map(str, ids)) + "\n")
    if plan:
        args += ["--plan", plan]
    cli(*args)
    return {k: np.load(d / f"sample0_{k}.npy") for k in ("tokens", "hidden", "attn", "gates")}


@pytest.mark.parametrize("which,plan", [("stories", None), ("stories", "0-1,[2,3],4"), ("stories", "4,3,2,2,1,0"),
                                        ("smollm2", None), ("smollm2", "middle_repeat:13")])
def test_cache_equals_probe_dump(which, plan, request, tmp_path):
    m = request.getfixturevalue(which)
    ids = m.tokenize(TEXT)
    ref = dump(m, ids, tmp_path, plan)
    assert np.array_equal(ref["tokens"], ids)
    members = m.plan_members(plan)
    E = len(members)
    cache = m.run_with_cache(ids, plan=plan, names=m.hook_names(plan, resid_pre=True) + ["logits"])
    T, M = len(ids), ref["attn"].shape[1]
    assert ref["hidden"].shape == (E + 1, T, m.n_embd)
    assert ref["attn"].shape == (E, M, m.n_head, T, T)
    # every comparison below is bit for bit (tolerance 0)
    assert np.array_equal(bits(cache["hook_embed"]), bits(ref["hidden"][0]))
    for L in range(E):
        n = members[L]
        assert np.array_equal(bits(cache[f"blocks.{L}.hook_resid_post"]), bits(ref["hidden"][L + 1]))
        assert np.array_equal(bits(cache[f"blocks.{L}.hook_resid_pre"]), bits(ref["hidden"][L]))
        pat, pre = cache[f"blocks.{L}.attn.hook_pattern"], cache[f"blocks.{L}.mlp.hook_pre"]
        if n == 1:
            assert pat.shape == (m.n_head, T, T) and pre.shape == (T, m.n_ff)
            pat, pre = pat[None], pre[None]
        assert np.array_equal(bits(pat), bits(ref["attn"][L, :n]))
        assert np.array_equal(bits(pre), bits(ref["gates"][L, :n]))
        # causal: nothing above the diagonal, each row sums to 1 (float32 softmax: within 1e-5)
        assert not np.triu(pat, 1).any()
        assert np.allclose(pat.sum(-1), 1.0, atol=1e-5)
    assert np.array_equal(bits(cache["logits"]), bits(m.logits(ids, plan=plan)))   # tolerance 0


def test_cache_names(stories):
    ids = stories.tokenize("Hello there")
    c = stories.run_with_cache(ids, names=lambda n: n.endswith("hook_resid_post"))
    assert sorted(c) == sorted(f"blocks.{L}.hook_resid_post" for L in range(stories.n_layer))
    c = stories.run_with_cache(ids, names="blocks.2.attn.hook_pattern")
    assert list(c) == ["blocks.2.attn.hook_pattern"]


def test_encoder_cache(tmp_path):
    """An encoder (all-MiniLM-L6-v2, BERT): bidirectional attention rows, no logits; equal to the dump bit for bit."""
    import layerlab
    from conftest import REPO
    path = REPO / ".cache" / "models" / "all-MiniLM-L6-v2"
    if not (path / "model.safetensors").is_file():
        pytest.skip(f"{path} missing (scripts/setup-test.sh fetches it)")
    m = layerlab.Model(path)
    ids = m.tokenize("the cat sat on the mat")
    ref = dump(m, ids, tmp_path)
    c = m.run_with_cache(ids)
    for L in range(m.n_layer):   # tolerance 0
        assert np.array_equal(bits(c[f"blocks.{L}.hook_resid_post"]), bits(ref["hidden"][L + 1]))
        assert np.array_equal(bits(c[f"blocks.{L}.attn.hook_pattern"]), bits(ref["attn"][L, 0]))
        assert np.array_equal(bits(c[f"blocks.{L}.mlp.hook_pre"]), bits(ref["gates"][L, 0]))
    assert (c["blocks.0.attn.hook_pattern"] > 0).all()   # every query attends to every key
    with pytest.raises(layerlab.LayerlabError, match="encoder"):
        m.logits(ids)
    with pytest.raises(layerlab.LayerlabError, match="encoder"):
        m.run_with_cache(ids, names=["logits"])
