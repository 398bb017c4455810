#!/usr/bin/env bash
# Finding 5 of issue 10: `probe --dump DIR` never mixes runs, and an interrupted dump is recognisable.
#   - a dump into a new directory ends with manifest.json (complete, the sample count, the probes);
#   - a second dump into the same, non-empty directory is refused (exit 1) and leaves it as it was;
#   - --dump-replace removes the earlier dump's files only (a file of the user's stays) and the directory
#     then holds exactly the new run's samples;
#   - a dump killed (SIGKILL) part way has sample files but no manifest.json.
# ctest-labels: unit
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
probe() { "$LAYERLAB" probe cosine,attention-id "$S" --tokenizer "$T" --json "$@"; }

head -n 12 "$SHARED/data/tinystories_val.txt" | grep -v '^$' | head -n 6 > "$tmp/six.txt"
head -n 40 "$SHARED/data/tinystories_val.txt" | grep -v '^$' | head -n 3 > "$tmp/three.txt"
n6=$(grep -c . "$tmp/six.txt"); n3=$(grep -c . "$tmp/three.txt")
D=$tmp/d
if probe --file "$tmp/six.txt" --dump "$D" > /dev/null 2> "$tmp/err" && [ -f "$D/manifest.json" ] &&
   grep -q '"complete":[[:space:]]*true' "$D/manifest.json" && grep -q "\"n_samples\":[[:space:]]*$n6" "$D/manifest.json"; then ok
else bad "first dump: $(tail -n 1 "$tmp/err"); $(cat "$D/manifest.json" 2>/dev/null | head -c 300)"; fi
listing=$(ls -l --time-style=+%s.%N "$D" | md5sum)
if probe --file "$tmp/three.txt" --dump "$D" > "$tmp/out" 2> "$tmp/err"; then bad "dump into a non-empty directory: exit 0"
elif ! grep -q "is not empty" "$tmp/err"; then bad "dump into a non-empty directory: $(tail -n 1 "$tmp/err")"
elif [ -s "$tmp/out" ]; then bad "dump into a non-empty directory printed a result"
elif [ "$(ls -l --time-style=+%s.%N "$D" | md5sum)" != "$listing" ]; then bad "the refused dump changed the directory"
else ok; echo "ok: $(tail -n 1 "$tmp/err")"; fi

echo "my notes" > "$D/notes.txt"
if probe --file "$tmp/three.txt" --dump "$D" --dump-replace > /dev/null 2> "$tmp/err"; then ok; else bad "--dump-replace: $(tail -n 1 "$tmp/err")"; fi
got=$(ls "$D" | grep -c '^sample[0-9]*_tokens.npy$')
if [ "$got" = "$n3" ] && [ ! -e "$D/sample$n3""_tokens.npy" ] && [ "$(cat "$D/notes.txt")" = "my notes" ] &&
   grep -q "\"n_samples\":[[:space:]]*$n3" "$D/manifest.json"; then ok
else bad "after --dump-replace: $got samples (want $n3), files: $(ls "$D" | tr '\n' ' ')"; fi

# an interrupted dump: many samples, killed once a few are written
for i in $(seq 1 60); do cat "$tmp/six.txt"; done > "$tmp/many.txt"
K=$tmp/k
probe --file "$tmp/many.txt" --dump "$K" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 3000); do [ -e "$K/sample3_tokens.npy" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.01; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ ! -e "$K/sample3_tokens.npy" ]; then bad "the long dump wrote no samples in time"
elif [ -e "$K/manifest.json" ]; then bad "an interrupted dump has a manifest"
else ok; echo "ok: killed after $(ls "$K" | grep -c _tokens.npy) samples: no manifest.json"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
