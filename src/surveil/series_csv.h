// The CSV form of a series that `p4dp detect` reads and of the detection it writes
// (../shared/spec/detection.md, docs/detection.md). Parsing and formatting of text only; the
// caller does the I/O. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/date.h"
#include "base/status.h"
#include "surveil/detect.h"

namespace p4dp::surveil {

// The most bytes of CSV text read for one series.
inline constexpr size_t kSeriesCsvBytesMax = 16u << 20;

enum class PeriodKind { kIsoWeek, kDay };

// A series read from CSV: consecutive periods, their counts (NaN for an empty or NA cell)
// and, if the file has a population column, the population of each period.
struct CsvSeries {
  PeriodKind kind = PeriodKind::kIsoWeek;
  Days first_day = 0;  // the first period's day (the Monday of its ISO week)
  std::vector<double> counts;
  std::vector<double> population;  // empty without a population column

  // The detectors' view (counts, population, frequency 52 or 365, start in the year).
  SeriesView View() const;
  // "2011-W05" or "2011-02-03" for period `index` (1-based).
  std::string PeriodLabel(int index) const;
};

// Parses `period,count[,population]` with a header line (columns in any order). Errors name
// the line and the field: a missing header, an unknown or repeated column, a wrong number of
// fields, a period that is not an ISO week or a date, or that does not follow the period
// before it, a count that is not a number or is negative, a population that is not a
// positive number, more than kSeriesPeriodsMax periods.
Result<CsvSeries> ParseSeriesCsv(std::string_view text);

// `period,count,expected,upper,alarm`, one row per evaluated period; numbers in their
// shortest exact form, NaN as NA.
std::string FormatDetectionCsv(const CsvSeries& series, const Detection& detection);

// A double as the CSV writes it: shortest round-trip digits, "NA", "Inf", "-Inf".
std::string FormatNumber(double value);

}  // namespace p4dp::surveil
