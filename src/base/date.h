// Calendar dates as days since 1970-01-01 (the unit every event date uses), ISO 8601
// parsing and formatting, and ISO weeks. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace p4dp {

// Days since 1970-01-01 (negative before). Covers years 1..9999.
using Days = int32_t;

struct YearMonthDay {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  bool operator==(const YearMonthDay&) const = default;
};

struct IsoWeek {
  int year = 1970;  // the ISO week-numbering year, which can differ from the calendar year
  int week = 1;     // 1..53
  bool operator==(const IsoWeek&) const = default;
  auto operator<=>(const IsoWeek&) const = default;
};

// True if y-m-d is a real calendar day (2023-02-29 is not).
bool IsValidDate(int year, int month, int day);
// Requires IsValidDate(ymd).
Days ToDays(const YearMonthDay& ymd);
YearMonthDay ToYearMonthDay(Days days);

// Parses "YYYY-MM-DD", or the date part of an ISO 8601 date-time ("2021-03-04T10:00:00+01:00")
// taken as written. Errors name the text and why it was refused.
Result<Days> ParseIsoDate(std::string_view text);
// "YYYY-MM-DD".
std::string FormatIsoDate(Days days);
// A time in milliseconds since the Unix epoch, UTC: "2026-12-01T21:26:07.123Z".
std::string FormatIsoTimeMs(int64_t ms);

IsoWeek ToIsoWeek(Days days);
// The Monday of `week`; requires a week that exists in that ISO year.
Days IsoWeekMonday(IsoWeek week);
// Number of ISO weeks (52 or 53) in an ISO year.
int IsoWeeksInYear(int iso_year);
// "2021-W09".
std::string FormatIsoWeek(IsoWeek week);
// Parses "2021-W09".
Result<IsoWeek> ParseIsoWeek(std::string_view text);

// 0 = Monday ... 6 = Sunday.
int IsoWeekday(Days days);
// Completed years between a birth (year, month) and a day, as the cohort language defines
// age: year difference, minus one when the day's month is before the birth month.
int AgeInYears(int birth_year, int birth_month, Days on);

}  // namespace p4dp
