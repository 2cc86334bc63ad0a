// The routes that reach the warehouse: live ingestion (POST /api/ingest), statistics
// (GET /api/stats) and cohort counts (POST /api/cohorts/count). Registered by `p4dp serve` when its
// data folder holds a warehouse. Handlers are thread-safe: the Warehouse serialises writers and
// lets readers share.
#pragma once

#include <string>

#include "access/control.h"
#include "access/disclosure.h"
#include "server/access_routes.h"
#include "server/http_server.h"
#include "store/warehouse.h"

namespace p4dp::server {

// POST /api/ingest: a body of FHIR NDJSON or one Bundle (Content-Type application/fhir+json,
// application/x-ndjson or application/json). Answers 200 with the ingest summary once every
// record is durable, and the records are visible to readers at once; 400 for an empty body,
// 500 with the error when the store fails. `source` names the sender for now (the access
// issue binds it to the authenticated practice).
// POST /api/cohorts/count: a cohort definition (the cohort language) in the body; answers
// 200 with the result of `p4dp count` (?min_cell=N, ?patients=1 for the patient list), 400
// naming the path of an invalid definition (nothing runs).
// Every route is guarded (server/access_routes.h): ingest is a data_manager route without a
// project; stats and cohort counts name their project (?project=ID), whose small-cell
// threshold is the least min_cell a count may use.
// Counts are run inside the project's perimeter and rendered by access/disclosure.h (small
// cells, complementary suppression, counts released before); `guard_options` bound the
// queries per user and project (over them: 429).
// POST /api/cohorts/count?draft=1: the same count as a draft (access/cell_key.h:
// perturbed, "approximate": true), for live counting while a definition is edited: not
// recorded as released, not seen by the differencing guard; `drafts_per_hour` bounds the
// drafts per user and project (over them: 429).
inline constexpr int64_t kDraftsPerHourDefault = 1200;
void AddWarehouseRoutes(Router& router, store::Warehouse& warehouse, std::string source,
                        access::AccessControl& access, access::QueryGuardOptions guard_options = {},
                        int64_t drafts_per_hour = kDraftsPerHourDefault);

}  // namespace p4dp::server
