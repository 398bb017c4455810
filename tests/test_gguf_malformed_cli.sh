#!/usr/bin/env bash
# test_gguf_malformed_cli.sh — `layerlab info` on every malformed GGUF from test_gguf_malformed --write must
# exit with status exactly 1 and print exactly one line on stderr, starting with "layerlab:" and naming
# the file. Each line is echoed so a human can judge the messages.
set -uo pipefail
: "${BUILD:?BUILD not set (run through ctest)}" "${LAYERLAB:?LAYERLAB not set (run through ctest)}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/test_gguf_malformed" --write "$tmp/cases" || { echo "FAIL: test_gguf_malformed --write" >&2; exit 1; }

n=0
bad=0
for f in "$tmp"/cases/[0-9]*.gguf; do
    n=$((n + 1))
    timeout 60 "$LAYERLAB" info "$f" >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    lines=$(wc -l <"$tmp/stderr")
    bytes=$(wc -c <"$tmp/stderr")
    first=$(head -n 1 "$tmp/stderr")
    name=$(basename "$f")
    problem=""
    if [ "$rc" -ne 1 ]; then
        problem="exit status $rc (want 1)"
    elif [ "$lines" -ne 1 ] || [ "$(tail -c 1 "$tmp/stderr" | od -An -c | tr -d ' ')" != '\n' ]; then
        problem="stderr has $lines line(s), $bytes bytes (want exactly one line)"
    elif [[ "$first" != layerlab:* ]]; then
        problem="stderr does not start with 'layerlab:'"
    elif [[ "$first" != *"$name"* ]]; then
        problem="stderr does not name the file"
    fi
    if [ -n "$problem" ]; then
        bad=$((bad + 1))
        echo "FAIL $name: $problem" >&2
        sed 's/^/    stderr: /' "$tmp/stderr" | head -n 5 >&2
    else
        echo "ok   $first"
    fi
done

if [ "$n" -lt 30 ]; then
    echo "FAIL: only $n malformed files were generated" >&2
    exit 1
fi
echo "$((n - bad)) of $n malformed files rejected cleanly"
[ "$bad" -eq 0 ]
