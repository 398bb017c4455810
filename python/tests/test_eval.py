"""evaluate() against `layerlab eval --json` (and its --samples per-item lines): the JSON prints every double
exactly, so metrics and per-request log-likelihoods must be equal (tolerance 0)."""
import json
import math

import numpy as np
import pytest

from conftest import cli, model_args


def check_eval(m, task, limit, tmp_path, plan=None, extra=(), **kw):
    args = ["eval", *model_args(m), "--task", task, "--limit", str(limit), "--json", "--samples", tmp_path / "s.jsonl",
            *extra]
    if plan:
        args += ["--plan", plan]
    ref = cli(*args, json_out=True)
    r = m.evaluate(task, plan=plan, limit=limit, **kw)
    d = r.to_dict()
    for k, v in ref.items():
        if k in ("provenance", "seconds", "data"):
            continue
        assert d[k] == v or (v is None and d[k] is None), (k, d[k], v)   # tolerance 0
    assert set(ref) - {"provenance"} == set(d)
    lines = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert len(lines) == r.n
    for i, s in enumerate(lines):
        if r.kind == "multiple_choice":
            assert list(r.loglikelihoods(i)) == s["loglikelihoods"]
            assert r.items["pred"][i] == s["pred"] and r.items["pred_norm"][i] == s["pred_norm"]
            assert r.items["acc_norm"][i] == s["acc_norm"] and r.items["gold"][i] == s["gold"]
        elif r.kind == "loglikelihood":
            assert r.loglikelihoods(i)[0] == s["loglikelihood"]
            assert bool(r.requests["is_greedy"][int(r.items["first_req"][i])]) == s["is_greedy"]
        else:
            assert r.texts("response")[i] == s["response"]
            assert r.items["em_strict"][i] == s["exact_match_strict"]
        if r.kind != "generate":
            assert r.items["acc"][i] == s["acc"]
    return r


def test_arc_easy_smollm2(smollm2, tmp_path):
    r = check_eval(smollm2, "arc_easy", 20, tmp_path)
    assert r.n == 20 and 0 <= r["acc"] <= 1


def test_arc_easy_plan(smollm2, tmp_path):
    check_eval(smollm2, "arc_easy", 10, tmp_path, plan="skip:13")


def test_lambada_stories(stories, tmp_path):
    r = check_eval(stories, "lambada_openai", 10, tmp_path)
    assert math.isfinite(r["perplexity"])
    assert r.requests["ll"].shape == (10,) and not r.requests["ll"].flags.writeable


def test_piqa_llamacpp_batch(stories, tmp_path):
    check_eval(stories, "piqa", 8, tmp_path, extra=["--llamacpp", "--batch-tokens", "0"], exact=False, batch_tokens=0)


def test_gsm8k_stories(stories, tmp_path):
    r = check_eval(stories, "gsm8k", 2, tmp_path, extra=["--max-gen-toks", "8"], max_gen_toks=8)
    assert len(r.texts("prompt")) == 2


def test_progress_callback(stories):
    seen = []
    stories.evaluate("piqa", limit=3, progress=lambda d, t, s: seen.append((d, t)))
    assert seen and seen[-1] == (3, 3)
