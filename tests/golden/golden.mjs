// Golden cohorts (tests/golden/README.md): each cohort definition NN-name.json has a
// hand-written SQL query NN-name.sql over the exported tables (docs/formats/tables.md) and the
// attrition that query gave in DuckDB, committed as NN-name.expected.json. This script builds
// the warehouse the cohorts are written for, exports its tables, loads them into DuckDB and,
// for every cohort, checks:
//   (a) the hand SQL gives the committed attrition;
//   (b) `p4dp count --min-cell 1` gives the hand SQL's attrition;
//   (c) the compiled SQL (`p4dp sql`), run in DuckDB, gives the same
//       attrition, and `p4dp count --patients` and `p4dp sql --patients` the same patients
//       and index dates.
// Usage: node tests/golden/golden.mjs [--bin P4DP] --work DIR [--synthea] [--write] [--only NN]
//   --synthea  the Synthea cohorts (tests/golden/synthea/) on ../shared/data/fhir instead of
//              the synthetic population and tests/golden/edge.ndjson (tests/golden/cohorts/)
//   --write    rewrite the expected files from the hand SQL (only after a deliberate change
//              of the test data); the other checks still run
//   --only NN  only the cohorts whose file name starts with NN
// Prints a line per cohort, then `golden: N passed, M failed`; exits 1 on any failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const kSharedFhir = path.resolve(root, '../shared/data/fhir');

// DuckDB comes from tools/duckdb/node_modules (tools/setup.sh): say so when it is missing.
let openTables, query, runP4dp, synthesise, buildWarehouse;
try {
  ({ openTables, query } = await import('../../tools/duckdb/tables.mjs'));
  ({ runP4dp, synthesise, buildWarehouse } = await import('../../tools/duckdb/warehouse.mjs'));
} catch (e) {
  console.error(`golden: cannot load DuckDB (${e.message.split('\n')[0]}); ` +
                'run bash tools/setup.sh (npm ci in tools/duckdb)');
  process.exit(1);
}

function parseArgs(argv) {
  const args = { bin: path.join(root, 'build/src/cli/p4dp'), work: '', write: false,
                 only: '', synthea: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--bin') args.bin = path.resolve(value());
    else if (a === '--work') args.work = path.resolve(value());
    else if (a === '--only') args.only = value();
    else if (a === '--write') args.write = true;
    else if (a === '--synthea') args.synthea = true;
    else usage(`unknown argument '${a}'`);
  }
  if (!args.work) usage('--work DIR is required');
  return args;
}

function usage(message) {
  console.error(`golden: ${message}\nusage: node tests/golden/golden.mjs [--bin P4DP] ` +
                '--work DIR [--synthea] [--write] [--only NN]');
  process.exit(2);
}

// Builds the warehouse in WORK/data (key WORK/key) and exports its tables to WORK/tables.
function buildGoldenWarehouse(args) {
  fs.rmSync(args.work, { recursive: true, force: true });
  fs.mkdirSync(args.work, { recursive: true });
  if (args.synthea) {
    // As tests/ingest/real_data_test.cc: the Synthea Bundles and the Bulk Data export.
    return buildWarehouse(args.bin, args.work,
      ['synthea-bundles', 'synthea-bulk-10'].map((d) => path.join(kSharedFhir, d)));
  }
  const synth = path.join(args.work, 'synth');
  synthesise(args.bin, synth, { patients: 2000, seed: 7 });
  return buildWarehouse(args.bin, args.work, [synth, path.join(here, 'edge.ndjson')]);
}

function attritionOf(rows, what) {
  return rows.map((row) => {
    if (typeof row.name !== 'string' || !Number.isInteger(row.patients)) {
      throw new Error(`${what}: a row is not {name, patients}: ${JSON.stringify(row)}`);
    }
    return { name: row.name, patients: row.patients };
  });
}

function formatAttrition(rows) {
  return rows.map((r) => `${r.name}: ${r.patients}`).join(', ');
}

function sameAttrition(a, b) {
  return a.length === b.length &&
         a.every((row, i) => row.name === b[i].name && row.patients === b[i].patients);
}

function expectedText(rows) {
  return `[\n${rows.map((r) => `  ${JSON.stringify(r)}`).join(',\n')}\n]\n`;
}

function patientList(rows, keyColumn) {
  return rows.map((r) => `${String(r[keyColumn]).toLowerCase()} ${r.index_date}`).sort();
}

// Checks one cohort; returns the list of problems (empty: passed) and a summary.
async function checkCohort(args, warehouse, connection, dir, name) {
  const problems = [];
  const json = path.join(dir, `${name}.json`);
  const expectedFile = path.join(dir, `${name}.expected.json`);
  const hand = attritionOf(await query(connection, fs.readFileSync(path.join(dir, `${name}.sql`),
                                                                   'utf8')), 'hand SQL');
  // (a) The hand SQL against its committed result.
  if (args.write) {
    fs.writeFileSync(expectedFile, expectedText(hand));
  } else if (!fs.existsSync(expectedFile)) {
    problems.push(`no ${name}.expected.json (run with --write once the hand SQL is right)`);
  } else {
    const expected = attritionOf(JSON.parse(fs.readFileSync(expectedFile, 'utf8')), 'expected');
    if (!sameAttrition(hand, expected)) {
      problems.push(`hand SQL gave ${formatAttrition(hand)}; ` +
                    `expected ${formatAttrition(expected)}`);
    }
  }
  // (b) The engine against the hand SQL.
  const countArgs = ['count', warehouse.data, json, '--min-cell', '1',
                     '--key-file', warehouse.key];
  const engine = JSON.parse(runP4dp(args.bin, countArgs).stdout);
  const engineRows = attritionOf(engine.attrition, 'p4dp count');
  if (!sameAttrition(engineRows, hand)) {
    problems.push(`p4dp count gave ${formatAttrition(engineRows)}; ` +
                  `hand SQL ${formatAttrition(hand)}`);
  }
  if (engine.count !== engineRows[engineRows.length - 1].patients) {
    problems.push(`p4dp count: count ${engine.count} is not the last attrition row`);
  }
  // (c) The compiled SQL against the hand SQL, and the two patient lists.
  {
    const sql = runP4dp(args.bin, ['sql', json]).stdout;
    const rows = attritionOf(await query(connection, sql), 'p4dp sql');
    if (!sameAttrition(rows, hand)) {
      problems.push(`p4dp sql gave ${formatAttrition(rows)}; hand SQL ${formatAttrition(hand)}`);
    }
    const fromEngine = patientList(
      JSON.parse(runP4dp(args.bin, [...countArgs, '--patients']).stdout).patients, 'key');
    const fromSql = patientList(
      await query(connection, runP4dp(args.bin, ['sql', json, '--patients']).stdout),
      'patient_key');
    const differ = fromEngine.length !== fromSql.length ||
                   fromEngine.some((p, i) => p !== fromSql[i]);
    if (differ) {
      const onlyEngine = fromEngine.filter((p) => !fromSql.includes(p));
      const onlySql = fromSql.filter((p) => !fromEngine.includes(p));
      problems.push(`patients differ: ${fromEngine.length} from p4dp count --patients, ` +
                    `${fromSql.length} from p4dp sql --patients; only in count: ` +
                    `${onlyEngine.slice(0, 3).join('; ')}; only in sql: ` +
                    `${onlySql.slice(0, 3).join('; ')}`);
    }
    return { problems,
             summary: `${formatAttrition(hand)}; compiled SQL: same, ${fromEngine.length} patients` };
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.bin)) usage(`no p4dp binary at ${args.bin}`);
  const dir = path.join(here, args.synthea ? 'synthea' : 'cohorts');
  const names = fs.readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .filter((n) => n.startsWith(args.only))
    .sort();
  if (names.length === 0) usage(`no cohort in ${dir} starts with '${args.only}'`);

  const started = Date.now();
  const warehouse = buildGoldenWarehouse(args);
  const connection = await openTables(warehouse.tables);
  console.log(`golden: ${names.length} cohorts, warehouse ${warehouse.data} built in ` +
              `${((Date.now() - started) / 1000).toFixed(1)} s`);

  let passed = 0;
  let failed = 0;
  for (const name of names) {
    let result;
    try {
      result = await checkCohort(args, warehouse, connection, dir, name);
    } catch (e) {
      // DuckDB's messages are long: their first line and the line they point at.
      const lines = e.message.split('\n');
      const where = lines.find((l) => l.startsWith('LINE '));
      result = { problems: [lines[0] + (where ? ` (${where.trim()})` : '')], summary: '' };
    }
    if (result.problems.length === 0) {
      ++passed;
      console.log(`ok    ${name}: ${result.summary}`);
    } else {
      ++failed;
      console.log(`FAIL  ${name}:\n${result.problems.map((p) => `      ${p}`).join('\n')}`);
    }
  }
  if (args.write) console.log(`golden: expected files rewritten in ${dir}`);
  console.log(`golden: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(`golden: ${e.stack || e.message}`);
  process.exitCode = 1;
});
