#!/usr/bin/env bash
# Layer plans on SmolLM2-135M against stored PyTorch/transformers references (tests/ref/plans/*.json, made
# by scripts/ref_plans.py: the decoder's layer list rebuilt in the plan's order, parallel groups averaged,
# the plan's order checked against the paper's rules): `logits --exact --plan P` on the same token ids must
# agree within 1e-3 x the logit range at every position (tests/check_logits_ref.py).
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: numpy missing"; exit 77; }
MD=$(dirname "$SMOLLM2")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
field() { "$PY" -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(' '.join(map(str, v)) if isinstance(v, list) else v)" "$1" "$2"; }
pass=0; fail=0; seen=0
for ref in "$SRC"/tests/ref/plans/*.json; do
    [ -e "$ref" ] || continue
    case $(basename "$ref") in minilm_*) continue ;; esac   # BERT encoder, no logits: tests/test_plans_bert.sh
    seen=$((seen+1))
    plan=$(field "$ref" plan)
    model=$MD/$(field "$ref" model)
    if [ ! -f "$model" ]; then echo "FAIL: $model (for $ref) is missing" >&2; fail=$((fail+1)); continue; fi
    ids=$(field "$ref" ids)
    echo "plan $plan:"
    if "$LAYERLAB" logits "$model" --exact --plan "$plan" --ids "$ids" --out "$tmp/l.npy" 2>"$tmp/err" &&
       "$PY" "$SRC/tests/check_logits_ref.py" "$ref" "$tmp/l.npy"; then
        pass=$((pass+1))
    else
        cat "$tmp/err" >&2; echo "FAIL: plan $plan ($ref)" >&2; fail=$((fail+1))
    fi
done
[ "$seen" -gt 0 ] || { echo "FAIL: no stored references in $SRC/tests/ref/plans" >&2; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
