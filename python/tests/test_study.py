"""study() against `layerlab study painters|geometry`: the same options give the same exports (scores.csv,
items.csv, prompts.csv, analysis.json byte for byte), and a second call continues (nothing new to run)."""
import filecmp

import layerlab
from conftest import STORIES, cli, model_args


def test_painters_equals_cli(stories, tmp_path):
    a, b = tmp_path / "cli", tmp_path / "py"
    cli("study", "painters", *model_args(stories), "--out", a, "--tasks", "piqa,lambada_openai", "--limit", "3",
        "--variants", "skip,reverse", "--starts", "1,0", "--analyses", "cosine", "--cosine-samples", "4", "--quiet")
    rep = stories.study("painters", b, tasks=["piqa", "lambada_openai"], limit=3, variants=["skip", "reverse"],
                        starts=[1, 0], analyses=["cosine"], cosine_samples=4)
    assert rep == b / "report.html" and rep.is_file()
    for f in ("scores.csv", "items.csv", "scores.json"):
        assert filecmp.cmp(a / f, b / f, shallow=False), f
    seen = []
    stories.study("painters", b, tasks=["piqa", "lambada_openai"], limit=3, variants=["skip", "reverse"],
                  starts=[1, 0], analyses=["cosine"], cosine_samples=4, progress=lambda d, t, s: seen.append((d, t)))
    assert filecmp.cmp(a / "scores.csv", b / "scores.csv", shallow=False)


def test_geometry_equals_cli(stories, tmp_path):
    a, b = tmp_path / "cli", tmp_path / "py"
    cli("study", "geometry", *model_args(stories), "--out", a, "--task", "arc_easy", "--limit", "3", "--shots", "0,1",
        "--conditions", "fixed,noise", "--quiet")
    layerlab.study("geometry", STORIES[0], b, tokenizer=STORIES[1], task="arc_easy", limit=3, shots=[0, 1],
                   conditions=["fixed", "noise"])
    for f in ("prompts.csv", "analysis.json"):
        assert filecmp.cmp(a / f, b / f, shallow=False), f


def test_study_refuses_other_params(stories, tmp_path):
    import pytest
    stories.study("painters", tmp_path / "s", tasks=["piqa"], limit=2, variants=["skip"], starts=[1], analyses=[])
    with pytest.raises(layerlab.LayerlabError):
        stories.study("painters", tmp_path / "s", tasks=["piqa"], limit=3, variants=["skip"], starts=[1], analyses=[])
