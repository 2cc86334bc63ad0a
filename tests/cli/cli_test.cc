// The `p4dp` command's behaviour on misuse: clear messages naming the option at fault and
// non-zero exit codes; --help and --version succeed.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs p4dp with `args`; `redirect` says where stderr goes (default: with stdout).
Outcome P4dp(const std::string& args, const std::string& redirect = " 2>&1") {
  std::string cmd = std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp " + args + redirect;
  Outcome o;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return o;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) o.output.append(buf.data(), n);
  int status = pclose(pipe);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::string TmpDir(const std::string& name) {
  return std::string(P4DP_BINARY_DIR) + "/test-tmp/cli_" + name;
}

TEST(Cli, VersionAndHelpSucceed) {
  Outcome v = P4dp("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.output.find("p4dp 0."), std::string::npos) << v.output;
  Outcome h = P4dp("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.output.find("synth"), std::string::npos) << h.output;
  EXPECT_NE(h.output.find("serve"), std::string::npos) << h.output;
  Outcome s = P4dp("synth --help");
  EXPECT_EQ(s.exit_code, 0);
  for (const char* option : {"--patients", "--seed", "--from", "--to", "--practices", "--compress",
                             "--defects", "--out"}) {
    EXPECT_NE(s.output.find(option), std::string::npos) << option;
  }
}

TEST(Cli, NoSubcommandOrAnUnknownOneIsMisuse) {
  EXPECT_EQ(P4dp("").exit_code, 2);
  Outcome o = P4dp("frobnicate");
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.output.find("frobnicate"), std::string::npos) << o.output;
}

TEST(Cli, SynthNamesTheBadOption) {
  struct Case {
    std::string args;
    std::string named;
  };
  const std::string out = " --out " + TmpDir("bad");
  for (const Case& c : std::initializer_list<Case>{
           {"synth --patients 0" + out, "--patients"},
           {"synth --patients ten" + out, "--patients"},
           {"synth --defects 0.9" + out, "--defects"},
           {"synth --compress gzip" + out, "--compress"},
           {"synth --patients 10", "--out"},
       }) {
    Outcome o = P4dp(c.args);
    EXPECT_EQ(o.exit_code, 2) << c.args << "\n" << o.output;
    EXPECT_NE(o.output.find(c.named), std::string::npos) << c.args << "\n" << o.output;
  }
  for (const Case& c : std::initializer_list<Case>{
           {"synth --patients 10 --from 2021-02-30" + out, "--from"},
           {"synth --patients 10 --to 2021/01/01" + out, "--to"},
           {"synth --patients 10 --from 2024-01-01 --to 2023-01-01" + out, "--from"},
       }) {
    Outcome o = P4dp(c.args);
    EXPECT_EQ(o.exit_code, 1) << c.args << "\n" << o.output;
    EXPECT_NE(o.output.find(c.named), std::string::npos) << c.args << "\n" << o.output;
  }
}

TEST(Cli, SynthNamesAFolderItCannotWrite) {
  Outcome o = P4dp("synth --patients 10 --out /proc/p4dp-cannot-write-here");
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_NE(o.output.find("/proc/p4dp-cannot-write-here"), std::string::npos) << o.output;
}

TEST(Cli, SynthPrintsAJsonSummaryAndProgress) {
  Outcome o = P4dp("synth --patients 50 --seed 1 --out " + TmpDir("small"));
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("synth: 50/50 patients (100%)"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("{\"patients\":50,"), std::string::npos) << o.output;
}

TEST(Cli, SqlNeedsNoWarehouseAndFailsAsCountDoes) {
  std::string dir = TmpDir("sql");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/good.json") << R"({"entry": {"domain": "death"}})";
  std::ofstream(dir + "/bad.json")
      << R"({"entry": {}, "inclusion": [{"events": {"window": [10, 5]}}]})";
  Outcome good = P4dp("sql " + dir + "/good.json --patients", " 2>/dev/null");
  EXPECT_EQ(good.exit_code, 0);
  EXPECT_EQ(good.output.rfind("-- p4dp sql", 0), 0u) << good.output;
  EXPECT_NE(good.output.find("ORDER BY p.patient_key;\n"), std::string::npos) << good.output;

  const std::string reason = dir +
                             "/bad.json: inclusion[0].events.window: its start (10) is "
                             "after its end (5)\n";
  Outcome bad = P4dp("sql " + dir + "/bad.json");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.output, "p4dp: sql: " + reason);
  Outcome count = P4dp("count " + dir + "/no-warehouse " + dir + "/bad.json");
  EXPECT_EQ(count.exit_code, 1);
  EXPECT_EQ(count.output, "p4dp: count: " + reason);
  // Nothing at all on stdout when it fails.
  EXPECT_EQ(P4dp("sql " + dir + "/bad.json", " 2>/dev/null").output, "");
  Outcome missing = P4dp("sql " + dir + "/missing.json");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.output, "p4dp: sql: cannot read '" + dir + "/missing.json'\n");
}

}  // namespace
