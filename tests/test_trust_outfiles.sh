#!/usr/bin/env bash
# Finding 4 of issue 10: outputs never clobber special files and never leave temporary files behind.
#   - --out / -o / --samples onto a character device (made here with mknod, 1:7 like /dev/full, in a
#     temporary directory: never the system's own node), a FIFO or a directory: refused before any work,
#     exit 1, and the node is still what it was;
#   - an existing regular file is replaced whole;
#   - SIGINT (and SIGTERM) while `export` writes its 77 MB GGUF and while `logits` writes a 100 MB .npy:
#     the process dies of the signal, no temporary file is left, and an existing destination keeps its old
#     bytes.
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}" "${SMOLLM2:?}"
[ -f "$SMOLLM2" ] || { echo "skip: $SMOLLM2 missing (run scripts/setup.sh)"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
M=$SMOLLM2

mkfifo "$tmp/fifo"
mkdir "$tmp/dir"
have_dev=0
if mknod "$tmp/dev" c 1 7 2>/dev/null; then have_dev=1; else echo "note: mknod not permitted here: the device cases are skipped"; fi
targets=("$tmp/fifo" "$tmp/dir")
[ $have_dev = 1 ] && targets+=("$tmp/dev")
kind() { stat -c %F "$1"; }
for t in "${targets[@]}"; do
    before=$(kind "$t")
    for cmd in "logits $M --text hello --out $t" "export $M --plan skip:13 -o $t" "tensor $M output_norm.weight --out $t" \
               "probe cosine $M --text hello --out $t" "eval $M --task arc_easy --limit 1 --samples $t" \
               "convert $SHARED/models/stories260K.bin --tokenizer $SHARED/models/tok512.bin -o $t"; do
        # shellcheck disable=SC2086
        if "$LAYERLAB" $cmd > /dev/null 2> "$tmp/err"; then bad "'$cmd' exits 0"
        elif ! grep -q "refusing to write '$t': it is" "$tmp/err"; then bad "'$cmd': $(tail -n 1 "$tmp/err")"
        elif [ "$(kind "$t")" != "$before" ]; then bad "'$cmd' turned $before into $(kind "$t")"
        else ok; fi
    done
    echo "ok: $before refused: $(tail -n 1 "$tmp/err")"
done
if ls "$tmp" | grep -q tmp; then bad "temporary files left: $(ls "$tmp")"; else ok; fi

# a regular file is replaced whole
echo old > "$tmp/l.npy"
if "$LAYERLAB" logits "$M" --text "hello there" --out "$tmp/l.npy" 2>/dev/null && [ "$(head -c 6 "$tmp/l.npy" | tail -c 5)" = "NUMPY" ]; then ok
else bad "logits --out did not replace a regular file"; fi

# a signal while the output is being written
interrupt() {  # WHAT SIGNAL DEST cmd...   (DEST exists beforehand with the bytes "old")
    local what=$1 sig=$2 dest=$3; shift 3
    echo old > "$dest"
    set -m   # job control: a background job of a script would otherwise start with SIGINT ignored
    "$@" > /dev/null 2>&1 &
    local pid=$! seen=0
    set +m
    for _ in $(seq 1 6000); do   # up to 60 s for the temporary file to appear
        if compgen -G "$dest.tmp-*" > /dev/null; then seen=1; break; fi
        kill -0 $pid 2>/dev/null || break
        sleep 0.01
    done
    if [ $seen = 0 ]; then wait $pid; bad "$what: no temporary file seen while writing"; return; fi
    kill -s "$sig" $pid
    wait $pid; local rc=$?
    if [ $rc -lt 128 ]; then bad "$what: exit $rc, not death by SIG$sig"; return; fi
    if compgen -G "$dest.tmp-*" > /dev/null; then bad "$what: SIG$sig left $(ls "$dest".tmp-*)"; return; fi
    if [ "$(cat "$dest")" != old ]; then bad "$what: the destination changed"; return; fi
    ok; echo "ok: $what: SIG$sig while writing (exit $rc), no temporary file left, destination unchanged"
}
long=$tmp/long.txt
head -c 3000 "$SHARED/data/wikitext2_test_raw.txt" > "$long"
interrupt "export" INT "$tmp/e.gguf" "$LAYERLAB" export "$M" --plan skip:13 -o "$tmp/e.gguf"
interrupt "export" TERM "$tmp/e2.gguf" "$LAYERLAB" export "$M" --plan reverse:10 -o "$tmp/e2.gguf"
interrupt "logits" INT "$tmp/big.npy" "$LAYERLAB" logits "$M" --file "$long" --out "$tmp/big.npy"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
