// `p4dp user`, `p4dp project`, `p4dp audit` and `p4dp incident`: wiring of the access
// catalog and the audit trail (the work is in access/). They run under the operator check
// (cli/operator.h), which opens the access service of DATA and audits the command.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "access/audit.h"
#include "access/catalog.h"
#include "access/control.h"
#include "base/date.h"
#include "cli/commands.h"
#include "cli/operator.h"
#include "cli/warehouse_access.h"
#include "crypto/password.h"
#include "crypto/totp.h"
#include "query/cohort.h"

namespace p4dp::cli {
namespace {

using nlohmann::ordered_json;

struct Common {
  std::string data;
  std::string key_file;
};

void AddData(CLI::App* cmd, Common& c) {
  cmd->add_option("DATA", c.data, "The warehouse folder")->required();
  AddKeyFileOption(cmd, c.key_file);
}

// The access service the operator check opened, or an error message.
access::AccessControl* Access(const std::string& command) {
  access::AccessControl* a = OperatorAccess();
  if (a == nullptr) Fail(command + ": the data folder does not exist");
  return a;
}

// One line of JSON, for scripts.
void Print(const ordered_json& j) { std::printf("%s\n", j.dump().c_str()); }

// A password from stdin (one line), or a new random one to show once.
Result<std::string> ReadPassword(bool from_stdin, bool& generated) {
  generated = !from_stdin;
  if (!from_stdin) return crypto::RandomHex(12);
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() < 8) return Status::InvalidArgument("password: at least 8 characters");
  return line;
}

Result<std::optional<Days>> OptionalDate(const std::string& what, const std::string& text) {
  if (text.empty()) return std::optional<Days>();
  auto d = ParseIsoDate(text);
  if (!d.ok()) return Status::InvalidArgument(what + ": not a date (YYYY-MM-DD)");
  return std::optional<Days>(*d);
}

struct UserArgs : Common {
  std::string name;
  std::vector<std::string> roles;
  bool password_stdin = false;
};

int RunUserAdd(const UserArgs& a) {
  access::AccessControl* access = Access("user add");
  if (!access) return 1;
  access::RoleMask roles = 0;
  for (const std::string& r : a.roles) {
    auto role = access::ParseRole(r);
    if (!role) {
      Fail("user add: --role: unknown role '" + r + "' (admin, data_manager, researcher, " +
           "investigator, epidemiologist, auditor)");
      return 2;
    }
    roles |= access::Bit(*role);
  }
  bool generated = false;
  auto password = ReadPassword(a.password_stdin, generated);
  if (!password.ok()) return Fail("user add: " + password.status().message());
  auto secret = access->catalog().AddUser(a.name, roles, *password);
  if (!secret.ok()) return Fail("user add: " + secret.status().message());
  ordered_json j;
  j["user"] = a.name;
  j["roles"] = access::RoleNames(roles);
  if (generated) j["password"] = *password;  // shown once
  if (!secret->empty()) {
    auto uri = crypto::TotpUri("p4dp", a.name, *secret);
    if (!uri.ok()) return Fail("user add: " + uri.status().message());
    j["totp_uri"] = *uri;  // shown once: load it into an authenticator app
  }
  Print(j);
  return 0;
}

int RunUserList(const Common&) {
  access::AccessControl* access = Access("user list");
  if (!access) return 1;
  auto users = access->catalog().ListUsers();
  if (!users.ok()) return Fail("user list: " + users.status().ToString());
  int64_t now_s = access->NowMs() / 1000;
  ordered_json out = ordered_json::array();
  for (const access::User& u : *users) {
    out.push_back({{"user", u.name},
                   {"roles", access::RoleNames(u.roles)},
                   {"enabled", u.enabled},
                   {"totp", u.has_totp},
                   {"locked", u.locked_until_s > now_s}});
  }
  Print(out);
  return 0;
}

int RunUserDisable(const UserArgs& a) {
  access::AccessControl* access = Access("user disable");
  if (!access) return 1;
  Status s = access->catalog().DisableUser(a.name);
  if (!s.ok()) return Fail("user disable: " + s.message());
  Print({{"user", a.name}, {"enabled", false}});
  return 0;
}

int RunUserResetPassword(const UserArgs& a) {
  access::AccessControl* access = Access("user reset-password");
  if (!access) return 1;
  bool generated = false;
  auto password = ReadPassword(a.password_stdin, generated);
  if (!password.ok()) return Fail("user reset-password: " + password.status().message());
  Status s = access->catalog().SetPassword(a.name, *password);
  if (!s.ok()) return Fail("user reset-password: " + s.message());
  ordered_json j{{"user", a.name}, {"unlocked", true}};
  if (generated) j["password"] = *password;
  Print(j);
  return 0;
}

struct ProjectArgs : Common {
  access::Project project;
  std::string end, from, to, disclosure = "aggregate", population_file, member;
};

int RunProjectCreate(ProjectArgs& a) {
  access::AccessControl* access = Access("project create");
  if (!access) return 1;
  access::Project& p = a.project;
  auto disclosure = access::ParseDisclosure(a.disclosure);
  if (!disclosure) {
    Fail("project create: --disclosure: aggregate or patient_list");
    return 2;
  }
  p.disclosure = *disclosure;
  for (auto [what, text, out] :
       {std::tuple{"--end", &a.end, &p.end}, std::tuple{"--from", &a.from, &p.from},
        std::tuple{"--to", &a.to, &p.to}}) {
    auto d = OptionalDate(what, *text);
    if (!d.ok()) {
      Fail("project create: " + d.status().message());
      return 2;
    }
    *out = *d;
  }
  if (!a.population_file.empty()) {
    std::ifstream in(a.population_file, std::ios::binary);
    if (!in) return Fail("project create: cannot read '" + a.population_file + "'");
    std::stringstream text;
    text << in.rdbuf();
    p.population = text.str();
    // Checked now, so that a project never holds a population its queries cannot run.
    auto cohort = query::ParseCohort(p.population);
    if (!cohort.ok()) {
      return Fail("project create: --population: " + a.population_file + ": " +
                  cohort.status().message());
    }
  }
  Status s = access->catalog().CreateProject(p);
  if (!s.ok()) return Fail("project create: " + s.message());
  Print({{"project", p.id}, {"created", true}});
  return 0;
}

int RunProjectList(const Common&) {
  access::AccessControl* access = Access("project list");
  if (!access) return 1;
  auto projects = access->catalog().ListProjects();
  if (!projects.ok()) return Fail("project list: " + projects.status().ToString());
  ordered_json out = ordered_json::array();
  for (const access::Project& p : *projects) {
    out.push_back(ordered_json::parse(access::ProjectToJson(p, access->Today())));
  }
  Print(out);
  return 0;
}

int RunProjectAddMember(const ProjectArgs& a) {
  access::AccessControl* access = Access("project add-member");
  if (!access) return 1;
  Status s = access->catalog().AddMember(a.project.id, a.member);
  if (!s.ok()) return Fail("project add-member: " + s.message());
  Print({{"project", a.project.id}, {"member", a.member}});
  return 0;
}

int RunProjectClose(const ProjectArgs& a) {
  access::AccessControl* access = Access("project close");
  if (!access) return 1;
  Status s = access->catalog().CloseProject(a.project.id);
  if (!s.ok()) return Fail("project close: " + s.message());
  Print({{"project", a.project.id}, {"closed", true}});
  return 0;
}

int RunAuditVerify(const Common&) {
  access::AccessControl* access = Access("audit verify");
  if (!access) return 1;
  auto verdict = access->audit().Verify();
  if (!verdict.ok()) return Fail("audit verify: " + verdict.status().ToString());
  if (!verdict->ok) return Fail(verdict->message);
  std::printf("%s\n", verdict->message.c_str());
  return 0;
}

struct AuditArgs : Common {
  std::string user, project, from, to, before;
  int64_t limit = 1000;
  int64_t retention_days = access::kAuditRetentionDaysDefault;
};

int RunAuditShow(const AuditArgs& a) {
  access::AccessControl* access = Access("audit show");
  if (!access) return 1;
  access::AuditFilter f{.user = a.user, .project = a.project, .limit = a.limit};
  for (auto [what, text, out] :
       {std::tuple{"--from", &a.from, &f.from_ms}, std::tuple{"--to", &a.to, &f.to_ms}}) {
    auto d = OptionalDate(what, *text);
    if (!d.ok()) {
      Fail("audit show: " + d.status().message());
      return 2;
    }
    // --to is inclusive of its day.
    if (*d) *out = (int64_t{**d} + (out == &f.to_ms ? 1 : 0)) * 86'400'000;
  }
  auto entries = access->audit().Show(f);
  if (!entries.ok()) return Fail("audit show: " + entries.status().ToString());
  for (const access::AuditEntry& e : *entries) {
    ordered_json j{{"seq", e.seq},
                   {"time", FormatIsoTimeMs(e.time_ms)},
                   {"user", e.user},
                   {"roles", e.roles},
                   {"project", e.project},
                   {"action", e.action},
                   {"params_hash", e.params_hash}};
    j["patients"] = e.patients >= 0 ? ordered_json(e.patients) : ordered_json(nullptr);
    j["origin"] = e.origin;
    j["status"] = e.status;
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

int RunAuditPurge(const AuditArgs& a) {
  access::AccessControl* access = Access("audit purge");
  if (!access) return 1;
  int64_t before_ms = (int64_t{access->Today()} - a.retention_days) * 86'400'000;
  if (!a.before.empty()) {
    auto d = ParseIsoDate(a.before);
    if (!d.ok()) {
      Fail("audit purge: --before: not a date (YYYY-MM-DD)");
      return 2;
    }
    before_ms = int64_t{*d} * 86'400'000;
  }
  auto removed = access->audit().Purge(before_ms);
  if (!removed.ok()) return Fail("audit purge: " + removed.status().ToString());
  Print({{"purged", *removed}, {"before", FormatIsoTimeMs(before_ms)}});
  return 0;
}

int RunIncidentList(const Common&, bool all) {
  access::AccessControl* access = Access("incident list");
  if (!access) return 1;
  auto incidents = access->catalog().ListIncidents(all);
  if (!incidents.ok()) return Fail("incident list: " + incidents.status().ToString());
  ordered_json out = ordered_json::array();
  for (const access::Incident& i : *incidents) {
    ordered_json j{{"id", i.id},           {"time", FormatIsoTimeMs(i.time_ms)},
                   {"kind", i.kind},       {"user", i.user},
                   {"project", i.project}, {"detail", i.detail}};
    if (i.acknowledged_ms != 0) {
      j["acknowledged_by"] = i.acknowledged_by;
      j["acknowledged"] = FormatIsoTimeMs(i.acknowledged_ms);
    }
    out.push_back(j);
  }
  Print(out);
  return 0;
}

int RunIncidentAck(const Common&, int64_t id) {
  access::AccessControl* access = Access("incident ack");
  if (!access) return 1;
  Status s = access->catalog().AcknowledgeIncident(id, OperatorName(), access->NowMs());
  if (!s.ok()) return Fail("incident ack: " + s.message());
  Print({{"incident", id}, {"acknowledged_by", OperatorName()}});
  return 0;
}

template <typename Args, typename Fn>
void Leaf(CLI::App* parent, RunFn& run, const char* name, const char* help,
          std::shared_ptr<Args> args, Fn fn, CLI::App** out = nullptr) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  AddData(cmd, *args);
  cmd->callback([&run, args, fn] { run = [args, fn] { return fn(*args); }; });
  if (out) *out = cmd;
}

void RegisterUser(CLI::App& app, RunFn& run) {
  CLI::App* user = app.add_subcommand("user", "Users of the access catalog (admin)");
  user->require_subcommand(1);
  auto a = std::make_shared<UserArgs>();
  CLI::App* cmd = nullptr;
  Leaf(user, run, "add",
       "Add a user; prints a generated password (unless --password-stdin) and, for admin, "
       "data_manager and auditor, the TOTP otpauth:// URI, once",
       a, RunUserAdd, &cmd);
  cmd->add_option("NAME", a->name, "User name (a-z 0-9 . _ -)")->required();
  cmd->add_option("--role", a->roles, "Role (repeatable)")->required();
  cmd->add_flag("--password-stdin", a->password_stdin, "Read the password from stdin");
  Leaf(user, run, "list", "List the users", a, RunUserList);
  Leaf(user, run, "disable", "Disable a user and end their sessions", a, RunUserDisable, &cmd);
  cmd->add_option("NAME", a->name, "User name")->required();
  Leaf(user, run, "reset-password", "Set a new password and lift a lock-out", a,
       RunUserResetPassword, &cmd);
  cmd->add_option("NAME", a->name, "User name")->required();
  cmd->add_flag("--password-stdin", a->password_stdin, "Read the password from stdin");
}

void RegisterProject(CLI::App& app, RunFn& run) {
  CLI::App* project = app.add_subcommand("project", "Projects and their members (admin)");
  project->require_subcommand(1);
  auto a = std::make_shared<ProjectArgs>();
  CLI::App* cmd = nullptr;
  Leaf(project, run, "create", "Create a project", a, RunProjectCreate, &cmd);
  cmd->add_option("ID", a->project.id, "Project id (a-z 0-9 . _ -)")->required();
  cmd->add_option("--title", a->project.title, "Title")->required();
  cmd->add_option("--purpose", a->project.purpose, "Purpose");
  cmd->add_option("--legal-ref", a->project.legal_ref, "Authorisation or ethics approval number");
  cmd->add_option("--end", a->end, "Last day of access (YYYY-MM-DD)");
  cmd->add_option("--disclosure", a->disclosure, "aggregate or patient_list")
      ->capture_default_str();
  cmd->add_option("--min-cell", a->project.min_cell, "Small-cell threshold")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--domain", a->project.domains, "Allowed domain (repeatable; default all)");
  cmd->add_option("--from", a->from, "First day of the perimeter's period");
  cmd->add_option("--to", a->to, "Last day of the perimeter's period");
  cmd->add_option("--population", a->population_file,
                  "Cohort definition (JSON) restricting the population");
  Leaf(project, run, "list", "List the projects", a, RunProjectList);
  Leaf(project, run, "add-member", "Add a user to a project", a, RunProjectAddMember, &cmd);
  cmd->add_option("ID", a->project.id, "Project id")->required();
  cmd->add_option("USER", a->member, "User name")->required();
  Leaf(project, run, "close", "Close a project (its access stops)", a, RunProjectClose, &cmd);
  cmd->add_option("ID", a->project.id, "Project id")->required();
}

void RegisterAudit(CLI::App& app, RunFn& run) {
  CLI::App* audit = app.add_subcommand("audit", "The audit trail (auditor, admin)");
  audit->require_subcommand(1);
  auto a = std::make_shared<AuditArgs>();
  CLI::App* cmd = nullptr;
  Leaf(audit, run, "verify", "Check the hash chain; names the first bad entry", a, RunAuditVerify);
  Leaf(audit, run, "show", "Print entries (JSON lines), filtered", a, RunAuditShow, &cmd);
  cmd->add_option("--by", a->user, "Only this user's entries");
  cmd->add_option("--project", a->project, "Only the entries of this project");
  cmd->add_option("--from", a->from, "From this day (YYYY-MM-DD)");
  cmd->add_option("--to", a->to, "To this day, inclusive (YYYY-MM-DD)");
  cmd->add_option("--limit", a->limit, "At most this many entries")->capture_default_str();
  Leaf(audit, run, "purge",
       "Remove entries older than the retention (--retention-days, 365) or --before; the rest "
       "still verifies",
       a, RunAuditPurge, &cmd);
  cmd->add_option("--before", a->before, "Remove entries before this day (YYYY-MM-DD)");
  cmd->add_option("--retention-days", a->retention_days,
                  "Without --before: keep the entries of this many days")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}))
      ->capture_default_str();
}

void RegisterIncident(CLI::App& app, RunFn& run) {
  CLI::App* incident = app.add_subcommand("incident", "Incidents of unusual behaviour");
  incident->require_subcommand(1);
  auto a = std::make_shared<Common>();
  auto all = std::make_shared<bool>(false);
  auto id = std::make_shared<int64_t>(0);
  CLI::App* list = incident->add_subcommand("list", "Unacknowledged incidents (--all: every one)");
  AddData(list, *a);
  list->add_flag("--all", *all, "Include acknowledged incidents");
  list->callback([&run, a, all] { run = [a, all] { return RunIncidentList(*a, *all); }; });
  CLI::App* ack = incident->add_subcommand("ack", "Acknowledge an incident (admin)");
  AddData(ack, *a);
  ack->add_option("ID", *id, "Incident number")->required();
  ack->callback([&run, a, id] { run = [a, id] { return RunIncidentAck(*a, *id); }; });
}

}  // namespace

void RegisterAccessCommands(CLI::App& app, RunFn& run) {
  RegisterUser(app, run);
  RegisterProject(app, run);
  RegisterAudit(app, run);
  RegisterIncident(app, run);
}

}  // namespace p4dp::cli
