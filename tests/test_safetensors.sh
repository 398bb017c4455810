#!/usr/bin/env bash
# test_safetensors.sh — layerlab's safetensors reader against the reference reader (the safetensors package):
# synthetic files of every float dtype, scalars, empty tensors, metadata, integer tensors (raw), 16 malformed
# files (each refused with its message), and all-MiniLM-L6-v2's model.safetensors (.cache/models, from
# scripts/setup-test.sh): every tensor listed and read bit for bit as the reference reads it
# (scripts/check_safetensors.py). Skips (77) without numpy and safetensors.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import numpy, safetensors' 2>/dev/null; then
    echo "test_safetensors: skipping: $PY cannot import numpy and safetensors" >&2
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" "$SRC/scripts/check_safetensors.py" "$LAYERLAB" --synthetic "$tmp"
M="$SRC/.cache/models/all-MiniLM-L6-v2/model.safetensors"
if [ -f "$M" ]; then
    "$PY" "$SRC/scripts/check_safetensors.py" "$LAYERLAB" "$M"
else
    echo "test_safetensors: $M missing (scripts/setup-test.sh fetches it); synthetic files only" >&2
fi
echo "test_safetensors: passed"
