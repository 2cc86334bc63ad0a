#include "server/access_routes.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>

#include "base/date.h"
#include "crypto/password.h"

namespace p4dp::server {
namespace {

// Longest login body: a name, a password of kPasswordBytesMax and a code, with room.
constexpr size_t kLoginBodyBytesMax = 8 * 1024;

std::string BearerToken(const Request& request) {
  std::string_view h = request.Header("authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (h.size() <= kPrefix.size() || h.substr(0, kPrefix.size()) != kPrefix) return "";
  return std::string(h.substr(kPrefix.size()));
}

// What the audit trail hashes for a call: method, path, query and the hash of the body.
// Never the body itself; a login's parameters are its path alone (the body holds secrets).
std::string ParamsOf(const Request& request) {
  return request.method + " " + request.path + "?" + request.query + "\n" +
         crypto::Sha256Hex(request.body);
}

std::string IsoSeconds(int64_t s) {
  Days day = static_cast<Days>(s / 86'400);
  int64_t t = s % 86'400;
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", static_cast<int>(t / 3600),
                static_cast<int>(t / 60 % 60), static_cast<int>(t % 60));
  return FormatIsoDate(day) + buf;
}

Response Refusal(const access::Decision& d) {
  Response r = Response::Error(d.status, d.reason);
  if (d.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Response Guarded(access::AccessControl& access, const std::string& action_name,
                 const ActionOf& action_of, const GuardedHandler& handler, const Request& request) {
  std::optional<access::Principal> principal = access.Authenticate(BearerToken(request));
  std::string project = request.QueryParam("project").value_or("");
  access::Grant grant = access.Authorize(action_of(request), principal, project);
  Caller caller;
  Response response;
  if (!grant.decision.allowed()) {
    response = Refusal(grant.decision);
  } else {
    caller.principal = *principal;
    caller.project = grant.project ? &*grant.project : nullptr;
    try {
      response = handler(request, caller);
    } catch (const std::exception&) {
      response = Response::Error(500, "internal error");
    }
  }
  access::CallRecord call{.action = action_name,
                          .params = ParamsOf(request),
                          .origin = request.remote_address,
                          .status = response.status,
                          .patients = caller.patients,
                          .patient_list = caller.patient_list};
  Status audited = access.Record(principal, principal ? principal->user : "", project, call);
  // No trace, no answer: an access that cannot be audited is not served.
  if (!audited.ok()) return Response::Error(500, "the audit trail cannot be written");
  return response;
}

Response Login(access::AccessControl& access, const Request& request) {
  std::string user;
  Response response;
  if (request.body.size() > kLoginBodyBytesMax) {
    response = Response::Error(413, "login body too large");
  } else {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    auto text = [&](const char* name) {
      return body.is_object() && body.contains(name) && body[name].is_string()
                 ? body[name].get<std::string>()
                 : std::string();
    };
    user = text("user");
    if (user.empty() || !access::CheckName("user", user).ok()) {
      user.clear();
      response = Response::Error(400, "send {\"user\", \"password\", \"totp\"} as JSON");
    } else {
      access::LoginResult r = access.Login(user, text("password"), text("totp"));
      if (r.status != 200) {
        response = Refusal({401, "wrong user name, password or code, or account locked"});
      } else {
        nlohmann::json out = {{"token", r.token},
                              {"expires", IsoSeconds(r.expires_s)},
                              {"expires_s", r.expires_s},
                              {"roles", access::RoleNames(r.roles)}};
        response = Response::Json(200, out.dump());
      }
    }
  }
  access::CallRecord call{.action = "POST /api/login",
                          .params = "POST /api/login",
                          .origin = request.remote_address,
                          .status = response.status};
  std::optional<access::Principal> who;
  if (response.status == 200) {
    auto u = access.catalog().FindUser(user);
    if (u.ok()) who = access::Principal{.user = u->name, .roles = u->roles};
  }
  if (!access.Record(who, user, "", call).ok()) {
    return Response::Error(500, "the audit trail cannot be written");
  }
  return response;
}

}  // namespace

void AddGuardedRoute(Router& router, access::AccessControl& access, std::string method,
                     std::string_view pattern, ActionOf action_of, GuardedHandler handler) {
  std::string name = method + " " + std::string(pattern);
  router.Add(
      std::move(method), pattern,
      [&access, name, action_of = std::move(action_of), handler = std::move(handler)](
          const Request& request) { return Guarded(access, name, action_of, handler, request); });
}

void AddGuardedRoute(Router& router, access::AccessControl& access, std::string method,
                     std::string_view pattern, access::Action action, GuardedHandler handler) {
  AddGuardedRoute(
      router, access, std::move(method), pattern, [action](const Request&) { return action; },
      std::move(handler));
}

void AddAccessRoutes(Router& router, access::AccessControl& access) {
  router.Add("POST", "/api/login",
             [&access](const Request& request) { return Login(access, request); });
  AddGuardedRoute(router, access, "POST", "/api/logout", access::Action::kLogout,
                  [&access](const Request& request, Caller&) {
                    if (!access.Logout(BearerToken(request)).ok()) {
                      return Response::Error(500, "cannot end the session");
                    }
                    return Response::Json(200, R"({"logged_out":true})");
                  });
  AddGuardedRoute(router, access, "GET", "/api/me", access::Action::kMe,
                  [&access](const Request&, Caller& caller) {
                    auto projects = access.catalog().ListProjects();
                    if (!projects.ok()) return Response::Error(500, "cannot read the projects");
                    nlohmann::json mine = nlohmann::json::array();
                    Days today = access.Today();
                    for (const access::Project& p : *projects) {
                      const auto& m = p.members;
                      if (std::find(m.begin(), m.end(), caller.principal.user) == m.end()) continue;
                      bool ended = p.end && today > *p.end;
                      mine.push_back({{"project", p.id},
                                      {"title", p.title},
                                      {"state", p.closed ? "closed"
                                                : ended  ? "ended"
                                                         : "open"},
                                      {"disclosure", access::DisclosureName(p.disclosure)},
                                      {"min_cell", p.min_cell},
                                      {"end", p.end ? nlohmann::json(FormatIsoDate(*p.end))
                                                    : nlohmann::json(nullptr)}});
                    }
                    nlohmann::json out = {{"user", caller.principal.user},
                                          {"roles", access::RoleNames(caller.principal.roles)},
                                          {"projects", mine}};
                    return Response::Json(200, out.dump());
                  });
}

}  // namespace p4dp::server
