#!/usr/bin/env bash
# Benchmark of `p4dp synth` on the benchmark population: 1,000,000 patients over six years
# (2019-2024), zstd-compressed. Prints wall time, peak memory (maximum resident set) and
# output size. No peer exists for this generator (Synthea is not installable here), so the
# figures stand against the targets of the foundation issue: under 10 minutes on 2 cores,
# compressed output under 15 GB.
# Usage: bash bench/synth_1m.sh [OUT_DIR] [PATIENTS]   (default: build/bench-synth-1m, 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-synth-1m}
patients=${2:-1000000}
p4dp=build/src/cli/p4dp
[ -x "$p4dp" ] || { echo "build p4dp first: bash tools/setup.sh" >&2; exit 1; }
rm -rf "$out"
log=$(mktemp)
/usr/bin/time -v "$p4dp" synth --patients "$patients" --seed 1 --compress zstd --quiet \
  --out "$out" > "$log.json" 2> "$log"
wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
rss_kb=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
cpu_user=$(grep "User time" "$log" | awk '{print $NF}')
cpu_sys=$(grep "System time" "$log" | awk '{print $NF}')
bytes=$(du -sb "$out" | cut -f1)
resources=$(python3 -c "import json,sys; print(json.load(open('$log.json'))['resources'])")
printf 'synth benchmark: %s patients, 2019-01-01..2024-12-31, zstd, %s cores\n' \
  "$patients" "$(nproc)"
printf '  wall time        %s (user %s s, system %s s)\n' "$wall" "$cpu_user" "$cpu_sys"
printf "  peak memory      %s MiB\n" "$((rss_kb / 1024))"
awk -v b="$bytes" -v r="$resources" -v p="$patients" 'BEGIN {
  printf "  output           %.2f GB on disk, %d resources (%.1f per patient)\n", b / 1e9, r, r / p }'
rm -f "$log" "$log.json"
