#!/usr/bin/env bash
# run.sh — the main job on the default model (SmolLM2-135M-Instruct): set up, show the model, generate,
# and measure perplexity on the first 8k tokens of WikiText-2. Later issues make this the full study.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
MODEL=.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p out
build/layerlab info "$MODEL"
build/layerlab generate "$MODEL" --chat -p "What is the capital of France?" -n 128 --temp 0
build/layerlab ppl "$MODEL" ../shared/data/wikitext2_test_raw.txt --ctx 1024 --max-tokens 8192 --json | tee out/ppl_smollm2_wikitext2.json
