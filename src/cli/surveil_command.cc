// `p4dp surveil DATA`: the warehouse's indicator series and alerts (wiring only; the work is
// in surveil/). Opens the warehouse, builds the series from its index, evaluates the requested
// ones with a detector and prints series rows or the alert list as CSV or JSON; in a project
// (--project), within its perimeter and under its small-cell rule, as the routes answer
// (server/surveillance_disclosure.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "access/project_query.h"
#include "cli/commands.h"
#include "cli/operator.h"
#include "cli/warehouse_access.h"
#include "server/surveillance_disclosure.h"
#include "surveil/detector.h"
#include "surveil/series.h"
#include "surveil/surveillance.h"

namespace p4dp::cli {
namespace {

struct SurveilArgs {
  std::string data;
  std::string key_file;
  std::string indicators_file;
  surveil::SurveilParams params;
  std::map<std::string, std::string> controls;  // option name -> text, filled from the options
  bool alerts = false;
  bool current = false;
  std::string format = "csv";
  int threads = 0;
};

int RunSurveil(SurveilArgs& a, const CLI::App& cmd) {
  std::vector<surveil::Indicator> indicators = surveil::DefaultIndicators();
  if (!a.indicators_file.empty()) {
    auto loaded = surveil::LoadIndicators(a.indicators_file);
    if (!loaded.ok()) return Fail("surveil: " + loaded.status().message());
    indicators = std::move(*loaded);
  }
  for (const std::string& name : surveil::ControlNames()) {
    if (cmd.count("--" + name) > 0) {
      a.params.controls[name] = cmd.get_option("--" + name)->as<std::string>();
    }
  }
  auto request = surveil::ParseSurveilRequest(indicators, a.params);
  if (!request.ok()) {
    Fail("surveil: --" + request.status().message());
    return 2;
  }
  if (a.alerts && !request->detector) {
    Fail("surveil: --alerts needs a detector (--algorithm is none)");
    return 2;
  }
  // In a project: its perimeter and its small-cell rule, as on the routes.
  const access::Project* project = OperatorProject();
  if (project != nullptr) {
    if (Status fit = server::FitToProject(*project, indicators, *request); !fit.ok()) {
      Fail("surveil: " + fit.message());
      return fit.code() == StatusCode::kPermissionDenied ? kExitRefused : 2;
    }
  }
  request->threads = a.threads > 0
                         ? a.threads
                         : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto warehouse = OpenWarehouse(a.data, a.key_file);
  if (!warehouse.ok()) return Fail("surveil: " + warehouse.status().ToString());
  surveil::SeriesStore series(indicators);
  Status built = Status::Ok();
  Status s = (*warehouse)->Read([&](const store::Index& index, const store::Catalog& catalog) {
    // A project restricted to a population: the series of its members alone.
    std::shared_ptr<const store::PatientSet> population;
    if (project != nullptr && !project->population.empty()) {
      auto perimeter = access::PerimeterOf(*project, index, catalog);
      if (!perimeter.ok()) {
        built = perimeter.status();
        return;
      }
      population = perimeter->population;
    }
    series.Build(index, catalog, population.get());
  });
  if (!s.ok()) return Fail("surveil: " + s.ToString());
  if (!built.ok()) return Fail("surveil: " + built.ToString());
  Result<surveil::SurveilResult> result = Status::Internal("not run");
  server::SurveillanceDisclosure disclosure;
  series.Read([&](const surveil::SeriesStore::View& view) {
    result = surveil::Surveil(view, indicators, *request, !a.alerts);
    if (!result.ok() || project == nullptr) return;
    if (Status p = server::ProtectResult(*result, view, indicators, project->min_cell, disclosure,
                                         /*generation=*/1);
        !p.ok()) {
      result = p;
    }
  });
  if (!result.ok()) return Fail("surveil: " + result.status().message());
  if (result->unevaluated > 0) {
    std::fprintf(stderr, "p4dp: surveil: %s could not evaluate %lld periods (left without alarm)\n",
                 result->algorithm.c_str(), static_cast<long long>(result->unevaluated));
  }
  std::string out;
  if (a.alerts) {
    std::vector<surveil::Alert> alerts;
    for (surveil::Alert& alert : result->alerts) {
      if (!a.current || alert.current) alerts.push_back(std::move(alert));
    }
    out = a.format == "json" ? surveil::AlertsToJson(alerts) + "\n" : surveil::AlertsToCsv(alerts);
  } else {
    out = a.format == "json" ? surveil::RowsToJson(result->rows) + "\n"
                             : surveil::RowsToCsv(result->rows);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

void RegisterSurveil(CLI::App& app, RunFn& run) {
  auto a = std::make_shared<SurveilArgs>();
  CLI::App* cmd = app.add_subcommand(
      "surveil",
      "Indicator series (count, population, incidence per 100,000 with its 95% exact Poisson "
      "interval, expected, threshold, alarm) or alerts of a warehouse; see docs/surveillance.md");
  cmd->add_option("DATA", a->data, "The warehouse folder")->required();
  AddKeyFileOption(cmd, a->key_file);
  cmd->add_option("--indicators", a->indicators_file,
                  "Indicator configuration (JSON; default: the six of config/indicators.json)");
  cmd->add_option("--indicator", a->params.indicators, "Indicator name (repeatable; default: all)");
  cmd->add_option("--level", a->params.level, "nation, region or departement")
      ->capture_default_str();
  cmd->add_option("--place", a->params.places,
                  "INSEE code of a place of --level (repeatable; default: all)");
  cmd->add_option("--age-band", a->params.bands,
                  "0-4, 5-14, 15-64, 65+ or all (repeatable; default: all)");
  cmd->add_option("--period", a->params.period, "week or day")->capture_default_str();
  cmd->add_option("--from", a->params.from, "First period: YYYY-MM-DD or YYYY-Www");
  cmd->add_option("--to", a->params.to, "Last period: YYYY-MM-DD or YYYY-Www");
  cmd->add_option("--algorithm", a->params.algorithm,
                  std::string("Detector (ears-c1/c2/c3, farrington, farrington-flexible, cusum, "
                              "serfling) or none; default ") +
                      surveil::kDefaultAlgorithm);
  for (const std::string& name : surveil::ControlNames()) {
    cmd->add_option("--" + name, a->controls[name],
                    "Detector control, as in p4dp detect (docs/detection.md)");
  }
  cmd->add_flag("--alerts", a->alerts,
                "Print the alert list (runs of alarmed periods) instead of the series rows");
  cmd->add_flag("--current", a->current, "With --alerts: only alerts still on at the last period");
  cmd->add_option("--format", a->format, "csv or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Series evaluated at once (default: one per core)");
  cmd->callback([&run, a, cmd] { run = [a, cmd] { return RunSurveil(*a, *cmd); }; });
}

}  // namespace p4dp::cli
