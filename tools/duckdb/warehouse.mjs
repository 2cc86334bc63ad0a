// Runs the p4dp binary for the scripts that check it against DuckDB (tests/golden/,
// tests/query/sql_duckdb_test.mjs): one command, and a whole warehouse built from FHIR inputs
// with its tables exported (docs/formats/tables.md).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const kCommandTimeoutMs = 300_000;

// Runs `bin ARGS`; returns {status, stdout, stderr}. Throws with its stderr when it fails,
// unless `allowFailure`.
export function runP4dp(bin, args, { allowFailure = false } = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 30,
                                   timeout: kCommandTimeoutMs });
  if (r.error) throw new Error(`p4dp ${args[0]}: ${r.error.message}`);
  if (r.status !== 0 && !allowFailure) {
    throw new Error(`p4dp ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Writes `p4dp synth --patients N --seed S` into `out`.
export function synthesise(bin, out, { patients, seed }) {
  runP4dp(bin, ['synth', '--quiet', '--patients', String(patients), '--seed', String(seed),
                '--out', out]);
}

// Creates a warehouse in WORK/data (key WORK/key), ingests `inputs` (files or folders) and
// exports its tables to WORK/tables. Returns {data, key, tables}.
export function buildWarehouse(bin, work, inputs) {
  const data = path.join(work, 'data');
  const key = path.join(work, 'key');
  const tables = path.join(work, 'tables');
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new Error(`no input at ${input}`);
  }
  runP4dp(bin, ['init', data, '--key-file', key]);
  runP4dp(bin, ['ingest', data, ...inputs, '--key-file', key, '--quiet']);
  runP4dp(bin, ['export', 'events', data, tables, '--key-file', key]);
  return { data, key, tables };
}
