// Loads the tables of `p4dp export events` (docs/formats/tables.md) into a DuckDB database,
// with the column types of the documented PostgreSQL statements, and runs queries on them.
// Shared by the golden cohorts (tests/golden/) and the cohort benchmark (bench/).
import { DuckDBInstance } from '@duckdb/node-api';
import path from 'node:path';

const kTables = {
  patients: `patient_id integer PRIMARY KEY, patient_key text, sex text, birth_year integer,
             birth_month integer, departement text, death_date date`,
  registrations: 'patient_id integer, start_date date, end_date date',
  events: `event_id bigint PRIMARY KEY, patient_id integer, date date, end_date date,
           domain text, value double precision, unit text, source text`,
  event_codes: 'event_id bigint, system text, code text',
};

// Opens a database (in memory when `file` is ':memory:' or omitted; a file database keeps
// the tables already loaded into it). Returns a connection; `threads` bounds DuckDB's threads.
export async function connect(file = ':memory:', { threads } = {}) {
  const options = threads ? { threads: String(threads) } : {};
  const instance = await DuckDBInstance.create(file, options);
  return instance.connect();
}

// Opens a database as `connect` does and loads the four CSV files of `dir` into it.
export async function openTables(dir, { file = ':memory:', threads } = {}) {
  const connection = await connect(file, { threads });
  for (const [name, columns] of Object.entries(kTables)) {
    const csv = path.join(dir, `${name}.csv`).replaceAll("'", "''");
    await connection.run(`CREATE TABLE ${name} (${columns})`);
    // Every column read as text, then cast by the table's types: an empty cell is NULL.
    await connection.run(
      `INSERT INTO ${name} SELECT * FROM read_csv('${csv}', header = true, all_varchar = true,
         quote = '"', escape = '"')`);
  }
  return connection;
}

// Runs one query and returns its rows as plain objects (numbers as numbers where they fit,
// dates as YYYY-MM-DD strings).
export async function query(connection, sql) {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJson().map((row) => {
    const out = {};
    for (const [k, v] of Object.entries(row)) {
      out[k] = typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))
        ? Number(v) : v;
    }
    return out;
  });
}
