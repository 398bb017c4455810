#!/usr/bin/env bash
# RoPE scaling against stored PyTorch/transformers references. scripts/make_rope_variants.py writes two
# copies of SmolLM2 that differ only in RoPE scaling (linear factor 4; Llama 3.1 rope_freqs factors);
# scripts/ref_rope.py ran transformers on the unscaled file with the matching rope_parameters over 512
# ids and stored tests/ref/smollm2_rope_*.json. Here `logits --exact` on each variant must agree with its
# reference within 1e-3 x the logit range at every position (tests/check_logits_ref.py), and the
# unscaled model must NOT pass those references (they differ by ~1x the range), so a layerlab that
# ignored the scaling could not pass.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import numpy, gguf" 2>/dev/null || { echo "skip: $PY cannot import numpy and gguf"; exit 77; }
MD=$(dirname "$SMOLLM2")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
if "$PY" "$SRC/scripts/make_rope_variants.py" "$SMOLLM2" "$MD"; then pass=$((pass+1)); else
    fail=$((fail+1)); echo "FAIL: make_rope_variants.py" >&2; fi

field() { "$PY" -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(' '.join(map(str, v)) if isinstance(v, list) else v)" "$1" "$2"; }

for tag in linear4 llama3; do
    ref=$SRC/tests/ref/smollm2_rope_$tag.json
    if [ ! -f "$ref" ]; then echo "FAIL: $ref missing (scripts/ref_rope.py makes it)" >&2; fail=$((fail+1)); continue; fi
    model=$MD/$(field "$ref" model)
    if [ ! -f "$model" ]; then echo "FAIL: $model (for $ref) is missing" >&2; fail=$((fail+1)); continue; fi
    ids=$(field "$ref" ids)
    if "$LAYERLAB" logits "$model" --exact --ids "$ids" --out "$tmp/l.npy" 2>/dev/null &&
       "$PY" "$SRC/tests/check_logits_ref.py" "$ref" "$tmp/l.npy"; then pass=$((pass+1)); else
        fail=$((fail+1)); echo "FAIL: $tag" >&2; fi
    # negative control: the unscaled model on the same ids must be rejected by this reference
    rc=0; out=$("$LAYERLAB" logits "$SMOLLM2" --exact --ids "$ids" --out "$tmp/u.npy" 2>/dev/null &&
                "$PY" "$SRC/tests/check_logits_ref.py" "$ref" "$tmp/u.npy") || rc=$?
    if [ "$rc" -eq 1 ] && grep -q "^0 passed, 1 failed" <<<"$out"; then
        pass=$((pass+1)); echo "unscaled model against the $tag reference (must fail): ${out%%$'\n'*}"
    else
        fail=$((fail+1)); echo "FAIL: the unscaled model is not rejected by the $tag reference (rc $rc): $out" >&2
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
