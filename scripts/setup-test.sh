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
if ! .venv/bin/python -c "import numpy, gguf, llama_cpp, skdim" 2>/dev/null; then
    log "installing numpy, gguf, llama-cpp-python and scikit-dimension into .venv (builds llama.cpp: a few minutes)"
    .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
fi
