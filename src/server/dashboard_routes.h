// The web dashboard's own routes: GET /api/codes (the cohort builder's code search) and
// GET /api/dashboards/{pyramid,prevalence,prescriptions,consultations} (docs/web.md). Counts
// pass the small-cell rule. Registered by `p4dp serve` beside the warehouse routes; handlers
// are thread-safe (they read the index under the warehouse's read lock).
#pragma once

#include "access/control.h"
#include "query/code_labels.h"
#include "server/http_server.h"
#include "store/warehouse.h"

namespace p4dp::server {

// Every route goes through the access guard (server/access_routes.h): the code search needs
// the code_search right, the dashboards the dashboards right, both in a project the caller
// belongs to. `warehouse` and `access` must outlive the router. With `labels` (which must
// outlive the router too) the code search also matches labels and answers each code's label.
void AddDashboardRoutes(Router& router, store::Warehouse& warehouse, access::AccessControl& access,
                        const query::CodeLabels* labels = nullptr);

}  // namespace p4dp::server
