// `p4dp count`, `p4dp sql` and `p4dp export events`: wiring of the cohort engine, the SQL
// compiler and the table export (the work is in query/ and export/). `count` and `export`
// run under the operator check (cli/operator.h); `sql` reads no data, and is checked like
// the export it runs on when it names a warehouse.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "access/project_query.h"
#include "cli/commands.h"
#include "cli/operator.h"
#include "cli/warehouse_access.h"
#include "export/tables.h"
#include "query/cohort.h"
#include "query/engine.h"
#include "query/sql.h"

namespace p4dp::cli {
namespace {

struct CountArgs {
  std::string data;
  std::string key_file;
  std::string cohort_file;
  bool patients = false;
  int64_t min_cell = query::kDefaultMinCell;
};

// Reads and parses a definition; on failure prints "p4dp: COMMAND: ..." and returns nothing.
std::optional<query::Cohort> ReadCohort(const std::string& command, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    Fail(command + ": cannot read '" + file + "'");
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto cohort = query::ParseCohort(text.str());
  if (!cohort.ok()) {
    Fail(command + ": " + file + ": " + cohort.status().message());
    return std::nullopt;
  }
  return std::move(*cohort);
}

int RunCount(const CountArgs& args) {
  // The definition is checked before the warehouse is opened: a bad one runs nothing.
  std::optional<query::Cohort> cohort = ReadCohort("count", args.cohort_file);
  if (!cohort) return 1;
  auto warehouse = OpenWarehouse(args.data, args.key_file);
  if (!warehouse.ok()) return Fail("count: " + warehouse.status().ToString());
  // In a project (any operator once the access catalog has users): the project's perimeter
  // and the disclosure rules, with the project's threshold as the least --min-cell.
  if (const access::Project* project = OperatorProject()) {
    // The query guard of the API (rate limit, differencing, counts released before), kept
    // in the access catalog so that it holds from one command to the next.
    access::AccessControl* access = OperatorAccess();
    const access::QueryGuardOptions guard;
    std::vector<int64_t> released;
    if (access != nullptr) {
      Status admitted =
          access->AdmitQuery(OperatorName(), project->id, access::FingerprintOf(*cohort), guard);
      if (admitted.code() == StatusCode::kResourceExhausted) {
        NoteAuditStatus(429);
        std::fprintf(stderr, "p4dp: count: refused: %s\n", admitted.message().c_str());
        return kExitRefused;
      }
      if (!admitted.ok()) return Fail("count: " + admitted.ToString());
      auto before = access->ReleasedCounts(OperatorName(), project->id, guard);
      if (!before.ok()) return Fail("count: " + before.status().ToString());
      released = std::move(*before);
    }
    Result<access::ProjectCount> counted = Status::Internal("not run");
    Status s = (*warehouse)->Read([&](const store::Index& index, const store::Catalog& catalog) {
      counted = access::CountInProject(*cohort, *project, index, catalog,
                                       {.min_cell = args.min_cell,
                                        .with_members = args.patients,
                                        .guard = nullptr,
                                        .user = "",
                                        .released_before = std::move(released)});
    });
    if (!s.ok()) return Fail("count: " + s.ToString());
    if (!counted.ok()) return Fail("count: " + counted.status().message());
    if (access != nullptr) {
      Status noted = access->NoteReleased(OperatorName(), project->id, counted->released);
      if (!noted.ok()) return Fail("count: " + noted.ToString());
    }
    NoteAuditPatients(counted->patients, args.patients);
    std::printf("%s\n", counted->json.c_str());
    return 0;
  }
  query::CohortResult result;
  Status s = (*warehouse)->Read([&](const store::Index& index, const store::Catalog& catalog) {
    query::RunOptions options;
    options.with_members = args.patients;
    result = query::RunCohort(*cohort, index, catalog, options);
  });
  if (!s.ok()) return Fail("count: " + s.ToString());
  NoteAuditPatients(result.count, args.patients);
  std::printf("%s\n",
              query::ResultToJson(result, args.min_cell, cohort->title, args.patients).c_str());
  return 0;
}

struct SqlArgs {
  std::string cohort_file;
  std::string data;  // only for the operator check
  bool patients = false;
};

int RunSql(const SqlArgs& args) {
  std::optional<query::Cohort> cohort = ReadCohort("sql", args.cohort_file);
  if (!cohort) return 1;
  auto sql = query::CompileCohortSql(*cohort, {.patients = args.patients});
  if (!sql.ok()) return Fail("sql: " + args.cohort_file + ": " + sql.status().message());
  std::fwrite(sql->data(), 1, sql->size(), stdout);
  return 0;
}

struct ExportArgs {
  std::string data;
  std::string key_file;
  std::string out_dir;
};

int RunExportEvents(const ExportArgs& args) {
  auto warehouse = OpenWarehouse(args.data, args.key_file);
  if (!warehouse.ok()) return Fail("export: " + warehouse.status().ToString());
  Result<exporter::ExportCounts> counts = Status::Internal("not run");
  Status s = (*warehouse)->Read([&](const store::Index& index, const store::Catalog& catalog) {
    counts = exporter::ExportTables(index, catalog, args.out_dir);
  });
  if (!s.ok()) return Fail("export: " + s.ToString());
  if (!counts.ok()) return Fail("export: " + counts.status().ToString());
  std::printf(
      "{\"out\":\"%s\",\"patients\":%lld,\"registrations\":%lld,\"events\":%lld,"
      "\"event_codes\":%lld}\n",
      args.out_dir.c_str(), static_cast<long long>(counts->patients),
      static_cast<long long>(counts->registrations), static_cast<long long>(counts->events),
      static_cast<long long>(counts->event_codes));
  return 0;
}

}  // namespace

void RegisterQueryCommands(CLI::App& app, RunFn& run) {
  {
    auto args = std::make_shared<ExportArgs>();
    CLI::App* exp = app.add_subcommand("export", "Export pseudonymised tables");
    exp->require_subcommand(1);
    CLI::App* cmd = exp->add_subcommand(
        "events",
        "Patients, registrations, events and their codes as CSV (docs/formats/tables.md)");
    cmd->add_option("DATA", args->data, "The warehouse folder")->required();
    cmd->add_option("DIR", args->out_dir, "Folder for the CSV files")->required();
    AddKeyFileOption(cmd, args->key_file);
    cmd->callback([&run, args] { run = [args] { return RunExportEvents(*args); }; });
  }
  auto args = std::make_shared<CountArgs>();
  CLI::App* cmd = app.add_subcommand(
      "count", "Count the patients of a cohort definition, with attrition (JSON out)");
  cmd->add_option("DATA", args->data, "The warehouse folder")->required();
  cmd->add_option("COHORT", args->cohort_file, "Cohort definition (JSON, the cohort language)")
      ->required();
  AddKeyFileOption(cmd, args->key_file);
  cmd->add_flag("--patients", args->patients,
                "Also list the patients (pseudonymous keys) and their index dates");
  cmd->add_option("--min-cell", args->min_cell,
                  "Counts from 1 to this minus 1 are shown as \"<N\" (small-cell rule)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->capture_default_str();
  cmd->callback([&run, args] { run = [args] { return RunCount(*args); }; });

  auto sql_args = std::make_shared<SqlArgs>();
  CLI::App* sql = app.add_subcommand(
      "sql",
      "Compile a cohort definition to one SQL query (PostgreSQL; DuckDB runs it unchanged) "
      "over the tables of `p4dp export events`");
  sql->add_option("COHORT", sql_args->cohort_file, "Cohort definition (JSON, the cohort language)")
      ->required();
  sql->add_option("DATA", sql_args->data,
                  "The warehouse whose exported tables the query is for: its access catalog "
                  "checks the operator (the export holds every patient, so only roles bound to "
                  "no project may have the query; docs/access.md)");
  sql->add_flag("--patients", sql_args->patients,
                "Select the patients (patient_key, index_date) instead of the attrition rows");
  sql->callback([&run, sql_args] { run = [sql_args] { return RunSql(*sql_args); }; });
}

}  // namespace p4dp::cli
