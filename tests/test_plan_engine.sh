#!/usr/bin/env bash
# Plans in the engine, on SmolLM2-135M:
#  1. per-pass KV cache: feeding the tokens one at a time through the cache (logits --incremental) gives
#     the same logits as the batched forward (≤ 1e-4) under repeat and parallel plans — a cache shared by
#     the passes of one layer would corrupt the incremental run;
#  2. export: a plan written as a GGUF and run with 'full' gives bit-identical logits to the original run
#     with the plan (skip, reverse, random, middle_repeat, repeat_block), with block_count updated;
#  3. llama.cpp (if llama-cpp-python is there) loads exported files: on the F16 model (no activation
#     quantization noise; see docs/VALIDATION.md) it agrees on the top-1 token at ≥ 99% of positions;
#     on the shipped Q4_1 model the agreement is printed and held to the Q4_1 noise floor (≥ 90%).
#  4. --parallel-kv mean changes incremental decoding under a parallel plan (and only then).
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: numpy missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
ids=$("$PY" -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['ids'][:96])))" "$SRC/tests/ref/smollm2_q4_1_transformers.json")
maxdiff() { "$PY" -c "import numpy as np,sys; print(float(np.abs(np.load(sys.argv[1]).astype(np.float64)-np.load(sys.argv[2])).max()))" "$1" "$2"; }

for p in middle_repeat:10 repeat_block:12:2 repeat_each:12:3 parallel:11 looped_parallel:11:3 "0-5,[6,8-10]*2,11-29"; do
    "$LAYERLAB" logits "$SMOLLM2" --plan "$p" --ids "$ids" --out "$tmp/b.npy" 2>/dev/null
    "$LAYERLAB" logits "$SMOLLM2" --plan "$p" --ids "$ids" --out "$tmp/i.npy" --incremental 2>/dev/null
    d=$(maxdiff "$tmp/b.npy" "$tmp/i.npy")
    echo "incremental vs batch, $p: max |dlogit| = $d (bound 1e-4)"
    if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 1e-4 else 1)" "$d"; then ok; else bad "incremental $p"; fi
done

for p in skip:10 reverse:8 random:5:0 middle_repeat:12 repeat_block:12:2; do
    "$LAYERLAB" export "$SMOLLM2" --plan "$p" -o "$tmp/x.gguf" 2>/dev/null
    "$LAYERLAB" logits "$SMOLLM2" --plan "$p" --ids "$ids" --out "$tmp/a.npy" 2>/dev/null
    "$LAYERLAB" logits "$tmp/x.gguf" --ids "$ids" --out "$tmp/b.npy" 2>/dev/null
    want=$("$LAYERLAB" plan --layers 30 --plan "$p" --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['entries'])")
    got=$("$LAYERLAB" info "$tmp/x.gguf" --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['n_layer'])")
    if cmp -s "$tmp/a.npy" "$tmp/b.npy" && [ "$want" = "$got" ]; then ok; echo "export $p: bit-identical, $got blocks";
    else bad "export $p (blocks $got, want $want)"; fi
done
if "$LAYERLAB" export "$SMOLLM2" --plan parallel:11 -o "$tmp/p.gguf" 2>"$tmp/err"; then bad "export accepted a parallel plan";
else grep -q "parallel group" "$tmp/err" && ok || bad "export error: $(cat "$tmp/err")"; fi

# --parallel-kv mean: same as own for the batched prompt; changes incremental decoding
"$LAYERLAB" logits "$SMOLLM2" --plan parallel:11 --ids "$ids" --out "$tmp/own.npy" --incremental 2>/dev/null
"$LAYERLAB" logits "$SMOLLM2" --plan parallel:11 --ids "$ids" --out "$tmp/mean.npy" --incremental --parallel-kv mean 2>/dev/null
"$LAYERLAB" logits "$SMOLLM2" --plan parallel:11 --ids "$ids" --out "$tmp/meanb.npy" --parallel-kv mean 2>/dev/null
d1=$(maxdiff "$tmp/own.npy" "$tmp/mean.npy"); d2=$(maxdiff "$tmp/own.npy" "$tmp/meanb.npy")
echo "--parallel-kv mean: incremental differs by $d1 (must be > 0.01), batched prompt by $d2 (must be 0)"
if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.01 and float(sys.argv[2]) == 0 else 1)" "$d1" "$d2"; then ok; else bad "parallel-kv mean"; fi

if "$PY" -c "import llama_cpp" 2>/dev/null; then
    MD=$(dirname "$SMOLLM2"); stem=$(basename "$SMOLLM2" .Q4_1.gguf)
    "$PY" "$SRC/scripts/requantize.py" "$SMOLLM2" "$MD" 2>/dev/null
    echo "$ids" > "$tmp/ids.txt"
    for p in skip:10 reverse:8 random:5:0; do
        "$LAYERLAB" export "$MD/$stem.F16.gguf" --plan "$p" -o "$tmp/f.gguf" 2>/dev/null
        if "$PY" "$SRC/scripts/compare_llamacpp.py" "$tmp/f.gguf" --ids-file "$tmp/ids.txt" --layerlab "$LAYERLAB" --min-top1 0.99 --max-kl 1e-4; then ok; else bad "llama.cpp on F16 export $p"; fi
        # Q4_1 with llama.cpp's 8-bit activations: on degraded plans llama.cpp disagrees with itself (batch vs
        # one-by-one; AVX2 build, random:5:0: top-1 0.917, mean KL 0.0064), so the bound is 0.90 / 2e-2 or its
        # own agreement less 3 of 96 positions / twice its own KL, whichever is looser (--self-floor)
        "$LAYERLAB" export "$SMOLLM2" --plan "$p" -o "$tmp/q.gguf" 2>/dev/null
        if "$PY" "$SRC/scripts/compare_llamacpp.py" "$tmp/q.gguf" --ids-file "$tmp/ids.txt" --layerlab "$LAYERLAB" --min-top1 0.90 --max-kl 2e-2 --self-floor; then ok; else bad "llama.cpp on Q4_1 export $p"; fi
    done
else
    echo "note: llama-cpp-python missing; llama.cpp checks of exported files not run"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
