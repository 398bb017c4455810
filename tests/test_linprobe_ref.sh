#!/usr/bin/env bash
# test_linprobe_ref.sh — the A.9 linear probe (src/study/linprobe.c) against independent references, through the
# C driver build/test_linprobe (scripts/check_linprobe.py): 25 AdamW steps vs a numpy transcription of
# torch.optim.AdamW (1e-12), the N(0, 0.02^2) initialisation (KS test), converged L2-penalised training vs
# scikit-learn's LogisticRegression at the same objective (binary SST-2 bag-of-words, 3-class blobs, with and
# without standardisation; 1e-3 max |prob diff|), and the A.9 defaults' 5-fold CV accuracy on SST-2 dev vs
# scikit-learn's on the same folds (4 points). Features are built from ../shared/data/sst2_dev.tsv into a
# temporary directory. Needs $PYTHON with numpy, scipy and scikit-learn (exit 77 = skipped otherwise).
# ctest-labels: unit
set -uo pipefail
PY=${PYTHON:-python3}
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
: "${BUILD:?BUILD must point to the build directory}" "${SHARED:?SHARED must point to ../shared}"
DRIVER="$BUILD/test_linprobe"
TSV="$SHARED/data/sst2_dev.tsv"

if ! "$PY" -c 'import numpy, scipy, sklearn' >/dev/null 2>&1; then
    echo "test_linprobe_ref: skipped: $PY cannot import numpy, scipy and sklearn (pip install -r scripts/requirements-test.txt)"
    exit 77
fi
[ -x "$DRIVER" ] || { echo "test_linprobe_ref: $DRIVER missing (build the tests first)"; exit 1; }
[ -f "$TSV" ] || { echo "test_linprobe_ref: $TSV missing (../shared must sit beside the repository)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if "$PY" "$SRC/scripts/check_linprobe.py" "$DRIVER" "$TSV" "$tmp"; then ok; else bad "scripts/check_linprobe.py"; fi

# the driver's own errors: one line, exit 1 (the library's messages are checked by test_linprobe.c)
printf 'not npy\n' >"$tmp/bad.npy"
if ! "$DRIVER" cv "$tmp/bad.npy" "$tmp/bad.npy" "$tmp" 2>"$tmp/err.txt" && grep -q "not a .npy file" "$tmp/err.txt"; then
    ok
else
    bad "a bad .npy: $(cat "$tmp/err.txt")"
fi
"$PY" -c "import numpy as np; np.save('$tmp/x.npy', np.ones((4, 3), np.float32)); np.save('$tmp/y.npy', np.array([0., 1, 0, 1]))"
if ! "$DRIVER" cv "$tmp/x.npy" "$tmp/y.npy" "$tmp" 2>"$tmp/err.txt" && grep -q "4 items are fewer than the 5 folds" "$tmp/err.txt"; then
    ok
else
    bad "n < folds: $(cat "$tmp/err.txt")"
fi

echo "test_linprobe_ref: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
