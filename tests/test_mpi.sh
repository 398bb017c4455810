#!/usr/bin/env bash
# test_mpi.sh — studies sharded over MPI ranks (src/study/shard.c) give what one process gives:
#   1. the painters study on stories260K (arc_easy + lambada_openai, 20 items, every variant, the analyses) under
#      `mpirun -n 2` and `-n 3 --oversubscribe` (1 thread per rank): the store (scripts/store_dump.py: every table,
#      rows sorted, timings left out) and the exports (scores.csv, scores.json, items.csv) byte-identical to one
#      process's;
#   2. the geometry study the same way (-n 2, -n 3; prompts.csv, analysis.json);
#   3. kill -9 of one rank mid-run (mpirun ends the job), then the same command: identical again; kill -9 of every
#      process mid-run, then resuming with another number of ranks (and once without mpirun): identical again.
# Skips (77) when mpirun is missing or layerlab was built without MPI.
set -euo pipefail
: "${LAYERLAB:?}" "${SRC:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] || { echo "skip: stories260K missing"; exit 77; }
command -v mpirun >/dev/null || { echo "test_mpi: skipping: no mpirun (apt-get install openmpi-bin libopenmpi-dev)"; exit 77; }
ldd "$LAYERLAB" | grep -q libmpi || { echo "test_mpi: skipping: $LAYERLAB was built without MPI"; exit 77; }
PY=${PYTHON:-python3}
MPI="mpirun --allow-run-as-root --oversubscribe"
tmp=$(mktemp -d); trap 'pkill -9 -P $$ 2>/dev/null || true; rm -rf "$tmp"' EXIT
export LAYERLAB_DATA=$SHARED/data
P=(study painters "$S" --tokenizer "$T" --tasks arc_easy,lambada_openai --limit 20 --seeds 2 --quiet --threads 1)
G=(study geometry "$S" --tokenizer "$T" --task arc_easy --limit 12 --shots 0,1 --quiet --threads 1)
same() {   # same DIR_A DIR_B FILES...: the stores' dumps and the listed exports are identical
    local a=$1 b=$2; shift 2
    "$PY" "$SRC/scripts/store_dump.py" "$a" > "$tmp/da.txt"
    "$PY" "$SRC/scripts/store_dump.py" "$b" > "$tmp/db.txt"
    cmp -s "$tmp/da.txt" "$tmp/db.txt" || { diff "$tmp/da.txt" "$tmp/db.txt" | head -5 >&2; echo "FAIL: stores $a and $b differ" >&2; exit 1; }
    for f in "$@"; do cmp "$a/$f" "$b/$f" || { echo "FAIL: $f differs ($a, $b)" >&2; exit 1; }; done
    ls "$b" | grep -q 'rank-' && { echo "FAIL: rank stores left in $b" >&2; exit 1; }
    echo "test_mpi: identical: $(basename "$a") and $(basename "$b") ($(grep -c . "$tmp/da.txt") rows)"
}

"$LAYERLAB" "${P[@]}" --out "$tmp/p1" >/dev/null 2>&1
for n in 2 3; do
    $MPI -n $n "$LAYERLAB" "${P[@]}" --out "$tmp/p$n" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    same "$tmp/p1" "$tmp/p$n" scores.csv scores.json items.csv
done
"$LAYERLAB" "${G[@]}" --out "$tmp/g1" >/dev/null 2>&1
for n in 2 3; do
    $MPI -n $n "$LAYERLAB" "${G[@]}" --out "$tmp/g$n" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    same "$tmp/g1" "$tmp/g$n" prompts.csv analysis.json
done

# 3. kills: a longer run (60 items) killed after a second, then resumed
P60=(study painters "$S" --tokenizer "$T" --tasks arc_easy,lambada_openai --limit 60 --seeds 2 --quiet --threads 1)
"$LAYERLAB" "${P60[@]}" --out "$tmp/k1" >/dev/null 2>&1
count() { "$PY" -c "import sqlite3,glob,sys; print(sum(sqlite3.connect(f).execute('SELECT count(*) FROM items').fetchone()[0] for f in glob.glob(sys.argv[1] + '/results*.sqlite')))" "$1"; }
kill_after() {   # kill_after DIR WHO: start -n 2, kill one rank (WHO=one) or everything (WHO=all) once results are in
    $MPI -n 2 "$LAYERLAB" "${P60[@]}" --out "$1" >/dev/null 2>&1 &
    local mp=$! t=0
    while [ $t -lt 100 ]; do
        sleep 0.2; t=$((t+1))
        [ -f "$1/results.rank-1.sqlite" ] && [ "$(count "$1" 2>/dev/null || echo 0)" -gt 150 ] && break
    done
    local kids; kids=$(pgrep -P $mp || true)
    [ -n "$kids" ] || { echo "FAIL: the job ended before it could be killed" >&2; exit 1; }
    if [ "$2" = one ]; then kill -9 $(echo "$kids" | tail -n 1); else kill -9 $kids $mp; fi
    wait $mp 2>/dev/null || true
    sleep 0.5
    echo "test_mpi: killed $2 after $(count "$1") (plan, item) results were committed"
}
kill_after "$tmp/k2" one
$MPI -n 2 "$LAYERLAB" "${P60[@]}" --out "$tmp/k2" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
same "$tmp/k1" "$tmp/k2" scores.csv scores.json items.csv
kill_after "$tmp/k3" all
$MPI -n 3 "$LAYERLAB" "${P60[@]}" --out "$tmp/k3" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
same "$tmp/k1" "$tmp/k3" scores.csv scores.json items.csv
kill_after "$tmp/k4" all
"$LAYERLAB" "${P60[@]}" --out "$tmp/k4" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
same "$tmp/k1" "$tmp/k4" scores.csv scores.json items.csv
echo "test_mpi: passed"
