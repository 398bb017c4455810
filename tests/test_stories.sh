#!/usr/bin/env bash
# ctest-labels: unit
# stories260K (llama2.c checkpoint in ../shared/models): greedy generation from the .bin and from its
# converted GGUF must be identical and begin with the continuation llama2.c's reference run.c produces
# (quoted in ../shared/README.md). Also: the converted GGUF loads in the gguf package's GGUFReader with
# the expected metadata, and `info` agrees on both files.
set -euo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
M=$SHARED/models/stories260K.bin
T=$SHARED/models/tok512.bin
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1" >&2; fi; }

expected="Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high."
"$LAYERLAB" generate "$M" --tokenizer "$T" --temp 0 -n 256 > "$tmp/bin.txt"
"$LAYERLAB" convert "$M" --tokenizer "$T" -o "$tmp/stories.gguf"
"$LAYERLAB" generate "$tmp/stories.gguf" --temp 0 -n 256 > "$tmp/gguf.txt"
head -c 300 "$tmp/bin.txt" >&2; echo >&2
check "bin generation starts with run.c's text" '[ "$(head -c ${#expected} "$tmp/bin.txt")" = "$expected" ]'
check "gguf generation identical to bin" 'cmp -s "$tmp/bin.txt" "$tmp/gguf.txt"'

"$LAYERLAB" info "$M" --tokenizer "$T" --json > "$tmp/i1.json"
"$LAYERLAB" info "$tmp/stories.gguf" --json > "$tmp/i2.json"
for k in arch n_layer n_embd n_head n_head_kv n_vocab n_ctx n_params; do
    a=$(grep "\"$k\"" "$tmp/i1.json" | head -n1 | tr -d ' ,'); b=$(grep "\"$k\"" "$tmp/i2.json" | head -n1 | tr -d ' ,')
    check "info $k agrees ($a vs $b)" '[ "$a" = "$b" ]'
done
check "n_layer is 5" 'grep -q "\"n_layer\":[[:space:]]*5" "$tmp/i1.json"'

# sampled generation is reproducible with a seed, and differs between seeds
"$LAYERLAB" generate "$M" --tokenizer "$T" --seed 42 -n 64 > "$tmp/s1.txt"
"$LAYERLAB" generate "$tmp/stories.gguf" --seed 42 -n 64 > "$tmp/s2.txt"
check "seeded sampling identical on bin and gguf" 'cmp -s "$tmp/s1.txt" "$tmp/s2.txt"'

# the converted file in the gguf package's reader
if "${PYTHON:-python3}" -c "import gguf" 2>/dev/null; then
    check "GGUFReader reads the converted file" '"${PYTHON:-python3}" - "$tmp/stories.gguf" <<"PY"
import sys
from gguf import GGUFReader
r = GGUFReader(sys.argv[1])
f = r.fields
assert bytes(f["general.architecture"].parts[-1]).decode() == "llama"
assert int(f["llama.block_count"].parts[-1][0]) == 5
assert len(f["tokenizer.ggml.tokens"].data) == 512
toks = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode() for i in f["tokenizer.ggml.tokens"].data]
assert toks[1] == "<s>" and toks[2] == "</s>", toks[:4]
assert len(r.tensors) == 2 + 9 * 5, len(r.tensors)  # embedding (tied head), final norm, 9 per layer
PY'
fi
# run.c's -n N: N forwards, each printing the token sampled after it, so BOS plus N tokens; with a prompt of
# k tokens after BOS, k of those N are the prompt's. (layerlab printed one fewer before issue 11.)
for spec in "20||1 prompt + 20 generated" "20|Once upon|3 prompt + 18 generated" "7|Once|2 prompt + 6 generated"; do
    IFS='|' read -r n p want <<<"$spec"
    args=(generate "$M" --tokenizer "$T" --temp 0 -n "$n"); [ -n "$p" ] && args+=(-p "$p")
    "$LAYERLAB" "${args[@]}" > "$tmp/g.txt" 2> "$tmp/g.err"
    if grep -q "$want tokens" "$tmp/g.err"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: -n $n -p '$p': $(cat "$tmp/g.err")" >&2; fi
done
# and the text of -n 20 is a prefix of the run.c continuation, one word-piece longer than 19 gives
a=$("$LAYERLAB" generate "$M" --tokenizer "$T" --temp 0 -n 19 2>/dev/null); b=$("$LAYERLAB" generate "$M" --tokenizer "$T" --temp 0 -n 20 2>/dev/null)
if [ "${#b}" -gt "${#a}" ] && [ "${b#"$a"}" != "$b" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: -n 20 does not extend -n 19" >&2; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
