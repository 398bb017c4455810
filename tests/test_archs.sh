#!/usr/bin/env bash
# test_archs.sh — every architecture (llama, mistral, qwen2, qwen3, gemma3, gptneox, bert) from safetensors +
# config.json and from its GGUF conversion (llama.cpp's convert_hf_to_gguf.py) against transformers' stored
# outputs, and malformed model directories refused by name: scripts/check_tiny.py (its header has the
# tolerances). The models are random-initialised small ones made by scripts/make_tiny_models.py.
# ctest-labels: unit
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import numpy, safetensors' 2>/dev/null; then
    echo "test_archs: skipping: $PY cannot import numpy and safetensors" >&2
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" "$SRC/scripts/check_tiny.py" "$LAYERLAB" "$SRC" "$tmp"
echo "test_archs: passed"
