#!/usr/bin/env bash
# Every probe number equals a numpy recomputation from the probe's own --dump (tests/check_probe_dump.py),
# under a reverse plan and a parallel plan (groups of several members) on SmolLM2-135M, with three
# samples of different lengths; plus the probe's argument errors.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: numpy missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/prompts.txt" <<'EOF'
The capital of France is Paris, and the capital of Italy is
Once upon a time there was a little robot who wanted to learn to paint.

Question: what is 12 plus 30? Answer:
EOF
fail=0
for plan in reverse:2 parallel:10 looped_parallel:12:2; do
    echo "plan $plan:"
    for r in flat token last; do
        "$LAYERLAB" probe cosine,block-influence,attention-id,mlp-regions "$SMOLLM2" --file "$tmp/prompts.txt" \
            --plan "$plan" --reduce "$r" --span 3 --json --dump "$tmp/d" --dump-replace > "$tmp/$r.json" 2>"$tmp/err" ||
            { cat "$tmp/err" >&2; fail=1; }
    done
    "$PY" "$SRC/tests/check_probe_dump.py" "$tmp/d" "$tmp/flat.json" "$tmp/token.json" "$tmp/last.json" || fail=1
    rm -rf "$tmp/d"
done

# --pad: ten samples of different lengths = batches of 8 and 2, right-padded with id 0 to each batch's longest
for i in 1 2 3 4 5 6 7 8 9 10; do
    printf 'Sample number %d says' "$i"; for ((k = 0; k < i; k++)); do printf ' word%d' "$k"; done; echo .
done > "$tmp/ten.txt"
for r in flat token last; do
    "$LAYERLAB" probe cosine,block-influence,attention-id,mlp-regions "$SMOLLM2" --file "$tmp/ten.txt" --pad \
        --reduce "$r" --json --dump "$tmp/p" --dump-replace > "$tmp/$r.json" 2>"$tmp/err" || { cat "$tmp/err" >&2; fail=1; }
done
echo "--pad:"
"$PY" "$SRC/tests/check_probe_dump.py" "$tmp/p" "$tmp/flat.json" "$tmp/token.json" "$tmp/last.json" || fail=1
"$PY" - "$tmp/p" <<'EOF' || fail=1
import sys, numpy as np
d = sys.argv[1]
t = [np.load(f"{d}/sample{i}_tokens.npy") for i in range(10)]
ok = len({len(x) for x in t[:8]}) == 1 and len({len(x) for x in t[8:]}) == 1 and len(t[0]) != len(t[8])
ok = ok and all(x[-1] == 0 for x in t[:7]) and t[7][-1] != 0
print(("ok  " if ok else "FAIL"), "--pad: batches of 8 right-padded with id 0:", [len(x) for x in t])
sys.exit(0 if ok else 1)
EOF

# mlp-regions --compare F2: Hamming distance of the gate sign codes between sample i of the input and
# sample i of F2 at the same positions, against numpy on the two inputs' own dumps (parallel plan: members)
printf 'The cat sat on the mat and looked at the door.\nA short one.\n' > "$tmp/cmpA.txt"
printf 'The dog sat on the rug and looked at the window for a long time.\nA short two.\n' > "$tmp/cmpB.txt"
"$LAYERLAB" probe mlp-regions "$SMOLLM2" --plan parallel:12 --file "$tmp/cmpA.txt" --compare "$tmp/cmpB.txt" --json \
    > "$tmp/cmp.json" 2>/dev/null || fail=1
"$LAYERLAB" probe mlp-regions "$SMOLLM2" --plan parallel:12 --file "$tmp/cmpA.txt" --compare "$tmp/cmpA.txt" --json \
    > "$tmp/cmpself.json" 2>/dev/null || fail=1
"$LAYERLAB" probe mlp-regions "$SMOLLM2" --plan parallel:12 --file "$tmp/cmpA.txt" --dump "$tmp/dA" --dump-replace >/dev/null 2>&1 || fail=1
"$LAYERLAB" probe mlp-regions "$SMOLLM2" --plan parallel:12 --file "$tmp/cmpB.txt" --dump "$tmp/dB" --dump-replace >/dev/null 2>&1 || fail=1
"$PY" - "$tmp" <<'EOF' || fail=1
import json, sys, numpy as np
d = sys.argv[1]
j = json.load(open(d + "/cmp.json")); js = json.load(open(d + "/cmpself.json"))
mem = np.load(d + "/dA/members.npy"); E = len(mem)
ref = np.zeros(E)
for i in range(2):
    a = np.load(f"{d}/dA/sample{i}_gates.npy") > 0; b = np.load(f"{d}/dB/sample{i}_gates.npy") > 0
    T = min(a.shape[2], b.shape[2])
    for e in range(E):
        m = mem[e]
        ref[e] += (a[e, :m, :T] != b[e, :m, :T]).sum() / (m * T) / 2
ours = np.array(j["hamming_compare"])
ok = np.allclose(ours, ref, rtol=1e-12, atol=0) and max(js["hamming_compare"]) == 0  # counts of the same signs: exact
print(("ok  " if ok else "FAIL"), "mlp-regions --compare vs numpy from dumps: max diff", np.abs(ours - ref).max(), "self", max(js["hamming_compare"]))
sys.exit(0 if ok else 1)
EOF

# intrinsic-dim on the model's states: the same numbers from the dumped states by numpy closed forms
# (TwoNN-ML, participation ratio) and by scikit-dimension (TwoNN, MLE, PCA) when it is installed
"$LAYERLAB" probe intrinsic-dim "$SMOLLM2" --file "$tmp/prompts.txt" --plan reverse:2 --entry 20 --json \
    --dump "$tmp/id" --dump-replace > "$tmp/id.json" 2>"$tmp/err" || { cat "$tmp/err" >&2; fail=1; }
"$PY" - "$tmp" <<'EOF' || fail=1
import glob, json, sys, numpy as np
d = sys.argv[1]
j = json.load(open(d + "/id.json"))
X = np.concatenate([np.load(f)[20] for f in sorted(glob.glob(d + "/id/sample*_hidden.npy"))]).astype(np.float64)
X = np.unique(X, axis=0)
assert j["n_points"] == len(X), (j["n_points"], len(X))
D2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1); np.fill_diagonal(D2, np.inf)
r = np.sqrt(np.sort(D2, axis=1)[:, :2]); mu = r[:, 1] / r[:, 0]
ml = (len(X) - 1) / np.log(mu).sum()
lam = np.linalg.eigvalsh(np.cov(X.T)); pr = lam.sum() ** 2 / (lam ** 2).sum()
ok = abs(j["twonn_ml"] - ml) <= 1e-6 * ml and abs(j["participation_ratio"] - pr) <= 1e-6 * pr  # closed forms, same points: rounding only
print(("ok  " if ok else "FAIL"), "intrinsic-dim closed forms: twonn_ml", j["twonn_ml"], ml, "pr", j["participation_ratio"], pr)
try:
    import skdim
    t = skdim.id.TwoNN(discard_fraction=0.1).fit(X).dimension_
    m = skdim.id.MLE().fit(X, n_neighbors=20, comb="mle").dimension_
    p = skdim.id.lPCA(ver="FO", alphaFO=0.05).fit(X).dimension_
    ok2 = abs(j["twonn"] - t) <= 0.01 * t and abs(j["mle"] - m) <= 0.01 * m and j["pca"] == p  # the issue's 1% agreement
    print(("ok  " if ok2 else "FAIL"), "intrinsic-dim vs skdim: twonn", j["twonn"], t, "mle", j["mle"], m, "pca", j["pca"], p)
    ok = ok and ok2
except ImportError:
    print("note: scikit-dimension not installed; skdim comparison skipped")
sys.exit(0 if ok else 1)
EOF

# the main arrays: --out shapes
"$LAYERLAB" probe attention-id "$SMOLLM2" --text "a b c d e f" --per-head --out "$tmp/a.npy" 2>/dev/null
"$LAYERLAB" probe mlp-regions "$SMOLLM2" --text "a b c d e f" --out "$tmp/m.csv" 2>/dev/null
"$PY" - "$tmp" <<'EOF' || fail=1
import sys, numpy as np
d = sys.argv[1]
a = np.load(d + "/a.npy"); m = np.loadtxt(d + "/m.csv", delimiter=",", skiprows=1)
assert a.shape == (30, 9), a.shape
assert m.shape == (30, 7), m.shape
print("ok   --out shapes", a.shape, m.shape)
EOF

# errors: one line, exit 1
expect_error() { # pattern args...
    local pat=$1; shift
    if "$LAYERLAB" "$@" >/dev/null 2>"$tmp/err"; then echo "FAIL: '$*' succeeded" >&2; fail=1; return; fi
    if ! grep -q "$pat" "$tmp/err"; then echo "FAIL: '$*' said: $(cat "$tmp/err")" >&2; fail=1; return; fi
    echo "ok   error: $(head -c 120 "$tmp/err")"
}
expect_error "unknown KIND 'cosin'" probe cosin "$SMOLLM2" --text hi
expect_error "give exactly one of" probe cosine "$SMOLLM2"
expect_error "position 50: sample 0 has only" probe attention-id "$SMOLLM2" --text "a b c" --position 50
expect_error "span 40" probe block-influence "$SMOLLM2" --text "a b c" --span 40
expect_error "reduce: expected flat" probe cosine "$SMOLLM2" --text "a b" --reduce mean
printf '{"context": "x"}\n' > "$tmp/bad.jsonl"
expect_error "bad.jsonl:1: field 'continuation'" probe cosine "$SMOLLM2" --task lambada_openai --data "$tmp/bad.jsonl"
printf 'not json\n' > "$tmp/bad2.jsonl"
expect_error "bad2.jsonl:1: malformed JSON" probe cosine "$SMOLLM2" --task arc_easy --data "$tmp/bad2.jsonl"
expect_error "out writes one probe" probe cosine,attention-id "$SMOLLM2" --text hi --out "$tmp/x.npy"
[ "$fail" = 0 ] && echo PASS || { echo FAIL; exit 1; }
