#include "server/warehouse_routes.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "base/clock.h"
#include "ingest/pipeline.h"
#include "query/cohort.h"
#include "query/engine.h"

namespace p4dp::server {

void AddWarehouseRoutes(Router& router, store::Warehouse& warehouse, std::string source,
                        access::AccessControl& access) {
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
  // The same definition and result as `p4dp count`. Query: project, min_cell (never below
  // the project's threshold), patients=1 for the patient list (patient_list projects only).
  auto count_action = [](const Request& request) {
    return request.QueryParam("patients") == std::optional<std::string>("1")
               ? access::Action::kCohortPatients
               : access::Action::kCohortCount;
  };
  AddGuardedRoute(
      router, access, "POST", "/api/cohorts/count", count_action,
      [&warehouse](const Request& request, Caller& caller) {
        auto cohort = query::ParseCohort(request.body);
        if (!cohort.ok()) return Response::Error(400, cohort.status().message());
        const int64_t floor = caller.project ? caller.project->min_cell : int64_t{1};
        int64_t min_cell = caller.project ? floor : query::kDefaultMinCell;
        if (auto text = request.QueryParam("min_cell")) {
          char* end = nullptr;
          long long n = std::strtoll(text->c_str(), &end, 10);
          if (text->empty() || *end != '\0' || n < 1 || n > 1'000'000) {
            return Response::Error(400, "min_cell: a whole number from 1 to 1000000");
          }
          min_cell = std::max<int64_t>(n, floor);
        }
        bool with_members = request.QueryParam("patients") == std::optional<std::string>("1");
        query::CohortResult result;
        Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
          query::RunOptions options;
          options.with_members = with_members;
          result = query::RunCohort(*cohort, index, catalog, options);
        });
        if (!s.ok()) return Response::Error(500, s.ToString());
        caller.patients = result.count;
        caller.patient_list = with_members;
        return Response::Json(200,
                              query::ResultToJson(result, min_cell, cohort->title, with_members));
      });
  AddGuardedRoute(router, access, "GET", "/api/stats", access::Action::kStats,
                  [&warehouse](const Request&, Caller&) {
                    auto stats = warehouse.ComputeStats();
                    if (!stats.ok()) return Response::Error(500, stats.status().ToString());
                    return Response::Json(200, ingest::StatsToJson(*stats, -1));
                  });
}

}  // namespace p4dp::server
