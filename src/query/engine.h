// The cohort engine: runs a parsed cohort (query/cohort.h) over the warehouse's in-memory
// index, patient by patient on every core, with the meaning of ../shared/spec/cohort.md:
// code sets resolved to catalog code ids (descendants by prefix, dots ignored), entry
// candidates (first or all, `between`, prior observation), rules evaluated on each
// patient's timeline, attrition rows, all within a project's perimeter (Perimeter). Counts
// pass the small-cell rule when rendered (access/disclosure.h adds complementary suppression).
// Thread-safe: the index and catalog are only read (call it inside Warehouse::Read).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/date.h"
#include "domain/patient.h"
#include "query/cohort.h"
#include "store/catalog.h"
#include "store/index.h"
#include "store/patient_set.h"

namespace p4dp::query {

inline constexpr int64_t kDefaultMinCell = 10;

struct AttritionRow {
  std::string name;  // "entry" for the first row, else the rule's name (or "rule k")
  int64_t patients = 0;
};

struct CohortMember {
  domain::PatientKey key;
  Days index_date = 0;               // the earliest candidate that satisfies every rule
  domain::PatientIndex patient = 0;  // in the index the cohort ran on (for PopulationOf)
};

struct CohortResult {
  int64_t count = 0;
  std::vector<AttritionRow> attrition;  // entry, then one row per rule; last == count
  std::vector<CohortMember> members;    // only when asked for, sorted by key
  double milliseconds = 0;
};

// What a project lets a query see (../shared/spec/access.md, "Projects"): the events of
// the allowed domains dated within [from, to], of the patients of the population. Anything
// else is invisible to the entry and to every criterion, exactly as if it were not in the
// warehouse: an invisible event is never a candidate, never counted by an events criterion
// (so "at_most": 0 holds when the only such events are outside), and "occurrence": "first"
// is the first visible one. Registration periods are clipped to [from, to], so prior
// observation counts only the days from `from` on. Patients outside the population are not
// evaluated at all. Age, sex and département are the patient's, whatever the perimeter.
// The default sees everything, and then costs nothing.
struct Perimeter {
  std::optional<std::vector<domain::Domain>> domains;  // none: every domain
  std::optional<Days> from, to;                        // inclusive; none: unbounded
  // PatientIndex values of the index the cohort runs on (see PopulationOf); none: everyone.
  std::shared_ptr<const store::PatientSet> population;

  bool Everything() const { return !domains && !from && !to && !population; }
};

struct RunOptions {
  bool with_members = false;
  int threads = 0;  // 0: one per core
  Perimeter perimeter;
};

CohortResult RunCohort(const Cohort& cohort, const store::Index& index,
                       const store::Catalog& catalog, const RunOptions& options = {});

// The members of a result run with_members, as a population for Perimeter::population (the
// project's population cohort, run first in the same Warehouse::Read: PatientIndex values
// hold only for the index they come from).
store::PatientSet PopulationOf(const CohortResult& result);

// The small-cell rule: a count from 1 to min_cell - 1 is shown as "<min_cell"; 0 and
// counts from min_cell up are shown as they are.
std::string ShownCount(int64_t count, int64_t min_cell);

// The result as JSON: {"title", "count", "attrition": [{"name", "patients"}], "min_cell",
// "milliseconds", and with_members "patients": [{"key" (hex), "index_date"}]}. Counts are
// strings when suppressed ("<10"), numbers otherwise.
std::string ResultToJson(const CohortResult& result, int64_t min_cell, const std::string& title,
                         bool with_members);

}  // namespace p4dp::query
