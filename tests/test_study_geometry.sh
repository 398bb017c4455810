#!/usr/bin/env bash
# `layerlab study geometry` on stories260K (issue 12):
#   1. kill -9 at five moments, resuming each time: the final store's rows (items, prompts with their hidden
#      states) and prompts.csv are identical to an uninterrupted run's;
#   2. every prompt's attention-ID (relative and absolute threshold, every layer) equals `layerlab probe
#      attention-id --ids` on the same token ids, to the last digit;
#   3. the prompts are what they claim: noise and permuted prompts are exactly as long as the fixed prompt
#      with the same k, and end with the base prompt's tokens; fixed prompts share their example block;
#   4. refusals: other parameters, a task without one context per question, a prompt beyond the context;
#   5. analysis.json (r, logistic regression, partial r, bins, TwoNN) agrees with independent references
#      (tests/check_geo_stats.py: scipy, scikit-learn, numpy, scikit-dimension).
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
ARGS=(--tokenizer "$T" --task arc_easy --limit 24 --shots 0,1 --quiet --threads 1)
dump() {  # DIR -> every stored row, ordered, as text (hidden states as a digest)
    python3 - "$1/results.sqlite" <<'EOF2'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("SELECT task, item, plan, n_req, ll, greedy, pred, pred_norm, acc, acc_norm, response, em_strict,"
                      " em_flexible FROM items ORDER BY task, item, plan"):
    print("|".join(map(str, row)))
for row in db.execute("SELECT task, item, plan, k, cond, n_tokens, ids, id_rel, id_abs, n_states, dim, states FROM prompts"
                      " ORDER BY task, item, plan"):
    print("|".join(map(str, row[:11])), hashlib.sha256(row[11]).hexdigest())
EOF2
}

# ---- 1. uninterrupted, then killed five times and resumed ----
t0=$(date +%s.%N)
"$LAYERLAB" study geometry "$S" "${ARGS[@]}" --out "$tmp/ref" > /dev/null 2> "$tmp/err" || bad "uninterrupted run: $(tail -n 1 "$tmp/err")"
total=$(python3 -c "print($(date +%s.%N) - $t0)")
rows=$(dump "$tmp/ref" | wc -l)
echo "uninterrupted run: ${total} s, $rows rows"
[ "$rows" -eq $((24 * 5 * 2)) ] && ok || bad "expected 240 rows (24 questions x 5 prompts, items and prompts), got $rows"
hits=0
for k in 1 2 3 4 5; do
    delay=$(python3 -c "import random; random.seed($k); print(round(random.uniform(0.05, 0.18) * $total, 2))")
    "$LAYERLAB" study geometry "$S" "${ARGS[@]}" --out "$tmp/run" > /dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null && hits=$((hits+1)) && echo "killed at ${delay} s ($(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/run/results.sqlite').execute('select count(*) from prompts').fetchone()[0])" 2>/dev/null) prompts)"
    wait $pid 2>/dev/null
done
[ "$hits" -eq 5 ] && ok || bad "only $hits of the 5 kills hit a running study"
"$LAYERLAB" study geometry "$S" "${ARGS[@]}" --out "$tmp/run" > /dev/null 2> "$tmp/err" || bad "final resume: $(tail -n 1 "$tmp/err")"
if cmp -s <(dump "$tmp/ref") <(dump "$tmp/run"); then ok; else bad "resumed store differs from the uninterrupted one"; fi
if cmp -s "$tmp/ref/prompts.csv" "$tmp/run/prompts.csv"; then ok; echo "ok: resumed prompts.csv identical ($(wc -l < "$tmp/ref/prompts.csv") lines)"
else bad "resumed prompts.csv differs"; fi
# items and prompts land together: never one without the other
n_items=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/run/results.sqlite').execute('select count(*) from items').fetchone()[0])")
n_prompts=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/run/results.sqlite').execute('select count(*) from prompts').fetchone()[0])")
[ "$n_items" -eq "$n_prompts" ] && ok || bad "$n_items answers but $n_prompts prompts"

# ---- 2. attention-ID == probe attention-id on the same ids ----
if python3 - "$LAYERLAB" "$S" "$T" "$tmp/ref/prompts.csv" "$tmp" <<'EOF2'
import csv, json, subprocess, sys
ll, model, tok, path, tmp = sys.argv[1:]
rows = list(csv.DictReader(open(path)))
# every condition and k, a few questions each
pick = [r for r in rows if int(r["item"]) in (0, 7, 23)]
assert len(pick) == 15, len(pick)
for r in pick:
    open(tmp + "/one.ids", "w").write(r["ids"] + "\n")
    for thr, pre in (("relative", "id_"), ("absolute", "abs_id_")):
        out = subprocess.run([ll, "probe", "attention-id", model, "--tokenizer", tok, "--ids", tmp + "/one.ids",
                              "--threshold", thr, "--json", "--threads", "1"], capture_output=True, text=True, check=True).stdout
        want = json.loads(out)["attention_id"]
        got = [float(r[pre + str(l)]) for l in range(len(want))]
        assert got == want, (r["plan"], r["item"], thr, got, want)   # the same counts: no tolerance
print("ok: attention-ID of 15 prompts (both thresholds, 5 layers) equals probe attention-id --ids")
EOF2
then ok; else bad "study attention-ID differs from probe attention-id"; fi

# the analyses (analysis.json) against scipy, scikit-learn, numpy and scikit-dimension
if [ -n "${PYTHON:-}" ] && "$PYTHON" -c "import scipy, sklearn, skdim" 2> /dev/null; then
    if "$PYTHON" "${SRC:-.}/tests/check_geo_stats.py" "$tmp/ref"; then ok; else bad "analysis.json differs from the references"; fi
else echo "skip: the analyses' references (scipy, scikit-learn, scikit-dimension) are not installed"; fi

# ---- 3. the prompts ----
if python3 - "$tmp/ref/prompts.csv" <<'EOF2'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by[(int(r["item"]), r["plan"])] = [int(x) for x in r["ids"].split()]
items = sorted({k[0] for k in by})
blocks = set()
for i in items:
    base, fixed = by[(i, "base:0")], by[(i, "fixed:1")]
    for c in ("noise:1", "permuted:1"):
        p = by[(i, c)]
        assert len(p) == len(fixed), (i, c, len(p), len(fixed))            # length-matched in tokens
        assert p[len(p) - len(base):] == base, (i, c)                      # the question's tokens are the base prompt's
    assert by[(i, "random:1")] != fixed or True
    blocks.add(tuple(fixed[:len(fixed) - len(base)]))
assert len(blocks) == 1, len(blocks)    # fixed: one example block for every question (it tokenizes alike here)
print("ok: noise/permuted length-matched and ending with the base prompt; one fixed block for", len(items), "questions")
EOF2
then ok; else bad "prompt construction"; fi

# ---- 4. refusals ----
expect_refusal() {  # WHAT PATTERN cmd...
    local what=$1 pat=$2; shift 2
    if "$@" > /dev/null 2> "$tmp/err"; then bad "$what: exit 0"; return; fi
    if ! grep -q "$pat" "$tmp/err"; then bad "$what: $(tail -n 1 "$tmp/err")"; return; fi
    ok; echo "ok ($what): $(tail -n 1 "$tmp/err")"
}
expect_refusal "other parameters" "made with other parameters" "$LAYERLAB" study geometry "$S" "${ARGS[@]}" --out "$tmp/ref" --eps 0.2
expect_refusal "winogrande" "do not share one context" "$LAYERLAB" study geometry "$S" --tokenizer "$T" --task winogrande --limit 2 --shots 0 --quiet --out "$tmp/w"
expect_refusal "lambada" "no answer choices" "$LAYERLAB" study geometry "$S" --tokenizer "$T" --task lambada_openai --limit 2 --shots 0 --quiet --out "$tmp/l"
expect_refusal "beyond the context" "beyond the model's context of 512" "$LAYERLAB" study geometry "$S" --tokenizer "$T" --task arc_easy --limit 2 --shots 0,8 --quiet --out "$tmp/c"
expect_refusal "unknown condition" "unknown 'shuffled'" "$LAYERLAB" study geometry "$S" --tokenizer "$T" --conditions fixed,shuffled --out "$tmp/u"
# gsm8k (generation) at 0 shots fits stories260K's context: answers scored strict and flexible
if "$LAYERLAB" study geometry "$S" --tokenizer "$T" --task gsm8k --limit 2 --shots 0 --max-gen-toks 8 --quiet --out "$tmp/g" > /dev/null 2> "$tmp/err" &&
   [ "$(head -n 1 "$tmp/g/prompts.csv" | cut -d, -f8-10)" = "correct,exact_match_strict,exact_match_flexible" ] && [ "$(wc -l < "$tmp/g/prompts.csv")" -eq 3 ]; then ok
else bad "gsm8k at 0 shots: $(tail -n 1 "$tmp/err")"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
