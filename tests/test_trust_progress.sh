#!/usr/bin/env bash
# Finding 7 of issue 10: progress that suits where it goes.
#   - stderr on a file: no carriage returns, whole lines, at most one every 5 s (plus the last);
#   - stderr on a terminal (a pseudo-terminal from util-linux `script`): redrawn in place with \r, and a
#     single long item (one 1024-token forward) shows where it is inside the item ("layer k/30");
#   - --threads above the machine's cores gives a warning.
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}" "${SMOLLM2:?}"
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
M=$SMOLLM2
head -c 30000 "$SHARED/data/wikitext2_test_raw.txt" > "$tmp/w.txt"

# a file: lines only, throttled
t0=$(date +%s.%N)
"$LAYERLAB" eval "$M" --task arc_easy --limit 40 > /dev/null 2> "$tmp/err1" || bad "eval failed: $(tail -n 1 "$tmp/err1")"
"$LAYERLAB" ppl "$M" "$tmp/w.txt" --ctx 256 --max-tokens 4096 > /dev/null 2> "$tmp/err2" || bad "ppl failed"
t1=$(date +%s.%N)
for f in "$tmp/err1" "$tmp/err2"; do
    if grep -q $'\r' "$f"; then bad "carriage return in progress written to a file: $(head -c 200 "$f" | cat -A)"; else ok; fi
done
n=$(cat "$tmp/err1" "$tmp/err2" | grep -c "layerlab: .*\[[#.]*\]")
max=$(python3 -c "print(int(($t1 - $t0) / 5) + 2 * 2)")
if [ "$n" -ge 2 ] && [ "$n" -le "$max" ]; then ok; echo "ok: $n progress lines in $(python3 -c "print(round($t1 - $t0, 1))") s (at most $max)"
else bad "$n progress lines (expected 2..$max): $(cat "$tmp/err1" "$tmp/err2")"; fi
if tail -n 1 "$tmp/err1" | grep -q "40/40 .* in "; then ok; else bad "eval's last progress line: $(tail -n 1 "$tmp/err1")"; fi

# a terminal: \r redraws, and the layer inside one long item
if command -v script > /dev/null; then
    script -qec "'$LAYERLAB' ppl '$M' '$tmp/w.txt' --ctx 1024 --max-tokens 1024 > /dev/null" /dev/null > "$tmp/tty" 2>&1
    if grep -q $'\r' "$tmp/tty" && grep -q "(item 1: layer [0-9]*/30)" "$tmp/tty"; then ok
        echo "ok: terminal progress inside one forward: $(tr '\r' '\n' < "$tmp/tty" | grep -m 1 "layer")"
    else bad "terminal progress: $(cat -A "$tmp/tty" | head -c 400)"; fi
else
    echo "note: no util-linux script(1): the terminal case is skipped"
fi

# too many threads
cores=$(nproc)
"$LAYERLAB" generate "$M" -p hi -n 2 --temp 0 --threads $((cores + 1)) > /dev/null 2> "$tmp/err3"
if grep -q "warning: --threads $((cores + 1)) is more than the $cores cores" "$tmp/err3"; then ok
else bad "no warning for --threads $((cores + 1)): $(cat "$tmp/err3")"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
