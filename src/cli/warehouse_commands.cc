// `p4dp init`, `ingest`, `stats`, `verify` and `quarantine`: wiring of the warehouse
// commands (the work is in store/ and ingest/); the rights, backup and key commands are in
// rights_commands.cc.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/file_system.h"
#include "cli/commands.h"
#include "cli/rights_commands.h"
#include "cli/warehouse_access.h"
#include "crypto/keys.h"
#include "ingest/pipeline.h"
#include "store/warehouse.h"

namespace p4dp::cli {

std::string DefaultKeyFile(const std::string& data_dir) {
  std::string dir = data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + ".key";
}

Result<crypto::Key> LoadMasterKey(const std::string& data_dir, const std::string& key_file) {
  if (!key_file.empty()) return crypto::ReadKeyFile(key_file);
  auto env = crypto::KeyFromEnvironment();
  if (env.ok() || env.status().code() != StatusCode::kNotFound) return env;
  std::string fallback = DefaultKeyFile(data_dir);
  if (RealFileSystem().Exists(fallback)) return crypto::ReadKeyFile(fallback);
  return Status::NotFound("no master key: give --key-file, set " +
                          std::string(crypto::kMasterKeyEnvironmentVariable) + ", or keep it in " +
                          fallback);
}

Result<std::unique_ptr<store::Warehouse>> OpenWarehouse(const std::string& data_dir,
                                                        const std::string& key_file) {
  auto key = P4DP_TRY(LoadMasterKey(data_dir, key_file));
  return store::Warehouse::Open(RealFileSystem(), data_dir, key);
}

void AddKeyFileOption(CLI::App* cmd, std::string& key_file) {
  cmd->add_option("--key-file", key_file,
                  "Master key file (mode 0600); default: $P4DP_MASTER_KEY, else DATA.key");
}

Result<std::vector<std::string>> QuarantinedRecords(store::Warehouse& warehouse, int64_t limit) {
  return ingest::ReadQuarantine(warehouse, limit);
}

namespace {

struct CommonArgs {
  std::string data;
  std::string key_file;
};

void AddCommon(CLI::App* cmd, CommonArgs& args) {
  cmd->add_option("DATA", args.data, "The warehouse folder")->required();
  AddKeyFileOption(cmd, args.key_file);
}

int RunInit(const CommonArgs& args) {
  std::string key_file = args.key_file;
  crypto::Key key;
  auto env = crypto::KeyFromEnvironment();
  if (key_file.empty() && env.ok()) {
    key = *env;
  } else {
    if (key_file.empty()) key_file = DefaultKeyFile(args.data);
    if (!RealFileSystem().Exists(key_file)) {
      Status s = crypto::WriteNewKeyFile(key_file);
      if (!s.ok()) return Fail("init: " + s.ToString());
      std::fprintf(stderr, "p4dp: new master key written to %s (keep it safe, outside DATA)\n",
                   key_file.c_str());
    }
    auto read = crypto::ReadKeyFile(key_file);
    if (!read.ok()) return Fail("init: " + read.status().ToString());
    key = *read;
  }
  Status s = store::Warehouse::Init(RealFileSystem(), args.data, key);
  if (!s.ok()) return Fail("init: " + s.ToString());
  std::printf("{\"warehouse\":\"%s\",\"created\":true}\n", args.data.c_str());
  return 0;
}

int RunIngest(const CommonArgs& args, const std::vector<std::string>& paths,
              const std::string& source, bool quiet, int64_t batch_resources) {
  auto warehouse = OpenWarehouse(args.data, args.key_file);
  if (!warehouse.ok()) return Fail("ingest: " + warehouse.status().ToString());
  ingest::IngestOptions options;
  options.source = source;
  options.today = SystemClock().Today();
  options.batch_resources_max = batch_resources;
  if (!quiet) {
    int64_t start = SystemClock().MonotonicMicros();
    options.on_progress = [start](const ingest::IngestProgress& p) {
      double s = static_cast<double>(SystemClock().MonotonicMicros() - start) / 1e6;
      std::fprintf(stderr, "ingest: %lld records, %.1f MB, %.0f records/s, %s\n",
                   static_cast<long long>(p.records), static_cast<double>(p.bytes) / 1e6,
                   s > 0 ? static_cast<double>(p.records) / s : 0.0, p.file.c_str());
    };
  }
  ingest::Ingester ingester(**warehouse, options);
  Status s = ingester.IngestPaths(paths);
  if (!s.ok()) {
    // What was committed before the error stays: say how far it went.
    std::fprintf(stderr, "p4dp: ingest stopped; committed so far: %s\n",
                 ingester.summary().ToJson().c_str());
    return Fail("ingest: " + s.ToString());
  }
  Status merged = (*warehouse)->MaybeMerge();
  if (!merged.ok()) return Fail("ingest: merge: " + merged.ToString());
  std::printf("%s\n", ingester.summary().ToJson().c_str());
  return 0;
}

int RunStats(const CommonArgs& args) {
  auto warehouse = OpenWarehouse(args.data, args.key_file);
  if (!warehouse.ok()) return Fail("stats: " + warehouse.status().ToString());
  auto stats = (*warehouse)->ComputeStats();
  if (!stats.ok()) return Fail("stats: " + stats.status().ToString());
  std::printf("%s\n", ingest::StatsToJson(*stats, 2).c_str());
  return 0;
}

int RunVerify(const CommonArgs& args) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(args.data, ec)) {
    return RunVerifyBackup(args.data, args.key_file);
  }
  auto warehouse = OpenWarehouse(args.data, args.key_file);
  if (!warehouse.ok()) return Fail("verify: " + warehouse.status().ToString());
  auto problems = (*warehouse)->Verify();
  if (!problems.ok()) return Fail("verify: " + problems.status().ToString());
  for (const std::string& p : *problems) std::printf("corrupt: %s\n", p.c_str());
  if (!problems->empty()) return Fail("verify: " + std::to_string(problems->size()) + " problems");
  std::printf("verify: every block of every segment is intact\n");
  return 0;
}

int RunQuarantine(const CommonArgs& args, int64_t show) {
  auto warehouse = OpenWarehouse(args.data, args.key_file);
  if (!warehouse.ok()) return Fail("quarantine: " + warehouse.status().ToString());
  auto stats = (*warehouse)->ComputeStats();
  if (!stats.ok()) return Fail("quarantine: " + stats.status().ToString());
  nlohmann::ordered_json j;
  j["quarantined_by_reason"] = stats->quarantined_by_reason;
  int64_t total = 0;
  for (const auto& [reason, n] : stats->quarantined_by_reason) total += n;
  j["total"] = total;
  if (show > 0) {
    auto records = QuarantinedRecords(**warehouse, show);
    if (!records.ok()) return Fail("quarantine: " + records.status().ToString());
    j["records"] = nlohmann::json::array();
    for (const std::string& r : *records) j["records"].push_back(nlohmann::ordered_json::parse(r));
  }
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

}  // namespace

void RegisterWarehouseCommands(CLI::App& app, RunFn& run) {
  {
    auto args = std::make_shared<CommonArgs>();
    CLI::App* cmd = app.add_subcommand("init", "Create a new, empty, encrypted warehouse");
    AddCommon(cmd, *args);
    cmd->callback([&run, args] { run = [args] { return RunInit(*args); }; });
  }
  {
    auto args = std::make_shared<CommonArgs>();
    auto paths = std::make_shared<std::vector<std::string>>();
    auto source = std::make_shared<std::string>("default");
    auto quiet = std::make_shared<bool>(false);
    auto batch = std::make_shared<int64_t>(ingest::kIngestBatchResourcesMax);
    CLI::App* cmd = app.add_subcommand(
        "ingest", "Ingest FHIR R4 NDJSON (.ndjson, .gz, .zst), Bundles and folders of them");
    AddCommon(cmd, *args);
    cmd->add_option("PATH", *paths, "Files or folders to ingest")->required();
    cmd->add_option("--source", *source, "Name of the sending source (practice, network)")
        ->capture_default_str();
    cmd->add_flag("--quiet", *quiet, "No progress lines on stderr");
    cmd->add_option("--batch-resources", *batch,
                    "Resources per published batch (one segment and one transaction each)")
        ->check(CLI::Range(int64_t{1}, ingest::kIngestBatchResourcesMax))
        ->capture_default_str();
    cmd->callback([&run, args, paths, source, quiet, batch] {
      run = [=] { return RunIngest(*args, *paths, *source, *quiet, *batch); };
    });
  }
  {
    auto args = std::make_shared<CommonArgs>();
    CLI::App* cmd = app.add_subcommand("stats", "Patients, events by domain and source, size");
    AddCommon(cmd, *args);
    cmd->callback([&run, args] { run = [args] { return RunStats(*args); }; });
  }
  {
    auto args = std::make_shared<CommonArgs>();
    CLI::App* cmd = app.add_subcommand(
        "verify", "Check every block of every segment (DATA), or every record of a backup (FILE)");
    AddCommon(cmd, *args);
    cmd->callback([&run, args] { run = [args] { return RunVerify(*args); }; });
  }
  {
    auto args = std::make_shared<CommonArgs>();
    auto show = std::make_shared<int64_t>(0);
    CLI::App* cmd =
        app.add_subcommand("quarantine", "Quarantined records: counts by reason, and details");
    AddCommon(cmd, *args);
    cmd->add_option("--show", *show,
                    "Also decrypt and print this many records (file, line, "
                    "resource id, reason, stripped resource)");
    cmd->callback([&run, args, show] { run = [=] { return RunQuarantine(*args, *show); }; });
  }
  RegisterRightsCommands(app, run);
}

}  // namespace p4dp::cli
