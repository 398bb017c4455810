#!/usr/bin/env bash
# `layerlab study painters` on stories260K (issue 11):
#   0. reuse: the same study with --no-reuse gives the same store, bit for bit (gsm8k's generations too),
#      and computes every pass the reusing run skipped;
#   1. kill -9 at five random moments, resuming each time: the final store's item rows and scores.csv are
#      identical to those of an uninterrupted run;
#   2. the study's numbers are eval's, with and without reuse: for 10 (plan, task) pairs its metric in scores.csv equals
#      `layerlab eval --plan P --task T --limit N --json`, and every item's loglikelihoods equal eval
#      --samples' to the last digit;
#   3. a store made with another model, with other parameters, a corrupt store, an unwritable DIR: each a
#      clear error, exit 1, and the store file is left as it was.
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
ARGS=(--tokenizer "$T" --tasks arc_easy,lambada_openai,winogrande --limit 5 --seeds 2 --starts 1..0 --loops-grid 3
      --cosine-samples 8 --single-limit 3 --quiet --threads 1)
study() { "$LAYERLAB" study painters "$S" "${ARGS[@]}" "$@"; }
dump_items() {  # DIR -> the item rows, ordered, as text
    python3 - "$1/results.sqlite" <<'EOF2'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("SELECT task, item, plan, n_req, ll, greedy, n_cont, pred, pred_norm, acc, acc_norm, response,"
                      " em_strict, em_flexible, n_gen FROM items ORDER BY task, item, plan"):
    print("|".join(map(str, row)))
print("ppl", list(db.execute("SELECT plan, tokens, mean_nll, ppl FROM ppl ORDER BY plan")))
print("analyses", list(db.execute("SELECT name, value FROM analyses ORDER BY name")))
EOF2
}

# ---- 1. uninterrupted, then killed five times and resumed ----
head -c 6000 "$SHARED/data/tinystories_val.txt" > "$tmp/ppl.txt"
t0=$(date +%s.%N)
study --out "$tmp/ref" --ppl "$tmp/ppl.txt" --ppl-ctx 128 > /dev/null 2> "$tmp/err" || bad "uninterrupted run: $(tail -n 1 "$tmp/err")"
t1=$(date +%s.%N)
total=$(python3 -c "print($t1 - $t0)")
echo "uninterrupted run: ${total} s, $(dump_items "$tmp/ref" | grep -c '|') item rows"
passes() { sed -n 's/.*: \([0-9]*\) token-layer passes computed for results that take \([0-9]*\) computed.*/\1 \2/p' "$1"; }
read -r c_ref n_ref <<< "$(passes "$tmp/err")"
study --out "$tmp/noreuse" --ppl "$tmp/ppl.txt" --ppl-ctx 128 --no-reuse > /dev/null 2> "$tmp/err2" || bad "--no-reuse run: $(tail -n 1 "$tmp/err2")"
read -r c_no n_no <<< "$(passes "$tmp/err2")"
if cmp -s <(dump_items "$tmp/ref") <(dump_items "$tmp/noreuse"); then ok; echo "ok: --no-reuse store identical to the reusing one"
else bad "--no-reuse store differs"; diff <(dump_items "$tmp/ref") <(dump_items "$tmp/noreuse") | head -n 4 >&2; fi
# the pass counts: without reuse every pass is computed; with it fewer, for the same results
if [ -n "$c_ref" ] && [ "$c_no" = "$n_no" ] && [ "$n_ref" = "$n_no" ] && [ "$c_ref" -lt "$n_ref" ]; then ok
    echo "ok: passes computed: $c_ref with reuse, $c_no without (of $n_ref)"
else bad "pass counts: reuse $c_ref of $n_ref, no-reuse $c_no of $n_no"; fi
# generation (gsm8k): the plans' K/V caches start from the recorded prefix, so the tokens they generate must
# be those of a run that computed everything
G=(--tokenizer "$T" --tasks gsm8k --limit 2 --max-gen-toks 24 --seeds 1 --starts 1..0 --analyses none --quiet --threads 1)
"$LAYERLAB" study painters "$S" "${G[@]}" --out "$tmp/g1" > /dev/null 2>&1 &&
"$LAYERLAB" study painters "$S" "${G[@]}" --out "$tmp/g2" --no-reuse > /dev/null 2>&1 &&
cmp -s <(dump_items "$tmp/g1") <(dump_items "$tmp/g2") && [ "$(dump_items "$tmp/g1" | grep -c '^gsm8k')" -eq 26 ] && ok ||
    bad "gsm8k with and without reuse differ (or did not run)"
hits=0
for k in 1 2 3 4 5; do
    # five moments spread over the run: together they stay short of the whole run, so each kill hits work
    delay=$(python3 -c "import random; random.seed($k); print(round(random.uniform(0.03, 0.17) * $total, 2))")
    # layerlab itself in the background (not the shell function: kill -9 must hit the process that writes)
    "$LAYERLAB" study painters "$S" "${ARGS[@]}" --out "$tmp/run" --ppl "$tmp/ppl.txt" --ppl-ctx 128 > /dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null && hits=$((hits+1)) && echo "killed at ${delay} s ($(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/run/results.sqlite').execute('select count(*) from items').fetchone()[0])" 2>/dev/null) rows)"
    wait $pid 2>/dev/null
done
[ "$hits" -eq 5 ] && ok || bad "only $hits of the 5 kills hit a running study"
study --out "$tmp/run" --ppl "$tmp/ppl.txt" --ppl-ctx 128 > /dev/null 2> "$tmp/err" || bad "final resume: $(tail -n 1 "$tmp/err")"
if cmp -s <(dump_items "$tmp/ref") <(dump_items "$tmp/run"); then ok; else bad "resumed store differs from the uninterrupted one"; fi
if cmp -s "$tmp/ref/scores.csv" "$tmp/run/scores.csv"; then ok; echo "ok: resumed scores.csv identical ($(wc -l < "$tmp/ref/scores.csv") lines)"
else bad "resumed scores.csv differs"; diff "$tmp/ref/scores.csv" "$tmp/run/scores.csv" | head -n 5 >&2; fi
# a finished study run again computes nothing and changes nothing
study --out "$tmp/run" --ppl "$tmp/ppl.txt" --ppl-ctx 128 > /dev/null 2>&1
if cmp -s <(dump_items "$tmp/ref") <(dump_items "$tmp/run"); then ok; else bad "a rerun changed the store"; fi

# ---- 2. the study's numbers are eval's ----
pairs="full:arc_easy skip:1:lambada_openai middle_repeat:1:winogrande reverse:0:arc_easy random:1:1:lambada_openai
       parallel:1:arc_easy looped_parallel:0:3:winogrande skip_one:3:lambada_openai switch:2:lambada_openai
       looped_parallel:1:2:arc_easy"
for pt in $pairs; do
    task=${pt##*:}; plan=${pt%:*}
    lim=5; case $plan in skip_one:*|switch:*) lim=3 ;; esac
    "$LAYERLAB" eval "$S" --tokenizer "$T" --task "$task" --limit $lim --plan "$plan" --json --samples "$tmp/s.jsonl" > "$tmp/e.json" 2> "$tmp/err" ||
        { bad "eval $plan $task: $(tail -n 1 "$tmp/err")"; continue; }
    for d in ref noreuse; do
    if python3 - "$tmp/e.json" "$tmp/s.jsonl" "$tmp/$d/scores.csv" "$tmp/$d/items.csv" "$plan" "$task" 2> "$tmp/py.err" <<'EOF2'
import csv, json, sys
e = json.load(open(sys.argv[1])); samples = [json.loads(l) for l in open(sys.argv[2])]
plan, task = sys.argv[5], sys.argv[6]
rows = [r for r in csv.DictReader(open(sys.argv[3])) if r["plan"] == plan and r["task"] == task]
got = {r["metric"]: float(r["value"]) for r in rows}
for m in ("acc", "acc_norm", "perplexity"):
    if m in e and e[m] is not None:
        assert m in got, (m, got)
        assert got[m] == e[m], (plan, task, m, got[m], e[m])   # the same numbers: no tolerance
items = {int(r["item"]): r for r in csv.DictReader(open(sys.argv[4])) if r["plan"] == plan and r["task"] == task}
for s in samples:
    ll = s.get("loglikelihoods", [s.get("loglikelihood")])
    mine = [float(x) for x in items[s["doc_id"]]["loglikelihoods"].split()]
    assert mine == ll, (plan, task, s["doc_id"], mine, ll)
print("ok:", plan, task, {k: got[k] for k in got})
EOF2
    then ok; else bad "study ($d) and eval differ on $plan $task: $(cat "$tmp/py.err")"; fi
    done
done

# perplexity: each plan's, run window by window across plans (and resumed inside a plan), is `layerlab ppl`'s
for plan in full parallel:1 looped_parallel:0:3; do
    "$LAYERLAB" ppl "$S" --tokenizer "$T" "$tmp/ppl.txt" --ctx 128 --plan "$plan" --json > "$tmp/p.json" 2> /dev/null
    for d in ref noreuse run; do
        if python3 - "$tmp/p.json" "$tmp/$d/results.sqlite" "$plan" <<'EOF2'
import json, sqlite3, sys
e = json.load(open(sys.argv[1]))
row = sqlite3.connect(sys.argv[2]).execute("SELECT tokens, mean_nll, ppl FROM ppl WHERE plan = ?", (sys.argv[3],)).fetchone()
assert row == (e["tokens_scored"], e["mean_nll"], e["ppl"]), (row, e)   # the same bits: no tolerance
EOF2
        then ok; else bad "study ($d) perplexity of $plan differs from layerlab ppl"; fi
    done
done
echo "ok: study perplexities equal layerlab ppl's (3 plans x 3 stores)"
# killed inside the perplexity windows (some plans part way through theirs): the resumed perplexities are
# those of the uninterrupted run, bit for bit
P=(--tokenizer "$T" --tasks arc_easy --limit 1 --seeds 1 --starts 1..0 --analyses none --quiet --threads 1
   --ppl "$tmp/ppl.txt" --ppl-ctx 128)
"$LAYERLAB" study painters "$S" "${P[@]}" --out "$tmp/pk" > /dev/null 2>&1 &
pid=$!
nw=0
for _ in $(seq 1 3000); do
    nw=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/pk/results.sqlite').execute('select count(*) from ppl_windows').fetchone()[0])" 2>/dev/null || echo 0)
    [ "${nw:-0}" -ge 40 ] && break; sleep 0.01
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
"$LAYERLAB" study painters "$S" "${P[@]}" --out "$tmp/pk" > /dev/null 2>&1 || bad "resume after a kill in the perplexity windows"
ppl_rows() { python3 -c "import sqlite3; print(list(sqlite3.connect('$1/results.sqlite').execute('select plan, tokens, windows, mean_nll, ppl from ppl order by plan')))"; }
"$LAYERLAB" study painters "$S" "${P[@]}" --out "$tmp/pu" > /dev/null 2>&1
if [ "$nw" -ge 40 ] && [ "$(ppl_rows "$tmp/pk")" = "$(ppl_rows "$tmp/pu")" ] && [ "$(ppl_rows "$tmp/pu" | grep -o "(" | wc -l)" -eq 13 ]; then ok
    echo "ok: killed after $nw perplexity windows, resumed: the 13 plans' perplexities equal the uninterrupted run's"
else bad "perplexities after a kill in the windows ($nw windows stored) differ from the uninterrupted run"; fi
# the progress counts the perplexity windows as work: status and the bar of a run with nothing left to do
# show every window done, and the bar's total is the results plus the windows
"$LAYERLAB" study status "$tmp/pk" > "$tmp/st.txt" 2>&1
W=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/pk/results.sqlite').execute('select count(*) from ppl_windows').fetchone()[0])")
R=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/pk/results.sqlite').execute('select count(*) from items').fetchone()[0])")
Q=(); for a in "${P[@]}"; do [ "$a" = --quiet ] || Q+=("$a"); done
"$LAYERLAB" study painters "$S" "${Q[@]}" --out "$tmp/pk" 2>&1 >/dev/null | tr '\r' '\n' > "$tmp/bar.txt"
if grep -q "^perplexity windows $W / $W\$" "$tmp/st.txt" && grep -q " $((R + W))/$((R + W)) " "$tmp/bar.txt" &&
   grep -q "$W of $W perplexity windows" "$tmp/bar.txt"; then ok
    echo "ok: progress and status count the $W perplexity windows"
else bad "progress of the perplexity windows: $(grep windows "$tmp/st.txt"); $(tail -n 3 "$tmp/bar.txt")"; fi

# ---- 3. refusals ----
expect_refusal() {  # WHAT PATTERN cmd...
    local what=$1 pat=$2; shift 2
    local before=""
    [ -f "$tmp/ref/results.sqlite" ] && before=$(md5sum < "$tmp/ref/results.sqlite")
    if "$@" > /dev/null 2> "$tmp/err"; then bad "$what: exit 0"; return; fi
    if ! grep -q "$pat" "$tmp/err"; then bad "$what: $(tail -n 1 "$tmp/err")"; return; fi
    ok; echo "ok ($what): $(tail -n 1 "$tmp/err")"
}
"$LAYERLAB" convert "$S" --tokenizer "$T" -o "$tmp/other.gguf" 2>/dev/null
sum_before=$(md5sum < "$tmp/ref/results.sqlite")
expect_refusal "another model" "made with another model" "$LAYERLAB" study painters "$tmp/other.gguf" "${ARGS[@]:2}" --out "$tmp/ref" --ppl "$tmp/ppl.txt" --ppl-ctx 128
expect_refusal "other parameters" "made with other parameters: limit is 5 there, 6 now" study --out "$tmp/ref" --ppl "$tmp/ppl.txt" --ppl-ctx 128 --limit 6
[ "$(md5sum < "$tmp/ref/results.sqlite")" = "$sum_before" ] && ok || bad "a refused run changed the store"
mkdir "$tmp/corrupt"; head -c 4096 /dev/urandom > "$tmp/corrupt/results.sqlite"; cs=$(md5sum < "$tmp/corrupt/results.sqlite")
expect_refusal "corrupt store" "is not a layerlab results store" study --out "$tmp/corrupt"
[ "$(md5sum < "$tmp/corrupt/results.sqlite")" = "$cs" ] && ok || bad "the corrupt store was modified"
mkdir "$tmp/foreign"; python3 -c "import sqlite3; db = sqlite3.connect('$tmp/foreign/results.sqlite'); db.execute('create table t(x)'); db.commit()"
expect_refusal "an SQLite file of someone else's" "not a layerlab results store" study --out "$tmp/foreign"
touch "$tmp/afile"
expect_refusal "unwritable DIR" "cannot create the study directory" study --out "$tmp/afile/sub"
expect_refusal "a start beyond the model" "s = 3 leaves no middle layer" study --out "$tmp/bad" --starts 3
[ ! -e "$tmp/bad" ] && ok || bad "a refused study left $tmp/bad behind"
# two runs at once into one DIR: the second is refused while the first holds the lock
"$LAYERLAB" study painters "$S" "${ARGS[@]}" --out "$tmp/two" > /dev/null 2>&1 &
p1=$!
for _ in $(seq 1 500); do [ -e "$tmp/two/results.sqlite" ] && break; sleep 0.01; done
expect_refusal "a second run at once" "another run is writing the study" study --out "$tmp/two"
kill -9 $p1 2>/dev/null; wait $p1 2>/dev/null
# --out with missing parents (run.sh's out/painters-quick on a fresh clone)
"$LAYERLAB" study painters "$S" --tokenizer "$T" --tasks arc_easy --limit 1 --seeds 1 --analyses none --starts 1 --quiet \
    --out "$tmp/new/deeper/dir" > /dev/null 2> "$tmp/err" && [ -f "$tmp/new/deeper/dir/scores.csv" ] && ok || bad "nested --out: $(tail -n 1 "$tmp/err")"
expect_refusal "status of nothing" "no results store there" "$LAYERLAB" study status "$tmp/nothing"
if "$LAYERLAB" study status "$tmp/ref" > "$tmp/st.txt" 2>&1 && grep -q "^items [0-9]* / [0-9]* over" "$tmp/st.txt"; then ok; else bad "status: $(cat "$tmp/st.txt")"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
