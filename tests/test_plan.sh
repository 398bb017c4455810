#!/usr/bin/env bash
# ctest-labels: unit
# The plan language: presets resolve as "Transformer Layers as Painters" defines them, random:s:seed is
# CPython's random.seed(seed); random.shuffle(list(range(s+1, L-s))) (checked against the issue's two
# published orders and against python3's own random module for many seeds and depths), explicit lists,
# groups and repeats expand as documented, and bad plans fail with the column named.
set -uo pipefail
: "${LAYERLAB:?}"
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
plan() { "$LAYERLAB" plan --layers "$1" --plan "$2" | head -n 1; }
expect() { # L spec expected-order
    local got; got=$(plan "$1" "$2")
    if [ "$got" = "$3" ]; then ok; else bad "$2 (L=$1): got '$got', want '$3'"; fi
}
# the two orders published in the issue (L = 30), produced by CPython
expect 30 random:0:0 "0,4,11,18,23,6,1,8,26,24,15,20,27,21,3,19,5,7,12,22,10,29,16,17,9,2,14,25,13,28"
expect 30 random:0:1 "0,27,17,12,11,24,2,6,29,8,21,10,28,18,14,1,20,23,7,13,22,15,16,4,9,3,25,26,19,5"
expect 30 full "$(seq -s, 0 29)"
expect 30 skip:13 "$(seq -s, 0 13),$(seq -s, 17 29)"
expect 30 skip:0 "0"
expect 8 middle_repeat:2 "0,1,2,4,4,4,6,7"
expect 8 reverse:1 "0,1,6,5,4,3,2,7"
expect 8 parallel:2 "0,1,2,[3,4,5],6,7"
expect 8 looped_parallel:2:3 "0,1,2,[3,4,5],[3,4,5],[3,4,5],6,7"
expect 8 skip_one:3 "0,1,2,4,5,6,7"
expect 8 switch:3 "0,1,2,4,3,5,6,7"
expect 8 repeat_each:2:2 "0,1,2,3,3,4,4,5,5,6,7"
expect 8 repeat_block:2:2 "0,1,2,3,4,5,3,4,5,6,7"
expect 8 "0-2,5-3,7" "0,1,2,5,4,3,7"
expect 8 "0,[1,3-5]*2,6*3,3-4*2" "0,[1,3,4,5],[1,3,4,5],6,6,6,3,4,3,4"
expect 8 " 1 , [2] , 3 " "1,2,3"
# CPython's shuffle, for many seeds and depths
if command -v python3 >/dev/null; then
    for L in 5 12 30 32 80; do
        for seed in 0 1 2 7 42 1234 4294967295 4294967296 123456789012; do
            s=$(( (L - 3) / 3 ))
            want=$(python3 -c "
import random, sys
L, s, seed = $L, $s, $seed
random.seed(seed); mid = list(range(s + 1, L - s)); random.shuffle(mid)
print(','.join(map(str, list(range(0, s + 1)) + mid + list(range(L - s, L)))))")
            expect "$L" "random:$s:$seed" "$want"
        done
    done
fi
# JSON: order (groups as lists) and passes
j=$("$LAYERLAB" plan --layers 8 --plan looped_parallel:2:2 --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['order']==[0,1,2,[3,4,5],[3,4,5],6,7] and d['passes']==11 and d['entries']==7" "$j"; then ok; else bad "json: $j"; fi
# errors name the column and what was expected; exit code 1, one line
experr() { # L spec expected-substring
    local out rc; out=$("$LAYERLAB" plan --layers "$1" --plan "$2" 2>&1 >/dev/null); rc=$?
    if [ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -qF -- "$3" <<<"$out"; then ok; else bad "error for '$2': rc $rc: $out"; fi
}
experr 30 "1,2,x" "column 5: expected a layer number"
experr 30 "0-40" "column 3: layer 40 is out of range"
experr 30 "skip:15" "s must be ≤ 14"
experr 30 "[1,1]" "appears twice"
experr 30 "3*0" "column 3: repeat count must be at least 1"
experr 30 "" "plan is empty"
experr 30 "random:0" "takes 2 arguments"
experr 30 "looped_parallel:3:0" "count must be at least 1"
experr 30 "bogus:1" "unknown preset"
experr 30 "1,,2" "column 3: expected a layer number"
experr 30 "[1,2" "column 5: expected ',' or ']'"
experr 30 "1*100001" "the largest allowed is 100000"
experr 30 "0-29*4000" "more than 100000 layer passes"
experr 30 "switch:29" "switch:29 is out of range"
experr 30 "99999999999999999999" "the largest allowed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
