#include "base/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace p4dp {
namespace {

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string m(what);
  m += " '" + path + "': ";
  m += std::strerror(err);
  if (err == EACCES || err == EPERM) return Status::PermissionDenied(m);
  if (err == ENOENT) return Status::NotFound(m);
  if (err == ENOSPC) return Status::ResourceExhausted(m);
  return Status::IoError(m);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Append(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("cannot write", path_, errno);
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("cannot sync", path_, errno);
    return Status::Ok();
  }
  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return ErrnoStatus("cannot close", path_, errno);
    return Status::Ok();
  }

 private:
  std::string path_;
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("cannot create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }
  Result<std::string> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open", path, errno);
    std::string out;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return ErrnoStatus("cannot read", path, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }
  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("cannot rename", from, errno);
    return Status::Ok();
  }
  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("cannot remove", path, errno);
    return Status::Ok();
  }
  Status CreateDirectories(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return ErrnoStatus("cannot create directory", path, ec.value());
    return Status::Ok();
  }
  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  Result<std::vector<std::string>> ListDirectory(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus("cannot list", path, errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }
  Status SyncDirectory(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open directory", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("cannot sync directory", dir, err);
    return Status::Ok();
  }
};

class FaultInjectingWritableFile final : public WritableFile {
 public:
  FaultInjectingWritableFile(FaultInjectingFileSystem& fs, std::unique_ptr<WritableFile> base)
      : fs_(fs), base_(std::move(base)) {}
  Status Append(std::string_view bytes) override {
    P4DP_TRY(fs_.Tick(FaultInjectingFileSystem::Op::kAppend));
    return base_->Append(bytes);
  }
  Status Sync() override {
    P4DP_TRY(fs_.Tick(FaultInjectingFileSystem::Op::kSync));
    return base_->Sync();
  }
  Status Close() override { return base_->Close(); }

 private:
  FaultInjectingFileSystem& fs_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

FileSystem& RealFileSystem() {
  static PosixFileSystem fs;
  return fs;
}

Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view bytes) {
  std::string tmp = path + ".tmp";
  auto file = P4DP_TRY(fs.NewWritableFile(tmp));
  P4DP_TRY(file->Append(bytes));
  P4DP_TRY(file->Sync());
  P4DP_TRY(file->Close());
  P4DP_TRY(fs.Rename(tmp, path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  return fs.SyncDirectory(dir.empty() ? "." : dir);
}

void FaultInjectingFileSystem::FailNthForTesting(Op op, int n) {
  auto i = static_cast<size_t>(op);
  calls_[i] = 0;
  fail_at_[i] = n;
}

int FaultInjectingFileSystem::CallsForTesting(Op op) const {
  return calls_[static_cast<size_t>(op)];
}

Status FaultInjectingFileSystem::Tick(Op op) {
  auto i = static_cast<size_t>(op);
  int call = ++calls_[i];  // one atomic step, so that exactly one caller sees the armed count
  if (fail_at_[i] != 0 && call == fail_at_[i]) {
    static constexpr const char* kNames[] = {"write", "sync", "rename"};
    return Status::IoError(std::string("injected ") + kNames[i] + " failure");
  }
  return Status::Ok();
}

Result<std::unique_ptr<WritableFile>> FaultInjectingFileSystem::NewWritableFile(
    const std::string& path) {
  auto file = P4DP_TRY(base_.NewWritableFile(path));
  return std::unique_ptr<WritableFile>(new FaultInjectingWritableFile(*this, std::move(file)));
}

Status FaultInjectingFileSystem::Rename(const std::string& from, const std::string& to) {
  P4DP_TRY(Tick(Op::kRename));
  return base_.Rename(from, to);
}

}  // namespace p4dp
