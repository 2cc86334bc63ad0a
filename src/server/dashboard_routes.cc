#include "server/dashboard_routes.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <ctime>

#include "query/dashboards.h"
#include "query/engine.h"
#include "server/access_routes.h"

namespace p4dp::server {
namespace {

// A count through the small-cell rule: a number, or "<10" for 1 to 9.
nlohmann::ordered_json Shown(int64_t n) {
  if (n > 0 && n < query::kDefaultMinCell) return query::ShownCount(n, query::kDefaultMinCell);
  return n;
}

// {"weeks": [...], "series": [{NAME_KEY: name, "values": [...]}], "min_cell"}.
std::string WeeklyJson(const query::WeeklySeries& weekly, const char* name_key) {
  nlohmann::ordered_json series = nlohmann::ordered_json::array();
  for (size_t i = 0; i < weekly.names.size(); ++i) {
    nlohmann::ordered_json values = nlohmann::ordered_json::array();
    for (int64_t n : weekly.values[i]) values.push_back(Shown(n));
    series.push_back({{name_key, weekly.names[i]}, {"values", values}});
  }
  return nlohmann::ordered_json{
      {"weeks", weekly.weeks}, {"series", series}, {"min_cell", query::kDefaultMinCell}}
      .dump();
}

int ThisYear() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return tm.tm_year + 1900;
}

}  // namespace

void AddDashboardRoutes(Router& router, store::Warehouse& warehouse, access::AccessControl& access,
                        const query::CodeLabels* labels) {
  // ?q=PREFIX[&system=ALIAS][&limit=N]: codes present in the warehouse, most used first.
  AddGuardedRoute(
      router, access, "GET", "/api/codes", access::Action::kCodeSearch,
      [&warehouse, labels](const Request& request, Caller&) {
        query::CodeSearchOptions options;
        options.query = request.QueryParam("q").value_or("");
        if (options.query.empty()) return Response::Error(400, "q: a code prefix is required");
        if (auto system = request.QueryParam("system"); system && !system->empty()) {
          options.system = domain::CodeSystemFromName(*system);
          if (!options.system) return Response::Error(400, "system: unknown code system");
        }
        if (auto limit = request.QueryParam("limit")) {
          char* end = nullptr;
          long n = std::strtol(limit->c_str(), &end, 10);
          if (limit->empty() || *end != '\0' || n < 1 ||
              n > static_cast<long>(query::kCodeSearchLimitMax)) {
            return Response::Error(400, "limit: a whole number from 1 to 100");
          }
          options.limit = static_cast<size_t>(n);
        }
        std::vector<query::CodeHit> hits;
        Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
          hits = labels ? query::SearchCodesWithLabels(index, catalog, *labels, options)
                        : query::SearchCodes(index, catalog, options);
        });
        if (!s.ok()) return Response::Error(500, s.ToString());
        nlohmann::ordered_json codes = nlohmann::ordered_json::array();
        for (const auto& h : hits) {
          auto system = domain::CodeSystemFromName(h.system);
          codes.push_back({{"system", h.system},
                           {"code", h.code},
                           {"label", labels && system ? labels->Label(*system, h.code) : ""},
                           {"patients", Shown(static_cast<int64_t>(h.patients))}});
        }
        return Response::Json(200, nlohmann::ordered_json{{"codes", codes}}.dump());
      });
  // ?condition=NAME (default the first): prevalence by département of residence.
  AddGuardedRoute(
      router, access, "GET", "/api/dashboards/prevalence", access::Action::kDashboards,
      [&warehouse](const Request& request, Caller&) {
        const query::ChronicCondition* condition = &query::ChronicConditions()[0];
        if (auto name = request.QueryParam("condition"); name && !name->empty()) {
          condition = query::FindChronicCondition(*name);
          if (condition == nullptr) return Response::Error(400, "condition: unknown condition");
        }
        std::vector<query::PrevalenceRow> rows;
        Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
          rows = query::Prevalence(index, catalog, *condition);
        });
        if (!s.ok()) return Response::Error(500, s.ToString());
        nlohmann::ordered_json conditions = nlohmann::ordered_json::array();
        for (const auto& c : query::ChronicConditions()) {
          conditions.push_back(
              {{"name", c.name}, {"title_fr", c.title_fr}, {"title_en", c.title_en}});
        }
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& r : rows) {
          // A percentage of a suppressed count (or population) would reveal it: none then.
          bool small = (r.patients > 0 && r.patients < query::kDefaultMinCell) ||
                       r.population < query::kDefaultMinCell;
          nlohmann::ordered_json percent = nullptr;
          if (!small)
            percent = 100.0 * static_cast<double>(r.patients) / static_cast<double>(r.population);
          out.push_back({{"departement", r.departement},
                         {"patients", Shown(r.patients)},
                         {"population", Shown(r.population)},
                         {"percent", percent}});
        }
        return Response::Json(200, nlohmann::ordered_json{{"condition", condition->name},
                                                          {"conditions", conditions},
                                                          {"rows", out},
                                                          {"min_cell", query::kDefaultMinCell}}
                                       .dump());
      });
  AddGuardedRoute(router, access, "GET", "/api/dashboards/consultations",
                  access::Action::kDashboards, [&warehouse](const Request&, Caller&) {
                    query::WeeklySeries weekly;
                    Status s =
                        warehouse.Read([&](const store::Index& index, const store::Catalog&) {
                          weekly = query::ConsultationsPerWeek(index);
                        });
                    if (!s.ok()) return Response::Error(500, s.ToString());
                    return Response::Json(200, WeeklyJson(weekly, "name"));
                  });
  AddGuardedRoute(
      router, access, "GET", "/api/dashboards/prescriptions", access::Action::kDashboards,
      [&warehouse](const Request&, Caller&) {
        query::WeeklySeries weekly;
        Status s = warehouse.Read([&](const store::Index& index, const store::Catalog& catalog) {
          weekly = query::PrescriptionsPerWeek(index, catalog);
        });
        if (!s.ok()) return Response::Error(500, s.ToString());
        return Response::Json(200, WeeklyJson(weekly, "atc"));
      });
  AddGuardedRoute(
      router, access, "GET", "/api/dashboards/pyramid", access::Action::kDashboards,
      [&warehouse](const Request&, Caller&) {
        std::array<query::PyramidBand, 10> bands;
        int year = ThisYear();
        Status s = warehouse.Read([&](const store::Index& index, const store::Catalog&) {
          bands = query::AgePyramid(index, year);
        });
        if (!s.ok()) return Response::Error(500, s.ToString());
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& b : bands) {
          out.push_back({{"band", b.band}, {"male", Shown(b.male)}, {"female", Shown(b.female)}});
        }
        return Response::Json(200, nlohmann::ordered_json{{"year", year},
                                                          {"bands", out},
                                                          {"min_cell", query::kDefaultMinCell}}
                                       .dump());
      });
}

}  // namespace p4dp::server
