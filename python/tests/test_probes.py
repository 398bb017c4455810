"""The probes against `layerlab probe ... --json` and `probe intrinsic-dim --input`. The JSON prints every double
exactly (src/io/json.c), so the tolerance is 0 (NaN printed as null)."""
import numpy as np
import pytest

import layerlab
from conftest import cli, model_args

LINES = ["Once upon a time there was a dog.", "The sun was hot and the sky was blue.",
         "Tom and Sue went to the park to play.", "She had a red ball and a big hat."]


def same(got, ref):
    """Exact equality with the CLI's JSON (null = NaN); tolerance 0."""
    ref = np.array([[np.nan if v is None else v for v in r] if isinstance(r, list) else (np.nan if r is None else r)
                    for r in ref], dtype=float)
    got = np.asarray(got, dtype=float)
    assert got.shape == ref.shape
    assert np.array_equal(got, ref, equal_nan=True), np.max(np.abs(got - ref))


@pytest.mark.parametrize("plan", [None, "middle_repeat:1"])
def test_cosine_and_block_influence(stories, plan, tmp_path):
    f = tmp_path / "p.txt"
    f.write_text("\n".join(LINES) + "\n")
    extra = ["--plan", plan] if plan else []
    for reduce in ("flat", "token", "last"):
        ref = cli("probe", "cosine,block-influence", *model_args(stories), "--file", f, "--reduce", reduce, "--json",
                  *extra, json_out=True)
        r = stories.cosine(LINES, reduce=reduce, plan=plan)
        same(r["cosine"], ref["cosine"])
        same(r["variance"], ref["variance"])
        same(r["block_influence"], ref["block_influence"])
        assert r.n_tokens == ref["n_tokens"] and r.E == ref["entries"]
        assert list(r["members"]) == ref["members"]


def test_cosine_pad_task(smollm2):
    ref = cli("probe", "cosine", smollm2.path, "--task", "lambada_openai", "--limit", "10", "--pad", "--json",
              json_out=True)
    r = smollm2.cosine(task="lambada_openai", limit=10, pad=True)
    same(r["cosine"], ref["cosine"])
    assert r.n_tokens == ref["n_tokens"]


def test_attention_id(stories, tmp_path):
    f = tmp_path / "p.txt"
    f.write_text("\n".join(LINES) + "\n")
    ref = cli("probe", "attention-id", *model_args(stories), "--file", f, "--eps", "0.05", "--eps-sweep", "0.01,0.2",
              "--all-positions", "--json", json_out=True)
    r = stories.attention_id(LINES, eps=0.05, eps_sweep=[0.01, 0.2], all_positions=True)
    for k in ("attention_id", "per_head", "density", "entropy", "max_weight"):
        same(r[k], ref[k])
    same(r["eps_sweep"], ref["eps_sweep"]["attention_id"])
    ref = cli("probe", "attention-id", *model_args(stories), "--file", f, "--threshold", "absolute", "--position", "2",
              "--json", json_out=True)
    same(stories.attention_id(LINES, threshold="absolute", position=2)["attention_id"], ref["attention_id"])


def test_mlp_regions(stories, tmp_path):
    f, g = tmp_path / "a.txt", tmp_path / "b.txt"
    f.write_text("\n".join(LINES) + "\n")
    other = LINES[1:] + LINES[:1]
    g.write_text("\n".join(other) + "\n")
    ref = cli("probe", "mlp-regions", *model_args(stories), "--file", f, "--compare", g, "--json", json_out=True)
    r = stories.mlp_regions(LINES, compare=other)
    same(r["features"], ref["features"])
    same(r["hamming"], ref["hamming_consecutive"])
    same(r["hamming_compare"], ref["hamming_compare"])


def test_intrinsic_dim(stories, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 12))
    np.save(tmp_path / "X.npy", X)
    ref = cli("probe", "intrinsic-dim", "--input", tmp_path / "X.npy", "--k", "10", "--json", json_out=True)
    got = layerlab.intrinsic_dim(X, k=10)
    for k in layerlab.IDIM_NAMES:
        assert got[k] == ref[k], k           # tolerance 0: the same code on the same doubles
    # the model path: states after entry 3, every token a point
    f = tmp_path / "p.txt"
    f.write_text("\n".join(LINES) + "\n")
    ref = cli("probe", "intrinsic-dim", *model_args(stories), "--file", f, "--entry", "3", "--k", "5", "--json",
              json_out=True)
    got = stories.intrinsic_dim(LINES, entry=3, k=5)
    for k in layerlab.IDIM_NAMES:
        assert got[k] == ref[k], k           # tolerance 0


def test_task_samples_equal_probe_task(smollm2, tmp_path):
    d = tmp_path / "d"
    cli("probe", "cosine", smollm2.path, "--task", "arc_easy", "--limit", "3", "--dump", d)
    ss = smollm2.task_samples("arc_easy", limit=3)
    assert len(ss) == 3
    for i, s in enumerate(ss):
        assert np.array_equal(s, np.load(d / f"sample{i}_tokens.npy"))


def test_views_outlive_model(stories):
    with layerlab.Model(stories.path, tokenizer=str(__import__("conftest").STORIES[1])) as m:
        r = m.cosine(LINES[:2])
        c = r["cos_flat"]
    del r
    import gc
    gc.collect()
    assert c.shape == (6, 6) and np.allclose(np.diag(c), 1.0, atol=1e-12)   # diagonal cos = 1 up to rounding
    assert not c.flags.writeable
