#include "server/surveillance_routes.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "access/disclosure.h"
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
struct Shared {
  SurveillanceDisclosure disclosure;
  std::atomic<uint64_t> generation{1};
};

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

// Whether the project's perimeter lets it see `indicator`: its domain among the project's
// domains (an indicator of every domain needs a project of every domain).
bool InPerimeter(const surveil::Indicator& indicator, const access::Project& project) {
  if (project.domains.empty()) return true;
  if (!indicator.domain) return false;
  const std::string_view name = domain::DomainName(*indicator.domain);
  return std::find(project.domains.begin(), project.domains.end(), name) != project.domains.end();
}

// A count as released: the number, or "<t" / "suppressed".
nlohmann::json Released(double value, access::CellState state, int64_t threshold) {
  if (state == access::CellState::kShown) return value;
  return access::CountText({.state = state, .value = static_cast<int64_t>(value)},
                           {.threshold = threshold});
}

// Whether the alarm of a hidden small count may be told: only when both answers leave the
// count at least two values in 1 .. t-1 (a rule of the threshold alone, not of the count, so
// that withholding it tells nothing). The alarm of a count hidden as a complement is not told.
bool AlarmReleasable(access::CellState state, double threshold_value, int64_t t) {
  if (state == access::CellState::kShown) return true;
  if (state != access::CellState::kSmall || std::isnan(threshold_value)) return false;
  int64_t below = 0, above = 0;  // values of 1 .. t-1 at most / above the threshold
  for (int64_t v = 1; v < t; ++v) (static_cast<double>(v) > threshold_value ? above : below)++;
  return below >= 2 && above >= 2;
}

// The week index of a period label of the view ("2024-W10"), by search.
int WeekOf(const surveil::SeriesStore::View& view, const std::string& label) {
  const int n = view.periods(surveil::Granularity::kWeek);
  for (int w = n - 1; w >= 0; --w) {
    if (view.PeriodLabel(surveil::Granularity::kWeek, w) == label) return w;
  }
  return -1;
}

Response Answer(const Request& request, store::Warehouse& warehouse, surveil::SeriesStore& series,
                Shared& shared, const Caller& caller, bool alerts) {
  if (caller.project == nullptr) return Response::Error(403, "no project");
  const access::Project& project = *caller.project;
  const int64_t t = project.min_cell;
  auto params = ParamsOf(request, alerts);
  if (!params.ok()) return Response::Error(400, params.status().message());
  auto parsed = surveil::ParseSurveilRequest(series.indicators(), *params);
  if (!parsed.ok()) return Response::Error(400, parsed.status().message());
  if (alerts && !parsed->detector) return Response::Error(400, "algorithm: alerts need a detector");
  // The perimeter: the project's population is not applied to the series (yet): refused
  // rather than answered over everyone.
  if (!project.population.empty()) {
    return Response::Error(403,
                           "surveillance is not available in a project restricted to a "
                           "population cohort (docs/access-disclosure.md)");
  }
  if (parsed->indicators.empty()) {
    for (size_t i = 0; i < series.indicators().size(); ++i) {
      if (InPerimeter(series.indicators()[i], project)) {
        parsed->indicators.push_back(static_cast<int>(i));
      }
    }
    if (parsed->indicators.empty())
      return Response::Error(403, "indicator: none within the project's domains");
  }
  for (int i : parsed->indicators) {
    if (!InPerimeter(series.indicators()[static_cast<size_t>(i)], project)) {
      return Response::Error(403, "indicator: '" +
                                      series.indicators()[static_cast<size_t>(i)].name +
                                      "' is outside the project's domains");
    }
  }
  if (project.from && (!parsed->from || *parsed->from < *project.from)) parsed->from = project.from;
  if (project.to && (!parsed->to || *parsed->to > *project.to)) parsed->to = project.to;
  if (t > 1 && parsed->granularity == surveil::Granularity::kDay) {
    return Response::Error(400,
                           "period: daily series are released only in projects whose "
                           "small-cell threshold is 1 (days add up to weeks)");
  }
  parsed->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (Status s = Refresh(warehouse, series, shared); !s.ok())
    return Response::Error(500, s.ToString());
  const uint64_t generation = shared.generation.load();
  Result<surveil::SurveilResult> result = Status::Internal("not run");
  Response refused;
  // Disclosure states of each indicator's weeks and of the population.
  std::map<std::string, std::shared_ptr<const SurveillanceDisclosure::Weeks>> counts;
  std::shared_ptr<const SurveillanceDisclosure::Weeks> population;
  std::vector<int> weeks;  // per row or alert: the week index (-1 if none)
  series.Read([&](const surveil::SeriesStore::View& view) {
    if (!alerts) {
      size_t n = parsed->indicators.size() *
                 (parsed->places.empty() ? surveil::PlacesOf(parsed->level).size()
                                         : parsed->places.size()) *
                 parsed->bands.size() * PeriodsIn(view, *parsed);
      if (n > kSurveillanceRowsMax) {
        refused = Response::Error(
            400, "the request asks for up to " + std::to_string(n) + " rows, more than " +
                     std::to_string(kSurveillanceRowsMax) +
                     ": name fewer indicators, places or age bands, or a shorter from/to");
        return;
      }
    }
    result = surveil::Surveil(view, series.indicators(), *parsed, !alerts);
    if (!result.ok() || t <= 1) return;
    for (int i : parsed->indicators) {
      auto states = shared.disclosure.Counts(view, i, t, generation);
      if (!states.ok()) {
        refused = Response::Error(500, states.status().message());
        return;
      }
      counts[series.indicators()[static_cast<size_t>(i)].name] = *states;
    }
    auto pop = shared.disclosure.Population(view, t, generation);
    if (!pop.ok()) {
      refused = Response::Error(500, pop.status().message());
      return;
    }
    population = *pop;
    if (alerts) {
      for (const surveil::Alert& a : result->alerts) weeks.push_back(WeekOf(view, a.period));
    } else {
      for (const surveil::SeriesRow& r : result->rows) weeks.push_back(WeekOf(view, r.period));
    }
  });
  if (refused.status != 200) return refused;
  if (!result.ok()) return Response::Error(500, result.status().message());
  nlohmann::json out = {
      {"algorithm",
       result->algorithm.empty() ? nlohmann::json(nullptr) : nlohmann::json(result->algorithm)},
      {"unevaluated", result->unevaluated},
      {"min_cell", t}};
  auto state_of = [&](const std::shared_ptr<const SurveillanceDisclosure::Weeks>& states, int week,
                      const surveil::Place& place, int band) {
    if (!states || week < 0 || static_cast<size_t>(week) >= states->size()) {
      return t <= 1 ? access::CellState::kShown : access::CellState::kSuppressed;
    }
    return (*states)[static_cast<size_t>(week)].cells[CellOf(place, band)];
  };
  if (alerts) {
    bool current = request.QueryParam("current") == std::optional<std::string>("1");
    nlohmann::json list = nlohmann::json::array();
    for (size_t k = 0; k < result->alerts.size(); ++k) {
      const surveil::Alert& a = result->alerts[k];
      if (current && !a.current) continue;
      const access::CellState state =
          t <= 1 ? access::CellState::kShown
                 : state_of(counts[a.indicator], weeks[k], a.place, a.band);
      // An alert tells that the count passed the threshold: left out where that would
      // narrow a hidden count.
      if (!AlarmReleasable(state, a.threshold, t)) continue;
      nlohmann::json j = nlohmann::json::parse(surveil::AlertsToJson({a}))[0];
      j["observed"] = Released(a.observed, state, t);
      list.push_back(std::move(j));
    }
    out["alerts"] = std::move(list);
  } else {
    nlohmann::json rows = nlohmann::json::parse(surveil::RowsToJson(result->rows));
    if (t > 1) {
      for (size_t k = 0; k < result->rows.size(); ++k) {
        const surveil::SeriesRow& r = result->rows[k];
        nlohmann::json& j = rows[k];
        const access::CellState count = state_of(counts[r.indicator], weeks[k], r.place, r.band);
        const access::CellState pop = state_of(population, weeks[k], r.place, r.band);
        j["count"] = Released(r.count, count, t);
        j["population"] = Released(r.population, pop, t);
        if (count != access::CellState::kShown || pop != access::CellState::kShown) {
          // The incidence and its interval would give the hidden number away.
          j["incidence"] = nullptr;
          j["ci_low"] = nullptr;
          j["ci_high"] = nullptr;
        }
        if (!AlarmReleasable(count, r.threshold, t)) j["alarm"] = nullptr;
      }
    }
    out["rows"] = std::move(rows);
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
