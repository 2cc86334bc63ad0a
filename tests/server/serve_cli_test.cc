// `p4dp serve`, run as the built binary: it prints where it listens, answers over HTTP,
// creates its data folder, and exits 0 on SIGTERM or SIGINT; misuse exits non-zero.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_client.h"

extern char** environ;

namespace p4dp::server {
namespace {

using testing::Fetch;
using testing::GetRequest;
using testing::Reply;
using testing::TestConnection;

const std::string kP4dp = std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp";

// A child process running p4dp with `args`; its stdout and stderr are pipes.
class Child {
 public:
  // `env` entries ("NAME=value") are added to this process's environment, from which
  // P4DP_WEB_DIR is removed so that the built web folder is the default.
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    std::vector<std::string> strings = {kP4dp};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "P4DP_WEB_DIR=", 13) != 0) environment.emplace_back(*e);
    }
    environment.insert(environment.end(), env.begin(), env.end());
    std::vector<char*> argv, envp;
    for (std::string& s : strings) argv.push_back(s.data());
    for (std::string& s : environment) envp.push_back(s.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::execve(kP4dp.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }

  pid_t pid() const { return pid_; }

  // The first line of stdout, or "" if none comes within timeout_ms.
  std::string ReadLine(int timeout_ms = 10'000) {
    std::string line;
    char c;
    while (Ready(out_, timeout_ms) && ::read(out_, &c, 1) == 1 && c != '\n') line += c;
    return line;
  }
  // What remains of stderr once the child has exited.
  std::string Stderr() {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while (Ready(err_, 1000) && (n = ::read(err_, buffer, sizeof buffer)) > 0) {
      text.append(buffer, static_cast<size_t>(n));
    }
    return text;
  }
  // The exit status, or -1 if the child has not exited normally within timeout_ms.
  int Wait(int timeout_ms = 10'000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  static bool Ready(int fd, int timeout_ms) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
};

// A fresh temporary folder, removed at the end.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/p4dp_serve_test_XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The port in "p4dp: serving DATA on http://127.0.0.1:PORT/", or 0.
uint16_t PortOf(const std::string& line, const std::string& data) {
  const std::string prefix = "p4dp: serving " + data + " on http://127.0.0.1:";
  if (line.rfind(prefix, 0) != 0 || line.back() != '/') return 0;
  std::string digits = line.substr(prefix.size(), line.size() - prefix.size() - 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(digits));
}

TEST(ServeCliTest, HelpExitsZero) {
  Child child({"serve", "--help"});
  std::string first = child.ReadLine();
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_FALSE(first.empty());
}

TEST(ServeCliTest, MissingDataFails) {
  Child child({"serve"});
  int code = child.Wait();
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1);
}

TEST(ServeCliTest, ServesHealthAndTheWebPageThenStopsOnSigterm) {
  TempDir temp;
  std::string data = temp.path() + "/new/warehouse";
  Child child({"serve", data, "--port", "0"});
  std::string line = child.ReadLine();
  uint16_t port = PortOf(line, data);
  ASSERT_NE(port, 0) << line << child.Stderr();
  EXPECT_TRUE(std::filesystem::is_directory(data));
  std::optional<Reply> health = Fetch(port, GetRequest("/api/health"));
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->body.find(R"("status":"ok")"), std::string::npos) << health->body;
  std::optional<Reply> page = Fetch(port, GetRequest("/"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<title>p4dp"), std::string::npos);  // the built dashboard
  TestConnection idle(port);  // a keep-alive client must not hold the stop back
  ASSERT_TRUE(idle.Send(GetRequest("/api/health")));
  ASSERT_TRUE(idle.Read());
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  EXPECT_EQ(child.Wait(5000), 0);
  EXPECT_TRUE(idle.WaitForClose(1000));
}

TEST(ServeCliTest, SigintStopsToo) {
  TempDir temp;
  Child child({"serve", temp.path(), "--port", "0", "--bind", "127.0.0.1"});
  ASSERT_NE(PortOf(child.ReadLine(), temp.path()), 0);
  ASSERT_EQ(::kill(child.pid(), SIGINT), 0);
  EXPECT_EQ(child.Wait(5000), 0);
}

TEST(ServeCliTest, WebFolderFromTheEnvironmentOrTheFlag) {
  TempDir temp;
  std::filesystem::create_directories(temp.path() + "/env");
  std::filesystem::create_directories(temp.path() + "/flag");
  std::ofstream(temp.path() + "/env/index.html") << "from env";
  std::ofstream(temp.path() + "/flag/index.html") << "from flag";
  std::string data = temp.path() + "/data";
  {
    Child child({"serve", data, "--port", "0"}, {"P4DP_WEB_DIR=" + temp.path() + "/env"});
    uint16_t port = PortOf(child.ReadLine(), data);
    ASSERT_NE(port, 0);
    std::optional<Reply> page = Fetch(port, GetRequest("/"));
    ASSERT_TRUE(page);
    EXPECT_EQ(page->body, "from env");
    ::kill(child.pid(), SIGTERM);
    EXPECT_EQ(child.Wait(5000), 0);
  }
  Child child({"serve", data, "--port", "0", "--web", temp.path() + "/flag"},
              {"P4DP_WEB_DIR=" + temp.path() + "/env"});
  uint16_t port = PortOf(child.ReadLine(), data);
  ASSERT_NE(port, 0);
  std::optional<Reply> page = Fetch(port, GetRequest("/"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, "from flag");
  ::kill(child.pid(), SIGTERM);
  EXPECT_EQ(child.Wait(5000), 0);
}

TEST(ServeCliTest, PortInUseFailsNamingTheAddress) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string port = std::to_string(ntohs(address.sin_port));
  TempDir temp;
  Child child({"serve", temp.path(), "--port", port});
  EXPECT_EQ(child.Wait(), 1);
  EXPECT_NE(child.Stderr().find("127.0.0.1:" + port), std::string::npos);
  ::close(fd);
}

TEST(ServeCliTest, BadArgumentsFail) {
  TempDir temp;
  std::ofstream(temp.path() + "/file") << "x";
  Child file({"serve", temp.path() + "/file", "--port", "0"});
  EXPECT_EQ(file.Wait(), 1);
  Child web({"serve", temp.path(), "--port", "0", "--web", temp.path() + "/missing"});
  EXPECT_EQ(web.Wait(), 1);
  EXPECT_NE(web.Stderr().find("web folder"), std::string::npos);
  Child bind({"serve", temp.path(), "--port", "0", "--bind", "nowhere"});
  EXPECT_EQ(bind.Wait(), 1);
  Child port({"serve", temp.path(), "--port", "70000"});
  EXPECT_NE(port.Wait(), 0);
}

}  // namespace
}  // namespace p4dp::server
