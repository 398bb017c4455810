#!/usr/bin/env bash
# The output of `eval --json`, `eval --samples`, `ppl --json` and `probe --json` stays identical when the
# code behind them moves (issue 11: the item loops and reductions moved from src/cli/ into the library).
# Each command runs on stories260K (converted to GGUF here) and the result, with run-dependent fields
# taken out (seconds; paths reduced to their base names), must equal tests/ref/cli/NAME.json byte for
# byte. Those files were written by the build before the move (`tests/test_cli_stable.sh --write`).
# ctest-labels: unit
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}" "${SRC:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
write=0; [ "${1:-}" = "--write" ] && write=1
REF=$SRC/tests/ref/cli
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
"$LAYERLAB" convert "$S" --tokenizer "$T" -o "$tmp/stories.gguf" 2>/dev/null || { echo "convert failed"; exit 1; }
M=$tmp/stories.gguf
head -c 20000 "$SHARED/data/tinystories_val.txt" > "$tmp/text.txt"
head -n 30 "$SHARED/data/tinystories_val.txt" | grep -v '^$' | head -n 9 > "$tmp/lines.txt"

normalize() {  # stdin JSON (or JSON lines) -> stable text
    python3 -c '
import json, os, sys
def fix(o):
    if isinstance(o, dict):
        o.pop("seconds", None)
        for k in ("data", "model", "file", "input"):
            if isinstance(o.get(k), str): o[k] = os.path.basename(o[k])
        for v in o.values(): fix(v)
    elif isinstance(o, list):
        for v in o: fix(v)
    return o
txt = sys.stdin.read()
try:
    print(json.dumps(fix(json.loads(txt)), indent=1, sort_keys=True))
except json.JSONDecodeError:
    for line in txt.splitlines():
        print(json.dumps(fix(json.loads(line)), sort_keys=True))
'
}

run() {  # NAME args...   (stdout JSON; with --samples F the samples too)
    local name=$1; shift
    if ! "$LAYERLAB" "$@" > "$tmp/out" 2> "$tmp/err"; then bad "$name: $(tail -n 1 "$tmp/err")"; return; fi
    normalize < "$tmp/out" > "$tmp/$name.json"
    [ -f "$tmp/samples.jsonl" ] && { normalize < "$tmp/samples.jsonl" >> "$tmp/$name.json"; rm -f "$tmp/samples.jsonl"; }
    if [ $write = 1 ]; then cp "$tmp/$name.json" "$REF/$name.json"; ok; return; fi
    if cmp -s "$tmp/$name.json" "$REF/$name.json"; then ok
    else bad "$name differs from tests/ref/cli/$name.json:"; diff "$REF/$name.json" "$tmp/$name.json" | head -n 10 >&2; fi
}
run eval_arc_easy eval "$M" --task arc_easy --limit 6 --json --samples "$tmp/samples.jsonl"
run eval_arc_challenge_plan eval "$M" --task arc_challenge --limit 4 --plan reverse:1 --json
run eval_hellaswag eval "$M" --task hellaswag --limit 3 --json --samples "$tmp/samples.jsonl"
run eval_winogrande eval "$M" --task winogrande --limit 6 --json --samples "$tmp/samples.jsonl"
run eval_piqa_llamacpp eval "$M" --task piqa --limit 4 --llamacpp --json
run eval_boolq_bos eval "$M" --task boolq --limit 3 --bos --json
run eval_lambada eval "$M" --task lambada_openai --limit 8 --bootstrap-iters 200 --json --samples "$tmp/samples.jsonl"
run eval_lambada_maxlen eval "$M" --task lambada_openai --limit 3 --max-length 40 --json
run eval_gsm8k eval "$M" --task gsm8k --limit 2 --max-gen-toks 24 --json --samples "$tmp/samples.jsonl"
run eval_ppl_windows eval "$M" --task ppl --data "$tmp/text.txt" --ctx 128 --json
run eval_ppl_llamacpp eval "$M" --task ppl --data "$tmp/text.txt" --protocol llamacpp --ctx 128 --json
run ppl ppl "$M" "$tmp/text.txt" --ctx 200 --plan skip:1 --json
run probe_cosine probe cosine,block-influence "$M" --file "$tmp/lines.txt" --pad --json
run probe_cosine_token probe cosine "$M" --file "$tmp/lines.txt" --reduce token --plan parallel:1 --json
run probe_attention probe attention-id "$M" --file "$tmp/lines.txt" --eps-sweep 0.05,0.2 --all-positions --json
run probe_mlp probe mlp-regions "$M" --task piqa --limit 5 --json
run probe_idim probe intrinsic-dim "$M" --file "$tmp/text.txt" --json
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
