// The web dashboard's own routes: GET /api/codes (the cohort builder's code search) and
// GET /api/dashboards/{pyramid,prevalence,prescriptions,consultations} (docs/web.md). Counts
// pass the small-cell rule. Registered by `p4dp serve` beside the warehouse routes; handlers
// are thread-safe (they read the index under the warehouse's read lock).
#pragma once

#include "server/http_server.h"
#include "store/warehouse.h"

namespace p4dp::server {

// `warehouse` must outlive the router.
void AddDashboardRoutes(Router& router, store::Warehouse& warehouse);

}  // namespace p4dp::server
