#!/usr/bin/env bash
# Layer plans on the BERT encoder all-MiniLM-L6-v2 against stored PyTorch/transformers references
# (tests/ref/plans/minilm_*.json, made by scripts/ref_plans_bert.py: BertModel's encoder.layer rebuilt in the
# plan's order, parallel groups averaged, the order checked against the paper's rules; two SST-2 dev sentences
# as [CLS] ... [SEP]): `embed DIR --ids ... --pool none --plan P` (exact fp32, the default) must agree within
# 1e-4 x the hidden state's range at every position (tests/check_hidden_ref.py). numpy only.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}"
PY=${PYTHON:-python3}
M="$SRC/.cache/models/all-MiniLM-L6-v2"
[ -f "$M/model.safetensors" ] || { echo "skip: $M missing (scripts/setup-test.sh)"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: numpy missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
want_sha=""
pass=0; fail=0; seen=0
for ref in "$SRC"/tests/ref/plans/minilm_*.json; do
    [ -e "$ref" ] || continue
    seen=$((seen+1))
    read -r plan sha n < <("$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['plan'], r['model_sha256'], len(r['ids']))" "$ref")
    if [ -z "$want_sha" ]; then want_sha=$(sha256sum "$M/model.safetensors" | cut -d' ' -f1); fi
    if [ "$sha" != "$want_sha" ]; then
        echo "FAIL: $ref was made from a model.safetensors with sha256 $sha, $M has $want_sha" >&2; fail=$((fail+1)); continue
    fi
    echo "plan $plan:"
    outs=(); ok=1
    for ((k = 0; k < n; k++)); do
        ids=$("$PY" -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['ids'][int(sys.argv[2])])))" "$ref" "$k")
        if ! "$LAYERLAB" embed "$M" --ids "$ids" --pool none --plan "$plan" --out "$tmp/h$k.npy" 2>"$tmp/err"; then
            cat "$tmp/err" >&2; ok=0; break
        fi
        outs+=("$tmp/h$k.npy")
    done
    if [ "$ok" = 1 ] && "$PY" "$SRC/tests/check_hidden_ref.py" "$ref" "${outs[@]}"; then
        pass=$((pass+1))
    else
        echo "FAIL: plan $plan ($ref)" >&2; fail=$((fail+1))
    fi
done
[ "$seen" -gt 0 ] || { echo "FAIL: no stored references $SRC/tests/ref/plans/minilm_*.json" >&2; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
