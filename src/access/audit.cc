#include "access/audit.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "access/sqlite.h"
#include "crypto/password.h"

namespace p4dp::access {

using internal::Db;
using internal::Stmt;
using internal::Transaction;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL, user TEXT NOT NULL, roles TEXT NOT NULL, project TEXT NOT NULL,
  action TEXT NOT NULL, params_hash TEXT NOT NULL, patients INTEGER NOT NULL,
  origin TEXT NOT NULL, status INTEGER NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_by_user_time ON entries (user, time_ms);
CREATE TABLE IF NOT EXISTS checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
INSERT OR IGNORE INTO checkpoint (id, seq, hash) VALUES (1, 0, '');
CREATE TRIGGER IF NOT EXISTS entries_append_only_update BEFORE UPDATE ON entries
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_append_only_delete BEFORE DELETE ON entries
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (use audit purge)'); END;
)sql";

const std::string kGenesis(64, '0');

void Field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += '=';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

constexpr const char* kColumns =
    "seq, time_ms, user, roles, project, action, params_hash, patients, origin, status, "
    "prev_hash, hash";

AuditEntry EntryAt(const Stmt& s) {
  return {.seq = s.Int(0),
          .time_ms = s.Int(1),
          .user = s.Text(2),
          .roles = s.Text(3),
          .project = s.Text(4),
          .action = s.Text(5),
          .params_hash = s.Text(6),
          .patients = s.Int(7),
          .origin = s.Text(8),
          .status = static_cast<int>(s.Int(9)),
          .prev_hash = s.Text(10),
          .hash = s.Text(11)};
}

struct Checkpoint {
  int64_t seq = 0;
  std::string hash;
};

Result<Checkpoint> ReadCheckpoint(const Db& db) {
  Stmt s(db, "SELECT seq, hash FROM checkpoint WHERE id = 1");
  if (!s.Next()) {
    P4DP_TRY(s.status());
    return Status::Corruption("audit trail: the checkpoint row is missing");
  }
  return Checkpoint{s.Int(0), s.Text(1)};
}

AuditVerdict Bad(int64_t seq, std::string problem, std::string detail, int64_t checked) {
  AuditVerdict v;
  v.ok = false;
  v.entries = checked;
  v.bad_seq = seq;
  v.problem = std::move(problem);
  v.message = "audit: chain broken at entry " + std::to_string(seq) + ": " + v.problem +
              (detail.empty() ? "" : " (" + detail + ")");
  return v;
}

}  // namespace

std::string AuditEntryHash(const AuditEntry& e) {
  std::string text = "p4dp-audit-v1\n";
  Field(text, "seq", std::to_string(e.seq));
  Field(text, "time_ms", std::to_string(e.time_ms));
  Field(text, "user", e.user);
  Field(text, "roles", e.roles);
  Field(text, "project", e.project);
  Field(text, "action", e.action);
  Field(text, "params_hash", e.params_hash);
  Field(text, "patients", std::to_string(e.patients));
  Field(text, "origin", e.origin);
  Field(text, "status", std::to_string(e.status));
  Field(text, "prev_hash", e.prev_hash);
  return crypto::Sha256Hex(text);
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& data_dir) {
  auto db = P4DP_TRY(Db::Open(data_dir + "/" + kAuditFileName, "audit trail", kSchema));
  return std::unique_ptr<AuditLog>(
      new AuditLog(std::move(db), data_dir + "/" + kAuditHeadFileName));
}

AuditLog::AuditLog(std::unique_ptr<Db> db, std::string head_path)
    : db_(std::move(db)), head_path_(std::move(head_path)) {}

AuditLog::~AuditLog() = default;

Status AuditLog::WriteHead(int64_t seq, const std::string& hash) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp =
      head_path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << seq << ' ' << hash << '\n';
    out.flush();
    if (!out) return Status::IoError("audit trail: cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), head_path_.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError("audit trail: cannot rename " + tmp);
  }
  return Status::Ok();
}

Result<int64_t> AuditLog::Append(AuditEntry e) {
  std::lock_guard lock(mu_);
  {
    Transaction t(*db_);
    P4DP_TRY(t.status());
    Stmt last(*db_, "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1");
    if (last.Next()) {
      e.seq = last.Int(0) + 1;
      e.prev_hash = last.Text(1);
    } else {
      P4DP_TRY(last.status());
      Checkpoint cp = P4DP_TRY(ReadCheckpoint(*db_));
      e.seq = cp.seq + 1;
      e.prev_hash = cp.seq == 0 ? kGenesis : cp.hash;
    }
    e.hash = AuditEntryHash(e);
    Stmt s(*db_,
           std::string("INSERT INTO entries (") + kColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    s.Bind(1, e.seq).Bind(2, e.time_ms).Bind(3, e.user).Bind(4, e.roles).Bind(5, e.project);
    s.Bind(6, e.action).Bind(7, e.params_hash).Bind(8, e.patients).Bind(9, e.origin);
    s.Bind(10, int64_t{e.status}).Bind(11, e.prev_hash).Bind(12, e.hash);
    P4DP_TRY(s.Run());
    P4DP_TRY(t.Commit());
  }
  // After the commit: a head that lags behind (a crash here, or a concurrent appender
  // writing an older head last) is tolerated by Verify; one ahead of the table is not.
  P4DP_TRY(WriteHead(e.seq, e.hash));
  return e.seq;
}

Result<std::vector<AuditEntry>> AuditLog::Show(const AuditFilter& f) {
  std::lock_guard lock(mu_);
  Stmt s(*db_, std::string("SELECT ") + kColumns +
                   " FROM entries WHERE (?1 = '' OR user = ?1) AND (?2 = '' OR project = ?2) "
                   "AND time_ms >= ?3 AND time_ms < ?4 ORDER BY seq LIMIT ?5");
  s.Bind(1, f.user).Bind(2, f.project).Bind(3, f.from_ms.value_or(INT64_MIN));
  s.Bind(4, f.to_ms.value_or(INT64_MAX)).Bind(5, f.limit);
  std::vector<AuditEntry> out;
  while (s.Next()) out.push_back(EntryAt(s));
  P4DP_TRY(s.status());
  return out;
}

Result<int64_t> AuditLog::CountSince(std::string_view user, int64_t since_ms, bool refusals_only) {
  std::lock_guard lock(mu_);
  Stmt s(*db_, refusals_only ? "SELECT count(*) FROM entries WHERE user = ? AND time_ms >= ? "
                               "AND status IN (401, 403)"
                             : "SELECT count(*) FROM entries WHERE user = ? AND time_ms >= ?");
  s.Bind(1, user).Bind(2, since_ms);
  if (!s.Next()) return s.status();
  return s.Int(0);
}

Result<int64_t> AuditLog::LastSeq() {
  std::lock_guard lock(mu_);
  Stmt s(*db_, "SELECT coalesce(max(seq), 0) FROM entries");
  if (!s.Next()) return s.status();
  int64_t last = s.Int(0);
  if (last == 0) last = P4DP_TRY(ReadCheckpoint(*db_)).seq;
  return last;
}

Result<AuditVerdict> AuditLog::Verify() {
  std::lock_guard lock(mu_);
  Checkpoint cp = P4DP_TRY(ReadCheckpoint(*db_));
  std::vector<AuditEntry> rows;
  {
    Stmt s(*db_, std::string("SELECT ") + kColumns + " FROM entries ORDER BY seq");
    while (s.Next()) rows.push_back(EntryAt(s));
    P4DP_TRY(s.status());
  }
  int64_t expected = cp.seq + 1;
  std::string prev = cp.seq == 0 ? kGenesis : cp.hash;
  int64_t checked = 0;
  int64_t max_seq = rows.empty() ? cp.seq : rows.back().seq;
  for (const AuditEntry& row : rows) {
    if (row.seq > expected) return Bad(expected, "missing (deleted)", "", checked);
    if (AuditEntryHash(row) != row.hash) {
      // An intact entry moved to another place hashes right under its original number.
      for (int64_t k = cp.seq + 1; k <= max_seq + 1; ++k) {
        AuditEntry moved = row;
        moved.seq = k;
        if (k != row.seq && AuditEntryHash(moved) == row.hash) {
          return Bad(row.seq, "out of order", "it was written as entry " + std::to_string(k),
                     checked);
        }
      }
      return Bad(row.seq, "edited", "its content no longer matches its hash", checked);
    }
    if (row.prev_hash != prev) {
      // This entry is intact; the one before it was rewritten with a new hash.
      return Bad(row.seq - 1, "edited",
                 "entry " + std::to_string(row.seq) + " recorded another hash for it", checked);
    }
    prev = row.hash;
    ++expected;
    ++checked;
  }
  std::ifstream head(head_path_);
  int64_t head_seq = 0;
  std::string head_hash;
  if (head >> head_seq >> head_hash) {
    if (head_seq > max_seq) {
      return Bad(max_seq + 1, "missing (deleted)",
                 "the trail ends before entry " + std::to_string(head_seq) + " recorded in " +
                     kAuditHeadFileName,
                 checked);
    }
    for (const AuditEntry& row : rows) {
      if (row.seq == head_seq && row.hash != head_hash) {
        return Bad(head_seq, "edited",
                   "it differs from the head recorded in " + std::string(kAuditHeadFileName),
                   checked);
      }
    }
  }
  AuditVerdict ok;
  ok.entries = checked;
  ok.message = "audit: OK, " + std::to_string(checked) + " entries verified" +
               (cp.seq > 0 ? " after the checkpoint at entry " + std::to_string(cp.seq) : "");
  return ok;
}

Result<int64_t> AuditLog::Purge(int64_t before_ms) {
  std::lock_guard lock(mu_);
  Transaction t(*db_);
  P4DP_TRY(t.status());
  int64_t seq = 0;
  std::string hash;
  int64_t removed = 0;
  {
    Stmt last(*db_,
              "SELECT seq, hash FROM entries WHERE seq = "
              "(SELECT max(seq) FROM entries WHERE time_ms < ?)");
    last.Bind(1, before_ms);
    if (!last.Next()) {
      P4DP_TRY(last.status());
      return int64_t{0};
    }
    seq = last.Int(0);
    hash = last.Text(1);
  }
  {
    Stmt count(*db_, "SELECT count(*) FROM entries WHERE seq <= ?");
    count.Bind(1, seq);
    if (!count.Next()) return count.status();
    removed = count.Int(0);
  }
  P4DP_TRY(db_->Exec("DROP TRIGGER entries_append_only_delete"));
  {
    Stmt del(*db_, "DELETE FROM entries WHERE seq <= ?");
    P4DP_TRY(del.Bind(1, seq).Run());
  }
  P4DP_TRY(
      db_->Exec("CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries BEGIN SELECT "
                "RAISE(ABORT, 'the audit trail is append-only (use audit purge)'); END;"));
  Stmt cp(*db_, "UPDATE checkpoint SET seq = ?, hash = ? WHERE id = 1");
  P4DP_TRY(cp.Bind(1, seq).Bind(2, hash).Run());
  P4DP_TRY(t.Commit());
  return removed;
}

}  // namespace p4dp::access
