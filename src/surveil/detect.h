// Outbreak detection over one series of counts: EARS C1/C2/C3, Farrington (`algo.farrington`),
// Farrington flexible (`farringtonFlexible`), CUSUM (`algo.cusum`) and Serfling periodic
// regression. Each detector agrees with the R package `surveillance` 1.20.3 run on the same
// series as `sts(observed, start = c(year, start_in_year), frequency = frequency)` (periods
// counted by index, not by date); docs/detection.md says what each returns and where p4dp
// chooses between the reference's behaviours. Pure functions over values: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"

namespace p4dp::surveil {

// The most periods a series may have (274 years of days).
inline constexpr int kSeriesPeriodsMax = 100'000;

// A series read by the detectors. `counts[i]` is the count of period i + 1 (periods are
// numbered from 1, as in the reference); NaN marks a missing period. The spans must outlive
// the call.
struct SeriesView {
  std::span<const double> counts;
  // Empty, or one value per period (only `Serfling` uses it: incidence per 100,000).
  std::span<const double> population;
  int frequency = 52;     // periods per year: 52 (ISO weeks) or 365 (days)
  int start_in_year = 1;  // the first period's ISO week number or day of the year
};

// 1-based indices of the periods to evaluate, both included.
struct PeriodRange {
  int first = 0;
  int last = 0;
  int size() const { return last - first + 1; }
  bool operator==(const PeriodRange&) const = default;
};

// The result for one evaluated period. NaN stands for the reference's NA.
struct Evaluation {
  double expected = 0;  // CUSUM: the cumulative sum
  double upper = 0;     // the upper bound (Serfling: the epidemic threshold)
  bool alarm = false;   // an NA alarm of the reference is false here
};

struct Detection {
  PeriodRange range;                // the periods evaluated
  std::vector<Evaluation> periods;  // one per period of `range`, in order
};

// `earsC(sts, control = list(method, baseline, minSigma, alpha))`.
enum class EarsMethod { kC1, kC2, kC3 };
struct EarsOptions {
  EarsMethod method = EarsMethod::kC1;
  int baseline = 7;
  double min_sigma = 0;
  std::optional<double> alpha = std::nullopt;  // default 0.001 for C1 and C2, 0.025 for C3
};
// Default range: from baseline + 1 (C1), + 3 (C2) or + 5 (C3) to the end. `expected` is the
// mean of the reference values of the period (C3: of its C2 reference values).
Result<Detection> EarsC(const SeriesView& series, std::optional<PeriodRange> range,
                        const EarsOptions& options);

// The power transformation of Farrington's threshold (`powertrans`).
enum class PowerTransform { kNone, kHalf, kTwoThirds };

// `limit54 = c(cases, periods)`: no alarm unless the last `periods` periods hold at least
// `cases` cases.
struct Limit54 {
  double cases = 5;
  int periods = 4;
};

// `algo.farrington(disProg, control = list(b, w, reweight, alpha, trend, limit54,
// powertrans))` with the default `fitFun` (`algo.farrington.fitGLM.fast`).
struct FarringtonOptions {
  int b = 5;
  int w = 3;
  bool reweight = true;
  double alpha = 0.05;
  bool trend = true;
  Limit54 limit54 = {};
  PowerTransform powertrans = PowerTransform::kTwoThirds;
};
// Default range: frequency * b - w to the end. `expected` is the fitted mean (the
// reference's `pred$fit`); `upper` is 0 where limit54 holds the alarm back, as in the
// reference. A missing period in a baseline is an error (the reference's fit fails there).
Result<Detection> Farrington(const SeriesView& series, std::optional<PeriodRange> range,
                             const FarringtonOptions& options);

enum class ThresholdMethod { kDelta, kNbPlugin, kMuan };

// `farringtonFlexible(sts, control = list(b, w, reweight, weightsThreshold, alpha, trend,
// pThresholdTrend, limit54, powertrans, noPeriods, pastWeeksNotIncluded, thresholdMethod))`.
struct FarringtonFlexibleOptions {
  int b = 5;
  int w = 3;
  bool reweight = true;
  double weights_threshold = 2.58;
  double alpha = 0.05;
  bool trend = true;
  double p_threshold_trend = 0.05;
  Limit54 limit54 = {};
  PowerTransform powertrans = PowerTransform::kTwoThirds;
  int no_periods = 1;
  std::optional<int> past_weeks_not_included = std::nullopt;  // default: w
  ThresholdMethod threshold_method = ThresholdMethod::kDelta;
};
// Default range: frequency * b + w + 1 to the end. Missing periods are left out of the
// baselines; `expected` and `upper` are NaN where the reference gives NA (limit54 not met, a
// fit that does not converge).
Result<Detection> FarringtonFlexible(const SeriesView& series, std::optional<PeriodRange> range,
                                     const FarringtonFlexibleOptions& options);

// `algo.cusum(disProg, control = list(range, k, h, m, trans))`.
enum class CusumTransform { kStandard, kRossi, kAnscombe };
enum class CusumReference {
  kMean,   // m = NULL: the mean of the periods before the range
  kGlm,    // m = "glm": a Poisson GLM with one harmonic fitted on the periods before the range
  kValue,  // m = a number
};
struct CusumOptions {
  double k = 1.04;
  double h = 2.26;
  CusumReference m = CusumReference::kMean;
  double m_value = 0;  // with kValue
  CusumTransform trans = CusumTransform::kStandard;
};
// No default range (the reference has none): `range` is required and must start after
// period 1. `expected` is the cumulative sum.
Result<Detection> Cusum(const SeriesView& series, std::optional<PeriodRange> range,
                        const CusumOptions& options);

// Serfling periodic regression as the French GP sentinel network uses it
// (../shared/spec/detection.md): per evaluated week t, OLS of the value on 1, t and
// `harmonics` cos/sin pairs of period 52.1775 over the `years` * 52 weeks before t, once
// the weeks above the window's type-7 quantile 1 - trim are left out; the threshold is the
// upper limit of the 90 % prediction interval at t.
struct SerflingOptions {
  int years = 5;
  double trim = 0.15;
  int harmonics = 2;
};
// Weekly series only. Works on incidence per 100,000 when the series has a population.
// Default range: years * 52 + 1 to the end. `alarm` marks the weeks of declared epidemics:
// from the first of 2 consecutive weeks above the threshold to the last week above before
// 2 consecutive weeks not above (a missing week is not above).
Result<Detection> Serfling(const SeriesView& series, std::optional<PeriodRange> range,
                           const SerflingOptions& options);

}  // namespace p4dp::surveil
