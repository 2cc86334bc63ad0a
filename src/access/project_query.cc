#include "access/project_query.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "domain/patient.h"

namespace p4dp::access {

Result<query::Perimeter> PerimeterOf(const Project& project, const store::Index& index,
                                     const store::Catalog& catalog) {
  query::Perimeter perimeter;
  if (!project.domains.empty()) {
    std::vector<domain::Domain> domains;
    for (const std::string& name : project.domains) {
      auto d = domain::DomainFromName(name);
      if (!d) return Status::InvalidArgument("project " + project.id + ": unknown domain " + name);
      domains.push_back(*d);
    }
    perimeter.domains = std::move(domains);
  }
  perimeter.from = project.from;
  perimeter.to = project.to;
  if (!project.population.empty()) {
    auto population = query::ParseCohort(project.population);
    if (!population.ok()) {
      return Status::InvalidArgument("project " + project.id +
                                     ": population: " + population.status().message());
    }
    query::RunOptions options;
    options.with_members = true;
    query::CohortResult members = query::RunCohort(*population, index, catalog, options);
    perimeter.population = std::make_shared<const store::PatientSet>(query::PopulationOf(members));
  }
  return perimeter;
}

Result<ProjectCount> CountInProject(const query::Cohort& cohort, const Project& project,
                                    const store::Index& index, const store::Catalog& catalog,
                                    const ProjectCountOptions& options) {
  query::RunOptions run;
  run.with_members = options.with_members;
  run.perimeter = P4DP_TRY(PerimeterOf(project, index, catalog));
  query::CohortResult result = query::RunCohort(cohort, index, catalog, run);
  DisclosurePolicy policy{.threshold = std::max(options.min_cell, project.min_cell)};
  std::vector<int64_t> released = options.released_before;
  if (options.guard) released = options.guard->Released(options.user, project.id);
  ShownCohort shown = RenderCohort(result, policy, released);
  std::vector<int64_t> shown_counts;
  for (const ShownRow& row : shown.attrition) {
    if (row.patients.state == CellState::kShown) shown_counts.push_back(row.patients.value);
  }
  if (options.guard) options.guard->NoteReleased(options.user, project.id, shown);
  std::string json = ShownCohortToJson(shown, policy, cohort.title, result.milliseconds);
  if (options.with_members) {
    // The list as `p4dp count --patients` writes it, added to the rendered counts.
    auto listed = nlohmann::ordered_json::parse(
        query::ResultToJson(result, policy.threshold, cohort.title, true));
    auto body = nlohmann::ordered_json::parse(json);
    body["patients"] = listed["patients"];
    json = body.dump();
  }
  return ProjectCount{
      .json = std::move(json), .patients = result.count, .released = std::move(shown_counts)};
}

}  // namespace p4dp::access
