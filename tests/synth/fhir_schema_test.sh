#!/usr/bin/env bash
# Generates 1,000 synthetic patients and validates every line against the official FHIR R4
# JSON schema with tools/fhir-validate (installed by tools/setup.sh).
# Usage: fhir_schema_test.sh P4DP_BINARY OUT_DIR
set -euo pipefail
p4dp=$1
out=$2
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ ! -d "$root/tools/fhir-validate/node_modules" ]; then
  echo "tools/fhir-validate/node_modules is missing: run bash tools/setup.sh" >&2
  exit 1
fi
rm -rf "$out"
"$p4dp" synth --quiet --patients 1000 --seed 3 --out "$out"
node "$root/tools/fhir-validate/validate.js" "$out"
