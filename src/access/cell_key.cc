#include "access/cell_key.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <string_view>

#include "crypto/keyed_hash.h"

namespace p4dp::access {
namespace {

// The perturbation of each value of a key's top four bits: 2 x -2, 3 x -1, 6 x 0, 3 x +1,
// 2 x +2 (sums to 0: the drafts are unbiased over sets).
constexpr std::array<int8_t, 16> kPerturbations = {-2, -2, -1, -1, -1, 0, 0, 0,
                                                   0,  0,  0,  1,  1,  1, 2, 2};

}  // namespace

crypto::Key CellKeys::SecretFor(const crypto::Key& pseudonym_key) {
  return crypto::Key(crypto::HmacSha256(pseudonym_key, "p4dp cell keys v1"));
}

uint32_t CellKeys::PatientKey(const domain::PatientKey& patient) const {
  std::string_view bytes(reinterpret_cast<const char*>(patient.bytes.data()), patient.bytes.size());
  return static_cast<uint32_t>(crypto::ShortKeyedHash(secret_, bytes));
}

uint32_t CellKeys::SetKey(std::span<const query::CohortMember> members) const {
  uint32_t sum = 0;  // unsigned: wraps modulo 2^32
  for (const query::CohortMember& m : members) sum += PatientKey(m.key);
  return sum;
}

int Perturbation(uint32_t set_key) { return kPerturbations[set_key >> 28]; }

ShownCount DraftCount(int64_t count, uint32_t set_key, int64_t threshold) {
  if (count == 0) return {CellState::kShown, 0};
  if (count < threshold) return {CellState::kSmall, count};
  return {CellState::kShown, std::max(count + Perturbation(set_key), threshold)};
}

Result<ProjectCount> DraftCountInProject(const query::Cohort& cohort, const Project& project,
                                         const store::Index& index, const store::Catalog& catalog,
                                         const CellKeys& keys, const DraftOptions& options) {
  query::RunOptions run;
  run.with_members = true;
  run.perimeter = P4DP_TRY(PerimeterOf(project, index, catalog));
  query::CohortResult result = query::RunCohort(cohort, index, catalog, run);
  DisclosurePolicy policy{.threshold = std::max(options.min_cell, project.min_cell)};
  // What the exact rendering would hide stays hidden; the rest is perturbed.
  ShownCohort shown = RenderCohort(result, policy);
  double milliseconds = result.milliseconds;
  for (size_t row = 0; row < shown.attrition.size(); ++row) {
    ShownCount& cell = shown.attrition[row].patients;
    if (cell.state != CellState::kShown) continue;
    // The set of this row: the cohort cut after the row's rule (row 0: the entry alone).
    uint32_t set_key = 0;
    if (row + 1 == shown.attrition.size()) {
      set_key = keys.SetKey(result.members);
    } else {
      query::Cohort prefix = cohort;
      prefix.inclusion.resize(row);
      query::CohortResult part = query::RunCohort(prefix, index, catalog, run);
      milliseconds += part.milliseconds;
      set_key = keys.SetKey(part.members);
    }
    cell = DraftCount(cell.value, set_key, policy.threshold);
  }
  shown.count = shown.attrition.empty()
                    ? DraftCount(result.count, keys.SetKey(result.members), policy.threshold)
                    : shown.attrition.back().patients;
  auto body =
      nlohmann::ordered_json::parse(ShownCohortToJson(shown, policy, cohort.title, milliseconds));
  body["approximate"] = true;
  return ProjectCount{.json = body.dump(), .patients = result.count};
}

}  // namespace p4dp::access
