#!/usr/bin/env bash
# SmolLM2-135M against llama.cpp (llama-cpp-python) on the same token ids, in layerlab's default mode:
# the same top-1 token at ≥ 99% of positions, with the mean KL divergence reported. Run on the shipped
# Q4_1 file and on the file requantized by llama.cpp to Q4_K_M, Q6_K and Q8_0 (made on first use).
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import llama_cpp, numpy" 2>/dev/null || { echo "skip: llama-cpp-python missing in $PY"; exit 77; }
MD=$(dirname "$SMOLLM2")
"$PY" "$SRC/scripts/requantize.py" "$SMOLLM2" "$MD"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$PY" -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['ids'])))" \
    "$SRC/tests/ref/smollm2_q4_1_transformers.json" > "$tmp/ids.txt"
pass=0; fail=0
stem=$(basename "$SMOLLM2" .Q4_1.gguf)
for m in "$SMOLLM2" "$MD/$stem.Q4_K_M.gguf" "$MD/$stem.Q6_K.gguf" "$MD/$stem.Q8_0.gguf"; do
    if "$PY" "$SRC/scripts/compare_llamacpp.py" "$m" --ids-file "$tmp/ids.txt" --layerlab "$LAYERLAB"; then
        pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $m" >&2; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
