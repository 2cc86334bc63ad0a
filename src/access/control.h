// The access service that the server and the command line share: it opens the access
// catalog and the audit trail of a data folder, logs users in (Argon2id password, TOTP for
// the roles that need it, lock-out after repeated failures), resolves session tokens,
// decides every request through the one policy table (policy.h), appends the one audit
// entry each call leaves, and opens incidents for unusual behaviour (bursts of queries,
// repeated refusals, lock-outs, large patient lists). Thread-safe: the catalog and the
// audit trail have their own locks; the rest is immutable after Open.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "access/audit.h"
#include "access/catalog.h"
#include "access/disclosure.h"
#include "access/policy.h"
#include "base/clock.h"
#include "base/status.h"
#include "crypto/aead.h"

namespace p4dp::access {

inline constexpr int64_t kSessionSecondsDefault = 8 * 3600;
inline constexpr int kLoginFailuresMaxDefault = 5;
inline constexpr int64_t kLockoutSecondsDefault = 15 * 60;
inline constexpr int64_t kBurstPerMinuteDefault = 120;
inline constexpr int64_t kRefusalsMaxDefault = 10;  // within kIncidentWindowMs
inline constexpr int64_t kLargePatientListDefault = 1000;
inline constexpr int64_t kIncidentWindowMs = 10 * 60 * 1000;

struct AccessOptions {
  int64_t session_seconds = kSessionSecondsDefault;
  int login_failures_max = kLoginFailuresMaxDefault;
  int64_t lockout_seconds = kLockoutSecondsDefault;
  int64_t burst_per_minute = kBurstPerMinuteDefault;
  int64_t refusals_max = kRefusalsMaxDefault;
  int64_t large_patient_list = kLargePatientListDefault;
  crypto::PasswordCost password_cost = crypto::PasswordCost::kInteractive;
  const Clock* clock = nullptr;  // nullptr: the system clock; must outlive the service
};

// What a caller is allowed to do for one call, once decided.
struct Grant {
  Decision decision{};
  std::optional<Principal> principal{};  // set when the caller is known
  std::optional<Project> project{};      // set when the project was named and exists
};

struct LoginResult {
  int status = 401;     // 200 or 401 (wrong name, password or code, disabled, locked)
  std::string token{};  // when 200
  int64_t expires_s = 0;
  RoleMask roles = 0;
};

// One call as the audit trail records it (the service fills time, roles and hashes).
struct CallRecord {
  std::string action{};  // "POST /api/cohorts/count", "p4dp count"
  std::string params{};  // hashed, never stored: must not hold a secret
  std::string origin{};  // remote address or "cli"
  int status = 0;
  int64_t patients = kPatientsUnknown;
  bool patient_list = false;  // the answer listed patients (large lists raise an incident)
};

class AccessControl {
 public:
  // Opens DATA/access.db and DATA/audit.db (created if missing). `master_key` is the
  // warehouse master key; the catalog seals TOTP secrets under a key derived from it.
  static Result<std::unique_ptr<AccessControl>> Open(const std::string& data_dir,
                                                     const crypto::Key& master_key,
                                                     AccessOptions options = {});

  AccessCatalog& catalog() { return *catalog_; }
  // Changes the lifetime of new sessions; call before sharing the service between threads.
  void set_session_seconds(int64_t seconds) { options_.session_seconds = seconds; }
  AuditLog& audit() { return *audit_; }
  int64_t NowMs() const;
  Days Today() const;

  // Checks name, password and (for kTotpRoles) the TOTP code; on success opens a session.
  // A failure counts towards lock-out (which opens an incident); a locked user gets 401
  // whatever the password. Does not audit: the caller records the call.
  LoginResult Login(std::string_view user, std::string_view password, std::string_view totp);
  Status Logout(std::string_view token);
  // The principal of a live session, or nullopt.
  std::optional<Principal> Authenticate(std::string_view token);
  // The principal of a command-line operator: the bootstrap operator while the catalog has
  // no user, else the named user if it exists and is enabled (nullopt otherwise).
  Result<std::optional<Principal>> Operator(std::string_view name);

  // Decides `action` for `principal` (nullopt: no session) in `project_id` ("" none).
  Grant Authorize(Action action, const std::optional<Principal>& principal,
                  std::string_view project_id);

  // The query guard of `p4dp count`: QueryGuard's rules (rate limit, differencing) with
  // `options`, over the catalog, so that they hold across processes. ResourceExhausted
  // (saying which limit) when refused; the query is recorded when admitted.
  Status AdmitQuery(std::string_view user, std::string_view project, const QueryFingerprint& query,
                    const QueryGuardOptions& options);
  // The exact counts released to `user` in `project` within options.window_seconds, and
  // recording those an answer released (QueryGuard::Released and NoteReleased).
  Result<std::vector<int64_t>> ReleasedCounts(std::string_view user, std::string_view project,
                                              const QueryGuardOptions& options);
  Status NoteReleased(std::string_view user, std::string_view project,
                      std::span<const int64_t> counts);

  // Appends the audit entry of one call by `user` (roles from `principal` when known) and
  // checks the incident rules. A failure to audit is returned: callers must then refuse.
  Status Record(const std::optional<Principal>& principal, std::string_view user,
                std::string_view project, const CallRecord& call);

 private:
  AccessControl(std::unique_ptr<AccessCatalog> catalog, std::unique_ptr<AuditLog> audit,
                AccessOptions options);
  Status CheckIncidents(std::string_view user, std::string_view project, const CallRecord& call,
                        int64_t now_ms);
  Status OpenIncidentOnce(std::string_view kind, std::string_view user, std::string_view project,
                          std::string detail, int64_t now_ms);

  std::unique_ptr<AccessCatalog> catalog_;
  std::unique_ptr<AuditLog> audit_;
  AccessOptions options_;
};

}  // namespace p4dp::access
