#include "surveil/series_csv.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

namespace p4dp::surveil {
namespace {

constexpr size_t kShownCharsMax = 40;

std::string Shown(std::string_view text) {
  std::string s(text.substr(0, kShownCharsMax));
  if (text.size() > kShownCharsMax) s += "...";
  return "'" + s + "'";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    fields.push_back(Trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

enum class Column { kPeriod, kCount, kPopulation };

struct Header {
  std::array<int, 3> index = {-1, -1, -1};  // field index of each column
  size_t fields = 0;
};

Result<Header> ParseHeader(std::string_view line) {
  const std::string expected =
      "expected a header line 'period,count' or "
      "'period,count,population'";
  std::vector<std::string_view> fields = SplitFields(line);
  if (!fields.empty() && fields[0].starts_with("\xEF\xBB\xBF")) fields[0].remove_prefix(3);
  Header h;
  h.fields = fields.size();
  for (size_t i = 0; i < fields.size(); ++i) {
    int column = fields[i] == "period"       ? 0
                 : fields[i] == "count"      ? 1
                 : fields[i] == "population" ? 2
                                             : -1;
    if (column < 0) {
      const bool looks_like_data = !fields[i].empty() && (std::isdigit(fields[i][0]) != 0);
      return Status::InvalidArgument("line 1: " +
                                     (looks_like_data
                                          ? std::string("missing header: ")
                                          : "unknown column " + Shown(fields[i]) + ": ") +
                                     expected);
    }
    if (h.index[static_cast<size_t>(column)] >= 0) {
      return Status::InvalidArgument("line 1: column " + Shown(fields[i]) + " appears twice");
    }
    h.index[static_cast<size_t>(column)] = static_cast<int>(i);
  }
  if (h.index[0] < 0 || h.index[1] < 0) {
    return Status::InvalidArgument("line 1: missing header: " + expected);
  }
  return h;
}

// A count or population cell: empty or NA is missing (NaN).
Result<double> ParseValue(std::string_view cell, std::string_view field, size_t line,
                          bool positive) {
  if (cell.empty() || cell == "NA") return std::nan("");
  double value = 0;
  const char* end = cell.data() + cell.size();
  auto [ptr, ec] = std::from_chars(cell.data(), end, value);
  const std::string at =
      "line " + std::to_string(line) + ", field '" + std::string(field) + "': " + Shown(cell);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return Status::InvalidArgument(at + " is not a number");
  }
  if (positive ? !(value > 0) : value < 0) {
    return Status::InvalidArgument(at + (positive ? " is not positive" : " is negative"));
  }
  return value;
}

struct Period {
  PeriodKind kind;
  Days day;
};

Result<Period> ParsePeriod(std::string_view cell, size_t line) {
  const std::string at = "line " + std::to_string(line) + ", field 'period': " + Shown(cell);
  if (cell.size() == 8 && cell[5] == 'W') {
    auto week = ParseIsoWeek(cell);
    if (!week.ok()) return Status::InvalidArgument(at + " is not an ISO week (YYYY-Www)");
    return Period{PeriodKind::kIsoWeek, IsoWeekMonday(*week)};
  }
  auto day = cell.size() == 10 ? ParseIsoDate(cell) : Result<Days>(Status::InvalidArgument(""));
  if (!day.ok()) {
    return Status::InvalidArgument(at +
                                   " is neither an ISO week (2011-W05) nor a date "
                                   "(2011-02-03)");
  }
  return Period{PeriodKind::kDay, *day};
}

}  // namespace

SeriesView CsvSeries::View() const {
  SeriesView v;
  v.counts = counts;
  v.population = population;
  if (kind == PeriodKind::kIsoWeek) {
    v.frequency = 52;
    v.start_in_year = ToIsoWeek(first_day).week;
  } else {
    v.frequency = 365;
    YearMonthDay ymd = ToYearMonthDay(first_day);
    v.start_in_year = first_day - ToDays({ymd.year, 1, 1}) + 1;
  }
  return v;
}

std::string CsvSeries::PeriodLabel(int index) const {
  if (kind == PeriodKind::kIsoWeek) return FormatIsoWeek(ToIsoWeek(first_day + 7 * (index - 1)));
  return FormatIsoDate(first_day + (index - 1));
}

Result<CsvSeries> ParseSeriesCsv(std::string_view text) {
  if (text.size() > kSeriesCsvBytesMax) {
    return Status::InvalidArgument("the input is larger than " +
                                   std::to_string(kSeriesCsvBytesMax) + " bytes");
  }
  CsvSeries series;
  std::optional<Header> header;
  std::optional<Period> previous;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (Trim(line).empty()) {
      if (!header) {
        return Status::InvalidArgument("line " + std::to_string(line_number) +
                                       ": missing header (the line is empty)");
      }
      continue;
    }
    if (!header) {
      header = P4DP_TRY(ParseHeader(line));
      continue;
    }
    const std::string at = "line " + std::to_string(line_number);
    std::vector<std::string_view> fields = SplitFields(line);
    if (fields.size() != header->fields) {
      return Status::InvalidArgument(at + ": expected " + std::to_string(header->fields) +
                                     " fields as in the header, found " +
                                     std::to_string(fields.size()));
    }
    if (series.counts.size() >= static_cast<size_t>(kSeriesPeriodsMax)) {
      return Status::InvalidArgument(at + ": more than " + std::to_string(kSeriesPeriodsMax) +
                                     " periods");
    }
    auto cell = [&](Column c) { return fields[static_cast<size_t>(header->index[size_t(c)])]; };
    Period period = P4DP_TRY(ParsePeriod(cell(Column::kPeriod), line_number));
    if (!previous) {
      series.kind = period.kind;
      series.first_day = period.day;
    } else {
      const int step = series.kind == PeriodKind::kIsoWeek ? 7 : 1;
      if (period.kind != series.kind || period.day != previous->day + step) {
        const int index = static_cast<int>(series.counts.size());
        return Status::InvalidArgument(at + ", field 'period': " + Shown(cell(Column::kPeriod)) +
                                       " does not follow " + series.PeriodLabel(index) + " (line " +
                                       std::to_string(line_number - 1) +
                                       "): periods must be consecutive, one row each (expected " +
                                       series.PeriodLabel(index + 1) + ")");
      }
    }
    previous = period;
    series.counts.push_back(
        P4DP_TRY(ParseValue(cell(Column::kCount), "count", line_number, false)));
    if (header->index[size_t(Column::kPopulation)] >= 0) {
      series.population.push_back(
          P4DP_TRY(ParseValue(cell(Column::kPopulation), "population", line_number, true)));
    }
  }
  if (!header) return Status::InvalidArgument("line 1: missing header (the input is empty)");
  if (series.counts.empty()) {
    return Status::InvalidArgument("line 2: no period after the header");
  }
  return series;
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NA";
  if (std::isinf(value)) return value > 0 ? "Inf" : "-Inf";
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  P4DP_ASSERT(ec == std::errc());
  return std::string(buf, ptr);
}

std::string FormatDetectionCsv(const CsvSeries& series, const Detection& detection) {
  std::string out = "period,count,expected,upper,alarm\n";
  for (int k = detection.range.first; k <= detection.range.last; ++k) {
    const Evaluation& e = detection.periods[static_cast<size_t>(k - detection.range.first)];
    out += series.PeriodLabel(k);
    out += ',';
    out += FormatNumber(series.counts[static_cast<size_t>(k - 1)]);
    out += ',';
    out += FormatNumber(e.expected);
    out += ',';
    out += FormatNumber(e.upper);
    out += e.alarm ? ",1\n" : ",0\n";
  }
  return out;
}

}  // namespace p4dp::surveil
