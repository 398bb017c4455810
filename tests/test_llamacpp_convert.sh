#!/usr/bin/env bash
# The GGUF that `layerlab convert` writes from llama2.c's stories260K loads in llama.cpp
# (llama-cpp-python), and llama.cpp's logits agree with layerlab's on the same ids (F32 weights, so no
# activation quantization: top-1 ≥ 99% of positions and mean KL ≤ 1e-4), and llama.cpp's greedy
# continuation from BOS starts with the same text as layerlab's.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SHARED:?}"
PY=${PYTHON:-python3}
"$PY" -c "import llama_cpp, numpy" 2>/dev/null || { echo "skip: llama-cpp-python missing in $PY"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$LAYERLAB" convert "$SHARED/models/stories260K.bin" --tokenizer "$SHARED/models/tok512.bin" -o "$tmp/s.gguf" 2>/dev/null
"$LAYERLAB" tokenize "$tmp/s.gguf" --file "$SHARED/data/tinystories_val.txt" > "$tmp/all.txt"
awk '{for (i = 1; i <= 400 && i <= NF; i++) printf "%s ", $i}' "$tmp/all.txt" > "$tmp/ids.txt"
pass=0; fail=0
if "$PY" "$SRC/scripts/compare_llamacpp.py" "$tmp/s.gguf" --ids-file "$tmp/ids.txt" --layerlab "$LAYERLAB" \
        --min-top1 0.99 --max-kl 1e-4; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: logits" >&2; fi
ours=$("$LAYERLAB" generate "$tmp/s.gguf" --temp 0 -n 64 2>/dev/null)
theirs=$("$PY" - "$tmp/s.gguf" <<'PY'
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=64, n_threads=2, verbose=False)
out = llm.create_completion("", max_tokens=40, temperature=0)
print(out["choices"][0]["text"])
PY
)
echo "layerlab : ${ours:0:120}"
echo "llama.cpp: ${theirs:0:120}"
if [ "${ours:0:100}" = "${theirs:0:100}" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: greedy text differs" >&2; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
