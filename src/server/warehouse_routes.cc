#include "server/warehouse_routes.h"

#include "base/clock.h"
#include "ingest/pipeline.h"

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
  router.Add("GET", "/api/stats", [&warehouse](const Request&) {
    auto stats = warehouse.ComputeStats();
    if (!stats.ok()) return Response::Error(500, stats.status().ToString());
    return Response::Json(200, ingest::StatsToJson(*stats, -1));
  });
}

}  // namespace p4dp::server
