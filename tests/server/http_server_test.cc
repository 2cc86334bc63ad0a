// HttpServer over real sockets: a server on 127.0.0.1, an ephemeral port and its own thread,
// spoken to by the raw-socket client of test_client.h.
#include "server/http_server.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "test_client.h"

namespace p4dp::server {
namespace {

using namespace std::chrono_literals;
using testing::Fetch;
using testing::GetRequest;
using testing::Reply;
using testing::TestConnection;

// A server running in a thread for the length of a test.
class RunningServer {
 public:
  RunningServer(ServerOptions options, Router router) {
    auto created = HttpServer::Create(std::move(options), std::move(router));
    if (!created.ok()) {
      create_status_ = created.status();
      return;
    }
    server_ = std::move(created).value();
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }
  ~RunningServer() { StopAndWait(); }

  const Status& create_status() const { return create_status_; }
  uint16_t port() const { return server_->port(); }
  HttpServer& server() { return *server_; }

  // Stops the server and returns how long Run() took to return.
  std::chrono::milliseconds StopAndWait() {
    auto start = std::chrono::steady_clock::now();
    if (thread_.joinable()) {
      server_->Stop();
      thread_.join();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
  const Status& run_status() const { return run_status_; }

 private:
  Status create_status_;
  Status run_status_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

Router TestRouter() {
  Router router;
  AddHealthRoute(router, "1.2.3-test");
  router.Add("GET", "/api/surveillance/{indicator}", [](const Request& r) {
    return Response::Text(200, "indicator=" + std::string(r.Param("indicator")));
  });
  router.Add("POST", "/api/echo", [](const Request& r) { return Response::Text(200, r.body); });
  router.Add("GET", "/api/throws",
             [](const Request&) -> Response { throw std::runtime_error("boom"); });
  return router;
}

ServerOptions TestOptions() { return ServerOptions{.port = 0, .threads = 2}; }

TEST(HttpServerTest, HealthAnswersJsonWithTheVersion) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok()) << s.create_status().ToString();
  std::optional<Reply> reply = Fetch(s.port(), GetRequest("/api/health"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("content-type"), "application/json");
  EXPECT_EQ(reply->Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(reply->body, R"({"status":"ok","version":"1.2.3-test"})");
  EXPECT_TRUE(s.StopAndWait() < 2s);
  EXPECT_TRUE(s.run_status().ok()) << s.run_status().ToString();
}

TEST(HttpServerTest, UnknownApiPathIsA404Json) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  for (const char* path : {"/api/nothing", "/api", "/api/health/more", "/api/surveillance/"}) {
    std::optional<Reply> reply = Fetch(s.port(), GetRequest(path));
    ASSERT_TRUE(reply) << path;
    EXPECT_EQ(reply->status, 404) << path;
    EXPECT_EQ(reply->Header("content-type"), "application/json") << path;
    EXPECT_EQ(reply->body, R"({"error":"not found"})") << path;
  }
}

TEST(HttpServerTest, WrongMethodIsA405WithAllow) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::optional<Reply> reply =
      Fetch(s.port(), "DELETE /api/health HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 405);
  EXPECT_EQ(reply->Header("allow"), "GET, HEAD");
  EXPECT_EQ(reply->body, R"({"error":"method not allowed"})");
  reply = Fetch(s.port(), GetRequest("/api/echo"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 405);
  EXPECT_EQ(reply->Header("allow"), "POST");
}

TEST(HttpServerTest, RouteCapturesAreDecoded) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::optional<Reply> reply = Fetch(s.port(), GetRequest("/api/surveillance/grippe%20A?x=1"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "indicator=grippe A");
}

TEST(HttpServerTest, HeadOfARouteHasTheLengthButNoBody) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(c.Send("HEAD /api/health HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::optional<Reply> reply = c.Read(/*head=*/true);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("content-length"), "38");
  // Nothing follows the head: the next reply on the connection is the next request's.
  ASSERT_TRUE(c.Send(GetRequest("/api/health")));
  reply = c.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, R"({"status":"ok","version":"1.2.3-test"})");
}

TEST(HttpServerTest, HandlerExceptionIsA500WithoutItsMessage) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::optional<Reply> reply = Fetch(s.port(), GetRequest("/api/throws"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 500);
  EXPECT_EQ(reply->body, R"({"error":"internal error"})");
}

TEST(HttpServerTest, InvalidHandlerResponseIsA500) {
  Router router;
  router.Add("GET", "/api/bad-status", [](const Request&) { return Response::Text(42, "x"); });
  router.Add("GET", "/api/bad-header", [](const Request&) {
    Response r = Response::Text(200, "x");
    r.headers.emplace_back("X-Injected", "a\r\nSet-Cookie: b");
    return r;
  });
  router.Add("GET", "/api/framing", [](const Request&) {
    Response r = Response::Text(200, "x");
    r.headers.emplace_back("Content-Length", "100");
    return r;
  });
  router.Add("GET", "/api/no-content", [](const Request&) { return Response::Text(204, "x"); });
  RunningServer s(TestOptions(), std::move(router));
  ASSERT_TRUE(s.create_status().ok());
  for (const char* path :
       {"/api/bad-status", "/api/bad-header", "/api/framing", "/api/no-content"}) {
    std::optional<Reply> reply = Fetch(s.port(), GetRequest(path));
    ASSERT_TRUE(reply) << path;
    EXPECT_EQ(reply->status, 500) << path;
    EXPECT_EQ(reply->Header("set-cookie"), "") << path;
  }
}

TEST(HttpServerTest, BodyReachesTheHandler) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::optional<Reply> reply =
      Fetch(s.port(), "POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "hello");
  // Chunked transfer coding.
  reply = Fetch(s.port(),
                "POST /api/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "abcde");
}

TEST(HttpServerTest, ExpectContinueGetsA100First) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(
      c.Send("POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
             "Expect: 100-continue\r\n\r\n"));
  std::optional<Reply> interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("abc"));
  std::optional<Reply> reply = c.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "abc");
}

TEST(HttpServerTest, OversizedHeaderIsA431) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::string big(kHeaderBytesMax + 4096, 'a');
  std::optional<Reply> reply = Fetch(s.port(), GetRequest("/api/health", "X-Big: " + big + "\r\n"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_EQ(reply->body, R"({"error":"request header too large"})");
  // Just under the bound is fine.
  std::string fits(kHeaderBytesMax - 200, 'a');
  reply = Fetch(s.port(), GetRequest("/api/health", "X-Big: " + fits + "\r\n"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
}

TEST(HttpServerTest, OversizedBodyIsA413) {
  ServerOptions options = TestOptions();
  options.body_bytes_max = 1024;
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::string body(2048, 'x');
  std::optional<Reply> reply =
      Fetch(s.port(), "POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2048\r\n\r\n" + body);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(reply->body, R"({"error":"request body too large"})");
  // A chunked body is counted as it arrives.
  std::string chunked = "POST /api/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  reply = Fetch(s.port(), chunked);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  // The bound itself is allowed.
  reply = Fetch(s.port(), "POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" +
                              std::string(1024, 'z'));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body.size(), 1024u);
}

TEST(HttpServerTest, MalformedRequestIsA400) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(c.Send("THIS IS NOT HTTP\r\n\r\n"));
  std::optional<Reply> reply = c.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_TRUE(c.WaitForClose(3000));
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send(GetRequest("/api/health")));
    std::optional<Reply> reply = c.Read();
    ASSERT_TRUE(reply) << i;
    EXPECT_EQ(reply->status, 200);
    EXPECT_NE(reply->Header("connection"), "close");
  }
  // Pipelined: two requests in one write, two replies in order.
  ASSERT_TRUE(c.Send(GetRequest("/api/surveillance/a") + GetRequest("/api/surveillance/b")));
  std::optional<Reply> first = c.Read();
  std::optional<Reply> second = c.Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "indicator=a");
  EXPECT_EQ(second->body, "indicator=b");
}

TEST(HttpServerTest, ConnectionCloseAndHttp10CloseAfterTheReply) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(c.Send(GetRequest("/api/health", "Connection: close\r\n")));
  std::optional<Reply> reply = c.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_TRUE(c.WaitForClose(3000));
  TestConnection old(s.port());
  ASSERT_TRUE(old.Send("GET /api/health HTTP/1.0\r\n\r\n"));
  reply = old.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(old.WaitForClose(3000));
}

TEST(HttpServerTest, StopReturnsPromptlyWithAnIdleClient) {
  ServerOptions options = TestOptions();
  options.idle_timeout_ms = 60'000;
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection used(s.port());
  ASSERT_TRUE(used.Send(GetRequest("/api/health")));
  ASSERT_TRUE(used.Read());
  TestConnection silent(s.port());  // connected, never sends a byte
  ASSERT_TRUE(silent.connected());
  std::this_thread::sleep_for(50ms);
  EXPECT_LT(s.StopAndWait(), 2s);
  EXPECT_TRUE(s.run_status().ok());
  EXPECT_TRUE(used.WaitForClose(1000));
  EXPECT_TRUE(silent.WaitForClose(1000));
  EXPECT_FALSE(TestConnection(s.port()).connected());
}

TEST(HttpServerTest, StopLetsARequestInFlightFinish) {
  std::promise<void> entered;
  Router router;
  router.Add("GET", "/api/slow", [&entered](const Request&) {
    entered.set_value();
    std::this_thread::sleep_for(300ms);
    return Response::Text(200, "done");
  });
  RunningServer s(TestOptions(), std::move(router));
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(c.Send(GetRequest("/api/slow")));
  entered.get_future().wait();
  s.server().Stop();
  std::optional<Reply> reply = c.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "done");
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_TRUE(c.WaitForClose(2000));
  EXPECT_LT(s.StopAndWait(), 2s);
}

TEST(HttpServerTest, StopDoesNotWaitForARejectedClientToHangUp) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(c.Send(GetRequest("/", "X-Big: " + std::string(kHeaderBytesMax, 'a') + "\r\n")));
  std::optional<Reply> reply = c.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
  // The server now drains what the client sends, for a while; a stop cuts that short.
  EXPECT_LT(s.StopAndWait(), 1000ms);
}

TEST(HttpServerTest, StopBeforeRunMakesRunReturnAtOnce) {
  auto server = HttpServer::Create(TestOptions(), TestRouter());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  (*server)->Stop();
  EXPECT_TRUE((*server)->Run().ok());
  EXPECT_FALSE((*server)->Run().ok());  // once only
}

TEST(HttpServerTest, ReadTimeoutClosesASlowRequest) {
  ServerOptions options = TestOptions();
  options.read_timeout_ms = 200;
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  ASSERT_TRUE(c.Send("GET /api/health HTTP/1.1\r\nHost: t\r\n"));  // never finished
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitForClose(3000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(HttpServerTest, IdleTimeoutClosesASilentConnection) {
  ServerOptions options = TestOptions();
  options.idle_timeout_ms = 200;
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection c(s.port());
  EXPECT_TRUE(c.WaitForClose(3000));
}

TEST(HttpServerTest, ManyClientsOnSeveralThreads) {
  ServerOptions options = TestOptions();
  options.threads = 4;
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      TestConnection c(s.port());
      for (int j = 0; j < 10; ++j) {
        std::string name = std::to_string(i) + "-" + std::to_string(j);
        if (!c.Send(GetRequest("/api/surveillance/" + name))) return;
        std::optional<Reply> reply = c.Read();
        if (reply && reply->body == "indicator=" + name) ++ok;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), 160);
}

TEST(HttpServerTest, ConnectionsBeyondTheBoundAreClosed) {
  ServerOptions options = TestOptions();
  options.connections_max = 1;
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  TestConnection first(s.port());
  ASSERT_TRUE(first.Send(GetRequest("/api/health")));
  ASSERT_TRUE(first.Read());
  TestConnection second(s.port());
  EXPECT_TRUE(second.WaitForClose(3000));
  ASSERT_TRUE(first.Send(GetRequest("/api/health")));
  EXPECT_TRUE(first.Read());
}

TEST(HttpServerTest, AddressInUseIsAClearError) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  ServerOptions options = TestOptions();
  options.port = s.port();
  auto second = HttpServer::Create(options, TestRouter());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(s.port())),
            std::string::npos)
      << second.status().ToString();
}

TEST(HttpServerTest, BadOptionsAreRefused) {
  EXPECT_FALSE(HttpServer::Create({.bind_address = "not-an-address"}, Router()).ok());
  EXPECT_FALSE(HttpServer::Create({.threads = 0}, Router()).ok());
  EXPECT_FALSE(HttpServer::Create({.threads = kThreadsMax + 1}, Router()).ok());
  EXPECT_FALSE(HttpServer::Create({.header_bytes_max = 0}, Router()).ok());
  EXPECT_FALSE(HttpServer::Create({.read_timeout_ms = 0}, Router()).ok());
  EXPECT_FALSE(HttpServer::Create({.web_dir = "/nonexistent/p4dp/web"}, Router()).ok());
  auto ipv6 = HttpServer::Create({.bind_address = "::1"}, Router());
  if (!ipv6.ok()) GTEST_SKIP() << "no IPv6 loopback: " << ipv6.status().ToString();
  EXPECT_NE((*ipv6)->port(), 0);
}

// A web folder with one file of each kind, and a secret file beside it.
class WebDir {
 public:
  WebDir() {
    char pattern[] = "/tmp/p4dp_server_test_XXXXXX";
    base_ = ::mkdtemp(pattern);
    std::filesystem::create_directories(web() + "/assets");
    Write(web() + "/index.html", "<!doctype html><p>accueil</p>");
    Write(web() + "/app.js", "console.log(1);");
    Write(web() + "/style.css", "p{}");
    Write(web() + "/logo.svg", "<svg/>");
    Write(web() + "/data.json", "{}");
    Write(web() + "/font.woff2", "wOF2");
    Write(web() + "/image.png", "\x89PNG");
    Write(web() + "/assets/index-abc123.js", "export{};");
    Write(web() + "/.env", "hidden");
    Write(base_ + "/secret.txt", "SECRET");
    std::filesystem::create_symlink(base_ + "/secret.txt", web() + "/link.txt");
  }
  ~WebDir() { std::filesystem::remove_all(base_); }
  std::string web() const { return base_ + "/web"; }
  std::string base() const { return base_; }

 private:
  static void Write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  std::string base_;
};

TEST(HttpServerTest, StaticFilesHaveTheirContentType) {
  WebDir dir;
  ServerOptions options = TestOptions();
  options.web_dir = dir.web();
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok()) << s.create_status().ToString();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/", "text/html; charset=utf-8"},
      {"/index.html", "text/html; charset=utf-8"},
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
      {"/logo.svg", "image/svg+xml"},
      {"/data.json", "application/json"},
      {"/font.woff2", "font/woff2"},
      {"/image.png", "image/png"},
      {"/assets/index-abc123.js", "text/javascript; charset=utf-8"},
  };
  for (const auto& [path, type] : cases) {
    std::optional<Reply> reply = Fetch(s.port(), GetRequest(path));
    ASSERT_TRUE(reply) << path;
    EXPECT_EQ(reply->status, 200) << path;
    EXPECT_EQ(reply->Header("content-type"), type) << path;
  }
  std::optional<Reply> index = Fetch(s.port(), GetRequest("/"));
  EXPECT_EQ(index->body, "<!doctype html><p>accueil</p>");
  EXPECT_EQ(index->Header("cache-control"), "no-cache");
  std::optional<Reply> asset = Fetch(s.port(), GetRequest("/assets/index-abc123.js"));
  EXPECT_EQ(asset->Header("cache-control"), "public, max-age=31536000, immutable");
  std::optional<Reply> head = Fetch(s.port(), "HEAD /app.js HTTP/1.1\r\nHost: t\r\n\r\n", true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->Header("content-length"), "15");
  std::optional<Reply> post = Fetch(s.port(), "POST /app.js HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->Header("allow"), "GET, HEAD");
  std::optional<Reply> missing = Fetch(s.port(), GetRequest("/missing.js"));
  EXPECT_EQ(missing->status, 404);
}

TEST(HttpServerTest, TraversalIsRefused) {
  WebDir dir;
  ServerOptions options = TestOptions();
  options.web_dir = dir.web();
  RunningServer s(options, TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  const char* attempts[] = {
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E/secret.txt",
      "/.%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/assets/../../secret.txt",
      "/..%5csecret.txt",
      "//",
      "//tmp/secret.txt",
      "/link.txt",
      "/.env",
      "/%00",
      "/%zz",
      "/./index.html",
      "http://host/../secret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
  };
  for (const char* path : attempts) {
    std::optional<Reply> reply = Fetch(s.port(), GetRequest(path));
    ASSERT_TRUE(reply) << path;
    EXPECT_TRUE(reply->status == 400 || reply->status == 404) << path << " " << reply->status;
    EXPECT_EQ(reply->body.find("SECRET"), std::string::npos) << path;
    EXPECT_EQ(reply->Header("content-type"), "application/json") << path;
  }
  // An absolute path as the target, and a directory without its slash.
  std::optional<Reply> reply = Fetch(s.port(), "GET /etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 404);
  reply = Fetch(s.port(), GetRequest("/assets"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 404);
}

TEST(HttpServerTest, WithoutAWebFolderNonApiPathsAre404) {
  RunningServer s(TestOptions(), TestRouter());
  ASSERT_TRUE(s.create_status().ok());
  std::optional<Reply> reply = Fetch(s.port(), GetRequest("/"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 404);
}

}  // namespace
}  // namespace p4dp::server
