// The HTTP layer of p4dp: feature modules add their routes to a Router, and an HttpServer
// serves it on one address under fixed bounds, with the web folder's static files for every
// other GET. The Router is read-only once the server is created and its handlers run on
// several threads at once, so they must be thread-safe; HttpServer::Stop() may be called from
// any thread, the rest of HttpServer from the thread that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace p4dp::server {

// Bounds and defaults of ServerOptions.
inline constexpr size_t kHeaderBytesMax = 16 * 1024;
inline constexpr size_t kBodyBytesMax = 64 * 1024 * 1024;  // room for an ingestion batch
inline constexpr int kReadTimeoutMsDefault = 30'000;
inline constexpr int kWriteTimeoutMsDefault = 30'000;
inline constexpr int kIdleTimeoutMsDefault = 60'000;
inline constexpr int kThreadsDefault = 2;
inline constexpr int kThreadsMax = 64;
inline constexpr int kConnectionsMaxDefault = 1024;

// One HTTP request, as a handler sees it.
struct Request {
  std::string method;  // as sent, e.g. "GET"
  std::string path;    // the target's path, still percent-encoded, e.g. "/api/x%20y"
  std::string query;   // the raw text after '?', without it; empty if none
  // Lower-case names; a repeated header's values are joined by ", ".
  std::map<std::string, std::string, std::less<>> headers;
  std::string body;
  std::map<std::string, std::string, std::less<>> params;  // route captures, decoded
  std::string remote_address;                              // peer IP address

  // The header's value ("" if absent); `name` in lower case.
  std::string_view Header(std::string_view name) const;
  // A route capture ("" if the pattern has no such name).
  std::string_view Param(std::string_view name) const;
  // The first `name=value` of the query, decoded ('+' is a space); nullopt if absent or
  // badly encoded.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

// One HTTP response. The server adds Content-Length, Connection and the fixed security
// headers (nosniff, no referrer, no framing); `headers` holds any other ones, never those
// that frame the message (Content-Length, Transfer-Encoding, Connection). A response that
// breaks these rules, has a status outside 200..599, or a body with 204 or 304, is sent as
// a 500.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body{};
  std::vector<std::pair<std::string, std::string>> headers{};

  // `json` must already be a serialised JSON document.
  static Response Json(int status, std::string json);
  // {"error": message}. `message` must not contain patient data.
  static Response Error(int status, std::string_view message);
  static Response Text(int status, std::string text);
};

using Handler = std::function<Response(const Request&)>;

// Maps (method, pattern) to handlers. A pattern is a path of '/'-separated segments, each a
// literal or a named capture: "/api/surveillance/{indicator}". A literal segment wins over a
// capture at the same place, so "/api/cohorts/new" and "/api/cohorts/{id}" can coexist.
class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Adds a route. `method` is upper case ("GET", "POST", ...). A GET route also answers
  // HEAD (the server drops the body). Requires a well-formed pattern that starts with '/',
  // with distinct capture names, and no route already added for (method, pattern): these
  // are programmer errors and assert.
  void Add(std::string method, std::string_view pattern, Handler handler);

  // Routes `request` by its method and path, fills request.params and calls the handler.
  // Returns nullopt when no pattern matches the path (the caller then tries the web
  // folder or answers 404), 405 with an Allow header when a pattern matches but has no
  // route for the method, 400 for a badly encoded path, and 500 if the handler throws.
  std::optional<Response> Dispatch(Request& request) const;

 private:
  struct Route;
  std::vector<std::unique_ptr<Route>> routes_;
};

// Adds GET /api/health: 200 {"status":"ok","version":version}.
void AddHealthRoute(Router& router, std::string version);

struct ServerOptions {
  std::string bind_address = "127.0.0.1";     // an IPv4 or IPv6 address, or "localhost"
  uint16_t port = 0;                          // 0: an ephemeral port, see HttpServer::port()
  std::string web_dir{};                      // static files; empty: none are served
  int threads = kThreadsDefault;              // 1..kThreadsMax; handlers run on these
  size_t header_bytes_max = kHeaderBytesMax;  // request line + headers; over it: 431
  size_t body_bytes_max = kBodyBytesMax;      // over it: 413
  // Time to receive a request's line and headers, then the longest silence while its body
  // arrives; past it the connection is closed.
  int read_timeout_ms = kReadTimeoutMsDefault;
  int write_timeout_ms = kWriteTimeoutMsDefault;  // to send one response
  int idle_timeout_ms = kIdleTimeoutMsDefault;    // between two requests on one connection
  int connections_max = kConnectionsMaxDefault;   // more are closed as soon as accepted
};

// Serves a Router over HTTP/1.1 (keep-alive, pipelining, chunked request bodies) on one
// address. Each connection is handled on one thread at a time; handlers of different
// connections run in parallel on `threads` threads.
class HttpServer {
 public:
  // Checks the options, opens the web folder and binds the address, so that an address
  // already in use is reported here ("cannot listen on 127.0.0.1:8080: ..."). Adds no
  // route: callers add AddHealthRoute and the feature routes to `router` first.
  static Result<std::unique_ptr<HttpServer>> Create(ServerOptions options, Router router);
  // Requires that Run() is not running (it returned, or was never called).
  ~HttpServer();

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const;
  // Serves until Stop(); call it once. Returns an error only if the server could not run.
  Status Run();
  // Graceful stop, from any thread, before or during Run(): stops accepting, closes idle
  // connections, lets requests already being read or handled finish (each then closes its
  // connection), and makes Run() return once none is left.
  void Stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace p4dp::server
