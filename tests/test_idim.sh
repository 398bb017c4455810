#!/usr/bin/env bash
# test_idim.sh — `layerlab probe intrinsic-dim --input X.npy` against scikit-dimension.
#
# scripts/ref_idim.py makes 8 point clouds of known dimension (d = 2, 5, 10, 20 in D = 64 and 768) and
# checks TwoNN, MLE and PCA against scikit-dimension (1% relative) and TwoNN-ML and the participation
# ratio against their numpy closed forms (1e-6 relative). Then: duplicate rows are removed and counted
# (and change nothing else), --out .npy/.csv hold what --json prints, --help, and the error paths (one
# `layerlab: ` line, exit 1).
# Needs $PYTHON with numpy and scikit-dimension (exit 77 = skipped otherwise).
set -uo pipefail

PY=${PYTHON:-python3}
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
: "${LAYERLAB:?LAYERLAB must point to the layerlab binary}"

if ! "$PY" -c 'import numpy, skdim' >/dev/null 2>&1; then
    echo "test_idim: skipped: $PY cannot import numpy and skdim (pip install -r scripts/requirements-test.txt)"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# 1. the reference comparison
if "$PY" "$SRC/scripts/ref_idim.py" "$tmp/clouds" --layerlab "$LAYERLAB"; then ok; else bad "scripts/ref_idim.py"; fi

# 2. duplicates, --out, the table
"$PY" - "$tmp" <<'EOF'
import sys
import numpy as np
tmp = sys.argv[1]
rng = np.random.default_rng(7)
X = rng.uniform(size=(300, 3)) @ rng.standard_normal((3, 16))
np.save(f"{tmp}/small.npy", X)
# 41 exact copies of earlier rows appended (row 5 at least twice); the first occurrences are the rows kept
dup = np.concatenate([X, X[rng.integers(0, 300, 39)], X[[5]], X[[5]]])
np.save(f"{tmp}/small_dup.npy", dup)
np.save(f"{tmp}/small_f32.npy", X.astype(np.float32))
np.save(f"{tmp}/one_d.npy", np.array([0.5, 1.5]))
Xn = X.copy(); Xn[17, 4] = np.nan
np.save(f"{tmp}/nan.npy", Xn)
Xi = X.copy(); Xi[3, 0] = -np.inf
np.save(f"{tmp}/inf.npy", Xi)
np.save(f"{tmp}/few.npy", X[:21])
np.save(f"{tmp}/allsame.npy", np.ones((50, 4)))
EOF
"$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --json >"$tmp/a.json" &&
    "$LAYERLAB" probe intrinsic-dim --input "$tmp/small_dup.npy" --json >"$tmp/b.json" &&
    "$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --json --out "$tmp/o.npy" >"$tmp/c.json" &&
    "$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --out "$tmp/o.csv" >"$tmp/csv.stdout" &&
    "$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" >"$tmp/table.txt" &&
    "$LAYERLAB" probe intrinsic-dim --input "$tmp/small_f32.npy" --k 10 --alpha 0.2 --json >"$tmp/f.json" ||
    bad "a probe intrinsic-dim run on the small clouds exited non-zero"
if "$PY" - "$tmp" <<'EOF'
import json, sys
import numpy as np
tmp = sys.argv[1]
a, b, c, f = (json.load(open(f"{tmp}/{n}.json")) for n in "abcf")
keys = ["twonn", "twonn_ml", "mle", "pca", "participation_ratio"]
bad = []
if (a["n_points"], a["n_duplicates"]) != (300, 0): bad.append(f"small: n_points/n_duplicates {a['n_points']}/{a['n_duplicates']}")
if (b["n_points"], b["n_duplicates"]) != (300, 41): bad.append(f"dup: n_points/n_duplicates {b['n_points']}/{b['n_duplicates']}, want 300/41")
# the kept rows are the original rows in the original order: the same computation, bit for bit
if [a[k] for k in keys] != [b[k] for k in keys]: bad.append(f"duplicates changed the estimates: {a} vs {b}")
for k in ["k", "alpha", "input", "n_features", "provenance"]:
    if k not in a: bad.append(f"--json lacks '{k}'")
if a.get("provenance", {}).get("tool") != "layerlab" or "version" not in a.get("provenance", {}): bad.append("provenance")
if (a["k"], a["alpha"], a["pca"]) != (20, 0.05, 3): bad.append(f"k/alpha/pca {a['k']}/{a['alpha']}/{a['pca']}, want 20/0.05/3")
if (f["k"], f["alpha"]) != (10, 0.2): bad.append("--k/--alpha not taken")
# cJSON prints 15 significant digits when they read back within an ulp or so; .npy and .csv are exact
close = lambda u, v: all(abs(x - y) <= 1e-14 * abs(y) for x, y in zip(u, v)) and len(u) == len(v)
o = np.load(f"{tmp}/o.npy")
if o.dtype != np.float64 or o.shape != (5,) or not close(list(o), [c[k] for k in keys]):
    bad.append(f"--out .npy {o!r} vs {c}")
rows = open(f"{tmp}/o.csv").read().splitlines()
if len(rows) != 2 or rows[0] != ",".join(keys) or [float(x) for x in rows[1].split(",")] != list(o):
    bad.append(f"--out .csv: {rows} (want the .npy values {list(o)})")
if open(f"{tmp}/csv.stdout").read(): bad.append("--out without --json printed to stdout")
t = open(f"{tmp}/table.txt").read()
if "TwoNN" not in t or "participation ratio" not in t or "300 points" not in t: bad.append(f"table: {t}")
for m in bad: print("FAIL:", m)
sys.exit(1 if bad else 0)
EOF
then ok; else bad "duplicates / outputs"; fi

"$LAYERLAB" probe intrinsic-dim --help | grep -q "layerlab probe intrinsic-dim --input X.npy" && ok || bad "probe intrinsic-dim --help"
"$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --help | grep -q "^usage: layerlab probe intrinsic-dim --input" &&
    ok || bad "probe intrinsic-dim --input F --help"

# 3. errors: exit 1 with one "layerlab: " line naming the problem
expect_error() { # what expected-substring command...
    local what=$1 want=$2
    shift 2
    "$@" >"$tmp/err.out" 2>"$tmp/err.txt"
    local rc=$?
    if [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err.txt")" -eq 1 ] && grep -q '^layerlab: ' "$tmp/err.txt" &&
        grep -qF -- "$want" "$tmp/err.txt"; then
        ok
    else
        bad "$what: exit $rc, stderr: $(head -c 300 "$tmp/err.txt") (want '$want')"
    fi
}
printf 'this is not a .npy file\n' >"$tmp/not.npy"
expect_error "1-D array of 2 values" "a single point" "$LAYERLAB" probe intrinsic-dim --input "$tmp/one_d.npy"
expect_error "not a .npy" "not a .npy file" "$LAYERLAB" probe intrinsic-dim --input "$tmp/not.npy"
expect_error "NaN" "row 17 (0-based), column 4 is NaN" "$LAYERLAB" probe intrinsic-dim --input "$tmp/nan.npy"
expect_error "inf" "row 3 (0-based), column 0 is infinite" "$LAYERLAB" probe intrinsic-dim --input "$tmp/inf.npy"
expect_error "too few points" "needs at least k + 2 = 22" "$LAYERLAB" probe intrinsic-dim --input "$tmp/few.npy"
expect_error "all rows equal" "1 distinct point (of 50 rows) is too few" "$LAYERLAB" probe intrinsic-dim --input "$tmp/allsame.npy"
expect_error "missing file" "cannot open" "$LAYERLAB" probe intrinsic-dim --input "$tmp/nope.npy"
expect_error "--k 1" "out of range" "$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --k 1
expect_error "--alpha 0" "strictly between 0 and 1" "$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --alpha 0
expect_error "--out .txt" "must end in .npy or .csv" "$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --out "$tmp/x.txt"
expect_error "unknown option" "unknown option '--frob'" "$LAYERLAB" probe intrinsic-dim --input "$tmp/small.npy" --frob
[ ! -e "$tmp/x.txt" ] && ok || bad "an output file was left behind after an error"

echo "test_idim: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
