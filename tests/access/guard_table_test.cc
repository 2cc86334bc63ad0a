// Must-show (1), routes: every /api route × every role (and no session, and a forged token)
// × member or not of the project × project open, closed or past its end date gets exactly
// the status a hand-written table expects (200, 401 or 403), and every one of those calls,
// allowed or refused, leaves exactly one audit entry naming the route and the status.
// The routes are registered as `p4dp serve` registers them, and dispatched in process.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "access/control.h"
#include "access/disclosure.h"
#include "base/clock.h"
#include "base/file_system.h"
#include "crypto/totp.h"
#include "ingest/pipeline.h"
#include "server/access_routes.h"
#include "server/admin_routes.h"
#include "server/dashboard_routes.h"
#include "server/http_server.h"
#include "server/surveillance_routes.h"
#include "server/warehouse_routes.h"
#include "store/warehouse.h"
#include "surveil/indicators.h"
#include "surveil/series.h"

namespace p4dp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using server::Response;

// The expected rights, written by hand from the access contract (shared/spec/access.md),
// NOT from access/policy.cc: a change to either shows here.
struct RouteCase {
  std::string method;
  std::string path;  // with its query, without project=
  std::string body;
  std::set<std::string> roles;  // the roles that may call it
  bool needs_project;           // names a project the caller must be a member of, open
  bool needs_patient_list;      // ... whose disclosure is patient_list
  // Routes that change the catalog: run before each call, it makes what the call works on
  // and returns the text that replaces "{x}" in the path and body (so that every allowed
  // call succeeds, not only the first); `pattern` is then the route as audited.
  std::function<std::string(int)> before{};
  std::string pattern{};
};

const std::string kCohort = R"({"entry": {"domain": "condition"}})";
const std::set<std::string> kEveryRole = {"admin",        "data_manager",   "researcher",
                                          "investigator", "epidemiologist", "auditor"};

std::vector<RouteCase> Routes(const std::string& patient_body, access::AccessControl& access) {
  const std::set<std::string> kAdmin = {"admin"};
  const std::set<std::string> kAdminAuditor = {"admin", "auditor"};
  access::AccessCatalog* c = &access.catalog();
  auto same = [](int n) { return std::to_string(n); };
  auto new_user = [c](int n) {
    std::string name = "target-" + std::to_string(n);
    EXPECT_TRUE(c->AddUser(name, access::Bit(access::Role::kResearcher), "pw-target").ok());
    return name;
  };
  auto new_project = [c](int n) {
    std::string id = "made-" + std::to_string(n);
    EXPECT_TRUE(c->CreateProject({.id = id, .title = id}).ok());
    return id;
  };
  auto new_incident = [c](int n) {
    auto id = c->AddIncident({.time_ms = 1, .kind = "burst", .user = "u" + std::to_string(n)});
    EXPECT_TRUE(id.ok());
    return std::to_string(id.ok() ? *id : 0);
  };
  return {
      {"GET", "/api/me", "", kEveryRole, false, false},
      {"POST", "/api/ingest", patient_body, {"data_manager"}, false, false},
      {"GET",
       "/api/stats",
       "",
       {"data_manager", "researcher", "investigator", "epidemiologist"},
       true,
       false},
      {"POST",
       "/api/cohorts/count?min_cell=1",
       kCohort,
       {"researcher", "investigator"},
       true,
       false},
      {"POST", "/api/cohorts/count?patients=1", kCohort, {"investigator"}, true, true},
      {"POST", "/api/cohorts/count?draft=1", kCohort, {"researcher", "investigator"}, true, false},
      {"GET", "/api/surveillance/indicators", "", kEveryRole, false, false},
      {"GET",
       "/api/surveillance/series?indicator=ili&level=nation&algorithm=none",
       "",
       {"epidemiologist"},
       true,
       false},
      {"GET",
       "/api/surveillance/alerts?level=nation&algorithm=ears-c1",
       "",
       {"epidemiologist"},
       true,
       false},
      // The dashboard's routes: the code search serves the cohort builder (researchers and
      // investigators); population dashboards are the researcher's.
      {"GET", "/api/codes?q=E1", "", {"researcher", "investigator"}, true, false},
      {"GET", "/api/dashboards/pyramid", "", {"researcher"}, true, false},
      {"GET", "/api/dashboards/prevalence", "", {"researcher"}, true, false},
      {"GET", "/api/dashboards/prescriptions", "", {"researcher"}, true, false},
      {"GET", "/api/dashboards/consultations", "", {"researcher"}, true, false},
      // The audit viewer and the administration: the rights of the matching commands.
      {"GET", "/api/audit?user=admin-user&from=2020-01-01&limit=5", "", {"auditor"}, false, false},
      {"GET", "/api/audit/verify", "", kAdminAuditor, false, false},
      {"GET", "/api/incidents?all=1", "", kAdminAuditor, false, false},
      {"POST", "/api/incidents/{x}/ack", "", kAdmin, false, false, new_incident,
       "/api/incidents/{id}/ack"},
      {"GET", "/api/admin/users", "", kAdminAuditor, false, false},
      {"POST", "/api/admin/users", R"({"user": "new-{x}", "roles": ["researcher"]})", kAdmin, false,
       false, same},
      {"POST", "/api/admin/users/{x}/disable", "", kAdmin, false, false, new_user,
       "/api/admin/users/{name}/disable"},
      {"POST", "/api/admin/users/{x}/reset-password", "", kAdmin, false, false, new_user,
       "/api/admin/users/{name}/reset-password"},
      {"GET", "/api/admin/projects", "", kAdminAuditor, false, false},
      {"POST", "/api/admin/projects", R"({"project": "new-{x}", "title": "t", "min_cell": 5})",
       kAdmin, false, false, same},
      {"POST", "/api/admin/projects/{x}/members", R"({"user": "researcher-user"})", kAdmin, false,
       false, new_project, "/api/admin/projects/{id}/members"},
      {"POST", "/api/admin/projects/{x}/close", "", kAdmin, false, false, new_project,
       "/api/admin/projects/{id}/close"},
  };
}

struct ProjectCase {
  std::string id;
  bool member;
  std::string state;  // open, closed, ended
};

const std::vector<ProjectCase> kProjects = {
    {"p-member-open", true, "open"},     {"p-member-closed", true, "closed"},
    {"p-member-ended", true, "ended"},   {"p-other-open", false, "open"},
    {"p-other-closed", false, "closed"},
};

int Expected(const RouteCase& r, const std::string& role, const ProjectCase& p) {
  if (role == "none" || role == "forged") return 401;
  if (!r.roles.count(role)) return 403;
  if (!r.needs_project) return 200;
  if (!p.member || p.state != "open") return 403;
  return 200;  // every member project here allows patient lists
}

class GuardTable : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: CTest runs the tests of this file in parallel.
    dir_ = std::string(P4DP_BINARY_DIR) + "/test-tmp/access_guard_table_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    ASSERT_TRUE(store::Warehouse::Init(RealFileSystem(), dir_, key_).ok());
    auto wh = store::Warehouse::Open(RealFileSystem(), dir_, key_);
    ASSERT_TRUE(wh.ok()) << wh.status().ToString();
    warehouse_ = std::move(*wh);
    std::ifstream in(std::string(P4DP_SOURCE_DIR) + "/tests/golden/edge.ndjson");
    std::stringstream text;
    text << in.rdbuf();
    ingest::IngestOptions options;
    options.source = "test";
    options.today = SystemClock().Today();
    ingest::Ingester ingester(*warehouse_, options);
    ASSERT_TRUE(ingester.IngestBody(text.str(), "edge.ndjson").ok());
    series_ = std::make_unique<surveil::SeriesStore>(surveil::DefaultIndicators());
    auto control = access::AccessControl::Open(
        dir_, key_, {.password_cost = crypto::PasswordCost::kMinimumForTesting});
    ASSERT_TRUE(control.ok()) << control.status().ToString();
    access_ = std::move(*control);
    server::AddHealthRoute(router_, "test");
    server::AddAccessRoutes(router_, *access_);
    server::AddAdminRoutes(router_, *access_);
    server::AddWarehouseRoutes(router_, *warehouse_, "test", *access_);
    server::AddSurveillanceRoutes(router_, *warehouse_, *series_, *access_);
    server::AddDashboardRoutes(router_, *warehouse_, *access_);
    MakeUsersAndProjects();
  }

  void MakeUsersAndProjects() {
    access::AccessCatalog& c = access_->catalog();
    for (const std::string& role : kEveryRole) {
      auto secret = c.AddUser(role + "-user", access::Bit(*access::ParseRole(role)), "pw-" + role);
      ASSERT_TRUE(secret.ok()) << secret.status().ToString();
      secrets_[role] = *secret;
    }
    Days today = SystemClock().Today();
    for (const ProjectCase& p : kProjects) {
      access::Project project{
          .id = p.id, .title = p.id, .disclosure = access::Disclosure::kPatientList, .min_cell = 1};
      if (p.state == "ended") project.end = today - 1;
      ASSERT_TRUE(c.CreateProject(project).ok());
      if (p.member) {
        for (const std::string& role : kEveryRole)
          ASSERT_TRUE(c.AddMember(p.id, role + "-user").ok());
      }
      if (p.state == "closed") {
        ASSERT_TRUE(c.CloseProject(p.id).ok());
      }
    }
  }

  Response Call(const std::string& method, const std::string& target, const std::string& body,
                const std::string& token) {
    server::Request r;
    r.method = method;
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.body = body;
    r.remote_address = "127.0.0.1";
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    auto response = router_.Dispatch(r);
    return response ? *response : server::Response::Error(404, "no route");
  }

  std::string Login(const std::string& role) {
    json body = {{"user", role + "-user"}, {"password", "pw-" + role}};
    if (!secrets_[role].empty()) {
      body["totp"] = *crypto::TotpCode(secrets_[role], SystemClock().NowMicros() / 1'000'000);
    }
    Response r = Call("POST", "/api/login", body.dump(), "");
    EXPECT_EQ(r.status, 200) << role << ": " << r.body;
    return json::parse(r.body, nullptr, false).value("token", "");
  }

  int64_t LastSeq() { return *access_->audit().LastSeq(); }

  crypto::Key key_ = crypto::Key::Random();
  std::string dir_;
  std::unique_ptr<store::Warehouse> warehouse_;
  std::unique_ptr<surveil::SeriesStore> series_;
  std::unique_ptr<access::AccessControl> access_;
  server::Router router_;
  std::map<std::string, std::string> secrets_;
};

TEST_F(GuardTable, EveryRouteRoleProjectGivesTheExpectedStatusAndOneAuditEntry) {
  std::map<std::string, std::string> tokens = {{"none", ""}, {"forged", std::string(64, 'a')}};
  for (const std::string& role : kEveryRole) tokens[role] = Login(role);
  const std::string patient =
      R"({"resourceType":"Patient","id":"guard-1","gender":"male","birthDate":"1970-01-01"})";
  int checked = 0;
  for (const RouteCase& route : Routes(patient, *access_)) {
    for (const auto& [role, token] : tokens) {
      for (const ProjectCase& p : kProjects) {
        std::string path = route.path;
        std::string body = route.body;
        if (route.before) {
          std::string x = route.before(checked);
          for (std::string* text : {&path, &body}) {
            if (size_t at = text->find("{x}"); at != std::string::npos) text->replace(at, 3, x);
          }
        }
        std::string target =
            path + (path.find('?') == std::string::npos ? "?" : "&") + "project=" + p.id;
        int64_t before = LastSeq();
        Response r = Call(route.method, target, body, token);
        int want = Expected(route, role, p);
        std::string what = route.method + " " + target + " as " + role;
        EXPECT_EQ(r.status, want) << what << ": " << r.body;
        ASSERT_EQ(LastSeq(), before + 1) << what << ": exactly one audit entry";
        auto last = access_->audit().Show({.from_ms = 0, .limit = 1'000'000});
        ASSERT_TRUE(last.ok());
        const access::AuditEntry& e = last->back();
        EXPECT_EQ(e.status, r.status) << what;
        std::string pattern = route.pattern.empty() ? route.path : route.pattern;
        EXPECT_EQ(e.action, route.method + " " + pattern.substr(0, pattern.find('?'))) << what;
        EXPECT_EQ(e.project, p.id) << what;
        EXPECT_EQ(e.user, role == "none" || role == "forged" ? "" : role + "-user") << what;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 26 * 8 * 5);
  // Aggregate projects never give patient lists, even to a member investigator.
  access::Project agg{.id = "p-aggregate", .title = "t", .min_cell = 1};
  ASSERT_TRUE(access_->catalog().CreateProject(agg).ok());
  ASSERT_TRUE(access_->catalog().AddMember("p-aggregate", "investigator-user").ok());
  EXPECT_EQ(Call("POST", "/api/cohorts/count?patients=1&project=p-aggregate", kCohort,
                 tokens["investigator"])
                .status,
            403);
  EXPECT_EQ(Call("POST", "/api/cohorts/count?project=p-aggregate", kCohort, tokens["investigator"])
                .status,
            200);
  // A project named nowhere, or none at all, is refused where one is needed.
  EXPECT_EQ(Call("GET", "/api/stats?project=nope", "", tokens["researcher"]).status, 403);
  EXPECT_EQ(Call("GET", "/api/stats", "", tokens["researcher"]).status, 403);
  // Health and login need no session; health leaves no entry, every login attempt one.
  int64_t before = LastSeq();
  EXPECT_EQ(Call("GET", "/api/health", "", "").status, 200);
  EXPECT_EQ(LastSeq(), before);
  EXPECT_EQ(Call("POST", "/api/login", R"({"user":"researcher-user","password":"no"})", "").status,
            401);
  EXPECT_EQ(LastSeq(), before + 1);
  EXPECT_EQ(Call("POST", "/api/login", "not json", "").status, 400);
  EXPECT_EQ(LastSeq(), before + 2);
  // Logout: one entry each; the token then opens nothing.
  for (const std::string& role : kEveryRole) {
    int64_t seq = LastSeq();
    EXPECT_EQ(Call("POST", "/api/logout", "", tokens[role]).status, 200) << role;
    EXPECT_EQ(Call("GET", "/api/me", "", tokens[role]).status, 401) << role;
    EXPECT_EQ(LastSeq(), seq + 2);
  }
  EXPECT_EQ(Call("POST", "/api/logout", "", "").status, 401);
  auto verdict = access_->audit().Verify();
  ASSERT_TRUE(verdict.ok());
  EXPECT_TRUE(verdict->ok) << verdict->message;
}

TEST_F(GuardTable, MeListsOwnProjectsAndTheSmallCellFloorHolds) {
  std::string token = Login("researcher");
  Response me = Call("GET", "/api/me", "", token);
  ASSERT_EQ(me.status, 200);
  json j = json::parse(me.body);
  EXPECT_EQ(j["user"], "researcher-user");
  EXPECT_EQ(j["roles"], json::array({"researcher"}));
  std::set<std::string> ids;
  for (const json& p : j["projects"]) ids.insert(p["project"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"p-member-open", "p-member-closed", "p-member-ended"}));
  // A project's threshold is the least min_cell: asking for 1 in a project of 10 gives 10.
  access::Project strict{.id = "p-strict", .title = "t", .min_cell = 10};
  ASSERT_TRUE(access_->catalog().CreateProject(strict).ok());
  ASSERT_TRUE(access_->catalog().AddMember("p-strict", "researcher-user").ok());
  Response r = Call("POST", "/api/cohorts/count?min_cell=1&project=p-strict", kCohort, token);
  ASSERT_EQ(r.status, 200) << r.body;
  json counted = json::parse(r.body);
  EXPECT_EQ(counted.value("min_cell", 0), 10) << r.body;
}

TEST_F(GuardTable, CountsStayInsideTheProjectPerimeterAndAreRateLimited) {
  std::string token = Login("researcher");
  access::AccessCatalog& c = access_->catalog();
  access::Project conditions{
      .id = "p-conditions", .title = "t", .min_cell = 1, .domains = {"condition"}};
  access::Project drugs{.id = "p-drugs", .title = "t", .min_cell = 1, .domains = {"drug"}};
  for (const access::Project& p : {conditions, drugs}) {
    ASSERT_TRUE(c.CreateProject(p).ok());
    ASSERT_TRUE(c.AddMember(p.id, "researcher-user").ok());
  }
  auto count_in = [&](const std::string& project) {
    Response r = Call("POST", "/api/cohorts/count?project=" + project, kCohort, token);
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.contains("count") && j["count"].is_number() ? j["count"].get<int64_t>() : -1;
  };
  EXPECT_GT(count_in("p-conditions"), 0);
  EXPECT_EQ(count_in("p-drugs"), 0) << "a project without the condition domain sees none";
  // The server's query guard: 60 counts per user and project per hour, then 429, audited.
  int64_t admitted = 1;  // p-conditions was counted once above
  int status = 200;
  while (status == 200 && admitted < 100) {
    status = Call("POST", "/api/cohorts/count?project=p-conditions", kCohort, token).status;
    if (status == 200) ++admitted;
  }
  EXPECT_EQ(status, 429);
  EXPECT_EQ(admitted, access::QueryGuardOptions{}.queries_max);
  auto last = access_->audit().Show({.from_ms = 0, .limit = 100000});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->back().status, 429);
}

// Draft counts (live counting while a cohort is edited): approximate, not seen by the
// differencing guard (so more than near_identical_max near-identical drafts pass), while the
// exact counts are still guarded; the same definition always gets the same draft.
TEST_F(GuardTable, DraftCountsAreApproximateAndEscapeTheDifferencingGuard) {
  std::string token = Login("researcher");
  auto cohort_with = [](int min_age) {
    return R"({"entry": {"domain": "condition"}, "inclusion": [{"name": "age",
               "age": {"min": )" +
           std::to_string(min_age) + "}}]}";
  };
  std::string target = "/api/cohorts/count?draft=1&project=p-member-open";
  Response first = Call("POST", target, cohort_with(0), token);
  ASSERT_EQ(first.status, 200) << first.body;
  json j = json::parse(first.body);
  EXPECT_EQ(j["approximate"], true);
  ASSERT_EQ(j["attrition"].size(), 2u) << first.body;
  int64_t near = access::QueryGuardOptions{}.near_identical_max;
  for (int age = 1; age <= near + 4; ++age) {
    Response r = Call("POST", target, cohort_with(age), token);
    EXPECT_EQ(r.status, 200) << "draft " << age << ": " << r.body;
  }
  json again = json::parse(Call("POST", target, cohort_with(0), token).body);
  EXPECT_EQ(again["attrition"], j["attrition"]) << "the same definition gets the same draft";
  EXPECT_EQ(Call("POST", target + "&patients=1", cohort_with(0), token).status, 400);
  // The exact counts still meet the differencing guard.
  int last = 200;
  for (int age = 0; age <= near + 1 && last == 200; ++age) {
    last = Call("POST", "/api/cohorts/count?project=p-member-open", cohort_with(age), token).status;
  }
  EXPECT_EQ(last, 429);
}

// The administration through the API does what `p4dp user` and `p4dp project` do: the
// server makes the passwords (and the TOTP secret of the roles that need one) and answers them
// once; they open a session, and appear in no audit entry.
TEST_F(GuardTable, AdminRoutesManageUsersAndProjectsWithoutSecretsInTheTrail) {
  std::string admin = Login("admin");
  Response added =
      Call("POST", "/api/admin/users", R"({"user": "new-auditor", "roles": ["auditor"]})", admin);
  ASSERT_EQ(added.status, 200) << added.body;
  json a = json::parse(added.body);
  std::string password = a.value("password", "");
  ASSERT_GE(password.size(), 16u);
  ASSERT_TRUE(a.contains("totp_uri")) << "auditors need a second factor";
  auto secret = crypto::TotpSecretFromUri(a["totp_uri"].get<std::string>());
  ASSERT_TRUE(secret.ok());
  auto login = [&](const std::string& pw, const std::string& code) {
    json body = {{"user", "new-auditor"}, {"password", pw}, {"totp", code}};
    return Call("POST", "/api/login", body.dump(), "");
  };
  // A code is accepted once (the replay register): the first sign-in uses the previous
  // step's code (within the accepted drift), the later ones the current step's.
  auto code = [&](int64_t steps_back = 0) {
    return *crypto::TotpCode(*secret, SystemClock().NowMicros() / 1'000'000 - 30 * steps_back);
  };
  EXPECT_EQ(login(password, code(1)).status, 200);
  EXPECT_EQ(login(password, "").status, 401) << "the second factor is required";
  EXPECT_EQ(
      Call("POST", "/api/admin/users", R"({"user": "new-auditor", "roles": ["auditor"]})", admin)
          .status,
      409);
  EXPECT_EQ(Call("POST", "/api/admin/users", R"({"user": "x", "roles": ["king"]})", admin).status,
            400);
  Response reset = Call("POST", "/api/admin/users/new-auditor/reset-password", "", admin);
  ASSERT_EQ(reset.status, 200) << reset.body;
  std::string password2 = json::parse(reset.body).value("password", "");
  EXPECT_NE(password2, password);
  EXPECT_EQ(login(password, code()).status, 401) << "the old password no longer works";
  EXPECT_EQ(login(password2, code()).status, 200);
  EXPECT_EQ(Call("POST", "/api/admin/users/nobody/reset-password", "", admin).status, 404);
  ASSERT_EQ(Call("POST", "/api/admin/users/new-auditor/disable", "", admin).status, 200);
  EXPECT_EQ(login(password2, code()).status, 401) << "a disabled user cannot sign in";
  json users = json::parse(Call("GET", "/api/admin/users", "", admin).body)["users"];
  bool listed_disabled = false;
  for (const json& u : users) {
    if (u["user"] == "new-auditor") listed_disabled = !u["enabled"].get<bool>() && u["totp"];
  }
  EXPECT_TRUE(listed_disabled) << users.dump();

  Response created = Call("POST", "/api/admin/projects",
                          R"({"project": "study", "title": "Étude", "min_cell": 7,
                              "disclosure": "patient_list", "end": "2099-12-31",
                              "domains": ["condition"]})",
                          admin);
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(Call("POST", "/api/admin/projects", R"({"project": "bad", "title": "t",
                 "end": "tomorrow"})",
                 admin)
                .status,
            400);
  EXPECT_EQ(Call("POST", "/api/admin/projects", R"({"project": "bad", "title": "t",
                 "population": {"entry": 3}})",
                 admin)
                .status,
            400);
  ASSERT_EQ(
      Call("POST", "/api/admin/projects/study/members", R"({"user": "researcher-user"})", admin)
          .status,
      200);
  EXPECT_EQ(Call("POST", "/api/admin/projects/nope/close", "", admin).status, 404);
  std::string researcher = Login("researcher");
  EXPECT_EQ(Call("GET", "/api/stats?project=study", "", researcher).status, 200);
  auto study = [&] {
    json listed = json::parse(Call("GET", "/api/admin/projects", "", admin).body);
    for (const json& p : listed["projects"])
      if (p["project"] == "study") return p;
    return json();
  };
  EXPECT_EQ(study()["min_cell"], 7);
  EXPECT_EQ(study()["disclosure"], "patient_list");
  EXPECT_EQ(study()["end"], "2099-12-31");
  EXPECT_EQ(study()["members"], json::array({"researcher-user"}));
  ASSERT_EQ(Call("POST", "/api/admin/projects/study/close", "", admin).status, 200);
  EXPECT_EQ(study()["state"], "closed");
  EXPECT_EQ(Call("GET", "/api/stats?project=study", "", researcher).status, 403);

  auto entries = access_->audit().Show({.from_ms = 0, .limit = 100000});
  ASSERT_TRUE(entries.ok());
  for (const access::AuditEntry& e : *entries) {
    for (const std::string& field : {e.user, e.roles, e.project, e.action, e.params_hash}) {
      EXPECT_EQ(field.find(password), std::string::npos);
      EXPECT_EQ(field.find(password2), std::string::npos);
    }
  }
}

// The audit viewer's routes: the filters of `p4dp audit show`, and verify says where the
// chain breaks once an entry is edited behind the trail's back.
TEST_F(GuardTable, AuditRoutesFilterAndVerify) {
  std::string auditor = Login("auditor");
  std::string researcher = Login("researcher");
  for (int i = 0; i < 3; ++i) Call("GET", "/api/stats?project=p-member-open", "", researcher);
  Call("GET", "/api/stats?project=p-other-open", "", researcher);
  auto show = [&](const std::string& query) {
    Response r = Call("GET", "/api/audit?" + query, "", auditor);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return json::parse(r.body, nullptr, false)["entries"];
  };
  json mine = show("user=researcher-user&project=p-member-open");
  ASSERT_EQ(mine.size(), 3u) << mine.dump();
  for (const json& e : mine) {
    EXPECT_EQ(e["action"], "GET /api/stats");
    EXPECT_EQ(e["status"], 200);
  }
  EXPECT_EQ(show("user=researcher-user&project=p-other-open").size(), 1u);
  EXPECT_EQ(show("user=researcher-user&limit=2").size(), 2u);
  EXPECT_EQ(show("from=2099-01-01").size(), 0u);
  EXPECT_GE(show("to=2099-01-01").size(), 6u);
  EXPECT_EQ(Call("GET", "/api/audit?limit=0", "", auditor).status, 400);
  EXPECT_EQ(Call("GET", "/api/audit?from=yesterday", "", auditor).status, 400);

  json verdict = json::parse(Call("GET", "/api/audit/verify", "", auditor).body);
  EXPECT_TRUE(verdict["ok"].get<bool>()) << verdict.dump();
  int64_t edited = mine[1]["seq"].get<int64_t>();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/" + access::kAuditFileName).c_str(), &db), SQLITE_OK);
  // An attacker with the file: drops the append-only trigger, then edits an entry.
  std::string sql =
      "DROP TRIGGER entries_append_only_update; UPDATE entries SET status = 403 "
      "WHERE seq = " +
      std::to_string(edited);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  verdict = json::parse(Call("GET", "/api/audit/verify", "", auditor).body);
  EXPECT_FALSE(verdict["ok"].get<bool>()) << verdict.dump();
  EXPECT_EQ(verdict.value("bad_seq", int64_t{0}), edited) << verdict.dump();
}

// Incidents: listed for admins and auditors, acknowledged by an admin once.
TEST_F(GuardTable, IncidentRoutesListAndAcknowledge) {
  auto id = access_->catalog().AddIncident({.time_ms = 1, .kind = "burst", .user = "someone"});
  ASSERT_TRUE(id.ok());
  std::string admin = Login("admin");
  json open = json::parse(Call("GET", "/api/incidents", "", admin).body)["incidents"];
  ASSERT_EQ(open.size(), 1u) << open.dump();
  EXPECT_EQ(open[0]["kind"], "burst");
  std::string target = "/api/incidents/" + std::to_string(*id) + "/ack";
  ASSERT_EQ(Call("POST", target, "", admin).status, 200);
  EXPECT_EQ(json::parse(Call("GET", "/api/incidents", "", admin).body)["incidents"].size(), 0u);
  json all = json::parse(Call("GET", "/api/incidents?all=1", "", admin).body)["incidents"];
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["acknowledged_by"], "admin-user");
  EXPECT_EQ(Call("POST", "/api/incidents/999999/ack", "", admin).status, 404);
  EXPECT_EQ(Call("POST", "/api/incidents/abc/ack", "", admin).status, 400);
}

}  // namespace
}  // namespace p4dp
