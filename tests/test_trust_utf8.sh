#!/usr/bin/env bash
# Finding 2 of issue 10: invalid UTF-8 must not become end-of-text, and a NUL must not cut a text.
#   - 480 invalid-UTF-8 strings (every byte 0x80..0xFF, truncated sequences, overlongs, lone surrogates,
#     4-byte forms above U+10FFFF, mixtures) give llama.cpp's token ids (llama-cpp-python) on SmolLM2
#     (byte-level BPE) and on llama.cpp's llama-spm test vocabulary (tests/check_utf8_llamacpp.py);
#   - the same bytes in an eval data file reach the model as llama.cpp would tokenize them: a lambada
#     item whose last word follows an invalid byte scores exactly as the same item with U+FFFD there;
#   - a \u0000 escape inside a JSON string of a data file is refused with file:line and column.
set -euo pipefail
: "${LAYERLAB:?}" "${SHARED:?}" "${SMOLLM2:?}" "${SRC:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import llama_cpp" 2>/dev/null || { echo "skip: llama-cpp-python missing"; exit 77; }
SPM=$SHARED/tokenizer-tests/ggml-vocab-llama-spm.gguf
[ -f "$SPM" ] || { echo "skip: $SPM missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }

if "$PY" "$SRC/tests/check_utf8_llamacpp.py" "$LAYERLAB" "$SMOLLM2" "$SPM"; then ok; else bad "token ids differ from llama.cpp"; fi

# eval: invalid bytes in a JSON file (raw bytes inside a JSON string) behave as U+FFFD
printf '{"context": "She opened the door and saw a \xff big", "continuation": "dog"}\n' > "$tmp/bad.jsonl"
printf '{"context": "She opened the door and saw a \xef\xbf\xbd big", "continuation": "dog"}\n' > "$tmp/fffd.jsonl"
a=$("$LAYERLAB" eval "$SMOLLM2" --task lambada_openai --data "$tmp/bad.jsonl" --samples "$tmp/a.jsonl" --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['perplexity'])" || echo fail-a)
b=$("$LAYERLAB" eval "$SMOLLM2" --task lambada_openai --data "$tmp/fffd.jsonl" --samples "$tmp/b.jsonl" --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['perplexity'])" || echo fail-b)
if [ "$a" = "$b" ] && [ "$a" != fail-a ]; then ok; echo "ok: lambada perplexity with 0xFF = with U+FFFD = $a"
else bad "eval with 0xFF ($a) differs from U+FFFD ($b)"; fi

# a \u0000 escape: refused with file:line: column, nothing printed
printf '{"context": "one two", "continuation": "three"}\n{"context": "four \\u0000 five", "continuation": "six"}\n' > "$tmp/nul.jsonl"
if "$LAYERLAB" eval "$SMOLLM2" --task lambada_openai --data "$tmp/nul.jsonl" > "$tmp/out" 2> "$tmp/err"; then bad "NUL escape: exit 0"
elif [ -s "$tmp/out" ]; then bad "NUL escape: printed a result"
elif grep -q "nul.jsonl:2: column 19: a \\\\u0000 (NUL)" "$tmp/err"; then ok; echo "ok: $(cat "$tmp/err")"
else bad "NUL escape: $(cat "$tmp/err")"; fi
# an escaped backslash followed by u0000 is text, not a NUL
printf '{"context": "four \\\\u0000 five", "continuation": "six"}\n' > "$tmp/notnul.jsonl"
if "$LAYERLAB" eval "$SMOLLM2" --task lambada_openai --data "$tmp/notnul.jsonl" > /dev/null 2>&1; then ok
else bad "an escaped backslash before u0000 was refused"; fi

# a raw NUL byte in HellaSwag's text format: refused with file:line, not cut
printf 'ctx: A man is\n0\nend one\nend \0two\nend three\nend four\n' > "$tmp/hs.txt"
if "$LAYERLAB" eval "$SMOLLM2" --task hellaswag --data "$tmp/hs.txt" > "$tmp/out" 2> "$tmp/err"; then bad "hellaswag NUL: exit 0"
elif grep -q "hs.txt:4: NUL byte in the line" "$tmp/err"; then ok; echo "ok: $(cat "$tmp/err")"
else bad "hellaswag NUL: $(cat "$tmp/err")"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
