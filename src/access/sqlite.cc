#include "access/sqlite.h"

#include <sqlite3.h>

namespace p4dp::access::internal {

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, std::string what,
                                     std::string_view schema) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    return Status::IoError(what + ": cannot open " + path + ": " + why);
  }
  sqlite3_busy_timeout(raw, 10'000);
  std::unique_ptr<Db> db(new Db(raw, std::move(what)));
  P4DP_TRY(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  P4DP_TRY(db->Exec(schema));
  return db;
}

Db::~Db() { sqlite3_close(db_); }

Status Db::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::IoError(what_ + ": " + why);
  }
  return Status::Ok();
}

Status Db::Error() const { return Status::IoError(what_ + ": " + sqlite3_errmsg(db_)); }

Stmt::Stmt(const Db& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db.raw(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    failed_ = true;
  }
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Status Stmt::status() const { return failed_ ? db_.Error() : Status::Ok(); }

Stmt& Stmt::Bind(int i, int64_t v) {
  if (!failed_ && sqlite3_bind_int64(stmt_, i, v) != SQLITE_OK) failed_ = true;
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  if (!failed_ && sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                                    SQLITE_TRANSIENT) != SQLITE_OK) {
    failed_ = true;
  }
  return *this;
}

Stmt& Stmt::BindBlob(int i, std::string_view v) {
  if (!failed_ && sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()),
                                    SQLITE_TRANSIENT) != SQLITE_OK) {
    failed_ = true;
  }
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  if (!failed_ && sqlite3_bind_null(stmt_, i) != SQLITE_OK) failed_ = true;
  return *this;
}

bool Stmt::Next() {
  if (failed_) return false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) failed_ = true;
  return false;
}

Status Stmt::Run() {
  if (failed_) return status();
  int rc = sqlite3_step(stmt_);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) failed_ = true;
  return status();
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Stmt::Text(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Transaction::Transaction(Db& db) : db_(db), begun_(db.Exec("BEGIN IMMEDIATE")) {}

Transaction::~Transaction() {
  if (begun_.ok() && !done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  P4DP_TRY(begun_);
  done_ = true;
  return db_.Exec("COMMIT");
}

}  // namespace p4dp::access::internal
