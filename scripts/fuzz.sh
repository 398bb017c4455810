#!/usr/bin/env bash
# fuzz.sh SECONDS — builds every fuzz/fuzz_*.c libFuzzer target (clang, -DLAYERLAB_FUZZ=ON, in
# build-fuzz/) and runs each for SECONDS with a seed corpus generated at run time. Exits non-zero if any
# target finds a crash, leak, timeout or sanitizer report (the reproducer is kept under
# build-fuzz/fuzz-artifacts/NAME/).
#
# Seeds: fuzz_gguf gets test_gguf_malformed --write, test_gguf_rw --write and the vocabulary GGUFs from
# ../shared/tokenizer-tests (copied into the build tree, never into the repository). Any other target
# fuzz_NAME gets the files written by an executable fuzz/fuzz_NAME.seed (called with the corpus dir as
# its only argument and BUILD set), if there is one; otherwise it starts from an empty corpus.
#
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_MAX_LEN (default 4096), FUZZ_JOBS (build -j, 2),
# SHARED (the fixtures, default ../shared; exported to the targets and seed scripts), FUZZ_ONLY (a
# space-separated list of target names to run instead of all).
set -euo pipefail

usage() { echo "usage: scripts/fuzz.sh SECONDS" >&2; exit 2; }
[ $# -eq 1 ] || usage
secs=$1
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || usage

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
max_len=${FUZZ_MAX_LEN:-4096}
shared=${SHARED:-$(cd "$root/.." && pwd)/shared}
export SHARED=$shared   # the targets (fuzz_tokenize loads vocabularies at start-up) and the .seed scripts read it

shopt -s nullglob
sources=("$root"/fuzz/fuzz_*.c)
[ ${#sources[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz/fuzz_*.c targets" >&2; exit 1; }
targets=()
for s in "${sources[@]}"; do targets+=("$(basename "$s" .c)"); done
if [ -n "${FUZZ_ONLY:-}" ]; then read -r -a targets <<<"$FUZZ_ONLY"; fi

CC=clang cmake -S "$root" -B "$build" -DLAYERLAB_FUZZ=ON -DLAYERLAB_NATIVE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${targets[@]}" test_gguf_malformed test_gguf_rw

seed_corpus() {   # NAME DIR
    local name=$1 dir=$2
    mkdir -p "$dir"
    case "$name" in
    fuzz_gguf)
        "$build/test_gguf_malformed" --write "$dir"
        "$build/test_gguf_rw" --write "$dir/rw.gguf"
        for f in "$shared"/tokenizer-tests/*.gguf; do cp "$f" "$dir/"; done
        ;;
    *)
        if [ -x "$root/fuzz/$name.seed" ]; then BUILD="$build" "$root/fuzz/$name.seed" "$dir"; fi
        ;;
    esac
}

failed=()
for name in "${targets[@]}"; do
    exe="$build/$name"
    [ -x "$exe" ] || { echo "fuzz.sh: $exe was not built" >&2; failed+=("$name"); continue; }
    corpus="$build/fuzz-corpus/$name"
    artifacts="$build/fuzz-artifacts/$name"
    rm -rf "$corpus.seed"
    seed_corpus "$name" "$corpus.seed"
    mkdir -p "$corpus" "$artifacts"
    echo "== $name: ${secs}s, corpus $corpus (seeds: $(ls "$corpus.seed" | wc -l) files)"
    log="$build/fuzz-$name.log"
    if "$exe" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$corpus.seed" >"$log" 2>&1; then
        grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::new_units_added)' "$log" || tail -n 3 "$log"
    else
        echo "fuzz.sh: $name FOUND A PROBLEM (log: $log, artifacts: $artifacts)" >&2
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 20 >&2 || tail -n 30 "$log" >&2
        failed+=("$name")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: findings in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${secs}s each, no findings"
