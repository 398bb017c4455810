#!/usr/bin/env bash
# Finding 3 of issue 10: a result that could not be written is an error. With stdout on a full device
# (`> /dev/full`, a redirection: the device itself is never written as a file), every command that prints
# must exit 1 and say "No space left on device"; the same commands with stdout on a regular file exit 0
# (so the failure is the write's, not the command's).
# ctest-labels: unit
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
[ -w /dev/full ] || { echo "skip: no /dev/full"; exit 77; }
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }

head -c 4000 "$SHARED/data/tinystories_val.txt" > "$tmp/text.txt"
"$LAYERLAB" convert "$S" --tokenizer "$T" -o "$tmp/s.gguf" 2>/dev/null || { echo "convert failed"; exit 1; }
printf '1 2\n3 4\n5 6\n7 8.5\n' > "$tmp/x.csv"
python3 - "$tmp/pts.npy" <<'EOF2'
import struct, sys, random
random.seed(1)
n, d = 200, 3
hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
    f.write(struct.pack("<%dd" % (n * d), *[random.random() for _ in range(n * d)]))
EOF2
M=$tmp/s.gguf
commands=(
    "--help" "--version" "info $M" "info $M --json" "info $M --check" "tokenize $M --text hello" "detokenize $M --ids 1,2,3"
    "generate $M -p Once -n 8 --temp 0" "ppl $M $tmp/text.txt" "ppl $M $tmp/text.txt --json" "plan $M --plan reverse:1"
    "plan $M --plan skip:1 --json" "probe cosine $M --text hello --json" "probe attention-id $M --text hello --json"
    "probe intrinsic-dim --input $tmp/pts.npy --json" "eval $M --task arc_easy --limit 2 --json"
    "eval $M --task ppl --data $tmp/text.txt --json" "tensor $M --list" "bench $M -p 8 -n 4 --reps 1"
    "regions-bound 100 5" "info --help" "eval --help"
)
for cmd in "${commands[@]}"; do
    # shellcheck disable=SC2086
    if ! "$LAYERLAB" $cmd > "$tmp/out" 2> "$tmp/err"; then bad "'$cmd' fails with stdout on a file: $(tail -n 1 "$tmp/err")"; continue; fi
    [ -s "$tmp/out" ] || { bad "'$cmd' prints nothing"; continue; }
    # shellcheck disable=SC2086
    if "$LAYERLAB" $cmd > /dev/full 2> "$tmp/err"; then bad "'$cmd' > /dev/full exits 0"
    elif grep -q "No space left on device" "$tmp/err"; then ok
    else bad "'$cmd' > /dev/full: no reason given: $(tail -n 1 "$tmp/err")"; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
