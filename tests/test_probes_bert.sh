#!/usr/bin/env bash
# `layerlab probe` on the BERT encoder all-MiniLM-L6-v2 against the PyTorch/transformers reference of
# scripts/ref_probes.py (its BertReference: BertModel from the safetensors, float32, eager attention, forward
# hooks; bidirectional attention, so a query's keys are all T tokens; the MLP tap is intermediate.dense's output
# before GELU): the same probes, invocations and tolerances as tests/test_probes_transformers.sh (cosine
# flat/token/last + variance, block influence and --span, attention-id and its options, mlp-regions, cosine
# under --plan skip:2), plus attention density at every query position. Token ids: `layerlab tokenize`'s.
# Two modes, the same comparisons:
#   * torch + transformers importable in $PYTHON: the reference is computed live (about 15 s);
#   * otherwise (CI): against tests/ref/probes/minilm.json (numpy only; the model's sha256 and layerlab's token
#     ids must equal the stored ones). PROBES_STORED=1 forces it; PROBES_RECORD=FILE writes the error table.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}"
PY=${PYTHON:-python3}
M="$SRC/.cache/models/all-MiniLM-L6-v2"
REF=$SRC/tests/ref/probes/minilm.json
[ -f "$M/model.safetensors" ] || { echo "skip: $M missing (scripts/setup-test.sh)"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: python module numpy missing in $PY"; exit 77; }
live=1
if [ "${PROBES_STORED:-0}" = 1 ]; then
    live=0
else
    for mod in torch transformers; do
        "$PY" -c "import $mod" 2>/dev/null || { echo "note: python module $mod missing in $PY: stored reference"; live=0; break; }
    done
fi
if [ "$live" = 1 ]; then
    echo "mode: live PyTorch/transformers reference"
    exec "$PY" "$SRC/scripts/ref_probes.py" "$M" --layerlab "$LAYERLAB" ${PROBES_RECORD:+--record "$PROBES_RECORD"}
fi
[ -f "$REF" ] || { echo "FAIL: stored reference $REF is missing" >&2; exit 1; }
echo "mode: stored reference $REF"
exec "$PY" "$SRC/scripts/ref_probes.py" "$M" --layerlab "$LAYERLAB" --from-ref "$REF" ${PROBES_RECORD:+--record "$PROBES_RECORD"}
