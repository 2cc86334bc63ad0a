#!/usr/bin/env bash
# The demo: installs and builds p4dp (tools/setup.sh), writes a synthetic population of
# 10,000 patients into demo/synth (once), and serves the demo warehouse and its web page on
# http://127.0.0.1:8080/ until Ctrl-C.
# Usage: bash tools/demo.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8080}
bash tools/setup.sh build
p4dp=build/src/cli/p4dp
if [ ! -f demo/synth/truth/summary.json ]; then
  "$p4dp" synth --patients 10000 --seed 7 --out demo/synth
fi
echo "demo: open http://127.0.0.1:$port/ (Ctrl-C stops the server)"
exec "$p4dp" serve demo/warehouse --port "$port"
