// Draft counts by the cell-key method (docs/access-disclosure.md, "Draft counts"): while a
// cohort is being edited the page asks for approximate counts that do not trip the
// differencing guard. Each patient has a fixed pseudo-random key, a keyed hash of its
// pseudonym under a per-warehouse secret; a set of patients has the sum of its members' keys
// modulo 2^32 as its key, and a perturbation in [-2, +2] is read from that key. So the same
// set always gets the same noise (asking again teaches nothing), and two sets that differ by
// one patient get independent noise (subtracting two drafts does not give the difference).
// Zeros stay zero, counts 1 .. threshold - 1 are still "<threshold", and no count at or over
// the threshold is ever shown under it. Pure functions and an immutable object: thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "access/catalog.h"
#include "access/disclosure.h"
#include "access/project_query.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "domain/patient.h"
#include "query/cohort.h"
#include "query/engine.h"
#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::access {

inline constexpr int kPerturbationMax = 2;

// The patients' keys under one secret.
class CellKeys {
 public:
  // The secret of a warehouse's cell keys, derived from its pseudonymisation key (so it never
  // sits anywhere in clear and differs between warehouses with different keys).
  static crypto::Key SecretFor(const crypto::Key& pseudonym_key);
  explicit CellKeys(const crypto::Key& secret) : secret_(secret) {}

  uint32_t PatientKey(const domain::PatientKey& patient) const;
  // The key of a set: the sum of its members' keys modulo 2^32 (order does not matter).
  uint32_t SetKey(std::span<const query::CohortMember> members) const;

 private:
  crypto::Key secret_;
};

// The perturbation of a set of key `set_key`: -2 .. +2, with probabilities 1/8, 3/16, 3/8,
// 3/16, 1/8 over uniform keys (mean 0), read from the key's top four bits.
int Perturbation(uint32_t set_key);

// A true count as a draft shows it: 0 stays 0; 1 .. threshold - 1 is kSmall; otherwise
// kShown with the value count + Perturbation(set_key), never below threshold.
ShownCount DraftCount(int64_t count, uint32_t set_key, int64_t threshold);

struct DraftOptions {
  int64_t min_cell = 0;  // asked for; the project's threshold is the least it may be
};

// Runs `cohort` inside `project`'s perimeter and renders its count and attrition rows as
// drafts: the rows hidden by the exact rendering (RenderCohort: small cells, complementary
// suppression) stay hidden; each shown row is perturbed by the key of its own set of patients
// (the cohort cut after that row's rule). The JSON is ShownCohortToJson's plus "approximate":
// true; `patients` is the true count (for the audit trail). Call inside Warehouse::Read.
Result<ProjectCount> DraftCountInProject(const query::Cohort& cohort, const Project& project,
                                         const store::Index& index, const store::Catalog& catalog,
                                         const CellKeys& keys, const DraftOptions& options);

}  // namespace p4dp::access
