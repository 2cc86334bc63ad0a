#include "server/surveillance_routes.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "access/disclosure.h"
#include "access/project_query.h"
#include "domain/patient.h"
#include "server/access_routes.h"
#include "server/surveillance_disclosure.h"
#include "surveil/detector.h"
#include "surveil/surveillance.h"

namespace p4dp::server {
namespace {

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// The names of the query's parameters (before '=').
std::vector<std::string> QueryNames(const std::string& query) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(start, amp - start);
    if (!pair.empty()) names.push_back(pair.substr(0, pair.find('=')));
    start = amp + 1;
  }
  return names;
}

// The request's parameters as SurveilParams; an unknown parameter is an error.
Result<surveil::SurveilParams> ParamsOf(const Request& request, bool alerts) {
  std::set<std::string> known = {
      "indicator", "level", "place",     "age_band", "period",
      "from",      "to",    "algorithm", "project"};  // read by the guard
  if (alerts) known.insert("current");
  const auto& controls = surveil::ControlNames();
  surveil::SurveilParams p;
  for (const std::string& name : QueryNames(request.query)) {
    bool control = std::find(controls.begin(), controls.end(), name) != controls.end();
    if (!known.count(name) && !control) {
      return Status::InvalidArgument("unknown query parameter '" + name + "'");
    }
    auto value = request.QueryParam(name);
    if (!value) return Status::InvalidArgument(name + ": badly encoded");
    if (control) p.controls[name] = *value;
  }
  if (auto v = request.QueryParam("indicator")) p.indicators = SplitCommas(*v);
  if (auto v = request.QueryParam("level")) p.level = *v;
  if (auto v = request.QueryParam("place")) p.places = SplitCommas(*v);
  if (auto v = request.QueryParam("age_band")) {
    p.bands = SplitCommas(*v);
    // "65+" sent unencoded arrives as "65 " ('+' is a space in a query).
    for (std::string& band : p.bands) {
      if (band == "65 ") band = "65+";
    }
  }
  if (auto v = request.QueryParam("period")) p.period = *v;
  if (auto v = request.QueryParam("from")) p.from = *v;
  if (auto v = request.QueryParam("to")) p.to = *v;
  if (auto v = request.QueryParam("algorithm")) p.algorithm = *v;
  return p;
}

// How many periods of the view start in [from, to].
size_t PeriodsIn(const surveil::SeriesStore::View& view, const surveil::SurveilRequest& r) {
  size_t n = 0;
  for (int t = 0; t < view.periods(r.granularity); ++t) {
    Days start = view.PeriodStart(r.granularity, t);
    if ((!r.from || start >= *r.from) && (!r.to || start <= *r.to)) ++n;
  }
  return n;
}

// What the routes share: the disclosure states, cached per version of the series.
// The series of a project restricted to a population cohort: built from its members alone,
// again whenever the warehouse's series moved on.
struct ProjectSeries {
  uint64_t generation = 0;
  std::unique_ptr<surveil::SeriesStore> series;
  SurveillanceDisclosure disclosure;
};

struct Shared {
  SurveillanceDisclosure disclosure;
  std::atomic<uint64_t> generation{1};
  std::mutex projects_mu;
  std::map<std::string, std::shared_ptr<ProjectSeries>> projects;
};

// The series of `project`'s population at `generation` (built if needed).
Result<std::shared_ptr<ProjectSeries>> PopulationSeries(store::Warehouse& warehouse,
                                                        const surveil::SeriesStore& all,
                                                        const access::Project& project,
                                                        Shared& shared, uint64_t generation) {
  std::lock_guard lock(shared.projects_mu);  // one build at a time
  auto& slot = shared.projects[project.id];
  if (slot && slot->generation == generation) return slot;
  auto built = std::make_shared<ProjectSeries>();
  built->generation = generation;
  built->series = std::make_unique<surveil::SeriesStore>(all.indicators());
  Status failed = Status::Ok();
  P4DP_TRY(warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
    auto perimeter = access::PerimeterOf(project, index, catalog);
    if (!perimeter.ok()) {
      failed = perimeter.status();
      return;
    }
    built->series->Build(index, catalog, perimeter->population.get());
  }));
  P4DP_TRY(failed);
  slot = built;
  return built;
}

// Brings the series up to the warehouse (building them the first time); a change of the
// series moves the generation on.
Status Refresh(store::Warehouse& warehouse, surveil::SeriesStore& series, Shared& shared) {
  return warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
    if (!series.built()) {
      series.Build(index, catalog);
      ++shared.generation;
    } else if (series.CatchUp(index, catalog) > 0) {
      ++shared.generation;
    }
  });
}

Response Answer(const Request& request, store::Warehouse& warehouse, surveil::SeriesStore& series,
                Shared& shared, const Caller& caller, bool alerts) {
  if (caller.project == nullptr) return Response::Error(403, "no project");
  const access::Project& project = *caller.project;
  auto params = ParamsOf(request, alerts);
  if (!params.ok()) return Response::Error(400, params.status().message());
  auto parsed = surveil::ParseSurveilRequest(series.indicators(), *params);
  if (!parsed.ok()) return Response::Error(400, parsed.status().message());
  if (alerts && !parsed->detector) return Response::Error(400, "algorithm: alerts need a detector");
  if (Status fit = FitToProject(project, series.indicators(), *parsed); !fit.ok()) {
    return Response::Error(fit.code() == StatusCode::kPermissionDenied ? 403 : 400, fit.message());
  }
  parsed->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (Status s = Refresh(warehouse, series, shared); !s.ok())
    return Response::Error(500, s.ToString());
  const uint64_t generation = shared.generation.load();
  // A project restricted to a population reads the series of its members alone.
  SurveillanceDisclosure* disclosure = &shared.disclosure;
  std::shared_ptr<ProjectSeries> own;
  if (!project.population.empty()) {
    auto built = PopulationSeries(warehouse, series, project, shared, generation);
    if (!built.ok()) return Response::Error(500, built.status().message());
    own = *built;
    disclosure = &own->disclosure;
  }
  const surveil::SeriesStore& store = own ? *own->series : series;
  Result<surveil::SurveilResult> result = Status::Internal("not run");
  Response too_many;
  store.Read([&](const surveil::SeriesStore::View& view) {
    if (!alerts) {
      size_t n = parsed->indicators.size() *
                 (parsed->places.empty() ? surveil::PlacesOf(parsed->level).size()
                                         : parsed->places.size()) *
                 parsed->bands.size() * PeriodsIn(view, *parsed);
      if (n > kSurveillanceRowsMax) {
        too_many = Response::Error(
            400, "the request asks for up to " + std::to_string(n) + " rows, more than " +
                     std::to_string(kSurveillanceRowsMax) +
                     ": name fewer indicators, places or age bands, or a shorter from/to");
        return;
      }
    }
    result = surveil::Surveil(view, series.indicators(), *parsed, !alerts);
    if (!result.ok()) return;
    if (Status s = ProtectResult(*result, view, series.indicators(), project.min_cell, *disclosure,
                                 generation);
        !s.ok()) {
      result = s;
    }
  });
  if (too_many.status != 200) return too_many;
  if (!result.ok()) return Response::Error(500, result.status().message());
  nlohmann::json out = {
      {"algorithm",
       result->algorithm.empty() ? nlohmann::json(nullptr) : nlohmann::json(result->algorithm)},
      {"unevaluated", result->unevaluated},
      {"min_cell", project.min_cell}};
  if (alerts) {
    bool current = request.QueryParam("current") == std::optional<std::string>("1");
    std::vector<surveil::Alert> kept;
    for (surveil::Alert& a : result->alerts) {
      if (!current || a.current) kept.push_back(std::move(a));
    }
    out["alerts"] = nlohmann::json::parse(surveil::AlertsToJson(kept));
  } else {
    out["rows"] = nlohmann::json::parse(surveil::RowsToJson(result->rows));
  }
  return Response::Json(200, out.dump());
}

}  // namespace

void AddSurveillanceRoutes(Router& router, store::Warehouse& warehouse,
                           surveil::SeriesStore& series, access::AccessControl& access) {
  auto shared = std::make_shared<Shared>();
  AddGuardedRoute(
      router, access, "GET", "/api/surveillance/indicators",
      access::Action::kSurveillanceIndicators,
      [&warehouse, &series, shared](const Request&, Caller& caller) {
        if (Status s = Refresh(warehouse, series, *shared); !s.ok())
          return Response::Error(500, s.ToString());
        std::vector<surveil::Indicator> visible;
        for (const surveil::Indicator& i : series.indicators()) {
          if (caller.project == nullptr || InPerimeter(i, *caller.project)) visible.push_back(i);
        }
        nlohmann::json out = {
            {"indicators", nlohmann::json::parse(surveil::IndicatorsToJson(visible))},
            {"levels", {"nation", "region", "departement"}},
            {"age_bands", {"0-4", "5-14", "15-64", "65+", "all"}},
            {"algorithms", surveil::AlgorithmNames()},
            {"default_algorithm", surveil::kDefaultAlgorithm}};
        series.Read([&](const surveil::SeriesStore::View& view) {
          int weeks = view.periods(surveil::Granularity::kWeek);
          out["first_week"] = weeks > 0
                                  ? nlohmann::json(view.PeriodLabel(surveil::Granularity::kWeek, 0))
                                  : nlohmann::json(nullptr);
          out["last_week"] =
              weeks > 0 ? nlohmann::json(view.PeriodLabel(surveil::Granularity::kWeek, weeks - 1))
                        : nlohmann::json(nullptr);
        });
        return Response::Json(200, out.dump());
      });
  AddGuardedRoute(router, access, "GET", "/api/surveillance/series", access::Action::kSurveillance,
                  [&warehouse, &series, shared](const Request& request, Caller& caller) {
                    return Answer(request, warehouse, series, *shared, caller, false);
                  });
  AddGuardedRoute(router, access, "GET", "/api/surveillance/alerts", access::Action::kSurveillance,
                  [&warehouse, &series, shared](const Request& request, Caller& caller) {
                    return Answer(request, warehouse, series, *shared, caller, true);
                  });
}

}  // namespace p4dp::server
