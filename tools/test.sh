#!/usr/bin/env bash
# Runs every test: installs and builds what is missing (tools/setup.sh), runs the whole CTest
# suite, then the unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
# Exits non-zero if anything fails.
# Usage: bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh build
jobs=$(nproc)
ctest --test-dir build --output-on-failure -j "$jobs"

echo "test: sanitizer build (ASan + UBSan) of the unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DP4DP_SANITIZE=ON \
  -DP4DP_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -L unit
