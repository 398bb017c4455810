"""Bad input raises LayerlabError carrying the library's message (never a crash)."""
import numpy as np
import pytest

import layerlab
from layerlab import LayerlabError


def test_bad_model_path(tmp_path):
    with pytest.raises(LayerlabError, match="nope.gguf"):
        layerlab.Model(tmp_path / "nope.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"GGUF\x03\x00\x00\x00garbage")
    with pytest.raises(LayerlabError):
        layerlab.Model(tmp_path / "junk.gguf")


def test_bad_plan_and_options(stories):
    ids = stories.tokenize("Hello")
    with pytest.raises(LayerlabError, match="unknown preset"):
        stories.logits(ids, plan="bogus")
    with pytest.raises(LayerlabError, match="layer 9"):
        stories.logits(ids, plan="0,9")
    with pytest.raises(LayerlabError, match="out of range"):
        stories.logits(ids, threads=0)
    with pytest.raises(LayerlabError, match="unknown option 'colour'"):
        stories.probe("cosine", ["a b"], colour="red")
    with pytest.raises(LayerlabError, match="threshold"):
        stories.attention_id(["a b"], threshold="sometimes")


def test_bad_ids(stories):
    with pytest.raises(LayerlabError, match="outside the vocabulary"):
        stories.logits([1, 5, 100000])
    with pytest.raises(LayerlabError, match="no tokens"):
        stories.logits(np.zeros(0, np.int32))
    with pytest.raises(LayerlabError, match="exceed the model's context"):
        stories.logits(np.ones(stories.n_ctx + 1, np.int32))


def test_bad_hook_names(stories):
    ids = stories.tokenize("Hello")
    with pytest.raises(LayerlabError, match="unknown name 'blocks.0.hook_nope'"):
        stories.run_with_cache(ids, names=["blocks.0.hook_nope"])
    with pytest.raises(LayerlabError, match="the plan has 5 entries"):
        stories.run_with_cache(ids, names=["blocks.5.hook_resid_post"])
    with pytest.raises(LayerlabError, match="the plan has 3 entries"):
        stories.run_with_cache(ids, plan="0,1,2", names=["blocks.3.hook_resid_post"])


def test_bad_tasks(stories, tmp_path):
    with pytest.raises(LayerlabError, match="unknown task 'arc_hard'"):
        stories.evaluate("arc_hard")
    with pytest.raises(LayerlabError, match="cannot read"):
        stories.evaluate("piqa", data_dir=str(tmp_path))
    (tmp_path / "bad.jsonl").write_text('{"goal": 1}\n')
    with pytest.raises(LayerlabError, match="bad.jsonl:1"):
        stories.evaluate("piqa", data=str(tmp_path / "bad.jsonl"))
    with pytest.raises(LayerlabError, match="unknown kind"):
        stories.probe("cosines", ["a b"])
    with pytest.raises(LayerlabError, match="unknown study"):
        stories.study("sculptors", tmp_path / "s")


def test_closed_model(tmp_path):
    from conftest import STORIES
    m = layerlab.Model(STORIES[0], tokenizer=STORIES[1])
    m.close()
    with pytest.raises(LayerlabError, match="closed"):
        m.logits([1, 2])


def test_idim_bad_input():
    with pytest.raises(LayerlabError, match="k = 1"):
        layerlab.intrinsic_dim(np.zeros((10, 2)), k=1)
    with pytest.raises(LayerlabError):
        layerlab.intrinsic_dim(np.full((30, 2), np.nan))
