#include "surveil/common.h"

#include <algorithm>

namespace p4dp::surveil {

Result<PeriodRange> ResolveRange(std::string_view detector, std::optional<PeriodRange> range,
                                 int default_first, int periods) {
  PeriodRange r = range.value_or(PeriodRange{.first = default_first, .last = periods});
  const std::string name(detector);
  const std::string extent = "the series has periods 1 to " + std::to_string(periods);
  if (!range && default_first > periods) {
    return Status::InvalidArgument(name + ": the series is too short: the first period it can " +
                                   "evaluate is " + std::to_string(default_first) + ", and " +
                                   extent);
  }
  if (r.first > r.last) {
    return Status::InvalidArgument(name + ": range " + std::to_string(r.first) + ":" +
                                   std::to_string(r.last) + " is empty (start after end)");
  }
  if (r.first < 1 || r.last > periods) {
    return Status::InvalidArgument(name + ": range " + std::to_string(r.first) + ":" +
                                   std::to_string(r.last) + " is outside the series: " + extent);
  }
  return r;
}

Result<double> EnoughCases(std::string_view detector, const SeriesView& series, int k,
                           const Limit54& limit) {
  int from = k - limit.periods + 1;
  if (from < 0) {
    return Status::InvalidArgument(std::string(detector) + ": the limit54 window of period " +
                                   std::to_string(k) + " (" + std::to_string(limit.periods) +
                                   " periods) reaches before the series");
  }
  double sum = 0;
  for (int t = std::max(from, 1); t <= k; ++t) sum += CountAt(series, t);
  if (std::isnan(sum)) return kNA;
  return sum >= limit.cases ? 1.0 : 0.0;
}

Status CheckOpenUnit(std::string_view detector, std::string_view control, double value) {
  if (!(value > 0 && value < 1)) {
    return Status::InvalidArgument(std::string(detector) + ": --" + std::string(control) +
                                   " must be between 0 and 1 (exclusive)");
  }
  return Status::Ok();
}

}  // namespace p4dp::surveil
