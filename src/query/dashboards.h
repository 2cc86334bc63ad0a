// Computations behind the web dashboard's own routes (server/dashboard_routes.h): the code
// search of the cohort builder and the population dashboards (age pyramid, prevalence of
// chronic conditions by département, weekly prescriptions by ATC group and consultations),
// read from the in-memory index. Plain functions of their inputs: thread-safe as long as the caller
// holds the warehouse's read lock (call them inside Warehouse::Read).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/code_system.h"
#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::query {

// The most codes one search returns.
inline constexpr size_t kCodeSearchLimitMax = 100;

struct CodeSearchOptions {
  std::string query;                         // a code prefix; case and dots are ignored
  std::optional<domain::CodeSystem> system;  // none: every system
  size_t limit = 20;                         // at most kCodeSearchLimitMax
};

struct CodeHit {
  std::string system;  // the alias ("icd10")
  std::string code;    // as stored
  uint64_t patients = 0;
};

// The codes present in the warehouse whose code starts with the query, by patients with an
// event of that code (most first), then by code. Codes of unknown systems are left out.
std::vector<CodeHit> SearchCodes(const store::Index& index, const store::Catalog& catalog,
                                 const CodeSearchOptions& options);

// Patients by 10-year age band (0-9 ... 90+) and sex on `on_day`, living patients whose
// birth year is known; sex other or unknown is not split out.
struct PyramidBand {
  std::string band;
  int64_t male = 0;
  int64_t female = 0;
};
std::array<PyramidBand, 10> AgePyramid(const store::Index& index, int on_year);

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

// Per département of residence (INSEE code, sorted): living patients with a Patient row, and
// those of them with at least one event coded with one of the condition's codes.
struct PrevalenceRow {
  std::string departement;
  int64_t patients = 0;
  int64_t population = 0;
};
std::vector<PrevalenceRow> Prevalence(const store::Index& index, const store::Catalog& catalog,
                                      const ChronicCondition& condition);

// Events per ISO week: `weeks` from the first to the last week with such an event (at most
// kWeeklyWeeksMax, the latest kept), and one series of counts per group.
inline constexpr size_t kWeeklyWeeksMax = 1000;
struct WeeklySeries {
  std::vector<std::string> weeks;            // "2024-W10"
  std::vector<std::string> names;            // one per series
  std::vector<std::vector<int64_t>> values;  // [series][week]
};
// Visits (consultations) per week: one series, "visits".
WeeklySeries ConsultationsPerWeek(const store::Index& index);
// Drug events (prescriptions) per week by ATC anatomical main group (the first letter of the
// event's ATC code; an event without an ATC code is not counted).
WeeklySeries PrescriptionsPerWeek(const store::Index& index, const store::Catalog& catalog);

}  // namespace p4dp::query
