#!/usr/bin/env bash
# ctest-labels: unit
# Malformed llama2.c checkpoints and tokenizer.bin files: each must give exactly one error line on stderr
# starting with "layerlab:" and exit code 1 (never a crash; under ASan+UBSan in the sanitizer run).
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
M=$SHARED/models/stories260K.bin
T=$SHARED/models/tok512.bin
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
pass=0; fail=0

# header: dim hidden layers heads kv_heads vocab seq_len (int32 little-endian)
hdr() { perl -e 'print pack("l<7", @ARGV)' -- "$@"; }
body() { tail -c +29 "$M"; }

hdr 64 172 5 8 4 512 512 > "$d/good-header-only.bin"            # header without weights
head -c 1000 "$M" > "$d/truncated-1000.bin"
head -c 20 "$M" > "$d/truncated-header.bin"
: > "$d/empty.bin"
{ cat "$M"; printf 'x'; } > "$d/trailing-byte.bin"
{ hdr 0 172 5 8 4 512 512; body; } > "$d/dim-zero.bin"
{ hdr -64 172 5 8 4 512 512; body; } > "$d/dim-negative.bin"
{ hdr 64 172 5 7 4 512 512; body; } > "$d/heads-not-dividing.bin"
{ hdr 64 172 5 8 3 512 512; body; } > "$d/kv-heads-not-dividing.bin"
{ hdr 64 172 5 64 64 512 512; body; } > "$d/odd-head-size.bin"
{ hdr 2147483647 172 5 8 4 512 512; body; } > "$d/dim-huge.bin"
{ hdr 64 172 2000000000 8 4 512 512; body; } > "$d/layers-huge.bin"
{ hdr 64 172 5 8 4 -2147483648 512; body; } > "$d/vocab-int-min.bin"
{ hdr 64 172 5 8 4 512 0; body; } > "$d/seq-zero.bin"
{ hdr 64 172 5 8 16 512 512; body; } > "$d/kv-more-than-heads.bin"

expect_error() { # name, command...
    local name=$1; shift
    "$@" >/dev/null 2>"$d/err"; local rc=$?
    local lines; lines=$(wc -l < "$d/err")
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && grep -q '^layerlab: ' "$d/err"; then
        pass=$((pass+1)); echo "ok   $name: $(cat "$d/err")"
    else
        fail=$((fail+1)); echo "FAIL $name: exit $rc, $lines lines:"; cat "$d/err"
    fi
}
for f in "$d"/*.bin; do
    expect_error "$(basename "$f")" "$LAYERLAB" generate "$f" --tokenizer "$T" -n 8 --temp 0
done

# tokenizer.bin problems, with the good checkpoint
head -c 100 "$T" > "$d/tok-truncated.tok"
perl -e 'print pack("l<", 10)' > "$d/tok-empty-list.tok"
{ perl -e 'print pack("l<", 10)'; perl -e 'print pack("f<l<", 0.0, 1000000)'; } > "$d/tok-huge-len.tok"
{ perl -e 'print pack("l<", 10)'; perl -e 'print pack("f<l<", 0.0, -5)'; } > "$d/tok-negative-len.tok"
for f in "$d"/*.tok; do
    expect_error "$(basename "$f")" "$LAYERLAB" generate "$M" --tokenizer "$f" -n 8 --temp 0
done
expect_error "missing-tokenizer-file" "$LAYERLAB" generate "$M" --tokenizer "$d/nope.bin" -n 8
expect_error "no-tokenizer-given" "$LAYERLAB" generate "$M" -n 8
expect_error "missing-model" "$LAYERLAB" info "$d/does-not-exist.gguf"
expect_error "directory-as-model" "$LAYERLAB" info "$d"
expect_error "bad-threads" "$LAYERLAB" generate "$M" --tokenizer "$T" --threads 0
expect_error "bad-temp" "$LAYERLAB" generate "$M" --tokenizer "$T" --temp abc
expect_error "ctx-beyond-model" "$LAYERLAB" ppl "$M" "$SHARED/data/tinystories_val.txt" --tokenizer "$T" --ctx 4096
expect_error "token-id-out-of-range" "$LAYERLAB" logits "$M" --ids "1 600" --out "$d/x.npy"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
