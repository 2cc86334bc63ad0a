// `p4dp export events`: the warehouse's patients and events as CSV tables, pseudonymised
// (patients appear by their keyed-hash key and a dense number, nothing else identifies
// them). The layout (docs/formats/tables.md) is what the SQL compiler of the cohort
// language reads, and what DuckDB and PostgreSQL load for the golden cohorts and the
// benchmarks:
//   patients.csv       patient_id,patient_key,sex,birth_year,birth_month,departement,death_date
//   registrations.csv  patient_id,start_date,end_date
//   events.csv         event_id,patient_id,date,end_date,domain,value,unit,source
//   event_codes.csv    event_id,system,code
// Dates are YYYY-MM-DD; an unknown value, date or birth field is an empty cell. Thread-safe
// on its arguments (call inside Warehouse::Read).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::exporter {

struct ExportCounts {
  int64_t patients = 0;
  int64_t registrations = 0;
  int64_t events = 0;
  int64_t event_codes = 0;
};

// Writes the four tables into `dir` (created if needed; existing tables are replaced, each
// written to a temporary name then renamed). Errors name the file.
Result<ExportCounts> ExportTables(const store::Index& index, const store::Catalog& catalog,
                                  const std::string& dir);

}  // namespace p4dp::exporter
