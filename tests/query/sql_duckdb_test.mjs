// `p4dp sql` against the engine, in a real database: builds a warehouse from
// `p4dp synth --patients 2000 --seed 7` plus a few hand-written edge patients (unknown birth
// month, birthday-month edges, touching, overlapping and one-day-gap registrations, one
// starting on the index date, one ending before it starts, one without a start, a patient
// known only by events, dotted codes, an excluded code beside an included one, values on a
// threshold), exports its tables, loads them in DuckDB (tools/duckdb/tables.mjs), and for
// each cohort below checks that the compiled query gives `p4dp count`'s attrition rows
// (--min-cell 1: nothing suppressed) and, with --patients, the same patients and index dates.
// Usage: node tests/query/sql_duckdb_test.mjs P4DP_BINARY WORK_DIR
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [p4dp, work] = process.argv.slice(2);
if (!p4dp || !work) {
  console.error('usage: node tests/query/sql_duckdb_test.mjs P4DP_BINARY WORK_DIR');
  process.exit(2);
}
if (!fs.existsSync(path.join(root, 'tools/duckdb/node_modules/@duckdb/node-api'))) {
  console.error('tools/duckdb/node_modules is missing: run (cd tools/duckdb && npm ci)');
  process.exit(1);
}
const { openTables, query } = await import('../../tools/duckdb/tables.mjs');
const { runP4dp, synthesise, buildWarehouse } = await import('../../tools/duckdb/warehouse.mjs');

const run = (args, { expectFailure = false } = {}) =>
  runP4dp(p4dp, args, { allowFailure: expectFailure });

// ---- The warehouse -------------------------------------------------------------------------

// A valid NIR (13 digits and their key), so that events can name their patient by it.
function nir(first13) {
  return first13 + String(97n - (BigInt(first13) % 97n)).padStart(2, '0');
}
const kNirOid = 'urn:oid:1.2.250.1.213.1.4.8';

function edgePatients() {
  const lines = [];
  let n = 0;
  const patient = (number, fields, periods) => {
    lines.push({
      resourceType: 'Patient', id: `edge-${number}`,
      identifier: [{ system: kNirOid, value: nir(number) }],
      extension: periods.map((period) => ({
        url: 'https://p4dp.fr/fhir/StructureDefinition/practice-registration',
        extension: [{ url: 'practice', valueReference: { reference: 'Organization/edge' } },
          { url: 'period', valuePeriod: period }],
      })),
      ...fields,
    });
  };
  const subject = (number) => ({ reference: `Patient?identifier=${kNirOid}|${nir(number)}` });
  const condition = (number, date, codings) => lines.push({
    resourceType: 'Condition', id: `edge-c${++n}`, subject: subject(number), recordedDate: date,
    code: { coding: codings.map(([system, code]) => ({ system, code })) },
  });
  const icd10 = 'http://hl7.org/fhir/sid/icd-10-fr';
  const icpc2 = 'http://hl7.org/fhir/sid/icpc-2';
  const hba1c = (number, date, value) => lines.push({
    resourceType: 'Observation', id: `edge-o${++n}`, status: 'final', subject: subject(number),
    effectiveDateTime: date, code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    valueQuantity: { value, unit: '%' },
  });
  const drug = (number, date, atc) => lines.push({
    resourceType: 'MedicationRequest', id: `edge-m${++n}`, status: 'active', intent: 'order',
    subject: subject(number), authoredOn: date,
    medicationCodeableConcept: { coding: [{ system: 'http://www.whocc.no/atc', code: atc }] },
  });
  // Born 1960, month unknown; touching registrations; a dotted code; HbA1c on 7 exactly.
  const p1 = '2600114118001';
  patient(p1, { gender: 'female', birthDate: '1960', address: [{ postalCode: '14000' }] },
    [{ start: '2015-01-01', end: '2019-12-31' }, { start: '2020-01-01' }]);
  condition(p1, '2020-03-10', [[icd10, 'E11.9']]);
  hba1c(p1, '2020-02-01', 7);
  hba1c(p1, '2020-03-01', 7.0000001);
  drug(p1, '2020-03-20', 'A10BA02');
  // Born 1980-03; registrations with a one-day gap; T2D the day before and on the month of
  // the birthday (39 then 40 years old), twice on the same day.
  const p2 = '1800375111002';
  patient(p2, { gender: 'male', birthDate: '1980-03-15', address: [{ postalCode: '75011' }] },
    [{ start: '2019-01-01', end: '2019-06-30' }, { start: '2019-07-02' }]);
  condition(p2, '2020-02-29', [[icd10, 'E11']]);
  condition(p2, '2020-03-01', [[icd10, 'E11']]);
  condition(p2, '2020-03-01', [[icpc2, 'T90']]);  // two candidates of the same day: one
  drug(p2, '2020-03-05', 'A10BA02');
  condition(p2, '2020-07-01', [[icpc2, 'T90']]);
  hba1c(p2, '2020-06-01', 6.9);
  // No Patient resource: sex unknown, no age, no registration. An excluded code first.
  const p3 = '1700175111003';
  condition(p3, '2021-05-05', [[icd10, 'E11.0']]);
  condition(p3, '2021-06-06', [[icd10, 'E11']]);
  drug(p3, '2021-06-10', 'A10BA02');
  // Born 1990-12 in Corsica; registered from the index date on; a registration that ends
  // before it starts counts for nothing.
  const p4 = '2901220004004';
  patient(p4, { gender: 'female', birthDate: '1990-12', address: [{ postalCode: '20000' }] },
    [{ start: '2021-01-01' }, { start: '2010-05-01', end: '2010-01-01' }]);
  condition(p4, '2021-01-01', [[icd10, 'E11']]);
  // Overlapping, contained and touching registrations, then a gap.
  const p5 = '1500675111005';
  patient(p5, { gender: 'male', birthDate: '1950-06-30', address: [{ postalCode: '76000' }] },
    [{ start: '2010-01-01', end: '2015-12-31' }, { start: '2012-01-01', end: '2013-01-01' },
      { start: '2016-01-01', end: '2016-06-30' }, { start: '2016-07-05' }]);
  condition(p5, '2016-06-30', [[icd10, 'E11.65']]);
  condition(p5, '2017-01-01', [[icd10, 'E11.65']]);
  drug(p5, '2016-07-01', 'A10BB09');
  // One event with an excluded code and an included one: it matches.
  const p6 = '2700175111006';
  patient(p6, { gender: 'female', birthDate: '1970-01', address: [{ postalCode: '14000' }] },
    [{ start: '2000-01-01' }]);
  condition(p6, '2019-05-05', [[icd10, 'E11.0'], [icpc2, 'T90']]);
  // A registration without a start, another starting after the first index date and still
  // running, a third inside it.
  const p7 = '1650175111007';
  patient(p7, { gender: 'other', birthDate: '1965-01-01', address: [{ postalCode: '27000' }] },
    [{ end: '2020-01-01' }, { start: '2018-06-01' }, { start: '2018-09-01', end: '2018-10-01' }]);
  condition(p7, '2018-01-01', [[icd10, 'E11']]);
  condition(p7, '2019-06-01', [[icd10, 'E11']]);
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(path.join(work, 'edge'), { recursive: true });
fs.mkdirSync(path.join(work, 'cohorts'));
fs.writeFileSync(path.join(work, 'edge/edge.ndjson'), edgePatients());
synthesise(p4dp, path.join(work, 'synth'), { patients: 2000, seed: 7 });
const { data, key, tables } =
  buildWarehouse(p4dp, work, [path.join(work, 'synth'), path.join(work, 'edge')]);
const connection = await openTables(tables);

// ---- The cohorts ---------------------------------------------------------------------------

const t2d = [{ system: 'icd10', code: 'E11', descendants: true }, { system: 'icpc2', code: 'T90' },
  { system: 'icd10', code: 'E11.0', exclude: true }];
const codesets = {
  t2d,
  metformin: [{ system: 'atc', code: 'A10BA02' }],
  sulfonylurea: [{ system: 'atc', code: 'A10B.B', descendants: true }],
  hba1c: [{ system: 'http://loinc.org', code: '4548-4' }],
  hypertension: [{ system: 'icd10', code: 'I10' }, { system: 'icpc2', code: 'K86' },
    { system: 'icpc2', code: 'K87' }],
  asthma: [{ system: 'icpc2', code: 'R96' }, { system: 'icd10', code: 'J45', descendants: true }],
  bronchodilators: [{ system: 'atc', code: 'R03A', descendants: true }],
  systolic: [{ system: 'loinc', code: '8480-6' }],
  bp_panel: [{ system: 'loinc', code: '85354-9' }, { system: 'loinc', code: '8480-6' }],
  home_visit: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }],
  nothing: [{ system: 'loinc', code: '0000-0' }],
  e119: [{ system: 'icd10', code: 'E119' }],
};
const cohorts = {
  'contract-example': {
    entry: { domain: 'condition', codeset: 't2d', occurrence: 'first',
      between: ['2015-01-01', '2023-12-31'], prior_observation_days: 365 },
    inclusion: [
      { name: 'aged 40 to 75', age: { min: 40, max: 75 } },
      { name: 'metformin within 90 days',
        events: { domain: 'drug', codeset: 'metformin', window: [0, 90] } },
      { name: 'no sulfonylurea in the year before',
        events: { domain: 'drug', codeset: 'sulfonylurea', window: [-365, -1], at_most: 0 } },
      { name: "l'HbA1c > 7 %",
        events: { domain: 'measurement', codeset: 'hba1c', window: [-180, 0], value: { gt: 7 } } },
      { name: 'women, or anyone living in Normandy',
        any: [{ sex: 'female' }, { departement: ['14', '27', '50', '61', '76'] }] }],
  },
  'every-t2d-event-with-hba1c': {
    entry: { domain: 'condition', codeset: 't2d', occurrence: 'all',
      between: ['2016-01-01', '2022-12-31'], prior_observation_days: 730 },
    inclusion: [
      { events: { codeset: 'hba1c', window: [-365, 0], value: { gte: 7 }, at_least: 1 } },
      { name: 'at most 2 metformin in 6 months',
        events: { domain: 'drug', codeset: 'metformin', window: [0, 180], at_most: 2 } }],
  },
  'first-visit-children': {
    entry: { domain: 'visit' },
    inclusion: [{ age: { max: 17 } }, { sex: 'male' }, { not: { departement: ['75', '93'] } }],
  },
  'any-event-in-january': {
    entry: { occurrence: 'all', between: ['2023-01-01', '2023-01-31'] },
    inclusion: [
      { name: 'hypertension twice, ever', events: { codeset: 'hypertension', at_least: 2 } },
      { name: 'neither women nor 65+', not: { any: [{ sex: 'female' }, { age: { min: 65 } }] } }],
  },
  'asthma-bronchodilators': {
    entry: { codeset: 'asthma', occurrence: 'all' },
    inclusion: [
      { events: { codeset: 'bronchodilators', window: [0, 365], at_least: 3 } },
      { events: { codeset: 'bp_panel', value: { lt: 130 }, at_least: 2 } }],
  },
  'hypertension-controlled-around-index': {
    entry: { domain: 'condition', codeset: 'hypertension', occurrence: 'all',
      between: ['2019-01-01', '2024-12-31'] },
    inclusion: [
      { events: { codeset: 'systolic', window: [-30, 30], at_least: 1, at_most: 2,
        value: { gt: 120, lte: 160 } } },
      { all: [{ age: { min: 50 } },
        { any: [{ not: { sex: 'male' } }, { events: { domain: 'visit', window: [-7, 7] } }] },
        { not: { not: { events: { codeset: 'home_visit', at_most: 0 } } } }] },
      { events: { codeset: 'systolic', window: [-3650, -1], at_least: 0 } }],
  },
  'edges-prior-observation-one-day': {
    entry: { codeset: 't2d', occurrence: 'all', prior_observation_days: 1 },
    inclusion: [{ name: 'exactly 40', age: { min: 40, max: 40 } },
      { events: { codeset: 'metformin', window: [0, 30], at_least: 1, at_most: 1 } }],
  },
  'edges-long-observation': {
    entry: { codeset: 't2d', occurrence: 'all', prior_observation_days: 3650 },
    inclusion: [{ events: { codeset: 'sulfonylurea', window: [0, 1] } }],
  },
  'edges-first-then-between': {
    entry: { codeset: 't2d', between: ['2020-03-01', '2021-12-31'], prior_observation_days: 180 },
    inclusion: [{ age: { min: 39 } }, { events: { codeset: 'hba1c', value: { gte: 7, lt: 8 } } }],
  },
  'edges-unknown-sex-and-corsica': {
    entry: { codeset: 't2d', occurrence: 'all' },
    inclusion: [{ any: [{ sex: 'unknown' }, { departement: ['2A', '2B'] }, { sex: 'other' }] },
      { not: { age: { min: 100 } } }, { not: { departement: ['75'] } }, { age: { min: 0 } }],
  },
  'edges-departement': {
    entry: { codeset: 't2d', occurrence: 'all' },
    inclusion: [{ departement: ['14', '2A', '75', '76'] },
      { any: [{ not: { sex: 'female' } }, { events: { codeset: 'metformin', window: [0, 30] } }] }],
  },
  'edges-dots-and-exclusions': {
    entry: { codeset: 't2d' },
    inclusion: [{ any: [{ events: { codeset: 'e119', window: [0, 0] } }, { sex: 'unknown' }] }],
  },
  'nothing-matches': {
    entry: { codeset: 'nothing' },
    inclusion: [{ sex: 'female' }],
  },
  'no-rules': { entry: { domain: 'death' } },
};

let failures = 0;
function check(label, ok, detail) {
  if (!ok) {
    failures++;
    console.error(`FAIL ${label}\n${detail}`);
  }
}

for (const [name, definition] of Object.entries(cohorts)) {
  const file = path.join(work, 'cohorts', `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ title: name, codesets, ...definition }, null, 1));
  const engine = JSON.parse(run(['count', data, file, '--key-file', key, '--min-cell', '1', '--patients']).stdout);
  const attrition = await query(connection, run(['sql', file]).stdout);
  const patients = await query(connection, run(['sql', file, '--patients']).stdout);
  const want = engine.attrition.map((row, i) => ({ row_number: i, ...row }));
  check(`${name}: attrition`, JSON.stringify(attrition) === JSON.stringify(want),
    `engine ${JSON.stringify(want)}\nsql    ${JSON.stringify(attrition)}`);
  const wantPatients = engine.patients.map((p) => ({ patient_key: p.key, index_date: p.index_date }));
  check(`${name}: patients`, JSON.stringify(patients) === JSON.stringify(wantPatients),
    `engine ${wantPatients.length} patients, sql ${patients.length}; first engine ` +
    `${JSON.stringify(wantPatients.slice(0, 3))}, sql ${JSON.stringify(patients.slice(0, 3))}`);
  console.log(`${name}: ${engine.attrition.map((r) => r.patients).join(' -> ')}`);
}

// The errors of `p4dp sql` are those of `p4dp count`, and nothing is printed on stdout.
const bad = path.join(work, 'cohorts', 'bad.json');
fs.writeFileSync(bad, JSON.stringify({ entry: {}, inclusion: [{ events: { window: [10, 5] } }] }));
for (const args of [['sql', bad], ['sql', bad, '--patients']]) {
  const r = run(args, { expectFailure: true });
  check(`${args.join(' ')}: error`, r.status === 1 && r.stdout === '' &&
    r.stderr === `p4dp: sql: ${bad}: inclusion[0].events.window: its start (10) is after its end (5)\n`,
  `status ${r.status}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
}

if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log(`ok: ${Object.keys(cohorts).length} cohorts, engine and DuckDB agree`);
