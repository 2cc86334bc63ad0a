#include "base/file_system.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace p4dp {
namespace {

using Op = FaultInjectingFileSystem::Op;

// Each test gets its own empty folder under P4DP_BINARY_DIR/test-tmp/base_fs, so tests can
// run in parallel under ctest.
class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string(P4DP_BINARY_DIR) + "/test-tmp/base_fs/" + info->test_suite_name() + "." +
           info->name();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    ASSERT_FALSE(ec) << ec.message();
    std::filesystem::create_directories(dir_, ec);
    ASSERT_FALSE(ec) << ec.message();
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes `bytes` to `path` through `fs` with a plain create/append/close.
  static Status Write(FileSystem& fs, const std::string& path, const std::string& bytes) {
    auto file = P4DP_TRY(fs.NewWritableFile(path));
    P4DP_TRY(file->Append(bytes));
    return file->Close();
  }

  static std::string Read(FileSystem& fs, const std::string& path) {
    Result<std::string> r = fs.ReadFile(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::string();
  }

  std::string dir_;
};

// ---------------------------------------------------------------------------------------
// RealFileSystem

TEST_F(FileSystemTest, WriteAndReadBack) {
  FileSystem& fs = RealFileSystem();
  std::string path = Path("a.txt");
  auto file = fs.NewWritableFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Append("hello, ").ok());
  ASSERT_TRUE((*file)->Append("").ok());
  ASSERT_TRUE((*file)->Append("world").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(Read(fs, path), "hello, world");
}

TEST_F(FileSystemTest, BinaryAndLargeContent) {
  FileSystem& fs = RealFileSystem();
  std::string bytes;
  for (int i = 0; i < 300'000; ++i) bytes.push_back(static_cast<char>(i * 7 % 256));
  ASSERT_TRUE(Write(fs, Path("big.bin"), bytes).ok());
  EXPECT_EQ(Read(fs, Path("big.bin")), bytes);  // larger than ReadFile's 64 KiB buffer
}

TEST_F(FileSystemTest, EmptyFile) {
  FileSystem& fs = RealFileSystem();
  ASSERT_TRUE(Write(fs, Path("empty"), "").ok());
  EXPECT_TRUE(fs.Exists(Path("empty")));
  EXPECT_EQ(Read(fs, Path("empty")), "");
}

TEST_F(FileSystemTest, NewWritableFileTruncates) {
  FileSystem& fs = RealFileSystem();
  ASSERT_TRUE(Write(fs, Path("t"), "a long first version").ok());
  ASSERT_TRUE(Write(fs, Path("t"), "short").ok());
  EXPECT_EQ(Read(fs, Path("t")), "short");
}

TEST_F(FileSystemTest, CloseTwiceIsHarmless) {
  FileSystem& fs = RealFileSystem();
  auto file = fs.NewWritableFile(Path("c"));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("x").ok());
  EXPECT_TRUE((*file)->Close().ok());
  EXPECT_TRUE((*file)->Close().ok());
  EXPECT_EQ(Read(fs, Path("c")), "x");
}

TEST_F(FileSystemTest, DestructorClosesAndKeepsBytes) {
  FileSystem& fs = RealFileSystem();
  {
    auto file = fs.NewWritableFile(Path("d"));
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("kept").ok());
  }
  EXPECT_EQ(Read(fs, Path("d")), "kept");
}

TEST_F(FileSystemTest, ListDirectorySortedNames) {
  FileSystem& fs = RealFileSystem();
  for (const char* name : {"b", "a", "c.txt", "B", "a0"}) {
    ASSERT_TRUE(Write(fs, Path(name), name).ok());
  }
  ASSERT_TRUE(fs.CreateDirectories(Path("sub")).ok());
  Result<std::vector<std::string>> names = fs.ListDirectory(dir_);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(*names, (std::vector<std::string>{"B", "a", "a0", "b", "c.txt", "sub"}));
}

TEST_F(FileSystemTest, ListEmptyDirectory) {
  Result<std::vector<std::string>> names = RealFileSystem().ListDirectory(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST_F(FileSystemTest, ListMissingDirectoryNamesPath) {
  std::string missing = Path("nope");
  Result<std::vector<std::string>> names = RealFileSystem().ListDirectory(missing);
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.status().code(), StatusCode::kNotFound);
  EXPECT_NE(names.status().message().find(missing), std::string::npos) << names.status().message();
}

TEST_F(FileSystemTest, Rename) {
  FileSystem& fs = RealFileSystem();
  ASSERT_TRUE(Write(fs, Path("from"), "payload").ok());
  ASSERT_TRUE(fs.Rename(Path("from"), Path("to")).ok());
  EXPECT_FALSE(fs.Exists(Path("from")));
  EXPECT_TRUE(fs.Exists(Path("to")));
  EXPECT_EQ(Read(fs, Path("to")), "payload");
}

TEST_F(FileSystemTest, RenameReplacesExisting) {
  FileSystem& fs = RealFileSystem();
  ASSERT_TRUE(Write(fs, Path("new"), "new").ok());
  ASSERT_TRUE(Write(fs, Path("old"), "old").ok());
  ASSERT_TRUE(fs.Rename(Path("new"), Path("old")).ok());
  EXPECT_EQ(Read(fs, Path("old")), "new");
  EXPECT_FALSE(fs.Exists(Path("new")));
}

TEST_F(FileSystemTest, RenameMissingNamesPath) {
  std::string missing = Path("ghost");
  Status s = RealFileSystem().Rename(missing, Path("x"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
}

TEST_F(FileSystemTest, RemoveFile) {
  FileSystem& fs = RealFileSystem();
  ASSERT_TRUE(Write(fs, Path("r"), "x").ok());
  ASSERT_TRUE(fs.Exists(Path("r")));
  ASSERT_TRUE(fs.RemoveFile(Path("r")).ok());
  EXPECT_FALSE(fs.Exists(Path("r")));

  Status again = fs.RemoveFile(Path("r"));
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_NE(again.message().find(Path("r")), std::string::npos) << again.message();
}

TEST_F(FileSystemTest, Exists) {
  FileSystem& fs = RealFileSystem();
  EXPECT_TRUE(fs.Exists(dir_));
  EXPECT_FALSE(fs.Exists(Path("missing")));
  ASSERT_TRUE(Write(fs, Path("present"), "").ok());
  EXPECT_TRUE(fs.Exists(Path("present")));
}

TEST_F(FileSystemTest, CreateDirectoriesNested) {
  FileSystem& fs = RealFileSystem();
  std::string nested = Path("a/b/c/d");
  ASSERT_TRUE(fs.CreateDirectories(nested).ok());
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  EXPECT_TRUE(fs.Exists(Path("a/b")));
  // An existing directory is fine.
  EXPECT_TRUE(fs.CreateDirectories(nested).ok());
  EXPECT_TRUE(fs.CreateDirectories(Path("a")).ok());
  // And files can be written in it.
  ASSERT_TRUE(Write(fs, nested + "/f", "deep").ok());
  EXPECT_EQ(Read(fs, nested + "/f"), "deep");
  Result<std::vector<std::string>> names = fs.ListDirectory(Path("a/b"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"c"}));
}

TEST_F(FileSystemTest, CreateDirectoriesOverFileFailsNamingPath) {
  FileSystem& fs = RealFileSystem();
  ASSERT_TRUE(Write(fs, Path("file"), "x").ok());
  std::string under_file = Path("file/sub");
  Status s = fs.CreateDirectories(under_file);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(under_file), std::string::npos) << s.message();
}

TEST_F(FileSystemTest, ReadMissingFileIsNotFoundNamingPath) {
  std::string missing = Path("no-such-file");
  Result<std::string> r = RealFileSystem().ReadFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("'" + missing + "'"), std::string::npos)
      << r.status().message();
}

TEST_F(FileSystemTest, NewWritableFileInMissingDirectoryNamesPath) {
  std::string path = Path("no-dir/file");
  auto r = RealFileSystem().NewWritableFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
}

TEST_F(FileSystemTest, SyncDirectory) {
  FileSystem& fs = RealFileSystem();
  EXPECT_TRUE(fs.SyncDirectory(dir_).ok());
  Status s = fs.SyncDirectory(Path("missing"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(Path("missing")), std::string::npos) << s.message();
}

TEST_F(FileSystemTest, WriteFileAtomicallyCreatesAndReplaces) {
  FileSystem& fs = RealFileSystem();
  std::string path = Path("state.json");
  ASSERT_TRUE(WriteFileAtomically(fs, path, "version 1, which is longer").ok());
  EXPECT_EQ(Read(fs, path), "version 1, which is longer");
  EXPECT_FALSE(fs.Exists(path + ".tmp"));

  ASSERT_TRUE(WriteFileAtomically(fs, path, "v2").ok());
  EXPECT_EQ(Read(fs, path), "v2");
  EXPECT_FALSE(fs.Exists(path + ".tmp"));

  Result<std::vector<std::string>> names = fs.ListDirectory(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"state.json"}));
}

TEST_F(FileSystemTest, WriteFileAtomicallyIntoMissingDirectoryFails) {
  std::string path = Path("missing/state");
  Status s = WriteFileAtomically(RealFileSystem(), path, "x");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(Path("missing")), std::string::npos) << s.message();
}

// ---------------------------------------------------------------------------------------
// FaultInjectingFileSystem

TEST_F(FileSystemTest, FaultFreePassesThrough) {
  FaultInjectingFileSystem fs(RealFileSystem());
  ASSERT_TRUE(Write(fs, Path("p"), "through").ok());
  EXPECT_EQ(Read(fs, Path("p")), "through");
  EXPECT_TRUE(fs.Exists(Path("p")));
  ASSERT_TRUE(fs.CreateDirectories(Path("x/y")).ok());
  ASSERT_TRUE(fs.Rename(Path("p"), Path("x/y/q")).ok());
  Result<std::vector<std::string>> names = fs.ListDirectory(Path("x/y"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"q"}));
  EXPECT_TRUE(fs.SyncDirectory(Path("x/y")).ok());
  ASSERT_TRUE(fs.RemoveFile(Path("x/y/q")).ok());
  EXPECT_FALSE(fs.Exists(Path("x/y/q")));
}

TEST_F(FileSystemTest, FailSecondAppend) {
  FaultInjectingFileSystem fs(RealFileSystem());
  fs.FailNthForTesting(Op::kAppend, 2);
  auto file = fs.NewWritableFile(Path("f"));
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE((*file)->Append("one ").ok());
  Status second = (*file)->Append("two ");
  EXPECT_EQ(second.code(), StatusCode::kIoError);
  EXPECT_TRUE((*file)->Append("three ").ok());
  EXPECT_TRUE((*file)->Append("four").ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 4);
  // The failed append wrote nothing.
  EXPECT_EQ(Read(fs, Path("f")), "one three four");
}

TEST_F(FileSystemTest, AppendCountersAreSharedAcrossFiles) {
  FaultInjectingFileSystem fs(RealFileSystem());
  fs.FailNthForTesting(Op::kAppend, 2);
  auto a = fs.NewWritableFile(Path("a"));
  auto b = fs.NewWritableFile(Path("b"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE((*a)->Append("1").ok());
  EXPECT_EQ((*b)->Append("2").code(), StatusCode::kIoError);
  EXPECT_TRUE((*a)->Append("3").ok());
  EXPECT_TRUE((*b)->Append("4").ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 4);
}

TEST_F(FileSystemTest, FailSecondSync) {
  FaultInjectingFileSystem fs(RealFileSystem());
  fs.FailNthForTesting(Op::kSync, 2);
  auto file = fs.NewWritableFile(Path("s"));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("x").ok());
  EXPECT_TRUE((*file)->Sync().ok());
  EXPECT_EQ((*file)->Sync().code(), StatusCode::kIoError);
  EXPECT_TRUE((*file)->Sync().ok());
  EXPECT_TRUE((*file)->Sync().ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kSync), 4);
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 1);
  EXPECT_TRUE((*file)->Close().ok());
}

TEST_F(FileSystemTest, FailSecondRename) {
  FaultInjectingFileSystem fs(RealFileSystem());
  for (const char* name : {"r1", "r2", "r3", "r4"}) ASSERT_TRUE(Write(fs, Path(name), name).ok());
  fs.FailNthForTesting(Op::kRename, 2);
  EXPECT_TRUE(fs.Rename(Path("r1"), Path("s1")).ok());
  Status second = fs.Rename(Path("r2"), Path("s2"));
  EXPECT_EQ(second.code(), StatusCode::kIoError);
  EXPECT_TRUE(fs.Rename(Path("r3"), Path("s3")).ok());
  EXPECT_TRUE(fs.Rename(Path("r4"), Path("s4")).ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kRename), 4);
  // The failed rename did not happen.
  EXPECT_TRUE(fs.Exists(Path("r2")));
  EXPECT_FALSE(fs.Exists(Path("s2")));
  EXPECT_TRUE(fs.Exists(Path("s1")));
  EXPECT_TRUE(fs.Exists(Path("s3")));
  EXPECT_TRUE(fs.Exists(Path("s4")));
}

TEST_F(FileSystemTest, FailFirstAndDisarm) {
  FaultInjectingFileSystem fs(RealFileSystem());
  ASSERT_TRUE(Write(fs, Path("a"), "a").ok());
  fs.FailNthForTesting(Op::kRename, 1);
  EXPECT_EQ(fs.Rename(Path("a"), Path("b")).code(), StatusCode::kIoError);
  EXPECT_TRUE(fs.Rename(Path("a"), Path("b")).ok());

  // 0 disarms: nothing fails.
  fs.FailNthForTesting(Op::kRename, 0);
  EXPECT_TRUE(fs.Rename(Path("b"), Path("c")).ok());
  EXPECT_TRUE(fs.Rename(Path("c"), Path("d")).ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kRename), 2);
}

TEST_F(FileSystemTest, ArmingCountsFromNow) {
  FaultInjectingFileSystem fs(RealFileSystem());
  auto file = fs.NewWritableFile(Path("n"));
  ASSERT_TRUE(file.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*file)->Append("x").ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 5);
  fs.FailNthForTesting(Op::kAppend, 2);  // the 2nd append from now on
  EXPECT_TRUE((*file)->Append("x").ok());
  EXPECT_FALSE((*file)->Append("x").ok());
  EXPECT_TRUE((*file)->Append("x").ok());
}

TEST_F(FileSystemTest, OpsAreCountedSeparately) {
  FaultInjectingFileSystem fs(RealFileSystem());
  fs.FailNthForTesting(Op::kSync, 1);
  auto file = fs.NewWritableFile(Path("o"));
  ASSERT_TRUE(file.ok());
  // Appends and renames are not affected by a sync fault.
  EXPECT_TRUE((*file)->Append("x").ok());
  EXPECT_TRUE((*file)->Append("y").ok());
  EXPECT_EQ((*file)->Sync().code(), StatusCode::kIoError);
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_TRUE(fs.Rename(Path("o"), Path("p")).ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 2);
  EXPECT_EQ(fs.CallsForTesting(Op::kSync), 1);
  EXPECT_EQ(fs.CallsForTesting(Op::kRename), 1);
}

TEST_F(FileSystemTest, CountersCountCalls) {
  FaultInjectingFileSystem fs(RealFileSystem());
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 0);
  EXPECT_EQ(fs.CallsForTesting(Op::kSync), 0);
  EXPECT_EQ(fs.CallsForTesting(Op::kRename), 0);
  ASSERT_TRUE(WriteFileAtomically(fs, Path("w"), "v1").ok());
  // One append, one sync, one rename per atomic write.
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 1);
  EXPECT_EQ(fs.CallsForTesting(Op::kSync), 1);
  EXPECT_EQ(fs.CallsForTesting(Op::kRename), 1);
  ASSERT_TRUE(WriteFileAtomically(fs, Path("w"), "v2").ok());
  EXPECT_EQ(fs.CallsForTesting(Op::kAppend), 2);
  EXPECT_EQ(fs.CallsForTesting(Op::kSync), 2);
  EXPECT_EQ(fs.CallsForTesting(Op::kRename), 2);
}

TEST_F(FileSystemTest, WriteFileAtomicallyFailingRenameKeepsOldContent) {
  FaultInjectingFileSystem fs(RealFileSystem());
  std::string path = Path("state");
  ASSERT_TRUE(WriteFileAtomically(fs, path, "old content").ok());
  fs.FailNthForTesting(Op::kRename, 1);
  Status s = WriteFileAtomically(fs, path, "new");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(Read(fs, path), "old content");
  // A later attempt succeeds and replaces it.
  ASSERT_TRUE(WriteFileAtomically(fs, path, "new").ok());
  EXPECT_EQ(Read(fs, path), "new");
  EXPECT_FALSE(fs.Exists(path + ".tmp"));
}

TEST_F(FileSystemTest, WriteFileAtomicallyFailingAppendOrSyncKeepsOldContent) {
  FaultInjectingFileSystem fs(RealFileSystem());
  std::string path = Path("state");
  ASSERT_TRUE(WriteFileAtomically(fs, path, "old content").ok());

  fs.FailNthForTesting(Op::kAppend, 1);
  EXPECT_EQ(WriteFileAtomically(fs, path, "new").code(), StatusCode::kIoError);
  EXPECT_EQ(Read(fs, path), "old content");

  fs.FailNthForTesting(Op::kSync, 1);
  EXPECT_EQ(WriteFileAtomically(fs, path, "new").code(), StatusCode::kIoError);
  EXPECT_EQ(Read(fs, path), "old content");
  // The failed sync must stop the rename.
  EXPECT_EQ(fs.CallsForTesting(Op::kRename), 1);
}

TEST_F(FileSystemTest, WriteFileAtomicallyFailingSecondRename) {
  FaultInjectingFileSystem fs(RealFileSystem());
  fs.FailNthForTesting(Op::kRename, 2);
  ASSERT_TRUE(WriteFileAtomically(fs, Path("a"), "a1").ok());
  EXPECT_FALSE(WriteFileAtomically(fs, Path("a"), "a2").ok());
  ASSERT_TRUE(WriteFileAtomically(fs, Path("a"), "a3").ok());
  EXPECT_EQ(Read(fs, Path("a")), "a3");
}

// Regression: Tick once incremented calls_[i] and read it again for the comparison, so two
// threads ticking at once could both see the armed count, or both miss it. The race needs
// threads to overlap, so the old code failed this in most runs, not all.
TEST(FaultInjectingFileSystemTest, ConcurrentTicksFailExactlyOnce) {
  FaultInjectingFileSystem fs(RealFileSystem());
  constexpr int kThreads = 4;
  constexpr int kTicksPerThread = 20'000;
  int rounds_wrong = 0;
  for (int round = 0; round < 500; ++round) {
    fs.FailNthForTesting(Op::kAppend, kThreads * kTicksPerThread / 2);
    std::atomic<int> injected{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        while (!go.load()) {
        }
        for (int i = 0; i < kTicksPerThread; ++i) {
          if (!fs.Tick(Op::kAppend).ok()) ++injected;
        }
      });
    }
    go = true;
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(fs.CallsForTesting(Op::kAppend), kThreads * kTicksPerThread);
    if (injected.load() != 1) ++rounds_wrong;
  }
  EXPECT_EQ(rounds_wrong, 0);
}

}  // namespace
}  // namespace p4dp
