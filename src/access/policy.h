// Who may do what: the roles of the access contract (shared/spec/access.md), the actions a
// caller can ask for (HTTP routes and `p4dp` commands alike) and ONE table that says, for
// each action, which roles hold it and what it asks of the project it runs in. The server's
// guard and the command line's operator check both decide through Decide(), so the rules
// cannot differ between them. Pure functions over constant data; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/date.h"

namespace p4dp::access {

enum class Role : uint8_t {
  kAdmin,
  kDataManager,
  kResearcher,
  kInvestigator,
  kEpidemiologist,
  kAuditor,
};
inline constexpr int kRoleCount = 6;

// A set of roles, one bit per Role.
using RoleMask = uint32_t;
constexpr RoleMask Bit(Role r) { return RoleMask{1} << static_cast<unsigned>(r); }
inline constexpr RoleMask kAllRoles = (RoleMask{1} << kRoleCount) - 1;

// "admin", "data_manager", "researcher", "investigator", "epidemiologist", "auditor".
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);
// Every role, in declaration order.
std::span<const Role> AllRoles();
// "admin,researcher" (declaration order); "" for none.
std::string RoleMaskText(RoleMask roles);
std::vector<std::string> RoleNames(RoleMask roles);
// Roles that must give a TOTP code at login (the contract: admin, data_manager, auditor).
inline constexpr RoleMask kTotpRoles =
    Bit(Role::kAdmin) | Bit(Role::kDataManager) | Bit(Role::kAuditor);

// Every action a route or a command can ask for.
enum class Action : uint8_t {
  kLogin,                   // POST /api/login (no session)
  kLogout,                  // POST /api/logout
  kMe,                      // GET /api/me
  kIngest,                  // POST /api/ingest, p4dp ingest
  kStats,                   // GET /api/stats, p4dp stats
  kCohortCount,             // POST /api/cohorts/count, p4dp count
  kCohortPatients,          // the same with the patient list (?patients=1, --patients)
  kSurveillanceIndicators,  // GET /api/surveillance/indicators (configuration only)
  kSurveillance,            // GET /api/surveillance/series and /alerts, p4dp surveil
  kExportEvents,            // p4dp export events (every pseudonymised row)
  kQuarantine,              // p4dp quarantine
  kVerifyStore,             // p4dp verify DATA
  kServe,                   // p4dp serve
  kManageUsers,             // p4dp user add|disable|reset-password
  kListUsers,               // p4dp user list
  kManageProjects,          // p4dp project create|add-member|close
  kListProjects,            // p4dp project list
  kAuditVerify,             // p4dp audit verify
  kAuditShow,               // p4dp audit show
  kAuditPurge,              // p4dp audit purge
  kIncidentList,            // p4dp incident list
  kIncidentAck,             // p4dp incident ack
  kOptOut,                  // p4dp optout (the rights issue)
  kBackup,                  // p4dp backup, restore, keys rotate (the rights issue)
  kCodeSearch,              // GET /api/codes (the cohort builder's code search)
  kDashboards,              // GET /api/dashboards/* (population dashboards)
  kCohortDraft,             // POST /api/cohorts/count?draft=1 (approximate, while editing)
};

// One row of the table.
struct ActionRule {
  Action action;
  std::string_view name{};  // as audited: "cohort_count"
  bool needs_session;       // false only for login
  RoleMask roles;           // roles that hold the action
  bool needs_project;       // the caller must name an open project it belongs to
  bool needs_patient_list;  // ... whose disclosure level is patient_list
};

// The table, one row per Action in declaration order.
std::span<const ActionRule> Rules();
const ActionRule& RuleOf(Action action);

// What the policy needs to know about a project.
struct ProjectState {
  bool closed = false;
  std::optional<Days> end{};  // last day of access; none: open-ended
  bool patient_list = false;  // disclosure level patient_list (else aggregate)
  bool caller_is_member = false;
};

// Who asks. `bootstrap` is the command-line operator of a catalog without users: every
// right, no project needed (still audited as such).
struct Principal {
  std::string user{};
  RoleMask roles = 0;
  bool bootstrap = false;
};

struct Decision {
  int status = 200;      // 200 allowed, 401 no valid session, 403 refused
  std::string reason{};  // why not, for the caller and the audit trail ("" when allowed)
  bool allowed() const { return status == 200; }
};

// The decision for `principal` (nullptr: no valid session) asking for `action` in
// `project` (nullptr: none named, or `project_named` but not found) on `today`.
Decision Decide(Action action, const Principal* principal, bool project_named,
                const ProjectState* project, Days today);

}  // namespace p4dp::access
