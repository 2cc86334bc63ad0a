// CUSUM as surveillance::algo.cusum computes it (standard, rossi and anscombe transforms;
// reference mean from the periods before the range, from a Poisson GLM with one harmonic, or
// given).
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "surveil/common.h"
#include "surveil/detect.h"
#include "surveil/glm.h"
#include "surveil/stats.h"

namespace p4dp::surveil {
namespace {

// The reference mean m of each period of the range.
Result<std::vector<double>> ReferenceMeans(const SeriesView& series, const PeriodRange& r,
                                           const CusumOptions& o) {
  const auto count = static_cast<size_t>(r.size());
  switch (o.m) {
    case CusumReference::kValue: return std::vector<double>(count, o.m_value);
    case CusumReference::kMean: {
      double sum = 0;
      for (int t = 1; t < r.first; ++t) sum += CountAt(series, t);
      return std::vector<double>(count, sum / (r.first - 1));
    }
    case CusumReference::kGlm: break;
  }
  // glm(x ~ 1 + cos(2 pi / p * t) + sin(2 pi / p * t), family = poisson()), t counted from
  // the series' start within its year; missing periods are left out (na.omit).
  const double p = series.frequency;
  auto row = [&](int index, double* out) {
    const double t = series.start_in_year + index - 1;
    out[0] = 1;
    out[1] = std::cos(2 * std::numbers::pi / p * t);
    out[2] = std::sin(2 * std::numbers::pi / p * t);
  };
  std::vector<int> training;
  for (int t = 1; t < r.first; ++t) {
    if (!std::isnan(CountAt(series, t))) training.push_back(t);
  }
  if (training.empty()) {
    return Status::InvalidArgument("cusum: no period with a count before the range to fit on");
  }
  Design x(static_cast<int>(training.size()), 3);
  std::vector<double> y;
  for (size_t i = 0; i < training.size(); ++i) {
    double values[3];
    row(training[i], values);
    for (int c = 0; c < 3; ++c) x.at(static_cast<int>(i), c) = values[c];
    y.push_back(CountAt(series, training[i]));
  }
  LinearFit fit = P4DP_TRY(FitPoissonGlm(x, y));
  std::vector<double> m;
  for (int k = r.first; k <= r.last; ++k) {
    double values[3];
    row(k, values);
    m.push_back(std::max(std::exp(LinearPredictor(fit, values)), 2.220446049250313e-16));
  }
  return m;
}

double Standardise(double x, double m, CusumTransform trans) {
  switch (trans) {
    case CusumTransform::kStandard: return (x - m) / std::sqrt(m);
    case CusumTransform::kRossi: return (x - 3 * m + 2 * std::sqrt(x * m)) / (2 * std::sqrt(m));
    case CusumTransform::kAnscombe:
      return 3.0 / 2.0 * (std::pow(x, 2.0 / 3.0) - std::pow(m, 2.0 / 3.0)) / std::pow(m, 1.0 / 6.0);
  }
  return x;
}

// The count that would raise an alarm given the previous cumulative sum.
double UpperBound(double m, double h, double k, double previous, CusumTransform trans) {
  switch (trans) {
    case CusumTransform::kStandard: return std::ceil(std::sqrt(m) * (h + k - previous) + m);
    case CusumTransform::kRossi: {
      const double root = std::pow(m, 1.0 / 2.0);
      const double m32 = std::pow(m, 3.0 / 2.0);
      return 2 * h * root + 2 * k * root - 2 * previous * root + 5 * m -
             2 * std::pow(4 * std::pow(m, 2.0) + 2 * m32 * h + 2 * m32 * k - 2 * m32 * previous,
                          1.0 / 2.0);
    }
    case CusumTransform::kAnscombe: {
      const double base =
          2.0 / 3.0 * std::pow(m, 1.0 / 6.0) * (h + k - previous) + std::pow(m, 2.0 / 3.0);
      if (std::isnan(base)) return kNA;
      return base < 0 ? 0 : std::pow(base, 3.0 / 2.0);
    }
  }
  return kNA;
}

}  // namespace

Result<Detection> Cusum(const SeriesView& series, std::optional<PeriodRange> range,
                        const CusumOptions& options) {
  if (!range) {
    return Status::InvalidArgument(
        "cusum: --range is required (the reference has no default): the periods before it "
        "give the reference mean");
  }
  const int periods = static_cast<int>(series.counts.size());
  PeriodRange r = P4DP_TRY(ResolveRange("cusum", range, 2, periods));
  if (r.first < 2 && options.m != CusumReference::kValue) {
    return Status::InvalidArgument(
        "cusum: the range must start at period 2 or later: the periods before it give the "
        "reference mean");
  }
  if (options.m == CusumReference::kValue && !(options.m_value > 0)) {
    return Status::InvalidArgument("cusum: --m must be mean, glm or a positive number");
  }
  std::vector<double> m = P4DP_TRY(ReferenceMeans(series, r, options));
  Detection out{.range = r, .periods = {}};
  double cusum = 0;
  for (int t = r.first; t <= r.last; ++t) {
    const double mt = m[static_cast<size_t>(t - r.first)];
    const double previous = cusum;
    cusum = RMax(0, previous + (Standardise(CountAt(series, t), mt, options.trans) - options.k));
    Evaluation e;
    e.expected = cusum;
    e.alarm = cusum >= options.h;
    e.upper = UpperBound(mt, options.h, options.k, previous, options.trans);
    if (std::isnan(e.upper) || e.upper < 0) e.upper = 0;
    out.periods.push_back(e);
  }
  return out;
}

}  // namespace p4dp::surveil
