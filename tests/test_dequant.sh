#!/usr/bin/env bash
# test_dequant.sh — `layerlab tensor` dequantizes every type bit for bit as gguf-py's numpy does.
#
# scripts/make_quant_fixture.py writes a GGUF with one tensor per type (random quants; fp16 scales
# that are normal, subnormal, zero, negative, inf or NaN) and numpy's gguf.quants.dequantize result for
# each. Every tensor is dumped with `layerlab tensor FILE NAME --out` and compared on the raw float32
# bits (a position may differ only if both values are NaN: payloads are not part of the contract).
# Also: --raw against GGUFReader's bytes, --list, --help, and the error paths.
# If $SMOLLM2 names the SmolLM2 GGUF, three of its real tensors (q8_0, q4_1, f32) are checked too.
# Needs python3 with numpy and gguf (exit 77 = skipped otherwise).
# ctest-labels: unit
set -euo pipefail

PY=${PYTHON:-python3}
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
: "${LAYERLAB:?LAYERLAB must point to the layerlab binary}"

if ! "$PY" -c 'import numpy, gguf' >/dev/null 2>&1; then
    echo "test_dequant: skipped: $PY cannot import numpy and gguf"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fx="$tmp/fixture"
"$PY" "$SRC/scripts/make_quant_fixture.py" "$fx" 2>/dev/null
gg="$fx/quants.gguf"
mkdir -p "$tmp/out" "$tmp/raw"

fail=0
n=0
for ref in "$fx"/*.npy; do
    name=$(basename "$ref" .npy)
    n=$((n + 1))
    if ! "$LAYERLAB" tensor "$gg" "$name" --out "$tmp/out/$name.npy"; then
        echo "FAIL: layerlab tensor $name --out exited non-zero"
        fail=1
    fi
    if ! "$LAYERLAB" tensor "$gg" "$name" --out "$tmp/raw/$name.npy" --raw; then
        echo "FAIL: layerlab tensor $name --raw exited non-zero"
        fail=1
    fi
done
[ "$n" -ge 13 ] || { echo "FAIL: fixture has only $n reference files"; exit 1; }

"$PY" - "$fx" "$tmp/out" "$tmp/raw" <<'EOF' || fail=1
import os, sys
import numpy as np
import gguf

fx, out, raw = sys.argv[1:4]
reader = gguf.GGUFReader(os.path.join(fx, "quants.gguf"))
tensors = {t.name: t for t in reader.tensors}
bad = 0
for f in sorted(os.listdir(fx)):
    if not f.endswith(".npy"):
        continue
    name = f[:-4]
    ref = np.load(os.path.join(fx, f))
    try:
        got = np.load(os.path.join(out, f))
    except OSError as e:
        print(f"FAIL {name}: {e}"); bad += 1; continue
    if got.dtype != np.float32 or got.shape != ref.shape:
        print(f"FAIL {name}: got {got.dtype}{got.shape}, want float32{ref.shape}"); bad += 1; continue
    rb, gb = ref.view(np.uint32), got.view(np.uint32)
    both_nan = np.isnan(ref) & np.isnan(got)
    diff = (rb != gb) & ~both_nan
    n_nan, n_inf, n_sub = int(np.isnan(ref).sum()), int(np.isinf(ref).sum()), \
        int(((np.abs(ref) < np.finfo(np.float32).tiny) & (ref != 0)).sum())
    if diff.any():
        idx = np.argwhere(diff)[0]
        print(f"FAIL {name}: {int(diff.sum())} of {ref.size} values differ; first at {tuple(idx)}: "
              f"layerlab {got[tuple(idx)]!r} ({gb[tuple(idx)]:#010x}) numpy {ref[tuple(idx)]!r} ({rb[tuple(idx)]:#010x})")
        bad += 1
    else:
        print(f"ok   {name:8s} {str(ref.shape):12s} bit-exact ({ref.size} values: {n_nan} NaN, {n_inf} inf, "
              f"{n_sub} f32-subnormal)")
    # --raw: the stored bytes, shaped as GGUFReader shapes quantized data
    t = tensors[name]
    want = np.asarray(t.data).view(np.uint8)
    want = want.reshape(*t.data.shape[:-1], -1)
    r = np.load(os.path.join(raw, f))
    if r.dtype != np.uint8 or r.shape != want.shape or not np.array_equal(r, want):
        print(f"FAIL {name} --raw: got {r.dtype}{r.shape}, want uint8{want.shape} equal to GGUFReader's bytes")
        bad += 1
sys.exit(1 if bad else 0)
EOF

# real tensors, when the model is around
if [ -n "${SMOLLM2:-}" ] && [ -f "$SMOLLM2" ]; then
    for t in token_embd.weight blk.0.ffn_down.weight blk.0.attn_norm.weight; do
        "$LAYERLAB" tensor "$SMOLLM2" "$t" --out "$tmp/real_$t.npy" || { echo "FAIL: layerlab tensor SmolLM2 $t"; fail=1; }
    done
    "$PY" - "$SMOLLM2" "$tmp" <<'EOF' || fail=1
import os, sys
import numpy as np
import gguf
from gguf.quants import dequantize
model, tmp = sys.argv[1:3]
bad = 0
for t in gguf.GGUFReader(model).tensors:
    f = os.path.join(tmp, f"real_{t.name}.npy")
    if not os.path.exists(f):
        continue
    ref = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
    got = np.load(f)
    ok = got.shape == ref.shape and np.array_equal(got.view(np.uint32), ref.view(np.uint32))
    print(f"{'ok  ' if ok else 'FAIL'} SmolLM2 {t.name} ({t.tensor_type.name}, {ref.shape}) {'bit-exact' if ok else 'differs'}")
    bad += not ok
sys.exit(1 if bad else 0)
EOF
fi

# --list: one line per tensor, name / type / numpy shape
"$LAYERLAB" tensor "$gg" --list >"$tmp/list.txt"
grep -qx $'q4_K\tq4_K\t150x512' "$tmp/list.txt" || { echo "FAIL: --list lacks 'q4_K q4_K 150x512'"; cat "$tmp/list.txt"; fail=1; }
grep -qx $'q4_0_3d\tq4_0\t3x4x64' "$tmp/list.txt" || { echo "FAIL: --list lacks the 3-D tensor"; fail=1; }
[ "$(wc -l <"$tmp/list.txt")" -eq "$n" ] || { echo "FAIL: --list has $(wc -l <"$tmp/list.txt") lines, want $n"; fail=1; }

# --help on stdout, exit 0
"$LAYERLAB" tensor --help | grep -q "usage: layerlab tensor" || { echo "FAIL: --help"; fail=1; }

# errors: exit 1 with one "layerlab: ..." message
expect_error() {
    local what=$1
    shift
    set +e
    "$@" >"$tmp/err.out" 2>"$tmp/err.txt"
    local rc=$?
    set -e
    if [ "$rc" -ne 1 ] || ! grep -q '^layerlab: ' "$tmp/err.txt"; then
        echo "FAIL: $what: exit $rc, stderr: $(head -c 300 "$tmp/err.txt")"
        fail=1
    fi
}
expect_error "unknown tensor" "$LAYERLAB" tensor "$gg" no.such.tensor --out "$tmp/x.npy"
expect_error "missing --out" "$LAYERLAB" tensor "$gg" q4_K
expect_error "missing model" "$LAYERLAB" tensor "$tmp/does-not-exist.gguf" --list
expect_error "not a gguf" "$LAYERLAB" tensor "$fx/q4_K.npy" --list
expect_error "unknown option" "$LAYERLAB" tensor "$gg" --frobnicate
expect_error "no arguments" "$LAYERLAB" tensor
[ ! -e "$tmp/x.npy" ] || { echo "FAIL: an output file was left behind after an error"; fail=1; }

if [ "$fail" -ne 0 ]; then
    echo "test_dequant: FAILED"
    exit 1
fi
echo "test_dequant: all $n tensors bit-exact against gguf.quants.dequantize"
