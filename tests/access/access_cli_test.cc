// The access layer through the built `p4dp`: the bootstrap operator, user and project
// management, must-show (1) for the commands (every data command × every role and an
// unknown user × member or not × project open, closed or ended: exit 0 or 3 as a
// hand-written table expects, and exactly one audit entry each), `audit verify` naming a
// tampered entry, and must-show (6): passwords, tokens and keys appear in no log, error
// message or audit entry of the server and the commands. Also: `restore` checked by the
// restored catalog and audited in the restored trail, `verify FILE --warehouse DATA`, a
// running server seeing a command-line opt-out, and `count` rate-limited across commands.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../server/test_client.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kP4dp = std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp";

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `p4dp ARGS` (with `input` on stdin), stdout and stderr kept apart.
Outcome P4dp(const std::string& args, const std::string& input = "") {
  static int counter = 0;
  std::string base = std::string(P4DP_BINARY_DIR) + "/test-tmp/access_cli_io" +
                     std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::ofstream(base + ".in") << input;
  std::string cmd = "env -u P4DP_USER -u P4DP_MASTER_KEY " + kP4dp + " " + args + " < " + base +
                    ".in > " + base + ".out 2> " + base + ".err";
  int status = std::system(cmd.c_str());
  Outcome o;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream out, err;
  out << std::ifstream(base + ".out").rdbuf();
  err << std::ifstream(base + ".err").rdbuf();
  o.out = out.str();
  o.err = err.str();
  for (const char* ext : {".in", ".out", ".err"}) fs::remove(base + ext);
  return o;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct LastEntry {
  int64_t seq = 0;
  std::string user, project, action;
  int status = 0;
};

LastEntry Last(const std::string& data) {
  LastEntry e;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((data + "/audit.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT seq, user, project, action, status FROM entries "
                       "ORDER BY seq DESC LIMIT 1",
                       -1, &s, nullptr);
    if (s && sqlite3_step(s) == SQLITE_ROW) {
      auto text = [&](int c) {
        const unsigned char* p = sqlite3_column_text(s, c);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
      };
      e = {sqlite3_column_int64(s, 0), text(1), text(2), text(3), sqlite3_column_int(s, 4)};
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return e;
}

const std::set<std::string> kRoles = {"admin",        "data_manager",   "researcher",
                                      "investigator", "epidemiologist", "auditor"};

// A warehouse with edge.ndjson, one user per role (NAME-user, password pw-NAME-secret) and
// the projects of the table, made through the commands themselves.
class AccessCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(P4DP_BINARY_DIR) + "/test-tmp/access_cli_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = dir_ + "/data";
    fs::remove(data_ + ".key");
    ASSERT_EQ(P4dp("init " + data_).exit_code, 0);
    edge_ = std::string(P4DP_SOURCE_DIR) + "/tests/golden/edge.ndjson";
    // No user yet: the bootstrap operator may do anything, and is audited as such.
    Outcome ingest = P4dp("ingest --quiet " + data_ + " " + edge_ + " --user someone");
    ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
    LastEntry e = Last(data_);
    EXPECT_EQ(e.seq, 1);
    EXPECT_EQ(e.user, "someone");
    EXPECT_EQ(e.action, "p4dp ingest");
    Outcome admin = P4dp("user add " + data_ + " admin-user --role admin --password-stdin",
                         "pw-admin-secret\n");
    ASSERT_EQ(admin.exit_code, 0) << admin.err;
    json added = json::parse(admin.out);
    EXPECT_EQ(added.value("totp_uri", "").rfind("otpauth://totp/p4dp:admin-user?secret=", 0), 0u);
    admin_totp_uri_ = added.value("totp_uri", "");
    EXPECT_FALSE(added.contains("password")) << "a password read from stdin is not echoed";
    // From now on users exist: a second `user add` needs an admin.
    Outcome refused =
        P4dp("user add " + data_ + " x-user --role auditor --password-stdin", "pw-x-secret\n");
    EXPECT_EQ(refused.exit_code, 3) << refused.err;
    for (const std::string& role : kRoles) {
      if (role == "admin") continue;
      Outcome o =
          Admin("user add " + data_ + " " + role + "-user --role " + role + " --password-stdin",
                "pw-" + role + "-secret\n");
      ASSERT_EQ(o.exit_code, 0) << o.err;
    }
  }

  Outcome Admin(const std::string& args, const std::string& input = "") {
    return P4dp(args + " --user admin-user", input);
  }

  void MakeProjects() {
    for (const auto& [id, member, state] : std::vector<std::tuple<std::string, bool, std::string>>{
             {"p-member-open", true, "open"},
             {"p-member-closed", true, "closed"},
             {"p-member-ended", true, "ended"},
             {"p-other-open", false, "open"},
             {"p-other-closed", false, "closed"}}) {
      std::string end = state == "ended" ? " --end 2001-01-01" : "";
      ASSERT_EQ(Admin("project create " + data_ + " " + id + " --title T --legal-ref MR-004" +
                      " --disclosure patient_list --min-cell 1" + end)
                    .exit_code,
                0);
      if (member) {
        for (const std::string& role : kRoles) {
          ASSERT_EQ(
              Admin("project add-member " + data_ + " " + id + " " + role + "-user").exit_code, 0);
        }
      }
      if (state == "closed") {
        ASSERT_EQ(Admin("project close " + data_ + " " + id).exit_code, 0);
      }
    }
  }

  std::string dir_, data_, edge_, admin_totp_uri_;
};

struct CommandCase {
  // DATA is replaced by the data folder, OUT by a fresh folder, BACKUP by a backup of DATA
  // and KEY by DATA's master key file.
  std::string args;
  std::set<std::string> roles;
  bool needs_project;
  std::string input;            // stdin
  bool audited_in_out = false;  // the entry goes into OUT's trail (restore), not DATA's
};

std::vector<CommandCase> Commands(const std::string& cohort) {
  return {
      {"stats DATA", {"data_manager", "researcher", "investigator", "epidemiologist"}, true, ""},
      {"count DATA " + cohort + " --min-cell 1", {"researcher", "investigator"}, true, ""},
      {"count DATA " + cohort + " --patients", {"investigator"}, true, ""},
      {"surveil DATA --indicator ili --level nation --algorithm none --format json",
       {"epidemiologist"},
       true,
       ""},
      {"ingest --quiet DATA EDGE", {"data_manager"}, false, ""},
      {"export events DATA OUT", {"data_manager"}, false, ""},
      // The compiled SQL is for the export's tables (every patient, no perimeter).
      {"sql " + cohort + " DATA", {"data_manager"}, false, ""},
      {"quarantine DATA", {"data_manager"}, false, ""},
      {"verify DATA", {"admin", "data_manager"}, false, ""},
      {"user list DATA", {"admin", "auditor"}, false, ""},
      {"user add DATA NEWUSER --role researcher --password-stdin",
       {"admin"},
       false,
       "pw-new-secret\n"},
      {"project list DATA", {"admin", "auditor"}, false, ""},
      {"audit verify DATA", {"admin", "auditor"}, false, ""},
      {"audit show DATA --limit 1", {"auditor"}, false, ""},
      {"audit purge DATA --before 1971-01-01", {"admin"}, false, ""},
      {"incident list DATA", {"admin", "auditor"}, false, ""},
      // The rights commands (docs/operations.md): objections and retention are the data
      // manager's, backups the admin's. (`keys rotate` changes the key the other rows use, and
      // `restore` creates a new warehouse: both are tested in tests/cli/rights_cli_test.cc.)
      {"optout DATA --status", {"data_manager"}, false, ""},
      {"purge DATA --retention-years 200", {"data_manager"}, false, ""},
      {"backup DATA OUT", {"admin"}, false, ""},
      // A backup file has no trail: the warehouse named by --warehouse checks and records.
      {"verify BACKUP --warehouse DATA --key-file KEY", {"admin", "data_manager"}, false, ""},
      // A restore is checked by the catalog it restores, and recorded in the restored trail.
      {"restore BACKUP OUT --key-file KEY", {"admin"}, false, "", true},
  };
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

TEST_F(AccessCli, EveryCommandRoleProjectGivesTheExpectedExitAndOneAuditEntry) {
  MakeProjects();
  std::string cohort = dir_ + "/cohort.json";
  std::ofstream(cohort) << R"({"entry": {"domain": "condition"}})";
  std::vector<std::string> users;
  for (const std::string& role : kRoles) users.push_back(role);
  users.push_back("stranger");  // not in the catalog
  struct P {
    std::string id;
    bool member;
    bool open;
  };
  const std::vector<P> projects = {{"p-member-open", true, true},
                                   {"p-member-closed", true, false},
                                   {"p-member-ended", true, false},
                                   {"p-other-open", false, true},
                                   {"p-other-closed", false, false}};
  // A backup of DATA as it is now (its trail ends just before the backup's own entry).
  std::string backup = dir_ + "/data.p4dpbak";
  ASSERT_EQ(Admin("backup " + data_ + " " + backup).exit_code, 0);
  const int64_t backup_seq = Last(data_).seq - 1;
  int runs = 0;
  int new_users = 0;
  for (const CommandCase& c : Commands(cohort)) {
    for (const std::string& who : users) {
      std::vector<std::string> names =
          c.needs_project ? std::vector<std::string>{} : std::vector<std::string>{""};
      for (const P& p : projects) {
        if (c.needs_project) names.push_back(p.id);
      }
      for (const std::string& project : names) {
        bool member = true, open = true;
        for (const P& p : projects) {
          if (p.id == project) member = p.member, open = p.open;
        }
        std::string args = Replace(c.args, "DATA", data_);
        args = Replace(args, "EDGE", edge_);
        args = Replace(args, "OUT", dir_ + "/out" + std::to_string(runs));
        args = Replace(args, "NEWUSER", "new" + std::to_string(new_users++));
        args = Replace(args, "BACKUP", backup);
        args = Replace(args, "KEY", data_ + ".key");
        std::string out = dir_ + "/out" + std::to_string(runs);
        std::string user = who == "stranger" ? "stranger" : who + "-user";
        args += " --user " + user;
        if (!project.empty()) args += " --project " + project;
        bool allowed = c.roles.count(who) && (!c.needs_project || (member && open));
        std::string trail = c.audited_in_out ? out : data_;
        int64_t before = c.audited_in_out ? backup_seq : Last(data_).seq;
        Outcome o = P4dp(args, c.input);
        EXPECT_EQ(o.exit_code, allowed ? 0 : 3) << args << "\n" << o.err;
        if (c.audited_in_out) {
          // Refused: the warehouse's data is removed, the restored catalog and trail stay.
          EXPECT_EQ(fs::exists(out + "/catalog.db"), allowed) << args;
          EXPECT_TRUE(fs::exists(out + "/audit.db")) << args;
        }
        LastEntry e = Last(trail);
        EXPECT_EQ(e.seq, before + 1) << args << ": exactly one audit entry";
        EXPECT_EQ(e.user, user) << args;
        EXPECT_EQ(e.project, project) << args;
        EXPECT_EQ(e.status, allowed ? 200 : who == "stranger" ? 401 : 403) << args;
        if (!allowed) {
          EXPECT_NE(o.err.find("refused"), std::string::npos) << o.err;
        }
        ++runs;
      }
    }
  }
  EXPECT_EQ(runs, 4 * 7 * 5 + 17 * 7);
  // A data command that needs a project, without one, is refused.
  EXPECT_EQ(P4dp("stats " + data_ + " --user researcher-user").exit_code, 3);
  Outcome verify = P4dp("audit verify " + data_ + " --user auditor-user");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_NE(verify.out.find("audit: OK"), std::string::npos) << verify.out;
}

TEST_F(AccessCli, AuditVerifyNamesATamperedEntryAndShowFilters) {
  Outcome show = P4dp("audit show " + data_ + " --user auditor-user --by admin-user");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  int lines = 0;
  std::istringstream in(show.out);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    EXPECT_EQ(j["user"], "admin-user");
    ++lines;
  }
  EXPECT_EQ(lines, 5) << show.out;  // the five `user add` by the admin
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data_ + "/audit.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER entries_append_only_update;"
                         "UPDATE entries SET status = 200 WHERE seq = 3",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Outcome verify = P4dp("audit verify " + data_ + " --user auditor-user");
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_NE(verify.err.find("chain broken at entry 3: edited"), std::string::npos) << verify.err;
}

TEST_F(AccessCli, IncidentsAreListedAndAcknowledgedByAnAdmin) {
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(P4dp("stats " + data_ + " --user researcher-user --project nope").exit_code, 3);
  }
  Outcome list = Admin("incident list " + data_);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json incidents = json::parse(list.out);
  ASSERT_EQ(incidents.size(), 1u) << list.out;
  EXPECT_EQ(incidents[0]["kind"], "refusals");
  EXPECT_EQ(incidents[0]["user"], "researcher-user");
  std::string id = std::to_string(incidents[0]["id"].get<int64_t>());
  EXPECT_EQ(P4dp("incident ack " + data_ + " " + id + " --user auditor-user").exit_code, 3);
  EXPECT_EQ(Admin("incident ack " + data_ + " " + id).exit_code, 0);
  EXPECT_EQ(json::parse(Admin("incident list " + data_).out).size(), 0u);
  EXPECT_EQ(json::parse(Admin("incident list --all " + data_).out).size(), 1u);
}

TEST_F(AccessCli, ProjectPopulationIsCheckedAndAPurgeKeepsTheChainVerifiable) {
  std::ofstream(dir_ + "/bad.json") << R"({"entry": {"domain": "labs"}})";
  std::ofstream(dir_ + "/good.json") << R"({"entry": {"domain": "condition"}})";
  Outcome bad =
      Admin("project create " + data_ + " pop --title T --population " + dir_ + "/bad.json");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("entry.domain"), std::string::npos) << bad.err;
  Outcome good = Admin("project create " + data_ + " pop --title T --population " + dir_ +
                       "/good.json --domain condition --from 2020-01-01 --to 2024-12-31");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  Outcome list = Admin("project list " + data_);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json p = json::parse(list.out)[0];
  EXPECT_EQ(p["population"], true);
  EXPECT_EQ(p["domains"], json::array({"condition"}));
  EXPECT_EQ(p["from"], "2020-01-01");
  // Purge every entry so far (before tomorrow): the chain goes on from the checkpoint.
  int64_t last = Last(data_).seq;
  Outcome purge = Admin("audit purge " + data_ + " --before 2999-01-01");
  ASSERT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_EQ(json::parse(purge.out)["purged"], last);
  Outcome verify = P4dp("audit verify " + data_ + " --user auditor-user");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_NE(verify.out.find("after the checkpoint at entry " + std::to_string(last)),
            std::string::npos)
      << verify.out;
  EXPECT_EQ(Last(data_).seq, last + 2) << "the purge and the verify are audited";
}

// The body of an HTTP request with a JSON body and an optional bearer token.
std::string Post(const std::string& path, const std::string& body, const std::string& token) {
  std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\n" + auth +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string Get(const std::string& path, const std::string& token) {
  return p4dp::server::testing::GetRequest(path, "Authorization: Bearer " + token + "\r\n");
}

TEST_F(AccessCli, SecretsAppearInNoLogErrorOrAuditEntry) {
  MakeProjects();
  std::vector<std::string> secrets = {"pw-admin-secret",   "pw-researcher-secret",
                                      "pw-auditor-secret", "Wr0ng-guess-secret",
                                      "N3w-reset-secret",  "shortpw"};
  std::string key_hex = ReadAll(data_ + ".key");
  while (!key_hex.empty() && key_hex.back() == '\n') key_hex.pop_back();
  ASSERT_EQ(key_hex.size(), 64u);
  secrets.push_back(key_hex);
  std::string totp_b32 = admin_totp_uri_.substr(admin_totp_uri_.find("secret=") + 7);
  totp_b32 = totp_b32.substr(0, totp_b32.find('&'));
  ASSERT_FALSE(totp_b32.empty());
  secrets.push_back(totp_b32);
  std::string stderr_all;
  // Commands that fail with a password on stdin say why without it.
  Outcome too_short =
      Admin("user reset-password " + data_ + " researcher-user --password-stdin", "shortpw\n");
  EXPECT_NE(too_short.exit_code, 0);
  stderr_all += too_short.err + too_short.out;
  Outcome reset = Admin("user reset-password " + data_ + " auditor-user --password-stdin",
                        "N3w-reset-secret\n");
  EXPECT_EQ(reset.exit_code, 0) << reset.err;
  stderr_all += reset.err + reset.out;

  // The server, its stdout and stderr into one log file.
  std::string log = dir_ + "/serve.log";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(kP4dp.c_str(), "p4dp", "serve", data_.c_str(), "--port", "0", "--user", "admin-user",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  uint16_t port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::string text = ReadAll(log);
    size_t at = text.find("http://127.0.0.1:");
    if (at != std::string::npos && text.find('/', at + 17) != std::string::npos) {
      port = static_cast<uint16_t>(std::stoi(text.substr(at + 17)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ASSERT_NE(port, 0) << ReadAll(log);
  using p4dp::server::testing::Fetch;
  auto wrong = Fetch(
      port,
      Post("/api/login", R"({"user":"researcher-user","password":"Wr0ng-guess-secret"})", ""));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  stderr_all += wrong->body;
  auto ok = Fetch(
      port,
      Post("/api/login", R"({"user":"researcher-user","password":"pw-researcher-secret"})", ""));
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  std::string token = json::parse(ok->body)["token"];
  ASSERT_EQ(token.size(), 64u);
  secrets.push_back(token);
  auto admin_no_code =
      Fetch(port, Post("/api/login", R"({"user":"admin-user","password":"pw-admin-secret"})", ""));
  ASSERT_TRUE(admin_no_code);
  EXPECT_EQ(admin_no_code->status, 401) << "admin needs a TOTP code";
  stderr_all += admin_no_code->body;
  auto me = Fetch(port, Get("/api/me", token));
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
  auto count = Fetch(port, Post("/api/cohorts/count?project=p-member-open",
                                R"({"entry": {"domain": "condition"}})", token));
  ASSERT_TRUE(count);
  EXPECT_EQ(count->status, 200) << count->body;
  std::string forged = std::string(63, 'f') + "e";
  secrets.push_back(forged);
  auto bad = Fetch(port, Get("/api/stats?project=p-member-open", forged));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  stderr_all += bad->body;
  auto out = Fetch(port, Post("/api/logout", "", token));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
  auto after = Fetch(port, Get("/api/me", token));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
  stderr_all += after->body;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  Outcome show = P4dp("audit show " + data_ + " --user auditor-user --limit 100000");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("POST /api/login"), std::string::npos);
  EXPECT_NE(show.out.find("POST /api/logout"), std::string::npos);
  const std::map<std::string, std::string> places = {
      {"server log", ReadAll(log)},
      {"stderr and errors", stderr_all},
      {"audit show", show.out},
      {"audit.db", ReadAll(data_ + "/audit.db") + ReadAll(data_ + "/audit.db-wal")},
      {"access.db", ReadAll(data_ + "/access.db") + ReadAll(data_ + "/access.db-wal")},
  };
  for (const auto& [place, text] : places) {
    EXPECT_FALSE(text.empty()) << place;
    for (const std::string& secret : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << place << " holds a secret";
    }
  }
}

// Starts `p4dp serve DATA` as `user` on an ephemeral port, its output into `log`; returns
// the port (0 on failure) and sets `pid`.
uint16_t StartServer(const std::string& data, const std::string& user, const std::string& log,
                     pid_t& pid) {
  pid = ::fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(kP4dp.c_str(), "p4dp", "serve", data.c_str(), "--port", "0", "--user", user.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 500; ++i) {
    std::string text = ReadAll(log);
    size_t at = text.find("http://127.0.0.1:");
    if (at != std::string::npos && text.find('/', at + 17) != std::string::npos) {
      return static_cast<uint16_t>(std::stoi(text.substr(at + 17)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

TEST_F(AccessCli, ARunningServerSeesAnOptoutMadeByTheCommandLine) {
  MakeProjects();
  pid_t pid = 0;
  uint16_t port = StartServer(data_, "admin-user", dir_ + "/serve.log", pid);
  ASSERT_NE(port, 0) << ReadAll(dir_ + "/serve.log");
  using p4dp::server::testing::Fetch;
  auto login = Fetch(
      port,
      Post("/api/login", R"({"user":"researcher-user","password":"pw-researcher-secret"})", ""));
  ASSERT_TRUE(login && login->status == 200);
  std::string token = json::parse(login->body)["token"];
  auto count = [&](const std::string& cohort) -> int64_t {
    auto r = Fetch(port, Post("/api/cohorts/count?project=p-member-open", cohort, token));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    if (!r || r->status != 200) return -1;
    json j = json::parse(r->body);
    return j["count"].is_number() ? j["count"].get<int64_t>() : -1;
  };
  const std::string conditions = R"({"entry": {"domain": "condition"}})";
  int64_t before = count(conditions);
  ASSERT_GT(before, 1);
  // edge-01 has a condition. `optout` in another process: recorded and erased there.
  Outcome optout =
      P4dp("optout " + data_ + " --source default --id edge-01 --user " + "data_manager-user");
  ASSERT_EQ(optout.exit_code, 0) << optout.err;
  EXPECT_EQ(json::parse(optout.out)["erasure"], "complete");
  // The server's next count leaves the patient out, without a restart (the project's
  // threshold is 1, so no count is suppressed for being near one released before).
  EXPECT_EQ(count(conditions), before - 1);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadAll(dir_ + "/serve.log");
}

TEST_F(AccessCli, CountIsRateLimitedFromOneCommandToTheNext) {
  MakeProjects();
  std::string cohort = dir_ + "/cohort.json";
  std::ofstream(cohort) << R"({"entry": {"domain": "condition"}})";
  const std::string count =
      "count " + data_ + " " + cohort + " --min-cell 1 --project " + "p-member-open --user ";
  // The API's default: 60 counts per user and project per hour (each its own process).
  const int kQueriesMax = 60;
  for (int i = 0; i < kQueriesMax; ++i) {
    Outcome o = P4dp(count + "researcher-user");
    ASSERT_EQ(o.exit_code, 0) << i << ": " << o.err;
  }
  int64_t before = Last(data_).seq;
  Outcome refused = P4dp(count + "researcher-user");
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_NE(refused.err.find("p4dp: count: refused: rate limit: 60 queries"), std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.out, "") << "no count is shown";
  LastEntry e = Last(data_);
  EXPECT_EQ(e.seq, before + 1);
  EXPECT_EQ(e.action, "p4dp count");
  EXPECT_EQ(e.user, "researcher-user");
  EXPECT_EQ(e.project, "p-member-open");
  EXPECT_EQ(e.status, 429);
  // Another user of the project has their own allowance.
  EXPECT_EQ(P4dp(count + "investigator-user").exit_code, 0);
}

}  // namespace
