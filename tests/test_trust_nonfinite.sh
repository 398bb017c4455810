#!/usr/bin/env bash
# Finding 1 of issue 10: a NaN or an infinity in the weights must never become a score.
# Models: SmolLM2 with one NaN written into output_norm.weight, and with +inf in blk.5.ffn_norm.weight
# (tests/make_nonfinite.py patches the bytes at the offset the gguf package reports). For each:
#   - info --check names the tensor (and exits 1);
#   - eval, ppl, generate and probe exit 1, print no result, and name where the values first went
#     non-finite: the final RMSNorm (output_norm) for the first model, layer 5 for the second; eval names
#     its item, ppl its window, probe its sample.
# And the unpatched model: info --check says all finite, exit 0.
set -euo pipefail
: "${LAYERLAB:?}" "${SHARED:?}" "${SMOLLM2:?}" "${SRC:?}"
PY=${PYTHON:-python3}
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
"$PY" -c "import gguf" 2>/dev/null || { echo "skip: the gguf package is missing"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }

"$PY" "$SRC/tests/make_nonfinite.py" "$SMOLLM2" "$tmp/nan.gguf" output_norm.weight nan
"$PY" "$SRC/tests/make_nonfinite.py" "$SMOLLM2" "$tmp/inf5.gguf" blk.5.ffn_norm.weight inf
printf 'The quick brown fox jumps over the lazy dog. It was a sunny day.\n' > "$tmp/text.txt"

expect_fail() {  # WHAT PATTERN cmd...   (stdout may hold only the prompt echoed by generate, or info's report)
    local what=$1 pat=$2; shift 2
    if "$@" >"$tmp/out" 2>"$tmp/err"; then bad "$what: exit 0"; return; fi
    case "$what" in
    *info*) ;;
    *) if [ -s "$tmp/out" ] && [ "$(tr -d '[:space:]' < "$tmp/out")" != "Hello" ]; then
           bad "$what: printed a result: $(head -c 200 "$tmp/out")"; return
       fi ;;
    esac
    if grep -q -- "$pat" "$tmp/err"; then ok; echo "ok ($what): $(grep -- "$pat" "$tmp/err" | tail -n 1)"
    else bad "$what: message lacks '$pat': $(tail -n 2 "$tmp/err")"; fi
}

for spec in "nan.gguf|final RMSNorm (output_norm.weight)|output_norm.weight" "inf5.gguf|output of layer 5 |blk.5.ffn_norm.weight"; do
    IFS='|' read -r file where tensor <<<"$spec"
    m=$tmp/$file
    expect_fail "$file info --check" "$tensor" "$LAYERLAB" info "$m" --check
    "$LAYERLAB" info "$m" --check --json > "$tmp/check.json" 2>/dev/null || true
    if "$PY" - "$tmp/check.json" <<EOF2
import json, sys
j = json.load(open(sys.argv[1]))
bad = j['check']['non_finite']
assert [b['tensor'] for b in bad] == ['$tensor'], bad
assert bad[0]['first_index'] == 0 and bad[0]['nan'] + bad[0]['inf'] == 1, bad
EOF2
    then ok; else bad "$file info --check --json"; fi
    expect_fail "$file eval" "arc_easy item 0 .*$where" "$LAYERLAB" eval "$m" --task arc_easy --limit 3 --json
    expect_fail "$file eval lambada" "lambada_openai item 0 .*$where" "$LAYERLAB" eval "$m" --task lambada_openai --limit 2
    expect_fail "$file ppl" "ppl: window 1 of 1 .*$where" "$LAYERLAB" ppl "$m" "$tmp/text.txt" --json
    expect_fail "$file generate" "$where" "$LAYERLAB" generate "$m" -p "Hello" -n 5 --temp 0
    expect_fail "$file probe" "probe: sample 0 of 1: .*$where" "$LAYERLAB" probe cosine "$m" --text "Hello there" --json
done

if "$LAYERLAB" info "$SMOLLM2" --check > "$tmp/out" 2>&1 && grep -q "all finite" "$tmp/out"; then ok
else bad "the unpatched model: $(tail -n 2 "$tmp/out")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
