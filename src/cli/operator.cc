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
// data (synth, detect, sql, init) are not listed.
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
  std::unique_ptr<access::AccessControl> access;
  std::string name;
  std::optional<access::Project> project_row;
  int64_t patients = access::kPatientsUnknown;
  bool patient_list = false;
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

// Opens the access service of `data`, decides, runs or refuses, and audits.
int RunChecked(const std::string& path, const CommandRule& rule, CLI::App* cmd,
               const std::string& data, const std::function<int()>& run, std::string params) {
  State& state = TheState();
  auto key = LoadMasterKey(data, OptionText(cmd, "--key-file"));
  if (!key.ok()) return Fail(path + ": " + key.status().ToString());
  auto control = access::AccessControl::Open(data, *key);
  if (!control.ok()) return Fail(path + ": " + control.status().ToString());
  state.access = std::move(*control);
  access::AccessControl& access = *state.access;
  state.name = NameOfOperator(state.user_option);
  auto principal = access.Operator(state.name);
  if (!principal.ok()) return Fail(path + ": " + principal.status().ToString());
  access::Action action = rule.action;
  if (path == "count" && cmd->count("--patients") > 0) action = access::Action::kCohortPatients;
  access::Grant grant = access.Authorize(action, *principal, state.project);
  access::CallRecord call{
      .action = "p4dp " + path, .params = std::move(params), .origin = "cli", .status = 200};
  auto record = [&]() -> int {
    Status audited = access.Record(*principal, state.name, state.project, call);
    if (audited.ok()) return 0;
    return Fail(path + ": cannot write the audit trail: " + audited.ToString());
  };
  if (!grant.decision.allowed()) {
    call.status = grant.decision.status;
    std::string why = principal->has_value() ? grant.decision.reason
                                             : "no enabled user '" + state.name +
                                                   "' in the access catalog (give --user)";
    std::fprintf(stderr, "p4dp: %s: refused: %s\n", path.c_str(), why.c_str());
    (void)record();
    return kExitRefused;
  }
  state.project_row = grant.project;
  if (rule.audit_at_start) return record() != 0 ? 1 : run();
  int rc = run();
  call.status = StatusOfExit(rc);
  call.patients = state.patients;
  call.patient_list = state.patient_list;
  return record() != 0 ? 1 : rc;
}

}  // namespace

int RunAsOperator(CLI::App& app, const std::function<int()>& run, int argc, char** argv) {
  if (!run) return 2;
  CLI::App* cmd = nullptr;
  std::string path = ChosenCommand(app, cmd);
  auto it = CommandRules().find(path);
  if (it == CommandRules().end()) return run();
  std::string data = OptionText(cmd, "DATA");
  std::error_code ec;
  // Nothing to guard where there is no data folder (the command reports it), nor for a
  // server without a warehouse (it serves only its health route).
  if (data.empty() || !std::filesystem::is_directory(data, ec)) return run();
  if (path == "serve" && !std::filesystem::exists(data + "/catalog.db", ec)) return run();
  // The parameters are hashed, never kept: passwords are read from stdin, not argv.
  std::string params;
  for (int i = 1; i < argc; ++i) params += std::string(argv[i]) + '\0';
  return RunChecked(path, it->second, cmd, data, run, std::move(params));
}

access::AccessControl* OperatorAccess() { return TheState().access.get(); }

const std::string& OperatorName() { return TheState().name; }

const access::Project* OperatorProject() {
  const State& s = TheState();
  return s.project_row ? &*s.project_row : nullptr;
}

void NoteAuditPatients(int64_t patients, bool patient_list) {
  TheState().patients = patients;
  TheState().patient_list = patient_list;
}

}  // namespace p4dp::cli
