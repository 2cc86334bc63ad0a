// The surveillance routes: GET /api/surveillance/indicators, /series and /alerts, over the
// indicator series of the warehouse (surveil/series.h). Registered by `p4dp serve` beside the
// warehouse routes. Before answering, a route brings the series up to date with the batches
// committed since the last request (only the patients those batches touched are recomputed).
// Handlers are thread-safe: the series store and the warehouse have their own locks.
#pragma once

#include "access/control.h"
#include "server/access_routes.h"
#include "server/http_server.h"
#include "store/warehouse.h"
#include "surveil/series.h"

namespace p4dp::server {

// The most series rows one /series request may return (ask for fewer places, bands or
// periods beyond it).
inline constexpr size_t kSurveillanceRowsMax = 200'000;

// `series` must outlive the router; the warehouse's commit observer must feed it
// (SeriesStore::NoteBatch). Query parameters (docs/api.md): indicator, level, place,
// age_band (each a comma-separated list where it makes sense), period, from, to, algorithm,
// the detector's controls by name, and for /alerts current=1. 400 names the parameter.
// Guarded (server/access_routes.h): /series and /alerts are epidemiologist routes naming
// their project (?project=ID); /indicators (configuration only) needs a session.
void AddSurveillanceRoutes(Router& router, store::Warehouse& warehouse,
                           surveil::SeriesStore& series, access::AccessControl& access);

}  // namespace p4dp::server
