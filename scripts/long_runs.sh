#!/usr/bin/env bash
# The long measurement runs the docs report (docs/STUDIES.md), one after the other, each resuming from its
# store: the full Painters grid on SmolLM2-135M (issue 11), then the geometry study on arc_easy and on
# gsm8k (issue 12). Hours on 2 cores; run it in the background (nohup scripts/long_runs.sh STORE_DIR &) and
# run it again after an interruption: finished work is never redone. Progress goes to STORE_DIR/NAME.err.
# Needs scripts/setup.sh first (the model and build/layerlab).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-../studies}
mkdir -p "$OUT"
LL=build/layerlab
M=.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf
run() {  # NAME args...
    local name=$1; shift
    echo "== $name: $LL $* --out $OUT/$name ($(date -u +%FT%TZ))" >> "$OUT/$name.err"
    nice -n 5 "$LL" "$@" --out "$OUT/$name" >> "$OUT/$name.out" 2>> "$OUT/$name.err"
}
run painters-smollm2 study painters "$M" --tasks arc_easy,hellaswag,piqa,lambada_openai --limit 50 --seeds 3 \
    --starts 14..0 --ppl ../shared/data/wikitext2_test_raw.txt
run geometry-arc-easy study geometry "$M" --task arc_easy --limit 200 --shots 0,1,2,4,8
run geometry-gsm8k study geometry "$M" --task gsm8k --limit 50 --shots 0,4,8 --conditions fixed
echo "all done: $OUT"
