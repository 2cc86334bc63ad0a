#include "surveil/detector.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace p4dp::surveil {
namespace {

const std::map<std::string, std::set<std::string>>& Controls() {
  static const auto* controls = new std::map<std::string, std::set<std::string>>{
      {"ears-c1", {"baseline", "min-sigma", "alpha"}},
      {"ears-c2", {"baseline", "min-sigma", "alpha"}},
      {"ears-c3", {"baseline", "min-sigma", "alpha"}},
      {"farrington", {"b", "w", "reweight", "alpha", "trend", "limit54", "powertrans"}},
      {"farrington-flexible",
       {"b", "w", "reweight", "weights-threshold", "alpha", "trend", "p-threshold-trend", "limit54",
        "powertrans", "no-periods", "past-weeks-not-included", "threshold-method"}},
      {"cusum", {"k", "h", "m", "trans"}},
      {"serfling", {"years", "trim", "harmonics"}},
  };
  return *controls;
}

Status Bad(const std::string& control, const std::string& value, const std::string& expected) {
  return Status::InvalidArgument("control " + control + ": expected " + expected + ", got '" +
                                 value + "'");
}

Status Int(const std::string& name, const std::string& text, int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return Bad(name, text, "a whole number");
  }
  return Status::Ok();
}

Status Double(const std::string& name, const std::string& text, double& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return Bad(name, text, "a number");
  }
  return Status::Ok();
}

Status Bool(const std::string& name, const std::string& text, bool& out) {
  if (text == "true" || text == "TRUE") {
    out = true;
  } else if (text == "false" || text == "FALSE") {
    out = false;
  } else {
    return Bad(name, text, "true or false");
  }
  return Status::Ok();
}

Status Power(const std::string& name, const std::string& text, PowerTransform& out) {
  if (text == "none") {
    out = PowerTransform::kNone;
  } else if (text == "1/2") {
    out = PowerTransform::kHalf;
  } else if (text == "2/3") {
    out = PowerTransform::kTwoThirds;
  } else {
    return Bad(name, text, "none, 1/2 or 2/3");
  }
  return Status::Ok();
}

Status Limit(const std::string& name, const std::string& text, Limit54& out) {
  size_t comma = text.find(',');
  if (comma == std::string::npos) return Bad(name, text, "CASES,PERIODS");
  if (!Double(name, text.substr(0, comma), out.cases).ok() ||
      !Int(name, text.substr(comma + 1), out.periods).ok()) {
    return Bad(name, text, "CASES,PERIODS");
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& AlgorithmNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (const auto& [name, _] : Controls()) v->push_back(name);
    return v;
  }();
  return *names;
}

const std::vector<std::string>& ControlNames() {
  static const auto* names = [] {
    std::set<std::string> all;
    for (const auto& [_, controls] : Controls()) all.insert(controls.begin(), controls.end());
    return new std::vector<std::string>(all.begin(), all.end());
  }();
  return *names;
}

Result<DetectorSpec> MakeDetector(std::string_view algorithm,
                                  const std::map<std::string, std::string>& controls) {
  auto known = Controls().find(std::string(algorithm));
  if (known == Controls().end()) {
    std::string list;
    for (const std::string& n : AlgorithmNames()) list += (list.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("unknown algorithm '" + std::string(algorithm) +
                                   "' (expected one of: " + list + ")");
  }
  DetectorSpec s;
  s.algorithm = std::string(algorithm);
  for (const auto& [name, value] : controls) {
    if (!known->second.count(name)) {
      return Status::InvalidArgument("control " + name + " is not a control of " + s.algorithm);
    }
    const bool ears = s.algorithm.starts_with("ears-");
    const bool flexible = s.algorithm == "farrington-flexible";
    FarringtonOptions& f = s.farrington;
    FarringtonFlexibleOptions& ff = s.flexible;
    if (name == "baseline") P4DP_TRY(Int(name, value, s.ears.baseline));
    if (name == "min-sigma") P4DP_TRY(Double(name, value, s.ears.min_sigma));
    if (name == "alpha") {
      double a = 0;
      P4DP_TRY(Double(name, value, a));
      if (ears) s.ears.alpha = a;
      (flexible ? ff.alpha : f.alpha) = a;
    }
    if (name == "b") P4DP_TRY(Int(name, value, flexible ? ff.b : f.b));
    if (name == "w") P4DP_TRY(Int(name, value, flexible ? ff.w : f.w));
    if (name == "reweight") P4DP_TRY(Bool(name, value, flexible ? ff.reweight : f.reweight));
    if (name == "trend") P4DP_TRY(Bool(name, value, flexible ? ff.trend : f.trend));
    if (name == "limit54") P4DP_TRY(Limit(name, value, flexible ? ff.limit54 : f.limit54));
    if (name == "powertrans") P4DP_TRY(Power(name, value, flexible ? ff.powertrans : f.powertrans));
    if (name == "weights-threshold") P4DP_TRY(Double(name, value, ff.weights_threshold));
    if (name == "p-threshold-trend") P4DP_TRY(Double(name, value, ff.p_threshold_trend));
    if (name == "no-periods") P4DP_TRY(Int(name, value, ff.no_periods));
    if (name == "past-weeks-not-included") {
      int v = 0;
      P4DP_TRY(Int(name, value, v));
      ff.past_weeks_not_included = v;
    }
    if (name == "threshold-method") {
      if (value == "delta") {
        ff.threshold_method = ThresholdMethod::kDelta;
      } else if (value == "nbPlugin") {
        ff.threshold_method = ThresholdMethod::kNbPlugin;
      } else if (value == "muan") {
        ff.threshold_method = ThresholdMethod::kMuan;
      } else {
        return Bad(name, value, "delta, nbPlugin or muan");
      }
    }
    if (name == "k") P4DP_TRY(Double(name, value, s.cusum.k));
    if (name == "h") P4DP_TRY(Double(name, value, s.cusum.h));
    if (name == "m") {
      if (value == "mean") {
        s.cusum.m = CusumReference::kMean;
      } else if (value == "glm") {
        s.cusum.m = CusumReference::kGlm;
      } else {
        s.cusum.m = CusumReference::kValue;
        P4DP_TRY(Double(name, value, s.cusum.m_value));
      }
    }
    if (name == "trans") {
      if (value == "standard") {
        s.cusum.trans = CusumTransform::kStandard;
      } else if (value == "rossi") {
        s.cusum.trans = CusumTransform::kRossi;
      } else if (value == "anscombe") {
        s.cusum.trans = CusumTransform::kAnscombe;
      } else {
        return Bad(name, value, "standard, rossi or anscombe");
      }
    }
    if (name == "years") P4DP_TRY(Int(name, value, s.serfling.years));
    if (name == "trim") P4DP_TRY(Double(name, value, s.serfling.trim));
    if (name == "harmonics") P4DP_TRY(Int(name, value, s.serfling.harmonics));
  }
  if (s.algorithm == "ears-c1") s.ears.method = EarsMethod::kC1;
  if (s.algorithm == "ears-c2") s.ears.method = EarsMethod::kC2;
  if (s.algorithm == "ears-c3") s.ears.method = EarsMethod::kC3;
  return s;
}

int FirstEvaluablePeriod(const DetectorSpec& spec, int frequency) {
  const std::string& a = spec.algorithm;
  if (a.starts_with("ears-")) {
    int lag = spec.ears.baseline + (a == "ears-c1" ? 0 : 2) + (a == "ears-c3" ? 2 : 0);
    return lag + 1;
  }
  if (a == "farrington") return frequency * spec.farrington.b + spec.farrington.w + 1;
  if (a == "farrington-flexible") {
    int skip = spec.flexible.past_weeks_not_included.value_or(spec.flexible.w);
    return frequency * spec.flexible.b + std::max(spec.flexible.w, skip) + 1;
  }
  if (a == "cusum") return frequency + 1;
  return spec.serfling.years * 52 + 1;
}

Result<Detection> RunDetector(const DetectorSpec& spec, const SeriesView& series,
                              PeriodRange range) {
  const std::string& a = spec.algorithm;
  if (a.starts_with("ears-")) return EarsC(series, range, spec.ears);
  if (a == "farrington") return Farrington(series, range, spec.farrington);
  if (a == "farrington-flexible") return FarringtonFlexible(series, range, spec.flexible);
  if (a == "cusum") return Cusum(series, range, spec.cusum);
  return Serfling(series, range, spec.serfling);
}

}  // namespace p4dp::surveil
