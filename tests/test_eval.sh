#!/usr/bin/env bash
# `layerlab eval` (docs/EVAL.md):
#  1. bad data is reported as file:line with the field, exit 1, nothing on stdout (malformed JSON, a
#     missing field, gold out of range, a truncated HellaSwag task, an unknown task, a missing file);
#  2. on SmolLM2, --limit runs of every loglikelihood task are internally consistent: acc / acc_norm are the
#     fractions of samples with pred / pred_norm == gold, pred / pred_norm are the argmax of the
#     loglikelihoods (÷ the choice's characters, counted from the data by Python), stderr is
#     std/sqrt(n); and the loglikelihoods of the first item of each task equal an independent path
#     through the engine (`layerlab tokenize` + one `layerlab logits` batch over context+continuation,
#     log-softmax in numpy) within 1e-4 — the eval path runs the shared prefix once and each
#     continuation from the KV cache;
#  3. lambada_openai: is_greedy and the loglikelihood against the same independent path; the perplexity
#     is exp(-mean(ll)) and its stderr is lm-eval's bootstrap, recomputed with CPython's own random;
#  3b. --max-length: requests longer than it are left-truncated as lm-eval does, checked against the
#     independent path on the truncated tokens;
#  4. gsm8k: the 5-shot prompts of items 0-2 equal a Python construction with CPython's
#     random.Random(1234).sample, and the extracted answers equal lm-eval's regexes run by Python's re;
#  5. ppl: --protocol windows equals `layerlab ppl`; --protocol llamacpp equals a numpy recomputation of
#     llama.cpp's rule (second half of each window) from `layerlab logits`.
set -euo pipefail
: "${LAYERLAB:?}" "${SHARED:?}" "${SMOLLM2:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
for f in arc_easy.jsonl arc_challenge.jsonl winogrande.jsonl lambada_openai.jsonl piqa.jsonl boolq.jsonl \
         hellaswag_val_full.txt.bz2 gsm8k_test.jsonl gsm8k_train.jsonl tinystories_val.txt; do
    [ -f "$SHARED/data/$f" ] || { echo "skip: $SHARED/data/$f missing"; exit 77; }
done
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: numpy missing"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }

# ---- 1. bad data ----
expect_error() {  # expect_error WHAT PATTERN args...
    local what=$1 pat=$2; shift 2
    if "$LAYERLAB" eval "$SMOLLM2" "$@" >"$tmp/out" 2>"$tmp/err"; then bad "$what: exit 0"; return; fi
    if [ -s "$tmp/out" ]; then bad "$what: printed a result: $(head -c 200 "$tmp/out")"; return; fi
    if grep -q -- "$pat" "$tmp/err"; then ok; echo "error ok ($what): $(tail -n 1 "$tmp/err")";
    else bad "$what: message '$(cat "$tmp/err")' lacks '$pat'"; fi
}
good='{"query": "Question: What is 1+1?", "choices": ["two", "three"], "gold": 0}'
printf '%s\n{"query": "Question: x", "choices": ["a", "b"], "gold": 1\n' "$good" > "$tmp/malformed.jsonl"
expect_error "malformed JSON" "malformed.jsonl:2: malformed JSON" --task arc_easy --data "$tmp/malformed.jsonl"
printf '%s\n\n{"query": "Question: x", "choices": ["a", "b"]}\n' "$good" > "$tmp/missing.jsonl"
expect_error "missing field" "missing.jsonl:3: field 'gold' is missing" --task arc_easy --data "$tmp/missing.jsonl"
printf '%s\n{"query": "Question: x", "choices": ["a", "b"], "gold": 2}\n' "$good" > "$tmp/range.jsonl"
expect_error "gold out of range" "range.jsonl:2: field 'gold': 2 is out of range" --task piqa --data "$tmp/range.jsonl"
# found by fuzz_tasks: a gold beyond the range of long long was cast before it was range-checked (UB)
printf '%s\n{"query": "Question: x", "choices": ["a", "b"], "gold": 1.2222e107}\n' "$good" > "$tmp/huge.jsonl"
expect_error "huge gold" "huge.jsonl:2: field 'gold': 1.2222e+107 is out of range" --task piqa --data "$tmp/huge.jsonl"
printf '{"query": "Question: x", "choices": ["a", 3], "gold": 0}\n' > "$tmp/type.jsonl"
expect_error "choice not a string" "type.jsonl:1: field 'choices'\[1\]: expected a string" --task arc_easy --data "$tmp/type.jsonl"
printf '{"context_options": ["a b", "a c"], "gold": 0}\n' > "$tmp/wino.jsonl"
expect_error "winogrande missing continuation" "wino.jsonl:1: field 'continuation' is missing" --task winogrande --data "$tmp/wino.jsonl"
printf 'Label: ctx\n1\ne1\ne2\ne3\ne4\nLabel: ctx2\n9\ne1\ne2\ne3\ne4\n' > "$tmp/hs.txt"
expect_error "hellaswag gold" "hs.txt:8: field 'gold'" --task hellaswag --data "$tmp/hs.txt"
printf 'Label: ctx\n1\ne1\ne2\ne3\ne4\nLabel: ctx2\n1\ne1\n' > "$tmp/hs2.txt"
expect_error "hellaswag truncated" "hs2.txt:7: truncated task" --task hellaswag --data "$tmp/hs2.txt"
expect_error "unknown task" "unknown task 'arc_hard'" --task arc_hard
expect_error "missing file" "cannot open '$tmp/nope.jsonl'" --task boolq --data "$tmp/nope.jsonl"
LAYERLAB_DATA="$tmp/nodata" expect_error "default path named" "$tmp/nodata/piqa.jsonl" --task piqa

# ---- 2-3. loglikelihood tasks ----
N=4
for task in arc_easy arc_challenge hellaswag winogrande piqa boolq lambada_openai; do
    if ! "$LAYERLAB" eval "$SMOLLM2" --task "$task" --limit $N --json --samples "$tmp/$task.jsonl" --bootstrap-iters 2000 \
            >"$tmp/$task.json" 2>"$tmp/$task.err"; then
        bad "$task run: $(tail -n 2 "$tmp/$task.err")"; continue
    fi
    if "$PY" - "$task" "$tmp" "$SHARED/data" "$LAYERLAB" "$SMOLLM2" $N <<'EOF'
import bz2, json, math, random, re, subprocess, sys
import numpy as np
task, tmp, data, layerlab, model, N = sys.argv[1:7]; N = int(N)
res = json.load(open(f"{tmp}/{task}.json"))
samples = [json.loads(l) for l in open(f"{tmp}/{task}.jsonl")]
errs = []
def check(cond, msg):
    if not cond: errs.append(msg)

# the requests, built from the data by the rules in ../shared/README.md
def py_rstrip_move(ctx, cont):
    n = len(ctx) - len(ctx.rstrip())
    return (ctx[:-n], ctx[-n:] + cont) if n else (ctx, cont)
def hs_pre(t):
    t = t.strip().replace(" [title]", ". ")
    t = re.sub("\\[.*?\\]", "", t)
    return t.replace("  ", " ")
if task == "hellaswag":
    L = bz2.open(f"{data}/hellaswag_val_full.txt.bz2", "rt", encoding="utf-8").read().split("\n")
    docs = [{"ctx": hs_pre(L[6*i]), "choices": [hs_pre(e) for e in L[6*i+2:6*i+6]], "gold": int(L[6*i+1])} for i in range(N)]
else:
    rows = [json.loads(l) for l in open(f"{data}/{task}.jsonl", encoding="utf-8")][:N]
    docs = []
    for r in rows:
        if task in ("arc_easy", "arc_challenge"): docs.append({"ctx": r["query"] + "\nAnswer:", "choices": r["choices"], "gold": r["gold"]})
        elif task == "piqa": docs.append({"ctx": r["query"] + "Answer:", "choices": r["choices"], "gold": r["gold"]})
        elif task == "boolq": docs.append({"ctx": r["query"][len("Passage: "):] + "\nAnswer:", "choices": r["choices"], "gold": r["gold"]})
        elif task == "winogrande": docs.append({"ctxs": r["context_options"], "cont": " " + r["continuation"].strip(), "choices": r["context_options"], "gold": r["gold"]})
        elif task == "lambada_openai": docs.append({"ctx": r["context"], "cont": " " + r["continuation"]})

check(res["n"] == N and len(samples) == N, f"n {res['n']}, {len(samples)} samples")
def sstd(x):
    mu = sum(x) / len(x); return math.sqrt(sum([(v - mu) ** 2 for v in x]) / (len(x) - 1))
if task != "lambada_openai":
    acc = [float(s["pred"] == s["gold"]) for s in samples]
    accn = [float(s["pred_norm"] == s["gold"]) for s in samples]
    check(abs(res["acc"] - sum(acc) / N) < 1e-12, f"acc {res['acc']} vs samples {sum(acc)/N}")
    check(abs(res["acc_stderr"] - sstd(acc) / math.sqrt(N)) < 1e-12, "acc_stderr")
    has_norm = task in ("arc_easy", "arc_challenge", "hellaswag", "piqa")
    check(("acc_norm" in res) == has_norm, "acc_norm presence")
    if has_norm:
        check(abs(res["acc_norm"] - sum(accn) / N) < 1e-12, "acc_norm")
    for s, d in zip(samples, docs):
        lls = s["loglikelihoods"]
        lens = [len(c) for c in d["choices"]]
        check(s["gold"] == d["gold"], f"doc {s['doc_id']}: gold")
        check(s["lengths"] == lens, f"doc {s['doc_id']}: lengths {s['lengths']} vs {lens}")
        check(s["pred"] == int(np.argmax(lls)), f"doc {s['doc_id']}: pred")
        check(s["pred_norm"] == int(np.argmax(np.array(lls) / np.array(lens, dtype=float))), f"doc {s['doc_id']}: pred_norm")
else:
    lls = [s["loglikelihood"] for s in samples]
    check(abs(res["acc"] - sum(float(s["is_greedy"]) for s in samples) / N) < 1e-12, "lambada acc")
    check(abs(res["perplexity"] / math.exp(-sum(lls) / N) - 1) < 1e-12, "perplexity")
    # lm-eval's bootstrap_stderr(perplexity, lls, 2000): chunks of 1000, chunk i drawn with random.Random(i)
    boot = []
    for i in range(2):
        rnd = random.Random(i)
        for _ in range(1000):
            xs = rnd.choices(lls, k=len(lls)); boot.append(math.exp(-(sum(xs) / len(xs))))
    check(abs(res["perplexity_stderr"] / sstd(boot) - 1) < 1e-9, f"bootstrap {res['perplexity_stderr']} vs {sstd(boot)}")

# item 0: every request against one batched forward of layerlab logits
def tok(text):
    open(f"{tmp}/t.txt", "w", encoding="utf-8").write(text)
    out = subprocess.run([layerlab, "tokenize", model, "--file", f"{tmp}/t.txt", "--no-bos"], check=True, capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]
d = docs[0]
reqs = ([(c, d["cont"]) for c in d["ctxs"]] if task == "winogrande" else [(d["ctx"], d["cont"])] if task == "lambada_openai"
        else [(d["ctx"], " " + c) for c in d["choices"]])
got = samples[0]["loglikelihoods"] if task != "lambada_openai" else [samples[0]["loglikelihood"]]
for k, (ctx, cont) in enumerate(reqs):
    ctx, cont = py_rstrip_move(ctx, cont)
    c_ids = tok(ctx); whole = tok(ctx + cont); cont_ids = whole[len(c_ids):]
    ids = c_ids + cont_ids
    subprocess.run([layerlab, "logits", model, "--ids", " ".join(map(str, ids[:-1])), "--out", f"{tmp}/l.npy"], check=True, capture_output=True)
    lg = np.load(f"{tmp}/l.npy").astype(np.float64)
    rows = lg[len(c_ids) - 1:]
    m = rows.max(axis=1, keepdims=True)
    lsm = rows - m - np.log(np.exp(rows - m).sum(axis=1, keepdims=True))
    ll = float(sum(lsm[j, t] for j, t in enumerate(cont_ids)))
    greedy = all(int(np.argmax(rows[j])) == t for j, t in enumerate(cont_ids))
    check(abs(ll - got[k]) <= 1e-4, f"request {k}: loglikelihood {got[k]} vs direct {ll}")
    if task == "lambada_openai":
        check(greedy == samples[0]["is_greedy"], "lambada is_greedy")
    print(f"{task} doc 0 request {k}: eval {got[k]:.6f}, direct {ll:.6f}, |d| {abs(ll - got[k]):.2e}")
for e in errs: print("  " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
    then ok; echo "$task: consistent ($(tr -d ' \t\n' < "$tmp/$task.json" | grep -o '"acc":[0-9.e-]*'))"; else bad "$task consistency"; fi
done

# ---- 3b. --max-length: over-long requests are left-truncated as lm-eval does ----
# lm-eval's hf backend feeds (context + continuation)[-(max_length + 1):][:-1]; boolq's first item is a
# ~150-token passage, so --max-length 40 cuts every request; the loglikelihoods must equal a direct
# `layerlab logits` over exactly those 40 tokens (tolerance 1e-4, as for the untruncated check above).
if "$LAYERLAB" eval "$SMOLLM2" --task boolq --limit 1 --max-length 40 --json --samples "$tmp/trunc.jsonl" \
        >"$tmp/trunc.json" 2>"$tmp/trunc.err" && grep -q "left-truncates" "$tmp/trunc.err" &&
   "$PY" - "$tmp" "$SHARED/data" "$LAYERLAB" "$SMOLLM2" <<'EOF'
import json, subprocess, sys
import numpy as np
tmp, data, layerlab, model = sys.argv[1:5]
res = json.load(open(f"{tmp}/trunc.json"))
s = json.loads(open(f"{tmp}/trunc.jsonl").readline())
r = json.loads(open(f"{data}/boolq.jsonl", encoding="utf-8").readline())
ctx = r["query"][len("Passage: "):] + "\nAnswer:"
def tok(text):
    open(f"{tmp}/t.txt", "w", encoding="utf-8").write(text)
    out = subprocess.run([layerlab, "tokenize", model, "--file", f"{tmp}/t.txt", "--no-bos"], check=True, capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]
errs = []
if res["max_length"] != 40 or res["truncated_requests"] != 2: errs.append(f"max_length {res['max_length']}, truncated {res['truncated_requests']}")
for k, choice in enumerate(r["choices"]):
    c_ids = tok(ctx); cont_ids = tok(ctx + " " + choice)[len(c_ids):]
    inp = (c_ids + cont_ids)[-41:][:-1]
    subprocess.run([layerlab, "logits", model, "--ids", " ".join(map(str, inp)), "--out", f"{tmp}/l.npy"], check=True, capture_output=True)
    rows = np.load(f"{tmp}/l.npy").astype(np.float64)[len(inp) - len(cont_ids):]
    m = rows.max(axis=1, keepdims=True)
    lsm = rows - m - np.log(np.exp(rows - m).sum(axis=1, keepdims=True))
    ll = float(sum(lsm[j, t] for j, t in enumerate(cont_ids)))
    print(f"boolq doc 0 choice {k} at --max-length 40: eval {s['loglikelihoods'][k]:.6f}, direct {ll:.6f}")
    if abs(ll - s["loglikelihoods"][k]) > 1e-4: errs.append(f"choice {k}: {s['loglikelihoods'][k]} vs {ll}")
for e in errs: print("  " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
then ok; else bad "--max-length truncation: $(tail -n 2 "$tmp/trunc.err")"; fi

# ---- 4. gsm8k ----
if "$LAYERLAB" eval "$SMOLLM2" --task gsm8k --limit 3 --max-gen-toks 24 --json --samples "$tmp/gsm.jsonl" >"$tmp/gsm.json" 2>"$tmp/gsm.err"; then
    if "$PY" - "$tmp" "$SHARED/data" <<'EOF'
import json, random, re, sys
tmp, data = sys.argv[1:3]
train = [json.loads(l) for l in open(f"{data}/gsm8k_train.jsonl", encoding="utf-8")]
test = [json.loads(l) for l in open(f"{data}/gsm8k_test.jsonl", encoding="utf-8")]
ours = [json.loads(l) for l in open(f"{tmp}/gsm.jsonl", encoding="utf-8")]
res = json.load(open(f"{tmp}/gsm.json"))
rnd = random.Random(1234)
errs = []
def extract(pat, resp, sel):
    m = re.findall(pat, resp)
    if not m: return "[invalid]"
    m = m[sel]
    if isinstance(m, tuple):
        m = [x for x in m if x]
        m = m[0] if m else "[invalid]"
    return m.strip()
def norm(s):
    for r in (",", "\\$", "(?s).*#### ", "\\.$"): s = re.sub(r, "", s)
    return s.lower()
for i, o in enumerate(ours):
    shots = rnd.sample(train, 5)
    p = "".join(f"Question: {d['question']}\nAnswer: {d['answer']}\n\n" for d in shots) + f"Question: {test[i]['question']}\nAnswer:"
    if p != o["prompt"]: errs.append(f"item {i}: prompt differs")
    s = extract(r"#### (\-?[0-9\.\,]+)", o["response"], 0)
    f = extract(r"(-?[$0-9.,]{2,})|(-?[0-9]+)", o["response"], -1)
    if s != o["extracted_strict"] or f != o["extracted_flexible"]: errs.append(f"item {i}: extracted {o['extracted_strict']!r}/{o['extracted_flexible']!r} vs {s!r}/{f!r}")
    if o["gold"] != norm(test[i]["answer"]): errs.append(f"item {i}: gold {o['gold']!r}")
    if o["exact_match_strict"] != float(norm(s) == norm(test[i]["answer"])): errs.append(f"item {i}: exact_match_strict")
    if o["exact_match_flexible"] != float(norm(f) == norm(test[i]["answer"])): errs.append(f"item {i}: exact_match_flexible")
    if "Question:" in o["response"]: errs.append(f"item {i}: stop string left in the response")
if res["n"] != 3 or abs(res["exact_match_flexible"] - sum(o["exact_match_flexible"] for o in ours) / 3) > 1e-12: errs.append("aggregate")
for e in errs: print("  " + e, file=sys.stderr)
print(f"gsm8k: {len(ours)} prompts equal CPython's random.Random(1234).sample construction" if not errs else "gsm8k: differences")
sys.exit(1 if errs else 0)
EOF
    then ok; else bad "gsm8k"; fi
else
    bad "gsm8k run: $(tail -n 2 "$tmp/gsm.err")"
fi

# ---- 5. ppl ----
T="$SHARED/data/tinystories_val.txt"
a=$("$LAYERLAB" ppl "$SMOLLM2" "$T" --ctx 64 --max-tokens 200 --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['ppl'])")
b=$("$LAYERLAB" eval "$SMOLLM2" --task ppl --data "$T" --ctx 64 --max-tokens 200 --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['ppl'])")
if [ "$a" = "$b" ]; then ok; echo "ppl windows = layerlab ppl ($a)"; else bad "ppl windows $b vs layerlab ppl $a"; fi
head -c 4000 "$T" > "$tmp/story.txt"
"$LAYERLAB" eval "$SMOLLM2" --task ppl --protocol llamacpp --bos --data "$tmp/story.txt" --ctx 64 --max-tokens 200 --json > "$tmp/pl.json" 2>/dev/null
if "$PY" - "$tmp" "$LAYERLAB" "$SMOLLM2" <<'EOF2'
import json, subprocess, sys
import numpy as np
tmp, layerlab, model = sys.argv[1:4]
res = json.load(open(f"{tmp}/pl.json"))
ids = [int(x) for x in subprocess.run([layerlab, "tokenize", model, "--file", f"{tmp}/story.txt", "--bos", "--no-special"],
                                      check=True, capture_output=True, text=True).stdout.split()]
bos = ids[0]
W, n = 64, min(200, len(ids)); tot = 0.0; cnt = 0
for k in range(n // W):
    w = ids[k * W:(k + 1) * W]
    w = [bos] + w[1:]   # llama.cpp: the first token of each window becomes BOS
    subprocess.run([layerlab, "logits", model, "--ids", " ".join(map(str, w)), "--out", f"{tmp}/w.npy"], check=True, capture_output=True)
    lg = np.load(f"{tmp}/w.npy").astype(np.float64)
    for p in range(W // 2, W - 1):
        r = lg[p]; m = r.max(); tot += m + np.log(np.exp(r - m).sum()) - r[w[p + 1]]; cnt += 1
ok = res["tokens_scored"] == cnt and res["windows"] == n // W and abs(res["mean_nll"] - tot / cnt) < 1e-5
print(f"ppl llamacpp: {res['ppl']:.4f} over {cnt} tokens in {res['windows']} windows; numpy recomputation {np.exp(tot / cnt):.4f}")
sys.exit(0 if ok else 1)
EOF2
then ok; else bad "ppl llamacpp protocol"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
