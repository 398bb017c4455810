"""Shared fixtures: the CLI (the reference the package is checked against), the models and the data.

Environment (as ctest sets it): LAYERLAB = the layerlab executable (default <repo>/build/layerlab),
SHARED = the fixtures folder (default <repo>/../shared), SMOLLM2 = the SmolLM2 Q4_1 GGUF
(default <repo>/.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("LAYERLAB", REPO / "build" / "layerlab"))
SHARED = Path(os.environ.get("SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
STORIES = (SHARED / "models" / "stories260K.bin", SHARED / "models" / "tok512.bin")
SMOLLM2 = Path(os.environ.get("SMOLLM2", REPO / ".cache" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"))


def cli(*args, json_out=False):
    """Runs the CLI; its stdout (parsed when json_out). A failure shows its stderr."""
    if not CLI.is_file():
        pytest.skip(f"{CLI} not built")
    p = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, "LAYERLAB_DATA": str(DATA)})
    assert p.returncode == 0, f"layerlab {' '.join(map(str, args))}: {p.stderr}"
    return json.loads(p.stdout) if json_out else p.stdout


@pytest.fixture(scope="session", autouse=True)
def _data_env():
    os.environ.setdefault("LAYERLAB_DATA", str(DATA))


@pytest.fixture(scope="session")
def stories():
    import layerlab
    if not STORIES[0].is_file():
        pytest.skip(f"{STORIES[0]} missing")
    m = layerlab.Model(STORIES[0], tokenizer=STORIES[1])
    yield m
    m.close()


@pytest.fixture(scope="session")
def smollm2():
    import layerlab
    if not SMOLLM2.is_file():
        pytest.skip(f"{SMOLLM2} missing (scripts/setup.sh fetches it)")
    m = layerlab.Model(SMOLLM2)
    yield m
    m.close()


def model_args(m):
    """The CLI arguments that open the same model."""
    return [m.path, "--tokenizer", str(STORIES[1])] if m.path.endswith(".bin") else [m.path]
