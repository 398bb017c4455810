#!/usr/bin/env bash
# SmolLM2-135M against stored PyTorch/transformers references (tests/ref/*_transformers.json, made by
# scripts/ref_transformers.py with the GGUF loaded dequantized): `logits --exact` on the same token ids
# must agree within 1e-3 x the logit range at every position (tests/check_logits_ref.py says why).
# Also `ppl --exact` against the NLL computed in numpy from the transformers logits (≤ 1e-4), and the
# chat answer to "What is the capital of France?" names Paris.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: numpy missing"; exit 77; }
MD=$(dirname "$SMOLLM2")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0; seen=0
for ref in "$SRC"/tests/ref/*_transformers.json; do
    model=$MD/$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['model'])" "$ref")
    if [ ! -f "$model" ]; then echo "FAIL: $model (for $ref) is missing" >&2; fail=$((fail+1)); continue; fi
    ids=$("$PY" -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['ids'])))" "$ref")
    "$LAYERLAB" logits "$model" --exact --ids "$ids" --out "$tmp/l.npy" 2>/dev/null
    if "$PY" "$SRC/tests/check_logits_ref.py" "$ref" "$tmp/l.npy"; then pass=$((pass+1)); else fail=$((fail+1)); fi
    seen=$((seen+1))
done
[ "$seen" -gt 0 ] || { echo "FAIL: no stored references found" >&2; fail=$((fail+1)); }

# perplexity against the transformers NLL over the same windows
PREF=$SRC/tests/ref/smollm2_ppl.json
if [ -f "$PREF" ]; then
    read -r file ctx want < <("$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['file'], r['ctx'], r['mean_nll'])" "$PREF")
    got=$("$LAYERLAB" ppl "$SMOLLM2" "$SRC/$file" --ctx "$ctx" --exact --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['mean_nll'])")
    echo "ppl mean_nll: layerlab $got, transformers $want (tolerance 1e-4: fp32 summation order only)"
    if "$PY" -c "import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 1e-4 else 1)" "$got" "$want"; then
        pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: ppl" >&2; fi
else
    echo "FAIL: $PREF missing" >&2; fail=$((fail+1))
fi

# chat
ans=$("$LAYERLAB" generate "$SMOLLM2" --chat -p "What is the capital of France?" -n 96 --temp 0 2>/dev/null)
echo "chat: $ans" | tail -n 3
if grep -q "Paris" <<<"$ans"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: chat answer lacks Paris" >&2; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
