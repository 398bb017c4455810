#!/usr/bin/env bash
# ctest-labels: unit
# `layerlab regions-bound N d` (log-domain sums of binomials in C) against exact integer arithmetic in
# Python (math.comb): R(N,d) = sum_{i<=d} C(N,i), R0(N,d) = 2 sum_{i<d} C(N-1,i). Tolerance 1e-9 on log10:
# lgamma-based log-sum-exp in double loses only rounding; the check values R(50,2) = 1276,
# R(50,10) ~ 1.34e10 and R(500,5) ~ 2.58e11 are from the geometric paper's protocol notes.
set -euo pipefail
: "${LAYERLAB:?}"
fail=0
for nd in "50 2" "50 10" "500 5" "100 20" "3 5" "1 1" "4096 64" "1536 576" "10 0"; do
    set -- $nd
    out=$("$LAYERLAB" regions-bound "$1" "$2" --json)
    python3 - "$1" "$2" "$out" <<'PY' || fail=1
import json, sys
from math import comb, log10
N, d = int(sys.argv[1]), int(sys.argv[2]); j = json.loads(sys.argv[3])
def lg(x):  # log10 of a big int without float overflow
    s = str(x); return log10(int(s[:17])) + len(s) - 17 if len(s) > 17 else log10(x)
R = sum(comb(N, i) for i in range(0, min(d, N) + 1))
R0 = 2 * sum(comb(N - 1, i) for i in range(0, d))
ok = abs(j["log10_R"] - lg(R)) <= 1e-9 and ((R0 == 0 and j["log10_R0"] is None) or abs(j["log10_R0"] - lg(R0)) <= 1e-9)
print(("ok  " if ok else "FAIL"), N, d, j["log10_R"], lg(R), j["log10_R0"], lg(R0) if R0 else None)
sys.exit(0 if ok else 1)
PY
done
if "$LAYERLAB" regions-bound 5 >/dev/null 2>&1; then echo "FAIL: missing d accepted"; fail=1; fi
if "$LAYERLAB" regions-bound -3 2 >/dev/null 2>&1; then echo "FAIL: negative N accepted"; fail=1; fi
[ "$fail" = 0 ] && echo PASS || { echo FAIL; exit 1; }
