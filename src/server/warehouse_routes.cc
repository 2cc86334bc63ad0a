#include "server/warehouse_routes.h"

#include <cstdlib>
#include <optional>

#include "base/clock.h"
#include "ingest/pipeline.h"
#include "query/cohort.h"
#include "query/engine.h"

namespace p4dp::server {

void AddWarehouseRoutes(Router& router, store::Warehouse& warehouse, std::string source) {
  // The place where the access issue will check the caller's token and project.
  router.Add("POST", "/api/ingest", [&warehouse, source](const Request& request) {
    if (request.body.empty()) return Response::Error(400, "empty body: send NDJSON or a Bundle");
    ingest::IngestOptions options;
    options.source = source;
    options.today = SystemClock().Today();
    ingest::Ingester ingester(warehouse, options);
    Status s = ingester.IngestBody(request.body, "POST /api/ingest");
    if (!s.ok()) return Response::Error(500, "ingest failed: " + s.ToString());
    return Response::Json(200, ingester.summary().ToJson());
  });
  // The same definition and result as `p4dp count`. Query: min_cell (default 10),
  // patients=1 for the patient list (the access issue restricts it to authorised projects).
  router.Add("POST", "/api/cohorts/count", [&warehouse](const Request& request) {
    auto cohort = query::ParseCohort(request.body);
    if (!cohort.ok()) return Response::Error(400, cohort.status().message());
    int64_t min_cell = query::kDefaultMinCell;
    if (auto text = request.QueryParam("min_cell")) {
      char* end = nullptr;
      long long n = std::strtoll(text->c_str(), &end, 10);
      if (text->empty() || *end != '\0' || n < 1 || n > 1'000'000) {
        return Response::Error(400, "min_cell: a whole number from 1 to 1000000");
      }
      min_cell = n;
    }
    bool with_members = request.QueryParam("patients") == std::optional<std::string>("1");
    query::CohortResult result;
    Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
      query::RunOptions options;
      options.with_members = with_members;
      result = query::RunCohort(*cohort, index, catalog, options);
    });
    if (!s.ok()) return Response::Error(500, s.ToString());
    return Response::Json(200, query::ResultToJson(result, min_cell, cohort->title, with_members));
  });
  router.Add("GET", "/api/stats", [&warehouse](const Request&) {
    auto stats = warehouse.ComputeStats();
    if (!stats.ok()) return Response::Error(500, stats.status().ToString());
    return Response::Json(200, ingest::StatsToJson(*stats, -1));
  });
}

}  // namespace p4dp::server
