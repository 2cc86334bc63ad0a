#include "access/catalog.h"

#include <nlohmann/json.hpp>

#include "access/sqlite.h"
#include "crypto/totp.h"

namespace p4dp::access {

using internal::Db;
using internal::Stmt;
using internal::Transaction;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  totp_sealed BLOB,
  roles INTEGER NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS projects (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL, purpose TEXT NOT NULL, legal_ref TEXT NOT NULL,
  end_day INTEGER, disclosure TEXT NOT NULL, min_cell INTEGER NOT NULL,
  domains TEXT NOT NULL, from_day INTEGER, to_day INTEGER, population TEXT NOT NULL,
  closed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS memberships (
  project_id TEXT NOT NULL REFERENCES projects(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (project_id, user_id));
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS totp_steps (
  user_id INTEGER PRIMARY KEY REFERENCES users(id),
  last_step INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recent_queries (
  id INTEGER PRIMARY KEY,
  user TEXT NOT NULL, project TEXT NOT NULL, time_ms INTEGER NOT NULL,
  fingerprint TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recent_queries_by_pair ON recent_queries (user, project, time_ms);
CREATE TABLE IF NOT EXISTS released_counts (
  user TEXT NOT NULL, project TEXT NOT NULL, count INTEGER NOT NULL, time_ms INTEGER NOT NULL,
  PRIMARY KEY (user, project, count));
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL, kind TEXT NOT NULL, user TEXT NOT NULL, project TEXT NOT NULL,
  detail TEXT NOT NULL, acknowledged_by TEXT NOT NULL DEFAULT '',
  acknowledged_ms INTEGER NOT NULL DEFAULT 0);
)sql";

std::string TotpAssociated(std::string_view name) { return "totp:" + std::string(name); }

std::string JoinCommas(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> SplitCommas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    if (comma > 0) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

void BindDay(Stmt& s, int i, const std::optional<Days>& day) {
  if (day) {
    s.Bind(i, int64_t{*day});
  } else {
    s.BindNull(i);
  }
}

std::optional<Days> DayAt(const Stmt& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return static_cast<Days>(s.Int(col));
}

}  // namespace

std::string_view DisclosureName(Disclosure d) {
  return d == Disclosure::kPatientList ? "patient_list" : "aggregate";
}

std::optional<Disclosure> ParseDisclosure(std::string_view name) {
  if (name == "aggregate") return Disclosure::kAggregate;
  if (name == "patient_list") return Disclosure::kPatientList;
  return std::nullopt;
}

Status CheckName(std::string_view what, std::string_view name) {
  bool ok = !name.empty() && name.size() <= kNameBytesMax;
  for (size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '.' || c == '_' || c == '-'));
  }
  if (!ok) {
    return Status::InvalidArgument(std::string(what) + ": 1 to " + std::to_string(kNameBytesMax) +
                                   " characters of a-z 0-9 . _ - (starting with a-z or 0-9)");
  }
  return Status::Ok();
}

Result<std::unique_ptr<AccessCatalog>> AccessCatalog::Open(const std::string& data_dir,
                                                           const crypto::Key& catalog_key,
                                                           CatalogOptions options) {
  auto db = P4DP_TRY(Db::Open(data_dir + "/" + kCatalogFileName, "access catalog", kSchema));
  return std::unique_ptr<AccessCatalog>(new AccessCatalog(std::move(db), catalog_key, options));
}

AccessCatalog::AccessCatalog(std::unique_ptr<Db> db, crypto::Key key, CatalogOptions options)
    : db_(std::move(db)), key_(std::move(key)), options_(options) {}

AccessCatalog::~AccessCatalog() = default;

Result<int64_t> AccessCatalog::UserCount() {
  std::lock_guard lock(mu_);
  Stmt s(*db_, "SELECT count(*) FROM users");
  if (!s.Next()) return s.status();
  return s.Int(0);
}

Result<std::string> AccessCatalog::AddUser(std::string_view name, RoleMask roles,
                                           std::string_view password) {
  P4DP_TRY(CheckName("user name", name));
  if (roles == 0 || (roles & ~kAllRoles) != 0) {
    return Status::InvalidArgument("user: give at least one role");
  }
  auto hash = P4DP_TRY(crypto::HashPassword(password, options_.password_cost));
  std::string secret;
  std::string sealed;
  if (roles & kTotpRoles) {
    secret = crypto::NewTotpSecret();
    sealed = crypto::Seal(key_, secret, TotpAssociated(name));
  }
  std::lock_guard lock(mu_);
  if (FindUserLocked(name).ok()) {
    return Status::AlreadyExists("user '" + std::string(name) + "' already exists");
  }
  Stmt s(*db_, "INSERT INTO users (name, password_hash, totp_sealed, roles) VALUES (?,?,?,?)");
  s.Bind(1, name).Bind(2, hash).Bind(4, int64_t{roles});
  if (sealed.empty()) {
    s.BindNull(3);
  } else {
    s.BindBlob(3, sealed);
  }
  P4DP_TRY(s.Run());
  return secret;
}

Result<User> AccessCatalog::FindUserLocked(std::string_view name) {
  Stmt s(*db_,
         "SELECT id, name, roles, enabled, failures, locked_until, totp_sealed IS NOT NULL "
         "FROM users WHERE name = ?");
  s.Bind(1, name);
  if (!s.Next()) {
    P4DP_TRY(s.status());
    return Status::NotFound("no user '" + std::string(name) + "'");
  }
  return User{.id = s.Int(0),
              .name = s.Text(1),
              .roles = static_cast<RoleMask>(s.Int(2)),
              .enabled = s.Int(3) != 0,
              .failures = static_cast<int>(s.Int(4)),
              .locked_until_s = s.Int(5),
              .has_totp = s.Int(6) != 0};
}

Result<User> AccessCatalog::FindUser(std::string_view name) {
  std::lock_guard lock(mu_);
  return FindUserLocked(name);
}

Result<std::vector<User>> AccessCatalog::ListUsers() {
  std::lock_guard lock(mu_);
  Stmt s(*db_, "SELECT name FROM users ORDER BY name");
  std::vector<std::string> names;
  while (s.Next()) names.push_back(s.Text(0));
  P4DP_TRY(s.status());
  std::vector<User> users;
  for (const std::string& n : names) users.push_back(P4DP_TRY(FindUserLocked(n)));
  return users;
}

Status AccessCatalog::DisableUser(std::string_view name) {
  std::lock_guard lock(mu_);
  auto user = P4DP_TRY(FindUserLocked(name));
  Transaction t(*db_);
  P4DP_TRY(t.status());
  Stmt s(*db_, "UPDATE users SET enabled = 0 WHERE id = ?");
  P4DP_TRY(s.Bind(1, user.id).Run());
  Stmt d(*db_, "DELETE FROM sessions WHERE user_id = ?");
  P4DP_TRY(d.Bind(1, user.id).Run());
  return t.Commit();
}

Status AccessCatalog::SetPassword(std::string_view name, std::string_view password) {
  auto hash = P4DP_TRY(crypto::HashPassword(password, options_.password_cost));
  std::lock_guard lock(mu_);
  auto user = P4DP_TRY(FindUserLocked(name));
  Stmt s(*db_, "UPDATE users SET password_hash = ?, failures = 0, locked_until = 0 WHERE id = ?");
  return s.Bind(1, hash).Bind(2, user.id).Run();
}

Result<bool> AccessCatalog::CheckPassword(std::string_view name, std::string_view password) {
  std::string hash;
  {
    std::lock_guard lock(mu_);
    Stmt s(*db_, "SELECT password_hash FROM users WHERE name = ? AND enabled = 1");
    s.Bind(1, name);
    if (!s.Next()) {
      P4DP_TRY(s.status());
      return false;
    }
    hash = s.Text(0);
  }
  // Outside the lock: hashing takes tens of milliseconds.
  return crypto::VerifyPassword(hash, password);
}

Result<bool> AccessCatalog::ClaimTotpStep(std::string_view name, int64_t step) {
  std::lock_guard lock(mu_);
  User user = P4DP_TRY(FindUserLocked(name));
  // One statement: two processes presenting the same code cannot both claim its step.
  Stmt s(*db_,
         "INSERT INTO totp_steps (user_id, last_step) VALUES (?1, ?2) "
         "ON CONFLICT (user_id) DO UPDATE SET last_step = excluded.last_step "
         "WHERE last_step < excluded.last_step RETURNING last_step");
  s.Bind(1, user.id).Bind(2, step);
  bool claimed = s.Next();
  P4DP_TRY(s.status());
  return claimed;
}

Result<std::string> AccessCatalog::TotpSecret(std::string_view name) {
  std::lock_guard lock(mu_);
  Stmt s(*db_, "SELECT totp_sealed FROM users WHERE name = ?");
  s.Bind(1, name);
  if (!s.Next()) {
    P4DP_TRY(s.status());
    return Status::NotFound("no user '" + std::string(name) + "'");
  }
  if (s.IsNull(0)) return std::string();
  auto secret = crypto::Open(key_, s.Text(0), TotpAssociated(name));
  if (!secret.ok()) return Status::Corruption("access catalog: a TOTP secret does not open");
  return std::move(*secret);
}

Result<bool> AccessCatalog::RecordFailure(std::string_view name, int failures_max, int64_t now_s,
                                          int64_t lock_s) {
  std::lock_guard lock(mu_);
  auto user = FindUserLocked(name);
  if (!user.ok())
    return user.status().code() == StatusCode::kNotFound ? Result<bool>(false) : user.status();
  int failures = user->failures + 1;
  bool lock_now = failures >= failures_max;
  Stmt s(*db_, "UPDATE users SET failures = ?, locked_until = ? WHERE id = ?");
  s.Bind(1, int64_t{lock_now ? 0 : failures})
      .Bind(2, lock_now ? now_s + lock_s : user->locked_until_s)
      .Bind(3, user->id);
  P4DP_TRY(s.Run());
  return lock_now;
}

Status AccessCatalog::ResetFailures(std::string_view name) {
  std::lock_guard lock(mu_);
  Stmt s(*db_, "UPDATE users SET failures = 0 WHERE name = ?");
  return s.Bind(1, name).Run();
}

Status AccessCatalog::CreateProject(const Project& p) {
  P4DP_TRY(CheckName("project id", p.id));
  if (p.min_cell < 1) return Status::InvalidArgument("project: min_cell must be at least 1");
  if (p.from && p.to && *p.from > *p.to) {
    return Status::InvalidArgument("project: the period starts after it ends");
  }
  std::lock_guard lock(mu_);
  Stmt s(*db_,
         "INSERT INTO projects (id, title, purpose, legal_ref, end_day, disclosure, min_cell, "
         "domains, from_day, to_day, population, closed) VALUES (?,?,?,?,?,?,?,?,?,?,?,0)");
  s.Bind(1, p.id).Bind(2, p.title).Bind(3, p.purpose).Bind(4, p.legal_ref);
  BindDay(s, 5, p.end);
  s.Bind(6, DisclosureName(p.disclosure)).Bind(7, p.min_cell).Bind(8, JoinCommas(p.domains));
  BindDay(s, 9, p.from);
  BindDay(s, 10, p.to);
  s.Bind(11, p.population);
  Status st = s.Run();
  if (!st.ok()) {
    Stmt exists(*db_, "SELECT 1 FROM projects WHERE id = ?");
    exists.Bind(1, p.id);
    if (exists.Next()) return Status::AlreadyExists("project '" + p.id + "' already exists");
  }
  return st;
}

Result<Project> AccessCatalog::FindProject(std::string_view id) {
  std::lock_guard lock(mu_);
  Stmt s(*db_,
         "SELECT id, title, purpose, legal_ref, end_day, disclosure, min_cell, domains, from_day, "
         "to_day, population, closed FROM projects WHERE id = ?");
  s.Bind(1, id);
  if (!s.Next()) {
    P4DP_TRY(s.status());
    return Status::NotFound("no project '" + std::string(id) + "'");
  }
  Project p;
  p.id = s.Text(0);
  p.title = s.Text(1);
  p.purpose = s.Text(2);
  p.legal_ref = s.Text(3);
  p.end = DayAt(s, 4);
  p.disclosure = ParseDisclosure(s.Text(5)).value_or(Disclosure::kAggregate);
  p.min_cell = s.Int(6);
  p.domains = SplitCommas(s.Text(7));
  p.from = DayAt(s, 8);
  p.to = DayAt(s, 9);
  p.population = s.Text(10);
  p.closed = s.Int(11) != 0;
  Stmt m(*db_,
         "SELECT u.name FROM memberships m JOIN users u ON u.id = m.user_id "
         "WHERE m.project_id = ? ORDER BY u.name");
  m.Bind(1, id);
  while (m.Next()) p.members.push_back(m.Text(0));
  P4DP_TRY(m.status());
  return p;
}

Result<std::vector<Project>> AccessCatalog::ListProjects() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    Stmt s(*db_, "SELECT id FROM projects ORDER BY id");
    while (s.Next()) ids.push_back(s.Text(0));
    P4DP_TRY(s.status());
  }
  std::vector<Project> projects;
  for (const std::string& id : ids) projects.push_back(P4DP_TRY(FindProject(id)));
  return projects;
}

Status AccessCatalog::AddMember(std::string_view project_id, std::string_view user) {
  P4DP_TRY(FindProject(project_id));
  std::lock_guard lock(mu_);
  auto u = P4DP_TRY(FindUserLocked(user));
  Stmt s(*db_, "INSERT OR IGNORE INTO memberships (project_id, user_id) VALUES (?, ?)");
  return s.Bind(1, project_id).Bind(2, u.id).Run();
}

Status AccessCatalog::CloseProject(std::string_view project_id) {
  P4DP_TRY(FindProject(project_id));
  std::lock_guard lock(mu_);
  Stmt s(*db_, "UPDATE projects SET closed = 1 WHERE id = ?");
  return s.Bind(1, project_id).Run();
}

Result<std::string> AccessCatalog::CreateSession(std::string_view user, int64_t now_s,
                                                 int64_t expires_s) {
  std::lock_guard lock(mu_);
  auto u = P4DP_TRY(FindUserLocked(user));
  std::string token = crypto::RandomHex(32);
  {
    // Sessions past their expiry are of no use: they go when a new one is made.
    Stmt old(*db_, "DELETE FROM sessions WHERE expires <= ?");
    P4DP_TRY(old.Bind(1, now_s).Run());
  }
  Stmt s(*db_, "INSERT INTO sessions (token_hash, user_id, expires) VALUES (?, ?, ?)");
  P4DP_TRY(s.Bind(1, crypto::Sha256Hex(token)).Bind(2, u.id).Bind(3, expires_s).Run());
  return token;
}

Result<std::string> AccessCatalog::SessionUser(std::string_view token, int64_t now_s) {
  std::lock_guard lock(mu_);
  Stmt s(*db_,
         "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id "
         "WHERE s.token_hash = ? AND s.expires > ? AND u.enabled = 1");
  s.Bind(1, crypto::Sha256Hex(token)).Bind(2, now_s);
  if (!s.Next()) {
    P4DP_TRY(s.status());
    return Status::NotFound("no live session");
  }
  return s.Text(0);
}

Status AccessCatalog::DeleteSession(std::string_view token) {
  std::lock_guard lock(mu_);
  Stmt s(*db_, "DELETE FROM sessions WHERE token_hash = ?");
  return s.Bind(1, crypto::Sha256Hex(token)).Run();
}

Result<int64_t> AccessCatalog::AddIncident(const Incident& i) {
  std::lock_guard lock(mu_);
  Stmt s(*db_, "INSERT INTO incidents (time_ms, kind, user, project, detail) VALUES (?,?,?,?,?)");
  s.Bind(1, i.time_ms).Bind(2, i.kind).Bind(3, i.user).Bind(4, i.project).Bind(5, i.detail);
  P4DP_TRY(s.Run());
  Stmt id(*db_, "SELECT last_insert_rowid()");
  if (!id.Next()) return id.status();
  return id.Int(0);
}

Result<std::vector<Incident>> AccessCatalog::ListIncidents(bool all) {
  std::lock_guard lock(mu_);
  Stmt s(*db_, all ? "SELECT id, time_ms, kind, user, project, detail, acknowledged_by, "
                     "acknowledged_ms FROM incidents ORDER BY id"
                   : "SELECT id, time_ms, kind, user, project, detail, acknowledged_by, "
                     "acknowledged_ms FROM incidents WHERE acknowledged_ms = 0 ORDER BY id");
  std::vector<Incident> out;
  while (s.Next()) {
    out.push_back({.id = s.Int(0),
                   .time_ms = s.Int(1),
                   .kind = s.Text(2),
                   .user = s.Text(3),
                   .project = s.Text(4),
                   .detail = s.Text(5),
                   .acknowledged_by = s.Text(6),
                   .acknowledged_ms = s.Int(7)});
  }
  P4DP_TRY(s.status());
  return out;
}

Status AccessCatalog::AcknowledgeIncident(int64_t id, std::string_view by, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Stmt find(*db_, "SELECT acknowledged_ms FROM incidents WHERE id = ?");
  find.Bind(1, id);
  if (!find.Next()) {
    P4DP_TRY(find.status());
    return Status::NotFound("no incident " + std::to_string(id));
  }
  if (find.Int(0) != 0) {
    return Status::FailedPrecondition("incident " + std::to_string(id) +
                                      " is already acknowledged");
  }
  Stmt s(*db_, "UPDATE incidents SET acknowledged_by = ?, acknowledged_ms = ? WHERE id = ?");
  return s.Bind(1, by).Bind(2, now_ms).Bind(3, id).Run();
}

Result<bool> AccessCatalog::HasOpenIncident(std::string_view kind, std::string_view user,
                                            int64_t since_ms) {
  std::lock_guard lock(mu_);
  Stmt s(*db_,
         "SELECT 1 FROM incidents WHERE kind = ? AND user = ? AND time_ms >= ? "
         "AND acknowledged_ms = 0 LIMIT 1");
  s.Bind(1, kind).Bind(2, user).Bind(3, since_ms);
  bool found = s.Next();
  P4DP_TRY(s.status());
  return found;
}

Status AccessCatalog::AdmitQuery(
    std::string_view user, std::string_view project, int64_t now_ms, int64_t since_ms,
    std::string_view fingerprint,
    const std::function<Status(const std::vector<std::string>&)>& admit) {
  std::lock_guard lock(mu_);
  // BEGIN IMMEDIATE: two processes cannot both see room for one more query.
  Transaction t(*db_);
  P4DP_TRY(t.status());
  {
    Stmt old(*db_, "DELETE FROM recent_queries WHERE user = ? AND project = ? AND time_ms < ?");
    P4DP_TRY(old.Bind(1, user).Bind(2, project).Bind(3, since_ms).Run());
  }
  std::vector<std::string> recent;
  {
    Stmt s(*db_, "SELECT fingerprint FROM recent_queries WHERE user = ? AND project = ?");
    s.Bind(1, user).Bind(2, project);
    while (s.Next()) recent.push_back(s.Text(0));
    P4DP_TRY(s.status());
  }
  P4DP_TRY(admit(recent));
  Stmt add(*db_,
           "INSERT INTO recent_queries (user, project, time_ms, fingerprint) VALUES (?,?,?,?)");
  P4DP_TRY(add.Bind(1, user).Bind(2, project).Bind(3, now_ms).Bind(4, fingerprint).Run());
  return t.Commit();
}

Result<std::vector<int64_t>> AccessCatalog::ReleasedCounts(std::string_view user,
                                                           std::string_view project,
                                                           int64_t since_ms) {
  std::lock_guard lock(mu_);
  {
    Stmt old(*db_, "DELETE FROM released_counts WHERE user = ? AND project = ? AND time_ms < ?");
    P4DP_TRY(old.Bind(1, user).Bind(2, project).Bind(3, since_ms).Run());
  }
  Stmt s(*db_, "SELECT count FROM released_counts WHERE user = ? AND project = ? ORDER BY time_ms");
  s.Bind(1, user).Bind(2, project);
  std::vector<int64_t> out;
  while (s.Next()) out.push_back(s.Int(0));
  P4DP_TRY(s.status());
  return out;
}

Status AccessCatalog::NoteReleasedCounts(std::string_view user, std::string_view project,
                                         int64_t now_ms, std::span<const int64_t> counts) {
  std::lock_guard lock(mu_);
  Transaction t(*db_);
  P4DP_TRY(t.status());
  for (int64_t count : counts) {
    Stmt s(*db_,
           "INSERT INTO released_counts (user, project, count, time_ms) VALUES (?,?,?,?) "
           "ON CONFLICT (user, project, count) DO UPDATE SET time_ms = excluded.time_ms");
    P4DP_TRY(s.Bind(1, user).Bind(2, project).Bind(3, count).Bind(4, now_ms).Run());
  }
  return t.Commit();
}

std::string ProjectToJson(const Project& p, Days today) {
  using nlohmann::ordered_json;
  auto day = [](const std::optional<Days>& d) {
    return d ? ordered_json(FormatIsoDate(*d)) : ordered_json(nullptr);
  };
  const bool ended = p.end && today > *p.end;
  return ordered_json{{"project", p.id},
                      {"title", p.title},
                      {"purpose", p.purpose},
                      {"legal_ref", p.legal_ref},
                      {"end", day(p.end)},
                      {"state", p.closed ? "closed"
                                : ended  ? "ended"
                                         : "open"},
                      {"disclosure", DisclosureName(p.disclosure)},
                      {"min_cell", p.min_cell},
                      {"domains", p.domains},
                      {"from", day(p.from)},
                      {"to", day(p.to)},
                      {"population", !p.population.empty()},
                      {"members", p.members}}
      .dump();
}

}  // namespace p4dp::access
