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

// Writes `text` as a series file and returns its path.
std::string SeriesFile(const std::string& name, const std::string& text) {
  std::string dir = TmpDir("detect");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/" + name + ".csv";
  std::ofstream(path) << text;
  return path;
}

// `n` weeks from 2016-W01 (2016 has 52 ISO weeks) with counts 3, 4, 5, 6, 3, ...
std::string Weeks(int n) {
  std::string text = "period,count\n";
  for (int i = 0; i < n; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "2016-W%02d,%d\n", i + 1, 3 + i % 4);
    if (i >= 52) std::snprintf(line, sizeof line, "2017-W%02d,%d\n", i - 52 + 1, 3 + i % 4);
    text += line;
  }
  return text;
}

TEST(Cli, DetectWritesOneRowPerEvaluatedPeriod) {
  Outcome o = P4dp("detect --algorithm ears-c1 --range 9:10 < " + SeriesFile("ok", Weeks(10)),
                   " 2>/dev/null");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.output.rfind("period,count,expected,upper,alarm\n2016-W09,3,", 0), 0u) << o.output;
  EXPECT_NE(o.output.find("\n2016-W10,4,"), std::string::npos) << o.output;
}

TEST(Cli, DetectNamesTheLineOfBadInput) {
  struct Case {
    std::string args;
    std::string text;
    std::string message;
  };
  const std::string good = Weeks(60);
  for (const Case& c : std::initializer_list<Case>{
           {"--algorithm ears-c1", "2015-W01,3\n2015-W02,4\n",
            "p4dp: detect: stdin: line 1: missing header: expected a header line "
            "'period,count' or 'period,count,population'\n"},
           {"--algorithm ears-c1", "period,count\n2015-W01,3\n2015-W02,many\n",
            "p4dp: detect: stdin: line 3, field 'count': 'many' is not a number\n"},
           {"--algorithm ears-c1", "period,count\n2015-W01,3\n2015-W02,4\n2015-W04,4\n",
            "p4dp: detect: stdin: line 4, field 'period': '2015-W04' does not follow "
            "2015-W02 (line 3): periods must be consecutive, one row each (expected "
            "2015-W03)\n"},
           {"--algorithm ears-c1 --range 50:61", good,
            "p4dp: detect: ears-c1: range 50:61 is outside the series: the series has "
            "periods 1 to 60\n"},
           {"--algorithm farrington-flexible --range 10:60", good,
            "p4dp: detect: farrington-flexible: period 10 needs its reference period 5 years "
            "back (period -250): start the range at 264 or later, or lower --b or --w\n"},
       }) {
    Outcome o = P4dp("detect " + c.args + " < " + SeriesFile("bad", c.text));
    EXPECT_EQ(o.exit_code, 1) << c.args << "\n" << o.output;
    EXPECT_EQ(o.output, c.message) << c.args;
    // Nothing on stdout when it fails.
    EXPECT_EQ(P4dp("detect " + c.args + " < " + SeriesFile("bad", c.text), " 2>/dev/null").output,
              "");
  }
}

TEST(Cli, DetectNamesTheBadControl) {
  struct Case {
    std::string args;
    std::string named;
  };
  const std::string in = " < " + SeriesFile("controls", Weeks(60));
  for (const Case& c : std::initializer_list<Case>{
           {"--algorithm ears-c4", "--algorithm"},
           {"--range 10:20", "--algorithm"},
           {"--algorithm ears-c1 --k 2", "--k is not a control of ears-c1"},
           {"--algorithm cusum --range 10", "--range: expected START:END"},
           {"--algorithm farrington --reweight maybe", "--reweight"},
           {"--algorithm farrington --limit54 5", "--limit54"},
           {"--algorithm farrington-flexible --threshold-method exact", "--threshold-method"},
           {"--algorithm cusum --range 10:20 --m median", "--m"},
           {"--algorithm ears-c2 --baseline seven", "--baseline"},
       }) {
    Outcome o = P4dp("detect " + c.args + in);
    EXPECT_EQ(o.exit_code, 2) << c.args << "\n" << o.output;
    EXPECT_NE(o.output.find(c.named), std::string::npos) << c.args << "\n" << o.output;
  }
}

}  // namespace
