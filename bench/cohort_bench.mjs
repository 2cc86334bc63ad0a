// Cohort benchmark (must-show 4 of the cohort issue): the ten cohorts of bench/cohorts/ run
// warm by `p4dp serve` (POST /api/cohorts/count) and by DuckDB (npm @duckdb/node-api) running
// the query of `p4dp sql` on the tables of `p4dp export events`, on the same synthetic
// population in the same run. Checks that every count and attrition row is equal, prints each
// latency (median of the runs, after one warm-up) and the ratio, and the server's memory.
//
// Usage: node bench/cohort_bench.mjs [--patients 1000000] [--runs 5] [--dir DIR]
//          [--bin build/src/cli/p4dp] [--threads 2] [--only NN] [--skip p4dp|duckdb]
// The population, warehouse, tables and DuckDB database are made once under DIR (default
// build/bench-cohorts/PATIENTS) and reused by later runs. Exits 1 if a count differs; timings
// never fail it (they are reported against the targets: under 100 ms, at least 10x DuckDB).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, openTables, query } from '../tools/duckdb/tables.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2));
const patients = Number(args.patients ?? 1000000);
const runs = Number(args.runs ?? 5);
const threads = Number(args.threads ?? 2);
const bin = path.resolve(args.bin ?? path.join(root, 'build/src/cli/p4dp'));
const dir = path.resolve(args.dir ?? path.join(root, 'build/bench-cohorts', String(patients)));
const cohortDir = path.join(root, 'bench/cohorts');
const cohorts = fs.readdirSync(cohortDir).filter((f) => f.endsWith('.json')).sort()
  .filter((f) => !args.only || f.startsWith(args.only))
  .map((f) => ({ file: path.join(cohortDir, f), name: f.replace(/\.json$/, '') }));

function parseArgs(list) {
  const out = {};
  for (let i = 0; i < list.length; ++i) {
    if (!list[i].startsWith('--')) throw new Error(`unexpected argument '${list[i]}'`);
    out[list[i].slice(2)] = list[i + 1];
    ++i;
  }
  return out;
}

function run(cmd, argv, { quiet = false, input } = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 30, input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', quiet ? 'pipe' : 'inherit'] });
  if (r.status !== 0) {
    throw new Error(`${path.basename(cmd)} ${argv.join(' ')} failed (${r.status}): ${r.stderr ?? ''}`);
  }
  return { stdout: r.stdout, seconds: (performance.now() - t0) / 1000 };
}

// The command-line operator of the benchmark's warehouse, and the password of its users.
const operator = ['--user', 'bench-admin'];
const password = 'bench-password';

// Makes whatever is missing of population -> warehouse -> tables, printing each step's time.
function prepare() {
  fs.mkdirSync(dir, { recursive: true });
  const fhir = path.join(dir, 'fhir'), data = path.join(dir, 'data');
  const key = path.join(dir, 'master.key'), tables = path.join(dir, 'tables');
  const step = (name, done, fn) => {
    if (fs.existsSync(done)) return;
    const t0 = performance.now();
    fn();
    console.log(`setup: ${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  step('synth', path.join(fhir, '.done'), () => {
    fs.rmSync(fhir, { recursive: true, force: true });
    run(bin, ['synth', '--patients', String(patients), '--seed', '1', '--compress', 'zstd',
      '--quiet', '--out', fhir]);
    fs.writeFileSync(path.join(fhir, '.done'), '');
  });
  step('init + ingest', path.join(data, '.done'), () => {
    fs.rmSync(data, { recursive: true, force: true });
    fs.rmSync(key, { force: true });
    run(bin, ['init', data, '--key-file', key]);
    run(bin, ['ingest', data, fhir, '--key-file', key, '--quiet', ...operator]);
    fs.writeFileSync(path.join(data, '.done'), '');
  });
  step('export', path.join(tables, '.done'), () => {
    run(bin, ['export', 'events', data, tables, '--key-file', key, ...operator]);
    fs.writeFileSync(path.join(tables, '.done'), '');
  });
  // The server needs a session: an operator who may serve (bench-admin) and a researcher
  // (bench, no TOTP) of the project "bench" whose small-cell threshold is 1.
  step('access', path.join(data, '.access-done'), () => {
    const as = ['--key-file', key, ...operator];
    run(bin, ['user', 'add', data, 'bench-admin', '--role', 'admin', '--role', 'data_manager',
      '--password-stdin', '--key-file', key], { quiet: true, input: `${password}\n` });
    run(bin, ['user', 'add', data, 'bench', '--role', 'researcher', '--password-stdin', ...as],
      { quiet: true, input: `${password}\n` });
    run(bin, ['project', 'create', data, 'bench', '--title', 'bench', '--min-cell', '1', ...as]);
    run(bin, ['project', 'add-member', data, 'bench', 'bench', ...as]);
    fs.writeFileSync(path.join(data, '.access-done'), '');
  });
  return { data, key, tables };
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function memoryOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
  return { rssGiB: kb('VmRSS') / 1048576, peakGiB: kb('VmHWM') / 1048576 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const attritionOf = (rows) => rows.map((r) => Number(r.patients));

async function benchP4dp({ data, key }) {
  const port = await freePort();
  const t0 = performance.now();
  // Every run of every cohort is one count: more than the default 60 per hour of a user.
  const server = spawn(bin, ['serve', data, '--key-file', key, '--port', String(port), ...operator,
    '--queries-per-hour', '100000000'],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  let headers;
  try {
    for (;;) {
      if (server.exitCode !== null || server.signalCode !== null) {
        throw new Error(`p4dp serve stopped while loading (${server.exitCode ?? server.signalCode})`);
      }
      try {
        // Stats answer once the index is loaded.
        if (!headers) {
          const login = await fetch(`${base}/api/login`, { method: 'POST',
            body: JSON.stringify({ user: 'bench', password }) });
          if (login.ok) headers = { Authorization: `Bearer ${(await login.json()).token}` };
        }
        if (headers && (await fetch(`${base}/api/stats?project=bench`, { headers })).ok) break;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 200));
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    const stats = await (await fetch(`${base}/api/stats?project=bench`, { headers })).json();
    const results = {};
    for (const c of cohorts) {
      const body = fs.readFileSync(c.file);
      const times = [], serverTimes = [];
      let answer;
      for (let i = 0; i <= runs; ++i) {
        const s = performance.now();
        const res = await fetch(`${base}/api/cohorts/count?min_cell=1&project=bench`,
          { method: 'POST', body, headers });
        answer = await res.json();
        if (!res.ok) throw new Error(`${c.name}: HTTP ${res.status} ${JSON.stringify(answer)}`);
        if (i > 0) {  // the first run warms up
          times.push(performance.now() - s);
          serverTimes.push(answer.milliseconds);
        }
      }
      results[c.name] = { ms: median(serverTimes), httpMs: median(times),
        attrition: attritionOf(answer.attrition) };
    }
    return { results, loadSeconds, memory: memoryOf(server.pid), stats };
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  }
}

async function benchDuckdb({ tables }) {
  const file = path.join(dir, 'duckdb.db');
  const t0 = performance.now();
  let connection;
  if (fs.existsSync(`${file}.done`)) {
    connection = await connect(file, { threads });
  } else {
    // A load that did not finish (no .done beside it) is redone from the start.
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.wal`, { force: true });
    connection = await openTables(tables, { file, threads });
    await connection.run('CHECKPOINT');
    fs.writeFileSync(`${file}.done`, '');
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  const results = {};
  for (const c of cohorts) {
    const sql = run(bin, ['sql', c.file], { quiet: true }).stdout;
    const times = [];
    let rows;
    for (let i = 0; i <= runs; ++i) {
      const s = performance.now();
      rows = await query(connection, sql);
      if (i > 0) times.push(performance.now() - s);
    }
    results[c.name] = { ms: median(times), attrition: attritionOf(rows) };
  }
  return { results, loadSeconds };
}

const paths = prepare();
// --skip runs one side only (to prepare or look at it): no ratios, no comparison.
const skipped = { results: Object.fromEntries(cohorts.map((c) => [c.name,
  { ms: NaN, httpMs: NaN, attrition: [] }])), loadSeconds: NaN,
  memory: { rssGiB: NaN, peakGiB: NaN }, stats: {} };
const mine = args.skip === 'p4dp' ? skipped : await benchP4dp(paths);
const peer = args.skip === 'duckdb' ? skipped : await benchDuckdb(paths);
const duckdbVersion = (await query(await connect(), 'SELECT version() AS v'))[0].v;

console.log(`\ncohort benchmark: ${patients} patients, ${runs} warm runs each (median), ` +
  `${threads} DuckDB threads, ${spawnSync('nproc').stdout.toString().trim()} cores`);
console.log(`p4dp serve: index loaded in ${mine.loadSeconds.toFixed(1)} s, resident ` +
  `${mine.memory.rssGiB.toFixed(2)} GiB (peak ${mine.memory.peakGiB.toFixed(2)} GiB); ` +
  `DuckDB ${duckdbVersion} ready in ${peer.loadSeconds.toFixed(1)} s`);
if (mine.stats.index_bytes !== undefined) {
  console.log(`p4dp index: ${(mine.stats.index_bytes / 1e9).toFixed(2)} GB for ` +
    `${mine.stats.events} events (target < 4 GB: ` +
    `${mine.stats.index_bytes < 4e9 ? 'met' : 'NOT met'}); resource version map ` +
    `${(mine.stats.version_map_bytes / 1e9).toFixed(2)} GB (kept for live ingestion)`);
}
console.log('cohort                              count   p4dp ms  (http)  DuckDB ms   ratio  equal');
let failed = 0, slowest = 0, weakest = Infinity;
for (const c of cohorts) {
  const a = mine.results[c.name], b = peer.results[c.name];
  const equal = args.skip !== undefined ||
                JSON.stringify(a.attrition) === JSON.stringify(b.attrition);
  if (!equal) {
    ++failed;
    console.log(`  ${c.name}: p4dp ${JSON.stringify(a.attrition)} DuckDB ${JSON.stringify(b.attrition)}`);
  }
  const ratio = b.ms / a.ms;
  slowest = Math.max(slowest, a.ms);
  weakest = Math.min(weakest, ratio);
  const count = a.attrition.at(-1) ?? b.attrition.at(-1);
  console.log(`${c.name.padEnd(34)} ${String(count).padStart(7)} ` +
    `${a.ms.toFixed(1).padStart(9)} ${a.httpMs.toFixed(1).padStart(7)} ` +
    `${b.ms.toFixed(1).padStart(10)} ${ratio.toFixed(1).padStart(6)}x  ${equal ? 'yes' : 'NO'}`);
}
if (args.skip === undefined) {
  console.log(`slowest p4dp cohort ${slowest.toFixed(1)} ms (target < 100 ms: ` +
    `${slowest < 100 ? 'met' : 'NOT met'}); smallest ratio ${weakest.toFixed(1)}x ` +
    `(target >= 10x: ${weakest >= 10 ? 'met' : 'NOT met'})`);
  console.log(`counts: ${cohorts.length - failed} passed, ${failed} failed`);
}
process.exit(failed ? 1 : 0);
