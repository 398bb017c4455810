#!/usr/bin/env bash
# test.sh — set up, build, and run every test: the Release build's ctest suite, the Python package's pytest
# suite, then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test.sh
ctest --test-dir build --output-on-failure -j2
# The Python package (python/): installed into .venv over this build's library (setup.py builds only the
# layerlab_shared target there), then its tests from outside python/ so that the installed copy is the one tested
echo "test: the Python package (pip install ./python, pytest python/tests)" >&2
LAYERLAB_BUILD_DIR="$PWD/build" .venv/bin/pip install -q --disable-pip-version-check ./python
(cd build && LAYERLAB="$PWD/layerlab" ../.venv/bin/python -m pytest -q -p no:cacheprovider ../python/tests)
echo "test: sanitizer build (ASan+UBSan)" >&2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLAYERLAB_SANITIZE=ON -DLAYERLAB_PYTHON="$PWD/.venv/bin/python" >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j2 -L unit
