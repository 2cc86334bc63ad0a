// Runs SQL files on the exported tables of a warehouse in DuckDB and prints each result as
// JSON (one line per file). Usage: node tools/duckdb/run-sql.mjs TABLES_DIR QUERY.sql...
import fs from 'node:fs';
import { openTables, query } from './tables.mjs';

const [dir, ...files] = process.argv.slice(2);
if (!dir || files.length === 0) {
  console.error('usage: node tools/duckdb/run-sql.mjs TABLES_DIR QUERY.sql...');
  process.exit(2);
}
const connection = await openTables(dir);
for (const file of files) {
  try {
    console.log(JSON.stringify(await query(connection, fs.readFileSync(file, 'utf8'))));
  } catch (e) {
    console.error(`${file}: ${e.message}`);
    process.exitCode = 1;
  }
}
