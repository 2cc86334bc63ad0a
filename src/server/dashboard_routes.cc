#include "server/dashboard_routes.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <vector>

#include "access/project_query.h"
#include "query/engine.h"
#include "server/access_routes.h"

namespace p4dp::server {
namespace {

using access::CellState;
using nlohmann::ordered_json;

// A count as released: its number when shown, else "<t" or "suppressed".
ordered_json Released(CellState state, int64_t value, const access::DisclosurePolicy& policy) {
  if (state == CellState::kShown) return value;
  return access::CountText({.state = state, .value = value}, policy);
}

// The small-cell rule alone, for counts released without any sum of them.
ordered_json Primary(int64_t value, const access::DisclosurePolicy& policy) {
  bool small = value > 0 && value < policy.threshold;
  return Released(small ? CellState::kSmall : CellState::kShown, value, policy);
}

int ThisYear() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return tm.tm_year + 1900;
}

// The caller's project as the dashboards use it: its threshold (never the default constant).
access::DisclosurePolicy PolicyOf(const access::Project& project) {
  return {.threshold = std::max<int64_t>(project.min_cell, 1)};
}

// Runs `compute(index, catalog, perimeter)` inside the read lock, within the project's
// perimeter (resolved there: a population's PatientIndex values hold for that index only).
template <typename Compute>
Status ReadInProject(store::Warehouse& warehouse, const access::Project& project, Compute compute) {
  Status inner = Status::Ok();
  Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
    Result<query::Perimeter> perimeter = access::PerimeterOf(project, index, catalog);
    if (!perimeter.ok()) {
      inner = perimeter.status();
      return;
    }
    compute(index, catalog, &*perimeter);
  });
  return s.ok() ? inner : s;
}

// A percentage, when both of its numbers are shown (else it would reveal a hidden one).
ordered_json Percent(CellState patients_state, int64_t patients, CellState population_state,
                     int64_t population) {
  if (patients_state != CellState::kShown || population_state != CellState::kShown ||
      population == 0) {
    return nullptr;
  }
  return 100.0 * static_cast<double>(patients) / static_cast<double>(population);
}

// The pyramid and the prevalence count the same patients (query::CountedByDashboards), so
// their grand totals are the same number and what one shows the other cannot hide: a table
// that would hide its grand total (not small: a small one is "<t" in both) is withheld
// whole, every count "suppressed". A reader who takes the number from the other table then
// knows only that the table's cells add up to it.
void WithholdIfGrandTotalHidden(access::GridStates& states) {
  if (states.total != CellState::kSuppressed) return;
  for (auto* cells : {&states.cells, &states.row_totals, &states.col_totals}) {
    std::fill(cells->begin(), cells->end(), CellState::kSuppressed);
  }
}

Response CodesRoute(store::Warehouse& warehouse, const query::CodeLabels* labels,
                    const Request& request, Caller& caller) {
  if (caller.project == nullptr) return Response::Error(403, "no project");
  query::CodeSearchOptions options;
  options.query = request.QueryParam("q").value_or("");
  if (options.query.empty()) return Response::Error(400, "q: a code prefix is required");
  if (auto system = request.QueryParam("system"); system && !system->empty()) {
    options.system = domain::CodeSystemFromName(*system);
    if (!options.system) return Response::Error(400, "system: unknown code system");
  }
  if (auto limit = request.QueryParam("limit")) {
    char* end = nullptr;
    long n = std::strtol(limit->c_str(), &end, 10);
    if (limit->empty() || *end != '\0' || n < 1 ||
        n > static_cast<long>(query::kCodeSearchLimitMax)) {
      return Response::Error(400, "limit: a whole number from 1 to 100");
    }
    options.limit = static_cast<size_t>(n);
  }
  std::vector<query::CodeHit> hits;
  Status s =
      ReadInProject(warehouse, *caller.project,
                    [&](const store::Index& index, const store::Catalog& catalog,
                        const query::Perimeter* perimeter) {
                      options.perimeter = perimeter;
                      hits = labels ? query::SearchCodesWithLabels(index, catalog, *labels, options)
                                    : query::SearchCodes(index, catalog, options);
                      options.perimeter = nullptr;
                    });
  if (!s.ok()) return Response::Error(500, s.ToString());
  return Response::Json(200, CodesJson(hits, PolicyOf(*caller.project), labels));
}

Response PrevalenceRoute(store::Warehouse& warehouse, const Request& request, Caller& caller) {
  if (caller.project == nullptr) return Response::Error(403, "no project");
  const query::ChronicCondition* condition = &query::ChronicConditions()[0];
  if (auto name = request.QueryParam("condition"); name && !name->empty()) {
    condition = query::FindChronicCondition(*name);
    if (condition == nullptr) return Response::Error(400, "condition: unknown condition");
  }
  std::vector<query::PrevalenceRow> rows;
  Status s = ReadInProject(warehouse, *caller.project,
                           [&](const store::Index& index, const store::Catalog& catalog,
                               const query::Perimeter* perimeter) {
                             rows = query::Prevalence(index, catalog, *condition, perimeter);
                           });
  if (!s.ok()) return Response::Error(500, s.ToString());
  Result<std::string> body = PrevalenceJson(rows, *condition, PolicyOf(*caller.project));
  if (!body.ok()) return Response::Error(500, body.status().ToString());
  return Response::Json(200, std::move(*body));
}

Response PyramidRoute(store::Warehouse& warehouse, Caller& caller) {
  if (caller.project == nullptr) return Response::Error(403, "no project");
  std::array<query::PyramidBand, 10> bands;
  int year = ThisYear();
  Status s = ReadInProject(
      warehouse, *caller.project,
      [&](const store::Index& index, const store::Catalog&, const query::Perimeter* perimeter) {
        bands = query::AgePyramid(index, year, perimeter);
      });
  if (!s.ok()) return Response::Error(500, s.ToString());
  Result<std::string> body = PyramidJson(bands, year, PolicyOf(*caller.project));
  if (!body.ok()) return Response::Error(500, body.status().ToString());
  return Response::Json(200, std::move(*body));
}

// A weekly dashboard: `compute(index, catalog, perimeter)` gives the series.
template <typename Compute>
Response WeeklyRoute(store::Warehouse& warehouse, Caller& caller, const char* name_key,
                     Compute compute) {
  if (caller.project == nullptr) return Response::Error(403, "no project");
  query::WeeklySeries weekly;
  Status s = ReadInProject(
      warehouse, *caller.project,
      [&](const store::Index& index, const store::Catalog& catalog,
          const query::Perimeter* perimeter) { weekly = compute(index, catalog, perimeter); });
  if (!s.ok()) return Response::Error(500, s.ToString());
  return Response::Json(200, WeeklyJson(weekly, name_key, PolicyOf(*caller.project)));
}

}  // namespace

Result<std::string> PyramidJson(std::span<const query::PyramidBand> bands, int year,
                                const access::DisclosurePolicy& policy) {
  std::vector<int64_t> grid;
  for (const auto& b : bands) {
    grid.push_back(b.male);
    grid.push_back(b.female);
  }
  access::GridStates states = P4DP_TRY(access::SuppressGrid(grid, bands.size(), 2, policy));
  WithholdIfGrandTotalHidden(states);
  ordered_json out = ordered_json::array();
  int64_t male = 0, female = 0;
  for (size_t r = 0; r < bands.size(); ++r) {
    const query::PyramidBand& b = bands[r];
    male += b.male;
    female += b.female;
    out.push_back({{"band", b.band},
                   {"male", Released(states.cells[2 * r], b.male, policy)},
                   {"female", Released(states.cells[2 * r + 1], b.female, policy)},
                   {"total", Released(states.row_totals[r], b.male + b.female, policy)}});
  }
  ordered_json total = {{"male", Released(states.col_totals[0], male, policy)},
                        {"female", Released(states.col_totals[1], female, policy)},
                        {"total", Released(states.total, male + female, policy)}};
  return ordered_json{
      {"year", year}, {"bands", out}, {"total", total}, {"min_cell", policy.threshold}}
      .dump();
}

Result<std::string> PrevalenceJson(std::span<const query::PrevalenceRow> rows,
                                   const query::ChronicCondition& condition,
                                   const access::DisclosurePolicy& policy) {
  // The released "patients" and "population" imply "without" (their difference): it is a
  // column of the grid, so that complementary suppression sees every count a reader has.
  std::vector<int64_t> grid;
  int64_t with = 0, without = 0;
  for (const auto& r : rows) {
    grid.push_back(r.patients);
    grid.push_back(r.population - r.patients);
    with += r.patients;
    without += r.population - r.patients;
  }
  access::GridStates states;
  if (rows.empty()) {
    states.col_totals = {CellState::kShown, CellState::kShown};  // every count is 0
  } else {
    states = P4DP_TRY(access::SuppressGrid(grid, rows.size(), 2, policy));
    WithholdIfGrandTotalHidden(states);
  }
  auto row_json = [&](CellState s_with, int64_t n_with, CellState s_without, int64_t n_without,
                      CellState s_total) {
    int64_t population = n_with + n_without;
    return ordered_json{{"patients", Released(s_with, n_with, policy)},
                        {"without", Released(s_without, n_without, policy)},
                        {"population", Released(s_total, population, policy)},
                        {"percent", Percent(s_with, n_with, s_total, population)}};
  };
  ordered_json out = ordered_json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    ordered_json row = {{"departement", rows[i].departement}};
    row.update(row_json(states.cells[2 * i], rows[i].patients, states.cells[2 * i + 1],
                        rows[i].population - rows[i].patients, states.row_totals[i]));
    out.push_back(std::move(row));
  }
  ordered_json conditions = ordered_json::array();
  for (const auto& c : query::ChronicConditions()) {
    conditions.push_back({{"name", c.name}, {"title_fr", c.title_fr}, {"title_en", c.title_en}});
  }
  return ordered_json{
      {"condition", condition.name},
      {"conditions", conditions},
      {"rows", out},
      {"nation", row_json(states.col_totals[0], with, states.col_totals[1], without, states.total)},
      {"min_cell", policy.threshold}}
      .dump();
}

std::string WeeklyJson(const query::WeeklySeries& weekly, const char* name_key,
                       const access::DisclosurePolicy& policy) {
  ordered_json series = ordered_json::array();
  for (size_t i = 0; i < weekly.names.size(); ++i) {
    ordered_json values = ordered_json::array();
    for (int64_t n : weekly.values[i]) values.push_back(Primary(n, policy));
    series.push_back({{name_key, weekly.names[i]}, {"values", values}});
  }
  return ordered_json{{"weeks", weekly.weeks}, {"series", series}, {"min_cell", policy.threshold}}
      .dump();
}

std::string CodesJson(std::span<const query::CodeHit> hits, const access::DisclosurePolicy& policy,
                      const query::CodeLabels* labels) {
  ordered_json codes = ordered_json::array();
  for (const auto& h : hits) {
    auto system = domain::CodeSystemFromName(h.system);
    codes.push_back({{"system", h.system},
                     {"code", h.code},
                     {"label", labels && system ? labels->Label(*system, h.code) : ""},
                     {"patients", Primary(static_cast<int64_t>(h.patients), policy)}});
  }
  return ordered_json{{"codes", codes}, {"min_cell", policy.threshold}}.dump();
}

void AddDashboardRoutes(Router& router, store::Warehouse& warehouse, access::AccessControl& access,
                        const query::CodeLabels* labels) {
  // ?q=PREFIX[&system=ALIAS][&limit=N]: codes the project sees, most used first.
  AddGuardedRoute(router, access, "GET", "/api/codes", access::Action::kCodeSearch,
                  [&warehouse, labels](const Request& request, Caller& caller) {
                    return CodesRoute(warehouse, labels, request, caller);
                  });
  // ?condition=NAME (default the first): prevalence by département of residence.
  AddGuardedRoute(router, access, "GET", "/api/dashboards/prevalence", access::Action::kDashboards,
                  [&warehouse](const Request& request, Caller& caller) {
                    return PrevalenceRoute(warehouse, request, caller);
                  });
  AddGuardedRoute(
      router, access, "GET", "/api/dashboards/pyramid", access::Action::kDashboards,
      [&warehouse](const Request&, Caller& caller) { return PyramidRoute(warehouse, caller); });
  AddGuardedRoute(router, access, "GET", "/api/dashboards/consultations",
                  access::Action::kDashboards, [&warehouse](const Request&, Caller& caller) {
                    return WeeklyRoute(warehouse, caller, "name",
                                       [](const store::Index& index, const store::Catalog&,
                                          const query::Perimeter* perimeter) {
                                         return query::ConsultationsPerWeek(index, perimeter);
                                       });
                  });
  AddGuardedRoute(router, access, "GET", "/api/dashboards/prescriptions",
                  access::Action::kDashboards, [&warehouse](const Request&, Caller& caller) {
                    return WeeklyRoute(warehouse, caller, "atc",
                                       [](const store::Index& index, const store::Catalog& catalog,
                                          const query::Perimeter* perimeter) {
                                         return query::PrescriptionsPerWeek(index, catalog,
                                                                            perimeter);
                                       });
                  });
}

}  // namespace p4dp::server
