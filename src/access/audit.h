// The audit trail: an append-only SQLite file DATA/audit.db, apart from the event store and
// the access catalog. Every entry carries a sequence number and the SHA-256 of a canonical
// serialisation of all its fields plus the previous entry's hash, so that editing, deleting
// or reordering any entry breaks the chain where it happened; the head (last sequence and
// hash) is also kept in DATA/audit.head so that cutting entries off the end shows too.
// Purging old entries leaves a checkpoint (the last purged entry's sequence and hash) from
// which the rest still verifies. Entries never hold a secret, a request body or patient
// data: parameters are recorded as a hash. Several processes may append at once (SQLite
// locking). Thread-safe: one mutex serialises calls.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace p4dp::access {

namespace internal {
class Db;
}  // namespace internal

inline constexpr const char* kAuditFileName = "audit.db";
inline constexpr const char* kAuditHeadFileName = "audit.head";
inline constexpr int64_t kAuditRetentionDaysDefault = 365;
// Patient count not known (the action does not touch patients, or it failed).
inline constexpr int64_t kPatientsUnknown = -1;

struct AuditEntry {
  int64_t seq = 0;            // filled by Append
  int64_t time_ms = 0;        // unix milliseconds
  std::string user{};         // who (or the name tried at a failed login)
  std::string roles{};        // "researcher,investigator"; "bootstrap" for the bootstrap operator
  std::string project{};      // "" when none
  std::string action{};       // "POST /api/cohorts/count" or "p4dp count"
  std::string params_hash{};  // SHA-256 hex of the parameters; never a secret
  int64_t patients = kPatientsUnknown;  // patients the answer was about, when known
  std::string origin{};                 // remote address, or "cli"
  int status = 0;                       // 200, 401, 403, 400, 500...
  std::string prev_hash{};              // filled by Append
  std::string hash{};                   // filled by Append
};

// The hash of `entry` (all fields but `hash`), as Append computes it.
std::string AuditEntryHash(const AuditEntry& entry);

struct AuditFilter {
  std::string user{};                // "" any
  std::string project{};             // "" any
  std::optional<int64_t> from_ms{};  // inclusive
  std::optional<int64_t> to_ms{};    // exclusive
  int64_t limit = 1000;
};

// What `audit verify` found: ok, or the first bad entry and what happened to it.
struct AuditVerdict {
  bool ok = true;
  int64_t entries = 0;    // entries checked
  int64_t bad_seq = 0;    // the first bad entry's sequence number
  std::string problem{};  // "edited", "missing (deleted)", "out of order"
  std::string message{};  // one line for people
};

class AuditLog {
 public:
  // Opens DATA/audit.db, creating it if missing.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& data_dir);
  ~AuditLog();

  // Appends one entry (seq, prev_hash and hash are filled) and returns its sequence number.
  Result<int64_t> Append(AuditEntry entry);
  Result<std::vector<AuditEntry>> Show(const AuditFilter& filter);
  // Entries by `user` since `since_ms`, all of them or only the refused ones (401, 403).
  Result<int64_t> CountSince(std::string_view user, int64_t since_ms, bool refusals_only);
  Result<int64_t> LastSeq();
  Result<AuditVerdict> Verify();
  // Removes the entries older than `before_ms` and records the checkpoint. Returns how many
  // were removed.
  Result<int64_t> Purge(int64_t before_ms);

 private:
  AuditLog(std::unique_ptr<internal::Db> db, std::string head_path);
  Status WriteHead(int64_t seq, const std::string& hash);

  std::mutex mu_;
  std::unique_ptr<internal::Db> db_;
  std::string head_path_{};
};

}  // namespace p4dp::access
