// `p4dp serve DATA`: serves the HTTP API and the web page for the warehouse in DATA until
// SIGTERM or SIGINT, then stops gracefully and exits 0. Every /api route but health and
// login needs a session of a user of DATA's access catalog (server/access_routes.h). Wiring only:
// the server layer does the work. The signals are blocked in every thread and taken by one waiting
// thread.
#include <CLI/CLI.hpp>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/file_system.h"
#include "cli/commands.h"
#include "cli/operator.h"
#include "cli/warehouse_access.h"
#include "query/code_labels.h"
#include "server/access_routes.h"
#include "server/admin_routes.h"
#include "server/dashboard_routes.h"
#include "server/http_server.h"
#include "server/surveillance_routes.h"
#include "server/warehouse_routes.h"
#include "surveil/indicators.h"
#include "surveil/series.h"
#include "synth/catalogue.h"

namespace p4dp::cli {
namespace {

constexpr uint16_t kServePortDefault = 8080;
// The French code lists beside the repository (shared/data/codes), when serve runs from it.
constexpr const char* kCodeListsDefault = "../shared/data/codes";

struct ServeArgs {
  std::string data_dir;
  uint16_t port = kServePortDefault;
  std::string bind_address = "127.0.0.1";
  std::string web_dir;  // empty: $P4DP_WEB_DIR, else the build's web folder
  std::string key_file;
  std::string source = "default";
  std::string indicators_file;  // empty: the default indicators
  double session_hours = static_cast<double>(access::kSessionSecondsDefault) / 3600;
  int64_t queries_per_hour = access::QueryGuardOptions{}.queries_max;
  int64_t near_identical_per_hour = access::QueryGuardOptions{}.near_identical_max;
  int64_t drafts_per_hour = server::kDraftsPerHourDefault;
  std::string code_lists;  // empty: kCodeListsDefault when present
};

// The labels of the code search: the French code lists (CIM-10, CCAM) of --code-lists, then
// the displays of the codes the synthetic catalogue generates (CISP-2, ATC, LOINC, ...).
Result<std::unique_ptr<query::CodeLabels>> LoadLabels(const ServeArgs& args) {
  auto labels = std::make_unique<query::CodeLabels>();
  std::string dir = args.code_lists;
  std::error_code ec;
  if (dir.empty() && std::filesystem::is_directory(kCodeListsDefault, ec)) dir = kCodeListsDefault;
  if (!dir.empty()) {
    if (!std::filesystem::is_directory(dir, ec)) {
      return Status::InvalidArgument("--code-lists: '" + dir + "' is not a folder");
    }
    P4DP_TRY(labels->LoadCodeLists(dir));
  }
  auto add = [&labels](const synth::Coding& c) {
    if (auto system = domain::CodeSystemFromName(c.system_uri)) {
      labels->Add(*system, c.code, c.display);
    }
  };
  auto add_drug = [&add](std::string_view key) {
    if (key.empty()) return;
    add(synth::FindDrug(key).atc);
    add(synth::FindDrug(key).cip13);
  };
  for (const synth::ConditionInfo& c : synth::Conditions()) {
    add(c.icpc2);
    add(c.icd10);
    for (std::string_view drug : c.drugs) add_drug(drug);
  }
  for (const synth::IndicatorInfo& i : synth::Indicators()) {
    add(i.icpc2);
    add(i.icd10);
    add_drug(i.drug);
  }
  for (const synth::RoutineReason& r : synth::RoutineReasons()) {
    add(r.icpc2);
    add(r.icd10);
    add_drug(r.drug);
  }
  const synth::Labs& labs = synth::LabCodes();
  for (const synth::Lab* lab :
       {&labs.hba1c, &labs.ldl, &labs.creatinine, &labs.egfr, &labs.systolic, &labs.diastolic,
        &labs.bp_panel, &labs.weight, &labs.bmi}) {
    add(lab->loinc);
  }
  add(synth::ProcedureCodes().ecg);
  add(synth::ProcedureCodes().cervical_smear);
  add(synth::FluVaccine().atc);
  add(synth::FluVaccine().cvx);
  add(synth::FluVaccine().cip13);
  return labels;
}

std::string WebDir(const ServeArgs& args) {
  if (!args.web_dir.empty()) return args.web_dir;
  if (const char* env = std::getenv("P4DP_WEB_DIR"); env != nullptr && *env != '\0') return env;
  return P4DP_DEFAULT_WEB_DIR;
}

// Creates the warehouse folder if it is missing (later issues open the store there).
Status PrepareDataDir(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument("data folder '" + path + "' is not a folder");
  }
  return RealFileSystem().CreateDirectories(path);
}

// Runs `server` until one of `signals` (blocked in every thread) arrives or Run() fails.
Status RunUntilSignal(server::HttpServer& server, const sigset_t& signals) {
  std::atomic<bool> signalled{false};
  std::thread waiter([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    signalled = true;
    server.Stop();
  });
  Status status = server.Run();
  // Run() failed without a signal: wake the waiter with a signal meant for it alone.
  if (!signalled) pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return status;
}

std::string Url(const std::string& address, uint16_t port) {
  std::string host = address.find(':') == std::string::npos ? address : "[" + address + "]";
  return "http://" + host + ":" + std::to_string(port) + "/";
}

int Serve(const ServeArgs& args) {
  if (Status s = PrepareDataDir(args.data_dir); !s.ok()) return Fail(s.ToString());
  std::string web_dir = WebDir(args);
  std::error_code ec;
  if (!std::filesystem::is_directory(web_dir, ec)) {
    return Fail("web folder '" + web_dir + "' not found: pass --web DIR or set P4DP_WEB_DIR");
  }
  // Blocked before the server starts its threads, so that they all inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  std::vector<surveil::Indicator> indicators = surveil::DefaultIndicators();
  if (!args.indicators_file.empty()) {
    auto loaded = surveil::LoadIndicators(args.indicators_file);
    if (!loaded.ok()) {
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return Fail(loaded.status().message());
    }
    indicators = std::move(*loaded);
  }
  surveil::SeriesStore series(std::move(indicators));
  auto labels = LoadLabels(args);
  if (!labels.ok()) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return Fail(labels.status().ToString());
  }
  server::Router router;
  server::AddHealthRoute(router, P4DP_VERSION);
  // A data folder holding a warehouse is opened (with its key) and its routes served.
  std::unique_ptr<store::Warehouse> warehouse;
  if (std::filesystem::exists(args.data_dir + "/catalog.db")) {
    auto opened = OpenWarehouse(args.data_dir, args.key_file);
    if (!opened.ok()) {
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return Fail(opened.status().ToString());
    }
    warehouse = std::move(*opened);
    // The indicator series: built from the index now, then fed every committed batch.
    warehouse->SetCommitObserver([&series](const store::Batch& b) { series.NoteBatch(b); });
    // An objection or a purge rebuilds the index: the series are rebuilt at the next request.
    warehouse->SetReloadObserver([&series] { series.Invalidate(); });
    Status built = warehouse->Read([&](const store::Index& index, const store::Catalog& catalog) {
      series.Build(index, catalog);
    });
    if (!built.ok()) {
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return Fail(built.ToString());
    }
    // The operator check opened the access service of this folder (it audited `serve`).
    access::AccessControl* access = OperatorAccess();
    if (access == nullptr) {
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return Fail("the access catalog of " + args.data_dir + " is not open");
    }
    access->set_session_seconds(static_cast<int64_t>(args.session_hours * 3600));
    warehouse->StartBackgroundMerges();
    server::AddAccessRoutes(router, *access);
    server::AddAdminRoutes(router, *access);
    access::QueryGuardOptions guard;
    guard.queries_max = args.queries_per_hour;
    guard.near_identical_max = args.near_identical_per_hour;
    server::AddWarehouseRoutes(router, *warehouse, args.source, *access, guard,
                               args.drafts_per_hour);
    server::AddSurveillanceRoutes(router, *warehouse, series, *access);
    server::AddDashboardRoutes(router, *warehouse, *access, labels->get());
  }
  auto server = server::HttpServer::Create(
      {.bind_address = args.bind_address, .port = args.port, .web_dir = web_dir},
      std::move(router));
  Status status = server.status();
  if (server.ok()) {
    std::printf("p4dp: serving %s on %s\n", args.data_dir.c_str(),
                Url(args.bind_address, (*server)->port()).c_str());
    std::fflush(stdout);
    status = RunUntilSignal(**server, signals);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!status.ok()) return Fail(status.ToString());
  return 0;
}

}  // namespace

void RegisterServe(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* sub = app.add_subcommand(
      "serve", "Serve the HTTP API and the web dashboard of a warehouse until SIGTERM/SIGINT");
  sub->add_option("DATA", args->data_dir, "The warehouse folder (created if missing)")->required();
  sub->add_option("--port", args->port, "The TCP port; 0 picks a free one")->capture_default_str();
  sub->add_option("--bind", args->bind_address, "The IP address to listen on")
      ->capture_default_str();
  sub->add_option("--web", args->web_dir,
                  "The folder of the web page (default: $P4DP_WEB_DIR, else the built one)");
  AddKeyFileOption(sub, args->key_file);
  sub->add_option("--source", args->source,
                  "Source name given to records POSTed to "
                  "/api/ingest")
      ->capture_default_str();
  sub->add_option("--indicators", args->indicators_file,
                  "Surveillance indicators (JSON; default: the six of config/indicators.json)");
  sub->add_option("--session-hours", args->session_hours, "Lifetime of a login session (hours)")
      ->check(CLI::Range(0.01, 24.0 * 30))
      ->capture_default_str();
  sub->add_option("--queries-per-hour", args->queries_per_hour,
                  "Cohort counts a user may run in one project per hour (then 429)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}))
      ->capture_default_str();
  sub->add_option("--near-identical-per-hour", args->near_identical_per_hour,
                  "Counts a user may run in one project per hour that differ from another by "
                  "one criterion (differencing guard; then 429)")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}))
      ->capture_default_str();
  sub->add_option("--drafts-per-hour", args->drafts_per_hour,
                  "Draft (approximate) counts a user may run in one project per hour (then 429)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}))
      ->capture_default_str();
  sub->add_option("--code-lists", args->code_lists,
                  "Folder of the French code lists (cim10/IR_CIM_V.csv, ccam/IR_CCAM_V63.csv) "
                  "whose labels the code search matches (default: ../shared/data/codes when "
                  "present)");
  sub->callback([args, &run] { run = [args] { return Serve(*args); }; });
}

}  // namespace p4dp::cli
