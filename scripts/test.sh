#!/usr/bin/env bash
# test.sh — set up, build, and run every test: the Release build's ctest suite, then the unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test.sh
ctest --test-dir build --output-on-failure -j2
echo "test: sanitizer build (ASan+UBSan)" >&2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLAYERLAB_SANITIZE=ON -DLAYERLAB_PYTHON="$PWD/.venv/bin/python" >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j2 -L unit
