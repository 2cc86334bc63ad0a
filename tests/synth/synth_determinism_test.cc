// Must show 2 of the foundation issue: the same arguments give byte-identical files, with
// one thread or two; another seed gives other data; zstd output holds the same bytes.
#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>

#include "synth_test_util.h"

namespace p4dp::synth::testing {
namespace {

std::vector<std::string> AllFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(std::filesystem::relative(e.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Decompress(const std::string& compressed) {
  std::string out;
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    size_t rc = ZSTD_decompressStream(ctx, &o, &in);
    EXPECT_FALSE(ZSTD_isError(rc)) << ZSTD_getErrorName(rc);
    if (ZSTD_isError(rc)) break;
    out.append(buf.data(), o.pos);
  }
  ZSTD_freeDCtx(ctx);
  return out;
}

std::string Synth(const std::string& name, const std::string& args, int patients = 10000) {
  std::string dir = FreshDir(name);
  std::string cmd = P4dpBinary() + " synth --quiet --patients " + std::to_string(patients) + " " +
                    args + " --out " + dir + " > " + dir + "/../" + name + ".stdout";
  EXPECT_EQ(RunCommand(cmd), 0) << cmd;
  return dir;
}

TEST(SynthDeterminism, SameArgumentsSameBytesWhateverTheThreads) {
  std::string a = Synth("det_a", "--seed 7 --threads 1");
  std::string b = Synth("det_b", "--seed 7 --threads 2");
  std::string c = Synth("det_c", "--seed 7 --threads 5");
  auto files = AllFiles(a);
  ASSERT_EQ(files.size(), 12u);  // 8 resource files + 4 truth files
  EXPECT_EQ(files, AllFiles(b));
  EXPECT_EQ(files, AllFiles(c));
  for (const auto& f : files) {
    std::string bytes = ReadFile(a + "/" + f);
    EXPECT_FALSE(bytes.empty()) << f;
    EXPECT_TRUE(bytes == ReadFile(b + "/" + f)) << f << " differs between 1 and 2 threads";
    EXPECT_TRUE(bytes == ReadFile(c + "/" + f)) << f << " differs between 1 and 5 threads";
  }
}

TEST(SynthDeterminism, AnotherSeedGivesOtherData) {
  std::string a = Synth("seed_7", "--seed 7");
  std::string b = Synth("seed_8", "--seed 8");
  for (const auto& type : ResourceTypes()) {
    EXPECT_NE(ReadFile(a + "/" + type + ".ndjson"), ReadFile(b + "/" + type + ".ndjson")) << type;
  }
  EXPECT_NE(ReadFile(a + "/truth/outbreaks.csv"), ReadFile(b + "/truth/outbreaks.csv"));
}

TEST(SynthDeterminism, ZstdOutputDecompressesToTheSameBytes) {
  std::string plain = Synth("zstd_plain", "--seed 11", 3000);
  std::string packed = Synth("zstd_packed", "--seed 11 --compress zstd", 3000);
  int64_t plain_bytes = 0, packed_bytes = 0;
  for (const auto& type : ResourceTypes()) {
    std::string original = ReadFile(plain + "/" + type + ".ndjson");
    std::string compressed = ReadFile(packed + "/" + type + ".ndjson.zst");
    ASSERT_FALSE(compressed.empty()) << type;
    EXPECT_TRUE(Decompress(compressed) == original) << type;
    plain_bytes += static_cast<int64_t>(original.size());
    packed_bytes += static_cast<int64_t>(compressed.size());
  }
  EXPECT_LT(packed_bytes * 5, plain_bytes) << "zstd should shrink NDJSON at least 5 times";
  EXPECT_EQ(ReadFile(plain + "/truth/outbreaks.csv"), ReadFile(packed + "/truth/outbreaks.csv"));
}

}  // namespace
}  // namespace p4dp::synth::testing
