// Serfling periodic regression with epidemic start and end, as ../shared/spec/detection.md
// defines it (the French GP sentinel network's method), fitted as R's lm() and bounded as
// predict(fit, interval = "prediction", level = 0.90).
#include <algorithm>
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

constexpr double kSeasonWeeks = 52.1775;
constexpr double kLevel = 0.90;
constexpr double kPer = 100'000;

std::vector<double> Regressors(int t, int harmonics) {
  std::vector<double> row = {1.0, static_cast<double>(t)};
  for (int k = 1; k <= harmonics; ++k) {
    const double angle = 2 * std::numbers::pi * k * t / kSeasonWeeks;
    row.push_back(std::cos(angle));
    row.push_back(std::sin(angle));
  }
  return row;
}

// The threshold of week t fitted on `values` (the series, incidence or counts).
Result<Evaluation> ThresholdAt(std::span<const double> values, int t, const SerflingOptions& o) {
  const int window = o.years * 52;
  std::vector<double> kept;
  for (int s = t - window; s < t; ++s) {
    const double v = values[static_cast<size_t>(s - 1)];
    if (!std::isnan(v)) kept.push_back(v);
  }
  if (kept.empty()) {
    return Status::InvalidArgument("serfling: week " + std::to_string(t) +
                                   " has no week with a value in its training window");
  }
  std::vector<double> sorted = kept;
  std::sort(sorted.begin(), sorted.end());
  const double cut = QuantileType7(sorted, 1 - o.trim);
  std::vector<int> weeks;
  std::vector<double> y;
  for (int s = t - window; s < t; ++s) {
    const double v = values[static_cast<size_t>(s - 1)];
    if (!std::isnan(v) && v <= cut) {
      weeks.push_back(s);
      y.push_back(v);
    }
  }
  const int cols = 2 + 2 * o.harmonics;
  Design x(static_cast<int>(y.size()), cols);
  for (size_t i = 0; i < weeks.size(); ++i) {
    std::vector<double> row = Regressors(weeks[i], o.harmonics);
    for (int c = 0; c < cols; ++c) x.at(static_cast<int>(i), c) = row[static_cast<size_t>(c)];
  }
  LinearFit fit = P4DP_TRY(FitOls(x, y));
  std::vector<double> x0 = Regressors(t, o.harmonics);
  Evaluation e;
  e.expected = LinearPredictor(fit, x0);
  const double variance = PredictorVarianceUnscaled(fit, x0) * fit.dispersion + fit.dispersion;
  e.upper = e.expected - QStudentT((1 - kLevel) / 2, fit.df_residual) * std::sqrt(variance);
  return e;
}

// Marks the weeks of declared epidemics among `above` (one flag per evaluated week).
std::vector<bool> EpidemicWeeks(const std::vector<bool>& above) {
  const size_t n = above.size();
  std::vector<bool> epidemic(n, false);
  auto mark = [&](size_t from, size_t to) {
    for (size_t i = from; i <= to; ++i) epidemic[i] = true;
  };
  bool in_epidemic = false;
  size_t start = 0;
  size_t last_above = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool next_above = i + 1 < n && above[i + 1];
    if (!in_epidemic) {
      if (above[i] && next_above) {
        in_epidemic = true;
        start = last_above = i;
      }
    } else if (above[i]) {
      last_above = i;
    } else if (i + 1 < n && !next_above) {
      mark(start, last_above);
      in_epidemic = false;
    }
  }
  if (in_epidemic) mark(start, last_above);
  return epidemic;
}

}  // namespace

Result<Detection> Serfling(const SeriesView& series, std::optional<PeriodRange> range,
                           const SerflingOptions& options) {
  if (series.frequency != 52) {
    return Status::InvalidArgument("serfling: the series must be weekly (ISO weeks)");
  }
  if (options.years < 1) return Status::InvalidArgument("serfling: --years must be at least 1");
  if (options.harmonics < 0) {
    return Status::InvalidArgument("serfling: --harmonics must be 0 or more");
  }
  if (!(options.trim >= 0 && options.trim < 1)) {
    return Status::InvalidArgument("serfling: --trim must be at least 0 and below 1");
  }
  const int window = options.years * 52;
  const int periods = static_cast<int>(series.counts.size());
  PeriodRange r = P4DP_TRY(ResolveRange("serfling", range, window + 1, periods));
  if (r.first <= window) {
    return Status::InvalidArgument("serfling: week " + std::to_string(r.first) + " needs " +
                                   std::to_string(window) +
                                   " earlier weeks to fit on: start the range at " +
                                   std::to_string(window + 1) + " or later, or lower --years");
  }
  std::vector<double> values(series.counts.begin(), series.counts.end());
  if (!series.population.empty()) {
    for (size_t i = 0; i < values.size(); ++i) values[i] = values[i] / series.population[i] * kPer;
  }
  Detection out{.range = r, .periods = {}};
  std::vector<bool> above;
  for (int t = r.first; t <= r.last; ++t) {
    Evaluation e = P4DP_TRY(ThresholdAt(values, t, options));
    above.push_back(values[static_cast<size_t>(t - 1)] > e.upper);
    out.periods.push_back(e);
  }
  std::vector<bool> epidemic = EpidemicWeeks(above);
  for (size_t i = 0; i < epidemic.size(); ++i) out.periods[i].alarm = epidemic[i];
  return out;
}

}  // namespace p4dp::surveil
