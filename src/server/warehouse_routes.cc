#include "server/warehouse_routes.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "access/cell_key.h"
#include "access/disclosure.h"
#include "access/project_query.h"
#include "base/clock.h"
#include "ingest/pipeline.h"
#include "query/cohort.h"
#include "query/engine.h"

namespace p4dp::server {
namespace {

// /api/stats for the roles that are not the data manager's (researchers, investigators,
// epidemiologists): the size of the store, and no count of patients, events, records or
// quarantined records. Those are warehouse-wide totals of which the dashboards release the
// parts (the weekly visits add up to the visit events, the pyramid's patients are the
// patients but the dead and those of unknown age, sex or département), so releasing them
// beside the dashboards would let a reader subtract the shown parts and recover a small
// count: the number of dead patients, or a week's hidden visits. A project's view of its
// patients is its counts and dashboards, released by the disclosure rules.
std::string StorageStatsJson(const store::Stats& stats) {
  nlohmann::ordered_json j;
  j["segments"] = stats.segments;
  j["bytes_on_disk"] = stats.bytes_on_disk;
  j["index_bytes"] = stats.index_bytes;
  j["version_map_bytes"] = stats.version_map_bytes;
  return j.dump();
}

bool IsDraft(const Request& request) {
  return request.QueryParam("draft") == std::optional<std::string>("1");
}

// The min_cell query parameter (absent: the project's threshold), or why it is bad.
Result<int64_t> MinCellOf(const Request& request, int64_t project_min_cell) {
  auto text = request.QueryParam("min_cell");
  if (!text) return project_min_cell;
  char* end = nullptr;
  long long n = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || n < 1 || n > 1'000'000) {
    return Status::InvalidArgument("min_cell: a whole number from 1 to 1000000");
  }
  return n;  // never below the project's threshold (CountInProject, DraftCountInProject)
}

// A draft count (?draft=1): perturbed by the cell keys, not released, its own rate limit.
Response DraftCountResponse(store::Warehouse& warehouse, access::QueryGuard& drafts,
                            const access::CellKeys& keys, const query::Cohort& cohort,
                            const Request& request, Caller& caller) {
  const access::Project& project = *caller.project;
  if (request.QueryParam("patients") == std::optional<std::string>("1")) {
    return Response::Error(400, "a draft count has no patient list");
  }
  auto min_cell = MinCellOf(request, project.min_cell);
  if (!min_cell.ok()) return Response::Error(400, min_cell.status().message());
  Status admitted = drafts.Admit(caller.principal.user, project.id, access::FingerprintOf(cohort));
  if (!admitted.ok()) return Response::Error(429, "drafts: " + admitted.message());
  Result<access::ProjectCount> counted = Status::Internal("not run");
  Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
    counted =
        access::DraftCountInProject(cohort, project, index, catalog, keys, {.min_cell = *min_cell});
  });
  if (!s.ok()) return Response::Error(500, s.ToString());
  if (!counted.ok()) return Response::Error(500, counted.status().message());
  caller.patients = counted->patients;
  return Response::Json(200, std::move(counted->json));
}

}  // namespace

void AddWarehouseRoutes(Router& router, store::Warehouse& warehouse, std::string source,
                        access::AccessControl& access, access::QueryGuardOptions guard_options,
                        int64_t drafts_per_hour) {
  AddGuardedRoute(router, access, "POST", "/api/ingest", access::Action::kIngest,
                  [&warehouse, source](const Request& request, Caller&) {
                    if (request.body.empty())
                      return Response::Error(400, "empty body: send NDJSON or a Bundle");
                    ingest::IngestOptions options;
                    options.source = source;
                    options.today = SystemClock().Today();
                    ingest::Ingester ingester(warehouse, options);
                    Status s = ingester.IngestBody(request.body, "POST /api/ingest");
                    if (!s.ok()) return Response::Error(500, "ingest failed: " + s.ToString());
                    return Response::Json(200, ingester.summary().ToJson());
                  });
  // The same definition as `p4dp count`, run inside the project's perimeter and rendered by
  // the disclosure rules. Query: project, min_cell (never below the project's threshold),
  // patients=1 for the patient list (investigators in patient_list projects only).
  auto count_action = [](const Request& request) {
    if (IsDraft(request)) return access::Action::kCohortDraft;
    return request.QueryParam("patients") == std::optional<std::string>("1")
               ? access::Action::kCohortPatients
               : access::Action::kCohortCount;
  };
  // One guard per server: the rate limit, the differencing guard and the counts released,
  // per user and project.
  auto guard = std::make_shared<access::QueryGuard>(SystemClock(), guard_options);
  // Drafts: a rate limit of their own, and no differencing limit (their noise is the defence).
  auto drafts = std::make_shared<access::QueryGuard>(
      SystemClock(), access::QueryGuardOptions{.queries_max = drafts_per_hour,
                                               .near_identical_max = drafts_per_hour});
  auto keys = std::make_shared<const access::CellKeys>(
      access::CellKeys::SecretFor(warehouse.pseudonym_key()));
  AddGuardedRoute(
      router, access, "POST", "/api/cohorts/count", count_action,
      [&warehouse, guard, drafts, keys](const Request& request, Caller& caller) {
        auto cohort = query::ParseCohort(request.body);
        if (!cohort.ok()) return Response::Error(400, cohort.status().message());
        if (caller.project == nullptr) return Response::Error(403, "no project");
        if (IsDraft(request)) {
          return DraftCountResponse(warehouse, *drafts, *keys, *cohort, request, caller);
        }
        const access::Project& project = *caller.project;
        access::ProjectCountOptions options{.min_cell = project.min_cell,
                                            .with_members = false,
                                            .guard = guard.get(),
                                            .user = caller.principal.user};
        auto min_cell = MinCellOf(request, project.min_cell);
        if (!min_cell.ok()) return Response::Error(400, min_cell.status().message());
        options.min_cell = *min_cell;
        options.with_members = request.QueryParam("patients") == std::optional<std::string>("1");
        // Rate limit and differencing guard before anything runs: 429 names the limit.
        Status admitted =
            guard->Admit(caller.principal.user, project.id, access::FingerprintOf(*cohort));
        if (!admitted.ok()) return Response::Error(429, admitted.message());
        Result<access::ProjectCount> counted = Status::Internal("not run");
        Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
          counted = access::CountInProject(*cohort, project, index, catalog, options);
        });
        if (!s.ok()) return Response::Error(500, s.ToString());
        if (!counted.ok()) return Response::Error(500, counted.status().message());
        caller.patients = counted->patients;
        caller.patient_list = options.with_members;
        return Response::Json(200, std::move(counted->json));
      });
  // The data manager's operational statistics; other roles get the storage figures only
  // (StorageStatsJson says why).
  AddGuardedRoute(router, access, "GET", "/api/stats", access::Action::kStats,
                  [&warehouse](const Request&, Caller& caller) {
                    auto stats = warehouse.ComputeStats();
                    if (!stats.ok()) return Response::Error(500, stats.status().ToString());
                    bool data_manager =
                        caller.principal.bootstrap ||
                        (caller.principal.roles & access::Bit(access::Role::kDataManager)) != 0;
                    if (data_manager) return Response::Json(200, ingest::StatsToJson(*stats, -1));
                    return Response::Json(200, StorageStatsJson(*stats));
                  });
}

}  // namespace p4dp::server
