#!/usr/bin/env bash
# Fails if a C++ file differs from what clang-format 14 (.clang-format) would write.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.h' 'src/*.cc' 'tests/*.h' 'tests/*.cc' 'bench/*.h' 'bench/*.cc')
[ -n "$files" ] || { echo "no files to check"; exit 1; }
clang-format-14 --dry-run -Werror $files
echo "format: $(echo "$files" | wc -l) files formatted as .clang-format says"
