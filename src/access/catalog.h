// The access catalog: users (Argon2id password hash, sealed TOTP secret, roles, lock-out
// state), projects (purpose, legal reference, end date, disclosure level, small-cell
// threshold, perimeter, members), sessions (only the SHA-256 of each token is kept) and
// incidents, the last TOTP step accepted per user (replays are refused), and the recent
// queries and released counts of `p4dp count` per user and project, in one SQLite file
// DATA/access.db, apart from the event store. Several processes may open it at once (SQLite
// locking). Thread-safe: one mutex serialises calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "access/policy.h"
#include "base/date.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/password.h"

namespace p4dp::access {

namespace internal {
class Db;
}  // namespace internal

inline constexpr const char* kCatalogFileName = "access.db";
inline constexpr size_t kNameBytesMax = 64;
inline constexpr int64_t kMinCellDefault = 10;

struct User {
  int64_t id = 0;
  std::string name{};
  RoleMask roles = 0;
  bool enabled = true;
  int failures = 0;            // consecutive failed logins
  int64_t locked_until_s = 0;  // unix seconds; 0: not locked
  bool has_totp = false;
};

enum class Disclosure { kAggregate, kPatientList };
std::string_view DisclosureName(Disclosure d);
std::optional<Disclosure> ParseDisclosure(std::string_view name);

// A project and its perimeter. `domains` empty means every domain; `from`/`to` bound the
// period of the events it may see; `population` is an optional cohort definition (JSON).
struct Project {
  std::string id{};
  std::string title{};
  std::string purpose{};
  std::string legal_ref{};
  std::optional<Days> end{};
  Disclosure disclosure = Disclosure::kAggregate;
  int64_t min_cell = kMinCellDefault;
  std::vector<std::string> domains{};
  std::optional<Days> from{};
  std::optional<Days> to{};
  std::string population{};
  bool closed = false;
  std::vector<std::string> members{};  // user names
};

// A project as the command line and the administration route list it: {"project", "title",
// "purpose", "legal_ref", "end", "state" (open, closed, ended on `today`), "disclosure",
// "min_cell", "domains", "from", "to", "population" (whether it has one), "members"}.
std::string ProjectToJson(const Project& p, Days today);

struct Incident {
  int64_t id = 0;
  int64_t time_ms = 0;
  std::string kind{};  // "burst", "refusals", "lockout", "large_patient_list"
  std::string user{};
  std::string project{};
  std::string detail{};  // never a secret nor patient data
  std::string acknowledged_by{};
  int64_t acknowledged_ms = 0;
};

struct CatalogOptions {
  crypto::PasswordCost password_cost = crypto::PasswordCost::kInteractive;
};

class AccessCatalog {
 public:
  // Opens DATA/access.db, creating it if missing. `catalog_key` seals the TOTP secrets.
  static Result<std::unique_ptr<AccessCatalog>> Open(const std::string& data_dir,
                                                     const crypto::Key& catalog_key,
                                                     CatalogOptions options = {});
  ~AccessCatalog();

  Result<int64_t> UserCount();
  // Adds a user. Names are 1..kNameBytesMax of [a-z0-9._-]. When a role of the user needs
  // TOTP (kTotpRoles) a secret is made, sealed, and returned (raw bytes) for the caller to
  // show once; otherwise "" is returned.
  Result<std::string> AddUser(std::string_view name, RoleMask roles, std::string_view password);
  Result<User> FindUser(std::string_view name);  // NotFound if absent
  Result<std::vector<User>> ListUsers();
  Status DisableUser(std::string_view name);
  // Sets a new password and clears the failure count and any lock-out.
  Status SetPassword(std::string_view name, std::string_view password);
  // Checks the password of an existing user (false for a disabled or unknown one).
  Result<bool> CheckPassword(std::string_view name, std::string_view password);
  Result<std::string> TotpSecret(std::string_view name);  // raw bytes; "" if none
  // Records that the TOTP code of time step `step` was accepted for `name`: true when
  // `step` is after the last step accepted (it becomes the last), false when it is not
  // (a replayed code, or an older one). Atomic across processes.
  Result<bool> ClaimTotpStep(std::string_view name, int64_t step);
  // Counts a failed login; locks the user until now_s + lock_s once `failures_max`
  // consecutive failures are reached. Returns true if this call locked the user.
  Result<bool> RecordFailure(std::string_view name, int failures_max, int64_t now_s,
                             int64_t lock_s);
  Status ResetFailures(std::string_view name);

  Status CreateProject(const Project& project);
  Result<Project> FindProject(std::string_view id);  // NotFound if absent
  Result<std::vector<Project>> ListProjects();
  Status AddMember(std::string_view project_id, std::string_view user);
  Status CloseProject(std::string_view project_id);

  // A new session for `user`: returns the token (64 hex characters); only its hash is kept.
  // Sessions expired at `now_s` are removed.
  Result<std::string> CreateSession(std::string_view user, int64_t now_s, int64_t expires_s);
  // The user of a live session (NotFound when unknown or expired).
  Result<std::string> SessionUser(std::string_view token, int64_t now_s);
  Status DeleteSession(std::string_view token);

  Result<int64_t> AddIncident(const Incident& incident);
  // Unacknowledged ones only unless `all`.
  Result<std::vector<Incident>> ListIncidents(bool all);
  Status AcknowledgeIncident(int64_t id, std::string_view by, int64_t now_ms);
  // True if an unacknowledged incident of `kind` for `user` was opened at or after since_ms.
  Result<bool> HasOpenIncident(std::string_view kind, std::string_view user, int64_t since_ms);

  // The command line's query guard, kept here so that it holds across processes (the
  // server keeps its own in memory). In one transaction: forgets the (user, project) pair's
  // queries older than `since_ms`, gives the fingerprints of the others to `admit`, and, when
  // it returns Ok, records `fingerprint` at `now_ms`; returns what `admit` returned.
  Status AdmitQuery(std::string_view user, std::string_view project, int64_t now_ms,
                    int64_t since_ms, std::string_view fingerprint,
                    const std::function<Status(const std::vector<std::string>&)>& admit);
  // The exact counts released to the pair since `since_ms` (older ones are forgotten).
  Result<std::vector<int64_t>> ReleasedCounts(std::string_view user, std::string_view project,
                                              int64_t since_ms);
  // Records counts released at `now_ms` (a count released again is kept once, from now).
  Status NoteReleasedCounts(std::string_view user, std::string_view project, int64_t now_ms,
                            std::span<const int64_t> counts);

 private:
  AccessCatalog(std::unique_ptr<internal::Db> db, crypto::Key key, CatalogOptions options);
  Result<User> FindUserLocked(std::string_view name);

  std::mutex mu_;
  std::unique_ptr<internal::Db> db_;
  crypto::Key key_;
  CatalogOptions options_;
};

// Checks a user or project name: 1..kNameBytesMax characters of [a-z0-9._-], starting with
// a letter or digit.
Status CheckName(std::string_view what, std::string_view name);

}  // namespace p4dp::access
