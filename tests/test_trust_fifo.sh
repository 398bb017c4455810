#!/usr/bin/env bash
# Finding 6 of issue 10: an input that is not a regular file is refused before it is read: a FIFO (which
# would block until a writer came), a directory, a character device. Every input path of every command is
# tried with a FIFO that nobody writes; each must exit 1 within 10 s naming the path and what it is.
# ctest-labels: unit
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
F=$tmp/fifo
mkfifo "$F"
"$LAYERLAB" convert "$S" --tokenizer "$T" -o "$tmp/s.gguf" 2>/dev/null || { echo "convert failed"; exit 1; }
M=$tmp/s.gguf
try() {  # KIND-PATTERN cmd...
    local pat=$1; shift
    timeout 10 "$@" > "$tmp/out" 2> "$tmp/err"; local rc=$?
    if [ $rc = 124 ]; then bad "'$*' hangs"
    elif [ $rc != 1 ]; then bad "'$*' exit $rc: $(tail -n 1 "$tmp/err")"
    elif ! grep -q "$pat" "$tmp/err"; then bad "'$*': $(tail -n 1 "$tmp/err")"
    else ok; fi
}
for X in "$F|is a FIFO" "$tmp|is a directory" "/dev/null|is a character device"; do
    IFS='|' read -r p what <<<"$X"
    # a directory in the MODEL position is a Hugging Face model directory: refused for what it lacks
    if [ "$what" = "is a directory" ]; then
        try "is a directory without model.safetensors" "$LAYERLAB" info "$p"
        try "is a directory (a Hugging Face model); --tokenizer is for llama2.c" "$LAYERLAB" convert "$p" --tokenizer "$T" -o "$tmp/c.gguf"
        what="is a directory, not a regular file"
    else
        what="$what, not a regular file"
        try "$what" "$LAYERLAB" info "$p"
        try "$what" "$LAYERLAB" convert "$p" --tokenizer "$T" -o "$tmp/c.gguf"
    fi
    try "$what" "$LAYERLAB" info "$S" --tokenizer "$p"
    try "$what" "$LAYERLAB" tokenize "$M" --file "$p"
    try "$what" "$LAYERLAB" logits "$M" --file "$p" --out "$tmp/l.npy"
    try "$what" "$LAYERLAB" ppl "$M" "$p"
    try "$what" "$LAYERLAB" eval "$M" --task arc_easy --data "$p"
    try "$what" "$LAYERLAB" eval "$M" --task hellaswag --data "$p"
    try "$what" "$LAYERLAB" eval "$M" --task gsm8k --data "$SHARED/data/gsm8k_test.jsonl" --fewshot-data "$p" --limit 1
    try "$what" "$LAYERLAB" eval "$M" --task ppl --data "$p"
    try "$what" "$LAYERLAB" probe cosine "$M" --file "$p"
    try "$what" "$LAYERLAB" probe intrinsic-dim --input "$p"
    try "$what" "$LAYERLAB" tensor "$p" --list
    echo "ok: $what: $(tail -n 1 "$tmp/err")"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
