#!/usr/bin/env bash
# SmolLM2-135M against llama.cpp (llama-cpp-python) on the same 256 token ids, in layerlab's default mode
# (activations converted to each weight type's dot-product type, fp16 KV as llama.cpp keeps it).
#
# F16 (the Q4_1 weights dequantized by llama.cpp's quantizer): the forward pass itself must agree:
#   top-1 ≥ 99% of positions and mean KL ≤ 1e-4 (measured: 99.6%, 2.8e-6).
# Q4_1 (shipped), Q4_K_M, Q6_K, Q8_0 (requantized by llama.cpp): the 8-bit activation rounding in both
#   programs amplifies 1-ulp differences chaotically through this model's large activations (~650), so
#   exact agreement is not possible; llama.cpp disagrees with ITSELF between batched and one-token-at-a-time
#   evaluation at this level (Q4_1: top-1 93.8%, mean KL 3.5e-3; see docs/VALIDATION.md). Asserted: mean
#   KL ≤ 1e-2 and top-1 ≥ 90%, the observed noise floor with margin; the figures are printed.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import llama_cpp, numpy" 2>/dev/null || { echo "skip: llama-cpp-python missing in $PY"; exit 77; }
MD=$(dirname "$SMOLLM2")
"$PY" "$SRC/scripts/requantize.py" "$SMOLLM2" "$MD" 2>/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$PY" -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['ids'])))" \
    "$SRC/tests/ref/smollm2_q4_1_transformers.json" > "$tmp/ids.txt"
pass=0; fail=0
stem=$(basename "$SMOLLM2" .Q4_1.gguf)
run() { # model, extra args
    local m=$1; shift
    if "$PY" "$SRC/scripts/compare_llamacpp.py" "$m" --ids-file "$tmp/ids.txt" --layerlab "$LAYERLAB" "$@"; then
        pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $m" >&2; fi
}
run "$MD/$stem.F16.gguf" --min-top1 0.99 --max-kl 1e-4
for q in Q4_1 Q4_K_M Q6_K Q8_0; do
    run "$MD/$stem.$q.gguf" --min-top1 0.90 --max-kl 1e-2
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
