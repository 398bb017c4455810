#!/usr/bin/env bash
# Determinism (issue 13 §5): the same inputs give bit-identical logits with 1, 2 and 3 threads and across
# runs, in both compute modes, for a batched prompt (the tiled GEMM and the row-split attention), for
# token-by-token decoding through the KV cache (the matrix-vector paths) and under a plan that repeats and
# reverses layers. The reference is the 1-thread run of the same build: a reduction split across threads
# that changed its summation order would change low bits and fail here (no tolerance: bits).
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
# a prompt long enough to cross the GEMM tiles and several attention blocks: 600 words of WikiText-2
TEXT=$(head -c 200000 "$SHARED/data/wikitext2_test_raw.txt" | tr -s ' \n' ' ' | cut -d' ' -f1000-1600)
check() {  # NAME MODEL args...: logits at 1, 2, 3 threads and 1 thread again, compared byte for byte
    local name=$1 model=$2; shift 2
    local ref="" sums=""
    for t in 1 2 3 1; do
        if ! "$LAYERLAB" logits "$model" "$@" --threads "$t" --out "$tmp/l.npy" 2> "$tmp/err"; then
            echo "FAIL: $name --threads $t: $(tail -n 1 "$tmp/err")" >&2; fail=$((fail+1)); return
        fi
        local h; h=$(md5sum < "$tmp/l.npy" | cut -c1-32)
        sums="$sums $t:${h:0:8}"
        [ -z "$ref" ] && ref=$h
        if [ "$h" != "$ref" ]; then echo "FAIL: $name: logits with --threads $t differ from 1 thread's ($sums)" >&2; fail=$((fail+1)); return; fi
    done
    pass=$((pass+1)); echo "ok: $name identical at 1, 2, 3 threads and again ($sums)"
}
if [ -f "${SMOLLM2:-}" ]; then
    for mode in --exact --llamacpp; do
        check "SmolLM2 $mode batch" "$SMOLLM2" --text "$TEXT" "$mode"
        check "SmolLM2 $mode incremental" "$SMOLLM2" --text "${TEXT:0:400}" --incremental "$mode"
        check "SmolLM2 $mode plan" "$SMOLLM2" --text "${TEXT:0:2000}" --plan "0-9,12,11,10,13-29" "$mode"
    done
else echo "note: SmolLM2 missing (scripts/setup.sh fetches it): stories260K only"; fi
if [ -f "$S" ] && [ -f "$T" ]; then
    for mode in --exact --llamacpp; do
        check "stories260K $mode batch" "$S" --tokenizer "$T" --text "${TEXT:0:700}" "$mode"
        check "stories260K $mode incremental" "$S" --tokenizer "$T" --text "${TEXT:0:300}" --incremental "$mode"
    done
fi
echo "determinism: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
