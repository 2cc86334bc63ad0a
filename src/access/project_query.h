// A project's queries: its perimeter as the query engine takes it, and a cohort count run
// inside it and rendered by the disclosure rules (small cells, complementary suppression of
// attrition rows, counts released before), the patient list added only when the caller asks
// for it and the policy allowed it. Shared by the server's count route and `p4dp count`.
// Functions are pure over their arguments (the QueryGuard has its own lock); call them inside
// Warehouse::Read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "access/catalog.h"
#include "access/disclosure.h"
#include "base/status.h"
#include "query/cohort.h"
#include "query/engine.h"
#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::access {

// The project's perimeter: its domains, its period and, when it has one, its population
// (its cohort definition run on `index`, whose patients the perimeter then keeps).
Result<query::Perimeter> PerimeterOf(const Project& project, const store::Index& index,
                                     const store::Catalog& catalog);

struct ProjectCount {
  std::string json;                 // the answer
  int64_t patients = 0;             // the true count (for the audit trail)
  std::vector<int64_t> released{};  // the exact counts the answer shows
};

struct ProjectCountOptions {
  int64_t min_cell = 0;         // asked for; the project's threshold is the least it may be
  bool with_members = false;    // add the patient list (the caller checked the right to it)
  QueryGuard* guard = nullptr;  // counts released before, per user and project; may be null
  std::string user{};
  // Without a guard: the counts released before to this user in this project.
  std::vector<int64_t> released_before{};
};

// Runs `cohort` inside `project`'s perimeter and renders it for `options.user`.
Result<ProjectCount> CountInProject(const query::Cohort& cohort, const Project& project,
                                    const store::Index& index, const store::Catalog& catalog,
                                    const ProjectCountOptions& options);

}  // namespace p4dp::access
