#include "cli/operator.h"

#include <pwd.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/warehouse_access.h"

namespace p4dp::cli {
namespace {

// The guarded commands and the action each asks for. Commands that read no warehouse
// data (synth, detect, init) are not listed.
struct CommandRule {
  access::Action action;
  bool audit_at_start = false;  // long-running: audited when it starts
};

const std::map<std::string, CommandRule>& CommandRules() {
  using access::Action;
  static const auto* rules = new std::map<std::string, CommandRule>{
      {"ingest", {Action::kIngest}},
      {"stats", {Action::kStats}},
      {"count", {Action::kCohortCount}},  // kCohortPatients with --patients
      {"export events", {Action::kExportEvents}},
      // The SQL runs on the tables of `export events` (every patient, no perimeter): it is
      // the export's right, checked when a warehouse is named.
      {"sql", {Action::kExportEvents}},
      {"quarantine", {Action::kQuarantine}},
      {"verify", {Action::kVerifyStore}},
      {"surveil", {Action::kSurveillance}},
      {"serve", {Action::kServe, true}},
      {"user add", {Action::kManageUsers}},
      {"user disable", {Action::kManageUsers}},
      {"user reset-password", {Action::kManageUsers}},
      {"user list", {Action::kListUsers}},
      {"project create", {Action::kManageProjects}},
      {"project add-member", {Action::kManageProjects}},
      {"project close", {Action::kManageProjects}},
      {"project list", {Action::kListProjects}},
      {"audit verify", {Action::kAuditVerify}},
      {"audit show", {Action::kAuditShow}},
      {"audit purge", {Action::kAuditPurge}},
      {"incident list", {Action::kIncidentList}},
      {"incident ack", {Action::kIncidentAck}},
      // The rights issue's commands, guarded here once they are registered.
      {"optout", {Action::kOptOut}},
      {"backup", {Action::kBackup}},
      {"restore", {Action::kBackup}},
      {"keys rotate", {Action::kBackup}},
      {"purge", {Action::kOptOut}},  // retention purge: erased the way objections are
  };
  return *rules;
}

struct State {
  std::string user_option;
  std::string project;
  std::string warehouse;  // `verify FILE --warehouse DATA`
  std::optional<access::Principal> principal;
  access::Decision decision;
  std::string path;      // of the command
  bool restore = false;  // `restore`: the check runs once the files are written
  std::unique_ptr<access::AccessControl> access;
  std::string name;
  std::optional<access::Project> project_row;
  int64_t patients = access::kPatientsUnknown;
  bool patient_list = false;
  int status = 0;  // NoteAuditStatus; 0: from the exit status
};

State& TheState() {
  static State* state = new State();
  return *state;
}

// Every leaf subcommand of `app` with its path ("export events").
void Leaves(CLI::App* app, const std::string& prefix,
            std::vector<std::pair<std::string, CLI::App*>>& out) {
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    std::string path = prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name();
    out.emplace_back(path, sub);
    Leaves(sub, path, out);
  }
}

std::string OsLoginName() {
  if (const struct passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name) {
    return pw->pw_name;
  }
  return "unknown";
}

std::string OptionText(CLI::App* cmd, const std::string& name) {
  CLI::Option* opt = cmd->get_option_no_throw(name);
  if (opt == nullptr || opt->count() == 0) return "";
  return opt->as<std::string>();
}

int StatusOfExit(int rc) {
  if (rc == 0) return 200;
  if (rc == 2) return 400;
  if (rc == kExitRefused) return 403;
  return 500;
}

}  // namespace

void AddOperatorOptions(CLI::App& app) {
  std::vector<std::pair<std::string, CLI::App*>> leaves;
  Leaves(&app, "", leaves);
  State& state = TheState();
  for (auto& [path, cmd] : leaves) {
    auto it = CommandRules().find(path);
    if (it == CommandRules().end()) continue;
    cmd->add_option("--user", state.user_option,
                    "Run as this user of the access catalog (default: $P4DP_USER, else the "
                    "login name)");
    const access::ActionRule& rule = access::RuleOf(it->second.action);
    if (rule.needs_project || path == "count") {
      cmd->add_option("--project", state.project, "The project this query runs in");
    }
    if (path == "verify") {
      cmd->add_option("--warehouse", state.warehouse,
                      "With a backup FILE: the warehouse whose access catalog checks the "
                      "operator and whose audit trail records the verification");
    }
  }
}

namespace {

// The path of the chosen leaf subcommand ("export events"); `cmd` is set to it.
std::string ChosenCommand(CLI::App& app, CLI::App*& cmd) {
  cmd = &app;
  std::string path;
  while (!cmd->get_subcommands().empty()) {
    cmd = cmd->get_subcommands().front();
    path += (path.empty() ? "" : " ") + cmd->get_name();
  }
  return path;
}

std::string NameOfOperator(const std::string& option) {
  if (!option.empty()) return option;
  const char* env = std::getenv("P4DP_USER");
  return env != nullptr && *env != '\0' ? env : OsLoginName();
}

// Opens the access service of `data` with `key` and decides `action` for the operator:
// 0 allowed, kExitRefused (said on stderr) refused, 1 when the service cannot be opened.
int Decide(const std::string& path, access::Action action, const std::string& data,
           const crypto::Key& key) {
  State& state = TheState();
  auto control = access::AccessControl::Open(data, key);
  if (!control.ok()) return Fail(path + ": " + control.status().ToString());
  state.access = std::move(*control);
  state.name = NameOfOperator(state.user_option);
  auto principal = state.access->Operator(state.name);
  if (!principal.ok()) {
    state.access.reset();
    return Fail(path + ": " + principal.status().ToString());
  }
  state.principal = *principal;
  access::Grant grant = state.access->Authorize(action, state.principal, state.project);
  state.decision = grant.decision;
  if (!grant.decision.allowed()) {
    std::string why = state.principal.has_value() ? grant.decision.reason
                                                  : "no enabled user '" + state.name +
                                                        "' in the access catalog (give --user)";
    std::fprintf(stderr, "p4dp: %s: refused: %s\n", path.c_str(), why.c_str());
    return kExitRefused;
  }
  state.project_row = grant.project;
  return 0;
}

// Appends the command's one audit entry: the refusal, or the outcome of exit status `rc`.
// Returns 0, or 1 (said) when the entry cannot be written.
int Record(const std::string& path, int rc, std::string params) {
  State& state = TheState();
  access::CallRecord call{.action = "p4dp " + path,
                          .params = std::move(params),
                          .origin = "cli",
                          .status = !state.decision.allowed() ? state.decision.status
                                    : state.status != 0       ? state.status
                                                              : StatusOfExit(rc),
                          .patients = state.patients,
                          .patient_list = state.patient_list};
  Status audited = state.access->Record(state.principal, state.name, state.project, call);
  if (audited.ok()) return 0;
  return Fail(path + ": cannot write the audit trail: " + audited.ToString());
}

// Opens the access service of `data`, decides, runs or refuses, and audits.
int RunChecked(const std::string& path, const CommandRule& rule, CLI::App* cmd,
               const std::string& data, const std::function<int()>& run, std::string params) {
  auto key = LoadMasterKey(data, OptionText(cmd, "--key-file"));
  if (!key.ok()) return Fail(path + ": " + key.status().ToString());
  access::Action action = rule.action;
  if (path == "count" && cmd->count("--patients") > 0) action = access::Action::kCohortPatients;
  int decided = Decide(path, action, data, *key);
  if (decided == 1) return 1;
  if (decided == kExitRefused) {
    (void)Record(path, kExitRefused, std::move(params));
    return kExitRefused;
  }
  if (rule.audit_at_start) return Record(path, 0, std::move(params)) != 0 ? 1 : run();
  int rc = run();
  return Record(path, rc, std::move(params)) != 0 ? 1 : rc;
}

// `restore FILE DATA`: there is no access catalog before the backup's files are written, so
// the command calls CheckRestoredOperator once they are, and the entry goes into the
// restored trail. Nothing is audited when no file was written (the backup did not verify,
// or the folder was not empty): there is no trail of that warehouse to write to.
int RunRestoreChecked(const std::function<int()>& run, std::string params) {
  State& state = TheState();
  state.restore = true;
  int rc = run();
  if (!state.access) return rc;
  return Record(state.path, rc, std::move(params)) != 0 ? 1 : rc;
}

}  // namespace

int RunAsOperator(CLI::App& app, const std::function<int()>& run, int argc, char** argv) {
  if (!run) return 2;
  CLI::App* cmd = nullptr;
  std::string path = ChosenCommand(app, cmd);
  auto it = CommandRules().find(path);
  if (it == CommandRules().end()) return run();
  TheState().path = path;
  std::string data = OptionText(cmd, "DATA");
  std::error_code ec;
  // The parameters are hashed, never kept: passwords are read from stdin, not argv.
  std::string params;
  for (int i = 1; i < argc; ++i) params += std::string(argv[i]) + '\0';
  if (path == "restore") return RunRestoreChecked(run, std::move(params));
  if (path == "verify" && std::filesystem::is_regular_file(data, ec)) {
    // A backup file has no trail of its own that could take an entry: the warehouse it
    // belongs to checks the operator and records the verification.
    data = TheState().warehouse;
    if (data.empty() || !std::filesystem::is_directory(data, ec)) {
      std::fprintf(stderr,
                   "p4dp: verify: a backup FILE is verified with --warehouse DATA (the "
                   "warehouse whose access catalog and audit trail check and record it)\n");
      return 2;
    }
    return RunChecked(path, it->second, cmd, data, run, std::move(params));
  }
  // Nothing to guard where there is no data folder (the command reports it), nor for a
  // server without a warehouse (it serves only its health route).
  if (data.empty() || !std::filesystem::is_directory(data, ec)) return run();
  if (path == "serve" && !std::filesystem::exists(data + "/catalog.db", ec)) return run();
  return RunChecked(path, it->second, cmd, data, run, std::move(params));
}

access::AccessControl* OperatorAccess() { return TheState().access.get(); }

const std::string& OperatorName() { return TheState().name; }

const access::Project* OperatorProject() {
  const State& s = TheState();
  return s.project_row ? &*s.project_row : nullptr;
}

int CheckRestoredOperator(const std::string& data, const crypto::Key& key) {
  State& state = TheState();
  if (!state.restore) return 0;  // not run through RunAsOperator (tests)
  return Decide(state.path, CommandRules().at("restore").action, data, key);
}

void NoteAuditStatus(int status) { TheState().status = status; }

void NoteAuditPatients(int64_t patients, bool patient_list) {
  TheState().patients = patients;
  TheState().patient_list = patient_list;
}

}  // namespace p4dp::cli
