// Helpers shared by the detectors of surveil/ (not part of its public interface): range
// checks and the reference's window arithmetic. Pure functions; thread-safe.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "surveil/detect.h"

namespace p4dp::surveil {

inline constexpr double kNA = std::numeric_limits<double>::quiet_NaN();

// The range to evaluate: `range` if given, else [default_first, number of periods]. Errors
// name the detector and the series' extent.
Result<PeriodRange> ResolveRange(std::string_view detector, std::optional<PeriodRange> range,
                                 int default_first, int periods);

// The count of period `index` (1-based).
inline double CountAt(const SeriesView& series, int index) {
  return series.counts[static_cast<size_t>(index - 1)];
}

// The limit54 rule at period k: whether periods k - periods + 1 .. k hold at least `cases`
// cases (NaN if one is missing). As in R, a window reaching exactly period 0 is cut at 1;
// one reaching further back is an error.
Result<double> EnoughCases(std::string_view detector, const SeriesView& series, int k,
                           const Limit54& limit);

// Checks alpha in (0, 1) and similar: returns an error naming the control.
Status CheckOpenUnit(std::string_view detector, std::string_view control, double value);

}  // namespace p4dp::surveil
