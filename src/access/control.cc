#include "access/control.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "crypto/keys.h"
#include "crypto/password.h"
#include "crypto/totp.h"

namespace p4dp::access {

Result<std::unique_ptr<AccessControl>> AccessControl::Open(const std::string& data_dir,
                                                           const crypto::Key& master_key,
                                                           AccessOptions options) {
  crypto::Key catalog_key = crypto::DeriveKey(master_key, crypto::KeyPurpose::kCatalog);
  auto catalog = P4DP_TRY(
      AccessCatalog::Open(data_dir, catalog_key, {.password_cost = options.password_cost}));
  auto audit = P4DP_TRY(AuditLog::Open(data_dir));
  return std::unique_ptr<AccessControl>(
      new AccessControl(std::move(catalog), std::move(audit), options));
}

AccessControl::AccessControl(std::unique_ptr<AccessCatalog> catalog,
                             std::unique_ptr<AuditLog> audit, AccessOptions options)
    : catalog_(std::move(catalog)), audit_(std::move(audit)), options_(options) {}

int64_t AccessControl::NowMs() const {
  const Clock& clock = options_.clock ? *options_.clock : SystemClock();
  return clock.NowMicros() / 1000;
}

Days AccessControl::Today() const { return static_cast<Days>(NowMs() / 86'400'000); }

LoginResult AccessControl::Login(std::string_view name, std::string_view password,
                                 std::string_view totp) {
  LoginResult refused;
  int64_t now_s = NowMs() / 1000;
  auto user = catalog_->FindUser(name);
  if (!user.ok() || !user->enabled) {
    // As slow as a wrong password, so that the answer's time does not tell which names exist.
    static const std::string* dummy =
        new std::string(crypto::HashPassword("p4dp-dummy", options_.password_cost).value());
    (void)crypto::VerifyPassword(*dummy, password);
    return refused;
  }
  if (user->locked_until_s > now_s) return refused;
  auto password_ok = catalog_->CheckPassword(name, password);
  bool ok = password_ok.ok() && *password_ok;
  if (ok && (user->roles & kTotpRoles)) {
    auto secret = catalog_->TotpSecret(name);
    std::optional<int64_t> step;
    if (secret.ok() && !secret->empty()) step = crypto::TotpMatchStep(*secret, totp, now_s);
    // A code is good once: its step must come after the last one accepted (no replay
    // within the window, nor an older code once a newer one was used).
    auto claimed = step ? catalog_->ClaimTotpStep(name, *step) : Result<bool>(false);
    ok = claimed.ok() && *claimed;
  }
  if (!ok) {
    auto locked =
        catalog_->RecordFailure(name, options_.login_failures_max, now_s, options_.lockout_seconds);
    if (locked.ok() && *locked) {
      (void)OpenIncidentOnce("lockout", name, "",
                             std::to_string(options_.login_failures_max) +
                                 " failed logins in a row; locked for " +
                                 std::to_string(options_.lockout_seconds / 60) + " min",
                             NowMs());
    }
    return refused;
  }
  if (!catalog_->ResetFailures(name).ok()) return refused;
  int64_t expires = now_s + options_.session_seconds;
  auto token = catalog_->CreateSession(name, now_s, expires);
  if (!token.ok()) return refused;
  return {.status = 200, .token = std::move(*token), .expires_s = expires, .roles = user->roles};
}

Status AccessControl::Logout(std::string_view token) { return catalog_->DeleteSession(token); }

std::optional<Principal> AccessControl::Authenticate(std::string_view token) {
  if (token.empty()) return std::nullopt;
  auto name = catalog_->SessionUser(token, NowMs() / 1000);
  if (!name.ok()) return std::nullopt;
  auto user = catalog_->FindUser(*name);
  if (!user.ok() || !user->enabled) return std::nullopt;
  return Principal{.user = user->name, .roles = user->roles, .bootstrap = false};
}

Result<std::optional<Principal>> AccessControl::Operator(std::string_view name) {
  int64_t users = P4DP_TRY(catalog_->UserCount());
  if (users == 0) {
    return std::optional<Principal>(
        Principal{.user = std::string(name), .roles = kAllRoles, .bootstrap = true});
  }
  auto user = catalog_->FindUser(name);
  if (!user.ok()) {
    if (user.status().code() == StatusCode::kNotFound) return std::optional<Principal>();
    return user.status();
  }
  if (!user->enabled) return std::optional<Principal>();
  return std::optional<Principal>(
      Principal{.user = user->name, .roles = user->roles, .bootstrap = false});
}

Grant AccessControl::Authorize(Action action, const std::optional<Principal>& principal,
                               std::string_view project_id) {
  Grant grant;
  grant.principal = principal;
  bool named = !project_id.empty();
  ProjectState state;
  const ProjectState* known = nullptr;
  if (named) {
    auto project = catalog_->FindProject(project_id);
    if (project.ok()) {
      const auto& members = project->members;
      state.closed = project->closed;
      state.end = project->end;
      state.patient_list = project->disclosure == Disclosure::kPatientList;
      state.caller_is_member =
          principal && std::find(members.begin(), members.end(), principal->user) != members.end();
      known = &state;
      grant.project = std::move(*project);
    } else if (project.status().code() != StatusCode::kNotFound) {
      grant.decision = {500, "access catalog unavailable"};
      return grant;
    }
  }
  grant.decision = Decide(action, principal ? &*principal : nullptr, named, known, Today());
  return grant;
}

Status AccessControl::Record(const std::optional<Principal>& principal, std::string_view user,
                             std::string_view project, const CallRecord& call) {
  AuditEntry entry;
  entry.time_ms = NowMs();
  entry.user = std::string(user);
  if (principal) entry.roles = principal->bootstrap ? "bootstrap" : RoleMaskText(principal->roles);
  entry.project = std::string(project);
  entry.action = call.action;
  entry.params_hash = crypto::Sha256Hex(call.params);
  entry.patients = call.patients;
  entry.origin = call.origin;
  entry.status = call.status;
  P4DP_TRY(audit_->Append(entry));
  return CheckIncidents(user, project, call, entry.time_ms);
}

Status AccessControl::CheckIncidents(std::string_view user, std::string_view project,
                                     const CallRecord& call, int64_t now_ms) {
  int64_t last_minute = P4DP_TRY(audit_->CountSince(user, now_ms - 60'000, false));
  if (last_minute > options_.burst_per_minute) {
    P4DP_TRY(OpenIncidentOnce("burst", user, project,
                              std::to_string(last_minute) + " calls in one minute", now_ms));
  }
  if (call.status == 401 || call.status == 403) {
    int64_t refusals = P4DP_TRY(audit_->CountSince(user, now_ms - kIncidentWindowMs, true));
    if (refusals >= options_.refusals_max) {
      P4DP_TRY(OpenIncidentOnce("refusals", user, project,
                                std::to_string(refusals) + " refusals in 10 minutes", now_ms));
    }
  }
  if (call.patient_list && call.patients >= options_.large_patient_list) {
    P4DP_TRY(OpenIncidentOnce("large_patient_list", user, project,
                              "a list of " + std::to_string(call.patients) + " patients", now_ms));
  }
  return Status::Ok();
}

Status AccessControl::OpenIncidentOnce(std::string_view kind, std::string_view user,
                                       std::string_view project, std::string detail,
                                       int64_t now_ms) {
  // One open incident per kind and user per window: a burst is one incident, not hundreds.
  bool open = P4DP_TRY(catalog_->HasOpenIncident(kind, user, now_ms - kIncidentWindowMs));
  if (open) return Status::Ok();
  Incident incident{.time_ms = now_ms,
                    .kind = std::string(kind),
                    .user = std::string(user),
                    .project = std::string(project),
                    .detail = std::move(detail)};
  return catalog_->AddIncident(incident).status();
}

namespace {

// "ENTRY:RULE,RULE" in hexadecimal: what the catalog keeps of a query.
std::string FingerprintText(const QueryFingerprint& q) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(q.entry));
  std::string text = std::string(hex) + ":";
  for (size_t i = 0; i < q.rules.size(); ++i) {
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(q.rules[i]));
    text += (i == 0 ? "" : ",") + std::string(hex);
  }
  return text;
}

std::optional<QueryFingerprint> ParseFingerprint(std::string_view text) {
  QueryFingerprint q;
  size_t colon = text.find(':');
  if (colon != 16) return std::nullopt;
  auto hex = [](std::string_view h, uint64_t& out) {
    if (h.size() != 16) return false;
    out = 0;
    for (char c : h) {
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (v < 0) return false;
      out = out << 4 | static_cast<uint64_t>(v);
    }
    return true;
  };
  if (!hex(text.substr(0, 16), q.entry)) return std::nullopt;
  for (std::string_view rest = text.substr(17); !rest.empty();) {
    uint64_t rule = 0;
    if (!hex(rest.substr(0, 16), rule)) return std::nullopt;
    q.rules.push_back(rule);
    rest.remove_prefix(std::min<size_t>(17, rest.size()));
  }
  return q;
}

}  // namespace

Status AccessControl::AdmitQuery(std::string_view user, std::string_view project,
                                 const QueryFingerprint& query, const QueryGuardOptions& options) {
  const int64_t now = NowMs();
  const int64_t since = now - options.window_seconds * 1000 + 1;
  const std::string window = std::to_string(options.window_seconds) + " s";
  return catalog_->AdmitQuery(
      user, project, now, since, FingerprintText(query),
      [&](const std::vector<std::string>& recent) -> Status {
        if (static_cast<int64_t>(recent.size()) >= options.queries_max) {
          return Status::ResourceExhausted("rate limit: " + std::to_string(options.queries_max) +
                                           " queries in this project within " + window +
                                           "; try again later");
        }
        int64_t near = 0;
        for (const std::string& text : recent) {
          std::optional<QueryFingerprint> q = ParseFingerprint(text);
          near += q && Distance(*q, query) == 1 ? 1 : 0;
        }
        if (near >= options.near_identical_max) {
          return Status::ResourceExhausted(
              "differencing guard: " + std::to_string(near) +
              " queries differing from this one by one criterion within " + window +
              "; try again later");
        }
        return Status::Ok();
      });
}

Result<std::vector<int64_t>> AccessControl::ReleasedCounts(std::string_view user,
                                                           std::string_view project,
                                                           const QueryGuardOptions& options) {
  return catalog_->ReleasedCounts(user, project, NowMs() - options.window_seconds * 1000 + 1);
}

Status AccessControl::NoteReleased(std::string_view user, std::string_view project,
                                   std::span<const int64_t> counts) {
  return catalog_->NoteReleasedCounts(user, project, NowMs(), counts);
}

}  // namespace p4dp::access
