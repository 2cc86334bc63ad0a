// `p4dp detect`: reads a series as CSV on stdin, runs one detector of surveil/ over it and
// writes the evaluated periods as CSV on stdout (wiring only; the work is in surveil/).
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "surveil/detect.h"
#include "surveil/series_csv.h"

namespace p4dp::cli {
namespace {

// The controls of each algorithm (the reference's names in kebab case).
const std::map<std::string, std::set<std::string>>& Controls() {
  static const auto* controls = new std::map<std::string, std::set<std::string>>{
      {"ears-c1", {"--baseline", "--min-sigma", "--alpha"}},
      {"ears-c2", {"--baseline", "--min-sigma", "--alpha"}},
      {"ears-c3", {"--baseline", "--min-sigma", "--alpha"}},
      {"farrington",
       {"--b", "--w", "--reweight", "--alpha", "--trend", "--limit54", "--powertrans"}},
      {"farrington-flexible",
       {"--b", "--w", "--reweight", "--weights-threshold", "--alpha", "--trend",
        "--p-threshold-trend", "--limit54", "--powertrans", "--no-periods",
        "--past-weeks-not-included", "--threshold-method"}},
      {"cusum", {"--k", "--h", "--m", "--trans"}},
      {"serfling", {"--years", "--trim", "--harmonics"}},
  };
  return *controls;
}

struct DetectArgs {
  std::string algorithm;
  std::string range;
  int baseline = 7;
  double min_sigma = 0;
  double alpha = 0;
  int b = 5;
  int w = 3;
  std::string reweight = "true";
  std::string trend = "true";
  std::string limit54 = "5,4";
  std::string powertrans = "2/3";
  double weights_threshold = 2.58;
  double p_threshold_trend = 0.05;
  int no_periods = 1;
  int past_weeks_not_included = 0;
  std::string threshold_method = "delta";
  double k = 1.04;
  double h = 2.26;
  std::string m = "mean";
  std::string trans = "standard";
  int years = 5;
  double trim = 0.15;
  int harmonics = 2;
};

// A misuse of the command line: prints "p4dp: detect: MESSAGE" and exits 2.
int Misuse(const std::string& message) {
  Fail("detect: " + message);
  return 2;
}

std::optional<bool> ParseBool(const std::string& text) {
  if (text == "true" || text == "TRUE") return true;
  if (text == "false" || text == "FALSE") return false;
  return std::nullopt;
}

bool ParseInt(std::string_view text, int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

bool ParseDouble(std::string_view text, double& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

surveil::PowerTransform Power(const std::string& text) {
  if (text == "none") return surveil::PowerTransform::kNone;
  if (text == "1/2") return surveil::PowerTransform::kHalf;
  return surveil::PowerTransform::kTwoThirds;
}

// Runs the chosen detector with the controls given (the others keep the reference's
// defaults, which the option structs hold).
// The controls whose text RunDetect parsed and checked.
struct ParsedControls {
  std::optional<surveil::PeriodRange> range;
  bool reweight = true;
  bool trend = true;
  surveil::Limit54 limit54;
  double m_value = 0;
};

Result<surveil::Detection> Detect(const DetectArgs& a, const ParsedControls& p, const CLI::App& cmd,
                                  const surveil::SeriesView& series) {
  auto given = [&](const char* name) { return cmd.count(name) > 0; };
  const std::string& name = a.algorithm;
  if (name.starts_with("ears-")) {
    surveil::EarsOptions o;
    o.method = name == "ears-c1"   ? surveil::EarsMethod::kC1
               : name == "ears-c2" ? surveil::EarsMethod::kC2
                                   : surveil::EarsMethod::kC3;
    if (given("--baseline")) o.baseline = a.baseline;
    if (given("--min-sigma")) o.min_sigma = a.min_sigma;
    if (given("--alpha")) o.alpha = a.alpha;
    return surveil::EarsC(series, p.range, o);
  }
  if (name == "farrington") {
    surveil::FarringtonOptions o;
    o.b = a.b;
    o.w = a.w;
    o.reweight = p.reweight;
    o.trend = p.trend;
    o.limit54 = p.limit54;
    o.powertrans = Power(a.powertrans);
    if (given("--alpha")) o.alpha = a.alpha;
    return surveil::Farrington(series, p.range, o);
  }
  if (name == "farrington-flexible") {
    surveil::FarringtonFlexibleOptions o;
    o.b = a.b;
    o.w = a.w;
    o.reweight = p.reweight;
    o.trend = p.trend;
    o.limit54 = p.limit54;
    o.powertrans = Power(a.powertrans);
    if (given("--alpha")) o.alpha = a.alpha;
    o.weights_threshold = a.weights_threshold;
    o.p_threshold_trend = a.p_threshold_trend;
    o.no_periods = a.no_periods;
    if (given("--past-weeks-not-included")) o.past_weeks_not_included = a.past_weeks_not_included;
    o.threshold_method = a.threshold_method == "nbPlugin" ? surveil::ThresholdMethod::kNbPlugin
                         : a.threshold_method == "muan"   ? surveil::ThresholdMethod::kMuan
                                                          : surveil::ThresholdMethod::kDelta;
    return surveil::FarringtonFlexible(series, p.range, o);
  }
  if (name == "cusum") {
    surveil::CusumOptions o;
    o.k = a.k;
    o.h = a.h;
    o.trans = a.trans == "rossi"      ? surveil::CusumTransform::kRossi
              : a.trans == "anscombe" ? surveil::CusumTransform::kAnscombe
                                      : surveil::CusumTransform::kStandard;
    if (a.m == "glm") {
      o.m = surveil::CusumReference::kGlm;
    } else if (a.m != "mean") {
      o.m = surveil::CusumReference::kValue;
      o.m_value = p.m_value;
    }
    return surveil::Cusum(series, p.range, o);
  }
  surveil::SerflingOptions o;
  o.years = a.years;
  o.trim = a.trim;
  o.harmonics = a.harmonics;
  return surveil::Serfling(series, p.range, o);
}

int RunDetect(const DetectArgs& a, const CLI::App& cmd) {
  const std::set<std::string>& allowed = Controls().at(a.algorithm);
  for (const auto& [_, controls] : Controls()) {
    for (const std::string& control : controls) {
      if (cmd.count(control) > 0 && allowed.count(control) == 0) {
        return Misuse(control + " is not a control of " + a.algorithm);
      }
    }
  }
  ParsedControls p;
  if (!a.range.empty()) {
    size_t colon = a.range.find(':');
    surveil::PeriodRange r;
    if (colon == std::string::npos ||
        !ParseInt(std::string_view(a.range).substr(0, colon), r.first) ||
        !ParseInt(std::string_view(a.range).substr(colon + 1), r.last)) {
      return Misuse("--range: expected START:END (1-based period indices), got '" + a.range + "'");
    }
    p.range = r;
  }
  std::optional<bool> reweight = ParseBool(a.reweight);
  if (!reweight) return Misuse("--reweight: expected true or false, got '" + a.reweight + "'");
  p.reweight = *reweight;
  std::optional<bool> trend = ParseBool(a.trend);
  if (!trend) return Misuse("--trend: expected true or false, got '" + a.trend + "'");
  p.trend = *trend;
  size_t comma = a.limit54.find(',');
  if (comma == std::string::npos ||
      !ParseDouble(std::string_view(a.limit54).substr(0, comma), p.limit54.cases) ||
      !ParseInt(std::string_view(a.limit54).substr(comma + 1), p.limit54.periods)) {
    return Misuse("--limit54: expected CASES,PERIODS (for example 5,4), got '" + a.limit54 + "'");
  }
  if (a.m != "mean" && a.m != "glm" && !ParseDouble(a.m, p.m_value)) {
    return Misuse("--m: expected mean, glm or a number, got '" + a.m + "'");
  }
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto series = surveil::ParseSeriesCsv(text);
  if (!series.ok()) return Fail("detect: stdin: " + series.status().message());
  auto detection = Detect(a, p, cmd, series->View());
  if (!detection.ok()) return Fail("detect: " + detection.status().message());
  std::string out = surveil::FormatDetectionCsv(*series, *detection);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

void RegisterDetect(CLI::App& app, RunFn& run) {
  auto a = std::make_shared<DetectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "detect",
      "Run an outbreak detector over a series (CSV period,count[,population] on stdin; CSV "
      "period,count,expected,upper,alarm on stdout); see docs/detection.md");
  std::vector<std::string> names;
  for (const auto& [name, _] : Controls()) names.push_back(name);
  cmd->add_option("--algorithm", a->algorithm, "The detector")
      ->required()
      ->check(CLI::IsMember(names));
  cmd->add_option("--range", a->range,
                  "START:END, 1-based indices of the periods to evaluate (default: the "
                  "reference's; required by cusum)");
  // EARS
  cmd->add_option("--baseline", a->baseline, "EARS: reference periods")->capture_default_str();
  cmd->add_option("--min-sigma", a->min_sigma, "EARS: least standard deviation")
      ->capture_default_str();
  cmd->add_option("--alpha", a->alpha,
                  "EARS, Farrington: level (defaults: 0.001 C1 and C2, 0.025 C3, 0.05 "
                  "Farrington)");
  // Farrington and Farrington flexible
  cmd->add_option("--b", a->b, "Farrington: years back")->capture_default_str();
  cmd->add_option("--w", a->w, "Farrington: half-window in periods")->capture_default_str();
  cmd->add_option("--reweight", a->reweight, "Farrington: reweight outliers (true/false)")
      ->capture_default_str();
  cmd->add_option("--trend", a->trend, "Farrington: allow a time trend (true/false)")
      ->capture_default_str();
  cmd->add_option("--limit54", a->limit54,
                  "Farrington: CASES,PERIODS: no alarm with fewer cases in the last periods")
      ->capture_default_str();
  cmd->add_option("--powertrans", a->powertrans, "Farrington: none, 1/2 or 2/3")
      ->check(CLI::IsMember({"none", "1/2", "2/3"}))
      ->capture_default_str();
  cmd->add_option("--weights-threshold", a->weights_threshold,
                  "Farrington flexible: residual above which a period is down-weighted")
      ->capture_default_str();
  cmd->add_option("--p-threshold-trend", a->p_threshold_trend,
                  "Farrington flexible: p-value below which the trend is kept")
      ->capture_default_str();
  cmd->add_option("--no-periods", a->no_periods,
                  "Farrington flexible: seasonal blocks per year (1: none)")
      ->capture_default_str();
  cmd->add_option("--past-weeks-not-included", a->past_weeks_not_included,
                  "Farrington flexible: recent periods left out of the baseline (default: w)");
  cmd->add_option("--threshold-method", a->threshold_method,
                  "Farrington flexible: delta, nbPlugin or muan")
      ->check(CLI::IsMember({"delta", "nbPlugin", "muan"}))
      ->capture_default_str();
  // CUSUM
  cmd->add_option("--k", a->k, "CUSUM: reference value")->capture_default_str();
  cmd->add_option("--h", a->h, "CUSUM: decision boundary")->capture_default_str();
  cmd->add_option("--m", a->m,
                  "CUSUM: reference mean: mean (of the periods before the range), glm or a "
                  "number")
      ->capture_default_str();
  cmd->add_option("--trans", a->trans, "CUSUM: standard, rossi or anscombe")
      ->check(CLI::IsMember({"standard", "rossi", "anscombe"}))
      ->capture_default_str();
  // Serfling
  cmd->add_option("--years", a->years, "Serfling: years of training weeks")->capture_default_str();
  cmd->add_option("--trim", a->trim, "Serfling: share of the highest training weeks left out")
      ->capture_default_str();
  cmd->add_option("--harmonics", a->harmonics, "Serfling: cos/sin pairs")->capture_default_str();
  cmd->callback([&run, a, cmd] { run = [a, cmd] { return RunDetect(*a, *cmd); }; });
}

}  // namespace p4dp::cli
