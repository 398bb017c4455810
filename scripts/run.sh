#!/usr/bin/env bash
# run.sh — the main job: "Transformer Layers as Painters" on the default model (SmolLM2-135M-Instruct),
# the quick profile (`study painters --quick`, about 6 minutes on 2 cores; README says what it leaves out).
# Installs only what the tool needs (scripts/setup.sh). A second run continues the same study (it is
# resumable: DIR/results.sqlite); the report is out/painters-quick/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
MODEL=.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf
build/layerlab info "$MODEL"
report=$(build/layerlab study painters "$MODEL" --quick --out out/painters-quick)
echo "report: $report"
