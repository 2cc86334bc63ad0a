#include "server/admin_routes.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "access/audit.h"
#include "access/catalog.h"
#include "base/date.h"
#include "crypto/password.h"
#include "crypto/totp.h"
#include "query/cohort.h"
#include "server/access_routes.h"

namespace p4dp::server {
namespace {

using access::Action;
using nlohmann::json;

// An administration body: a user or a project with its perimeter (a population definition
// included), never more.
constexpr size_t kAdminBodyBytesMax = 256 * 1024;
constexpr int64_t kAuditLimitMax = 100'000;
// Bytes of randomness of a password the server makes (shown once, as hex).
constexpr size_t kPasswordRandomBytes = 12;

// The HTTP status of a catalog error.
Response FromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound: return Response::Error(404, s.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return Response::Error(409, s.message());
    case StatusCode::kInvalidArgument: return Response::Error(400, s.message());
    default: return Response::Error(500, "the access catalog failed");
  }
}

// A query parameter that is a date (YYYY-MM-DD), absent or empty: nullopt.
Result<std::optional<Days>> DateParam(const Request& request, const char* name) {
  auto text = request.QueryParam(name);
  if (!text || text->empty()) return std::optional<Days>();
  auto d = ParseIsoDate(*text);
  if (!d.ok()) return Status::InvalidArgument(std::string(name) + ": not a date (YYYY-MM-DD)");
  return std::optional<Days>(*d);
}

// The body as a JSON object, or why not.
Result<json> BodyObject(const Request& request) {
  if (request.body.size() > kAdminBodyBytesMax) {
    return Status::InvalidArgument("body over " + std::to_string(kAdminBodyBytesMax) + " bytes");
  }
  json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) return Status::InvalidArgument("send a JSON object");
  return body;
}

// A string field of `body`: "" when absent; an error when present but not a string.
Result<std::string> Text(const json& body, const char* name) {
  if (!body.contains(name) || body[name].is_null()) return std::string();
  if (!body[name].is_string()) return Status::InvalidArgument(std::string(name) + ": a string");
  return body[name].get<std::string>();
}

Result<std::optional<Days>> DateField(const json& body, const char* name) {
  std::string text = P4DP_TRY(Text(body, name));
  if (text.empty()) return std::optional<Days>();
  auto d = ParseIsoDate(text);
  if (!d.ok()) return Status::InvalidArgument(std::string(name) + ": not a date (YYYY-MM-DD)");
  return std::optional<Days>(*d);
}

// GET /api/audit: the entries of `p4dp audit show`, with its filters.
Response AuditShow(access::AccessControl& access, const Request& request) {
  access::AuditFilter f{.user = request.QueryParam("user").value_or(""),
                        .project = request.QueryParam("project").value_or("")};
  auto from = DateParam(request, "from");
  auto to = DateParam(request, "to");
  if (!from.ok()) return Response::Error(400, from.status().message());
  if (!to.ok()) return Response::Error(400, to.status().message());
  if (*from) f.from_ms = int64_t{**from} * 86'400'000;
  if (*to) f.to_ms = (int64_t{**to} + 1) * 86'400'000;  // inclusive of its day
  if (auto text = request.QueryParam("limit"); text && !text->empty()) {
    char* end = nullptr;
    long long n = std::strtoll(text->c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > kAuditLimitMax) {
      return Response::Error(400, "limit: a whole number from 1 to 100000");
    }
    f.limit = n;
  }
  auto entries = access.audit().Show(f);
  if (!entries.ok()) return Response::Error(500, "the audit trail cannot be read");
  json out = json::array();
  for (const access::AuditEntry& e : *entries) {
    out.push_back({{"seq", e.seq},
                   {"time", FormatIsoTimeMs(e.time_ms)},
                   {"user", e.user},
                   {"roles", e.roles},
                   {"project", e.project},
                   {"action", e.action},
                   {"params_hash", e.params_hash},
                   {"patients", e.patients >= 0 ? json(e.patients) : json(nullptr)},
                   {"origin", e.origin},
                   {"status", e.status}});
  }
  return Response::Json(200, json{{"entries", out}, {"limit", f.limit}}.dump());
}

Response AuditVerify(access::AccessControl& access) {
  auto verdict = access.audit().Verify();
  if (!verdict.ok()) return Response::Error(500, "the audit trail cannot be read");
  json out = {{"ok", verdict->ok}, {"entries", verdict->entries}, {"message", verdict->message}};
  if (!verdict->ok) {
    out["bad_seq"] = verdict->bad_seq;
    out["problem"] = verdict->problem;
  }
  return Response::Json(200, out.dump());
}

Response IncidentList(access::AccessControl& access, const Request& request) {
  auto incidents = access.catalog().ListIncidents(request.QueryParam("all") == "1");
  if (!incidents.ok()) return Response::Error(500, "the access catalog failed");
  json out = json::array();
  for (const access::Incident& i : *incidents) {
    json j = {{"id", i.id},           {"time", FormatIsoTimeMs(i.time_ms)},
              {"kind", i.kind},       {"user", i.user},
              {"project", i.project}, {"detail", i.detail}};
    if (i.acknowledged_ms != 0) {
      j["acknowledged_by"] = i.acknowledged_by;
      j["acknowledged"] = FormatIsoTimeMs(i.acknowledged_ms);
    }
    out.push_back(std::move(j));
  }
  return Response::Json(200, json{{"incidents", out}}.dump());
}

Response IncidentAck(access::AccessControl& access, const Request& request, const Caller& caller) {
  std::string text(request.Param("id"));
  char* end = nullptr;
  long long id = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || id < 1) return Response::Error(400, "id: a whole number");
  Status s = access.catalog().AcknowledgeIncident(id, caller.principal.user, access.NowMs());
  if (!s.ok()) return FromStatus(s);
  return Response::Json(200,
                        json{{"incident", id}, {"acknowledged_by", caller.principal.user}}.dump());
}

Response UserList(access::AccessControl& access) {
  auto users = access.catalog().ListUsers();
  if (!users.ok()) return Response::Error(500, "the access catalog failed");
  int64_t now_s = access.NowMs() / 1000;
  json out = json::array();
  for (const access::User& u : *users) {
    out.push_back({{"user", u.name},
                   {"roles", access::RoleNames(u.roles)},
                   {"enabled", u.enabled},
                   {"totp", u.has_totp},
                   {"locked", u.locked_until_s > now_s}});
  }
  return Response::Json(200, json{{"users", out}}.dump());
}

// POST /api/admin/users {user, roles: [...]}: the password (and, for the roles that need it,
// the TOTP URI) are made here and answered once.
Response UserAdd(access::AccessControl& access, const Request& request) {
  auto body = BodyObject(request);
  if (!body.ok()) return Response::Error(400, body.status().message());
  auto name = Text(*body, "user");
  if (!name.ok()) return Response::Error(400, name.status().message());
  if (!body->contains("roles") || !(*body)["roles"].is_array() || (*body)["roles"].empty()) {
    return Response::Error(400, "roles: a non-empty array of role names");
  }
  access::RoleMask roles = 0;
  for (const json& r : (*body)["roles"]) {
    auto role = r.is_string() ? access::ParseRole(r.get<std::string>()) : std::nullopt;
    if (!role) return Response::Error(400, "roles: unknown role");
    roles |= access::Bit(*role);
  }
  std::string password = crypto::RandomHex(kPasswordRandomBytes);
  auto secret = access.catalog().AddUser(*name, roles, password);
  if (!secret.ok()) return FromStatus(secret.status());
  json out = {{"user", *name}, {"roles", access::RoleNames(roles)}, {"password", password}};
  if (!secret->empty()) {
    auto uri = crypto::TotpUri("p4dp", *name, *secret);
    if (!uri.ok()) return Response::Error(500, "cannot make the TOTP URI");
    out["totp_uri"] = *uri;
  }
  return Response::Json(200, out.dump());
}

Response UserDisable(access::AccessControl& access, const Request& request) {
  std::string name(request.Param("name"));
  Status s = access.catalog().DisableUser(name);
  if (!s.ok()) return FromStatus(s);
  return Response::Json(200, json{{"user", name}, {"enabled", false}}.dump());
}

Response UserResetPassword(access::AccessControl& access, const Request& request) {
  std::string name(request.Param("name"));
  std::string password = crypto::RandomHex(kPasswordRandomBytes);
  Status s = access.catalog().SetPassword(name, password);
  if (!s.ok()) return FromStatus(s);
  return Response::Json(200,
                        json{{"user", name}, {"unlocked", true}, {"password", password}}.dump());
}

Response ProjectList(access::AccessControl& access) {
  auto projects = access.catalog().ListProjects();
  if (!projects.ok()) return Response::Error(500, "the access catalog failed");
  json out = json::array();
  for (const access::Project& p : *projects) {
    out.push_back(json::parse(access::ProjectToJson(p, access.Today())));
  }
  return Response::Json(200, json{{"projects", out}}.dump());
}

// The project of a POST /api/admin/projects body, checked as `p4dp project create` checks
// its options.
Result<access::Project> ProjectOf(const json& body) {
  access::Project p;
  p.id = P4DP_TRY(Text(body, "project"));
  p.title = P4DP_TRY(Text(body, "title"));
  if (p.title.empty()) return Status::InvalidArgument("title: required");
  p.purpose = P4DP_TRY(Text(body, "purpose"));
  p.legal_ref = P4DP_TRY(Text(body, "legal_ref"));
  std::string disclosure = P4DP_TRY(Text(body, "disclosure"));
  auto d = access::ParseDisclosure(disclosure.empty() ? "aggregate" : disclosure);
  if (!d) return Status::InvalidArgument("disclosure: aggregate or patient_list");
  p.disclosure = *d;
  if (body.contains("min_cell")) {
    const json& m = body["min_cell"];
    if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > 1'000'000) {
      return Status::InvalidArgument("min_cell: a whole number from 1 to 1000000");
    }
    p.min_cell = m.get<int64_t>();
  }
  if (body.contains("domains")) {
    if (!body["domains"].is_array()) return Status::InvalidArgument("domains: an array");
    for (const json& x : body["domains"]) {
      if (!x.is_string()) return Status::InvalidArgument("domains: names");
      p.domains.push_back(x.get<std::string>());
    }
  }
  p.end = P4DP_TRY(DateField(body, "end"));
  p.from = P4DP_TRY(DateField(body, "from"));
  p.to = P4DP_TRY(DateField(body, "to"));
  if (body.contains("population") && !body["population"].is_null()) {
    const json& pop = body["population"];
    p.population = pop.is_string() ? pop.get<std::string>() : pop.dump();
    // Checked now, so that a project never holds a population its queries cannot run.
    auto cohort = query::ParseCohort(p.population);
    if (!cohort.ok()) return Status::InvalidArgument("population: " + cohort.status().message());
  }
  return p;
}

Response ProjectCreate(access::AccessControl& access, const Request& request) {
  auto body = BodyObject(request);
  if (!body.ok()) return Response::Error(400, body.status().message());
  auto project = ProjectOf(*body);
  if (!project.ok()) return Response::Error(400, project.status().message());
  Status s = access.catalog().CreateProject(*project);
  if (!s.ok()) return FromStatus(s);
  return Response::Json(200, json{{"project", project->id}, {"created", true}}.dump());
}

Response ProjectAddMember(access::AccessControl& access, const Request& request) {
  std::string id(request.Param("id"));
  auto body = BodyObject(request);
  if (!body.ok()) return Response::Error(400, body.status().message());
  auto user = Text(*body, "user");
  if (!user.ok()) return Response::Error(400, user.status().message());
  if (user->empty()) return Response::Error(400, "user: required");
  Status s = access.catalog().AddMember(id, *user);
  if (!s.ok()) return FromStatus(s);
  return Response::Json(200, json{{"project", id}, {"member", *user}}.dump());
}

Response ProjectClose(access::AccessControl& access, const Request& request) {
  std::string id(request.Param("id"));
  Status s = access.catalog().CloseProject(id);
  if (!s.ok()) return FromStatus(s);
  return Response::Json(200, json{{"project", id}, {"closed", true}}.dump());
}

}  // namespace

void AddAdminRoutes(Router& router, access::AccessControl& access) {
  auto& a = access;
  AddGuardedRoute(router, a, "GET", "/api/audit", Action::kAuditShow,
                  [&a](const Request& r, Caller&) { return AuditShow(a, r); });
  AddGuardedRoute(router, a, "GET", "/api/audit/verify", Action::kAuditVerify,
                  [&a](const Request&, Caller&) { return AuditVerify(a); });
  AddGuardedRoute(router, a, "GET", "/api/incidents", Action::kIncidentList,
                  [&a](const Request& r, Caller&) { return IncidentList(a, r); });
  AddGuardedRoute(router, a, "POST", "/api/incidents/{id}/ack", Action::kIncidentAck,
                  [&a](const Request& r, Caller& c) { return IncidentAck(a, r, c); });
  AddGuardedRoute(router, a, "GET", "/api/admin/users", Action::kListUsers,
                  [&a](const Request&, Caller&) { return UserList(a); });
  AddGuardedRoute(router, a, "POST", "/api/admin/users", Action::kManageUsers,
                  [&a](const Request& r, Caller&) { return UserAdd(a, r); });
  AddGuardedRoute(router, a, "POST", "/api/admin/users/{name}/disable", Action::kManageUsers,
                  [&a](const Request& r, Caller&) { return UserDisable(a, r); });
  AddGuardedRoute(router, a, "POST", "/api/admin/users/{name}/reset-password", Action::kManageUsers,
                  [&a](const Request& r, Caller&) { return UserResetPassword(a, r); });
  AddGuardedRoute(router, a, "GET", "/api/admin/projects", Action::kListProjects,
                  [&a](const Request&, Caller&) { return ProjectList(a); });
  AddGuardedRoute(router, a, "POST", "/api/admin/projects", Action::kManageProjects,
                  [&a](const Request& r, Caller&) { return ProjectCreate(a, r); });
  AddGuardedRoute(router, a, "POST", "/api/admin/projects/{id}/members", Action::kManageProjects,
                  [&a](const Request& r, Caller&) { return ProjectAddMember(a, r); });
  AddGuardedRoute(router, a, "POST", "/api/admin/projects/{id}/close", Action::kManageProjects,
                  [&a](const Request& r, Caller&) { return ProjectClose(a, r); });
}

}  // namespace p4dp::server
