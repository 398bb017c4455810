"""docs/examples/painters_python.py runs (on stories260K, small) and writes its figures."""
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, STORIES


def test_example_writes_figures(tmp_path):
    pytest.importorskip("matplotlib")
    if not STORIES[0].is_file():
        pytest.skip("stories260K missing")
    p = subprocess.run([sys.executable, str(REPO / "docs/examples/painters_python.py"), str(STORIES[0]),
                        "--tokenizer", str(STORIES[1]), "--task", "piqa", "--limit", "4", "--cosine-samples", "4",
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for f in ("cosine.png", "skip_sweep.png"):
        assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f
    c = np.load(tmp_path / "cosine.npy")
    assert c.shape == (6, 6) and np.allclose(np.diag(c), 1, atol=1e-12)   # cos(x, x) = 1 up to double rounding
    assert len((tmp_path / "skip_sweep.csv").read_text().splitlines()) == 1 + 1 + 2   # header, full, s = 1, 0
