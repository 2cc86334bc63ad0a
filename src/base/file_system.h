// The FileSystem interface: every file p4dp reads or writes goes through it, so tests can
// swap in a disk that fails the Nth write, sync or rename. PosixFileSystem is the real one;
// FaultInjectingFileSystem wraps another and fails on command. Implementations are
// thread-safe; a WritableFile is used by one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace p4dp {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view bytes) = 0;
  // Makes every appended byte durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates or truncates `path`.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates `path` and its missing parents; an existing directory is fine.
  virtual Status CreateDirectories(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDirectory(const std::string& path) = 0;
  // Makes renames and creations inside `dir` durable.
  virtual Status SyncDirectory(const std::string& dir) = 0;
};

// The process's real file system.
FileSystem& RealFileSystem();

// Writes `bytes` to `path` atomically: a temporary file, sync, rename, directory sync.
Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view bytes);

// Wraps another file system and fails the Nth call of a kind (counting from 1), to test
// that callers survive I/O errors. Counters are shared by every file it opened.
class FaultInjectingFileSystem final : public FileSystem {
 public:
  enum class Op { kAppend, kSync, kRename };
  explicit FaultInjectingFileSystem(FileSystem& base) : base_(base) {}

  // The `n`th call of `op` from now on fails with an I/O error (n >= 1); 0 disarms.
  void FailNthForTesting(Op op, int n);
  int CallsForTesting(Op op) const;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path) override { return base_.ReadFile(path); }
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override { return base_.RemoveFile(path); }
  Status CreateDirectories(const std::string& path) override {
    return base_.CreateDirectories(path);
  }
  bool Exists(const std::string& path) override { return base_.Exists(path); }
  Result<std::vector<std::string>> ListDirectory(const std::string& path) override {
    return base_.ListDirectory(path);
  }
  Status SyncDirectory(const std::string& dir) override { return base_.SyncDirectory(dir); }

  // Counts one call of `op`; returns an I/O error if it is the armed one.
  Status Tick(Op op);

 private:
  FileSystem& base_;
  std::atomic<int> calls_[3] = {0, 0, 0};
  std::atomic<int> fail_at_[3] = {0, 0, 0};
};

}  // namespace p4dp
