// EARS C1, C2 and C3 as surveillance::earsC computes them.
#include <cmath>
#include <string>
#include <vector>

#include "surveil/common.h"
#include "surveil/detect.h"
#include "surveil/stats.h"

namespace p4dp::surveil {
namespace {

struct MeanSd {
  double mean = kNA;
  double sd = kNA;
};

// Mean and sample standard deviation of periods from .. from + count - 1 (NaN if one is
// missing), as R's mean() and sd().
MeanSd Reference(const SeriesView& series, int from, int count) {
  double sum = 0;
  for (int t = from; t < from + count; ++t) sum += CountAt(series, t);
  MeanSd out;
  out.mean = sum / count;
  double squares = 0;
  for (int t = from; t < from + count; ++t) {
    double d = CountAt(series, t) - out.mean;
    squares += d * d;
  }
  out.sd = std::sqrt(squares / (count - 1));
  return out;
}

const char* Name(EarsMethod method) {
  switch (method) {
    case EarsMethod::kC1: return "ears-c1";
    case EarsMethod::kC2: return "ears-c2";
    case EarsMethod::kC3: return "ears-c3";
  }
  return "ears";
}

}  // namespace

Result<Detection> EarsC(const SeriesView& series, std::optional<PeriodRange> range,
                        const EarsOptions& options) {
  const std::string name = Name(options.method);
  if (options.baseline < 3) {
    return Status::InvalidArgument(name + ": --baseline must be at least 3 (as in the reference)");
  }
  if (!(options.min_sigma >= 0)) {
    return Status::InvalidArgument(name + ": --min-sigma must be 0 or more");
  }
  const bool c3 = options.method == EarsMethod::kC3;
  const double alpha = options.alpha.value_or(c3 ? 0.025 : 0.001);
  P4DP_TRY(CheckOpenUnit(name, "alpha", alpha));
  // The reference values of period k are the `baseline` periods ending 1 (C1) or 3 (C2, C3)
  // periods before it; C3 also reads the C2 statistics of the two periods before k.
  const int gap = options.method == EarsMethod::kC1 ? 0 : 2;
  const int max_lag = options.baseline + gap + (c3 ? 2 : 0);
  const int periods = static_cast<int>(series.counts.size());
  PeriodRange r = P4DP_TRY(ResolveRange(name, range, max_lag + 1, periods));
  if (r.first - max_lag < 1) {
    return Status::InvalidArgument(
        name + ": period " + std::to_string(r.first) + " needs " + std::to_string(max_lag) +
        " earlier periods: start the range at " + std::to_string(max_lag + 1) + " or later");
  }
  const double z = QNorm(1 - alpha);
  auto reference = [&](int k) {
    return Reference(series, k - options.baseline - gap, options.baseline);
  };
  auto sigma = [&](const MeanSd& ref) { return RMax(ref.sd, options.min_sigma); };
  Detection out{.range = r, .periods = {}};
  out.periods.reserve(static_cast<size_t>(r.size()));
  for (int k = r.first; k <= r.last; ++k) {
    const MeanSd ref = reference(k);
    const double observed = CountAt(series, k);
    Evaluation e;
    e.expected = ref.mean;
    if (!c3) {
      e.upper = ref.mean + z * sigma(ref);
    } else {
      auto c2 = [&](int t) {
        const MeanSd rt = reference(t);
        return (CountAt(series, t) - rt.mean) / sigma(rt);
      };
      const double lag2 = RMax(0, c2(k - 2) - 1);
      const double lag1 = RMax(0, c2(k - 1) - 1);
      e.upper = RMax(0, observed + sigma(ref) * (z - (lag2 + lag1)));
    }
    e.alarm = observed > e.upper;
    out.periods.push_back(e);
  }
  return out;
}

}  // namespace p4dp::surveil
