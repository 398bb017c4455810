#!/usr/bin/env bash
# `layerlab probe` (cosine flat/token/last + variance, block-influence and --span, attention-id with its
# options, mlp-regions, and cosine under --plan skip:L/3) on SmolLM2-135M (and, in the stored mode, on Gemma 3
# 270M: tests/ref/probes/gemma3.json, where each layer keeps its own RoPE as in ref_plans.py) against an independent
# PyTorch/transformers reference (scripts/ref_probes.py: forward hooks on the dequantized fp32 model, eager
# attention, the same token ids). The tolerances, each with its reason, are in that script next to the
# assertions: cosines 1e-4 abs, variance 1e-4 rel, block influence 1e-4 abs, attention-ID counts +-1 per
# layer and sample, MLP features 1e-3 rel with an absolute floor.
# Two modes, the same comparisons and tolerances:
#   * torch + transformers + accelerate + gguf importable in $PYTHON (developer side; not installed by
#     scripts/setup.sh or CI): the reference is computed live. About a minute on 2 cores.
#   * otherwise (CI): against the stored reference tests/ref/probes/smollm2.json (made by
#     `scripts/ref_probes.py --save-ref tests/ref/probes/smollm2.json`), with numpy only. The model's sha256
#     and layerlab's token ids must equal the stored ones (a tokenizer change fails clearly). About 30 s.
#   PROBES_STORED=1 forces the stored mode; PROBES_RECORD=FILE writes the error table (Markdown).
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
REF=$SRC/tests/ref/probes/smollm2.json
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: python module numpy missing in $PY"; exit 77; }
if ! "$LAYERLAB" probe --help >/dev/null 2>&1; then
    echo "FAIL: '$LAYERLAB probe --help' does not work" >&2
    exit 1
fi
live=1
if [ "${PROBES_STORED:-0}" = 1 ]; then
    live=0
else
    for mod in torch transformers accelerate gguf; do
        "$PY" -c "import $mod" 2>/dev/null || { echo "note: python module $mod missing in $PY: stored reference"; live=0; break; }
    done
fi
if [ "$live" = 1 ]; then
    echo "mode: live PyTorch/transformers reference"
    exec "$PY" "$SRC/scripts/ref_probes.py" "$SMOLLM2" --layerlab "$LAYERLAB" ${PROBES_RECORD:+--record "$PROBES_RECORD"}
fi
[ -f "$REF" ] || { echo "FAIL: stored reference $REF is missing" >&2; exit 1; }
echo "mode: stored reference $REF"
"$PY" "$SRC/scripts/ref_probes.py" "$SMOLLM2" --layerlab "$LAYERLAB" --from-ref "$REF" \
    ${PROBES_RECORD:+--record "$PROBES_RECORD"}
# Gemma 3 270M (scripts/setup-test.sh fetches it), against its stored reference the same way
G=$(dirname "$SMOLLM2")/gemma-3-270m-Q4_K_M.gguf
if [ -f "$G" ]; then
    echo "mode: stored reference $SRC/tests/ref/probes/gemma3.json"
    "$PY" "$SRC/scripts/ref_probes.py" "$G" --layerlab "$LAYERLAB" --from-ref "$SRC/tests/ref/probes/gemma3.json"
else
    echo "note: $G missing (scripts/setup-test.sh fetches it): Gemma 3's probes not checked"
fi
