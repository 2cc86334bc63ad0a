// Computations behind the web dashboard's own routes (server/dashboard_routes.h): the code
// search of the cohort builder and the population dashboards (age pyramid, prevalence of
// chronic conditions by département, weekly prescriptions by ATC group and consultations),
// read from the in-memory index, each within a project's perimeter (query/engine.h: the events
// of the allowed domains within the period, of the patients of the population). Counts are
// true counts: the routes pass them through the disclosure rules (access/disclosure.h).
// Plain functions of their inputs: thread-safe as long as the caller holds the warehouse's
// read lock (call them inside Warehouse::Read).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/code_system.h"
#include "query/engine.h"
#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::query {

// The most codes one search returns.
inline constexpr size_t kCodeSearchLimitMax = 100;

struct CodeSearchOptions {
  std::string query;                         // a code prefix; case and dots are ignored
  std::optional<domain::CodeSystem> system;  // none: every system
  size_t limit = 20;                         // at most kCodeSearchLimitMax
  // What the project sees; null: everything. Must outlive the call.
  const Perimeter* perimeter = nullptr;
};

struct CodeHit {
  std::string system;  // the alias ("icd10")
  std::string code;    // as stored
  uint64_t patients = 0;
};

// Per catalog code id marked in `code_matches`: the patients with an event of that code
// visible in `perimeter` (null: everything; then PatientsWithCode's cardinality), 0 for the
// others. For searches that pick their codes their own way (by label, say).
std::vector<uint64_t> PatientsPerCode(const store::Index& index,
                                      const std::vector<bool>& code_matches,
                                      const Perimeter* perimeter);

// The codes present in the warehouse whose code starts with the query, by patients with an
// event of that code (most first), then by code. Codes of unknown systems are left out. With
// a perimeter, only visible events count, and a code no visible event has is left out.
std::vector<CodeHit> SearchCodes(const store::Index& index, const store::Catalog& catalog,
                                 const CodeSearchOptions& options);

// The patients the population dashboards count: living (not dead, not deleted), with a
// Patient row whose birth year, sex (male or female) and département are all known, and in
// the perimeter's population. The pyramid and the prevalence count the same patients, so
// their grand totals are the same number and their difference reveals nothing. Demographics
// are the patient's, whatever the perimeter's domains and period (as in the cohort engine).
bool CountedByDashboards(const store::Index& index, domain::PatientIndex patient,
                         const Perimeter* perimeter);

// Patients (CountedByDashboards) by 10-year age band (0-9 ... 90+) and sex in `on_year`.
struct PyramidBand {
  std::string band;
  int64_t male = 0;
  int64_t female = 0;
};
std::array<PyramidBand, 10> AgePyramid(const store::Index& index, int on_year,
                                       const Perimeter* perimeter = nullptr);

// A chronic condition of the prevalence dashboard: its diagnosis codes, CIM-10 by prefix and
// CISP-2 exactly (docs/web.md lists them).
struct ChronicCondition {
  std::string_view name;  // "type2_diabetes"
  std::string_view title_fr;
  std::string_view title_en;
  std::span<const std::string_view> icd10_prefixes;
  std::span<const std::string_view> icpc2_codes;
};
std::span<const ChronicCondition> ChronicConditions();
const ChronicCondition* FindChronicCondition(std::string_view name);

// Per département of residence (INSEE code, sorted): the patients (CountedByDashboards), and
// those of them with at least one visible event coded with one of the condition's codes.
struct PrevalenceRow {
  std::string departement;
  int64_t patients = 0;
  int64_t population = 0;
};
std::vector<PrevalenceRow> Prevalence(const store::Index& index, const store::Catalog& catalog,
                                      const ChronicCondition& condition,
                                      const Perimeter* perimeter = nullptr);

// Visible events per ISO week: `weeks` from the first to the last week with such an event (at
// most kWeeklyWeeksMax, the latest kept), and one series of counts per group.
inline constexpr size_t kWeeklyWeeksMax = 1000;
struct WeeklySeries {
  std::vector<std::string> weeks;            // "2024-W10"
  std::vector<std::string> names;            // one per series
  std::vector<std::vector<int64_t>> values;  // [series][week]
};
// Visits (consultations) per week: one series, "visits".
WeeklySeries ConsultationsPerWeek(const store::Index& index, const Perimeter* perimeter = nullptr);
// Drug events (prescriptions) per week by ATC anatomical main group (the first letter of the
// event's ATC code; an event without an ATC code is not counted).
WeeklySeries PrescriptionsPerWeek(const store::Index& index, const store::Catalog& catalog,
                                  const Perimeter* perimeter = nullptr);

}  // namespace p4dp::query
