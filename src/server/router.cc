// The Router, Request and Response of server/http_server.h: no Beast here.
#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "server/http_server.h"
#include "server/url.h"

namespace p4dp::server {

std::string_view Request::Header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view Request::Param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    std::optional<std::string> key = PercentDecode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return PercentDecode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

Response Response::Json(int status, std::string json) {
  return Response{
      .status = status, .content_type = "application/json", .body = std::move(json), .headers = {}};
}

Response Response::Error(int status, std::string_view message) {
  nlohmann::json body = {{"error", message}};
  // Replace, not throw, on invalid UTF-8: a message may quote a byte sequence a client sent.
  return Json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response Response::Text(int status, std::string text) {
  return Response{.status = status,
                  .content_type = "text/plain; charset=utf-8",
                  .body = std::move(text),
                  .headers = {}};
}

namespace {

struct Segment {
  bool capture = false;
  std::string text;  // the literal, or the capture's name
};

// "/a/{x}/b" -> {a, {x}, b}; asserts on a malformed pattern.
std::vector<Segment> ParsePattern(std::string_view pattern) {
  P4DP_ASSERT(!pattern.empty() && pattern[0] == '/');
  std::vector<Segment> segments;
  std::set<std::string, std::less<>> names;
  for (std::string_view part : PathSegments(pattern)) {
    bool capture = part.size() >= 2 && part.front() == '{' && part.back() == '}';
    if (!capture) {
      P4DP_ASSERT(part.find_first_of("{}") == std::string_view::npos);
      segments.push_back({false, std::string(part)});
      continue;
    }
    std::string name(part.substr(1, part.size() - 2));
    P4DP_ASSERT(!name.empty() && name.find_first_of("{}") == std::string::npos);
    P4DP_ASSERT(names.insert(name).second);
    segments.push_back({true, std::move(name)});
  }
  return segments;
}

// The pattern with capture names erased: two patterns of one shape match the same paths.
std::string Shape(const std::vector<Segment>& segments) {
  std::string shape;
  for (const Segment& s : segments) shape += s.capture ? "/{}" : "/" + s.text;
  return shape;
}

}  // namespace

struct Router::Route {
  std::string method;
  std::string shape;
  std::vector<Segment> segments;
  Handler handler;

  // True if the decoded path segments match; literal segments must be equal, captures
  // non-empty.
  bool Matches(const std::vector<std::string>& path) const {
    if (path.size() != segments.size()) return false;
    for (size_t i = 0; i < path.size(); ++i) {
      const Segment& s = segments[i];
      if (s.capture ? path[i].empty() : path[i] != s.text) return false;
    }
    return true;
  }
  // Orders matching routes: a literal segment beats a capture, leftmost first.
  std::vector<bool> Specificity() const {
    std::vector<bool> literal;
    for (const Segment& s : segments) literal.push_back(!s.capture);
    return literal;
  }
};

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(std::string method, std::string_view pattern, Handler handler) {
  P4DP_ASSERT(!method.empty() && handler);
  auto route = std::make_unique<Route>();
  route->segments = ParsePattern(pattern);
  route->shape = Shape(route->segments);
  for (const auto& other : routes_) {
    P4DP_ASSERT(other->method != method || other->shape != route->shape);
  }
  route->method = std::move(method);
  route->handler = std::move(handler);
  routes_.push_back(std::move(route));
}

namespace {

Response CallHandler(const Handler& handler, const Request& request) {
  try {
    return handler(request);
  } catch (const std::exception&) {
    // The exception's text may hold data from the request: it is not sent back.
  } catch (...) {
  }
  return Response::Error(500, "internal error");
}

std::string AllowHeader(const std::vector<const std::string*>& methods) {
  std::set<std::string> names;
  for (const std::string* m : methods) names.insert(*m);
  if (names.count("GET")) names.insert("HEAD");
  std::string allow;
  for (const std::string& name : names) allow += (allow.empty() ? "" : ", ") + name;
  return allow;
}

}  // namespace

std::optional<Response> Router::Dispatch(Request& request) const {
  if (request.path.empty() || request.path[0] != '/') return Response::Error(400, "bad path");
  std::vector<std::string> path;
  for (std::string_view raw : PathSegments(request.path)) {
    std::optional<std::string> decoded = PercentDecode(raw, false);
    if (!decoded) return Response::Error(400, "badly encoded path");
    path.push_back(std::move(*decoded));
  }
  const Route* best = nullptr;
  for (const auto& route : routes_) {
    if (!route->Matches(path)) continue;
    if (!best || route->Specificity() > best->Specificity()) best = route.get();
  }
  if (!best) return std::nullopt;
  const Route* chosen = nullptr;
  const Route* get = nullptr;
  std::vector<const std::string*> allowed;
  for (const auto& route : routes_) {
    if (route->shape != best->shape) continue;
    allowed.push_back(&route->method);
    if (route->method == request.method) chosen = route.get();
    if (route->method == "GET") get = route.get();
  }
  if (!chosen && request.method == "HEAD") chosen = get;
  if (!chosen) {
    Response response = Response::Error(405, "method not allowed");
    response.headers.emplace_back("Allow", AllowHeader(allowed));
    return response;
  }
  request.params.clear();
  for (size_t i = 0; i < path.size(); ++i) {
    if (chosen->segments[i].capture) request.params[chosen->segments[i].text] = path[i];
  }
  return CallHandler(chosen->handler, request);
}

void AddHealthRoute(Router& router, std::string version) {
  router.Add("GET", "/api/health", [version = std::move(version)](const Request&) {
    nlohmann::json body = {{"status", "ok"}, {"version", version}};
    return Response::Json(200, body.dump());
  });
}

}  // namespace p4dp::server
