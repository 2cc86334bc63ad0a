#!/usr/bin/env bash
# The demo: installs and builds p4dp (tools/setup.sh), writes a synthetic population of
# 10,000 patients into demo/synth, creates an encrypted warehouse in demo/warehouse (its
# key in demo/warehouse.key), ingests the population, creates a demo user and project (and
# prints the credentials), and serves the warehouse and its web page on
# http://127.0.0.1:8080/ until Ctrl-C. Each step is skipped when already done.
# Usage: bash tools/demo.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8080}
bash tools/setup.sh build
p4dp=build/src/cli/p4dp
if [ ! -f demo/synth/truth/summary.json ]; then
  "$p4dp" synth --patients 10000 --seed 7 --out demo/synth
fi
if [ ! -f demo/warehouse/catalog.db ]; then
  rm -rf demo/warehouse
  "$p4dp" init demo/warehouse --key-file demo/warehouse.key
fi
# Ingestion is idempotent: an interrupted one is completed by running it again.
if [ ! -f demo/ingested ]; then
  "$p4dp" ingest demo/warehouse demo/synth --key-file demo/warehouse.key --source demo
  touch demo/ingested
fi
# Access: an operator (demo-admin: admin and data manager, its password and TOTP URI printed
# once) and a demo user (researcher, investigator, epidemiologist) of the project "demo".
as=(--key-file demo/warehouse.key --user demo-admin)
if [ ! -f demo/access-done ]; then
  "$p4dp" user add demo/warehouse demo-admin --role admin --role data_manager \
    --key-file demo/warehouse.key
  echo demo-password | "$p4dp" user add demo/warehouse demo --role researcher \
    --role investigator --role epidemiologist --password-stdin "${as[@]}"
  "$p4dp" project create demo/warehouse demo --title "Démonstration" --purpose demo \
    --disclosure patient_list "${as[@]}"
  "$p4dp" project add-member demo/warehouse demo demo "${as[@]}"
  touch demo/access-done
fi
# A public-health surveillance project whose small-cell threshold is 1 (spec access.md:
# "unless the project allows otherwise"): in "demo" (threshold 10) most weekly counts of a
# département of 10,000 patients are hidden or withheld (docs/access-disclosure.md).
if [ ! -f demo/veille-done ]; then
  "$p4dp" project create demo/warehouse veille --title "Veille sanitaire" \
    --purpose "public-health surveillance" --min-cell 1 --domain condition "${as[@]}"
  "$p4dp" project add-member demo/warehouse veille demo "${as[@]}"
  touch demo/veille-done
fi
"$p4dp" stats demo/warehouse --key-file demo/warehouse.key --user demo --project demo
echo "demo: open http://127.0.0.1:$port/ (Ctrl-C stops the server)"
echo "demo: sign in as user 'demo', password 'demo-password' (projects 'demo' and 'veille')"
# The cohort builder counts drafts as you edit (approximate counts that the differencing
# guard does not see, docs/access-disclosure.md) and the exact count on "Compter": the
# default limits hold.
exec "$p4dp" serve demo/warehouse --port "$port" "${as[@]}"
