#include "store/catalog.h"

#include <sqlite3.h>

#include <cstring>

namespace p4dp::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE codes(id INTEGER PRIMARY KEY, system TEXT NOT NULL, code TEXT NOT NULL,
                   UNIQUE(system, code));
CREATE TABLE units(id INTEGER PRIMARY KEY, unit TEXT NOT NULL UNIQUE);
CREATE TABLE segments(id INTEGER PRIMARY KEY, file TEXT NOT NULL, events INTEGER NOT NULL,
                      patients INTEGER NOT NULL, resources INTEGER NOT NULL,
                      bytes INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'live');
CREATE TABLE patient_links(link BLOB PRIMARY KEY, patient_key BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE quarantine(id INTEGER PRIMARY KEY, record_key BLOB NOT NULL UNIQUE,
                        reason TEXT NOT NULL, resource_type TEXT NOT NULL,
                        sealed BLOB NOT NULL);
)sql";

// Added after format 1's first release: created when missing, at every open.
constexpr const char* kObjectionsSchema = R"sql(
CREATE TABLE IF NOT EXISTS objections(number INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,
                                      sealed BLOB NOT NULL, recorded_day INTEGER NOT NULL,
                                      erased_day INTEGER);
)sql";

// A prepared statement, finalized when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Prepared() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return Status::IoError(std::string("catalog: ") + sqlite3_errmsg(db_));
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, const void* data, size_t n) {
    sqlite3_bind_blob(stmt_, i, data, static_cast<int>(n), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  Status Run() {
    P4DP_TRY(Prepared());
    int rc = Step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
    return Status::IoError(std::string("catalog: ") + sqlite3_errmsg(db_));
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Result<sqlite3*> OpenDb(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IoError("cannot open catalog '" + path + "': " + why);
  }
  sqlite3_busy_timeout(db, 10'000);
  return db;
}

}  // namespace

Catalog::~Catalog() {
  if (in_transaction_) Rollback();
  sqlite3_finalize(insert_link_);
  sqlite3_close(db_);
}

Status Catalog::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IoError("catalog: " + why);
  }
  return Status::Ok();
}

Result<std::unique_ptr<Catalog>> Catalog::Create(const std::string& path) {
  sqlite3* db = P4DP_TRY(OpenDb(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  std::unique_ptr<Catalog> catalog(new Catalog(db));
  // Durable commits: the write-ahead log is synced at each commit.
  P4DP_TRY(catalog->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  P4DP_TRY(catalog->Exec("PRAGMA secure_delete=ON;"));
  P4DP_TRY(catalog->Exec(std::string("BEGIN;") + kSchema + kObjectionsSchema + "COMMIT;"));
  P4DP_TRY(catalog->LoadDictionaries());
  return catalog;
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path) {
  sqlite3* db = P4DP_TRY(OpenDb(path, SQLITE_OPEN_READWRITE));
  std::unique_ptr<Catalog> catalog(new Catalog(db));
  P4DP_TRY(catalog->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  P4DP_TRY(catalog->Exec("PRAGMA secure_delete=ON;"));
  P4DP_TRY(catalog->Exec(kObjectionsSchema));
  P4DP_TRY(catalog->LoadDictionaries());
  return catalog;
}

Status Catalog::LoadDictionaries() {
  codes_.assign(1, {});
  units_.assign(1, "");
  sources_.assign(1, "");
  {
    Stmt s(db_, "SELECT id, system, code FROM codes ORDER BY id");
    P4DP_TRY(s.Prepared());
    while (s.Step() == SQLITE_ROW) {
      auto id = static_cast<size_t>(s.Int(0));
      if (id != codes_.size()) return Status::Corruption("catalog: code ids are not dense");
      codes_.push_back({s.Text(1), s.Text(2)});
      code_ids_[codes_.back().system + '\x1f' + codes_.back().code] = static_cast<uint32_t>(id);
    }
  }
  {
    Stmt s(db_, "SELECT id, unit FROM units ORDER BY id");
    P4DP_TRY(s.Prepared());
    while (s.Step() == SQLITE_ROW) {
      if (static_cast<size_t>(s.Int(0)) != units_.size()) {
        return Status::Corruption("catalog: unit ids are not dense");
      }
      units_.push_back(s.Text(1));
      unit_ids_[units_.back()] = static_cast<uint32_t>(units_.size() - 1);
    }
  }
  {
    Stmt s(db_, "SELECT id, name FROM sources ORDER BY id");
    P4DP_TRY(s.Prepared());
    while (s.Step() == SQLITE_ROW) {
      if (static_cast<size_t>(s.Int(0)) != sources_.size()) {
        return Status::Corruption("catalog: source ids are not dense");
      }
      sources_.push_back(s.Text(1));
      source_ids_[sources_.back()] = static_cast<uint32_t>(sources_.size() - 1);
    }
  }
  Stmt s(db_, "SELECT link, patient_key FROM patient_links");
  P4DP_TRY(s.Prepared());
  while (s.Step() == SQLITE_ROW) {
    std::string link = s.Blob(0), key = s.Blob(1);
    if (link.size() != 32 || key.size() != 32) return Status::Corruption("catalog: bad link");
    LinkHash h;
    domain::PatientKey k;
    std::memcpy(h.data(), link.data(), 32);
    std::memcpy(k.bytes.data(), key.data(), 32);
    links_[h] = k;
  }
  return Status::Ok();
}

Result<std::optional<std::string>> Catalog::GetMeta(const std::string& key) {
  Stmt s(db_, "SELECT value FROM meta WHERE key = ?");
  P4DP_TRY(s.Prepared());
  s.Bind(1, key);
  if (s.Step() == SQLITE_ROW) return std::optional<std::string>(s.Text(0));
  return std::optional<std::string>();
}

Status Catalog::SetMeta(const std::string& key, const std::string& value) {
  Stmt s(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
  s.Bind(1, key).Bind(2, value);
  return s.Run();
}

Status Catalog::RemoveMeta(const std::string& key) {
  Stmt s(db_, "DELETE FROM meta WHERE key = ?");
  s.Bind(1, key);
  return s.Run();
}

Status Catalog::Begin() {
  P4DP_ASSERT(!in_transaction_);
  P4DP_TRY(Exec("BEGIN IMMEDIATE"));
  in_transaction_ = true;
  codes_at_begin_ = codes_.size();
  units_at_begin_ = units_.size();
  sources_at_begin_ = sources_.size();
  links_added_.clear();
  links_changed_.clear();
  return Status::Ok();
}

Status Catalog::Commit() {
  P4DP_ASSERT(in_transaction_);
  Status s = Exec("COMMIT");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  in_transaction_ = false;
  return Status::Ok();
}

void Catalog::Rollback() {
  if (!in_transaction_) return;
  (void)Exec("ROLLBACK");
  in_transaction_ = false;
  while (codes_.size() > codes_at_begin_) {
    code_ids_.erase(codes_.back().system + '\x1f' + codes_.back().code);
    codes_.pop_back();
  }
  while (units_.size() > units_at_begin_) {
    unit_ids_.erase(units_.back());
    units_.pop_back();
  }
  while (sources_.size() > sources_at_begin_) {
    source_ids_.erase(sources_.back());
    sources_.pop_back();
  }
  for (const LinkHash& h : links_added_) links_.erase(h);
  links_added_.clear();
  for (auto it = links_changed_.rbegin(); it != links_changed_.rend(); ++it) {
    links_[it->first] = it->second;
  }
  links_changed_.clear();
}

Result<uint32_t> Catalog::SourceId(const std::string& name) {
  auto it = source_ids_.find(name);
  if (it != source_ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(sources_.size());
  Stmt s(db_, "INSERT INTO sources(id, name) VALUES(?, ?)");
  s.Bind(1, id).Bind(2, name);
  P4DP_TRY(s.Run());
  sources_.push_back(name);
  source_ids_[name] = id;
  return id;
}

Result<uint32_t> Catalog::CodeId(std::string_view system, std::string_view code) {
  lookup_.assign(system);
  lookup_ += '\x1f';
  lookup_ += code;
  auto it = code_ids_.find(lookup_);
  if (it != code_ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(codes_.size());
  Stmt s(db_, "INSERT INTO codes(id, system, code) VALUES(?, ?, ?)");
  s.Bind(1, id).Bind(2, std::string(system)).Bind(3, std::string(code));
  P4DP_TRY(s.Run());
  codes_.push_back({std::string(system), std::string(code)});
  code_ids_[lookup_] = id;
  return id;
}

Result<uint32_t> Catalog::CodeId(std::string_view system, std::string_view code, uint64_t hash) {
  if (const uint32_t* slot = code_by_hash_.find(hash)) {
    uint32_t id = *slot - 1;
    if (*slot != 0 && id < codes_.size() && codes_[id].code == code &&
        codes_[id].system == system) {
      return id;
    }
  }
  uint32_t id = P4DP_TRY(CodeId(system, code));
  code_by_hash_[hash] = id + 1;  // replaces a stale entry (rolled back, or a collision)
  return id;
}

Result<uint32_t> Catalog::UnitId(const std::string& unit) {
  if (unit.empty()) return 0u;
  auto it = unit_ids_.find(unit);
  if (it != unit_ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(units_.size());
  Stmt s(db_, "INSERT INTO units(id, unit) VALUES(?, ?)");
  s.Bind(1, id).Bind(2, unit);
  P4DP_TRY(s.Run());
  units_.push_back(unit);
  unit_ids_[unit] = id;
  return id;
}

Result<uint64_t> Catalog::NextSegmentId() {
  Stmt s(db_, "SELECT COALESCE(MAX(id), 0) + 1 FROM segments");
  P4DP_TRY(s.Prepared());
  if (s.Step() != SQLITE_ROW) return Status::IoError("catalog: cannot read segments");
  return static_cast<uint64_t>(s.Int(0));
}

Status Catalog::AddSegment(const SegmentRow& row) {
  Stmt s(db_,
         "INSERT INTO segments(id, file, events, patients, resources, bytes) "
         "VALUES(?, ?, ?, ?, ?, ?)");
  s.Bind(1, static_cast<int64_t>(row.id))
      .Bind(2, row.file)
      .Bind(3, row.events)
      .Bind(4, row.patients)
      .Bind(5, row.resources)
      .Bind(6, row.bytes);
  return s.Run();
}

Status Catalog::ReplaceSegments(const std::vector<uint64_t>& old_ids, const SegmentRow& merged) {
  for (uint64_t id : old_ids) {
    Stmt s(db_, "UPDATE segments SET state = 'merged' WHERE id = ?");
    s.Bind(1, static_cast<int64_t>(id));
    P4DP_TRY(s.Run());
  }
  return AddSegment(merged);
}

namespace {
Result<std::vector<SegmentRow>> Segments(sqlite3* db, const char* state) {
  Stmt s(db,
         "SELECT id, file, events, patients, resources, bytes FROM segments WHERE state = ? "
         "ORDER BY id");
  P4DP_TRY(s.Prepared());
  s.Bind(1, std::string(state));
  std::vector<SegmentRow> rows;
  while (s.Step() == SQLITE_ROW) {
    rows.push_back(
        {static_cast<uint64_t>(s.Int(0)), s.Text(1), s.Int(2), s.Int(3), s.Int(4), s.Int(5)});
  }
  return rows;
}
}  // namespace

Result<std::vector<SegmentRow>> Catalog::LiveSegments() { return Segments(db_, "live"); }
Result<std::vector<SegmentRow>> Catalog::MergedSegments() { return Segments(db_, "merged"); }

Status Catalog::ForgetSegment(uint64_t id) {
  Stmt s(db_, "DELETE FROM segments WHERE id = ? AND state = 'merged'");
  s.Bind(1, static_cast<int64_t>(id));
  return s.Run();
}

std::optional<domain::PatientKey> Catalog::FindPatientLink(const LinkHash& link) const {
  auto it = links_.find(link);
  if (it == links_.end()) return std::nullopt;
  return it->second;
}

Status Catalog::AddPatientLink(const LinkHash& link, const domain::PatientKey& key) {
  if (links_.count(link)) return Status::Ok();
  if (insert_link_ == nullptr &&
      sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO patient_links(link, patient_key) VALUES(?, ?)", -1,
                         &insert_link_, nullptr) != SQLITE_OK) {
    return Status::IoError(std::string("catalog: ") + sqlite3_errmsg(db_));
  }
  sqlite3_reset(insert_link_);
  sqlite3_bind_blob(insert_link_, 1, link.data(), static_cast<int>(link.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(insert_link_, 2, key.bytes.data(), static_cast<int>(key.bytes.size()),
                    SQLITE_TRANSIENT);
  if (sqlite3_step(insert_link_) != SQLITE_DONE) {
    return Status::IoError(std::string("catalog: ") + sqlite3_errmsg(db_));
  }
  links_[link] = key;
  links_added_.push_back(link);
  return Status::Ok();
}

Status Catalog::AddQuarantine(const LinkHash& record_key, const std::string& reason,
                              const std::string& resource_type, const std::string& sealed) {
  Stmt s(db_,
         "INSERT OR IGNORE INTO quarantine(record_key, reason, resource_type, sealed) "
         "VALUES(?, ?, ?, ?)");
  s.BindBlob(1, record_key.data(), record_key.size())
      .Bind(2, reason)
      .Bind(3, resource_type)
      .BindBlob(4, sealed.data(), sealed.size());
  return s.Run();
}

Result<std::map<std::string, int64_t>> Catalog::QuarantineCounts() {
  Stmt s(db_, "SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY reason");
  P4DP_TRY(s.Prepared());
  std::map<std::string, int64_t> counts;
  while (s.Step() == SQLITE_ROW) counts[s.Text(0)] = s.Int(1);
  return counts;
}

Result<std::vector<Catalog::QuarantineRow>> Catalog::QuarantineRows(int64_t limit) {
  Stmt s(db_, "SELECT id, reason, resource_type, sealed FROM quarantine ORDER BY id LIMIT ?");
  P4DP_TRY(s.Prepared());
  s.Bind(1, limit);
  std::vector<QuarantineRow> rows;
  while (s.Step() == SQLITE_ROW) rows.push_back({s.Int(0), s.Text(1), s.Text(2), s.Blob(3)});
  return rows;
}

Status Catalog::DeleteQuarantine(const std::vector<int64_t>& ids) {
  for (int64_t id : ids) {
    Stmt s(db_, "DELETE FROM quarantine WHERE id = ?");
    s.Bind(1, id);
    P4DP_TRY(s.Run());
  }
  return Status::Ok();
}

Status Catalog::MarkSegmentsMerged(const std::vector<uint64_t>& ids) {
  for (uint64_t id : ids) {
    Stmt s(db_, "UPDATE segments SET state = 'merged' WHERE id = ?");
    s.Bind(1, static_cast<int64_t>(id));
    P4DP_TRY(s.Run());
  }
  return Status::Ok();
}

Status Catalog::RedirectPatientLinks(
    const std::function<std::optional<domain::PatientKey>(const domain::PatientKey&)>& alias) {
  P4DP_ASSERT(in_transaction_);
  for (auto& [link, key] : links_) {
    std::optional<domain::PatientKey> to = alias(key);
    if (!to) continue;
    Stmt s(db_, "UPDATE patient_links SET patient_key = ? WHERE link = ?");
    s.BindBlob(1, to->bytes.data(), to->bytes.size()).BindBlob(2, link.data(), link.size());
    P4DP_TRY(s.Run());
    links_changed_.emplace_back(link, key);
    key = *to;
  }
  return Status::Ok();
}

Status Catalog::AddObjection(const LinkHash& id, const std::string& sealed, Days recorded) {
  Stmt s(db_, "INSERT OR IGNORE INTO objections(id, sealed, recorded_day) VALUES(?, ?, ?)");
  s.BindBlob(1, id.data(), id.size()).BindBlob(2, sealed.data(), sealed.size()).Bind(3, recorded);
  return s.Run();
}

namespace {
Result<std::vector<Catalog::ObjectionRow>> ObjectionsOf(sqlite3* db) {
  Stmt s(db, "SELECT number, id, sealed, recorded_day, erased_day FROM objections ORDER BY number");
  P4DP_TRY(s.Prepared());
  std::vector<Catalog::ObjectionRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    Catalog::ObjectionRow row;
    row.number = s.Int(0);
    std::string id = s.Blob(1);
    if (id.size() != row.id.size()) return Status::Corruption("catalog: bad objection id");
    std::memcpy(row.id.data(), id.data(), id.size());
    row.sealed = s.Blob(2);
    row.recorded = static_cast<Days>(s.Int(3));
    if (s.Text(4).empty()) {
      row.erased = Catalog::kNoErasure;
    } else {
      row.erased = static_cast<Days>(s.Int(4));
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return Status::IoError(std::string("catalog: ") + sqlite3_errmsg(db));
  return rows;
}
}  // namespace

Result<std::vector<Catalog::ObjectionRow>> Catalog::Objections() { return ObjectionsOf(db_); }

Status Catalog::MarkObjectionsErased(int64_t up_to_number, Days day) {
  Stmt s(db_, "UPDATE objections SET erased_day = ? WHERE erased_day IS NULL AND number <= ?");
  s.Bind(1, day).Bind(2, up_to_number);
  return s.Run();
}

Result<std::vector<Catalog::ObjectionRow>> Catalog::ReadObjections(const std::string& path) {
  sqlite3* db = P4DP_TRY(OpenDb(path, SQLITE_OPEN_READONLY));
  auto rows = ObjectionsOf(db);
  sqlite3_close(db);
  if (!rows.ok()) {
    return Status(rows.status().code(), "objections of '" + path + "': " + rows.status().message());
  }
  return rows;
}

Status Catalog::Snapshot(const std::string& path, const std::string& out) {
  sqlite3* db = P4DP_TRY(OpenDb(path, SQLITE_OPEN_READONLY));
  Status status;
  {
    Stmt s(db, "VACUUM INTO ?");
    s.Bind(1, out);
    status = s.Run();
  }
  sqlite3_close(db);
  if (!status.ok()) return Status(status.code(), "snapshot of '" + path + "': " + status.message());
  return Status::Ok();
}

Result<int64_t> Catalog::DataVersion() {
  Stmt s(db_, "PRAGMA data_version");
  P4DP_TRY(s.Prepared());
  if (s.Step() != SQLITE_ROW) return Status::IoError("catalog: cannot read data_version");
  return s.Int(0);
}

Status Catalog::Checkpoint() { return Exec("PRAGMA wal_checkpoint(TRUNCATE);"); }

}  // namespace p4dp::store
