// Internal to access/: a thin RAII layer over SQLite for the access catalog and the audit
// trail (open with WAL and a busy timeout, prepared statements, transactions). A Db is used
// by one thread at a time; its owners hold a mutex around it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace p4dp::access::internal {

class Db {
 public:
  // Opens (creating if missing) the database at `path` in WAL mode with synchronous=FULL,
  // then runs `schema` (statements that must be idempotent: CREATE ... IF NOT EXISTS).
  // `what` names the file in messages ("access catalog").
  static Result<std::unique_ptr<Db>> Open(const std::string& path, std::string what,
                                          std::string_view schema);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status Exec(std::string_view sql);
  // An error status naming the file and SQLite's message.
  Status Error() const;
  sqlite3* raw() const { return db_; }
  const std::string& what() const { return what_; }

 private:
  Db(sqlite3* db, std::string what) : db_(db), what_(std::move(what)) {}
  sqlite3* db_;
  std::string what_;
};

class Stmt {
 public:
  Stmt(const Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status status() const;
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& BindNull(int i);
  // True while a row is available; check done() / status() after false.
  bool Next();
  // Runs a statement that returns no row.
  Status Run();
  bool failed() const { return failed_; }
  int64_t Int(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

 private:
  const Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool failed_ = false;
};

// BEGIN IMMEDIATE on construction; Commit() or the destructor's ROLLBACK.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Status status() const { return begun_; }
  Status Commit();

 private:
  Db& db_;
  Status begun_;
  bool done_ = false;
};

}  // namespace p4dp::access::internal
