// The access side of the HTTP API: login, logout and the current user (POST /api/login,
// POST /api/logout, GET /api/me), and the guard every other /api route goes through. The
// guard reads the session token (Authorization: Bearer TOKEN) and the project (?project=ID),
// decides through the access policy table (access/policy.h): 401 without a valid session,
// 403 when the role or the project does not allow it; then runs the handler, and appends
// exactly one audit entry for the call, allowed or refused. Handlers are thread-safe: the
// access service has its own locks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "access/control.h"
#include "server/http_server.h"

namespace p4dp::server {

// What a guarded handler knows about its caller; it sets `patients` once it knows how many
// patients its answer is about (kPatientsUnknown otherwise), and `patient_list` when the
// answer lists them.
struct Caller {
  access::Principal principal{};
  const access::Project* project = nullptr;  // the project named, when the action needs one
  int64_t patients = access::kPatientsUnknown;
  bool patient_list = false;
};

using GuardedHandler = std::function<Response(const Request&, Caller&)>;
// The action a request asks for (a route may ask for more than one: a count, or a count
// with its patient list).
using ActionOf = std::function<access::Action(const Request&)>;

// Adds a route that only runs `handler` once the guard allows the request.
void AddGuardedRoute(Router& router, access::AccessControl& access, std::string method,
                     std::string_view pattern, ActionOf action_of, GuardedHandler handler);
void AddGuardedRoute(Router& router, access::AccessControl& access, std::string method,
                     std::string_view pattern, access::Action action, GuardedHandler handler);

// POST /api/login {user, password, totp?} -> 200 {token, expires, expires_s, roles} or 401;
// POST /api/logout; GET /api/me -> {user, roles, projects}. `access` must outlive the router.
void AddAccessRoutes(Router& router, access::AccessControl& access);

}  // namespace p4dp::server
