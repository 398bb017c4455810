#!/usr/bin/env bash
# Batched items (issue 13 §4): `eval --batch-tokens N` runs consecutive items in one forward, each item on
# its own cache slots and positions, logits only on its scored rows. Every item's loglikelihoods, greedy
# flags and predictions (the --samples lines, compared as bytes: 17 significant digits) must equal those of
# one item per forward (--batch-tokens 0), whatever the packing (512, and 97 to cut batches at other items),
# for every loglikelihood task, both compute modes, under a plan with a repeated layer and a parallel group.
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
same() {  # NAME MODEL args...: samples at --batch-tokens 0, 512, 97 are identical
    local name=$1 model=$2; shift 2
    for b in 0 512 97; do
        if ! "$LAYERLAB" eval "$model" "$@" --threads 1 --batch-tokens $b --samples "$tmp/s$b.jsonl" --json > "$tmp/j$b.json" 2> "$tmp/err"; then
            echo "FAIL: $name --batch-tokens $b: $(tail -n 1 "$tmp/err")" >&2; fail=$((fail+1)); return
        fi
    done
    if cmp -s "$tmp/s0.jsonl" "$tmp/s512.jsonl" && cmp -s "$tmp/s0.jsonl" "$tmp/s97.jsonl" &&
       [ "$(grep -v seconds "$tmp/j0.json")" = "$(grep -v seconds "$tmp/j512.json")" ]; then
        pass=$((pass+1)); echo "ok: $name: $(wc -l < "$tmp/s0.jsonl") items identical batched and one by one"
    else echo "FAIL: $name: batched samples differ from one item per forward" >&2; fail=$((fail+1)); fi
}
for task in arc_easy arc_challenge hellaswag winogrande lambada_openai piqa boolq; do
    same "stories260K $task" "$S" --tokenizer "$T" --task $task --limit 40
done
same "stories260K arc_easy --llamacpp" "$S" --tokenizer "$T" --task arc_easy --limit 40 --llamacpp
same "stories260K winogrande, plan 0,1,1,[2,3],4" "$S" --tokenizer "$T" --task winogrande --limit 40 --plan "0,1,1,[2,3],4"
# --parallel-kv mean averages a group's K/V after each forward, so it runs one item per forward (batching off)
same "stories260K arc_easy, plan 0,[1,2],3,4 --parallel-kv mean" "$S" --tokenizer "$T" --task arc_easy --limit 40 --plan "0,[1,2],3,4" --parallel-kv mean
if [ -f "${SMOLLM2:-}" ]; then
    same "SmolLM2 hellaswag" "$SMOLLM2" --task hellaswag --limit 12
    same "SmolLM2 arc_easy --llamacpp" "$SMOLLM2" --task arc_easy --limit 12 --llamacpp
fi
echo "eval batching: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
