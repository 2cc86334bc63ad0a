// A small blocking HTTP/1.1 client over a POSIX socket, for the server tests only: it sends
// raw bytes (so tests can send malformed or oversized requests) and reads responses framed
// by Content-Length. One TestConnection per thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace p4dp::server::testing {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class TestConnection {
 public:
  // Connects to 127.0.0.1:port; connected() says whether it worked.
  explicit TestConnection(uint16_t port);
  ~TestConnection();
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(std::string_view bytes);
  // Reads one response; a reply to HEAD has no body whatever its Content-Length says.
  // nullopt if the connection closes or nothing complete arrives within timeout_ms.
  std::optional<Reply> Read(bool head = false, int timeout_ms = 5000);
  // True if the server closes the connection (end of stream or reset) within timeout_ms;
  // bytes that arrive meanwhile are discarded.
  bool WaitForClose(int timeout_ms);

 private:
  // Appends what arrives within timeout_ms to pending_; false on close, error or timeout.
  bool Receive(int timeout_ms);

  int fd_ = -1;
  std::string pending_;
};

// "GET path HTTP/1.1" with a Host header, plus `extra` header lines (each ending "\r\n").
std::string GetRequest(std::string_view path, std::string_view extra = "");

// Sends `request` on a new connection and reads one reply.
std::optional<Reply> Fetch(uint16_t port, std::string_view request, bool head = false);

}  // namespace p4dp::server::testing
