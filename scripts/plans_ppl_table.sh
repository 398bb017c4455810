#!/usr/bin/env bash
# plans_ppl_table.sh MODEL TEXT CTX MAX_TOKENS OUT.jsonl [extra layerlab args...]
# Perplexity of every Painters preset at every start layer s: full once, then skip, middle_repeat,
# reverse, random (seed 0), parallel and looped_parallel (k = 3) for s = (L-2)/2 down to 0. One JSON
# line per run (the `layerlab ppl --json` output plus "plan" and "s"); runs already in OUT.jsonl are
# skipped, so an interrupted sweep resumes. Progress on stderr.
set -euo pipefail
model=$1 text=$2 ctx=$3 max=$4 out=$5; shift 5
extra=("$@")
LL=${LAYERLAB:-build/layerlab}
L=$("$LL" info "$model" "${extra[@]}" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['n_layer'])")
touch "$out"
run() { # plan s
    if grep -qF "\"plan\": \"$1\"" "$out"; then return; fi
    echo "plans_ppl_table: $1" >&2
    "$LL" ppl "$model" "$text" --ctx "$ctx" --max-tokens "$max" --plan "$1" --json "${extra[@]}" 2>/dev/null \
        | python3 -c "import json,sys; d=json.load(sys.stdin); d['plan']=sys.argv[1]; d['s']=int(sys.argv[2]); print(json.dumps(d))" "$1" "$2" >> "$out"
}
run full -1
for ((s = (L - 2) / 2; s >= 0; s--)); do
    for p in "skip:$s" "middle_repeat:$s" "reverse:$s" "random:$s:0" "parallel:$s" "looped_parallel:$s:3"; do
        run "$p" "$s"
    done
done
