// Golden tests of `p4dp detect` against R surveillance 1.20.3 (tests/golden/detect/, made by
// tools/r/detect_goldens.R): each case runs the real p4dp process on a committed input with
// the case's arguments and compares its CSV with R's, row by row: the same periods and
// counts, identical alarms (an NA alarm of R is 0), expected values and upper bounds within
// the case's relative tolerance (NA where R has NA). Where R stops with an error, p4dp must
// fail too.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::string kGoldenDir = std::string(P4DP_SOURCE_DIR) + "/tests/golden/detect";

struct Case {
  std::string name;
  std::string input;
  double tolerance = 0;
  std::string args;
};

// gtest prints a failing case by its name and arguments.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name << " (p4dp detect " << c.args << ")";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, separator)) fields.push_back(field);
  return fields;
}

std::vector<Case> ReadCases() {
  std::vector<Case> cases;
  std::stringstream lines(ReadFile(kGoldenDir + "/cases.tsv"));
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::vector<std::string> f = Split(line, '\t');
    if (f.size() != 4) continue;
    cases.push_back({f[0], f[1], std::stod(f[2]), f[3]});
  }
  return cases;
}

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome RunDetect(const Case& c) {
  const std::string err_file =
      std::string(P4DP_BINARY_DIR) + "/test-tmp/detect_golden_" + c.name + ".err";
  std::filesystem::create_directories(std::string(P4DP_BINARY_DIR) + "/test-tmp");
  const std::string cmd = std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp detect " + c.args + " < " +
                          kGoldenDir + "/inputs/" + c.input + ".csv 2> " + err_file;
  Outcome o;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return o;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) o.out.append(buf.data(), n);
  int status = pclose(pipe);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.err = ReadFile(err_file);
  return o;
}

struct Row {
  std::string period;
  std::string count;
  double expected = 0;
  double upper = 0;
  std::string alarm;
};

std::vector<Row> ParseRows(const std::string& text) {
  std::vector<Row> rows;
  std::stringstream lines(text);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "period,count,expected,upper,alarm");
  while (std::getline(lines, line)) {
    std::vector<std::string> f = Split(line, ',');
    EXPECT_EQ(f.size(), 5u) << line;
    if (f.size() != 5) continue;
    auto number = [](const std::string& s) { return s == "NA" ? std::nan("") : std::stod(s); };
    rows.push_back({f[0], f[1], number(f[2]), number(f[3]), f[4]});
  }
  return rows;
}

// |a - b| relative to the larger magnitude; 0 when both are NA or equal.
double RelativeDifference(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return INFINITY;
  if (a == b) return 0;
  return std::abs(a - b) / std::max(std::abs(a), std::abs(b));
}

class DetectGolden : public ::testing::TestWithParam<Case> {};

TEST_P(DetectGolden, MatchesR) {
  const Case& c = GetParam();
  const std::string expected_text = ReadFile(kGoldenDir + "/expected/" + c.name + ".csv");
  ASSERT_FALSE(expected_text.empty()) << c.name;
  Outcome o = RunDetect(c);
  if (expected_text.starts_with("error:")) {
    EXPECT_NE(o.exit_code, 0) << "R fails (" << expected_text << ") but p4dp answered:\n" << o.out;
    EXPECT_TRUE(o.out.empty()) << o.out;
    EXPECT_NE(o.err.find("p4dp: detect: "), std::string::npos) << o.err;
    return;
  }
  ASSERT_EQ(o.exit_code, 0) << "p4dp detect " << c.args << "\n" << o.err;
  std::vector<Row> want = ParseRows(expected_text);
  std::vector<Row> got = ParseRows(o.out);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(want.empty());
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const Row& w = want[i];
    const Row& g = got[i];
    SCOPED_TRACE(c.name + " " + w.period);
    EXPECT_EQ(g.period, w.period);
    EXPECT_EQ(g.count, w.count);
    EXPECT_EQ(g.alarm, w.alarm == "NA" ? "0" : w.alarm) << "alarm";
    const double de = RelativeDifference(g.expected, w.expected);
    const double du = RelativeDifference(g.upper, w.upper);
    EXPECT_LE(de, c.tolerance) << "expected: p4dp " << g.expected << ", R " << w.expected;
    EXPECT_LE(du, c.tolerance) << "upper: p4dp " << g.upper << ", R " << w.upper;
    worst = std::max({worst, de, du});
  }
  RecordProperty("worst_relative_difference", std::to_string(worst));
  std::printf("%s: %zu periods, worst relative difference %.3g (tolerance %g)\n", c.name.c_str(),
              want.size(), worst, c.tolerance);
}

INSTANTIATE_TEST_SUITE_P(R, DetectGolden, ::testing::ValuesIn(ReadCases()),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return param.param.name;
                         });

// The goldens are not vacuous: every detector raises alarms somewhere, and stays quiet
// somewhere, in R's answers.
TEST(DetectGoldenSet, EachDetectorHasAlarmsAndQuietPeriods) {
  std::map<std::string, std::array<int, 2>> seen;  // detector -> {quiet, alarm}
  for (const Case& c : ReadCases()) {
    const std::string text = ReadFile(kGoldenDir + "/expected/" + c.name + ".csv");
    if (text.starts_with("error:")) continue;
    const std::string detector = Split(c.args, ' ')[1];  // "--algorithm NAME ..."
    for (const Row& row : ParseRows(text)) {
      if (row.alarm == "0") ++seen[detector][0];
      if (row.alarm == "1") ++seen[detector][1];
    }
  }
  for (const char* detector : {"ears-c1", "ears-c2", "ears-c3", "farrington", "farrington-flexible",
                               "cusum", "serfling"}) {
    EXPECT_GT(seen[detector][0], 10) << detector;
    EXPECT_GT(seen[detector][1], 5) << detector;
  }
}

}  // namespace
