// The web dashboard's own routes: GET /api/codes (the cohort builder's code search) and
// GET /api/dashboards/{pyramid,prevalence,prescriptions,consultations} (docs/web.md). Each
// runs inside the caller's project perimeter and releases its counts by the project's
// disclosure rules (docs/access-disclosure.md, "Dashboards"): the pyramid and the prevalence
// are grids released with their totals, through complementary suppression (SuppressGrid);
// the weekly series and the code search release no sums, and pass the small-cell rule.
// Registered by `p4dp serve` beside the warehouse routes; handlers are thread-safe (they read
// the index under the warehouse's read lock); the renderings are pure functions.
#pragma once

#include <span>
#include <string>

#include "access/control.h"
#include "access/disclosure.h"
#include "base/status.h"
#include "query/code_labels.h"
#include "query/dashboards.h"
#include "server/http_server.h"
#include "store/warehouse.h"

namespace p4dp::server {

// Every route goes through the access guard (server/access_routes.h): the code search needs
// the code_search right, the dashboards the dashboards right, both in a project the caller
// belongs to. `warehouse` and `access` must outlive the router. With `labels` (which must
// outlive the router too) the code search also matches labels and answers each code's label.
void AddDashboardRoutes(Router& router, store::Warehouse& warehouse, access::AccessControl& access,
                        const query::CodeLabels* labels = nullptr);

// The routes' answers from true counts, as a project whose threshold is `policy.threshold`
// may see them (also what the tests read, as a user would). A released count is a number,
// "<t" (1 .. t - 1) or "suppressed" (not small, but it would reveal a small one).

// {"year", "bands": [{"band", "male", "female", "total"}], "total": {"male", "female",
// "total"}, "min_cell"}: the 10 x 2 grid with its row, column and grand totals, through
// SuppressGrid. Errors: those of SuppressGrid.
Result<std::string> PyramidJson(std::span<const query::PyramidBand> bands, int year,
                                const access::DisclosurePolicy& policy);

// {"condition", "conditions": [{"name", "title_fr", "title_en"}], "rows": [{"departement",
// "patients", "without", "population", "percent"}], "nation": {the same but "departement"},
// "min_cell"}: départements x {with the condition, without} with the population (row totals)
// and the national row (column totals and grand total), through SuppressGrid; "percent" is
// null unless "patients" and "population" are both shown. Errors: those of SuppressGrid.
Result<std::string> PrevalenceJson(std::span<const query::PrevalenceRow> rows,
                                   const query::ChronicCondition& condition,
                                   const access::DisclosurePolicy& policy);

// {"weeks", "series": [{NAME_KEY: name, "values": [...]}], "min_cell"}: no totals are
// released, so each count passes the small-cell rule alone.
std::string WeeklyJson(const query::WeeklySeries& weekly, const char* name_key,
                       const access::DisclosurePolicy& policy);

// {"codes": [{"system", "code", "label", "patients"}], "min_cell"}: each count by the
// small-cell rule (a patient may have several codes: the counts are not parts of any sum);
// "label" from `labels` ("" without).
std::string CodesJson(std::span<const query::CodeHit> hits, const access::DisclosurePolicy& policy,
                      const query::CodeLabels* labels = nullptr);

}  // namespace p4dp::server
