// The SQL compiler of the cohort language: turns a parsed cohort (query/cohort.h) into one
// query, in PostgreSQL's dialect and run unchanged by DuckDB, over the tables of
// `p4dp export events` (docs/formats/tables.md), with the exact meaning of the engine
// (query/engine.cc). User text (names, codes, systems) only ever enters the query as quoted
// string literals. Pure functions; thread-safe.
#pragma once

#include <string>

#include "base/status.h"
#include "query/cohort.h"

namespace p4dp::query {

struct SqlOptions {
  // false: the attrition rows (row_number, name, patients), row 0 "entry", ordered by
  // row_number, the last row being the count. true: the patients of the cohort
  // (patient_key, index_date: the earliest candidate satisfying every rule), ordered by key.
  bool patients = false;
};

// The query text, ending with ";\n"; the same cohort and options always give the same text.
// Errors: InvalidArgument "PATH: reason" when a rule name, code or system holds a NUL
// character, which SQL text cannot carry (the PATH is written as ParseCohort writes them).
Result<std::string> CompileCohortSql(const Cohort& cohort, const SqlOptions& options = {});

// `text` as a SQL string literal that means exactly `text` in PostgreSQL (whatever its
// standard_conforming_strings setting) and in DuckDB: quotes doubled, backslashes written
// as chr(92). Requires no NUL character in `text`.
std::string SqlString(std::string_view text);

}  // namespace p4dp::query
