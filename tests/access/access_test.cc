// Unit tests of the access layer: password hashing and TOTP, the policy table, the access
// catalog (users, projects, sessions, incidents), login with lock-out, and the audit trail's
// hash chain: any edited, deleted or reordered entry is found and named, and a purge keeps
// what remains verifiable.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <algorithm>

#include <filesystem>
#include <fstream>
#include <string>

#include "access/audit.h"
#include "access/catalog.h"
#include "access/control.h"
#include "access/policy.h"
#include "base/clock.h"
#include "crypto/password.h"
#include "crypto/totp.h"

namespace p4dp::access {
namespace {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/access_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string why = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << why;
}

TEST(Password, HashesVerifyAndDiffer) {
  auto a = crypto::HashPassword("correct horse", crypto::PasswordCost::kMinimumForTesting);
  auto b = crypto::HashPassword("correct horse", crypto::PasswordCost::kMinimumForTesting);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b) << "salted";
  EXPECT_EQ(a->rfind("$argon2id$", 0), 0u) << *a;
  EXPECT_EQ(a->find("correct"), std::string::npos);
  EXPECT_TRUE(crypto::VerifyPassword(*a, "correct horse"));
  EXPECT_FALSE(crypto::VerifyPassword(*a, "correct horsE"));
  EXPECT_FALSE(crypto::VerifyPassword("garbage", "correct horse"));
  EXPECT_FALSE(crypto::HashPassword("").ok());
}

TEST(Totp, CodesValidateWithinTheWindowOnly) {
  std::string secret = crypto::NewTotpSecret();
  ASSERT_EQ(secret.size(), crypto::kTotpSecretBytes);
  const int64_t now = 1'780'000'000;
  auto code = crypto::TotpCode(secret, now);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->size(), 6u);
  EXPECT_TRUE(crypto::TotpValid(secret, *code, now));
  EXPECT_TRUE(crypto::TotpValid(secret, *code, now + 30));
  EXPECT_FALSE(crypto::TotpValid(secret, *code, now + 300));
  EXPECT_FALSE(crypto::TotpValid(crypto::NewTotpSecret(), *code, now));
  EXPECT_FALSE(crypto::TotpValid(secret, "12345a", now));
  // RFC 6238 appendix B, SHA-1: "12345678901234567890" at 59 s gives 94287082 (8 digits).
  auto rfc = crypto::TotpCode("12345678901234567890", 59);
  ASSERT_TRUE(rfc.ok());
  EXPECT_EQ(*rfc, "287082");
  auto uri = crypto::TotpUri("p4dp", "alice", "12345678901234567890");
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(*uri,
            "otpauth://totp/p4dp:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=p4dp&digits=6&period=30");
}

TEST(Policy, TableIsCompleteAndDecidesInOrder) {
  for (size_t i = 0; i < Rules().size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(Rules()[i].action), i) << Rules()[i].name;
  }
  Principal researcher{.user = "r", .roles = Bit(Role::kResearcher)};
  ProjectState open{.caller_is_member = true};
  const Days today = 20000;
  EXPECT_EQ(Decide(Action::kCohortCount, nullptr, true, &open, today).status, 401);
  EXPECT_EQ(Decide(Action::kLogin, nullptr, false, nullptr, today).status, 200);
  EXPECT_EQ(Decide(Action::kCohortCount, &researcher, true, &open, today).status, 200);
  EXPECT_EQ(Decide(Action::kCohortCount, &researcher, false, nullptr, today).status, 403);
  EXPECT_EQ(Decide(Action::kCohortCount, &researcher, true, nullptr, today).status, 403);
  EXPECT_EQ(Decide(Action::kCohortPatients, &researcher, true, &open, today).status, 403);
  ProjectState ended = open;
  ended.end = today - 1;
  EXPECT_EQ(Decide(Action::kCohortCount, &researcher, true, &ended, today).status, 403);
  ended.end = today;
  EXPECT_EQ(Decide(Action::kCohortCount, &researcher, true, &ended, today).status, 200);
  Principal admin{.user = "a", .roles = Bit(Role::kAdmin)};
  EXPECT_EQ(Decide(Action::kCohortCount, &admin, true, &open, today).status, 403);
  Principal boot{.user = "b", .roles = kAllRoles, .bootstrap = true};
  EXPECT_EQ(Decide(Action::kCohortPatients, &boot, false, nullptr, today).status, 200);
  EXPECT_EQ(RoleMaskText(Bit(Role::kAuditor) | Bit(Role::kAdmin)), "admin,auditor");
  EXPECT_EQ(ParseRole("epidemiologist"), Role::kEpidemiologist);
  EXPECT_FALSE(ParseRole("root").has_value());
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    clock_.SetMicros(int64_t{1'780'000'000} * 1'000'000);
    auto control = AccessControl::Open(
        dir_, key_, {.password_cost = crypto::PasswordCost::kMinimumForTesting, .clock = &clock_});
    ASSERT_TRUE(control.ok()) << control.status().ToString();
    control_ = std::move(*control);
  }
  int64_t NowS() const { return clock_.NowMicros() / 1'000'000; }

  std::string dir_;
  crypto::Key key_ = crypto::Key::Random();
  ManualClock clock_{0};
  std::unique_ptr<AccessControl> control_;
};

TEST_F(ControlTest, LoginNeedsPasswordAndTotpForTheRolesThatNeedIt) {
  AccessCatalog& c = control_->catalog();
  auto none = c.AddUser("rita", Bit(Role::kResearcher), "pw-rita-1");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "") << "no TOTP for a researcher";
  auto secret = c.AddUser("adam", Bit(Role::kAdmin), "pw-adam-1");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->size(), crypto::kTotpSecretBytes);
  EXPECT_EQ(c.AddUser("rita", Bit(Role::kAuditor), "x").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_FALSE(c.AddUser("Bad Name", Bit(Role::kAuditor), "x").ok());

  EXPECT_EQ(control_->Login("rita", "wrong", "").status, 401);
  LoginResult rita = control_->Login("rita", "pw-rita-1", "");
  ASSERT_EQ(rita.status, 200);
  EXPECT_EQ(rita.token.size(), 64u);
  EXPECT_EQ(rita.expires_s, NowS() + kSessionSecondsDefault);
  auto who = control_->Authenticate(rita.token);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->user, "rita");
  EXPECT_FALSE(control_->Authenticate(rita.token + "0").has_value());

  EXPECT_EQ(control_->Login("adam", "pw-adam-1", "").status, 401) << "admin needs TOTP";
  auto code = crypto::TotpCode(*secret, NowS());
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(control_->Login("adam", "pw-adam-1", *code).status, 200);
  EXPECT_EQ(control_->Login("adam", "pw-wrong", *code).status, 401);

  // Expiry and logout.
  clock_.AdvanceMicros((kSessionSecondsDefault + 1) * 1'000'000);
  EXPECT_FALSE(control_->Authenticate(rita.token).has_value()) << "expired";
  LoginResult again = control_->Login("rita", "pw-rita-1", "");
  ASSERT_EQ(again.status, 200);
  EXPECT_TRUE(control_->Authenticate(again.token).has_value());
  ASSERT_TRUE(control_->Logout(again.token).ok());
  EXPECT_FALSE(control_->Authenticate(again.token).has_value());
  // The catalog keeps no token and no password in clear.
  std::ifstream raw(dir_ + "/access.db", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(raw)), {});
  EXPECT_EQ(bytes.find(rita.token), std::string::npos);
  EXPECT_EQ(bytes.find("pw-rita-1"), std::string::npos);
}

TEST_F(ControlTest, ATotpCodeIsAcceptedOnceAndNeverAfterANewerOne) {
  auto secret = control_->catalog().AddUser("adam", Bit(Role::kAdmin), "pw-adam-1");
  ASSERT_TRUE(secret.ok());
  auto code = crypto::TotpCode(*secret, NowS());
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(control_->Login("adam", "pw-adam-1", *code).status, 200);
  // The same code again, within its window: refused, here and by another process.
  EXPECT_EQ(control_->Login("adam", "pw-adam-1", *code).status, 401) << "replayed";
  auto other = AccessControl::Open(
      dir_, key_, {.password_cost = crypto::PasswordCost::kMinimumForTesting, .clock = &clock_});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->Login("adam", "pw-adam-1", *code).status, 401) << "replayed elsewhere";
  clock_.AdvanceMicros(int64_t{crypto::kTotpStepSeconds} * 1'000'000);
  ASSERT_TRUE(crypto::TotpValid(*secret, *code, NowS())) << "still inside its window";
  EXPECT_EQ(control_->Login("adam", "pw-adam-1", *code).status, 401) << "still replayed";
  auto next = crypto::TotpCode(*secret, NowS());
  ASSERT_TRUE(next.ok());
  ASSERT_NE(*next, *code);
  EXPECT_EQ((*other)->Login("adam", "pw-adam-1", *next).status, 200) << "a new step's code";
  // An older step's code (the window allows one step back) after a newer one: refused.
  auto back = crypto::TotpCode(*secret, NowS() - crypto::kTotpStepSeconds);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(crypto::TotpMatchStep(*secret, *back, NowS()), NowS() / crypto::kTotpStepSeconds - 1);
  EXPECT_EQ(control_->Login("adam", "pw-adam-1", *next).status, 401);
  auto user = control_->catalog().FindUser("adam");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->failures, 1) << "a replay counts as a failed login";
}

TEST_F(ControlTest, TheCommandLinesQueryGuardHoldsAcrossProcesses) {
  const QueryGuardOptions options{
      .window_seconds = 3600, .queries_max = 3, .near_identical_max = 2};
  auto other = AccessControl::Open(
      dir_, key_, {.password_cost = crypto::PasswordCost::kMinimumForTesting, .clock = &clock_});
  ASSERT_TRUE(other.ok());
  const QueryFingerprint same{.entry = 7, .rules = {1, 2}};
  // The rate limit: three queries, alternately from two "processes", then a refusal.
  EXPECT_TRUE(control_->AdmitQuery("rita", "p1", same, options).ok());
  EXPECT_TRUE((*other)->AdmitQuery("rita", "p1", same, options).ok());
  EXPECT_TRUE(control_->AdmitQuery("rita", "p1", same, options).ok());
  Status refused = (*other)->AdmitQuery("rita", "p1", same, options);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("rate limit: 3 queries"), std::string::npos);
  EXPECT_TRUE(control_->AdmitQuery("rita", "p2", same, options).ok()) << "per project";
  EXPECT_TRUE(control_->AdmitQuery("bob", "p1", same, options).ok()) << "per user";
  // The differencing guard: queries one criterion apart.
  EXPECT_TRUE(control_->AdmitQuery("eve", "p1", {.entry = 1, .rules = {9}}, options).ok());
  EXPECT_TRUE((*other)->AdmitQuery("eve", "p1", {.entry = 2, .rules = {9}}, options).ok());
  Status near = control_->AdmitQuery("eve", "p1", {.entry = 3, .rules = {9}}, options);
  EXPECT_EQ(near.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(near.message().find("differencing guard: 2 queries"), std::string::npos);
  // Counts released, seen by the other process, forgotten after the window.
  const std::vector<int64_t> shown = {40, 12};
  ASSERT_TRUE(control_->NoteReleased("rita", "p1", shown).ok());
  auto released = (*other)->ReleasedCounts("rita", "p1", options);
  ASSERT_TRUE(released.ok());
  std::sort(released->begin(), released->end());  // a set: the order is not part of it
  EXPECT_EQ(*released, (std::vector<int64_t>{12, 40}));
  EXPECT_TRUE((*other)->ReleasedCounts("rita", "p2", options)->empty());
  clock_.AdvanceMicros(options.window_seconds * 1'000'000);
  EXPECT_TRUE(control_->AdmitQuery("rita", "p1", same, options).ok()) << "the window passed";
  EXPECT_TRUE((*other)->ReleasedCounts("rita", "p1", options)->empty());
}

TEST_F(ControlTest, FiveFailuresLockTheUserAndOpenAnIncident) {
  ASSERT_TRUE(control_->catalog().AddUser("rita", Bit(Role::kResearcher), "pw-rita-1").ok());
  for (int i = 0; i < kLoginFailuresMaxDefault; ++i) {
    EXPECT_EQ(control_->Login("rita", "nope", "").status, 401);
  }
  EXPECT_EQ(control_->Login("rita", "pw-rita-1", "").status, 401) << "locked";
  auto incidents = control_->catalog().ListIncidents(false);
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 1u);
  EXPECT_EQ((*incidents)[0].kind, "lockout");
  EXPECT_EQ((*incidents)[0].user, "rita");
  clock_.AdvanceMicros((kLockoutSecondsDefault + 1) * 1'000'000);
  EXPECT_EQ(control_->Login("rita", "pw-rita-1", "").status, 200) << "lock expired";
  ASSERT_TRUE(control_->catalog().AcknowledgeIncident((*incidents)[0].id, "adam", 1).ok());
  EXPECT_TRUE(control_->catalog().ListIncidents(false)->empty());
  EXPECT_EQ(control_->catalog().ListIncidents(true)->size(), 1u);
}

TEST_F(ControlTest, AuthorizeUsesMembershipClosureAndDisclosure) {
  AccessCatalog& c = control_->catalog();
  ASSERT_TRUE(c.AddUser("ivan", Bit(Role::kInvestigator), "pw").ok());
  ASSERT_TRUE(c.AddUser("rita", Bit(Role::kResearcher), "pw").ok());
  Project agg{.id = "agg", .title = "t"};
  Project list{.id = "list", .title = "t", .disclosure = Disclosure::kPatientList};
  ASSERT_TRUE(c.CreateProject(agg).ok());
  ASSERT_TRUE(c.CreateProject(list).ok());
  EXPECT_EQ(c.CreateProject(agg).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(c.AddMember("agg", "ivan").ok());
  ASSERT_TRUE(c.AddMember("list", "ivan").ok());
  ASSERT_TRUE(c.AddMember("agg", "rita").ok());
  EXPECT_FALSE(c.AddMember("agg", "nobody").ok());
  auto ivan = control_->Operator("ivan");
  ASSERT_TRUE(ivan.ok() && ivan->has_value());
  auto rita = control_->Operator("rita");
  EXPECT_EQ(control_->Authorize(Action::kCohortPatients, *ivan, "list").decision.status, 200);
  EXPECT_EQ(control_->Authorize(Action::kCohortPatients, *ivan, "agg").decision.status, 403);
  EXPECT_EQ(control_->Authorize(Action::kCohortCount, *rita, "agg").decision.status, 200);
  EXPECT_EQ(control_->Authorize(Action::kCohortCount, *rita, "list").decision.status, 403);
  EXPECT_EQ(control_->Authorize(Action::kCohortCount, *rita, "nope").decision.status, 403);
  ASSERT_TRUE(c.CloseProject("agg").ok());
  EXPECT_EQ(control_->Authorize(Action::kCohortCount, *rita, "agg").decision.status, 403);
  auto unknown = control_->Operator("mallory");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(ControlTest, RepeatedRefusalsAndBurstsOpenOneIncidentEach) {
  ASSERT_TRUE(control_->catalog().AddUser("rita", Bit(Role::kResearcher), "pw").ok());
  auto rita = *control_->Operator("rita");
  for (int i = 0; i < kRefusalsMaxDefault + 3; ++i) {
    ASSERT_TRUE(control_->Record(rita, "rita", "p", {.action = "x", .status = 403}).ok());
  }
  for (int i = 0; i < kBurstPerMinuteDefault + 3; ++i) {
    ASSERT_TRUE(control_->Record(rita, "rita", "p", {.action = "x", .status = 200}).ok());
  }
  ASSERT_TRUE(control_
                  ->Record(rita, "rita", "p",
                           {.action = "x", .status = 200, .patients = 5000, .patient_list = true})
                  .ok());
  auto incidents = control_->catalog().ListIncidents(false);
  ASSERT_TRUE(incidents.ok());
  std::vector<std::string> kinds;
  for (const Incident& i : *incidents) kinds.push_back(i.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"refusals", "burst", "large_patient_list"}));
}

// A trail of `n` entries in a fresh folder.
std::unique_ptr<AuditLog> Trail(const std::string& dir, int n) {
  auto log = AuditLog::Open(dir);
  EXPECT_TRUE(log.ok());
  for (int i = 0; i < n; ++i) {
    AuditEntry e{.time_ms = 1000 + i * 1000,
                 .user = i % 2 ? "rita" : "ivan",
                 .roles = "researcher",
                 .project = i % 3 ? "p1" : "p2",
                 .action = "POST /api/cohorts/count",
                 .params_hash = crypto::Sha256Hex(std::to_string(i)),
                 .patients = i,
                 .origin = "127.0.0.1",
                 .status = 200};
    auto seq = (*log)->Append(e);
    EXPECT_TRUE(seq.ok());
    EXPECT_EQ(*seq, i + 1);
  }
  return std::move(*log);
}

AuditVerdict VerifyFresh(const std::string& dir) {
  auto log = AuditLog::Open(dir);
  EXPECT_TRUE(log.ok());
  auto v = (*log)->Verify();
  EXPECT_TRUE(v.ok());
  return *v;
}

// A copy of the trail in `from` (closed) in a fresh folder called `name`.
std::string CopyOf(const std::string& from, const std::string& name) {
  std::string dir = FreshDir(name);
  for (const char* file : {"audit.db", "audit.head"}) {
    fs::copy_file(from + "/" + file, dir + "/" + file);
  }
  return dir;
}

constexpr const char* kUnlock =
    "DROP TRIGGER entries_append_only_update; DROP TRIGGER entries_append_only_delete;";

TEST(Audit, AnIntactTrailVerifiesAndShowFilters) {
  std::string dir = FreshDir("intact");
  auto log = Trail(dir, 12);
  AuditVerdict v = VerifyFresh(dir);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.entries, 12);
  auto rita = log->Show({.user = "rita"});
  ASSERT_TRUE(rita.ok());
  EXPECT_EQ(rita->size(), 6u);
  auto p2_late = log->Show({.project = "p2", .from_ms = 4000, .to_ms = 10'000});
  ASSERT_TRUE(p2_late.ok());
  ASSERT_EQ(p2_late->size(), 2u);  // entries 4 and 7 (times 4000 and 7000)
  EXPECT_EQ((*p2_late)[0].seq, 4);
  // SQLite itself refuses edits and deletions (the triggers).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/audit.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE entries SET user='x' WHERE seq=3", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM entries WHERE seq=3", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

// Must-show (2): every single entry, edited in any field, deleted, or swapped with its
// neighbour, is named by `verify`.
TEST(Audit, EveryEditDeletionAndReorderingIsNamed) {
  const int n = 8;
  const std::vector<std::string> fields = {
      "time_ms = time_ms + 1", "user = 'mallory'",   "roles = 'admin'", "project = 'p9'",
      "action = 'GET /x'",     "params_hash = 'ab'", "patients = 99",   "origin = '10.0.0.1'",
      "status = 403",          "prev_hash = 'cd'",   "hash = 'ef'"};
  const std::string base = FreshDir("tamper_base");
  Trail(base, n);  // closed again at once: the copies hold the whole trail
  for (int seq = 1; seq <= n; ++seq) {
    for (const std::string& change : fields) {
      std::string dir = CopyOf(base, "edit");
      Sql(dir + "/audit.db", std::string(kUnlock) + "UPDATE entries SET " + change +
                                 " WHERE seq = " + std::to_string(seq));
      AuditVerdict v = VerifyFresh(dir);
      EXPECT_FALSE(v.ok) << change << " at " << seq;
      // Rewriting an entry's own hash field is seen at its successor, which names it.
      EXPECT_EQ(v.bad_seq, seq) << change << ": " << v.message;
      EXPECT_EQ(v.problem, "edited") << change << ": " << v.message;
      EXPECT_NE(v.message.find("entry " + std::to_string(seq)), std::string::npos) << v.message;
    }
    {
      std::string dir = CopyOf(base, "delete");
      Sql(dir + "/audit.db",
          std::string(kUnlock) + "DELETE FROM entries WHERE seq = " + std::to_string(seq));
      AuditVerdict v = VerifyFresh(dir);
      EXPECT_FALSE(v.ok) << "delete " << seq;
      EXPECT_EQ(v.bad_seq, seq) << v.message;
      EXPECT_EQ(v.problem, "missing (deleted)") << v.message;
    }
    if (seq < n) {
      std::string dir = CopyOf(base, "swap");
      std::string a = std::to_string(seq);
      std::string b = std::to_string(seq + 1);
      Sql(dir + "/audit.db", std::string(kUnlock) + "UPDATE entries SET seq = -1 WHERE seq = " + a +
                                 "; UPDATE entries SET seq = " + a + " WHERE seq = " + b +
                                 "; UPDATE entries SET seq = " + b + " WHERE seq = -1;");
      AuditVerdict v = VerifyFresh(dir);
      EXPECT_FALSE(v.ok) << "swap " << seq;
      EXPECT_EQ(v.bad_seq, seq) << v.message;
      EXPECT_EQ(v.problem, "out of order") << v.message;
    }
  }
}

TEST(Audit, EditingAnEntryAndRecomputingItsHashIsStillFound) {
  std::string dir = FreshDir("rehash");
  Trail(dir, 5);
  auto log = AuditLog::Open(dir);
  ASSERT_TRUE(log.ok());
  auto rows = (*log)->Show({});
  ASSERT_TRUE(rows.ok());
  AuditEntry forged = (*rows)[2];
  forged.user = "mallory";
  std::string hash = AuditEntryHash(forged);
  Sql(dir + "/audit.db", std::string(kUnlock) + "UPDATE entries SET user = 'mallory', hash = '" +
                             hash + "' WHERE seq = 3");
  AuditVerdict v = VerifyFresh(dir);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 3) << v.message;
  // The last entry too: the head file holds its hash.
  std::string dir2 = FreshDir("rehash_last");
  Trail(dir2, 5);
  auto log2 = AuditLog::Open(dir2);
  AuditEntry last = (*(*log2)->Show({}))[4];
  last.status = 403;
  Sql(dir2 + "/audit.db", std::string(kUnlock) + "UPDATE entries SET status = 403, hash = '" +
                              AuditEntryHash(last) + "' WHERE seq = 5");
  v = VerifyFresh(dir2);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 5) << v.message;
}

TEST(Audit, PurgeKeepsTheRestVerifiable) {
  std::string dir = FreshDir("purge");
  auto log = Trail(dir, 10);
  auto removed = log->Purge(5500);  // entries 1..5 (times 1000..5000)
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 5);
  AuditVerdict v = VerifyFresh(dir);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.entries, 5);
  // Appending continues the chain after a purge, even one that emptied the table.
  ASSERT_TRUE(log->Purge(1'000'000).ok());
  ASSERT_TRUE(log->Append({.time_ms = 2'000'000, .user = "u", .status = 200}).ok());
  EXPECT_EQ(*log->LastSeq(), 11);
  v = VerifyFresh(dir);
  EXPECT_TRUE(v.ok) << v.message;
  // A deletion after the checkpoint is still found.
  ASSERT_TRUE(log->Append({.time_ms = 2'000'001, .user = "u", .status = 200}).ok());
  ASSERT_TRUE(log->Append({.time_ms = 2'000'002, .user = "u", .status = 200}).ok());
  Sql(dir + "/audit.db", std::string(kUnlock) + "DELETE FROM entries WHERE seq = 12");
  v = VerifyFresh(dir);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 12) << v.message;
}

}  // namespace
}  // namespace p4dp::access
