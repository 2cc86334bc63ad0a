#include "access/policy.h"

#include <array>

#include "base/assert.h"

namespace p4dp::access {
namespace {

constexpr RoleMask kAdmin = Bit(Role::kAdmin);
constexpr RoleMask kDataManager = Bit(Role::kDataManager);
constexpr RoleMask kResearcher = Bit(Role::kResearcher);
constexpr RoleMask kInvestigator = Bit(Role::kInvestigator);
constexpr RoleMask kEpidemiologist = Bit(Role::kEpidemiologist);
constexpr RoleMask kAuditor = Bit(Role::kAuditor);

constexpr std::array<Role, kRoleCount> kRoles = {Role::kAdmin,          Role::kDataManager,
                                                 Role::kResearcher,     Role::kInvestigator,
                                                 Role::kEpidemiologist, Role::kAuditor};

// THE table of rights. Admin and auditor never reach patient data (counts included); a
// researcher counts only inside own projects; an investigator may list patients only in a
// patient_list project; surveillance belongs to the epidemiologist.
constexpr std::array<ActionRule, 27> kRules = {{
    {Action::kLogin, "login", false, kAllRoles, false, false},
    {Action::kLogout, "logout", true, kAllRoles, false, false},
    {Action::kMe, "me", true, kAllRoles, false, false},
    {Action::kIngest, "ingest", true, kDataManager, false, false},
    {Action::kStats, "stats", true, kDataManager | kResearcher | kInvestigator | kEpidemiologist,
     true, false},
    {Action::kCohortCount, "cohort_count", true, kResearcher | kInvestigator, true, false},
    {Action::kCohortPatients, "cohort_patients", true, kInvestigator, true, true},
    {Action::kSurveillanceIndicators, "surveillance_indicators", true, kAllRoles, false, false},
    {Action::kSurveillance, "surveillance", true, kEpidemiologist, true, false},
    {Action::kExportEvents, "export_events", true, kDataManager, false, false},
    {Action::kQuarantine, "quarantine", true, kDataManager, false, false},
    {Action::kVerifyStore, "verify_store", true, kAdmin | kDataManager, false, false},
    {Action::kServe, "serve", true, kAdmin | kDataManager, false, false},
    {Action::kManageUsers, "manage_users", true, kAdmin, false, false},
    {Action::kListUsers, "list_users", true, kAdmin | kAuditor, false, false},
    {Action::kManageProjects, "manage_projects", true, kAdmin, false, false},
    {Action::kListProjects, "list_projects", true, kAdmin | kAuditor, false, false},
    {Action::kAuditVerify, "audit_verify", true, kAdmin | kAuditor, false, false},
    {Action::kAuditShow, "audit_show", true, kAuditor, false, false},
    {Action::kAuditPurge, "audit_purge", true, kAdmin, false, false},
    {Action::kIncidentList, "incident_list", true, kAdmin | kAuditor, false, false},
    {Action::kIncidentAck, "incident_ack", true, kAdmin, false, false},
    {Action::kOptOut, "optout", true, kDataManager, false, false},
    {Action::kBackup, "backup", true, kAdmin, false, false},
    {Action::kCodeSearch, "code_search", true, kResearcher | kInvestigator, true, false},
    {Action::kDashboards, "dashboards", true, kResearcher, true, false},
    {Action::kCohortDraft, "cohort_draft", true, kResearcher | kInvestigator, true, false},
}};

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kDataManager: return "data_manager";
    case Role::kResearcher: return "researcher";
    case Role::kInvestigator: return "investigator";
    case Role::kEpidemiologist: return "epidemiologist";
    case Role::kAuditor: return "auditor";
  }
  P4DP_ASSERT(false);
  return "";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : kRoles) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::span<const Role> AllRoles() { return kRoles; }

std::vector<std::string> RoleNames(RoleMask roles) {
  std::vector<std::string> names;
  for (Role r : kRoles) {
    if (roles & Bit(r)) names.emplace_back(RoleName(r));
  }
  return names;
}

std::string RoleMaskText(RoleMask roles) {
  std::string text;
  for (const std::string& name : RoleNames(roles)) text += (text.empty() ? "" : ",") + name;
  return text;
}

std::span<const ActionRule> Rules() { return kRules; }

const ActionRule& RuleOf(Action action) {
  const ActionRule& rule = kRules[static_cast<size_t>(action)];
  P4DP_ASSERT(rule.action == action);
  return rule;
}

Decision Decide(Action action, const Principal* principal, bool project_named,
                const ProjectState* project, Days today) {
  const ActionRule& rule = RuleOf(action);
  if (!rule.needs_session) return {};
  if (principal == nullptr) return {401, "no valid session"};
  if (principal->bootstrap) return {};
  if ((principal->roles & rule.roles) == 0) {
    return {403, "role does not allow " + std::string(rule.name)};
  }
  if (!rule.needs_project) return {};
  if (!project_named) return {403, std::string(rule.name) + " needs a project"};
  if (project == nullptr) return {403, "unknown project"};
  if (!project->caller_is_member) return {403, "not a member of the project"};
  if (project->closed) return {403, "project closed"};
  if (project->end && today > *project->end) return {403, "project past its end date"};
  if (rule.needs_patient_list && !project->patient_list) {
    return {403, "project does not allow patient lists"};
  }
  return {};
}

}  // namespace p4dp::access
