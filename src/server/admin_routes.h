// The HTTP side of `p4dp audit`, `p4dp incident`, `p4dp user` and `p4dp project`: the audit
// viewer's routes (GET /api/audit, GET /api/audit/verify, GET /api/incidents, POST
// /api/incidents/{id}/ack) and the administration's (GET/POST /api/admin/users and
// /api/admin/projects and their sub-routes). Every route goes through the access guard with
// the same action as its command (access/policy.cc), so the rights cannot differ between the
// command line and the server, and calls the same AccessCatalog and AuditLog functions.
// Passwords are never sent to the server: it makes them and answers them once, so that no
// secret reaches a request body (whose hash the audit trail keeps). Handlers are
// thread-safe: the catalog and the audit trail have their own locks.
#pragma once

#include "access/control.h"
#include "server/http_server.h"

namespace p4dp::server {

// Adds the routes above (docs/api.md). `access` must outlive the router.
void AddAdminRoutes(Router& router, access::AccessControl& access);

}  // namespace p4dp::server
