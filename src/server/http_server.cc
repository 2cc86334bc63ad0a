// HttpServer on Boost.Beast and Asio with C++20 coroutines: the only file that includes Beast.
// One accept loop runs on its own strand; each connection is a coroutine on its own strand,
// so a connection's state is touched by one thread at a time. The server's registry of
// connections (used by Stop) is guarded by a mutex.
#include "server/http_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "server/static_files.h"
#include "server/url.h"

namespace p4dp::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using net::awaitable;
using net::use_awaitable;
using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr size_t kHeaderBytesCeiling = 1024 * 1024;  // the most header_bytes_max may be
// After an error response, unread request bytes are drained for a while before closing,
// so that the client reads the response instead of a connection reset.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr size_t kLingerBytesMax = 1024 * 1024;
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

std::string_view ToStd(beast::string_view text) { return {text.data(), text.size()}; }

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsApiPath(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

// "127.0.0.1:8080" or "[::1]:8080".
std::string EndpointText(const net::ip::address& address, uint16_t port) {
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

Status CheckOptions(const ServerOptions& o) {
  if (o.threads < 1 || o.threads > kThreadsMax) {
    return Status::InvalidArgument("threads must be in 1.." + std::to_string(kThreadsMax));
  }
  if (o.header_bytes_max < 1 || o.header_bytes_max > kHeaderBytesCeiling) {
    return Status::InvalidArgument("header_bytes_max must be in 1.." +
                                   std::to_string(kHeaderBytesCeiling));
  }
  if (o.read_timeout_ms <= 0 || o.write_timeout_ms <= 0 || o.idle_timeout_ms <= 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  if (o.connections_max < 1) return Status::InvalidArgument("connections_max must be positive");
  return Status::Ok();
}

// A header name is an RFC 9110 token; a value has no control character but tab.
bool ValidHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) &&
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return std::none_of(value.begin(), value.end(),
                      [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

// The headers that frame the message belong to the server, not to handlers.
bool IsFramingHeader(std::string_view name) {
  std::string lower = Lower(name);
  return lower == "content-length" || lower == "transfer-encoding" || lower == "connection";
}

// Handlers may answer 200..599; 204 and 304 carry no body.
bool ValidResponse(const Response& r) {
  if (r.status < 200 || r.status > 599) return false;
  if ((r.status == 204 || r.status == 304) && !r.body.empty()) return false;
  if (!ValidHeader("Content-Type", r.content_type) && !r.content_type.empty()) return false;
  return std::all_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    return ValidHeader(h.first, h.second) && !IsFramingHeader(h.first);
  });
}

BeastResponse ToBeast(Response response, unsigned version, bool keep_alive, bool head) {
  if (!ValidResponse(response)) response = Response::Error(500, "internal error");
  BeastResponse res;
  res.version(version);
  res.result(static_cast<unsigned>(response.status));
  res.set(http::field::server, "p4dp");
  if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  for (const auto& [name, value] : response.headers) res.insert(name, value);
  size_t size = response.body.size();
  if (!head) res.body() = std::move(response.body);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(size);
  } else {
    res.prepare_payload();
  }
  return res;
}

Request ToRequest(BeastRequest& message, const std::string& remote_address) {
  Request request;
  request.method = std::string(ToStd(message.method_string()));
  Target target = SplitTarget(ToStd(message.target()));
  request.path = std::string(target.path);
  request.query = std::string(target.query);
  for (const auto& field : message) {
    auto [it, inserted] =
        request.headers.try_emplace(Lower(ToStd(field.name_string())), ToStd(field.value()));
    if (!inserted) it->second += ", " + std::string(ToStd(field.value()));
  }
  request.body = std::move(message.body());
  request.remote_address = remote_address;
  return request;
}

bool IsParseError(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

namespace internal {

class Connection;

// Everything the server shares between its connections.
class Engine {
 public:
  Engine(ServerOptions options, Router router, std::optional<StaticFiles> files)
      : options_(std::move(options)),
        router_(std::move(router)),
        static_files_(std::move(files)),
        io_(options_.threads),
        acceptor_strand_(net::make_strand(io_)),
        acceptor_(acceptor_strand_) {}

  Status Listen();
  Status Run();
  void Stop();
  uint16_t port() const { return port_; }
  const ServerOptions& options() const { return options_; }
  // True once Stop() has been called: replies then say "Connection: close".
  bool stopping() const { return stop_requested_; }

  // Answers one request: a route, else 404 under /api, else a static file.
  Response Respond(Request& request) const;
  void Unregister(Connection* connection);

 private:
  awaitable<void> AcceptLoop();
  void Admit(tcp::socket socket);
  void RunThreads();

  const ServerOptions options_;
  const Router router_;
  const std::optional<StaticFiles> static_files_;
  net::io_context io_;
  net::strand<net::io_context::executor_type> acceptor_strand_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> ran_{false};
  std::atomic<bool> stop_requested_{false};
  std::mutex mutex_;
  bool stopping_ = false;                                         // guarded by mutex_
  std::map<Connection*, std::weak_ptr<Connection>> connections_;  // guarded by mutex_
};

// One client connection: reads requests one after the other and answers each in turn.
class Connection {
 public:
  Connection(Engine& engine, tcp::socket socket)
      : engine_(engine), options_(engine.options()), stream_(std::move(socket)) {
    error_code ec;
    tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = peer.address().to_string();
  }

  // The connection's coroutine; `self` keeps it alive until the end.
  static awaitable<void> Serve(std::shared_ptr<Connection> self);
  // Graceful stop, on the connection's strand: an idle or lingering connection is closed at
  // once, a request being read or answered is finished first.
  void Shutdown() {
    stopping_ = true;
    if (idle_ || lingering_) stream_.cancel();
  }
  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  awaitable<void> Loop();
  awaitable<bool> WaitForRequest();
  awaitable<error_code> ReadRequest(http::request_parser<http::string_body>& parser);
  awaitable<bool> Answer(BeastRequest message);
  awaitable<error_code> Write(BeastResponse& response);
  awaitable<void> Reject(int status, std::string_view message);
  awaitable<void> LingeringClose();

  Engine& engine_;
  const ServerOptions& options_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_address_;
  bool idle_ = false;       // waiting for the first byte of a request
  bool lingering_ = false;  // draining the client's bytes before closing
  bool stopping_ = false;   // set by Shutdown
};

awaitable<void> Connection::Serve(std::shared_ptr<Connection> self) {
  try {
    co_await self->Loop();
  } catch (const std::exception&) {
    // A failure of one connection (out of memory, say) must not reach the other ones.
  }
  error_code ec;
  self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  self->stream_.close();
  self->engine_.Unregister(self.get());
}

awaitable<void> Connection::Loop() {
  for (;;) {
    if (!co_await WaitForRequest()) co_return;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_bytes_max));
    parser.body_limit(static_cast<std::uint64_t>(options_.body_bytes_max));
    error_code ec = co_await ReadRequest(parser);
    if (ec == http::error::header_limit) {
      co_await Reject(431, "request header too large");
      co_return;
    }
    if (ec == http::error::body_limit) {
      co_await Reject(413, "request body too large");
      co_return;
    }
    if (IsParseError(ec)) {
      co_await Reject(400, "malformed request");
      co_return;
    }
    if (ec) co_return;  // closed by the client, timed out or stopped
    if (!co_await Answer(parser.release())) co_return;
  }
}

awaitable<bool> Connection::WaitForRequest() {
  if (stopping_) co_return false;
  if (buffer_.size() > 0) co_return true;  // a pipelined request has arrived already
  idle_ = true;
  error_code ec;
  stream_.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
  size_t n = co_await stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                                              net::redirect_error(use_awaitable, ec));
  idle_ = false;
  if (ec) co_return false;
  buffer_.commit(n);
  co_return true;
}

awaitable<error_code> Connection::ReadRequest(http::request_parser<http::string_body>& parser) {
  error_code ec;
  stream_.expires_after(std::chrono::milliseconds(options_.read_timeout_ms));
  co_await http::async_read_header(stream_, buffer_, parser,
                                   net::redirect_error(use_awaitable, ec));
  if (ec) co_return ec;
  const BeastRequest& header = parser.get();
  if (!parser.is_done() && header.version() >= 11 &&
      beast::iequals(header[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(std::chrono::milliseconds(options_.write_timeout_ms));
    co_await net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              net::redirect_error(use_awaitable, ec));
    if (ec) co_return ec;
  }
  // The body may be long: the timeout bounds each silence, not the whole transfer.
  while (!parser.is_done()) {
    stream_.expires_after(std::chrono::milliseconds(options_.read_timeout_ms));
    co_await http::async_read_some(stream_, buffer_, parser,
                                   net::redirect_error(use_awaitable, ec));
    if (ec) co_return ec;
  }
  co_return ec;
}

awaitable<bool> Connection::Answer(BeastRequest message) {
  bool head = message.method() == http::verb::head;
  unsigned version = message.version();
  bool keep_alive = message.keep_alive();
  Request request = ToRequest(message, remote_address_);
  Response response = engine_.Respond(request);
  keep_alive = keep_alive && !stopping_ && !engine_.stopping();
  BeastResponse res = ToBeast(std::move(response), version, keep_alive, head);
  if (co_await Write(res)) co_return false;
  if (!keep_alive) {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  co_return keep_alive;
}

awaitable<error_code> Connection::Write(BeastResponse& response) {
  error_code ec;
  stream_.expires_after(std::chrono::milliseconds(options_.write_timeout_ms));
  co_await http::async_write(stream_, response, net::redirect_error(use_awaitable, ec));
  co_return ec;
}

awaitable<void> Connection::Reject(int status, std::string_view message) {
  BeastResponse res = ToBeast(Response::Error(status, message), 11, false, false);
  if (co_await Write(res)) co_return;
  co_await LingeringClose();
}

awaitable<void> Connection::LingeringClose() {
  error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  auto deadline = std::chrono::steady_clock::now() + kLingerTime;
  size_t drained = 0;
  lingering_ = true;
  while (!ec && !stopping_ && drained < kLingerBytesMax) {
    buffer_.consume(buffer_.size());
    stream_.expires_at(deadline);
    drained += co_await stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                                                net::redirect_error(use_awaitable, ec));
  }
}

Status Engine::Listen() {
  error_code ec;
  const std::string& bind = options_.bind_address;
  net::ip::address address = net::ip::make_address(bind == "localhost" ? "127.0.0.1" : bind, ec);
  if (ec) {
    return Status::InvalidArgument("invalid bind address '" + bind +
                                   "': an IPv4 or IPv6 address is expected");
  }
  tcp::endpoint endpoint(address, options_.port);
  auto failed = [&](const error_code& error) {
    std::string message =
        "cannot listen on " + EndpointText(address, options_.port) + ": " + error.message();
    if (error == net::error::address_in_use) return Status(StatusCode::kUnavailable, message);
    if (error == net::error::access_denied) return Status::PermissionDenied(message);
    return Status::IoError(message);
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return failed(ec);
  tcp::endpoint local = acceptor_.local_endpoint(ec);
  if (ec) return failed(ec);
  port_ = local.port();
  return Status::Ok();
}

awaitable<void> Engine::AcceptLoop() {
  net::steady_timer retry(acceptor_strand_);
  for (;;) {
    tcp::socket socket(net::make_strand(io_));
    error_code ec;
    co_await acceptor_.async_accept(socket, net::redirect_error(use_awaitable, ec));
    if (!acceptor_.is_open()) co_return;  // stopped
    if (ec) {
      // Out of file descriptors, say: wait a little rather than spin.
      retry.expires_after(kAcceptRetryDelay);
      co_await retry.async_wait(net::redirect_error(use_awaitable, ec));
      continue;
    }
    Admit(std::move(socket));
  }
}

void Engine::Admit(tcp::socket socket) {
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || connections_.size() >= static_cast<size_t>(options_.connections_max)) {
      error_code ec;
      socket.close(ec);
      return;
    }
    connection = std::make_shared<Connection>(*this, std::move(socket));
    connections_.emplace(connection.get(), connection);
  }
  net::co_spawn(connection->executor(), Connection::Serve(connection), [](std::exception_ptr) {});
}

void Engine::Unregister(Connection* connection) {
  std::lock_guard lock(mutex_);
  connections_.erase(connection);
}

Response Engine::Respond(Request& request) const {
  if (std::optional<Response> routed = router_.Dispatch(request)) return std::move(*routed);
  if (IsApiPath(request.path) || !static_files_) return Response::Error(404, "not found");
  return static_files_->Serve(request);
}

void Engine::Stop() {
  stop_requested_ = true;
  net::post(acceptor_strand_, [this] {
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      for (auto& [raw, weak] : connections_) {
        if (auto connection = weak.lock()) live.push_back(std::move(connection));
      }
    }
    error_code ec;
    acceptor_.close(ec);
    for (auto& connection : live) {
      net::post(connection->executor(), [connection] { connection->Shutdown(); });
    }
  });
}

Status Engine::Run() {
  if (ran_.exchange(true)) return Status::FailedPrecondition("HttpServer::Run called twice");
  try {
    net::co_spawn(acceptor_strand_, AcceptLoop(), [](std::exception_ptr) {});
    RunThreads();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("HTTP server failed: ") + e.what());
  }
  return Status::Ok();
}

// Runs the io_context on `threads` threads (this one included) until it has no work left.
void Engine::RunThreads() {
  std::vector<std::thread> workers;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      io_.run();
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      io_.stop();
    }
  };
  try {
    for (int i = 1; i < options_.threads; ++i) workers.emplace_back(work);
  } catch (...) {
    io_.stop();
    for (std::thread& t : workers) t.join();
    throw;
  }
  work();
  for (std::thread& t : workers) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace internal

class HttpServer::Impl final : public internal::Engine {
 public:
  using Engine::Engine;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::Create(ServerOptions options, Router router) {
  P4DP_TRY(CheckOptions(options));
  std::optional<StaticFiles> files;
  if (!options.web_dir.empty()) files = P4DP_TRY(StaticFiles::Open(options.web_dir));
  try {
    auto impl = std::make_unique<Impl>(std::move(options), std::move(router), std::move(files));
    P4DP_TRY(impl->Listen());
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot create the HTTP server: ") + e.what());
  }
}

uint16_t HttpServer::port() const { return impl_->port(); }
Status HttpServer::Run() { return impl_->Run(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace p4dp::server
