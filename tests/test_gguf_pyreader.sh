#!/usr/bin/env bash
# test_gguf_pyreader.sh — the file layerlab's GGUF writer produces (test_gguf_rw --write) must read back
# exactly with the reference Python reader (gguf package, GGUFReader). Skips (77) without numpy/gguf.
set -euo pipefail
: "${BUILD:?BUILD not set (run through ctest)}" "${SRC:?SRC not set (run through ctest)}"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import numpy, gguf' 2>/dev/null; then
    echo "test_gguf_pyreader: skipping: $PY cannot import numpy and gguf" >&2
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/test_gguf_rw" --write "$tmp/rw.gguf"
"$PY" "$SRC/scripts/check_gguf_pyreader.py" "$tmp/rw.gguf"
